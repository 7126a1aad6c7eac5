# secure: true
"""A team's own ComponentResource wrapping secure resources (children parented to it)."""
import kit
import pulumi
import pulumi_aws as aws


class Archive(pulumi.ComponentResource):
    """A private, encrypted, TLS-only bucket and its key."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("claims:storage:Archive", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.key = kit.key(f"{name}-key", opts=child)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", tags=kit.TAGS, opts=child)
        aws.s3.BucketPublicAccessBlock(f"{name}-block", bucket=self.bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
                                       opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-sse", bucket=self.bucket.id, rules=[{
            "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": self.key.arn}}],
            opts=child)
        aws.s3.BucketPolicy(f"{name}-policy", bucket=self.bucket.id, policy=kit.tls_only(self.bucket.arn, "/*"), opts=child)
        self.register_outputs({"bucket": self.bucket.bucket})


archive = Archive("claims-archive")
pulumi.export("bucket", archive.bucket.bucket)
