# expect: [MAAS-SEC-013]
"""A queue encrypted with a customer key, with a DLQ, but no TLS-only policy."""
import kit
import pulumi_aws as aws

key = kit.key("jobs-key")
dlq = aws.sqs.Queue("jobs-dlq", message_retention_seconds=1209600, kms_master_key_id=key.arn, tags=kit.TAGS)
aws.sqs.Queue("jobs", kms_master_key_id=key.arn, tags=kit.TAGS,
              redrive_policy=dlq.arn.apply(lambda a: f'{{"deadLetterTargetArn": "{a}", "maxReceiveCount": 5}}'))
