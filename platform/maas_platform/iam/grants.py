"""Grants: what an agent's role may do, as explicit actions on explicit ARNs.

The action bundles are data (:mod:`.actions`), so tests and policies can read them; each
grant function scopes a bundle to the ARNs it is given and nothing else. ``Statement``
refuses wildcard actions and empty lists, so a bundle can never widen silently.

The parts of an agent grant through these functions, each for what it owns, as CDK's
``queue.grantConsumeMessages(role)`` does: a grant on an encrypted resource also grants the
key that encrypts it. :func:`merge_grants` joins the parts' grants into one policy and drops
what an earlier statement already allows, so a part's grant on the agent's own key (already
allowed by ``OwnKey``) adds nothing.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi

from . import GrantError, Statement
from .actions import (
    DYNAMODB_DATA, KAFKA_CONNECT, KAFKA_GROUP, KAFKA_READ, KAFKA_WRITE, KEY_DECRYPT, KEY_USE, RDS_IAM_CONNECT,
    S3_BUCKET, S3_OBJECTS, SECRETS_READ, SNS_PUBLISH, SQS_CONSUME, TOPIC_KEY_USE,
)

__all__ = [
    "DYNAMODB_DATA", "KAFKA_CONNECT", "KAFKA_GROUP", "KAFKA_READ", "KAFKA_WRITE", "KEY_DECRYPT", "KEY_USE",
    "RDS_IAM_CONNECT", "S3_BUCKET", "S3_OBJECTS", "SECRETS_READ", "SNS_PUBLISH", "SQS_CONSUME", "TOPIC_KEY_USE",
    "bucket_access", "database_user_access", "kafka_access", "key_use", "merge_grants", "publish_access",
    "queue_consume", "secrets_read", "table_access",
]


def _suffixed(arn: pulumi.Input[str], suffix: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(arn).apply(lambda value: f"{value}{suffix}")


def _named(what: str, arns: Sequence[pulumi.Input[str]]) -> tuple[pulumi.Input[str], ...]:
    if not arns:
        raise GrantError(f"{what}: name the ARN to grant access to")
    return tuple(arns)


def key_use(key_arn: pulumi.Input[str], sid: str = "OwnKey") -> list[Statement]:
    """Encrypt and decrypt with one key (the services that use it on the role's behalf need no more)."""
    return [Statement(sid=sid, actions=KEY_USE, resources=(key_arn,))]


def table_access(arns: Sequence[pulumi.Input[str]], sid: str = "OwnTable") -> list[Statement]:
    """Items and queries of DynamoDB tables and their indexes; no table management."""
    tables = _named("DynamoDB table", arns)
    return [Statement(sid=sid, actions=DYNAMODB_DATA, resources=(*tables, *(_suffixed(a, "/index/*") for a in tables)))]


def bucket_access(arns: Sequence[pulumi.Input[str]], sid: str = "Own") -> list[Statement]:
    """Listing S3 buckets and reading and writing their objects; no bucket settings."""
    buckets = _named("S3 bucket", arns)
    return [
        Statement(sid=f"{sid}Bucket", actions=S3_BUCKET, resources=buckets),
        Statement(sid=f"{sid}Objects", actions=S3_OBJECTS, resources=tuple(_suffixed(a, "/*") for a in buckets)),
    ]


def database_user_access(arns: Sequence[pulumi.Input[str]], sid: str = "OwnDatabaseUser") -> list[Statement]:
    """IAM authentication as one database user (``rds-db:connect`` on ``dbuser:<cluster id>/<user>``)."""
    return [Statement(sid=sid, actions=RDS_IAM_CONNECT, resources=_named("database user", arns))]


def secrets_read(arns: Sequence[pulumi.Input[str]], sid: str = "OwnSecrets") -> list[Statement]:
    """Reading the values of the named secrets; none when there are none."""
    return [Statement(sid=sid, actions=SECRETS_READ, resources=tuple(arns))] if arns else []


def queue_consume(queue_arn: pulumi.Input[str], key_arn: pulumi.Input[str], sid: str = "OwnInbox") -> list[Statement]:
    """Receiving from and deleting in one queue, and decrypting with the key that encrypts it."""
    return [
        Statement(sid=sid, actions=SQS_CONSUME, resources=(queue_arn,)),
        Statement(sid=f"{sid}Key", actions=KEY_DECRYPT, resources=(key_arn,)),
    ]


def publish_access(topic_arns: Sequence[pulumi.Input[str]], key_arn: Optional[pulumi.Input[str]]) -> list[Statement]:
    """Publishing to the declared topics, and the data keys of the key that encrypts them."""
    if not topic_arns:
        return []
    if key_arn is None:
        raise GrantError("publishing to encrypted topics: name the topics' key")
    return [
        Statement(sid="DeclaredTopics", actions=SNS_PUBLISH, resources=tuple(topic_arns)),
        Statement(sid="TopicKeyThroughSns", actions=TOPIC_KEY_USE, resources=(key_arn,)),
    ]


def kafka_access(kafka: Optional[Mapping[str, Any]]) -> list[Statement]:
    """MSK Serverless with IAM auth: the cluster, the topics written and read, the agent's own group."""
    if not kafka:
        return []
    statements = [Statement(sid="KafkaCluster", actions=KAFKA_CONNECT, resources=(kafka["cluster"],))]
    if kafka["write"]:
        statements.append(Statement(sid="KafkaDeclaredTopics", actions=KAFKA_WRITE, resources=tuple(kafka["write"])))
    if kafka["read"]:
        statements.append(Statement(sid="KafkaSubscribedTopics", actions=KAFKA_READ, resources=tuple(kafka["read"])))
        statements.append(Statement(sid="KafkaOwnGroup", actions=KAFKA_GROUP, resources=(kafka["group"],)))
    return statements


def _same(a: pulumi.Input[str], b: pulumi.Input[str]) -> bool:
    """The same resource: the same ARN text, or the same Output (an ARN not known yet)."""
    return a is b or (isinstance(a, str) and isinstance(b, str) and a == b)


def covers(earlier: Statement, statement: Statement) -> bool:
    """Whether ``earlier`` already allows everything ``statement`` allows (plain identity-policy
    statements only: no principals, no conditions, no ``NotPrincipal``)."""
    plain = all(s.effect == "Allow" and s.principals is None and s.conditions is None for s in (earlier, statement))
    return (
        plain
        and set(statement.actions) <= set(earlier.actions)
        and all(any(_same(r, e) for e in earlier.resources) for r in statement.resources)
    )


def merge_grants(*grants: Sequence[Statement]) -> list[Statement]:
    """The statements of ``grants`` in order, less each one an earlier statement already covers."""
    merged: list[Statement] = []
    for statement in (s for grant in grants for s in grant):
        if not any(covers(earlier, statement) for earlier in merged):
            merged.append(statement)
    return merged

