# expect: [MAAS-NET-002]
"""A database instance reachable from the internet."""
import kit
import pulumi_aws as aws

key = kit.key("db-key")
aws.rds.Instance("orders-db", engine="postgres", engine_version="16.4", instance_class="db.t4g.micro",
                 allocated_storage=20, username="orders", manage_master_user_password=True, publicly_accessible=True,
                 storage_encrypted=True, kms_key_id=key.arn, backup_retention_period=7, skip_final_snapshot=True,
                 enabled_cloudwatch_logs_exports=["postgresql"], tags=kit.TAGS)
