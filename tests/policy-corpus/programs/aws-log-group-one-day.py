# expect: [MAAS-LOG-002]
# platform: prod
"""A prod log group keeping a single day of logs."""
import kit
import pulumi_aws as aws

key = kit.key("logs-key")
aws.cloudwatch.LogGroup("app-logs", kms_key_id=key.arn, retention_in_days=1, tags=kit.TAGS)
