# expect: [MAAS-REL-003, MAAS-REL-004]
# platform: prod
"""A prod table without deletion protection, not protected from pulumi destroy."""
import kit
import pulumi_aws as aws

key = kit.key("orders-key")
aws.dynamodb.Table("orders", billing_mode="PAY_PER_REQUEST", hash_key="id", attributes=[{"name": "id", "type": "S"}],
                   point_in_time_recovery={"enabled": True},
                   server_side_encryption={"enabled": True, "kms_key_arn": key.arn}, tags=kit.TAGS)
