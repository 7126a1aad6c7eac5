# expect: [MAAS-REL-013]
"""A Deployment that requires arm64 in a stack whose only NodePool offers amd64: its pods stay Pending."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("x86-only", api_version="karpenter.sh/v1", kind="NodePool",
    metadata={"name": "x86-only", "labels": kit.LABELS}, spec={
        "template": {"spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
            "requirements": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}},
        "limits": {"cpu": "8", "memory": "32Gi"},
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"}})
kit.deployment(spec=kit.pod_spec(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]}]}}}))
