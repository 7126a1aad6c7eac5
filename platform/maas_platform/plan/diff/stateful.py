"""Resources that hold data, and the inputs whose change makes the provider replace them.

A change to one of these inputs is not an update: the provider deletes the resource and
creates another (``ForceNew`` in the Terraform provider pulumi-aws bridges, which Pulumi shows
as a replacement). For a table, a bucket, a database or a key that is data lost, so a plan
diff names it loudly. The table is data, kept small and sourced: each entry was read in
hashicorp/terraform-provider-aws's resource schema on 2026-12-03 (path and the commit read):

* ``aws:dynamodb/table:Table``: ``name``, ``hash_key``, ``range_key``, ``local_secondary_index``
  are ``ForceNew`` (internal/service/dynamodb/table.go @01335dd);
* ``aws:s3/bucket:Bucket``: ``bucket``, ``bucket_prefix`` (internal/service/s3/bucket.go @0070bcd);
* ``aws:rds/cluster:Cluster``: ``cluster_identifier``, ``cluster_identifier_prefix``, ``engine``,
  ``engine_mode``, ``database_name``, ``master_username``, ``kms_key_id``, ``db_subnet_group_name``,
  ``availability_zones``, ``snapshot_identifier`` (internal/service/rds/cluster.go @0168cf6);
* ``aws:kms/key:Key``: ``customer_master_key_spec``, ``key_usage``, ``multi_region``,
  ``custom_key_store_id``, ``xks_key_id`` (internal/service/kms/key.go @00a3530);
* ``aws:sqs/queue:Queue``: ``name``, ``name_prefix``, ``fifo_queue`` (internal/service/sqs/queue.go @00a3530);
* ``aws:secretsmanager/secret:Secret``: ``name``, ``name_prefix``
  (internal/service/secretsmanager/secret.go @00c21ce).

Input names are the plan's (camelCase, as the engine receives them). A type missing here is
not known to be stateful; a property missing here is treated as an in-place update.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import names


@dataclass(frozen=True)
class Stateful:
    """What a resource type holds (for the message) and the inputs that replace it."""

    holds: str
    replace_on: frozenset[str]


STATEFUL: dict[str, Stateful] = {
    names.DYNAMODB_TABLE: Stateful("items", frozenset({"name", "hashKey", "rangeKey", "localSecondaryIndexes"})),
    names.S3_BUCKET: Stateful("objects", frozenset({"bucket", "bucketPrefix"})),
    names.S3_BUCKET_V2: Stateful("objects", frozenset({"bucket", "bucketPrefix"})),
    names.RDS_CLUSTER: Stateful("a database", frozenset({
        "clusterIdentifier", "clusterIdentifierPrefix", "engine", "engineMode", "databaseName", "masterUsername",
        "kmsKeyId", "dbSubnetGroupName", "availabilityZones", "snapshotIdentifier",
    })),
    names.RDS_INSTANCE: Stateful("a database", frozenset()),
    names.KMS_KEY: Stateful("the key material everything it encrypted needs", frozenset({
        "customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId",
    })),
    names.SQS_QUEUE: Stateful("messages not yet consumed", frozenset({"name", "namePrefix", "fifoQueue"})),
    names.SECRETSMANAGER_SECRET: Stateful("a secret value", frozenset({"name", "namePrefix"})),
    names.EBS_VOLUME: Stateful("a volume's blocks", frozenset()),
    names.EFS_FILE_SYSTEM: Stateful("files", frozenset()),
    names.K8S_PERSISTENT_VOLUME_CLAIM: Stateful("a volume's data", frozenset()),
}


def is_stateful(type_token: str) -> bool:
    return type_token in STATEFUL


def replaced_by(type_token: str, paths: list[str]) -> list[str]:
    """The changed input paths (``hashKey``, ``tags.team``) whose top-level input replaces the resource."""
    entry = STATEFUL.get(type_token)
    if entry is None:
        return []
    return [path for path in paths if _root(path) in entry.replace_on]


def _root(path: str) -> str:
    for separator in (".", "["):
        path = path.split(separator, 1)[0]
    return path
