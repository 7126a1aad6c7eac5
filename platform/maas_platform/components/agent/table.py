"""``storage: dynamodb``: the agent's DynamoDB table."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ... import names
from ...config.agents import DynamoDBStorage
from ...iam import Statement
from ...iam.grants import key_use, table_access
from .common import data_protected, moved, physical_name
from .datastore import TABLE_VARIABLE, Datastore, DatastoreArgs


class DynamoDBDatastore(pulumi.ComponentResource, Datastore):
    """On demand, point-in-time recovery, encrypted with the agent's key, protected in prod and
    while its agent is retired (:func:`.common.data_protected`)."""

    key_service = "dynamodb"
    public_endpoints = True

    def __init__(self, name: str, args: DatastoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_DYNAMODB_DATASTORE, f"{name}-datastore", None, opts)
        storage, platform = args.spec.storage, args.platform
        assert isinstance(storage, DynamoDBStorage)
        self.key_arn = args.key_arn
        attributes = [{"name": storage.partition_key, "type": "S"}]
        if storage.sort_key:
            attributes.append({"name": storage.sort_key, "type": "S"})
        protect = data_protected(args.spec, platform)
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=physical_name(args.spec, platform),
            billing_mode="PAY_PER_REQUEST",
            hash_key=storage.partition_key,
            range_key=storage.sort_key,
            attributes=attributes,
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args.key_arn},
            ttl={"enabled": True, "attribute_name": storage.ttl_attribute} if storage.ttl_attribute else None,
            deletion_protection_enabled=protect,
            opts=moved(self, opts.parent if opts else None, protect=protect),
        )
        self.resource = self.table
        self.register_outputs({"table": self.table.name, "arn": self.table.arn})

    def arns(self) -> list[pulumi.Input[str]]:
        return [self.table.arn]

    def grant_read_write(self) -> list[Statement]:
        return table_access(self.arns()) + key_use(self.key_arn, sid="OwnTableKey")

    def environment(self) -> list[dict[str, Any]]:
        return [{"name": TABLE_VARIABLE, "value": self.table.name}]

    def outputs(self) -> dict[str, pulumi.Input]:
        return {"table": self.table.name, "arn": self.table.arn}
