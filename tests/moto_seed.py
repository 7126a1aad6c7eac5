"""Deploy a plan's checked resources into an AWS-compatible server, from the plan's own inputs.

A stand-in for ``pulumi up`` on the kinds ``maas verify`` reads: every KMS key and alias,
DynamoDB table, SQS queue, secret, budget, EKS cluster, S3 bucket (with its separate
encryption, public access block and versioning resources), log group, SNS topic and
Aurora cluster of the plan is created with the settings and tags the plan records,
translating the plan's fake key ids and queue ARNs to the real ones the server returns.
The tests then drift what this created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from maas_platform.plan import Plan


@dataclass
class Seeded:
    """What the seed created: real key ids by alias, queue URLs by name, the account."""

    account: str
    keys: dict[str, str] = field(default_factory=dict)  # alias -> key id
    queues: dict[str, str] = field(default_factory=dict)  # name -> url


def _tags(inputs: dict[str, Any]) -> dict[str, str]:
    return dict(inputs.get("tags") or {})


def seed_from_plan(plan: Plan, session: boto3.Session, endpoint_url: str) -> Seeded:
    """Create the plan's keys, tables, queues, secrets, budgets, clusters, buckets, log groups and
    topics as the plan says."""
    client = lambda service: session.client(service, endpoint_url=endpoint_url)  # noqa: E731
    seeded = Seeded(account=client("sts").get_caller_identity()["Account"])
    fake_to_real = _seed_keys(plan, client("kms"), seeded)

    def real_key(reference: Any) -> Any:
        if not isinstance(reference, str):
            return reference
        return fake_to_real.get(reference.rsplit("key/", 1)[-1], reference)

    _seed_tables(plan, client("dynamodb"), real_key)
    _seed_queues(plan, client("sqs"), real_key, seeded)
    for secret in plan.of_type("aws:secretsmanager/secret:Secret"):
        inputs = secret.inputs
        client("secretsmanager").create_secret(
            Name=inputs["name"], Description=inputs.get("description", ""), KmsKeyId=real_key(inputs["kmsKeyId"]),
            Tags=[{"Key": k, "Value": v} for k, v in _tags(inputs).items()],
        )
    for budget in plan.of_type("aws:budgets/budget:Budget"):
        _seed_budget(budget.inputs, client("budgets"), seeded.account)
    for cluster in plan.of_type("aws:eks/cluster:Cluster"):
        _seed_cluster(cluster.inputs, client("eks"), real_key)
    _seed_buckets(plan, client("s3"), real_key)
    for group in plan.of_type("aws:cloudwatch/logGroup:LogGroup"):
        _seed_log_group(group.inputs, client("logs"), real_key)
    for topic in plan.of_type("aws:sns/topic:Topic"):
        inputs = topic.inputs
        attributes = {"KmsMasterKeyId": real_key(inputs["kmsMasterKeyId"])} if inputs.get("kmsMasterKeyId") else {}
        client("sns").create_topic(Name=inputs["name"], Attributes=attributes,
                                   Tags=[{"Key": k, "Value": v} for k, v in _tags(inputs).items()])
    for database in plan.of_type("aws:rds/cluster:Cluster"):
        _seed_db_cluster(database.inputs, client("rds"), real_key)
    return seeded


def _seed_keys(plan: Plan, kms: Any, seeded: Seeded) -> dict[str, str]:
    """Keys with their plan tags and rotation, then their aliases; the plan's key id -> the real ARN."""
    by_urn: dict[str, dict[str, Any]] = {}
    for key in plan.of_type("aws:kms/key:Key"):
        inputs = key.inputs
        metadata = kms.create_key(
            Description=inputs.get("description", ""),
            Tags=[{"TagKey": k, "TagValue": v} for k, v in _tags(inputs).items()],
        )["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        by_urn[key.urn] = metadata
    fake_to_real: dict[str, str] = {}
    for alias in plan.of_type("aws:kms/alias:Alias"):
        target = next(by_urn[d] for d in alias.dependencies if d in by_urn)
        kms.create_alias(AliasName=alias.inputs["name"], TargetKeyId=target["KeyId"])
        fake_to_real[alias.inputs["targetKeyId"]] = target["Arn"]
        seeded.keys[alias.inputs["name"]] = target["KeyId"]
    return fake_to_real


def _seed_tables(plan: Plan, dynamodb: Any, real_key) -> None:
    for table in plan.of_type("aws:dynamodb/table:Table"):
        inputs = table.inputs
        schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        encryption = inputs.get("serverSideEncryption") or {}
        dynamodb.create_table(
            TableName=inputs["name"],
            AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]],
            KeySchema=schema,
            BillingMode=inputs.get("billingMode", "PAY_PER_REQUEST"),
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": real_key(encryption["kmsKeyArn"])}
            if encryption.get("enabled") else {"Enabled": False},
            Tags=[{"Key": k, "Value": v} for k, v in _tags(inputs).items()],
        )
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=inputs["name"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )


def _seed_queues(plan: Plan, sqs: Any, real_key, seeded: Seeded) -> None:
    """Dead-letter queues first, so each redrive policy can name its target's real ARN."""
    queues = plan.of_type("aws:sqs/queue:Queue")
    ordered = sorted(queues, key=lambda q: "redrivePolicy" in q.inputs)
    arns: dict[str, str] = {}
    for queue in ordered:
        inputs = queue.inputs
        attributes = {
            "MessageRetentionPeriod": str(int(inputs.get("messageRetentionSeconds", 345600))),
            "VisibilityTimeout": str(int(inputs.get("visibilityTimeoutSeconds", 30))),
        }
        if inputs.get("kmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = real_key(inputs["kmsMasterKeyId"])
        if inputs.get("redrivePolicy"):
            policy = json.loads(inputs["redrivePolicy"])
            target = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
            attributes["RedrivePolicy"] = json.dumps({**policy, "deadLetterTargetArn": arns[target]})
        url = sqs.create_queue(QueueName=inputs["name"], Attributes=attributes, tags=_tags(inputs))["QueueUrl"]
        arns[inputs["name"]] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        seeded.queues[inputs["name"]] = url


def _seed_budget(inputs: dict[str, Any], budgets: Any, account: str) -> None:
    notifications = [
        {
            "Notification": {
                "NotificationType": n["notificationType"], "ComparisonOperator": n["comparisonOperator"],
                "Threshold": float(n["threshold"]), "ThresholdType": n.get("thresholdType", "PERCENTAGE"),
            },
            "Subscribers": [{"SubscriptionType": "SNS", "Address": arn} for arn in n.get("subscriberSnsTopicArns") or []]
            + [{"SubscriptionType": "EMAIL", "Address": a} for a in n.get("subscriberEmailAddresses") or []],
        }
        for n in inputs.get("notifications") or []
    ]
    budgets.create_budget(
        AccountId=account,
        Budget={
            "BudgetName": inputs["name"],
            "BudgetLimit": {"Amount": inputs["limitAmount"], "Unit": inputs.get("limitUnit", "USD")},
            "TimeUnit": inputs["timeUnit"],
            "BudgetType": inputs["budgetType"],
            "CostFilters": {f["name"]: f["values"] for f in inputs.get("costFilters") or []},
        },
        NotificationsWithSubscribers=notifications,
    )


def _seed_cluster(inputs: dict[str, Any], eks: Any, real_key) -> None:
    vpc = inputs.get("vpcConfig") or {}
    encryption = inputs.get("encryptionConfig") or {}
    config = {
        "subnetIds": vpc.get("subnetIds") or [],
        "endpointPublicAccess": bool(vpc.get("endpointPublicAccess")),
        "endpointPrivateAccess": bool(vpc.get("endpointPrivateAccess")),
    }
    if vpc.get("publicAccessCidrs"):
        config["publicAccessCidrs"] = vpc["publicAccessCidrs"]
    eks.create_cluster(
        name=inputs["name"],
        version=inputs.get("version", "1.35"),
        roleArn=inputs["roleArn"],
        resourcesVpcConfig=config,
        logging={"clusterLogging": [{"types": inputs.get("enabledClusterLogTypes") or [], "enabled": True}]},
        encryptionConfig=[{"resources": encryption["resources"],
                           "provider": {"keyArn": real_key(encryption["provider"]["keyArn"])}}] if encryption else [],
        tags=_tags(inputs),
    )


def _seed_buckets(plan: Plan, s3: Any, real_key) -> None:
    """Buckets, then each separate config resource applied to the bucket it names, as the provider does."""
    for bucket in plan.of_type("aws:s3/bucket:Bucket") + plan.of_type("aws:s3/bucketV2:BucketV2"):
        inputs = bucket.inputs
        s3.create_bucket(Bucket=inputs["bucket"])
        if _tags(inputs):
            s3.put_bucket_tagging(Bucket=inputs["bucket"],
                                  Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in _tags(inputs).items()]})
    encryption_type = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    for config in plan.of_type(encryption_type):
        inputs = config.inputs
        rules = []
        for rule in inputs["rules"]:
            default = rule["applyServerSideEncryptionByDefault"]
            applied = {"SSEAlgorithm": default["sseAlgorithm"]}
            if default.get("kmsMasterKeyId"):
                applied["KMSMasterKeyID"] = real_key(default["kmsMasterKeyId"])
            rules.append({"ApplyServerSideEncryptionByDefault": applied,
                          "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled"))})
        s3.put_bucket_encryption(Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules})
    for config in plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        inputs = config.inputs
        s3.put_public_access_block(Bucket=inputs["bucket"], PublicAccessBlockConfiguration={
            "BlockPublicAcls": bool(inputs.get("blockPublicAcls")),
            "IgnorePublicAcls": bool(inputs.get("ignorePublicAcls")),
            "BlockPublicPolicy": bool(inputs.get("blockPublicPolicy")),
            "RestrictPublicBuckets": bool(inputs.get("restrictPublicBuckets")),
        })
    for config in plan.of_type("aws:s3/bucketVersioning:BucketVersioning"):
        inputs = config.inputs
        status = inputs["versioningConfiguration"]["status"]
        if status != "Disabled":  # a bucket that never had versioning is "Disabled"; the API only sets the others
            s3.put_bucket_versioning(Bucket=inputs["bucket"], VersioningConfiguration={"Status": status})


def _seed_log_group(inputs: dict[str, Any], logs: Any, real_key) -> None:
    options = {"kmsKeyId": real_key(inputs["kmsKeyId"])} if inputs.get("kmsKeyId") else {}
    logs.create_log_group(logGroupName=inputs["name"], tags=_tags(inputs), **options)
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=inputs["name"], retentionInDays=int(inputs["retentionInDays"]))


def _seed_db_cluster(inputs: dict[str, Any], rds: Any, real_key) -> None:
    """The cluster's own settings (its subnet and parameter groups are not among the checked kinds)."""
    options: dict[str, Any] = {}
    if inputs.get("kmsKeyId"):
        options["KmsKeyId"] = real_key(inputs["kmsKeyId"])
    if inputs.get("serverlessv2ScalingConfiguration"):
        scaling = inputs["serverlessv2ScalingConfiguration"]
        options["ServerlessV2ScalingConfiguration"] = {"MinCapacity": scaling["minCapacity"],
                                                       "MaxCapacity": scaling["maxCapacity"]}
    if inputs.get("backupRetentionPeriod"):
        options["BackupRetentionPeriod"] = int(inputs["backupRetentionPeriod"])
    for name, parameter in (("engineVersion", "EngineVersion"), ("databaseName", "DatabaseName")):
        if inputs.get(name):
            options[parameter] = inputs[name]
    if inputs.get("manageMasterUserPassword"):
        options["ManageMasterUserPassword"] = True
    else:  # the plan holds the password only as "[secret]"
        options["MasterUserPassword"] = "seeded-test-password"
    rds.create_db_cluster(
        DBClusterIdentifier=inputs["clusterIdentifier"],
        Engine=inputs["engine"],
        MasterUsername=inputs["masterUsername"],
        StorageEncrypted=bool(inputs.get("storageEncrypted")),
        DeletionProtection=bool(inputs.get("deletionProtection")),
        Tags=[{"Key": k, "Value": v} for k, v in _tags(inputs).items()],
        **options,
    )
