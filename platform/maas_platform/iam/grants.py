"""Grant bundles: what an agent's role may do, as explicit actions on explicit ARNs.

Each bundle is a tuple of actions kept as data, so tests and policies can read them; each
grant function scopes a bundle to the ARNs it is given and nothing else. ``Statement``
refuses wildcard actions and empty lists, so a bundle can never widen silently.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi

from ..config.agents import DynamoDBStorage, NoStorage, PostgresStorage, S3Storage
from . import GrantError, Statement

DYNAMODB_DATA = (
    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
S3_BUCKET = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions")
S3_OBJECTS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject")
RDS_IAM_CONNECT = ("rds-db:connect",)
SECRETS_READ = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
SQS_CONSUME = (
    "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
)
SNS_PUBLISH = ("sns:Publish",)
# Publishing to an encrypted topic needs a data key of the topic's key.
TOPIC_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")
KAFKA_CONNECT = ("kafka-cluster:Connect", "kafka-cluster:DescribeCluster")
KAFKA_WRITE = ("kafka-cluster:DescribeTopic", "kafka-cluster:WriteData")
KAFKA_READ = ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData")
KAFKA_GROUP = ("kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup")


def _suffixed(arn: pulumi.Input[str], suffix: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(arn).apply(lambda value: f"{value}{suffix}")


def datastore_statements(storage, arns: Sequence[pulumi.Input[str]]) -> list[Statement]:
    """Data-plane access to exactly the agent's own datastore."""
    if isinstance(storage, NoStorage):
        return []
    if not arns:
        raise GrantError(f"{storage.kind} storage: name the datastore's ARN to grant access to")
    if isinstance(storage, DynamoDBStorage):
        return [Statement(
            sid="OwnTable",
            actions=DYNAMODB_DATA,
            resources=(*arns, *(_suffixed(a, "/index/*") for a in arns)),
        )]
    if isinstance(storage, S3Storage):
        return [
            Statement(sid="OwnBucket", actions=S3_BUCKET, resources=tuple(arns)),
            Statement(sid="OwnObjects", actions=S3_OBJECTS, resources=tuple(_suffixed(a, "/*") for a in arns)),
        ]
    if isinstance(storage, PostgresStorage):
        return [Statement(sid="OwnDatabaseUser", actions=RDS_IAM_CONNECT, resources=tuple(arns))]
    raise GrantError(f"no grant bundle for storage kind {storage.kind!r}")


def messaging_statements(
    *, inbox_arn: Optional[pulumi.Input[str]], publish_arns: Sequence[pulumi.Input[str]],
    broker_key_arn: Optional[pulumi.Input[str]], kafka: Optional[Mapping[str, Any]] = None,
) -> list[Statement]:
    """Consume only the agent's own inbox; publish only to the topics it declared."""
    statements = []
    if inbox_arn is not None:
        statements.append(Statement(sid="OwnInbox", actions=SQS_CONSUME, resources=(inbox_arn,)))
    if publish_arns:
        statements.append(Statement(sid="DeclaredTopics", actions=SNS_PUBLISH, resources=tuple(publish_arns)))
        if broker_key_arn is None:
            raise GrantError("publishing to encrypted topics: name the topics' key")
        statements.append(Statement(
            sid="TopicKeyThroughSns", actions=TOPIC_KEY_USE, resources=(broker_key_arn,),
        ))
    if kafka:
        statements.append(Statement(sid="KafkaCluster", actions=KAFKA_CONNECT, resources=(kafka["cluster"],)))
        if kafka["write"]:
            statements.append(Statement(sid="KafkaDeclaredTopics", actions=KAFKA_WRITE, resources=tuple(kafka["write"])))
        if kafka["read"]:
            statements.append(Statement(sid="KafkaSubscribedTopics", actions=KAFKA_READ, resources=tuple(kafka["read"])))
            statements.append(Statement(sid="KafkaOwnGroup", actions=KAFKA_GROUP, resources=(kafka["group"],)))
    return statements


def agent_statements(
    *, key_arn: pulumi.Input[str], storage, datastore: Sequence[pulumi.Input[str]],
    secret_arns: Sequence[pulumi.Input[str]], inbox_arn: Optional[pulumi.Input[str]] = None,
    publish_arns: Sequence[pulumi.Input[str]] = (), broker_key_arn: Optional[pulumi.Input[str]] = None,
    kafka: Optional[Mapping[str, Any]] = None,
) -> list[Statement]:
    """Everything an agent's role is allowed: its key, datastore, secrets, inbox and declared topics."""
    statements = [Statement(sid="OwnKey", actions=KEY_USE, resources=(key_arn,))]
    statements += datastore_statements(storage, datastore)
    if secret_arns:
        statements.append(Statement(sid="OwnSecrets", actions=SECRETS_READ, resources=tuple(secret_arns)))
    statements += messaging_statements(
        inbox_arn=inbox_arn, publish_arns=publish_arns, broker_key_arn=broker_key_arn, kafka=kafka,
    )
    return statements
