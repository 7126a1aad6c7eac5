# expect: [MAAS-REL-001, MAAS-SEC-002]
"""A table without point-in-time recovery or a customer-managed key."""
import kit
import pulumi_aws as aws

aws.dynamodb.Table("orders", billing_mode="PAY_PER_REQUEST", hash_key="id", attributes=[{"name": "id", "type": "S"}],
                   tags=kit.TAGS)
