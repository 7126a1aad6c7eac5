# expect: [MAAS-K8S-004]
"""A bare Pod sharing the node's process namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.Pod("debug", metadata=kit.metadata("debug"), spec=kit.pod_spec(hostPID=True))
