# expect: [MAAS-K8S-039]
"""An EC2NodeClass that maps no volume: the AMI family's default root volume is encrypted with the account's
AWS-managed key, not the platform's."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("plain-nodes", api_version="karpenter.k8s.aws/v1", kind="EC2NodeClass",
    metadata={"name": "plain-nodes", "labels": kit.LABELS}, spec={
        "role": "maas-dev-karpenter-node",
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}]})
