"""MAAS-LOG: audit and operational logs are sent, kept long enough, and not forever."""

from __future__ import annotations

from typing import Iterable, Sequence

from ... import names
from ..core import Context, NotEvaluable, Outcome, Resource, resource_rule
from .helpers import as_list, engine_family, fmt, is_cluster_member, is_unknown, number

# The five EKS control-plane log types (all of them: audit alone misses authenticator denials).
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# Log exports an engine family needs so that connections, errors and slow statements are kept.
DATABASE_LOG_EXPORTS = {"postgres": ("postgresql",), "mysql": ("error", "audit")}


def missing_entries(resource: Resource, key: str, wanted: Sequence[str]) -> tuple[list[str], list[NotEvaluable]]:
    """The ``wanted`` entries the list ``key`` lacks; when the list, or an entry that could be a
    missing one, is not known yet, nothing is missing for sure and those entries are not evaluable."""
    value = resource.props.get(key)
    if is_unknown(value):
        return [], [NotEvaluable(key)]
    listed = as_list(value)
    missing = [entry for entry in wanted if entry not in listed]
    unknown = [NotEvaluable(f"{key}[{i}]") for i, entry in enumerate(listed) if is_unknown(entry)]
    return ([], unknown) if missing and unknown else (missing, [])


@resource_rule(
    "MAAS-LOG-001",
    title="EKS sends all five control-plane log types",
    description="enabledClusterLogTypes lists api, audit, authenticator, controllerManager and scheduler "
                "(AWS default: none).",
    severity="medium",
    remediation="Set enabledClusterLogTypes to all five types and create /aws/eks/<cluster>/cluster first, "
                "retained and encrypted.",
    types=[names.EKS_CLUSTER],
    frameworks={"CIS EKS": ["2.1.1"], "NIST 800-53": ["AU-2", "AU-12"], "SOC 2": ["CC7.2"]},
)
def eks_control_plane_logs(resource: Resource, context: Context) -> Iterable[Outcome]:
    missing, unknown = missing_entries(resource, "enabledClusterLogTypes", CONTROL_PLANE_LOG_TYPES)
    yield from unknown
    if missing:
        yield f"control-plane log types not sent: {', '.join(missing)}"


@resource_rule(
    "MAAS-LOG-002",
    title="Log groups keep logs for at least the stack's minimum retention, never forever",
    description="retentionInDays is at least the stack's minimum (maas:policy.min_log_retention_days; default dev "
                "7, staging 30, prod 90). A log group without retention never expires: that is a violation too, "
                "because logs then hold payloads and personal data forever at a cost that only grows; retention "
                "must be a decision, written down.",
    severity="medium",
    remediation="Set retentionInDays to a CloudWatch value at least the minimum (e.g. 30, 90, 365).",
    types=[names.CLOUDWATCH_LOG_GROUP],
    frameworks={"NIST 800-53": ["AU-11"], "SOC 2": ["CC7.2"]},
)
def log_retention(resource: Resource, context: Context) -> Iterable[Outcome]:
    value = resource.props.get("retentionInDays")
    if is_unknown(value):
        yield NotEvaluable("retentionInDays")
        return
    days = number(value)
    if days is None or days == 0:
        yield f"no retentionInDays: the logs never expire; set at least {context.min_log_retention_days} days"
    elif days < context.min_log_retention_days:
        yield f"retentionInDays is {fmt(days)}, below the stack's minimum of {context.min_log_retention_days}"


@resource_rule(
    "MAAS-LOG-003",
    title="Databases export their logs to CloudWatch Logs",
    description="enabledCloudwatchLogsExports includes postgresql (PostgreSQL) or error and audit (MySQL), so "
                "connection and error logs outlive the instance.",
    severity="low",
    remediation="Set enabledCloudwatchLogsExports = [postgresql] on the cluster.",
    types=[names.RDS_CLUSTER, names.RDS_INSTANCE],
    frameworks={"NIST 800-53": ["AU-2", "AU-12"], "SOC 2": ["CC7.2"]},
)
def database_log_exports(resource: Resource, context: Context) -> Iterable[Outcome]:
    if is_cluster_member(resource):
        return
    engine = resource.props.get("engine")
    if is_unknown(engine):
        yield NotEvaluable("engine")
        return
    family = engine_family(engine)
    if family is None:
        return
    missing, unknown = missing_entries(resource, "enabledCloudwatchLogsExports", DATABASE_LOG_EXPORTS[family])
    yield from unknown
    if missing:
        yield f"enabledCloudwatchLogsExports lacks {', '.join(missing)}"
