"""The agent's datastore: one class per storage kind behind one interface.

The rest of the agent asks its datastore, whatever the kind, what to grant the role, what
to tell the container, what to export, what the network must reach and through which
service it uses the agent's key; :func:`.stores.create_datastore` picks the class from the
spec. The kinds the platform creates (DynamoDB, Aurora PostgreSQL, S3) are components of
their own (:mod:`.table`, :mod:`.database`, :mod:`.bucket`); ``none`` and ``existing``
create nothing and register nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional, Sequence

import pulumi

from ...config.agents import AgentSpec, ExistingStorage
from ..contract import PlatformRefs
from ...iam import Statement
from ...iam.grants import bucket_access, key_use, table_access
from ..base import ComponentArgs, StrInput

# The variables that name the store to the container, by the service behind it.
TABLE_VARIABLE = "DYNAMODB_TABLE"
BUCKET_VARIABLE = "S3_BUCKET"


class DatastoreArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs
    key_arn: StrInput  # the agent's key: it encrypts a store the platform creates


class Datastore(ABC):
    """What an agent needs to know of its datastore."""

    # The service (``kms:ViaService``) through which the store uses the agent's key, if it does.
    key_service: ClassVar[Optional[str]] = None
    # Whether the store answers on public AWS addresses (through gateway endpoints), which a
    # NetworkPolicy cannot name: its agent keeps HTTPS egress to 0.0.0.0/0.
    public_endpoints: ClassVar[bool] = False
    # Ports the agent reaches the store on inside the VPC.
    vpc_ports: ClassVar[tuple[int, ...]] = ()

    # The store the platform created and manages; None where it manages none.
    resource: Optional[pulumi.CustomResource] = None

    @classmethod
    def problem(cls, spec: AgentSpec, platform: PlatformRefs) -> Optional[str]:
        """Why this store cannot serve the agent in this environment (checked before anything is created), or None."""
        return None

    @abstractmethod
    def arns(self) -> list[pulumi.Input[str]]:
        """The ARNs the agent's role may reach in the store (``datastore_arns`` of the outputs)."""

    @abstractmethod
    def grant_read_write(self) -> list[Statement]:
        """The statements that let the role read and write the store's data, and use its key."""

    def environment(self) -> list[dict[str, Any]]:
        """The container's variables that locate the store."""
        return []

    def outputs(self) -> dict[str, pulumi.Input]:
        """What the agent exports of the store (``datastore_<key>``)."""
        return {}


class NoDatastore(Datastore):
    """``storage: none``: nothing to create, grant or tell."""

    def __init__(self, name: str, args: DatastoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        del name, args, opts  # nothing to create

    def arns(self) -> list[pulumi.Input[str]]:
        return []

    def grant_read_write(self) -> list[Statement]:
        return []


@dataclass(frozen=True)
class _Service:
    """What a store of one service gets, created or brought: its grant, its variable, its output key."""

    grant: Callable[[Sequence[pulumi.Input[str]]], list[Statement]]
    variable: str
    output: str


# An existing store's grants are named apart from a created store's (OwnTable, OwnBucket, ...).
_EXISTING = {
    "dynamodb": _Service(lambda arns: table_access(arns, sid="ExistingTable"), TABLE_VARIABLE, "table"),
    "s3": _Service(lambda arns: bucket_access(arns, sid="Existing"), BUCKET_VARIABLE, "bucket"),
}


class ExistingDatastore(Datastore):
    """``storage: existing``: a table or bucket the team owns, brought by ARN.

    The role gets the data actions a created store of that kind gets (on the ARN, with
    ``/index/*`` or ``/*``), and use of ``key_arn`` when given; the container gets the same
    variable. Nothing is created, imported or managed: the store's settings, backups,
    encryption and deletion stay its owner's.
    """

    public_endpoints = True  # DynamoDB and S3

    def __init__(self, name: str, args: DatastoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        del name, opts  # nothing to create
        storage = args.spec.storage
        assert isinstance(storage, ExistingStorage)
        self.storage = storage
        self.store = storage.store
        self._service = _EXISTING[self.store.service]

    @classmethod
    def problem(cls, spec: AgentSpec, platform: PlatformRefs) -> Optional[str]:
        storage = spec.storage
        assert isinstance(storage, ExistingStorage)
        account = platform.account
        return storage.environment_problem(account.partition, account.region, account.account_id)

    def arns(self) -> list[pulumi.Input[str]]:
        return [self.storage.arn]

    def grant_read_write(self) -> list[Statement]:
        key = key_use(self.storage.key_arn, sid="ExistingStoreKey") if self.storage.key_arn else []
        return self._service.grant(self.arns()) + key

    def environment(self) -> list[dict[str, Any]]:
        return [{"name": self._service.variable, "value": self.store.name}]

    def outputs(self) -> dict[str, pulumi.Input]:
        return {self._service.output: self.store.name, "arn": self.storage.arn}
