# expect: [MAAS-K8S-032]
"""A ClusterRole aggregated into the built-in view role that adds reading Secrets."""
import pulumi_kubernetes as k8s

k8s.rbac.v1.ClusterRole("view-secrets", metadata={"name": "view-secrets", "labels": {
    "rbac.authorization.k8s.io/aggregate-to-view": "true"}},
    rules=[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}])
