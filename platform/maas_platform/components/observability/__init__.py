"""The observability stack: metrics, alerts, dashboards, traces and agent logs, once per cluster.

Five pinned Helm charts, each workload that calls AWS with its own EKS Pod Identity role
(built like :class:`~..addons.ClusterAddons`: role, inline policy, association):

* **kube-prometheus-stack** in ``monitoring``: Prometheus on an encrypted volume, selecting
  PrometheusRules, ServiceMonitors, PodMonitors and Probes in *every* namespace (so the
  agents' own SLO rules, monitors and probes are picked up without carrying the release
  label); Alertmanager routing by ``severity`` (page / ticket) to SNS with SigV4, as a role
  that may only publish to those topics; Grafana whose admin credentials come from a
  Secrets Manager secret synced by External Secrets (never from Helm values), with the
  dashboards sidecar watching all namespaces and a read-only CloudWatch datasource.
* **prometheus-blackbox-exporter** in ``monitoring``: the prober the agents' ``Probe``
  objects name (module ``http_2xx``).
* **prometheus-pushgateway** in ``monitoring``, Service ``prometheus-pushgateway``: where the
  golden-set probes (``maas-probe``, a run every few minutes, gone before any scrape) push each
  run's gauges; Prometheus scrapes it keeping the pushed ``job`` and ``agent``.
  Only probe pods of agent namespaces may push, and only Prometheus may read.
* **opentelemetry-collector** (contrib image) in ``monitoring``, Service ``otel-collector``:
  OTLP gRPC/HTTP in; traces to AWS X-Ray; metrics to a Prometheus exporter endpoint that
  Prometheus scrapes through a ServiceMonitor. Pull, not ``prometheusremotewrite``: the
  remote-write receiver would be an unauthenticated write endpoint into Prometheus for
  every pod of the cluster, while a scrape keeps Prometheus in charge (scrape limits,
  ``up``, one place that decides what is stored).
* **fluent-bit** as a DaemonSet: container logs of the agents' pods (pods labelled
  ``maas.dev/agent``; system namespaces are not even read) to the CloudWatch log group of
  their namespace, ``/maas/<prefix>/agents/<namespace>``. Each agent creates its own group
  (KMS-encrypted, with retention); this stack creates only the fallback group for records
  whose namespace is unknown. Fluent Bit never creates groups (``auto_create_group Off``)
  and may write only below ``/maas/<prefix>/agents/``.

Pod Security. ``monitoring`` enforces ``restricted``. The two workloads that need the host,
prometheus-node-exporter (hostNetwork, hostPID, hostPath) and Fluent Bit (hostPath
``/var/log``, root to read the kubelet's 0640 log files), run in their own namespace
``monitoring-host`` that enforces ``privileged`` and warns and audits at ``restricted``,
so nothing else can quietly join them there, and ``monitoring`` (Prometheus, Grafana, the
collector, the Alertmanager that holds publish rights) never needs an exemption.

The parts: :mod:`.charts` (the pins), :mod:`.layout` (the stack's own names), :mod:`.iam`
(what each workload may do), :mod:`.values` (the Helm values, pure functions), :mod:`.args`
and :mod:`.stack` (the component).
"""

from .args import ObservabilityArgs, Receiver
from .charts import (
    BLACKBOX_EXPORTER_CHART,
    FLUENT_BIT_CHART,
    KUBE_PROMETHEUS_STACK_CHART,
    OBSERVABILITY_CHARTS,
    OTEL_COLLECTOR_CHART,
    PUSHGATEWAY_CHART,
)
from .iam import (
    alertmanager_statements,
    fluent_bit_statements,
    grafana_statements,
    otel_collector_statements,
    secret_sync_statements,
)
from .layout import (
    ALERTMANAGER_SERVICE_ACCOUNT,
    FLUENT_BIT_SERVICE_ACCOUNT,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_SERVICE_ACCOUNT,
    OTEL_COLLECTOR_SERVICE_ACCOUNT,
    SYSTEM_NAMESPACES,
    agent_log_group_name,
    agent_log_group_prefix,
    secret_sync_role_prefix,
    unattributed_log_group_name,
)
from .stack import ObservabilityStack
from .values import (
    alertmanager_config,
    blackbox_exporter_values,
    fluent_bit_pipeline,
    fluent_bit_values,
    kube_prometheus_stack_values,
    otel_collector_removed_defaults,
    otel_collector_values,
    persistent_volume_claim_retention,
    pushgateway_clients,
    pushgateway_values,
    receiver_volumes,
)

__all__ = [
    "ALERTMANAGER_SERVICE_ACCOUNT", "BLACKBOX_EXPORTER_CHART", "FLUENT_BIT_CHART", "FLUENT_BIT_SERVICE_ACCOUNT",
    "GRAFANA_ADMIN_SECRET", "GRAFANA_SERVICE_ACCOUNT", "KUBE_PROMETHEUS_STACK_CHART", "OBSERVABILITY_CHARTS",
    "OTEL_COLLECTOR_CHART", "OTEL_COLLECTOR_SERVICE_ACCOUNT", "PUSHGATEWAY_CHART", "SYSTEM_NAMESPACES",
    "ObservabilityArgs", "ObservabilityStack", "Receiver", "agent_log_group_name", "agent_log_group_prefix",
    "alertmanager_config", "alertmanager_statements", "blackbox_exporter_values", "fluent_bit_pipeline",
    "fluent_bit_statements", "fluent_bit_values", "grafana_statements", "kube_prometheus_stack_values",
    "otel_collector_statements", "otel_collector_removed_defaults", "otel_collector_values",
    "persistent_volume_claim_retention", "pushgateway_clients", "pushgateway_values", "receiver_volumes",
    "secret_sync_role_prefix", "secret_sync_statements", "unattributed_log_group_name",
]
