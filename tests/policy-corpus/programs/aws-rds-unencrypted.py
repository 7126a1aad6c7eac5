# expect: [MAAS-SEC-006]
"""A private database instance whose storage is not encrypted."""
import kit
import pulumi_aws as aws

aws.rds.Instance("orders-db", engine="postgres", engine_version="16.4", instance_class="db.t4g.micro",
                 allocated_storage=20, username="orders", manage_master_user_password=True, publicly_accessible=False,
                 storage_encrypted=False, backup_retention_period=7, skip_final_snapshot=True,
                 enabled_cloudwatch_logs_exports=["postgresql"], tags=kit.TAGS)
