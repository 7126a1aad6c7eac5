# expect: [MAAS-K8S-002]
"""A bare Pod with a privileged container."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.Pod("debug", metadata=kit.metadata("debug"),
                spec=kit.pod_spec(containers=[kit.container(securityContext=kit.security(privileged=True))]))
