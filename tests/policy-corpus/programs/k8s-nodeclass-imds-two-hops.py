# expect: [MAAS-K8S-038]
"""An EC2NodeClass whose instance metadata answers two hops away: every pod can read the node role's credentials."""
import kit
import pulumi_kubernetes as k8s

key = kit.key("nodes-key")
k8s.apiextensions.CustomResource("open-nodes", api_version="karpenter.k8s.aws/v1", kind="EC2NodeClass",
    metadata={"name": "open-nodes", "labels": kit.LABELS}, spec={
        "role": "maas-dev-karpenter-node",
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 2},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {
            "volumeSize": "20Gi", "volumeType": "gp3", "encrypted": True, "kmsKeyID": key.arn}}]})
