"""The storage kinds an agent may have, and the factory that picks one from its spec."""

from __future__ import annotations

from typing import Optional

import pulumi

from ...config.agents import DynamoDBStorage, ExistingStorage, NoStorage, PostgresStorage, S3Storage
from .bucket import S3Datastore
from .database import PostgresDatastore
from .datastore import Datastore, DatastoreArgs, ExistingDatastore, NoDatastore
from .table import DynamoDBDatastore

# Storage spec -> the class that makes it. A new kind is a spec model, a Datastore class and a line here.
DATASTORES: dict[type, type[Datastore]] = {
    DynamoDBStorage: DynamoDBDatastore,
    PostgresStorage: PostgresDatastore,
    S3Storage: S3Datastore,
    NoStorage: NoDatastore,
    ExistingStorage: ExistingDatastore,
}

# Services the agent key may be used through on the agent's behalf: its secrets, its queues,
# its image repository (ECR creates a grant on the key when the repository is created: ECR user
# guide, "Encryption at rest", checked 2026-12-03) and every kind of store the platform creates with it.
KEY_SERVICES: tuple[str, ...] = tuple(sorted(
    {"ecr", "secretsmanager", "sqs"} | {kind.key_service for kind in DATASTORES.values() if kind.key_service}
))


def datastore_class(storage: object) -> type[Datastore]:
    """The class of a storage spec."""
    return DATASTORES[type(storage)]


def create_datastore(name: str, args: DatastoreArgs, opts: Optional[pulumi.ResourceOptions] = None) -> Datastore:
    """The agent's datastore, of the kind its spec names (``name`` is the AgentService's)."""
    return datastore_class(args.spec.storage)(name, args, opts)  # type: ignore[call-arg]
