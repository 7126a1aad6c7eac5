# expect: [MAAS-K8S-016]
"""A namespace that states no Pod Security level."""
import pulumi_kubernetes as k8s

k8s.core.v1.Namespace("scratch", metadata={"name": "scratch"})
