"""What should exist, read from the offline plan: physical names, tags and settings per resource.

The plan's ids and ARNs come from a fake cloud and match nothing live, so a resource is
named here by what survives deployment: its physical name (queue, table, secret, budget,
cluster, bucket, log group, topic, database cluster) or, for a KMS key, its alias. A key a
resource refers to by fake ARN is turned into the alias the plan gives that key, which the
live account resolves to a real key. A physical name that embeds the plan's (fake) account
id, as a bucket's globally unique name does, is looked up under the live account's id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .. import names
from ..markers import SECRET, UNKNOWN_VALUE
from ..plan.model import Plan, PlannedResource

PLATFORM = "platform"

# Plan resource type -> the kind of check it gets (checks.CHECKS).
KINDS = {
    names.KMS_KEY: "kms-key",
    names.DYNAMODB_TABLE: "dynamodb-table",
    names.SQS_QUEUE: "sqs-queue",
    names.SECRETSMANAGER_SECRET: "secret",
    names.BUDGETS_BUDGET: "budget",
    names.BUDGETS_BUDGET_ACTION: "budget-action",
    names.EKS_CLUSTER: "eks-cluster",
    names.S3_BUCKET: "s3-bucket",
    names.S3_BUCKET_V2: "s3-bucket",
    names.CLOUDWATCH_LOG_GROUP: "log-group",
    names.SNS_TOPIC: "sns-topic",
    names.RDS_CLUSTER: "rds-cluster",
}

# The input holding a kind's physical name, where it is not ``name``.
NAME_INPUTS = {"s3-bucket": "bucket", "rds-cluster": "clusterIdentifier", "budget-action": "budgetName"}

# A bucket's settings live in resources of their own that name the bucket (the provider's
# current shape); a v1 ``Bucket`` may also carry them inline. Config type -> what it sets.
BUCKET_CONFIGS = {
    names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION: "encryption",
    names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION_V2: "encryption",
    names.S3_BUCKET_VERSIONING: "versioning",
    names.S3_BUCKET_VERSIONING_V2: "versioning",
    names.S3_BUCKET_PUBLIC_ACCESS_BLOCK: "public-access-block",
}

# The four settings of an S3 public access block: plan input -> the API's field.
PUBLIC_ACCESS_BLOCK = {
    "blockPublicAcls": "BlockPublicAcls",
    "blockPublicPolicy": "BlockPublicPolicy",
    "ignorePublicAcls": "IgnorePublicAcls",
    "restrictPublicBuckets": "RestrictPublicBuckets",
}


@dataclass(frozen=True)
class Expected:
    """One resource the plan promises: where to find it live and what it must look like."""

    kind: str
    name: str  # physical name; for a KMS key, its alias
    agent: str  # the agent it belongs to, or PLATFORM
    logical: str  # the plan's logical name, for the report
    tags: dict[str, str] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Expectations:
    """Everything to check, plus the resources of a checked kind that cannot be matched live."""

    items: list[Expected]
    unmatched: list[str]  # "type name: why"

    def prefix(self, kind: str) -> str:
        """The longest name prefix shared by the expected resources of a kind (to narrow list calls)."""
        found = [item.name for item in self.items if item.kind == kind]
        return _common_prefix(found) if found else ""

    def prefixes(self, kind: str) -> list[str]:
        """One narrow listing prefix per path "directory" of a kind's names (log groups).

        Log groups of one stack live under several unrelated paths (``/aws/eks/...``,
        ``/maas/...``); a single shared prefix would be ``/`` and list the whole account.
        """
        groups: dict[str, list[str]] = {}
        for item in self.items:
            if item.kind == kind:
                groups.setdefault(item.name.rsplit("/", 1)[0], []).append(item.name)
        return sorted(_common_prefix(members) for members in groups.values())

    def agents(self) -> list[str]:
        return sorted({item.agent for item in self.items if item.agent != PLATFORM})


def expectations(plan: Plan, account_id: str = "") -> Expectations:
    """The checked resources of ``plan``, each with its physical name, agent, tags and settings.

    ``account_id`` is the live account's: physical names carrying the plan's account id are
    looked up under it.
    """
    keys = _key_aliases(plan)
    attached = _bucket_configs(plan)
    rename = _account_renaming(plan, account_id)
    items: list[Expected] = []
    unmatched: list[str] = []
    for resource in plan.resources:
        kind = KINDS.get(resource.type)
        if kind is None:
            continue
        inputs = resource.inputs
        name = keys.by_urn.get(resource.urn) if kind == "kms-key" else rename(_physical_name(kind, inputs))
        if not name:
            why = "no alias in the plan" if kind == "kms-key" else "no physical name in the plan"
            unmatched.append(f"{resource.type} {resource.name}: {why}")
            continue
        items.append(Expected(
            kind=kind,
            name=name,
            agent=_agent_of(resource, inputs, plan),
            logical=resource.name,
            tags={k: str(v) for k, v in (inputs.get("tags") or {}).items() if isinstance(v, str)},
            spec=_bucket_spec(inputs, keys, attached.get(resource.urn, {})) if kind == "s3-bucket"
            else _budget_action_spec(inputs, rename) if kind == "budget-action"
            else SPECS[kind](inputs, keys),
        ))
    items.sort(key=lambda i: (i.agent != PLATFORM, i.agent, i.kind, i.name))
    return Expectations(items=items, unmatched=unmatched)


def plan_account(plan: Plan) -> str:
    """The account id the plan was made under: its ``account_id`` output, else that of its ARNs."""
    account = (plan.outputs or {}).get("account_id")
    if isinstance(account, str) and re.fullmatch(r"\d{12}", account):
        return account
    found = re.search(r'"arn:aws[a-z-]*:(?:kms|sqs|dynamodb|secretsmanager|sns|logs|rds):[a-z0-9-]+:(\d{12}):',
                      json.dumps([r.inputs for r in plan.resources]))
    return found.group(1) if found else ""


def plan_region(plan: Plan) -> Optional[str]:
    """The region the stack deploys to: its ``region`` output, else the region of its planned ARNs.

    A team stack exports no region, but the fake cloud builds its ARNs in the stack's region.
    """
    region = (plan.outputs or {}).get("region")
    if isinstance(region, str) and region and region != SECRET:
        return region
    found = re.search(r'"arn:aws[a-z-]*:(?:kms|sqs|dynamodb|secretsmanager):([a-z0-9-]+):',
                      json.dumps([r.inputs for r in plan.resources]))
    return found.group(1) if found else None


def _account_renaming(plan: Plan, account_id: str) -> Callable[[Optional[str]], Optional[str]]:
    """Physical name -> the name it has in the live account (the plan's account id swapped for it)."""
    planned = plan_account(plan)

    def rename(name: Optional[str]) -> Optional[str]:
        if name and planned and account_id and planned != account_id:
            return name.replace(planned, account_id)
        return name
    return rename


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


# -- keys --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keys:
    by_urn: dict[str, str]  # key resource urn -> alias name
    by_fake_id: dict[str, str]  # the plan's key id -> alias name

    def alias(self, reference: Any) -> Optional[str]:
        """The alias of the planned key a fake key id or ARN names (None: not a key of this plan)."""
        if not isinstance(reference, str) or not reference:
            return None
        if reference.startswith("alias/"):
            return reference
        return self.by_fake_id.get(reference.rsplit("key/", 1)[-1])


def _key_aliases(plan: Plan) -> _Keys:
    """Each planned key's alias: an alias depends on the key it targets and names its fake id."""
    keys = {r.urn for r in plan.of_type(names.KMS_KEY)}
    by_urn: dict[str, str] = {}
    by_fake_id: dict[str, str] = {}
    for alias in plan.of_type(names.KMS_ALIAS):
        name = alias.inputs.get("name")
        target = alias.inputs.get("targetKeyId")
        if not isinstance(name, str):
            continue
        for dependency in alias.dependencies:
            if dependency in keys:
                by_urn.setdefault(dependency, name)
        if isinstance(target, str):
            by_fake_id.setdefault(target.rsplit("key/", 1)[-1], name)
    return _Keys(by_urn=by_urn, by_fake_id=by_fake_id)


# -- ownership ---------------------------------------------------------------------------------


def _agent_of(resource: PlannedResource, inputs: dict[str, Any], plan: Plan) -> str:
    """The agent a resource belongs to: its ``agent`` tag, an agent budget's cost filter, or the
    ``AgentService`` it sits below (at any depth: an agent's parts are components of their own)."""
    agent = (inputs.get("tags") or {}).get(names.AGENT_TAG)
    if isinstance(agent, str):
        return agent
    for cost_filter in inputs.get("costFilters") or []:
        for value in cost_filter.get("values") or []:
            if isinstance(value, str) and value.startswith(f"user:{names.AGENT_TAG}$"):
                return value.split("$", 1)[1]
    owner = plan.agent_of(resource)
    return owner.name if owner else PLATFORM


# -- per-kind settings -------------------------------------------------------------------------


def _physical_name(kind: str, inputs: dict[str, Any]) -> Optional[str]:
    name = inputs.get(NAME_INPUTS.get(kind, "name"))
    return name if isinstance(name, str) and name and name != SECRET else None


def _key_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    return {"rotation": bool(inputs.get("enableKeyRotation", False))}


def _table_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    encryption = inputs.get("serverSideEncryption") or {}
    return {
        "pitr": bool((inputs.get("pointInTimeRecovery") or {}).get("enabled", False)),
        "key": keys.alias(encryption.get("kmsKeyArn")) if encryption.get("enabled") else None,
        "key_reference": encryption.get("kmsKeyArn"),
    }


def _queue_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    redrive = inputs.get("redrivePolicy")
    policy = json.loads(redrive) if isinstance(redrive, str) and redrive.startswith("{") else {}
    target = policy.get("deadLetterTargetArn")
    return {
        "key": keys.alias(inputs.get("kmsMasterKeyId")),
        "key_reference": inputs.get("kmsMasterKeyId"),
        "dlq": target.rsplit(":", 1)[-1] if isinstance(target, str) else None,
        "max_receive_count": policy.get("maxReceiveCount"),
    }


def _secret_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    return {"key": keys.alias(inputs.get("kmsKeyId")), "key_reference": inputs.get("kmsKeyId")}


def _budget_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    notifications = sorted(
        (str(n.get("notificationType")), str(n.get("comparisonOperator")), float(n.get("threshold") or 0),
         str(n.get("thresholdType") or "PERCENTAGE"))
        for n in inputs.get("notifications") or []
    )
    filters = {f["name"]: sorted(f.get("values") or []) for f in inputs.get("costFilters") or [] if "name" in f}
    return {
        "limit": float(inputs.get("limitAmount") or 0),
        "unit": inputs.get("limitUnit", "USD"),
        "time_unit": inputs.get("timeUnit"),
        "cost_filters": filters,
        "notifications": notifications,
    }


def _budget_action_spec(inputs: dict[str, Any], rename: Callable[[Optional[str]], Optional[str]]) -> dict[str, Any]:
    """What a budget action does, when, to whom and as whom, in the API's terms.

    A budget action has no name of its own: it is found on its budget (``budgetName``). The
    ARNs it names carry the plan's account id and are compared under the live account's; a
    value the plan does not know (None here) is skipped by the check, not compared.
    """
    threshold = inputs.get("actionThreshold") or {}
    iam = (inputs.get("definition") or {}).get("iamActionDefinition") or {}
    value = threshold.get("actionThresholdValue")
    return {
        "action_type": _known(inputs.get("actionType")),
        "approval_model": _known(inputs.get("approvalModel")),
        "notification_type": _known(inputs.get("notificationType")),
        "threshold": (float(value), threshold.get("actionThresholdType"))
        if isinstance(value, (int, float)) and _known(threshold.get("actionThresholdType")) else None,
        "policy_arn": rename(_known(iam.get("policyArn"))),
        "targets": _action_targets(iam.get("roles"), iam.get("groups"), iam.get("users")),
        "execution_role_arn": rename(_known(inputs.get("executionRoleArn"))),
        "subscribers": sorted((str(s.get("subscriptionType")), rename(_known(s.get("address"))) or "?")
                              for s in inputs.get("subscribers") or []),
    }


def _action_targets(roles: Any, groups: Any, users: Any) -> Optional[dict[str, list[str]]]:
    """The principals an IAM budget action attaches its policy to, by kind (None: not known)."""
    targets = {"roles": roles or [], "groups": groups or [], "users": users or []}
    if not all(isinstance(v, list) and all(_known(n) for n in v) for v in targets.values()):
        return None
    return {kind: sorted(members) for kind, members in targets.items() if members}


def _known(value: Any) -> Optional[str]:
    """A plan string that is a real value: not a secret, not known only after apply."""
    return value if isinstance(value, str) and value and value not in (SECRET, UNKNOWN_VALUE) else None


def _cluster_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    vpc = inputs.get("vpcConfig") or {}
    encryption = inputs.get("encryptionConfig") or {}
    if isinstance(encryption, list):  # older provider shape: a list of one
        encryption = encryption[0] if encryption else {}
    public = bool(vpc.get("endpointPublicAccess", True))
    return {
        "public": public,
        "private": bool(vpc.get("endpointPrivateAccess", False)),
        "public_cidrs": sorted(vpc.get("publicAccessCidrs") or (["0.0.0.0/0"] if public else [])),
        "log_types": sorted(inputs.get("enabledClusterLogTypes") or []),
        "secrets_key": keys.alias((encryption.get("provider") or {}).get("keyArn"))
        if "secrets" in (encryption.get("resources") or []) else None,
        "key_reference": (encryption.get("provider") or {}).get("keyArn"),
        "version": inputs.get("version"),
    }


def _bucket_configs(plan: Plan) -> dict[str, dict[str, dict[str, Any]]]:
    """Bucket urn -> its separate config resources' inputs by role, matched by the bucket each names."""
    buckets = {r.urn: r for r in plan.resources if KINDS.get(r.type) == "s3-bucket"}
    by_name = {b.inputs.get("bucket"): urn for urn, b in buckets.items()}
    configs: dict[str, dict[str, dict[str, Any]]] = {}
    for resource in plan.resources:
        role = BUCKET_CONFIGS.get(resource.type)
        if role is None:
            continue
        inputs = resource.inputs
        urn = next((d for d in resource.dependencies if d in buckets), None)
        urn = urn or by_name.get(inputs.get("bucket"))
        if urn:
            configs.setdefault(urn, {})[role] = inputs
    return configs


def _bucket_spec(inputs: dict[str, Any], keys: _Keys, attached: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Default encryption, public access block and versioning: from the config resources, else inline."""
    encryption = attached.get("encryption") or {}
    rules = encryption.get("rules") or [encryption.get("rule") or {}]
    if not encryption:  # a v1 bucket's inline serverSideEncryptionConfiguration
        rules = [((inputs.get("serverSideEncryptionConfiguration") or {}).get("rule") or {})]
    default = (rules[0] if rules else {}).get("applyServerSideEncryptionByDefault") or {}
    reference = default.get("kmsMasterKeyId")
    block = attached.get("public-access-block")
    if "versioning" in attached:
        versioning = (attached["versioning"].get("versioningConfiguration") or {}).get("status") or "Disabled"
    else:
        versioning = "Enabled" if (inputs.get("versioning") or {}).get("enabled") else "Disabled"
    return {
        "algorithm": default.get("sseAlgorithm"),
        "key": keys.alias(reference),
        "key_reference": reference,
        "public_access_block": {setting: bool(block.get(setting, False)) for setting in PUBLIC_ACCESS_BLOCK}
        if block is not None else None,
        "versioning": versioning,
    }


def _log_group_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    return {
        "retention": int(inputs.get("retentionInDays") or 0),  # 0: never expire
        "key": keys.alias(inputs.get("kmsKeyId")),
        "key_reference": inputs.get("kmsKeyId"),
    }


def _topic_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    return {"key": keys.alias(inputs.get("kmsMasterKeyId")), "key_reference": inputs.get("kmsMasterKeyId")}


def _db_cluster_spec(inputs: dict[str, Any], keys: _Keys) -> dict[str, Any]:
    return {
        "encrypted": bool(inputs.get("storageEncrypted", False)),
        "key": keys.alias(inputs.get("kmsKeyId")),
        "key_reference": inputs.get("kmsKeyId"),
        "deletion_protection": bool(inputs.get("deletionProtection", False)),
        "backup_retention": int(inputs.get("backupRetentionPeriod") or 1),  # the service's default: 1 day
    }


SPECS = {
    "kms-key": _key_spec,
    "dynamodb-table": _table_spec,
    "sqs-queue": _queue_spec,
    "secret": _secret_spec,
    "budget": _budget_spec,
    "eks-cluster": _cluster_spec,
    "log-group": _log_group_spec,
    "sns-topic": _topic_spec,
    "rds-cluster": _db_cluster_spec,
}
