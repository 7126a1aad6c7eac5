"""The five Helm charts of the observability stack, each pinned to one exact version.

The pins, their app versions, the Kubernetes minors each project supports and where and when
that was read are entries of ``components/charts.lock.yaml``; this module only names them.
The recorded facts, in short (checked on 2026-12-02 unless a line says otherwise):

* kube-prometheus-stack 88.5.3, prometheus-operator v0.93.1 (Kubernetes >= 1.25). 91.5.0, the
  previous pin, is in no published index reachable here; 88.5.3 is, and its tag's values.yaml
  and CRDs were read.
* prometheus-blackbox-exporter 11.17.2 ships blackbox_exporter v0.28.0 (not v0.27.0).
* prometheus-pushgateway 3.8.0 (the newest in the published index, read 2026-12-03) ships
  Pushgateway v1.11.3; its values.yaml and templates were read at the chart's tag.
* opentelemetry-collector 0.170.0 ships collector 0.158.0. 0.158.3 was never published; from
  0.160.0 the kubernetesAttributes preset names its processor ``k8s_attributes``.
* fluent-bit 0.57.5 ships Fluent Bit 5.0.5, whose cloudwatch_logs output reads EKS Pod Identity
  credentials (fluent/fluent-bit#10115, merged 2025-03).
"""

from __future__ import annotations

from ... import names
from ..workloads import Chart, locked_chart

KUBE_PROMETHEUS_STACK_CHART = locked_chart(names.KUBE_PROMETHEUS_STACK)
BLACKBOX_EXPORTER_CHART = locked_chart(names.BLACKBOX_EXPORTER)
# The release, the chart and the Service the golden-set probes push to share the name.
PUSHGATEWAY_CHART = locked_chart(names.PUSHGATEWAY)
OTEL_COLLECTOR_CHART = locked_chart("opentelemetry-collector")
FLUENT_BIT_CHART = locked_chart("fluent-bit")

OBSERVABILITY_CHARTS: dict[str, Chart] = {
    chart.name: chart
    for chart in (KUBE_PROMETHEUS_STACK_CHART, BLACKBOX_EXPORTER_CHART, PUSHGATEWAY_CHART, OTEL_COLLECTOR_CHART,
                  FLUENT_BIT_CHART)
}
