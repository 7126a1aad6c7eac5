# expect: [MAAS-K8S-004]
"""A Deployment binding a port on the node (hostPort)."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(ports=[{"name": "http", "containerPort": 8080, "hostPort": 8080}])]))
