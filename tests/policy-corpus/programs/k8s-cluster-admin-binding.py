# expect: [MAAS-K8S-030]
"""A ClusterRoleBinding making the agent's service account cluster-admin."""
import kit
import pulumi_kubernetes as k8s

k8s.rbac.v1.ClusterRoleBinding("worker-admin", metadata={"name": "worker-admin"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
    subjects=[{"kind": "ServiceAccount", "name": kit.AGENT, "namespace": kit.AGENT}])
