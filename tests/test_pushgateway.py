"""The Pushgateway the golden-set probes push to: a pinned release of prometheus-pushgateway in
``monitoring`` whose Service is ``names.PUSHGATEWAY_URL``, one restricted replica, scraped with the
pushed labels kept, reachable only by the probes of agent namespaces and by Prometheus.

Values are checked as pure data; the shipped plans show the release as ``pulumi up`` would get it.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest

from conftest import ENVIRONMENTS
from maas_platform import names
from maas_platform.components.observability import (
    OBSERVABILITY_CHARTS,
    PUSHGATEWAY_CHART,
    kube_prometheus_stack_values,
    pushgateway_clients,
    pushgateway_values,
)
from maas_platform.components.observability.layout import PROMETHEUS_POD_LABELS, PUSHGATEWAY_PERSISTENCE_FILE
from maas_platform.components.workloads import chart_lock
from maas_platform.cost.pods import load_workloads, plan_pods
from maas_platform.policy.kubernetes.tenancy import label_selects
from test_observability import args as observability_args

RELEASE = "kubernetes:helm.sh/v3:Release"


def release(plan) -> Any:
    [found] = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == names.PUSHGATEWAY]
    return found


# -- the pin --------------------------------------------------------------------------------------

def test_the_chart_is_pinned_with_what_was_checked_where_and_when():
    entry = chart_lock().entry(names.PUSHGATEWAY)
    assert (entry.repository, entry.version, entry.app_version) == (
        "https://prometheus-community.github.io/helm-charts", "3.8.0", "v1.11.3")
    assert entry.checked == "2026-12-03" and entry.values_schema is False and entry.chart_kube_version is None
    assert any("index.yaml" in where for where in entry.where)
    assert any("tag prometheus-pushgateway-3.8.0" in where and "Chart.yaml" in where for where in entry.where)
    assert OBSERVABILITY_CHARTS[names.PUSHGATEWAY] == PUSHGATEWAY_CHART == entry.pin()


def test_the_cost_model_knows_its_pod_at_the_pinned_version():
    recorded = load_workloads()["charts"][names.PUSHGATEWAY]
    assert str(recorded["version"]) == PUSHGATEWAY_CHART.version
    assert [pod["kind"] for pod in recorded["pods"]] == ["Deployment"]


# -- the values, as pure data --------------------------------------------------------------------

def test_the_service_is_the_address_the_probes_push_to():
    """Release, chart and fullname are all prometheus-pushgateway: the chart names its Service after
    the fullname, in the release's namespace, on service.port."""
    values = pushgateway_values()
    assert values["fullnameOverride"] == PUSHGATEWAY_CHART.name == names.PUSHGATEWAY
    assert names.PUSHGATEWAY_URL == (
        f"http://{values['fullnameOverride']}.{names.MONITORING_NAMESPACE}.svc:{values['service']['port']}")
    assert "targetPort" not in values["service"], "the container listens on 9091, the port the chart's policy opens"
    # The pods' app.kubernetes.io/name is the chart's name (no nameOverride): the probes' egress rule
    # in agent namespaces selects the Pushgateway's pods by it.
    assert "nameOverride" not in values and PUSHGATEWAY_CHART.name == names.PUSHGATEWAY


def test_the_image_is_the_locked_app_version():
    assert pushgateway_values()["image"] == {"tag": chart_lock().entry(names.PUSHGATEWAY).app_version}


def test_pod_and_container_are_restricted():
    values = pushgateway_values()
    pod = values["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["runAsUser"] == pod["runAsGroup"] == pod["fsGroup"] == 65534  # the image's USER
    container = values["containerSecurityContext"]
    for key, value in names.restricted_container_security_context().items():
        assert container[key] == value, key
    assert values["automountServiceAccountToken"] is False


def test_containers_get_their_own_copy_of_the_security_context():
    first = pushgateway_values()
    first["containerSecurityContext"]["capabilities"]["drop"].append("NET_RAW")
    assert pushgateway_values()["containerSecurityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_it_requests_what_it_uses_and_is_bounded():
    resources = pushgateway_values()["resources"]
    assert resources["requests"] == {"cpu": "10m", "memory": "32Mi"}
    assert resources["limits"] == {"memory": "128Mi"}


def test_one_replica_without_a_budget_or_a_volume():
    """Pushed state lives in the process: a second replica would hold other pushes. A budget over
    one replica blocks drains or guards nothing; a restart costs the pushes until the next run."""
    values = pushgateway_values()
    assert values["replicaCount"] == 1
    assert not values.get("podDisruptionBudget")
    assert values.get("runAsStatefulSet", False) is False
    volume = values["persistentVolume"]
    assert volume["enabled"] is False and volume["emptyDir"] == {"sizeLimit": "64Mi"}
    # Persisted to the pod's emptyDir, so a container restart keeps the last pushes.
    assert values["extraArgs"] == [f"--persistence.file={PUSHGATEWAY_PERSISTENCE_FILE}"]
    assert PUSHGATEWAY_PERSISTENCE_FILE.startswith(volume["mountPath"] + "/")


def test_no_admin_or_lifecycle_api():
    args = " ".join(pushgateway_values()["extraArgs"])
    assert "--web.enable-admin-api" not in args and "--web.enable-lifecycle" not in args


def test_prometheus_scrapes_it_keeping_the_pushed_job_and_agent():
    monitor = pushgateway_values()["serviceMonitor"]
    assert monitor == {"enabled": True, "namespace": names.MONITORING_NAMESPACE, "honorLabels": True}


def test_the_platforms_prometheus_selects_the_monitor_without_a_label():
    """No additionalLabels: the platform's Prometheus selects every ServiceMonitor of every namespace."""
    spec = kube_prometheus_stack_values(observability_args(), ["p"], ["t"])["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelector"] == {} and spec["serviceMonitorNamespaceSelector"] == {}
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert "additionalLabels" not in pushgateway_values()["serviceMonitor"]


# -- who may reach it -------------------------------------------------------------------------------

AGENT_NS = {names.NAMESPACE_NAME_LABEL: "support-bot", names.AGENT_LABEL: "support-bot"}
MONITORING_NS = {names.NAMESPACE_NAME_LABEL: names.MONITORING_NAMESPACE}
GATEWAY_NS = {names.NAMESPACE_NAME_LABEL: names.LLM_GATEWAY_NAMESPACE}
PROBE = {names.NAME_LABEL: names.PROBE_APP, names.AGENT_LABEL: "support-bot"}
PROMETHEUS = {**PROMETHEUS_POD_LABELS, "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus",
              "prometheus": "kube-prometheus-stack-prometheus"}


def admits(peers: list[dict[str, Any]], namespace: dict[str, str], pod: dict[str, str]) -> bool:
    """NetworkPolicy peer semantics for a policy in ``monitoring``: a peer with a namespaceSelector
    selects pods of the namespaces it matches; one without selects pods of the policy's namespace."""
    def peer_admits(peer: dict[str, Any]) -> Optional[bool]:
        if "namespaceSelector" in peer:
            in_namespace = label_selects(peer["namespaceSelector"], namespace)
        else:
            in_namespace = namespace == MONITORING_NS
        return bool(in_namespace) and bool(label_selects(peer.get("podSelector", {}), pod))
    return any(peer_admits(peer) for peer in peers)


@pytest.mark.parametrize("namespace, pod, admitted", [
    (AGENT_NS, PROBE, True),  # a golden-set probe pushes
    (MONITORING_NS, PROMETHEUS, True),  # Prometheus scrapes
    (AGENT_NS, {names.NAME_LABEL: "support-bot", names.AGENT_LABEL: "support-bot"}, False),  # the agent itself
    (GATEWAY_NS, {names.NAME_LABEL: names.PROBE_APP}, False),  # a probe's label outside an agent namespace
    (MONITORING_NS, {names.NAME_LABEL: names.PROBE_APP}, False),
    (MONITORING_NS, {names.NAME_LABEL: "grafana"}, False),
    (MONITORING_NS, {names.NAME_LABEL: "prometheus"}, False),  # another Prometheus than the platform's
    (AGENT_NS, PROMETHEUS, False),  # Prometheus' labels in an agent namespace
])
def test_the_network_rule_admits_exactly_the_probes_and_prometheus(namespace, pod, admitted):
    assert admits(pushgateway_clients(), namespace, pod) is admitted


def test_the_chart_renders_its_network_policy_from_these_peers():
    """The chart renders a NetworkPolicy only when networkPolicy is set, admitting customSelectors
    on service.targetPort (9091, the container's port) and nothing else."""
    policy = pushgateway_values()["networkPolicy"]
    assert policy == {"customSelectors": pushgateway_clients()} and "allowAll" not in policy
    assert names.PUSHGATEWAY_PORT == 9091


def test_prometheus_pod_labels_name_the_platforms_prometheus():
    """prometheus-operator labels a Prometheus's pods operator.prometheus.io/name=<its name>, which
    kube-prometheus-stack makes <fullname>-prometheus; the same name as the Service of PROMETHEUS_URL."""
    stack = kube_prometheus_stack_values(observability_args(), ["p"], ["t"])
    assert "cleanPrometheusOperatorObjectNames" not in stack  # the chart's default, false
    name = f"{stack['fullnameOverride']}-prometheus"
    assert PROMETHEUS_POD_LABELS["operator.prometheus.io/name"] == name
    assert names.PROMETHEUS_URL.startswith(f"http://{name}.{names.MONITORING_NAMESPACE}.svc:")


# -- the shipped plans ----------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_runs_the_release_in_monitoring(plans, env):
    """Whether or not one of its agents has a golden set: team stacks' agents push here too."""
    inputs = release(plans[env]).inputs
    assert inputs["name"] == names.PUSHGATEWAY
    assert inputs["version"] == PUSHGATEWAY_CHART.version
    assert inputs["repositoryOpts"] == {"repo": PUSHGATEWAY_CHART.repo}
    assert inputs["namespace"] == names.MONITORING_NAMESPACE
    assert inputs["atomic"] is True
    assert inputs["values"] == pushgateway_values()


def test_the_release_waits_for_the_service_monitor_crd(dev):
    stack = [r for r in dev.of_type(RELEASE) if r.inputs["chart"] == names.KUBE_PROMETHEUS_STACK]
    assert [r.urn for r in stack][0] in release(dev).dependencies


def test_the_dev_plan_prices_its_pod(dev):
    [pod] = [p for p in plan_pods(dev) if p.name == f"chart {names.PUSHGATEWAY}: pushgateway"]
    assert pod.cpu == pytest.approx(0.01)
    assert pod.memory == pytest.approx(32 / 1024)
