"""Each canary agent's Rollout: over its Deployment, behind the error-budget gate, in the environment's
steps, scaled by its autoscaler, split at the ALB for a public agent and by replicas otherwise, and
judged by AnalysisTemplates that read only its own namespace (components/agent/rollout.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from conftest import ROOT
from maas_platform.components.agent.rollout import (
    BURN_TEMPLATE, CHANGE_ANNOTATION, GATE_TEMPLATE, rollout_spec, scale_target,
)
from maas_platform.config.agents import AgentSpec
from maas_platform.config.loader import read_stack_file
from maas_platform.plan import Plan, plan_project
from maas_platform.policy import Context, check_stack, get_rule
from maas_platform.policy.kubernetes.helpers import pod_spec_paths
from test_agents import agent_resources, k8s_kind
from test_policy_stack import LABELS, SCALED, complete_agent, k8s, replace, scaled_object

ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
DEV_AGENTS = ("triage", "research", "reports")
TEAM_AGENTS = ("intake", "summarizer")
SELECTORS = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*(\{[^}]*\})")


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(ROOT / "stacks" / "teams" / "example", stack="dev")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Plan:
    """dev with triage on a plain Deployment (rollout: none) and reports released as a fix."""
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    for agent in config["maas:agents"]:
        if agent["name"] == "triage":
            agent["delivery"] = {**agent.get("delivery", {}), "rollout": "none"}
        if agent["name"] == "reports":
            agent["delivery"] = {**agent.get("delivery", {}), "change": "fix"}
    path = tmp_path_factory.mktemp("mixed") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return plan_project(ROOT, config_file=path)


def objects(plan: Plan, agent: str, kind: str) -> list[dict[str, Any]]:
    return k8s_kind(agent_resources(plan, agent), kind)


def team_objects(team: Plan, agent: str, kind: str) -> list[dict[str, Any]]:
    return [r.inputs for r in team.resources if r.type.endswith(f":{kind}")
            and (r.inputs.get("metadata") or {}).get("namespace") == agent]


def spec_of(agent: str, **delivery: Any) -> AgentSpec:
    (config,) = [a for a in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")["maas:agents"] if a["name"] == agent]
    return AgentSpec.model_validate({**config, "delivery": {**config.get("delivery", {}), **delivery}})


# -- every canary agent ---------------------------------------------------------------------------

@pytest.mark.parametrize("agent", DEV_AGENTS)
def test_every_active_dev_agent_runs_in_a_rollout_over_its_deployment(dev, agent):
    (rollout,) = objects(dev, agent, "Rollout")
    (deployment,) = objects(dev, agent, "Deployment")
    assert rollout["metadata"] == {**rollout["metadata"], "name": agent, "namespace": agent}
    assert rollout["spec"]["workloadRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": agent,
                                              "scaleDown": "progressively"}
    assert "template" not in rollout["spec"], "the Deployment is the one pod template policies and admission read"
    assert rollout["spec"]["selector"] == deployment["spec"]["selector"]
    assert deployment["spec"]["replicas"] == 0, "the Rollout runs the pods; the Deployment starts without any"
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {CHANGE_ANNOTATION: "feature"}
    templates = {t["metadata"]["name"] for t in objects(dev, agent, "AnalysisTemplate")}
    assert templates == {GATE_TEMPLATE, BURN_TEMPLATE}


@pytest.mark.parametrize("agent", TEAM_AGENTS)
def test_a_teams_agents_run_in_rollouts_too(team, agent):
    (rollout,) = team_objects(team, agent, "Rollout")
    assert rollout["spec"]["workloadRef"]["name"] == agent
    assert {t["metadata"]["name"] for t in team_objects(team, agent, "AnalysisTemplate")} == {GATE_TEMPLATE, BURN_TEMPLATE}


def test_the_pod_disruption_budget_still_selects_the_rollouts_pods(dev):
    for agent in DEV_AGENTS:
        (pdb,) = objects(dev, agent, "PodDisruptionBudget")
        (rollout,) = objects(dev, agent, "Rollout")
        (deployment,) = objects(dev, agent, "Deployment")
        selector = pdb["spec"]["selector"]["matchLabels"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector == rollout["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()


def test_the_autoscaler_scales_the_rollout(dev, team):
    for agent in DEV_AGENTS:
        (scaler,) = objects(dev, agent, "ScaledObject")
        assert scaler["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": agent}
    (hpa,) = [h for h in team_objects(team, "summarizer", "HorizontalPodAutoscaler") if h["metadata"]["name"] == "summarizer"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "summarizer"}


# -- rollout: none ----------------------------------------------------------------------------------

def test_rollout_none_keeps_the_plain_deployment_and_no_rollout(mixed, dev):
    assert not objects(mixed, "triage", "Rollout") and not objects(mixed, "triage", "AnalysisTemplate")
    (deployment,) = objects(mixed, "triage", "Deployment")
    (scaler,) = objects(mixed, "triage", "ScaledObject")
    assert deployment["spec"]["replicas"] == scaler["spec"]["minReplicaCount"] >= 1
    assert "annotations" not in deployment["spec"]["template"]["metadata"]
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert scaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triage"}
    assert scale_target(spec_of("triage", rollout="none"))["kind"] == "Deployment"
    # Every other object of the agent is the one a canary agent gets.
    canary = {(r["type"], r["name"]) for r in agent_resources(dev, "triage")}
    plain = {(r["type"], r["name"]) for r in agent_resources(mixed, "triage")}
    assert canary - plain == {(ROLLOUT, "maas-dev-agent-triage-rollout")} | {
        ("kubernetes:argoproj.io/v1alpha1:AnalysisTemplate", f"maas-dev-agent-triage-analysis-{t}")
        for t in (GATE_TEMPLATE, BURN_TEMPLATE)}
    assert plain <= canary


def test_a_release_marked_a_fix_says_so_on_its_pod_template(mixed):
    (deployment,) = objects(mixed, "reports", "Deployment")
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {CHANGE_ANNOTATION: "fix"}


# -- steps -----------------------------------------------------------------------------------------

def steps(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["strategy"]["canary"].get("steps", [])


def test_dev_rolls_straight_through_without_analysis(dev):
    for agent in DEV_AGENTS:
        (rollout,) = objects(dev, agent, "Rollout")
        canary = rollout["spec"]["strategy"]["canary"]
        assert "steps" not in canary and "analysis" not in canary


@pytest.mark.parametrize("environment, expected", [
    ("staging", [25, "10m", 50, "10m"]),
    ("prod", [10, "10m", 25, "10m", 50, "15m"]),
])
def test_staging_and_prod_hold_their_steps_behind_the_budget_gate(environment, expected):
    spec = rollout_spec(spec_of("triage"), environment)
    gate, *rest = steps(spec)
    assert gate["analysis"]["templates"] == [{"templateName": GATE_TEMPLATE}]
    assert gate["analysis"]["args"] == [{"name": "change", "valueFrom": {"fieldRef": {
        "fieldPath": f"spec.template.metadata.annotations.{CHANGE_ANNOTATION}"}}}]
    assert [s.get("setWeight") or s["pause"]["duration"] for s in rest] == expected
    # The burn analysis runs from the first traffic on (step 1), never before the gate.
    assert spec["strategy"]["canary"]["analysis"] == {"templates": [{"templateName": BURN_TEMPLATE}], "startingStep": 1}


def test_an_agents_own_steps_replace_the_environments():
    spec = rollout_spec(spec_of("triage", steps=[{"weight": 5, "pause_minutes": 30}]), "prod")
    assert steps(spec)[1:] == [{"setWeight": 5}, {"pause": {"duration": "30m"}}]


def test_the_change_argument_reads_an_annotation_the_deployment_template_carries(dev):
    """Argo reads a non-metadata fieldRef by splitting the path on '.': the key has none."""
    assert "." not in CHANGE_ANNOTATION and "/" not in CHANGE_ANNOTATION
    (deployment,) = objects(dev, "triage", "Deployment")
    path = "spec.template.metadata.annotations." + CHANGE_ANNOTATION
    value: Any = deployment
    for part in path.split("."):
        value = value[part]
    assert value in ("feature", "fix")


# -- traffic -----------------------------------------------------------------------------------------

def test_the_public_agent_splits_traffic_at_the_alb_between_services_that_exist(dev):
    (rollout,) = objects(dev, "reports", "Rollout")
    canary = rollout["spec"]["strategy"]["canary"]
    alb = canary["trafficRouting"]["alb"]
    services = {s["metadata"]["name"]: s for s in objects(dev, "reports", "Service")}
    assert {canary["canaryService"], canary["stableService"], alb["rootService"]} <= set(services)
    assert all(services[name]["spec"]["ports"][0]["port"] == alb["servicePort"]
               for name in (canary["canaryService"], canary["stableService"], alb["rootService"]))
    assert canary["dynamicStableScale"] is True
    (ingress,) = objects(dev, "reports", "Ingress")
    assert ingress["metadata"]["name"] == alb["ingress"]
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": alb["rootService"], "port": {"name": "use-annotation"}}
    # The weighted action is the Rollout's to write: Pulumi never sets (so never resets) it.
    assert not [k for k in ingress["metadata"]["annotations"]
                if k.startswith("alb.ingress.kubernetes.io/actions.") or k.startswith("rollouts.argoproj.io/")]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] == "ip"


@pytest.mark.parametrize("agent", ["research", "triage"])
def test_internal_and_queue_driven_agents_shift_by_replicas(dev, agent):
    (rollout,) = objects(dev, agent, "Rollout")
    canary = rollout["spec"]["strategy"]["canary"]
    assert not {"trafficRouting", "canaryService", "stableService"} & set(canary)
    assert [s["metadata"]["name"] for s in objects(dev, agent, "Service")] == [agent]
    (ingress,) = objects(dev, agent, "Ingress")
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] == {"name": "http"}


# -- analysis -----------------------------------------------------------------------------------------

def test_the_analysis_templates_read_only_the_agents_own_namespace(dev, team):
    templates = [t for a in DEV_AGENTS for t in objects(dev, a, "AnalysisTemplate")]
    templates += [t for a in TEAM_AGENTS for t in team_objects(team, a, "AnalysisTemplate")]
    assert len(templates) == 2 * (len(DEV_AGENTS) + len(TEAM_AGENTS))
    for template in templates:
        namespace = template["metadata"]["namespace"]
        for metric in template["spec"]["metrics"]:
            query = metric["provider"]["prometheus"]["query"]
            matchers = SELECTORS.findall(query)
            assert matchers, query
            for matcher in matchers:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', matcher))
                assert labels.get("namespace") == namespace and labels.get("agent") == namespace, (namespace, query)


def test_every_metric_fails_the_run_and_so_aborts_the_rollout(dev):
    for template in objects(dev, "reports", "AnalysisTemplate"):
        for metric in template["spec"]["metrics"]:
            assert metric["failureCondition"] and metric["successCondition"]
            assert metric["provider"]["prometheus"]["address"].startswith("http://kube-prometheus-stack-prometheus.")


# -- policies see the pods where they are -----------------------------------------------------------

def test_a_rollout_over_a_workload_holds_no_pod_spec_of_its_own():
    referencing = k8s(ROLLOUT, "triage", {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triage"}})
    holding = k8s(ROLLOUT, "triage", {"template": {"metadata": {"labels": LABELS},
                                                   "spec": {"containers": [{"name": "agent", "image": "x"}]}}})
    assert pod_spec_paths(referencing) == ()
    assert pod_spec_paths(holding) == ("spec.template.spec",)


def test_an_autoscaler_of_the_rollout_autoscales_the_referenced_deployment():
    rule, dev = get_rule("MAAS-STK-005"), Context.for_environment("dev")
    to_rollout = scaled_object(scaleTargetRef={"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "triage"})
    rollout = k8s(ROLLOUT, "triage", {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triage"}})
    other = k8s(ROLLOUT, "triage", {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "other"}})
    assert check_stack(rule, replace(SCALED, to_rollout, rollout)(complete_agent()), dev) == []
    assert check_stack(rule, replace(SCALED, to_rollout)(complete_agent()), dev), "no Rollout runs the Deployment"
    assert check_stack(rule, replace(SCALED, to_rollout, other)(complete_agent()), dev), "a Rollout of another workload"


def test_the_dev_and_team_plans_pass_the_policy_gate_with_their_rollouts(dev, team):
    """Pod rules judge the Deployments' templates, the autoscaler rule accepts a Rollout's autoscaler."""
    for plan in (dev, team):
        assert [v for v in plan.violations if v["level"] == "mandatory"] == []
