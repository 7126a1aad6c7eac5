# expect: [MAAS-IAM-006]
# cli: true
"""An IAM user with a long-lived access key."""
import kit
import pulumi_aws as aws

user = aws.iam.User("ci", tags=kit.TAGS)
aws.iam.AccessKey("ci-key", user=user.name)
