# expect: [MAAS-NET-003]
"""A bucket, encrypted and TLS-only, with no public access block."""
import kit
import pulumi_aws as aws

key = kit.key("data-key")
bucket = aws.s3.Bucket("data", tags=kit.TAGS)
aws.s3.BucketServerSideEncryptionConfiguration("data-sse", bucket=bucket.id, rules=[{
    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
    "bucket_key_enabled": True}])
aws.s3.BucketPolicy("data-policy", bucket=bucket.id, policy=kit.tls_only(bucket.arn, "/*"))
