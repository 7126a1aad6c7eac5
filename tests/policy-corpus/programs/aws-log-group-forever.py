# expect: [MAAS-LOG-002]
"""A log group that keeps its logs forever (no retention)."""
import kit
import pulumi_aws as aws

key = kit.key("logs-key")
aws.cloudwatch.LogGroup("app-logs", kms_key_id=key.arn, tags=kit.TAGS)
