# expect: [MAAS-SEC-004]
"""An SNS topic without a customer-managed key."""
import kit
import pulumi_aws as aws

topic = aws.sns.Topic("events", tags=kit.TAGS)
aws.sns.TopicPolicy("events-policy", arn=topic.arn, policy=kit.tls_only(topic.arn, ""))
