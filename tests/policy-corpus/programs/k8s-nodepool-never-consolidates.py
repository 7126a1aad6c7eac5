# expect: [MAAS-REL-012]
"""A NodePool that never gives a node back: consolidateAfter Never, so nodes emptied after a burst are paid for
until someone deletes them."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("sticky", api_version="karpenter.sh/v1", kind="NodePool",
    metadata={"name": "sticky", "labels": kit.LABELS}, spec={
        "template": {"spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
            "requirements": [{"key": "karpenter.k8s.aws/instance-cpu", "operator": "Lt", "values": ["5"]}]}},
        "limits": {"cpu": "8", "memory": "32Gi"},
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "Never"}})
