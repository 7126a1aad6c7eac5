# expect: [MAAS-K8S-030]
"""A RoleBinding of cluster-admin inside the agent's namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.rbac.v1.RoleBinding("worker-admin", metadata=kit.metadata("worker-admin"),
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
    subjects=[{"kind": "ServiceAccount", "name": kit.AGENT, "namespace": kit.AGENT}])
