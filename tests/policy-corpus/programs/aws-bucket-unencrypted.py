# expect: [MAAS-SEC-005]
"""A bucket with its public access blocked but no default encryption with a customer key."""
import kit
import pulumi_aws as aws

bucket = aws.s3.Bucket("data", tags=kit.TAGS)
aws.s3.BucketPublicAccessBlock("data-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                               ignore_public_acls=True, restrict_public_buckets=True)
aws.s3.BucketPolicy("data-policy", bucket=bucket.id, policy=kit.tls_only(bucket.arn, "/*"))
