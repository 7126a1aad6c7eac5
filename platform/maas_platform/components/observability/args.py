"""The observability stack's args: one frozen model, defaults stated, names checked up front."""

from __future__ import annotations

from typing import Optional

import pulumi
from pydantic import Field, field_validator, model_validator

from ...config.defaults import LOG_RETENTION_DAYS
from ..addons import IAM_NAME_PATTERN
from ..base import AccountContext, ComponentArgs, StrInput
from .layout import secret_sync_role_prefix

SECRETS_MANAGER_NAME_PATTERN = r"^[A-Za-z0-9/_+=.@-]{1,512}$"


class Receiver(ComponentArgs):
    """An extra Alertmanager receiver; its URL or key lives in a Secrets Manager secret the stack creates."""

    name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
    kind: str = Field(pattern="^(slack|pagerduty|webhook)$")
    severity: str = Field("all", pattern="^(page|ticket|all)$")
    channel: Optional[str] = None


class ObservabilityArgs(ComponentArgs):
    prefix: str = Field(pattern=IAM_NAME_PATTERN, description="Environment prefix of physical names, e.g. 'maas-dev'.")
    account: AccountContext
    environment: str = Field(description="dev, staging or prod; a label on alerts and their SNS messages.")
    cluster_name: StrInput = Field(description="EKS cluster name. Pass the cluster's output so associations wait for it.")
    cluster_arn: StrInput = Field(description="EKS cluster ARN. Every role here trusts only this cluster.")
    alert_topic_arn: StrInput = Field(description="The platform alert topic (Broker.alert_topic).")
    alert_key_arn: Optional[StrInput] = Field(
        None, description="KMS key of the alert topics: pass the broker key, which encrypts the alert topic. "
                          "Alertmanager may use it through SNS only. None only for unencrypted topics."
    )
    receivers: list[Receiver] = Field(
        default_factory=list, description="Extra receivers (Slack, PagerDuty, webhook) next to the alert topic."
    )
    page_topic_arns: list[StrInput] = Field(
        default_factory=list, description="Topics for severity page/critical. Default: the alert topic."
    )
    ticket_topic_arns: list[StrInput] = Field(
        default_factory=list, description="Topics for severity ticket/warning. Default: the alert topic."
    )
    logs_key_arn: StrInput = Field(description="Platform KMS key of CloudWatch Logs (PlatformKeys 'logs').")
    secrets_key_arn: Optional[StrInput] = Field(
        None, description="KMS key of the Grafana admin secret; its policy must let the account use it through "
                          "Secrets Manager. Default: a key of this component (alias/<prefix>-observability)."
    )
    oidc_provider_arn: StrInput = Field(
        description="The cluster's IAM OIDC provider (Cluster.oidc_provider). The secret-sync role trusts only the "
                    "token of the monitoring namespace's secret-sync service account, through it."
    )
    oidc_issuer: StrInput = Field(description="The cluster's OIDC issuer URL (https://oidc.eks...), of the same provider.")
    storage_class: str = Field("gp3-encrypted", description="StorageClass of the Prometheus and Alertmanager volumes.")
    prometheus_retention_days: int = Field(15, ge=1, le=3650, description="How long Prometheus keeps samples.")
    prometheus_volume_gib: int = Field(50, ge=1, le=16384, description="Size of each Prometheus volume.")
    prometheus_replicas: int = Field(1, ge=1, le=3, description="Prometheus replicas (each scrapes everything).")
    alertmanager_replicas: int = Field(1, ge=1, le=5, description="Alertmanager replicas (a gossip cluster).")
    replicas: int = Field(
        2, ge=1, le=5,
        description="Replicas of the blackbox exporter and the OpenTelemetry collector. The platform passes "
                    "tier(environment).ha_replicas (dev and staging 1, prod 2). Default 2.",
    )
    alertmanager_volume_gib: int = Field(2, ge=1, le=100, description="Volume of silences and the notification log.")
    log_retention_days: int = Field(
        30, description="Retention of Fluent Bit's fallback log group (a CloudWatch Logs period). Each agent "
                        "creates its own group, /maas/<prefix>/agents/<namespace>.",
    )
    grafana_admin_secret_name: Optional[str] = Field(
        None, pattern=SECRETS_MANAGER_NAME_PATTERN,
        description="Secrets Manager secret holding JSON {\"admin-user\", \"admin-password\"}. "
                    "Default: <prefix>/observability/grafana-admin.",
    )
    seed_grafana_admin_password: bool = Field(
        True,
        description="Put a generated first value into the secret (a Pulumi secret; later values put out of band "
                    "are never overwritten). False leaves it empty: Grafana, and so the kube-prometheus-stack "
                    "release, cannot become ready until someone puts the value.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="More labels of every Kubernetes object it creates, next to app.kubernetes.io/managed-by and "
                    "maas.dev/environment: the platform's owner (maas.dev/team, maas.dev/cost-center). Default: none.",
    )
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list,
        description="What the releases need first: node groups, the Pod Identity agent, the EBS CSI driver, the "
                    "StorageClass and the External Secrets release (its CRDs). Default: none.",
    )
    protect: bool = Field(False, description="Protect releases, namespaces, the log group, the secret and its key.")

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch Logs retention period; use one of "
                             f"{', '.join(str(d) for d in LOG_RETENTION_DAYS)}")
        return value

    @property
    def role_names(self) -> dict[str, str]:
        return {
            "alertmanager": f"{self.prefix}-alertmanager",
            "grafana": f"{self.prefix}-grafana",
            "otel-collector": f"{self.prefix}-otel-collector",
            "fluent-bit": f"{self.prefix}-fluent-bit",
            "secret-sync": f"{secret_sync_role_prefix(self.prefix)}observability",
        }

    @property
    def admin_secret_name(self) -> str:
        return self.grafana_admin_secret_name or f"{self.prefix}/observability/grafana-admin"

    @model_validator(mode="after")
    def _role_names(self) -> "ObservabilityArgs":
        for purpose, role in self.role_names.items():
            if len(role) > 64:
                raise ValueError(f"prefix: IAM role name '{role}' is {len(role)} characters, the limit is 64")
            if role.startswith(f"{self.prefix}-agent-"):
                raise ValueError(f"prefix: role '{role}' would fall under the agents' role names")
        return self
