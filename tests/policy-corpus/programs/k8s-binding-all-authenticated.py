# expect: [MAAS-K8S-031]
"""A RoleBinding granting every authenticated user a role in the namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.rbac.v1.RoleBinding("everyone", metadata=kit.metadata("everyone"),
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
    subjects=[{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}])
