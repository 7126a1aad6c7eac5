"""What should exist, read from the offline plan: physical names, tags and settings per resource.

The plan's ids and ARNs come from a fake cloud and match nothing live, so a resource is
named here by what survives deployment: its physical name (queue, table, secret, budget,
cluster) or, for a KMS key, its alias. A key a resource refers to by fake ARN is turned
into the alias the plan gives that key, which the live account resolves to a real key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ..plan import Plan

PLATFORM = "platform"
AGENT_COMPONENT = "maas:agent:AgentService"

# Plan resource type -> the kind of check it gets (checks.CHECKS).
KINDS = {
    "aws:kms/key:Key": "kms-key",
    "aws:dynamodb/table:Table": "dynamodb-table",
    "aws:sqs/queue:Queue": "sqs-queue",
    "aws:secretsmanager/secret:Secret": "secret",
    "aws:budgets/budget:Budget": "budget",
    "aws:eks/cluster:Cluster": "eks-cluster",
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
        names = [item.name for item in self.items if item.kind == kind]
        if not names:
            return ""
        first, last = min(names), max(names)
        size = 0
        while size < min(len(first), len(last)) and first[size] == last[size]:
            size += 1
        return first[:size]

    def agents(self) -> list[str]:
        return sorted({item.agent for item in self.items if item.agent != PLATFORM})


def plan_from_json(document: dict[str, Any]) -> Plan:
    """A plan written by ``maas plan --json`` (the JSON contract), for verifying without re-planning."""
    return Plan(
        project=str(document.get("project", "")),
        stack=str(document.get("stack", "")),
        resources=list(document.get("resources") or []),
        outputs=dict(document.get("outputs") or {}),
    )


def expectations(plan: Plan) -> Expectations:
    """The checked resources of ``plan``, each with its physical name, agent, tags and settings."""
    keys = _key_aliases(plan)
    owners = _agent_components(plan)
    items: list[Expected] = []
    unmatched: list[str] = []
    for resource in plan.resources:
        kind = KINDS.get(resource["type"])
        if kind is None:
            continue
        inputs = resource.get("inputs") or {}
        name = keys.by_urn.get(resource["urn"]) if kind == "kms-key" else _physical_name(inputs)
        if not name:
            why = "no alias in the plan" if kind == "kms-key" else "no physical name in the plan"
            unmatched.append(f"{resource['type']} {resource['name']}: {why}")
            continue
        items.append(Expected(
            kind=kind,
            name=name,
            agent=_agent_of(resource, inputs, owners, plan),
            logical=resource["name"],
            tags={k: str(v) for k, v in (inputs.get("tags") or {}).items() if isinstance(v, str)},
            spec=SPECS[kind](inputs, keys),
        ))
    items.sort(key=lambda i: (i.agent != PLATFORM, i.agent, i.kind, i.name))
    return Expectations(items=items, unmatched=unmatched)


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
    keys = {r["urn"] for r in plan.of_type("aws:kms/key:Key")}
    by_urn: dict[str, str] = {}
    by_fake_id: dict[str, str] = {}
    for alias in plan.of_type("aws:kms/alias:Alias"):
        name = (alias.get("inputs") or {}).get("name")
        target = (alias.get("inputs") or {}).get("targetKeyId")
        if not isinstance(name, str):
            continue
        for dependency in alias.get("dependencies") or []:
            if dependency in keys:
                by_urn.setdefault(dependency, name)
        if isinstance(target, str):
            by_fake_id.setdefault(target.rsplit("key/", 1)[-1], name)
    return _Keys(by_urn=by_urn, by_fake_id=by_fake_id)


# -- ownership ---------------------------------------------------------------------------------


def _agent_components(plan: Plan) -> dict[str, str]:
    """AgentService component urn -> agent name (the ``agent`` tag its resources carry)."""
    components = {r["urn"] for r in plan.resources if r["type"] == AGENT_COMPONENT}
    owners: dict[str, str] = {}
    for resource in plan.resources:
        agent = ((resource.get("inputs") or {}).get("tags") or {}).get("agent")
        if isinstance(agent, str) and resource.get("parent") in components:
            owners.setdefault(resource["parent"], agent)
    return owners


def _agent_of(resource: dict[str, Any], inputs: dict[str, Any], owners: dict[str, str], plan: Plan) -> str:
    """The agent a resource belongs to: its ``agent`` tag, an agent budget's cost filter, or its component."""
    agent = (inputs.get("tags") or {}).get("agent")
    if isinstance(agent, str):
        return agent
    for cost_filter in inputs.get("costFilters") or []:
        for value in cost_filter.get("values") or []:
            if isinstance(value, str) and value.startswith("user:agent$"):
                return value.split("$", 1)[1]
    parent = resource.get("parent")
    while parent:
        if parent in owners:
            return owners[parent]
        try:
            parent = plan.get(parent).get("parent")
        except KeyError:
            break
    return PLATFORM


# -- per-kind settings -------------------------------------------------------------------------


def _physical_name(inputs: dict[str, Any]) -> Optional[str]:
    name = inputs.get("name")
    return name if isinstance(name, str) and name and name != "[secret]" else None


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


SPECS = {
    "kms-key": _key_spec,
    "dynamodb-table": _table_spec,
    "sqs-queue": _queue_spec,
    "secret": _secret_spec,
    "budget": _budget_spec,
    "eks-cluster": _cluster_spec,
}
