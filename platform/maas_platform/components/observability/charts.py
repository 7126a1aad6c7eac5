"""The four Helm charts of the observability stack, each pinned to one exact version.

Each pin says what was checked in the chart's own repository (its published ``index.yaml`` or
the ``Chart.yaml`` at the release tag) and when. A pin that could not be confirmed there says
so. No chart repository is reachable from the build machines: ``helm show chart --version``
against the chart repository is the check to run where one is.
"""

from __future__ import annotations

from ... import names
from ..workloads import Chart

# kube-prometheus-stack 91.5.0 could not be confirmed in the chart repository. Checked on
# 2026-12-02 in prometheus-community/helm-charts: the newest copies of the published index
# (gh-pages index.yaml, newest kube-prometheus-stack entry 89.2.0, created 2026-09-04) and of
# the release tags (newest kube-prometheus-stack-88.5.3, 2026-08-21) predate 91.x. The recorded
# app_version v0.93.0 is wrong for any chart after 88.5.x: Chart.yaml at tag
# kube-prometheus-stack-88.0.0 has appVersion v0.93.0, at 88.5.3 v0.93.1, and the index
# entries 89.0.0 to 89.2.0 have v0.93.1, so 91.5.0 cannot ship v0.93.0. kubeVersion of
# 88.0.0 to 89.2.0: ">=1.25.0-0".
KUBE_PROMETHEUS_STACK_CHART = Chart(
    name=names.KUBE_PROMETHEUS_STACK,
    version="91.5.0",
    repo="https://prometheus-community.github.io/helm-charts",
    app_version="v0.93.0",
)
# prometheus-blackbox-exporter 11.17.2: checked on 2026-12-02 in prometheus-community/helm-charts,
# Chart.yaml at tag prometheus-blackbox-exporter-11.17.2 (2026-08-10): appVersion v0.28.0,
# kubeVersion ">=1.21.0-0". The recorded app_version v0.27.0 is wrong: it is the appVersion
# of the tags from 11.2.0 until 11.6.0, where the chart moved to v0.28.0.
BLACKBOX_EXPORTER_CHART = Chart(
    name=names.BLACKBOX_EXPORTER,
    version="11.17.2",
    repo="https://prometheus-community.github.io/helm-charts",
    app_version="v0.27.0",
)
# opentelemetry-collector 0.158.3 is not published. Checked on 2026-12-02 in
# open-telemetry/opentelemetry-helm-charts: the published index (gh-pages index.yaml, generated
# 2026-08-20) lists 0.158.0, 0.158.1, 0.158.2 and then 0.159.0; there is no tag
# opentelemetry-collector-0.158.3, and "version: 0.158.3" occurs only in Chart.yaml on the head
# of pull request #2273 (commit 0028bf0, 2026-06-19), never on main. The published 0.158.2
# (tag of 2026-06-16) has appVersion 0.153.0, the recorded app_version. No kubeVersion is set.
OTEL_COLLECTOR_CHART = Chart(
    name="opentelemetry-collector",
    version="0.158.3",
    repo="https://open-telemetry.github.io/opentelemetry-helm-charts",
    app_version="0.153.0",
)
# fluent-bit 0.57.5: checked on 2026-12-02 in fluent/helm-charts, Chart.yaml at tag
# fluent-bit-0.57.5 (2026-05-12) and its entry in the published index (gh-pages index.yaml,
# generated 2026-08-18): appVersion 5.0.5; no kubeVersion is set. The core cloudwatch_logs
# output reads EKS Pod Identity credentials since fluent/fluent-bit#10115 (merged 2025-03).
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
