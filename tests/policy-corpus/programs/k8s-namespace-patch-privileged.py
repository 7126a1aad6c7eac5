# expect: [MAAS-K8S-033]
"""A patch that switches Pod Security off on a namespace the stack does not own."""
import pulumi_kubernetes as k8s

k8s.core.v1.NamespacePatch("open-research", metadata={"name": "research", "labels": {
    "pod-security.kubernetes.io/enforce": "privileged"}})
