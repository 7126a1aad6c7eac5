# expect: [MAAS-K8S-037]
"""A NodePool with no spec.limits: Karpenter launches nodes until the account's quotas stop it."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("burst", api_version="karpenter.sh/v1", kind="NodePool",
    metadata={"name": "burst", "labels": kit.LABELS}, spec={
        "template": {"spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
            "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]}},
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"}})
