# expect: [MAAS-SEC-012]
"""A bucket, private and encrypted, that still accepts plain HTTP (no TLS-only policy)."""
import kit
import pulumi_aws as aws

key = kit.key("data-key")
bucket = aws.s3.Bucket("data", tags=kit.TAGS)
aws.s3.BucketPublicAccessBlock("data-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                               ignore_public_acls=True, restrict_public_buckets=True)
aws.s3.BucketServerSideEncryptionConfiguration("data-sse", bucket=bucket.id, rules=[{
    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}}])
