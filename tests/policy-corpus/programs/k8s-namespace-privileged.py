# expect: [MAAS-K8S-016]
"""A namespace enforcing the privileged Pod Security level."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.Namespace("scratch", metadata={"name": "scratch", "labels": {
    "pod-security.kubernetes.io/enforce": "privileged", "maas.dev/team": kit.TEAM}})
