"""``storage: s3``: the agent's S3 bucket and the settings that make it private."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ... import names
from ...config.agents import S3Storage
from ...iam import Statement, policy_document
from ...iam.grants import bucket_access, key_use
from .common import data_protected, moved, physical_name
from .datastore import BUCKET_VARIABLE, Datastore, DatastoreArgs


class S3Datastore(pulumi.ComponentResource, Datastore):
    """Public access blocked, ACLs off, versioned, SSE-KMS with the agent's key, TLS only.

    Protected, and not emptied on deletion (``force_destroy`` off), in prod and while its agent
    is retired (:func:`.common.data_protected`); once it is deletable, a destroy empties it
    first, every object version included."""

    key_service = "s3"
    public_endpoints = True

    def __init__(self, name: str, args: DatastoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_S3_DATASTORE, f"{name}-datastore", None, opts)
        storage, platform = args.spec.storage, args.platform
        assert isinstance(storage, S3Storage)
        self.key_arn = args.key_arn
        agent = opts.parent if opts else None
        protect = data_protected(args.spec, platform)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=f"{physical_name(args.spec, platform)}-{platform.account.account_id}",
            force_destroy=not protect,
            opts=moved(self, agent, protect=protect),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-bucket-public-access",
            bucket=bucket.id,
            block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
            opts=moved(self, agent),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-bucket-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=moved(self, agent),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=moved(self, agent),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket.id,
            rules=[{
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": args.key_arn},
                "bucket_key_enabled": True,
            }],
            opts=moved(self, agent),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket-lifecycle",
            bucket=bucket.id,
            rules=[{
                "id": "expire-old-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": storage.noncurrent_version_expiration_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }],
            opts=moved(self, agent, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=policy_document(Statement(
                sid="DenyInsecureTransport",
                effect="Deny",
                principals={"AWS": "*"},
                actions=("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetObjectVersion",
                         "s3:DeleteObjectVersion", "s3:PutBucketPolicy", "s3:GetBucketPolicy"),
                resources=(bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")),
                conditions={"Bool": {"aws:SecureTransport": False}},
            )),
            opts=moved(self, agent),
        )
        self.bucket = self.resource = bucket
        self.register_outputs({"bucket": bucket.bucket, "arn": bucket.arn})

    def arns(self) -> list[pulumi.Input[str]]:
        return [self.bucket.arn]

    def grant_read_write(self) -> list[Statement]:
        return bucket_access(self.arns()) + key_use(self.key_arn, sid="OwnBucketKey")

    def environment(self) -> list[dict[str, Any]]:
        return [{"name": BUCKET_VARIABLE, "value": self.bucket.bucket}]

    def outputs(self) -> dict[str, pulumi.Input]:
        return {"bucket": self.bucket.bucket, "arn": self.bucket.arn}
