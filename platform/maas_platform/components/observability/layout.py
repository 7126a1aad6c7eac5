"""Where the observability stack puts things: its namespaces' labels, its service accounts and
Secrets, the agents' log groups and the name of its secret-sync role.

Names other modules also use (the namespaces, the collector's and Prometheus' addresses, the
SecretStore, the agent label) live in :mod:`maas_platform.names`; these are the stack's own.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from ... import names

# prometheus-node-exporter and Fluent Bit need the host: their namespace enforces
# ``privileged`` but still warns and audits at ``restricted``.
HOST_AGENTS_NAMESPACE_LABELS: Mapping[str, str] = MappingProxyType({
    names.PSS_ENFORCE: "privileged",
    names.PSS_AUDIT: "restricted",
    names.PSS_WARN: "restricted",
})

ALERTMANAGER_SERVICE_ACCOUNT = "alertmanager"
GRAFANA_SERVICE_ACCOUNT = "grafana"
OTEL_COLLECTOR_SERVICE_ACCOUNT = "otel-collector"
FLUENT_BIT_SERVICE_ACCOUNT = "fluent-bit"

OTEL_PROMETHEUS_EXPORTER_PORT = 8889

# The labels prometheus-operator puts on the pods of the Prometheus named
# "<kube-prometheus-stack>-prometheus" (the chart's prometheus.crname while
# cleanPrometheusOperatorObjectNames stays false, its default at kube-prometheus-stack-88.5.3).
# prometheus-operator v0.93.0 pkg/prometheus/server/statefulset_test.go, expectedPodLabels:
# app.kubernetes.io/name "prometheus", operator.prometheus.io/name <the Prometheus's name>.
# Checked on 2026-12-03.
PROMETHEUS_POD_LABELS: Mapping[str, str] = MappingProxyType({
    names.NAME_LABEL: "prometheus",
    "operator.prometheus.io/name": f"{names.KUBE_PROMETHEUS_STACK}-prometheus",
})
# The Pushgateway writes what it holds to this file of its pod's emptyDir (the chart mounts the
# volume at persistentVolume.mountPath, /data by default at prometheus-pushgateway-3.8.0), through
# a temporary file in the same directory (pushgateway v1.11.3 storage/diskmetricstore.go, persist).
PUSHGATEWAY_DATA_DIR = "/data"
PUSHGATEWAY_PERSISTENCE_FILE = f"{PUSHGATEWAY_DATA_DIR}/pushgateway.data"
# The image runs as nobody (prometheus/pushgateway v1.11.3 Dockerfile: USER 65534).
PUSHGATEWAY_USER = 65534

GRAFANA_ADMIN_SECRET = "grafana-admin"  # the Kubernetes Secret ESO writes
GRAFANA_ADMIN_USER_KEY = "admin-user"
GRAFANA_ADMIN_PASSWORD_KEY = "admin-password"

# Alertmanager reads receiver credentials from files of this Kubernetes Secret (one key per
# receiver), mounted as an optional volume: the pod starts before External Secrets has written it.
RECEIVERS_SECRET = "alertmanager-receivers"
RECEIVERS_VOLUME = "receivers"
RECEIVERS_MOUNT_PATH = "/etc/alertmanager/receivers"
# pulumi-kubernetes does not await the readiness of an object annotated with this set to "true"
# (its CHANGELOG, 4.18.0, which added generic await behind PULUMI_K8S_AWAIT_ALL: the annotation
# "still takes precedence" over pulumi.com/waitFor). Checked on 2026-12-02, snapshot 9497796.
PULUMI_SKIP_AWAIT = "pulumi.com/skipAwait"
RECEIVER_FILE_FIELD: Mapping[str, str] = MappingProxyType(
    {"slack": "api_url_file", "pagerduty": "routing_key_file", "webhook": "url_file"}
)

# Container logs of these namespaces are never read by Fluent Bit.
SYSTEM_NAMESPACES = (
    names.KUBE_SYSTEM_NAMESPACE, "kube-public", "kube-node-lease", "default", names.MONITORING_NAMESPACE,
    names.HOST_AGENTS_NAMESPACE, names.EXTERNAL_SECRETS_NAMESPACE, names.KEDA_NAMESPACE, names.SYSTEM_NAMESPACE,
    names.CLOUDWATCH_NAMESPACE, names.CERT_MANAGER_NAMESPACE,
)

SEVERITIES = ("page", "ticket")
# Alerts of kube-prometheus-stack's own rules use critical/warning/info.
SEVERITY_MATCHERS: Mapping[str, str] = MappingProxyType(
    {"page": 'severity=~"page|critical"', "ticket": 'severity=~"ticket|warning"'}
)


def agent_namespaces() -> dict[str, Any]:
    """A namespaceSelector of every agent namespace, a fresh dict each call. Every agent's Namespace
    carries maas.dev/agent (components/agent), and a team user may create a Namespace only under a
    registered agent's name (the platform's admission policy)."""
    return {"matchExpressions": [{"key": names.AGENT_LABEL, "operator": "Exists"}]}


def agent_log_group_prefix(prefix: str) -> str:
    """``/maas/<prefix>/agents/``: every agent namespace's log group lives below it."""
    return f"/maas/{prefix}/agents/"


def agent_log_group_name(prefix: str, namespace: str) -> str:
    return f"{agent_log_group_prefix(prefix)}{namespace}"


def unattributed_log_group_name(prefix: str) -> str:
    """Fluent Bit's required fallback group; '_' never occurs in a namespace name."""
    return f"{agent_log_group_prefix(prefix)}_unattributed"


def secret_sync_role_prefix(prefix: str) -> str:
    """Name prefix of the platform's own secret-sync roles (``<prefix>-secrets-observability``)."""
    return f"{prefix}-secrets-"
