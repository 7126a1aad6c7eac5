# expect: [MAAS-K8S-005]
"""A Deployment mounting the node's filesystem (hostPath /)."""
import kit

kit.deployment(spec=kit.pod_spec(volumes=[{"name": "tmp", "hostPath": {"path": "/"}}]))
