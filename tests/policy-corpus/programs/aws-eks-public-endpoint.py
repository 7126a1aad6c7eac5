# expect: [MAAS-NET-001]
"""A team's own EKS cluster with a public API endpoint."""
import kit
import pulumi_aws as aws

aws.eks.Cluster("shadow", role_arn="arn:aws:iam::111122223333:role/shadow", tags=kit.TAGS, vpc_config={
    "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "endpoint_public_access": True, "endpoint_private_access": True, "public_access_cidrs": ["0.0.0.0/0"]})
