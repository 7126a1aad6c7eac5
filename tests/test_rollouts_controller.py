"""Argo Rollouts' controller as every environment installs it (components/rollouts.py), and the CRD
schemas agents' Rollouts and AnalysisTemplates are judged against (tests/crd_models.py)."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlparse

import pytest

import crd_models
from conftest import ENVIRONMENTS
from maas_platform import names
from maas_platform.components.observability.layout import PROMETHEUS_POD_LABELS
from maas_platform.components.rollouts import (
    API_SERVER_CLUSTER_IPS, ARGO_ROLLOUTS_CHART, CONTROLLER_IMAGE_TAG, CONTROLLER_POD_LABELS, METRICS_PORT,
    PROMETHEUS_ADDRESS, PROMETHEUS_PORT, controller_replicas,
)
from maas_platform.components.workloads import chart_lock

RELEASE = names.HELM_RELEASE
EXPECTED_REPLICAS = {"dev": 1, "staging": 2, "prod": 2}

# Every key of argoproj/argo-helm charts/argo-rollouts/values.yaml at tag argo-rollouts-2.41.0 (8796aea)
# that the platform may set, as read there on 2026-12-03; OPEN are maps and lists the chart passes
# through whole (resources, nodeSelector, tolerations, the two security contexts).
CHART_KEYS = {
    "installCRDs", "keepCRDs", "clusterInstall", "serviceAccount.create", "serviceAccount.name",
    "providerRBAC.enabled", *(f"providerRBAC.providers.{p}" for p in (
        "istio", "smi", "ambassador", "awsLoadBalancerController", "awsAppMesh", "traefik", "apisix", "contour",
        "glooPlatform", "gatewayAPI")),
    "controller.replicas", "controller.image.tag", "controller.awsVerifyTargetGroup", "controller.metrics.enabled",
    "controller.metrics.serviceMonitor.enabled", "controller.pdb.enabled", "controller.pdb.minAvailable",
    "dashboard.enabled",
}
OPEN = {"podSecurityContext", "containerSecurityContext", "controller.resources", "controller.nodeSelector",
        "controller.tolerations"}


def release(plan) -> dict[str, Any]:
    [found] = [r.inputs for r in plan.of_type(RELEASE) if r.inputs["chart"] == ARGO_ROLLOUTS_CHART.name]
    return found


def leaf_paths(values: Any, path: str = "") -> list[str]:
    if path in OPEN or not isinstance(values, dict):
        return [path]
    return [p for key, value in values.items() for p in leaf_paths(value, f"{path}.{key}" if path else key)]


# -- the release -------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_release_is_the_pinned_chart_in_its_own_namespace(plans, env):
    inputs = release(plans[env])
    entry = chart_lock().entry("argo-rollouts")
    assert (inputs["repositoryOpts"]["repo"], inputs["chart"], inputs["version"]) == (
        entry.repository, entry.chart, entry.version)
    assert inputs["namespace"] == names.ARGO_ROLLOUTS_NAMESPACE == "argo-rollouts"
    assert inputs["atomic"] is True
    assert inputs["values"]["installCRDs"] is True and inputs["values"]["keepCRDs"] is True


def test_the_pin_fits_the_platforms_kubernetes_and_the_controller_runs_the_tested_release():
    entry = chart_lock().entry("argo-rollouts")
    assert entry.excludes("1.35") is None
    assert entry.excludes("1.31") is not None  # v1.9.1 is tested from 1.32
    assert (entry.version, entry.app_version) == ("2.41.0", "v1.9.0")
    assert CONTROLLER_IMAGE_TAG == "v1.9.1"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_value_set_is_a_key_of_the_chart(plans, env):
    unknown = [p for p in leaf_paths(release(plans[env])["values"]) if p not in CHART_KEYS | OPEN]
    assert unknown == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_replicas_per_environment_with_a_budget_only_over_two(plans, env):
    controller = release(plans[env])["values"]["controller"]
    assert controller["replicas"] == EXPECTED_REPLICAS[env] == controller_replicas(env)
    # The chart passes --leader-elect when replicas > 1; a budget over one pod would block drains.
    assert controller["pdb"] == {"enabled": EXPECTED_REPLICAS[env] > 1, "minAvailable": 1}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_dashboard_no_aws_identity_and_only_the_alb_router(plans, env):
    values = release(plans[env])["values"]
    assert values["dashboard"] == {"enabled": False}
    assert values["controller"]["awsVerifyTargetGroup"] is False
    assert not [a for a in plans[env].of_type(names.EKS_POD_IDENTITY_ASSOCIATION)
                if a.inputs.get("namespace") == names.ARGO_ROLLOUTS_NAMESPACE]
    providers = values["providerRBAC"]["providers"]
    assert {p for p, on in providers.items() if on} == {"awsLoadBalancerController"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_controller_container_is_restricted(plans, env):
    values = release(plans[env])["values"]
    assert values["podSecurityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert values["containerSecurityContext"] == {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
    }
    resources = values["controller"]["resources"]
    assert resources["requests"] and resources["limits"]["memory"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_controller_runs_on_the_system_node_group_except_in_dev(plans, env):
    # As the other controllers; dev's one small system node has no pod slot left, so there it runs on
    # the agents' node pools. Either way the capacity model places it: no pod stays Pending.
    controller = release(plans[env])["values"]["controller"]
    if env == "dev":
        assert "nodeSelector" not in controller and "tolerations" not in controller
    else:
        assert controller["nodeSelector"] == {names.NODE_GROUP_LABEL: "system"}
        assert controller["tolerations"] == [{"key": names.SYSTEM_TAINT_KEY, "operator": "Exists",
                                              "effect": "NoSchedule"}]
    capacity = plans[env].cost["capacity"]
    placed = {pod for target in capacity["targets"] for pod in target["pods"]}
    assert any("argo-rollouts" in pod for pod in placed), placed
    assert capacity["pending"] == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_namespace_is_restricted(plans, env):
    [namespace] = [r.inputs for r in plans[env].of_type(names.K8S_NAMESPACE)
                   if r.inputs["metadata"]["name"] == names.ARGO_ROLLOUTS_NAMESPACE]
    labels = namespace["metadata"]["labels"]
    assert {k: labels[k] for k in names.RESTRICTED_NAMESPACE_LABELS} == dict(names.RESTRICTED_NAMESPACE_LABELS)
    assert labels[names.ENVIRONMENT_LABEL] == env
    assert names.ARGO_ROLLOUTS_NAMESPACE in names.RESERVED_NAMESPACES


# -- metrics and the network -------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prometheus_scrapes_the_chart_service_monitor(plans, env):
    metrics = release(plans[env])["values"]["controller"]["metrics"]
    assert metrics == {"enabled": True, "serviceMonitor": {"enabled": True}}
    # The platform's Prometheus selects every ServiceMonitor of every namespace: no label needed.
    [stack] = [r.inputs for r in plans[env].of_type(RELEASE) if r.inputs["chart"] == names.KUBE_PROMETHEUS_STACK]
    spec = stack["values"]["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelector"] == {} and spec["serviceMonitorNamespaceSelector"] == {}
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    # The ServiceMonitor's CRD comes first.
    rollouts = next(r for r in plans[env].of_type(RELEASE) if r.inputs["chart"] == ARGO_ROLLOUTS_CHART.name)
    prometheus = next(r for r in plans[env].of_type(RELEASE) if r.inputs["chart"] == names.KUBE_PROMETHEUS_STACK)
    assert prometheus.urn in rollouts.dependencies


def test_agents_analysis_reaches_the_platforms_prometheus():
    assert PROMETHEUS_ADDRESS == names.PROMETHEUS_URL
    assert urlparse(PROMETHEUS_ADDRESS).port == PROMETHEUS_PORT
    assert urlparse(PROMETHEUS_ADDRESS).hostname == f"{names.KUBE_PROMETHEUS_STACK}-prometheus.{names.MONITORING_NAMESPACE}.svc"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_network_policies_are_exactly_these(plans, env):
    found = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plans[env].of_type(names.K8S_NETWORK_POLICY)
             if r.inputs["metadata"]["namespace"] == names.ARGO_ROLLOUTS_NAMESPACE}
    vpc = plans[env].of_type(names.EC2_VPC)[0].inputs["cidrBlock"]
    tcp = lambda port: {"protocol": "TCP", "port": port}  # noqa: E731
    prometheus = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                  "podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)}}
    assert found == {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, tcp(53)]}]},
        "allow-controller": {
            "podSelector": {"matchLabels": dict(CONTROLLER_POD_LABELS)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [prometheus], "ports": [tcp(8090)]}],
            "egress": [
                {"to": [{"ipBlock": {"cidr": c}} for c in ("10.100.0.1/32", "172.20.0.1/32", vpc)],
                 "ports": [tcp(443)]},
                {"to": [prometheus], "ports": [tcp(9090)]},
            ],
        },
    }
    assert METRICS_PORT == 8090 and API_SERVER_CLUSTER_IPS == ("10.100.0.1/32", "172.20.0.1/32")
    assert CONTROLLER_POD_LABELS == {"app.kubernetes.io/name": "argo-rollouts",
                                     "app.kubernetes.io/instance": "argo-rollouts",
                                     "app.kubernetes.io/component": "rollouts-controller"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_agents_wait_for_the_rollouts_release(plans, env):
    plan = plans[env]
    rollouts = next(r for r in plan.of_type(RELEASE) if r.inputs["chart"] == ARGO_ROLLOUTS_CHART.name)
    agents = plan.of_type(names.MAAS_AGENT_SERVICE)
    assert agents or env != "dev"  # dev's stack declares agents
    assert all(rollouts.urn in agent.dependencies for agent in agents)


# -- the CRD schemas judge Rollouts and AnalysisTemplates -----------------------------------------

ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
    "metadata": {"name": "triage", "namespace": "triage"},
    "spec": {
        "replicas": 2,
        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triage", "scaleDown": "progressively"},
        "strategy": {"canary": {
            "analysis": {"templates": [{"templateName": "triage-slo"}], "startingStep": 1},
            "steps": [{"setWeight": 25}, {"pause": {"duration": "10m"}}, {"setWeight": 50}, {"pause": {"duration": "10m"}}],
        }},
    },
}
ANALYSIS_TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
    "metadata": {"name": "triage-slo", "namespace": "triage"},
    "spec": {"metrics": [{
        "name": "error-ratio",
        "interval": "1m",
        "failureLimit": 1,
        "successCondition": "result[0] <= 0.01",
        "provider": {"prometheus": {
            "address": PROMETHEUS_ADDRESS,
            "query": 'slo:sli_error:ratio_rate5m{agent="triage"}',
        }},
    }]},
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, list[tuple[str, str]]]:
    crd_models.install()
    misspelt_rollout = copy.deepcopy(ROLLOUT)
    misspelt_rollout["spec"]["strategy"]["canary"]["steps"][0] = {"setWieght": 25}
    misspelt_template = copy.deepcopy(ANALYSIS_TEMPLATE)
    misspelt_template["spec"]["metrics"][0]["provider"]["prometheus"]["querry"] = "up"
    return crd_models.judge({"rollout": ROLLOUT, "template": ANALYSIS_TEMPLATE, "misspelt rollout": misspelt_rollout,
                             "misspelt template": misspelt_template}, "1.35.0")


def test_a_canary_rollout_and_its_analysis_template_validate(verdicts):
    assert verdicts["rollout"] == []
    assert verdicts["template"] == []


def test_a_misspelt_field_is_named(verdicts):
    assert "spec.strategy.canary.steps[0].setWieght" in {p for p, _ in verdicts["misspelt rollout"]}, verdicts
    assert "spec.metrics[0].provider.prometheus.querry" in {p for p, _ in verdicts["misspelt template"]}, verdicts
