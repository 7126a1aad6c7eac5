"""The observability stack: metrics, alerts, dashboards, traces and agent logs, once per cluster.

Four pinned Helm charts, each workload that calls AWS with its own EKS Pod Identity role
(built like :class:`~.addons.ClusterAddons`: role, inline policy, association):

* **kube-prometheus-stack** in ``monitoring``: Prometheus on an encrypted volume, selecting
  PrometheusRules, ServiceMonitors, PodMonitors and Probes in *every* namespace (so the
  agents' own SLO rules, monitors and probes are picked up without carrying the release
  label); Alertmanager routing by ``severity`` (page / ticket) to SNS with SigV4, as a role
  that may only publish to those topics; Grafana whose admin credentials come from a
  Secrets Manager secret synced by External Secrets (never from Helm values), with the
  dashboards sidecar watching all namespaces and a read-only CloudWatch datasource.
* **prometheus-blackbox-exporter** in ``monitoring``: the prober the agents' ``Probe``
  objects name (module ``http_2xx``).
* **opentelemetry-collector** (contrib image) in ``monitoring``, Service ``otel-collector``:
  OTLP gRPC/HTTP in; traces to AWS X-Ray; metrics to a Prometheus exporter endpoint that
  Prometheus scrapes through a ServiceMonitor. Pull, not ``prometheusremotewrite``: the
  remote-write receiver would be an unauthenticated write endpoint into Prometheus for
  every pod of the cluster, while a scrape keeps Prometheus in charge (scrape limits,
  ``up``, one place that decides what is stored).
* **fluent-bit** as a DaemonSet: container logs of the agents' pods (pods labelled
  ``maas.dev/agent``; system namespaces are not even read) to the CloudWatch log group of
  their namespace, ``/maas/<prefix>/agents/<namespace>``. The groups are created here,
  KMS-encrypted with retention; Fluent Bit never creates groups
  (``auto_create_group Off``) and may write only below ``/maas/<prefix>/agents/``.

Pod Security. ``monitoring`` enforces ``restricted``. The two workloads that need the host,
prometheus-node-exporter (hostNetwork, hostPID, hostPath) and Fluent Bit (hostPath
``/var/log``, root to read the kubelet's 0640 log files), run in their own namespace
``monitoring-host`` that enforces ``privileged`` and warns and audits at ``restricted``,
so nothing else can quietly join them there, and ``monitoring`` (Prometheus, Grafana, the
collector, the Alertmanager that holds publish rights) never needs an exemption.
"""

from __future__ import annotations

import re
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pydantic import Field, field_validator, model_validator

from ..config.defaults import LOG_RETENTION_DAYS
from ..iam import Statement, Trust, policy_document, trust_policy
from ..tagging import platform_labels
from .addons import IAM_NAME_PATTERN, RESTRICTED_CONTAINER_SECURITY_CONTEXT
from .workloads import Chart, helm_release, workload_identity
from .base import RESTRICTED_NAMESPACE_LABELS, AccountContext, ComponentArgs, StrInput, child, encrypted_log_group
from .encryption import KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS

# -- pinned charts -----------------------------------------------------------------------

# Chart 91.5.0 (2026-09-13): release notes at github.com/prometheus-community/helm-charts/
# releases/tag/kube-prometheus-stack-91.5.0, seen in ocf/kubernetes#166 (Renovate). The
# operator: 88.0.0 moved to prometheus-operator v0.93.0 (prometheus-community/helm-charts
# #7152); 89-91 are later majors whose operator version was not verified here.
KUBE_PROMETHEUS_STACK_CHART = Chart(
    name="kube-prometheus-stack",
    version="91.5.0",
    repo="https://prometheus-community.github.io/helm-charts",
    app_version="v0.93.0",
)
# Chart 11.17.2 (2026-08-10): github.com/prometheus-community/helm-charts/releases/tag/
# prometheus-blackbox-exporter-11.17.2 (AndreiGavriliu/homelab#7159, Renovate). Blackbox
# exporter v0.27.0 since chart 11.2.0 (prometheus-community/helm-charts#5985).
BLACKBOX_EXPORTER_CHART = Chart(
    name="prometheus-blackbox-exporter",
    version="11.17.2",
    repo="https://prometheus-community.github.io/helm-charts",
    app_version="v0.27.0",
)
# Chart 0.158.3 ships collector 0.153.0: charts/opentelemetry-collector/Chart.yaml of
# open-telemetry/opentelemetry-helm-charts (version 0.158.3, appVersion 0.153.0).
OTEL_COLLECTOR_CHART = Chart(
    name="opentelemetry-collector",
    version="0.158.3",
    repo="https://open-telemetry.github.io/opentelemetry-helm-charts",
    app_version="0.153.0",
)
# Chart 0.57.5 ships Fluent Bit v5.0.5 (fluent/helm-charts#721 "Update image to v5.0.5",
# 2026-05-12; the chart bump 0.57.4 -> 0.57.5 in szinn/k8s-homelab#8119 the same day).
# The core cloudwatch_logs output reads EKS Pod Identity credentials since fluent/fluent-bit
# #10115 (2025-03, v4.0).
FLUENT_BIT_CHART = Chart(
    name="fluent-bit",
    version="0.57.5",
    repo="https://fluent.github.io/helm-charts",
    app_version="5.0.5",
)

OBSERVABILITY_CHARTS: dict[str, Chart] = {
    chart.name: chart
    for chart in (KUBE_PROMETHEUS_STACK_CHART, BLACKBOX_EXPORTER_CHART, OTEL_COLLECTOR_CHART, FLUENT_BIT_CHART)
}

# -- names -------------------------------------------------------------------------------

MONITORING_NAMESPACE = "monitoring"
# prometheus-node-exporter and Fluent Bit: the only pods that need the host.
HOST_AGENTS_NAMESPACE = "monitoring-host"
HOST_AGENTS_NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}

ALERTMANAGER_SERVICE_ACCOUNT = "alertmanager"
GRAFANA_SERVICE_ACCOUNT = "grafana"
OTEL_COLLECTOR_SERVICE_ACCOUNT = "otel-collector"
FLUENT_BIT_SERVICE_ACCOUNT = "fluent-bit"

OTEL_COLLECTOR_NAME = "otel-collector"  # fullnameOverride: the Service agents send to
OTEL_GRPC_PORT = 4317
OTEL_HTTP_PORT = 4318
OTEL_PROMETHEUS_EXPORTER_PORT = 8889
OTEL_ENDPOINT = f"http://{OTEL_COLLECTOR_NAME}.{MONITORING_NAMESPACE}.svc:{OTEL_GRPC_PORT}"
OTEL_HTTP_ENDPOINT = f"http://{OTEL_COLLECTOR_NAME}.{MONITORING_NAMESPACE}.svc:{OTEL_HTTP_PORT}"

# kube-prometheus-stack names its objects after the fullname (release name here).
PROMETHEUS_URL = f"http://{KUBE_PROMETHEUS_STACK_CHART.name}-prometheus.{MONITORING_NAMESPACE}.svc:9090"
ALERTMANAGER_URL = f"http://{KUBE_PROMETHEUS_STACK_CHART.name}-alertmanager.{MONITORING_NAMESPACE}.svc:9093"
BLACKBOX_EXPORTER_ADDRESS = f"{BLACKBOX_EXPORTER_CHART.name}.{MONITORING_NAMESPACE}.svc:9115"
BLACKBOX_HTTP_MODULE = "http_2xx"

# What the agents label their objects with for Grafana's dashboard sidecar.
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"

GRAFANA_ADMIN_SECRET = "grafana-admin"  # the Kubernetes Secret ESO writes
GRAFANA_ADMIN_USER_KEY = "admin-user"
GRAFANA_ADMIN_PASSWORD_KEY = "admin-password"
SECRET_STORE = "aws-secrets-manager"

# Container logs of these namespaces are never read by Fluent Bit.
SYSTEM_NAMESPACES = (
    "kube-system", "kube-public", "kube-node-lease", "default", MONITORING_NAMESPACE, HOST_AGENTS_NAMESPACE,
    "external-secrets", "keda", "maas-system", "amazon-cloudwatch", "cert-manager",
)
# The pod label every agent's workload carries (components.agent); Fluent Bit ships only these.
AGENT_POD_LABEL = "maas.dev/agent"

SEVERITIES = ("page", "ticket")
# Alerts of kube-prometheus-stack's own rules use critical/warning/info.
SEVERITY_MATCHERS = {"page": 'severity=~"page|critical"', "ticket": 'severity=~"ticket|warning"'}

SECRETS_MANAGER_NAME_PATTERN = r"^[A-Za-z0-9/_+=.@-]{1,512}$"
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")

# -- grants, as data -----------------------------------------------------------------------

SNS_PUBLISH = ("sns:Publish",)
# Publishing to a KMS-encrypted topic needs a data key of the topic's key.
TOPIC_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")
XRAY_WRITE = ("xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments")
LOG_SHIPPING = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
CLOUDWATCH_METRICS_READ = (
    "cloudwatch:DescribeAlarmsForMetric", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
)
CLOUDWATCH_ALARMS_READ = ("cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms")
# GetQueryResults names the log groups of the query (Service Authorization Reference), so it
# reads the agents' groups only, like StartQuery.
LOGS_READ = (
    "logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:GetLogGroupFields",
    "logs:GetQueryResults", "logs:StartQuery",
)
LOGS_QUERIES = ("logs:DescribeQueries", "logs:StopQuery")
SECRETS_READ = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")


def agent_log_group_prefix(prefix: str) -> str:
    """``/maas/<prefix>/agents/``: every agent namespace's log group lives below it."""
    return f"/maas/{prefix}/agents/"


def agent_log_group_name(prefix: str, namespace: str) -> str:
    return f"{agent_log_group_prefix(prefix)}{namespace}"


def unattributed_log_group_name(prefix: str) -> str:
    """Fluent Bit's required fallback group; '_' never occurs in a namespace name."""
    return f"{agent_log_group_prefix(prefix)}_unattributed"


def secret_sync_role_prefix(prefix: str) -> str:
    """Roles External Secrets may assume for the platform's own secrets (``ClusterAddonsArgs.platform_secret_role_prefix``)."""
    return f"{prefix}-secrets-"


def _agent_log_group_arns(account: AccountContext, prefix: str) -> tuple[str, str]:
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
    groups, streams = _agent_log_group_arns(account, prefix)
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
            resources=(account.arn("logs", "log-group:*"),),
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
    return (Statement(sid="ShipAgentLogs", actions=LOG_SHIPPING, resources=_agent_log_group_arns(account, prefix)),)


def secret_sync_statements(
    account: AccountContext, secret_arn: StrInput, key_arn: StrInput, receiver_secret_arns: tuple[StrInput, ...] = (),
) -> tuple[Statement, ...]:
    """What External Secrets may read, as this role: the Grafana admin secret, the alert
    receivers' secrets and their key."""
    return (
        Statement(sid="ReadObservabilitySecrets", actions=SECRETS_READ, resources=(secret_arn, *receiver_secret_arns)),
        Statement(
            sid="SecretKeyThroughSecretsManager",
            actions=("kms:Decrypt",),
            resources=(key_arn,),
            conditions={"StringEquals": {"kms:ViaService": account.regional_service("secretsmanager")}},
        ),
    )


# -- args -----------------------------------------------------------------------------------

class Receiver(ComponentArgs):
    """An extra Alertmanager receiver; its URL or key lives in a Secrets Manager secret the stack creates."""

    name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
    kind: str = Field(pattern="^(slack|pagerduty|webhook)$")
    severity: str = Field("all", pattern="^(page|ticket|all)$")
    channel: Optional[str] = None


# Alertmanager reads receiver credentials from files of this Kubernetes Secret (one key per receiver).
RECEIVERS_SECRET = "alertmanager-receivers"
RECEIVER_FILE_FIELD = {"slack": "api_url_file", "pagerduty": "routing_key_file", "webhook": "url_file"}


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
    external_secrets_role_arn: StrInput = Field(
        description="Role of the External Secrets controller (ClusterAddons.external_secrets_role). It alone may "
                    "assume the secret-sync role, which needs ClusterAddonsArgs.platform_secret_role_prefix "
                    "= secret_sync_role_prefix(prefix)."
    )
    storage_class: str = Field("gp3-encrypted", description="StorageClass of the Prometheus and Alertmanager volumes.")
    prometheus_retention_days: int = Field(15, ge=1, le=3650, description="How long Prometheus keeps samples.")
    prometheus_volume_gib: int = Field(50, ge=1, le=16384, description="Size of each Prometheus volume.")
    prometheus_replicas: int = Field(1, ge=1, le=3, description="Prometheus replicas (each scrapes everything).")
    alertmanager_replicas: int = Field(1, ge=1, le=5, description="Alertmanager replicas (a gossip cluster).")
    alertmanager_volume_gib: int = Field(2, ge=1, le=100, description="Volume of silences and the notification log.")
    log_retention_days: int = Field(30, description="Retention of the agents' log groups (a CloudWatch Logs period).")
    agent_namespaces: list[str] = Field(
        default_factory=list,
        description="Agent namespaces of this stack; each gets /maas/<prefix>/agents/<namespace>. Team stacks' "
                    "agents need the same group (Fluent Bit ships any agent pod's logs, by namespace).",
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
    protect: bool = Field(False, description="Protect releases, namespaces, log groups, the secret and its key.")

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch Logs retention period; use one of "
                             f"{', '.join(str(d) for d in LOG_RETENTION_DAYS)}")
        return value

    @field_validator("agent_namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        for namespace in value:
            if not _DNS_LABEL.match(namespace):
                raise ValueError(f"'{namespace}' is not a namespace name (a DNS label)")
            if namespace in SYSTEM_NAMESPACES:
                raise ValueError(f"'{namespace}' is a system namespace; its logs are never shipped")
        if len(set(value)) != len(value):
            raise ValueError("namespaces must be unique")
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
            if purpose != "secret-sync" and role.startswith(secret_sync_role_prefix(self.prefix)):
                raise ValueError(f"prefix: role '{role}' would be assumable by External Secrets")
        return self


# -- component ------------------------------------------------------------------------------

class ObservabilityStack(pulumi.ComponentResource):
    """Prometheus, Alertmanager, Grafana, the blackbox exporter, the OTel collector and Fluent Bit.

    Pass the AWS and Kubernetes providers through ``opts.providers``. Children inherit
    them and nothing else of the caller's options.
    """

    monitoring_namespace: str
    host_agents_namespace: str
    otel_endpoint: str
    prometheus_release: k8s.helm.v3.Release
    blackbox_exporter_release: k8s.helm.v3.Release
    otel_collector_release: k8s.helm.v3.Release
    fluent_bit_release: k8s.helm.v3.Release
    alertmanager_role: aws.iam.Role
    grafana_role: aws.iam.Role
    otel_collector_role: aws.iam.Role
    fluent_bit_role: aws.iam.Role
    secret_sync_role: aws.iam.Role
    log_groups: dict[str, aws.cloudwatch.LogGroup]
    unattributed_log_group: aws.cloudwatch.LogGroup
    grafana_admin_secret: aws.secretsmanager.Secret
    pod_identity_associations: dict[str, aws.eks.PodIdentityAssociation]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maas:observability:ObservabilityStack", name, None, opts)
        self.args = args
        self.monitoring_namespace = MONITORING_NAMESPACE
        self.host_agents_namespace = HOST_AGENTS_NAMESPACE
        self.otel_endpoint = OTEL_ENDPOINT
        self.otel_http_endpoint = OTEL_HTTP_ENDPOINT
        self.prometheus_url = PROMETHEUS_URL
        self.alertmanager_url = ALERTMANAGER_URL
        self.blackbox_exporter_address = BLACKBOX_EXPORTER_ADDRESS
        self.pod_identity_associations = {}
        roles = args.role_names
        labels = {**args.labels, **platform_labels(args.environment)}
        self.labels = labels

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-monitoring-namespace",
            metadata={"name": MONITORING_NAMESPACE, "labels": {**labels, **RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self, protect=args.protect),
        )
        self.host_namespace = k8s.core.v1.Namespace(
            f"{name}-host-namespace",
            metadata={"name": HOST_AGENTS_NAMESPACE, "labels": {**labels, **HOST_AGENTS_NAMESPACE_LABELS}},
            opts=child(self, protect=args.protect),
        )

        # Log groups first: Fluent Bit may write to them, never create them.
        self.log_groups = {
            namespace: encrypted_log_group(
                self, f"{name}-logs-{namespace}", agent_log_group_name(args.prefix, namespace),
                retention_days=args.log_retention_days, key_arn=args.logs_key_arn, protect=args.protect,
            )
            for namespace in args.agent_namespaces
        }
        self.unattributed_log_group = encrypted_log_group(
            self, f"{name}-logs-unattributed", unattributed_log_group_name(args.prefix),
            retention_days=args.log_retention_days, key_arn=args.logs_key_arn, protect=args.protect,
        )

        # -- identities
        page_topics = list(args.page_topic_arns) or [args.alert_topic_arn]
        ticket_topics = list(args.ticket_topic_arns) or [args.alert_topic_arn]
        self.alertmanager_role, alertmanager_identity = self._identity(
            name, "alertmanager", role_name=roles["alertmanager"], namespace=MONITORING_NAMESPACE,
            service_account=ALERTMANAGER_SERVICE_ACCOUNT,
            statements=alertmanager_statements(args.account, _unique(page_topics + ticket_topics), args.alert_key_arn),
            description="Alertmanager: publishes alerts to the alert topics only (Pod Identity)",
        )
        self.grafana_role, grafana_identity = self._identity(
            name, "grafana", role_name=roles["grafana"], namespace=MONITORING_NAMESPACE,
            service_account=GRAFANA_SERVICE_ACCOUNT, statements=grafana_statements(args.account, args.prefix),
            description="Grafana: reads CloudWatch metrics and the agents' logs (Pod Identity)",
        )
        self.otel_collector_role, otel_identity = self._identity(
            name, "otel-collector", role_name=roles["otel-collector"], namespace=MONITORING_NAMESPACE,
            service_account=OTEL_COLLECTOR_SERVICE_ACCOUNT, statements=otel_collector_statements(),
            description="OpenTelemetry collector: writes traces to X-Ray (Pod Identity)",
        )
        self.fluent_bit_role, fluent_bit_identity = self._identity(
            name, "fluent-bit", role_name=roles["fluent-bit"], namespace=HOST_AGENTS_NAMESPACE,
            service_account=FLUENT_BIT_SERVICE_ACCOUNT, statements=fluent_bit_statements(args.account, args.prefix),
            description="Fluent Bit: ships agent container logs to their log groups (Pod Identity)",
        )

        # -- Grafana admin credentials: Secrets Manager -> External Secrets -> Secret
        admin_secret_sync = self._grafana_admin_secret(name, roles["secret-sync"])

        # -- releases
        self.prometheus_release = self._release(
            name, KUBE_PROMETHEUS_STACK_CHART, namespace=self.namespace.metadata.name,
            values=self._kube_prometheus_stack_values(page_topics, ticket_topics),
            depends_on=[self.host_namespace, alertmanager_identity, grafana_identity, admin_secret_sync],
        )
        # Each of the others creates a ServiceMonitor, whose CRD comes with kube-prometheus-stack.
        self.blackbox_exporter_release = self._release(
            name, BLACKBOX_EXPORTER_CHART, namespace=self.namespace.metadata.name,
            values=self._blackbox_exporter_values(), depends_on=[self.prometheus_release],
        )
        self.otel_collector_release = self._release(
            name, OTEL_COLLECTOR_CHART, namespace=self.namespace.metadata.name,
            values=self._otel_collector_values(), depends_on=[self.prometheus_release, otel_identity],
        )
        self.fluent_bit_release = self._release(
            name, FLUENT_BIT_CHART, namespace=self.host_namespace.metadata.name,
            values=self._fluent_bit_values(),
            depends_on=[self.prometheus_release, fluent_bit_identity, *self.log_groups.values(),
                        self.unattributed_log_group],
        )

        self.register_outputs({
            "monitoring_namespace": MONITORING_NAMESPACE,
            "otel_endpoint": OTEL_ENDPOINT,
            "prometheus_url": PROMETHEUS_URL,
            "alertmanager_role_arn": self.alertmanager_role.arn,
            "grafana_role_arn": self.grafana_role.arn,
            "otel_collector_role_arn": self.otel_collector_role.arn,
            "fluent_bit_role_arn": self.fluent_bit_role.arn,
            "grafana_admin_secret_arn": self.grafana_admin_secret.arn,
            "log_group_names": {ns: group.name for ns, group in self.log_groups.items()},
        })

    def outputs(self) -> dict[str, pulumi.Input]:
        """What agents (and team stacks, through the platform's outputs) need to know."""
        return {
            "monitoring_namespace": MONITORING_NAMESPACE,
            "otel_endpoint": OTEL_ENDPOINT,
            "otel_http_endpoint": OTEL_HTTP_ENDPOINT,
            "prometheus_url": PROMETHEUS_URL,
            "alertmanager_url": ALERTMANAGER_URL,
            "blackbox_exporter_address": BLACKBOX_EXPORTER_ADDRESS,
            "blackbox_http_module": BLACKBOX_HTTP_MODULE,
            "dashboard_label": {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            "agent_log_group_prefix": agent_log_group_prefix(self.args.prefix),
            "agent_log_group_arns": {ns: group.arn for ns, group in self.log_groups.items()},
            "grafana_admin_secret_arn": self.grafana_admin_secret.arn,
        }

    # -- identities ------------------------------------------------------------------------

    def _identity(
        self, name: str, workload: str, *, role_name: str, namespace: str, service_account: str,
        statements: tuple[Statement, ...], description: str,
    ) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
        args = self.args
        role, association = workload_identity(
            self, f"{name}-{workload}", account=args.account, cluster_name=args.cluster_name,
            cluster_arn=args.cluster_arn, role_name=role_name, namespace=namespace, service_account=service_account,
            statements=statements, description=description,
        )
        self.pod_identity_associations[workload] = association
        return role, association

    # -- secrets ---------------------------------------------------------------------------

    def _grafana_admin_secret(self, name: str, role_name: str) -> pulumi.Resource:
        """The admin credentials live in Secrets Manager; External Secrets copies them into
        ``monitoring`` as a role only it may assume, which may read only this secret."""
        args, account = self.args, self.args.account
        key_arn: pulumi.Input[str]
        if args.secrets_key_arn is not None:
            key_arn = args.secrets_key_arn
        else:
            key = aws.kms.Key(
                f"{name}-secrets-key",
                description=f"{args.prefix}: secrets of the observability stack",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=30 if args.protect else 7,
                policy=policy_document(
                    Statement(sid="RootAdministersKey", principals={"AWS": account.root_principal},
                              actions=KEY_ADMIN_ACTIONS, resources=("*",)),
                    Statement(
                        sid="UseOnlyThroughSecretsManager",
                        principals={"AWS": account.root_principal},
                        actions=KEY_USE_ACTIONS + ("kms:CreateGrant",),
                        resources=("*",),
                        conditions={"StringEquals": {
                            "kms:CallerAccount": account.account_id,
                            "kms:ViaService": account.regional_service("secretsmanager"),
                        }},
                    ),
                ),
                opts=child(self, protect=args.protect),
            )
            aws.kms.Alias(f"{name}-secrets-key-alias", name=f"alias/{args.prefix}-observability",
                          target_key_id=key.key_id, opts=child(self))
            key_arn = key.arn
        self.secrets_key_arn = key_arn

        self.grafana_admin_secret = aws.secretsmanager.Secret(
            f"{name}-grafana-admin",
            name=args.admin_secret_name,
            description=f"Grafana admin of {args.prefix}: JSON with keys {GRAFANA_ADMIN_USER_KEY}, "
                        f"{GRAFANA_ADMIN_PASSWORD_KEY}. Synced into {MONITORING_NAMESPACE}/{GRAFANA_ADMIN_SECRET}.",
            kms_key_id=key_arn,
            recovery_window_in_days=30 if args.protect else 7,
            opts=child(self, protect=args.protect),
        )
        seeded: list[pulumi.Resource] = []
        if args.seed_grafana_admin_password:
            password = random.RandomPassword(
                f"{name}-grafana-admin-password", length=32, special=False, opts=child(self),
            ).result.apply(pulumi.Output.secret)
            seeded.append(aws.secretsmanager.SecretVersion(
                f"{name}-grafana-admin-value",
                secret_id=self.grafana_admin_secret.id,
                secret_string=pulumi.Output.json_dumps(
                    {GRAFANA_ADMIN_USER_KEY: "admin", GRAFANA_ADMIN_PASSWORD_KEY: password}
                ),
                # Rotated out of band from then on; Pulumi never writes it back.
                opts=child(self, ignore_changes=["secret_string"]),
            ))

        self.secret_sync_role = aws.iam.Role(
            f"{name}-secret-sync-role",
            name=role_name,
            description="External Secrets reads the observability stack's secrets as this role",
            assume_role_policy=trust_policy(Trust(
                sid="ExternalSecretsOnly",
                principal={"AWS": args.external_secrets_role_arn},
                actions=("sts:AssumeRole", "sts:TagSession"),  # Pod Identity session tags are transitive
            )),
            max_session_duration=3600,
            opts=child(self),
        )
        self.receiver_secrets = {
            receiver.name: aws.secretsmanager.Secret(
                f"{name}-receiver-{receiver.name}",
                name=f"{args.prefix}/observability/receivers/{receiver.name}",
                description=f"Alertmanager receiver {receiver.name} ({receiver.kind}): the bare URL or key, "
                            "put with put-secret-value",
                kms_key_id=key_arn,
                recovery_window_in_days=30 if args.protect else 7,
                opts=child(self, protect=args.protect),
            )
            for receiver in args.receivers
        }
        sync_policy = aws.iam.RolePolicy(
            f"{name}-secret-sync-policy",
            role=self.secret_sync_role.id,
            policy=policy_document(*secret_sync_statements(
                account, self.grafana_admin_secret.arn, key_arn,
                tuple(secret.arn for secret in self.receiver_secrets.values()),
            )),
            opts=child(self),
        )
        store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata={"name": SECRET_STORE, "namespace": MONITORING_NAMESPACE,
                      "labels": self.labels},
            spec={"provider": {"aws": {
                "service": "SecretsManager",
                "region": account.region,
                "role": self.secret_sync_role.arn,
            }}},
            opts=child(self, depends_on=[self.namespace, sync_policy, *args.wait_for]),
        )
        if self.receiver_secrets:
            seeded.append(k8s.apiextensions.CustomResource(
                f"{name}-receivers-sync",
                api_version="external-secrets.io/v1",
                kind="ExternalSecret",
                metadata={"name": RECEIVERS_SECRET, "namespace": MONITORING_NAMESPACE,
                          "labels": self.labels},
                spec={
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": SECRET_STORE, "kind": "SecretStore"},
                    "target": {"name": RECEIVERS_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                    "data": [{"secretKey": receiver, "remoteRef": {"key": secret.name}}
                             for receiver, secret in self.receiver_secrets.items()],
                },
                opts=child(self, depends_on=[store]),
            ))
        return k8s.apiextensions.CustomResource(
            f"{name}-grafana-admin-sync",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": MONITORING_NAMESPACE,
                      "labels": self.labels},
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"name": SECRET_STORE, "kind": "SecretStore"},
                "target": {"name": GRAFANA_ADMIN_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                "data": [
                    {"secretKey": key, "remoteRef": {"key": self.grafana_admin_secret.name, "property": key}}
                    for key in (GRAFANA_ADMIN_USER_KEY, GRAFANA_ADMIN_PASSWORD_KEY)
                ],
            },
            opts=child(self, depends_on=[store, *seeded]),
        )

    # -- releases --------------------------------------------------------------------------

    def _release(
        self, name: str, chart: Chart, *, namespace: pulumi.Input[str], values: dict,
        depends_on: list[pulumi.Resource],
    ) -> k8s.helm.v3.Release:
        return helm_release(self, f"{name}-{chart.name}", chart, namespace=namespace, values=values,
                            depends_on=[*depends_on, *self.args.wait_for], protect=self.args.protect)

    def _kube_prometheus_stack_values(self, page_topics: list[StrInput], ticket_topics: list[StrInput]) -> dict:
        """Value keys as in the chart's values.yaml (prometheus, alertmanager, grafana,
        prometheus-node-exporter, kube*); the grafana keys are the grafana subchart's."""
        args = self.args
        pod_security = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000,
                        "seccompProfile": {"type": "RuntimeDefault"}}
        volume = lambda gib: {"volumeClaimTemplate": {"spec": {  # noqa: E731
            "storageClassName": args.storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        }}}
        return {
            "fullnameOverride": KUBE_PROMETHEUS_STACK_CHART.name,
            "crds": {"enabled": True},
            # EKS runs the control plane: etcd, the scheduler, the controller manager and
            # kube-proxy's metrics (bound to 127.0.0.1) cannot be scraped; their rules would
            # fire forever.
            "kubeEtcd": {"enabled": False},
            "kubeScheduler": {"enabled": False},
            "kubeControllerManager": {"enabled": False},
            "kubeProxy": {"enabled": False},
            "defaultRules": {"create": True, "rules": {
                "etcd": False, "kubeSchedulerAlerting": False, "kubeSchedulerRecording": False,
                "kubeControllerManager": False, "kubeProxy": False, "windows": False,
            }},
            "prometheus": {
                "podDisruptionBudget": {"enabled": args.prometheus_replicas > 1, "minAvailable": 1},
                "prometheusSpec": {
                    "replicas": args.prometheus_replicas,
                    "retention": f"{args.prometheus_retention_days}d",
                    # Keep headroom on the volume: Prometheus drops old blocks before the disk fills.
                    "retentionSize": f"{max(1, int(args.prometheus_volume_gib * 0.85))}GB",
                    "storageSpec": volume(args.prometheus_volume_gib),
                    # Select every rule, monitor and probe of every namespace, not only the release's.
                    "ruleSelectorNilUsesHelmValues": False,
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "probeSelectorNilUsesHelmValues": False,
                    "ruleSelector": {},
                    "serviceMonitorSelector": {},
                    "podMonitorSelector": {},
                    "probeSelector": {},
                    "ruleNamespaceSelector": {},
                    "serviceMonitorNamespaceSelector": {},
                    "podMonitorNamespaceSelector": {},
                    "probeNamespaceSelector": {},
                    "externalLabels": {"environment": args.environment, "platform": args.prefix},
                    "securityContext": pod_security,
                    "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
                },
            },
            "alertmanager": {
                "serviceAccount": {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT},
                "podDisruptionBudget": {"enabled": args.alertmanager_replicas > 1, "minAvailable": 1},
                "config": self._alertmanager_config(page_topics, ticket_topics),
                "alertmanagerSpec": {
                    # Mounted at /etc/alertmanager/secrets/<name>/: the receivers' URLs and keys.
                    "secrets": [RECEIVERS_SECRET] if args.receivers else [],
                    "replicas": args.alertmanager_replicas,
                    "storage": volume(args.alertmanager_volume_gib),
                    "securityContext": pod_security,
                    "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                },
            },
            "grafana": {
                "serviceAccount": {"create": True, "name": GRAFANA_SERVICE_ACCOUNT},
                # The ESO-synced Secret; no password is ever in these values.
                "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": GRAFANA_ADMIN_USER_KEY,
                          "passwordKey": GRAFANA_ADMIN_PASSWORD_KEY},
                "persistence": {"enabled": False},  # dashboards and datasources are provisioned
                "testFramework": {"enabled": False},
                "sidecar": {"dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": DASHBOARD_LABEL_VALUE,
                    "searchNamespace": "ALL",
                }},
                "additionalDataSources": [{
                    "name": "CloudWatch",
                    "uid": "cloudwatch",
                    "type": "cloudwatch",
                    "access": "proxy",
                    "editable": False,
                    # "default": the SDK chain, i.e. Grafana's Pod Identity credentials.
                    "jsonData": {"authType": "default", "defaultRegion": args.account.region},
                }],
                "grafana.ini": {
                    "analytics": {"check_for_updates": False, "reporting_enabled": False},
                    "users": {"allow_sign_up": False},
                    "auth.anonymous": {"enabled": False},
                },
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
            },
            # hostNetwork/hostPID/hostPath: the privileged namespace, not `monitoring`.
            "prometheus-node-exporter": {"namespaceOverride": HOST_AGENTS_NAMESPACE},
        }

    def _alertmanager_config(self, page_topics: list[StrInput], ticket_topics: list[StrInput]) -> dict:
        """Route by severity: page (page/critical) and ticket (ticket/warning, and anything
        unlabelled) to SNS, signed with SigV4 by Alertmanager's Pod Identity credentials."""
        args = self.args

        def sns(topic: StrInput, severity: str) -> dict:
            return {
                "topic_arn": topic,
                "sigv4": {"region": args.account.region},
                "send_resolved": True,
                "attributes": {"severity": severity, "environment": args.environment},
            }

        return {
            "global": {"resolve_timeout": "5m"},
            "route": {
                "receiver": "ticket",
                "group_by": ["alertname", "namespace"],
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "12h",
                "routes": [
                    {"receiver": "null", "matchers": ['alertname=~"Watchdog|InfoInhibitor"']},
                    {"receiver": "page", "matchers": [SEVERITY_MATCHERS["page"]], "group_wait": "10s",
                     "repeat_interval": "1h"},
                    {"receiver": "ticket", "matchers": [SEVERITY_MATCHERS["ticket"]]},
                    {"receiver": "null", "matchers": ['severity="info"']},
                ],
            },
            "inhibit_rules": [
                {"source_matchers": [SEVERITY_MATCHERS["page"]], "target_matchers": [SEVERITY_MATCHERS["ticket"]],
                 "equal": ["namespace", "alertname"]},
            ],
            "receivers": [
                {"name": "null"},
                {"name": "page", "sns_configs": [sns(t, "page") for t in page_topics], **self._extra_receivers("page")},
                {"name": "ticket", "sns_configs": [sns(t, "ticket") for t in ticket_topics],
                 **self._extra_receivers("ticket")},
            ],
            "templates": ["/etc/alertmanager/config/*.tmpl"],
        }

    def _extra_receivers(self, severity: str) -> dict[str, list[dict]]:
        """Slack/PagerDuty/webhook configs of one severity's receiver, reading their secret from a file."""
        configs: dict[str, list[dict]] = {}
        for receiver in self.args.receivers:
            if receiver.severity not in (severity, "all"):
                continue
            config: dict = {RECEIVER_FILE_FIELD[receiver.kind]: f"/etc/alertmanager/secrets/{RECEIVERS_SECRET}/{receiver.name}",
                            "send_resolved": True}
            if receiver.kind == "slack" and receiver.channel:
                config["channel"] = receiver.channel
            configs.setdefault(f"{receiver.kind}_configs", []).append(config)
        return configs

    @staticmethod
    def _blackbox_exporter_values() -> dict:
        return {
            "replicas": 2,
            "podDisruptionBudget": {"maxUnavailable": 1},
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {**RESTRICTED_CONTAINER_SECURITY_CONTEXT, "runAsUser": 1000, "runAsGroup": 1000},
            "config": {"modules": {BLACKBOX_HTTP_MODULE: {
                "prober": "http",
                "timeout": "5s",
                "http": {
                    "valid_http_versions": ["HTTP/1.1", "HTTP/2.0"],
                    "valid_status_codes": [],  # empty: any 2xx
                    "follow_redirects": True,
                    "preferred_ip_protocol": "ip4",
                },
            }}},
            "serviceMonitor": {"selfMonitor": {"enabled": True}},
            "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        }

    def _otel_collector_values(self) -> dict:
        region = self.args.account.region
        pod_ip = "${env:MY_POD_IP}"
        processors = ["memory_limiter", "k8sattributes", "batch"]
        disabled = {"enabled": False}
        return {
            "mode": "deployment",
            "fullnameOverride": OTEL_COLLECTOR_NAME,
            "replicaCount": 2,
            "image": {"repository": "otel/opentelemetry-collector-contrib"},
            "command": {"name": "otelcol-contrib"},
            "serviceAccount": {"create": True, "name": OTEL_COLLECTOR_SERVICE_ACCOUNT},
            "presets": {"kubernetesAttributes": {"enabled": True}},
            "ports": {
                "otlp": {"enabled": True},
                "otlp-http": {"enabled": True},
                "jaeger-compact": disabled,
                "jaeger-thrift": disabled,
                "jaeger-grpc": disabled,
                "zipkin": disabled,
                "metrics": {"enabled": True},  # the collector's own telemetry, :8888
                "prom-exporter": {"enabled": True, "containerPort": OTEL_PROMETHEUS_EXPORTER_PORT,
                                  "servicePort": OTEL_PROMETHEUS_EXPORTER_PORT, "protocol": "TCP"},
            },
            "config": {
                "receivers": {
                    "jaeger": None,
                    "zipkin": None,
                    "prometheus": None,
                    "otlp": {"protocols": {
                        "grpc": {"endpoint": f"{pod_ip}:{OTEL_GRPC_PORT}"},
                        "http": {"endpoint": f"{pod_ip}:{OTEL_HTTP_PORT}"},
                    }},
                },
                "processors": {
                    "batch": {},
                    "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
                },
                "exporters": {
                    "awsxray": {"region": region},
                    "prometheus": {
                        "endpoint": f"{pod_ip}:{OTEL_PROMETHEUS_EXPORTER_PORT}",
                        # Resource attributes stay in target_info; as labels they would multiply series.
                        "resource_to_telemetry_conversion": {"enabled": False},
                    },
                },
                "service": {"pipelines": {
                    "traces": {"receivers": ["otlp"], "processors": processors, "exporters": ["awsxray"]},
                    "metrics": {"receivers": ["otlp"], "processors": processors, "exporters": ["prometheus"]},
                    "logs": None,  # logs go through Fluent Bit
                }},
            },
            "serviceMonitor": {
                "enabled": True,
                "metricsEndpoints": [
                    {"port": "metrics", "interval": "30s"},
                    # service.name / service.instance.id arrive as job / instance: keep them.
                    {"port": "prom-exporter", "interval": "30s", "honorLabels": True},
                ],
            },
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                   "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT),
            "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        }

    def _fluent_bit_values(self) -> dict:
        """Keys as in the chart's values.yaml; the [SERVICE] section stays the chart's."""
        return {
            "kind": "DaemonSet",
            "fullnameOverride": FLUENT_BIT_CHART.name,
            "serviceAccount": {"create": True, "name": FLUENT_BIT_SERVICE_ACCOUNT},
            "rbac": {"create": True, "nodeAccess": False},
            "testFramework": {"enabled": False},
            "image": {"pullPolicy": "IfNotPresent"},
            # Root only to read the kubelet's 0640 log files; nothing else beyond restricted.
            "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {
                "runAsUser": 0,
                "runAsNonRoot": False,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "tolerations": [{"operator": "Exists"}],  # every node that runs agents
            "daemonSetVolumes": [
                {"name": "varlog", "hostPath": {"path": "/var/log"}},
                {"name": "state", "hostPath": {"path": "/var/fluent-bit/state", "type": "DirectoryOrCreate"}},
            ],
            "daemonSetVolumeMounts": [
                {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
                {"name": "state", "mountPath": "/var/fluent-bit/state"},
            ],
            "config": fluent_bit_pipeline(self.args.prefix, self.args.account.region),
            "serviceMonitor": {"enabled": True},
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        }


def fluent_bit_pipeline(prefix: str, region: str) -> dict[str, str]:
    """Fluent Bit's inputs, filters and outputs (classic config, the chart's ``config.*``).

    Only agents' pods are shipped: system namespaces are excluded at the file level, and
    what is left must carry the ``maas.dev/agent`` pod label. Each record goes to the log
    group of its namespace; a record whose namespace is unknown goes to the fallback
    group, which exists, so nothing is ever created by Fluent Bit.
    """
    excluded = ",".join(f"/var/log/containers/*_{ns}_*.log" for ns in SYSTEM_NAMESPACES)
    inputs = "\n".join([
        "[INPUT]",
        "    Name tail",
        "    Tag kube.*",
        "    Path /var/log/containers/*.log",
        f"    Exclude_Path {excluded}",
        "    multiline.parser docker, cri",
        "    DB /var/fluent-bit/state/flb_kube.db",
        "    Mem_Buf_Limit 50MB",
        "    Skip_Long_Lines On",
        "    Refresh_Interval 10",
        "",
    ])
    filters = "\n".join([
        "[FILTER]",
        "    Name kubernetes",
        "    Match kube.*",
        "    Merge_Log On",
        "    Keep_Log Off",
        "    Labels On",
        "    Annotations Off",
        # Agents cannot opt out of shipping or pick parsers by annotation.
        "    K8S-Logging.Parser Off",
        "    K8S-Logging.Exclude Off",
        "",
        "[FILTER]",
        "    Name grep",
        "    Match kube.*",
        f"    Regex $kubernetes['labels']['{AGENT_POD_LABEL}'] ^.+$",
        "",
    ])
    outputs = "\n".join([
        "[OUTPUT]",
        "    Name cloudwatch_logs",
        "    Match kube.*",
        f"    region {region}",
        f"    log_group_name {unattributed_log_group_name(prefix)}",
        f"    log_group_template {agent_log_group_prefix(prefix)}$kubernetes['namespace_name']",
        "    log_stream_prefix pod.",
        "    log_stream_template $kubernetes['pod_name'].$kubernetes['container_name']",
        "    auto_create_group Off",
        "    Retry_Limit 5",
        "",
    ])
    return {"inputs": inputs, "filters": filters, "outputs": outputs}


def _unique(values: list[StrInput]) -> list[StrInput]:
    """Drop repeats: equal strings, or the same Output object (Outputs cannot be compared
    before they resolve; the policy renderer drops equal ARNs again once they do)."""
    seen: set = set()
    out: list[StrInput] = []
    for value in values:
        key = value if isinstance(value, str) else id(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


__all__ = [
    "OBSERVABILITY_CHARTS", "ObservabilityArgs", "ObservabilityStack", "OTEL_ENDPOINT", "MONITORING_NAMESPACE",
    "agent_log_group_name", "secret_sync_role_prefix", "fluent_bit_pipeline",
]
