# expect: [MAAS-REL-014]
"""A team stack declaring its own NodePool, otherwise well formed: node capacity is the platform's, and the
team's deploy identity holds no RBAC on cluster-scoped objects, so the cluster would refuse it at deploy."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("claims-pool", api_version="karpenter.sh/v1", kind="NodePool",
    metadata={"name": "claims", "labels": kit.LABELS}, spec={
        "template": {"spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
            "requirements": [{"key": "karpenter.k8s.aws/instance-cpu", "operator": "Lt", "values": ["5"]}]}},
        "limits": {"cpu": "8", "memory": "32Gi"},
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"}})
