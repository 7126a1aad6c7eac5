# expect: [MAAS-SEC-007]
"""A Secrets Manager secret under the AWS-managed key."""
import kit
import pulumi_aws as aws

aws.secretsmanager.Secret("api-token", tags=kit.TAGS)
