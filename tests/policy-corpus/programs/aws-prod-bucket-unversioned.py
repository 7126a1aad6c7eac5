# advise: [MAAS-REL-011]
# platform: prod
"""A prod bucket, encrypted, private and TLS-only, that keeps no object versions."""
import kit
import pulumi
import pulumi_aws as aws

protected = pulumi.ResourceOptions(protect=True)
key = kit.key("data-key", opts=protected)
bucket = aws.s3.Bucket("data", tags=kit.TAGS, opts=protected)
aws.s3.BucketPublicAccessBlock("data-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                               ignore_public_acls=True, restrict_public_buckets=True)
aws.s3.BucketServerSideEncryptionConfiguration("data-sse", bucket=bucket.id, rules=[{
    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
    "bucket_key_enabled": True}])
aws.s3.BucketPolicy("data-policy", bucket=bucket.id, policy=kit.tls_only(bucket.arn, "/*"))
aws.s3.BucketVersioning("data-versioning", bucket=bucket.id, versioning_configuration={"status": "Suspended"})
