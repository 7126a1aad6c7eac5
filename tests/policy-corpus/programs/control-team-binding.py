# secure: true
"""A RoleBinding of the agent's own agent-objects role to its service account, in its namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.rbac.v1.RoleBinding("worker-objects", metadata=kit.metadata("worker-objects"),
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "maas:team:claims:agent-objects"},
    subjects=[{"kind": "ServiceAccount", "name": kit.AGENT, "namespace": kit.AGENT}])
