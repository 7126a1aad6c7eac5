"""MAAS-LOG: audit and operational logs are sent, kept long enough, and not forever."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ... import names
from ..core import Context, Finding, NotEvaluable, Outcome, Resource, resource_rule, stack_rule
from .edge import LOAD_BALANCERS
from .helpers import (
    as_list, engine_family, fmt, is_cluster_member, is_true, is_unknown, mapping, number, pairing, undecided,
)

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


# What PostgreSQL writes to its log: log_statement is none, ddl, mod or all, and defaults to
# none, no statement at all; ddl logs schema changes, mod adds data changes, all logs every
# statement (PostgreSQL's runtime-config-logging documentation, as quoted on pgsql-admin,
# postgresql.org/message-id/564840.54338.qm@web111511.mail.gq1.yahoo.com, and the CIS PostgreSQL
# benchmarks' "Ensure 'log_statement' is set correctly", default none; read 2026-12-02). Which input names a database's parameter group: pulumi-aws 7.51 SDK
# docstrings, rds/instance.py ``parameter_group_name``, rds/cluster.py
# ``db_cluster_parameter_group_name`` (read 2026-12-02).
STATEMENT_LOGGING = ("ddl", "mod", "all")
PARAMETER_GROUPS = {names.RDS_INSTANCE: ("parameterGroupName", names.RDS_PARAMETER_GROUP),
                    names.RDS_CLUSTER: ("dbClusterParameterGroupName", names.RDS_CLUSTER_PARAMETER_GROUP)}


def parameter(group: Resource, name: str) -> Any:
    """The value a parameter group gives ``name`` (None when it sets none; unknown when its list is)."""
    listed = group.props.get("parameters")
    if is_unknown(listed):
        return listed
    for entry in as_list(listed):
        entry = mapping(entry)
        if entry.get("name") == name:
            return entry.get("value")
    return None


def statement_logging(database: Resource, resources: Sequence[Resource]) -> Iterable[Union[Finding, NotEvaluable]]:
    """What is wrong with the log_statement of ``database``'s parameter group."""
    key, group_type = PARAMETER_GROUPS[database.type]
    named = database.props.get(key)
    if is_unknown(named) and not database.property_dependencies.get(key):
        yield NotEvaluable(key, database.urn)
        return
    if named in (None, ""):
        yield Finding(database.urn, f"no {key}: the default parameter group logs no statements (log_statement none)")
        return
    verdicts = [(group, pairing(database, key, group)) for group in resources if group.type == group_type]
    groups = [group for group, verdict in verdicts if verdict]
    if not groups:
        yield from undecided([database], key) if any(v is None for _, v in verdicts) else [Finding(
            database.urn, f"{key} names a parameter group outside the stack, whose log_statement no rule can read")]
        return
    for group in groups:
        value = parameter(group, "log_statement")
        if is_unknown(value):
            yield NotEvaluable("parameters", group.urn)
        elif str(value).lower() not in STATEMENT_LOGGING:
            yield Finding(database.urn, f"parameter group {group.name} sets log_statement {value or '(none: default none)'}; "
                                        f"log at least ddl")


@stack_rule(
    "MAAS-LOG-004",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="PostgreSQL databases log their statements",
    description="Every PostgreSQL RDS instance and Aurora PostgreSQL cluster names a parameter group of the stack "
                "whose log_statement is ddl, mod or all (PostgreSQL's default, none, logs no statement), so schema "
                "and, as chosen, data changes reach the exported log (MAAS-LOG-003). A database is paired with its "
                "group by the reference or the value of its parameter group input.",
    severity="low",
    remediation="Create an aws.rds.ParameterGroup (instances) or ClusterParameterGroup (Aurora) with log_statement ddl "
                "and log_min_duration_statement, and name it in parameterGroupName / dbClusterParameterGroupName.",
    frameworks={"NIST 800-53": ["AU-2", "AU-12"], "SOC 2": ["CC7.2"]},
)
def postgres_statement_logging(resources: Sequence[Resource], context: Context
                               ) -> Iterable[Union[Finding, NotEvaluable]]:
    for database in (r for r in resources if r.type in PARAMETER_GROUPS and not is_cluster_member(r)):
        engine = database.props.get("engine")
        if is_unknown(engine):
            yield NotEvaluable("engine", database.urn)
        elif engine_family(engine) == "postgres":
            yield from statement_logging(database, resources)


# Access logs of a load balancer: pulumi-aws 7.51 SDK docstrings (lb/_inputs.py
# LoadBalancerAccessLogsArgs: ``enabled`` defaults to false "even when bucket is specified";
# ``bucket`` the S3 bucket; lb/load_balancer.py ``load_balancer_type`` application (default),
# network or gateway), read 2026-12-02. A gateway load balancer has no access logs.
NO_ACCESS_LOGS = ("gateway",)


@resource_rule(
    "MAAS-LOG-005",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Load balancers write access logs",
    description="Every application and network load balancer, internal or internet-facing, has accessLogs enabled to "
                "a bucket (enabled defaults to false, even with a bucket named). The access log is the only record "
                "of the requests it served: who called, from where, what it asked and what came back.",
    severity="medium",
    remediation="Set accessLogs = {enabled: true, bucket: <a bucket the ELB log delivery may write>, prefix}.",
    types=LOAD_BALANCERS,
    frameworks={"NIST 800-53": ["AU-2", "AU-12"], "SOC 2": ["CC7.2"]},
)
def load_balancer_access_logs(resource: Resource, context: Context) -> Iterable[Outcome]:
    kind = resource.props.get("loadBalancerType")
    if is_unknown(kind):
        yield NotEvaluable("loadBalancerType")
        return
    if kind in NO_ACCESS_LOGS:
        return
    unknown = next((found for path in ("accessLogs.enabled", "accessLogs.bucket")
                    if (found := resource.unknown_at(path)) is not None), None)
    if unknown is not None:
        yield NotEvaluable(unknown)
    elif not is_true(resource.get("accessLogs.enabled")):
        yield "accessLogs is not enabled: no record of the requests it serves"
    elif not resource.get("accessLogs.bucket"):
        yield "accessLogs names no bucket"
