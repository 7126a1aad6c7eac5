# expect: [MAAS-IAM-008]
"""An EKS access entry making a role cluster administrator of the platform's cluster."""
import kit
import pulumi_aws as aws

entry = aws.eks.AccessEntry("ops", cluster_name="maas-dev", principal_arn="arn:aws:iam::111122223333:role/ops", tags=kit.TAGS)
aws.eks.AccessPolicyAssociation("ops-admin", cluster_name="maas-dev", principal_arn=entry.principal_arn,
                                policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                                access_scope={"type": "cluster"})
