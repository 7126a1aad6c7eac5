# expect: [MAAS-NET-003]
"""A bucket whose public access block switches every setting off."""
import kit
import pulumi_aws as aws

key = kit.key("data-key")
bucket = aws.s3.Bucket("data", tags=kit.TAGS)
aws.s3.BucketPublicAccessBlock("data-block", bucket=bucket.id, block_public_acls=False, block_public_policy=False,
                               ignore_public_acls=False, restrict_public_buckets=False)
aws.s3.BucketServerSideEncryptionConfiguration("data-sse", bucket=bucket.id, rules=[{
    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}}])
aws.s3.BucketPolicy("data-policy", bucket=bucket.id, policy=kit.tls_only(bucket.arn, "/*"))
