# expect: [MAAS-SEC-013]
"""An encrypted SNS topic that accepts plain HTTP."""
import kit
import pulumi_aws as aws

key = kit.key("events-key")
aws.sns.Topic("events", kms_master_key_id=key.arn, tags=kit.TAGS)
