"""One check function per kind of resource: the planned resource against what the account holds.

Each function takes the :class:`Expected` resource and the :class:`Account`, makes only
read calls, and returns one :class:`Finding` per property it checks. A resource that is
missing gives a single ``exists`` finding and nothing else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

from .aws import Account, NotFound, Unsupported, parse_json
from .expect import PUBLIC_ACCESS_BLOCK, Expected

OK, DRIFT, SKIPPED = "ok", "drift", "skipped"


@dataclass(frozen=True)
class Finding:
    """One property of one resource: what the plan wants and what the account has."""

    agent: str
    kind: str
    resource: str
    check: str
    status: str  # ok | drift | skipped
    expected: str
    actual: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def finding(item: Expected, check: str, holds: bool, expected: Any, actual: Any) -> Finding:
    return Finding(item.agent, item.kind, item.name, check, OK if holds else DRIFT, _text(expected), _text(actual))


def missing(item: Expected) -> list[Finding]:
    return [finding(item, "exists", False, "exists", "not found")]


def skipped(item: Expected, check: str, why: str) -> Finding:
    return Finding(item.agent, item.kind, item.name, check, SKIPPED, "-", why)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "enabled" if value else "disabled"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) or "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tags_finding(item: Expected, live: dict[str, str]) -> Finding:
    """The planned tags are all present with their values (extra live tags are allowed)."""
    differing = sorted(key for key, value in item.tags.items() if live.get(key) != value)
    shown = differing or sorted(item.tags)
    expected = ", ".join(f"{key}={item.tags[key]}" for key in shown) or "none"
    actual = "; ".join(f"{key} missing" if key not in live else f"{key}={live[key]}" for key in differing)
    return finding(item, "tags", not differing, expected, actual or "all present")


def key_finding(item: Expected, account: Account, check: str, alias: Optional[str], reference: Any,
                live_reference: Optional[str]) -> Finding:
    """The resource is encrypted with the planned key, compared by key id through its alias."""
    if alias is None and reference:
        return skipped(item, check, f"the key {reference} is not a key of this plan")
    wanted = account.aliases().get(alias) if alias else None
    actual = account.key_id(live_reference)
    if alias and wanted is None:
        return finding(item, check, False, alias, f"{account.alias_of(actual)} (alias {alias} not found)")
    return finding(item, check, actual == wanted, alias or "no customer key", account.alias_of(actual))


# -- kinds -------------------------------------------------------------------------------------


def check_key(item: Expected, account: Account) -> list[Finding]:
    """A KMS key, found by its alias: enabled, rotating as planned, tagged."""
    key_id = account.aliases().get(item.name)
    if key_id is None:
        return missing(item)
    try:
        metadata = account.call("kms", "describe_key", KeyId=key_id)["KeyMetadata"]
        rotation = account.call("kms", "get_key_rotation_status", KeyId=key_id)
        tags = account.pages("kms", "list_resource_tags", "Tags", KeyId=key_id)
    except NotFound:
        return missing(item)
    state = metadata.get("KeyState", "Enabled" if metadata.get("Enabled") else "Disabled")
    return [
        finding(item, "exists", True, "exists", key_id),
        finding(item, "state", state == "Enabled", "Enabled", state),
        finding(item, "rotation", rotation.get("KeyRotationEnabled") is item.spec["rotation"],
                item.spec["rotation"], bool(rotation.get("KeyRotationEnabled"))),
        tags_finding(item, {t["TagKey"]: t["TagValue"] for t in tags}),
    ]


def check_table(item: Expected, account: Account) -> list[Finding]:
    """A DynamoDB table: point-in-time recovery on, encrypted with the agent's key, tagged."""
    try:
        table = account.call("dynamodb", "describe_table", TableName=item.name)["Table"]
        backups = account.call("dynamodb", "describe_continuous_backups", TableName=item.name)
        tags = account.pages("dynamodb", "list_tags_of_resource", "Tags", ResourceArn=table["TableArn"])
    except NotFound:
        return missing(item)
    pitr = (backups.get("ContinuousBackupsDescription", {}).get("PointInTimeRecoveryDescription", {})
            .get("PointInTimeRecoveryStatus") == "ENABLED")
    sse = table.get("SSEDescription") or {}
    live_key = sse.get("KMSMasterKeyArn") if sse.get("Status") in ("ENABLED", "UPDATING") else None
    return [
        finding(item, "exists", True, "exists", table.get("TableStatus", "exists")),
        finding(item, "point-in-time-recovery", pitr == item.spec["pitr"], item.spec["pitr"], pitr),
        key_finding(item, account, "kms-key", item.spec["key"], item.spec["key_reference"], live_key),
        tags_finding(item, {t["Key"]: t["Value"] for t in tags}),
    ]


def check_queue(item: Expected, account: Account) -> list[Finding]:
    """An SQS queue: its dead-letter queue exists and is the planned one, its key, its tags."""
    queues = account.queues()
    url = queues.get(item.name)
    if url is None:
        return missing(item)
    try:
        attributes = account.call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["All"])["Attributes"]
        tags = account.call("sqs", "list_queue_tags", QueueUrl=url).get("Tags") or {}
    except NotFound:
        return missing(item)
    findings = [finding(item, "exists", True, "exists", url)]
    findings += _dead_letter_findings(item, account, attributes)
    findings.append(key_finding(item, account, "kms-key", item.spec["key"], item.spec["key_reference"],
                                attributes.get("KmsMasterKeyId")))
    findings.append(tags_finding(item, tags))
    return findings


def _dead_letter_findings(item: Expected, account: Account, attributes: dict[str, str]) -> list[Finding]:
    wanted = item.spec.get("dlq")
    redrive = parse_json(attributes.get("RedrivePolicy"))
    target = redrive.get("deadLetterTargetArn")
    actual = target.rsplit(":", 1)[-1] if isinstance(target, str) else None
    if not wanted:
        return [finding(item, "dead-letter-queue", actual is None, "none", actual or "none")]
    queues = account.queues()
    if actual and actual != wanted:
        return [finding(item, "dead-letter-queue", False, wanted, actual)]
    if actual is None:
        return [finding(item, "dead-letter-queue", False, wanted, "no redrive policy")]
    findings = [finding(item, "dead-letter-queue", actual in queues, wanted,
                        actual if actual in queues else f"{actual} (queue not found)")]
    count = item.spec.get("max_receive_count")
    if count is not None:
        live = redrive.get("maxReceiveCount")
        findings.append(finding(item, "max-receive-count", _number(live) == _number(count), count, live))
    return findings


def check_secret(item: Expected, account: Account) -> list[Finding]:
    """A Secrets Manager secret: encrypted with the agent's key, tagged."""
    secret = account.secrets().get(item.name)
    if secret is None or secret.get("DeletedDate"):
        return missing(item)
    return [
        finding(item, "exists", True, "exists", secret.get("ARN", "exists")),
        key_finding(item, account, "kms-key", item.spec["key"], item.spec["key_reference"], secret.get("KmsKeyId")),
        tags_finding(item, {t["Key"]: t["Value"] for t in secret.get("Tags") or []}),
    ]


def check_budget(item: Expected, account: Account) -> list[Finding]:
    """A budget: limit, cost filters and notifications as planned (tags are not read: see docs/verify.md)."""
    budget = account.budgets().get(item.name)
    if budget is None:
        return missing(item)
    try:
        listed = account.pages("budgets", "describe_notifications_for_budget", "Notifications",
                               AccountId=account.account_id, BudgetName=item.name)
    except NotFound:
        return missing(item)
    spec = item.spec
    limit = budget.get("BudgetLimit") or {}
    live_limit = f"{_number(limit.get('Amount'))} {limit.get('Unit', '')}".strip()
    live_filters = {k: sorted(v) for k, v in (budget.get("CostFilters") or {}).items()}
    notifications = sorted(
        (n.get("NotificationType"), n.get("ComparisonOperator"), float(n.get("Threshold", 0)),
         n.get("ThresholdType", "PERCENTAGE"))
        for n in listed
    )
    return [
        finding(item, "exists", True, "exists", "exists"),
        finding(item, "limit", live_limit == f"{_number(spec['limit'])} {spec['unit']}",
                f"{_number(spec['limit'])} {spec['unit']}", live_limit),
        finding(item, "cost-filters", live_filters == spec["cost_filters"], _filters(spec["cost_filters"]),
                _filters(live_filters)),
        finding(item, "notifications", notifications == spec["notifications"],
                _notifications(spec["notifications"]), _notifications(notifications)),
    ]


def check_budget_action(item: Expected, account: Account) -> list[Finding]:
    """A budget action, on its budget: its type, approval model, threshold and notification type,
    the policy it attaches and to whom, the role it runs as and who it notifies, as planned.

    The planned action is the budget's action attaching the planned policy, else its only action of
    the planned type, else its first. An endpoint without budget actions (moto) gives one skipped
    ``exists`` finding: the action could not be read, which is neither drift nor a pass.
    """
    try:
        actions = account.budget_actions(item.name)
    except Unsupported as unsupported:
        return [skipped(item, "exists",
                        f"the endpoint does not implement {unsupported}: the action could not be read")]
    except NotFound:
        return missing(item)
    spec = item.spec
    action = _planned_action(actions, spec)
    if action is None:
        return missing(item)
    threshold = action.get("ActionThreshold") or {}
    iam = (action.get("Definition") or {}).get("IamActionDefinition") or {}
    live = {
        "action-type": action.get("ActionType"),
        "approval-model": action.get("ApprovalModel"),
        "threshold": (float(threshold.get("ActionThresholdValue", 0)), threshold.get("ActionThresholdType")),
        "notification-type": action.get("NotificationType"),
        "policy": iam.get("PolicyArn"),
        "targets": {kind: sorted(iam.get(api) or []) for kind, api in
                    (("roles", "Roles"), ("groups", "Groups"), ("users", "Users")) if iam.get(api)},
        "execution-role": action.get("ExecutionRoleArn"),
        "subscribers": sorted((s.get("SubscriptionType"), s.get("Address")) for s in action.get("Subscribers") or []),
    }
    planned = {
        "action-type": spec["action_type"], "approval-model": spec["approval_model"], "threshold": spec["threshold"],
        "notification-type": spec["notification_type"], "policy": spec["policy_arn"], "targets": spec["targets"],
        "execution-role": spec["execution_role_arn"], "subscribers": spec["subscribers"],
    }
    shown = {"threshold": _threshold, "targets": _targets, "subscribers": _subscribers}
    findings = [finding(item, "exists", True, "exists", f"{action.get('ActionId')} ({action.get('Status')})")]
    for check, wanted in planned.items():
        if wanted is None:
            findings.append(skipped(item, check, "not known in the plan"))
            continue
        show = shown.get(check, str)
        findings.append(finding(item, check, live[check] == wanted, show(wanted), show(live[check])))
    return findings


def _planned_action(actions: list[dict[str, Any]], spec: dict[str, Any]) -> Optional[dict[str, Any]]:
    def policy(action: dict[str, Any]) -> Any:
        return ((action.get("Definition") or {}).get("IamActionDefinition") or {}).get("PolicyArn")

    by_policy = [a for a in actions if policy(a) == spec["policy_arn"]]
    of_type = [a for a in actions if a.get("ActionType") == spec["action_type"]]
    if by_policy:
        return by_policy[0]
    if len(of_type) == 1:
        return of_type[0]
    return actions[0] if actions else None


def check_cluster(item: Expected, account: Account) -> list[Finding]:
    """The EKS cluster: endpoint access, control-plane logging, secrets encryption, version, tags."""
    try:
        cluster = account.call("eks", "describe_cluster", name=item.name)["cluster"]
    except NotFound:
        return missing(item)
    spec = item.spec
    vpc = cluster.get("resourcesVpcConfig") or {}
    public, private = bool(vpc.get("endpointPublicAccess")), bool(vpc.get("endpointPrivateAccess"))
    cidrs = sorted(vpc.get("publicAccessCidrs") or []) if public else []
    logged = sorted({t for entry in (cluster.get("logging") or {}).get("clusterLogging") or []
                     if entry.get("enabled") for t in entry.get("types") or []})
    secrets_key = next((e.get("provider", {}).get("keyArn") for e in cluster.get("encryptionConfig") or []
                        if "secrets" in (e.get("resources") or [])), None)
    findings = [
        finding(item, "exists", True, "exists", cluster.get("status", "exists")),
        finding(item, "endpoint-access", (public, private) == (spec["public"], spec["private"]),
                _access(spec["public"], spec["private"]), _access(public, private)),
        finding(item, "logging", logged == spec["log_types"], spec["log_types"], logged),
        key_finding(item, account, "secrets-encryption", spec["secrets_key"], spec["key_reference"], secrets_key),
        tags_finding(item, cluster.get("tags") or {}),
    ]
    if spec["public"]:
        findings.insert(2, finding(item, "public-access-cidrs", cidrs == spec["public_cidrs"], spec["public_cidrs"],
                                   cidrs))
    if spec.get("version"):
        findings.insert(-1, finding(item, "version", cluster.get("version") == spec["version"], spec["version"],
                                    cluster.get("version")))
    return findings


def check_bucket(item: Expected, account: Account) -> list[Finding]:
    """An S3 bucket of this account: default encryption under the planned key, public access
    blocked as planned, versioning as planned, tagged."""
    if item.name not in account.buckets():
        return missing(item)
    spec = item.spec
    try:
        tagging = account.call_or_none("s3", "get_bucket_tagging", frozenset({"NoSuchTagSet"}), Bucket=item.name)
        encryption = account.call_or_none("s3", "get_bucket_encryption",
                                          frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
                                          Bucket=item.name)
        versioning = account.call("s3", "get_bucket_versioning", Bucket=item.name)
        block = account.call_or_none("s3", "get_public_access_block",
                                     frozenset({"NoSuchPublicAccessBlockConfiguration"}), Bucket=item.name) \
            if spec["public_access_block"] is not None else None
    except NotFound:
        return missing(item)
    rules = ((encryption or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = default.get("SSEAlgorithm")
    findings = [finding(item, "exists", True, "exists", "exists")]
    if spec["algorithm"]:
        findings.append(finding(item, "encryption", algorithm == spec["algorithm"], spec["algorithm"],
                                algorithm or "no default encryption"))
    if (spec["algorithm"] or "").startswith("aws:kms"):
        live_key = default.get("KMSMasterKeyID") if (algorithm or "").startswith("aws:kms") else None
        findings.append(key_finding(item, account, "kms-key", spec["key"], spec["key_reference"], live_key))
    if spec["public_access_block"] is not None:
        findings.append(_public_access_finding(item, (block or {}).get("PublicAccessBlockConfiguration") or {}))
    live_versioning = versioning.get("Status") or "Disabled"
    findings.append(finding(item, "versioning", live_versioning == spec["versioning"], spec["versioning"],
                            live_versioning))
    findings.append(tags_finding(item, {t["Key"]: t["Value"] for t in (tagging or {}).get("TagSet") or []}))
    return findings


def _public_access_finding(item: Expected, live: dict[str, Any]) -> Finding:
    """Each of the four public access block settings as planned (a bucket without one has all four off)."""
    wanted = item.spec["public_access_block"]
    differing = [setting for setting, api in PUBLIC_ACCESS_BLOCK.items() if bool(live.get(api)) != wanted[setting]]
    shown = differing or list(PUBLIC_ACCESS_BLOCK)
    expected = ", ".join(f"{PUBLIC_ACCESS_BLOCK[f]} {_on(wanted[f])}" for f in shown)
    actual = ", ".join(f"{PUBLIC_ACCESS_BLOCK[f]} {_on(bool(live.get(PUBLIC_ACCESS_BLOCK[f])))}" for f in differing)
    return finding(item, "public-access-block", not differing, expected, actual or "as planned")


def check_log_group(item: Expected, account: Account) -> list[Finding]:
    """A CloudWatch log group: retention as planned, encrypted with the planned key, tagged."""
    group = account.log_group(item.name)
    if group is None:
        return missing(item)
    arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
    try:
        tags = account.call("logs", "list_tags_for_resource", resourceArn=arn).get("tags") or {}
    except NotFound:
        return missing(item)
    retention = int(group.get("retentionInDays") or 0)
    return [
        finding(item, "exists", True, "exists", arn),
        finding(item, "retention", retention == item.spec["retention"], _days(item.spec["retention"]),
                _days(retention)),
        key_finding(item, account, "kms-key", item.spec["key"], item.spec["key_reference"], group.get("kmsKeyId")),
        tags_finding(item, tags),
    ]


def check_topic(item: Expected, account: Account) -> list[Finding]:
    """An SNS topic: encrypted with the planned key, tagged."""
    arn = account.topics().get(item.name)
    if arn is None:
        return missing(item)
    try:
        attributes = account.call("sns", "get_topic_attributes", TopicArn=arn).get("Attributes") or {}
        tags = account.call("sns", "list_tags_for_resource", ResourceArn=arn).get("Tags") or []
    except NotFound:
        return missing(item)
    return [
        finding(item, "exists", True, "exists", arn),
        key_finding(item, account, "kms-key", item.spec["key"], item.spec["key_reference"],
                    attributes.get("KmsMasterKeyId") or None),
        tags_finding(item, {t["Key"]: t["Value"] for t in tags}),
    ]


def check_db_cluster(item: Expected, account: Account) -> list[Finding]:
    """An Aurora/RDS cluster: storage encrypted with the planned key, deletion protection and
    backup retention as planned, tagged."""
    try:
        clusters = account.call("rds", "describe_db_clusters", DBClusterIdentifier=item.name).get("DBClusters")
    except NotFound:
        return missing(item)
    if not clusters:
        return missing(item)
    cluster, spec = clusters[0], item.spec
    encrypted = bool(cluster.get("StorageEncrypted"))
    retention = int(cluster.get("BackupRetentionPeriod") or 0)
    findings = [
        finding(item, "exists", True, "exists", cluster.get("Status", "exists")),
        finding(item, "storage-encrypted", encrypted == spec["encrypted"], spec["encrypted"], encrypted),
    ]
    if spec["encrypted"] and spec["key_reference"]:
        findings.append(key_finding(item, account, "kms-key", spec["key"], spec["key_reference"],
                                    cluster.get("KmsKeyId") if encrypted else None))
    findings += [
        finding(item, "deletion-protection", bool(cluster.get("DeletionProtection")) == spec["deletion_protection"],
                spec["deletion_protection"], bool(cluster.get("DeletionProtection"))),
        finding(item, "backup-retention", retention == spec["backup_retention"],
                _days(spec["backup_retention"], "no backups"), _days(retention, "no backups")),
        tags_finding(item, {t["Key"]: t["Value"] for t in cluster.get("TagList") or []}),
    ]
    return findings


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _filters(filters: dict[str, list[str]]) -> str:
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(filters.items())) or "none"


def _notifications(notifications: list[tuple]) -> str:
    return "; ".join(f"{kind} {operator} {_number(threshold)}{'%' if unit == 'PERCENTAGE' else ''}"
                     for kind, operator, threshold, unit in notifications) or "none"


def _threshold(threshold: tuple) -> str:
    value, unit = threshold
    return f"{_number(value)}{'%' if unit == 'PERCENTAGE' else f' {unit}'}"


def _targets(targets: dict[str, list[str]]) -> str:
    return "; ".join(f"{kind}: {', '.join(members)}" for kind, members in sorted(targets.items())) or "none"


def _subscribers(subscribers: list[tuple]) -> str:
    return ", ".join(f"{kind} {address}" for kind, address in subscribers) or "none"


def _on(value: bool) -> str:
    return "on" if value else "off"


def _days(days: int, zero: str = "never expire") -> str:
    return zero if days == 0 else f"{days} day{'s' if days != 1 else ''}"


def _access(public: bool, private: bool) -> str:
    return f"public {'on' if public else 'off'}, private {'on' if private else 'off'}"


CHECKS: dict[str, Callable[[Expected, Account], list[Finding]]] = {
    "kms-key": check_key,
    "dynamodb-table": check_table,
    "sqs-queue": check_queue,
    "secret": check_secret,
    "budget": check_budget,
    "budget-action": check_budget_action,
    "eks-cluster": check_cluster,
    "s3-bucket": check_bucket,
    "log-group": check_log_group,
    "sns-topic": check_topic,
    "rds-cluster": check_db_cluster,
}
