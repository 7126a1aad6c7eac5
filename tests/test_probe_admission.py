"""MAAS-K8S-040: only the platform's probe may run as the golden-set probe, and so push results.

The Pushgateway admits pushes from pods labelled ``app.kubernetes.io/name: maas-probe`` in agent
namespaces, and a team administers its agents' namespaces. These tests evaluate the policy's CEL
with cel-python as the API server would (test_admission's evaluator) over the platform's own probe
pods, which it admits, and over forged ones, which it denies; the rule's Python check (what ``maas
plan`` runs, and at admission with the namespace's labels and the probe image) gives the same
verdict on each. The plan-time rule passes the shipped plans' probe CronJobs and fails a forged plan.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Optional

import pytest

from conftest import ENVIRONMENTS, ROOT, named
from maas_platform import names
from maas_platform.components.agent import golden as golden_component
from maas_platform.config.models import PlatformConfig
from maas_platform.plan import Plan, plan_project
from maas_platform.plan.exports import kubernetes_objects
from maas_platform.policy import Resource, assess, get_rule
from maas_platform.policy.core import Context
from maas_platform.policy.kubernetes import admission
from maas_platform.policy.kubernetes import golden as rule_module
from maas_platform.policy.kubernetes.tenancy import AdmissionContext
from maas_platform.probe import cli
from test_admission import CORPUS_NAMESPACE_LABELS, Request, admits

RULE = "MAAS-K8S-040"
CRON_JOB = "kubernetes:batch/v1:CronJob"
PROBE_IMAGE = PlatformConfig.model_fields["probe_image"].default
OTHER_IMAGE = "docker.io/curlimages/curl:8.11.1"
TRIAGE = dict(CORPUS_NAMESPACE_LABELS)  # namespace triage of team support, agent triage
TEAM_USER = {"username": "maas-team-support", "groups": ["maas:team:support", "system:authenticated"]}
# A service account a team bound in its own namespace: a system: user, held to the rule all the same.
TEAM_ACCOUNT = {"username": "system:serviceaccount:triage:builder",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:triage", "system:authenticated"]}
JOB_CONTROLLER = {"username": "system:serviceaccount:kube-system:job-controller",
                  "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]}


def check() -> admission.Check:
    (found,) = [c for c in admission.checks("dev", {}, "maas-dev", probe_image=PROBE_IMAGE) if c.rule == RULE]
    return found


def cel_admits(request: Request) -> bool:
    verdict = admits(check(), request)
    assert verdict is not None, "the policy does not match the request"
    return verdict


def python_admits(request: Request, image: Optional[str] = PROBE_IMAGE) -> bool:
    obj = request.obj
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = Resource(type=f"kubernetes:{group or 'core'}/{version}:{obj['kind']}", name=obj["metadata"]["name"],
                        props=obj, urn="urn:request")
    context = AdmissionContext(environment="dev", groups=tuple(request.requester["groups"]),
                               namespace_labels=request.namespace_labels, operation=request.operation,
                               probe_image=image)
    outcome = assess(get_rule(RULE), [resource], context)
    assert outcome.not_evaluable == (), outcome.not_evaluable
    return not outcome.findings


def verdicts(request: Request) -> bool:
    """The CEL's verdict, checked against the Python rule's."""
    cel = cel_admits(request)
    assert python_admits(request) == cel, f"the CEL {'admits' if cel else 'denies'}, the Python rule does not"
    return cel


# -- pods, the platform's and forged ones -------------------------------------------------------

def probe_container(agent: str = "triage", **changes: Any) -> dict[str, Any]:
    """The probe's container as components/agent/golden.py writes it (a judge model included)."""
    container = {
        "name": "probe", "image": PROBE_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["maas-probe"],
        "args": ["--cases", "/etc/maas-probe/cases.yaml", "--agent", agent, "--base-url",
                 f"http://{agent}.{agent}.svc/{agent}", "--pushgateway", names.PUSHGATEWAY_URL, "--timeout", "30",
                 "--retries", "1", "--concurrency", "4", "--deadline", "65", "--judge-url", names.LLM_GATEWAY_URL],
        "env": [{"name": "LLM_GATEWAY_KEY", "valueFrom": {"secretKeyRef": {"name": f"{agent}-secrets",
                                                                          "key": "LLM_GATEWAY_KEY"}}}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "securityContext": names.restricted_container_security_context(),
        "volumeMounts": [{"name": "cases", "mountPath": "/etc/maas-probe", "readOnly": True}],
    }
    container.update(changes)
    return {k: v for k, v in container.items() if v is not None}


def probe_pod(*containers: Mapping[str, Any], labels: Optional[Mapping[str, str]] = None,
              **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "maas-probe-29000000-abcde", "namespace": "triage",
                     "labels": dict(labels or {**TRIAGE, names.NAME_LABEL: names.PROBE_APP})},
        "spec": {"serviceAccountName": names.PROBE_APP, "automountServiceAccountToken": False,
                 "restartPolicy": "Never", "containers": list(containers or [probe_container()]),
                 "volumes": [{"name": "cases", "configMap": {"name": "maas-probe-cases"}}], **spec},
    }


def with_args(*args: str) -> dict[str, Any]:
    return probe_pod(probe_container(args=list(args)))


BASE = ["--cases", "/etc/maas-probe/cases.yaml", "--base-url", "http://triage.triage.svc/triage"]
PUSH = ["--pushgateway", names.PUSHGATEWAY_URL]

FORGED: dict[str, dict[str, Any]] = {
    "another-agents-name": probe_pod(probe_container("billing")),
    "another-image": probe_pod(probe_container(image=OTHER_IMAGE)),
    "curl-under-the-label": probe_pod(probe_container(image=OTHER_IMAGE, command=["curl"], args=[
        "--data-binary", "@/tmp/m", f"{names.PUSHGATEWAY_URL}/metrics/job/maas-probe/agent/billing"])),
    "a-shell-command": probe_pod(probe_container(command=["sh", "-c", "maas-probe \"$@\"", "--"])),
    "no-command": probe_pod(probe_container(command=None)),
    "a-second-container": probe_pod(probe_container(), {**probe_container(), "name": "sidecar", "image": OTHER_IMAGE}),
    "a-second-probe-container": probe_pod(probe_container(), {**probe_container("billing"), "name": "second"}),
    "an-init-container": probe_pod(initContainers=[{**probe_container(), "name": "init", "image": OTHER_IMAGE}]),
    "an-init-probe": probe_pod(initContainers=[{**probe_container("billing"), "name": "init"}]),
    "agent-given-twice": with_args(*BASE, "--agent", "triage", *PUSH, "--agent", "billing"),
    "agent-equals-form": with_args(*BASE, "--agent=billing", "--agent", "triage", *PUSH),
    "agent-equals-form-alone": with_args(*BASE, "--agent=triage", *PUSH),
    "agent-as-a-value": with_args("--cases", "--agent", "--agent", "triage", *PUSH),
    "value-reads-as-an-option": with_args(*BASE, "--agent", "triage", "--timeout", "--agent", *PUSH),
    "no-agent": with_args(*BASE, *PUSH),
    "an-abbreviated-option": with_args(*BASE, "--agent", "triage", *PUSH, "--ag", "billing"),
    "a-flag-breaks-the-pairs": with_args(*BASE, "--log-answers", "--agent", "triage", *PUSH),
    "a-trailing-separator": with_args(*BASE, "--agent", "triage", *PUSH, "--", "billing"),
    "odd-arguments": with_args(*BASE, "--agent", "triage", *PUSH, "--timeout"),
    "another-pushgateway": with_args(*BASE, "--agent", "triage", "--pushgateway", "http://evil.triage.svc:9091"),
    "pushgateway-twice": with_args(*BASE, "--agent", "triage", *PUSH, *PUSH),
    "no-pushgateway": with_args(*BASE, "--agent", "triage"),
    "no-args": probe_pod(probe_container(args=None)),
    "pythonpath": probe_pod(probe_container(env=[{"name": "PYTHONPATH", "value": "/etc/maas-probe"}])),
    "env-from": probe_pod(probe_container(envFrom=[{"configMapRef": {"name": "probe-env"}}])),
    "a-module-mounted-over-the-probe": probe_pod(probe_container(volumeMounts=[
        {"name": "cases", "mountPath": "/opt/maas/lib/python3.12/site-packages/maas_platform/probe"}])),
    "a-post-start-hook": probe_pod(probe_container(
        lifecycle={"postStart": {"exec": {"command": ["python", "-c", "0"]}}})),
    "an-exec-probe": probe_pod(probe_container(startupProbe={"exec": {"command": ["python", "-c", "0"]}})),
}


def test_the_platforms_probe_pod_is_admitted():
    assert verdicts(Request(probe_pod(), TRIAGE, TEAM_USER))
    assert verdicts(Request(probe_pod(), TRIAGE, JOB_CONTROLLER))


@pytest.mark.parametrize("name", sorted(FORGED))
def test_a_forged_probe_pod_is_denied(name):
    for requester in (TEAM_USER, TEAM_ACCOUNT, JOB_CONTROLLER):
        assert not verdicts(Request(FORGED[name], TRIAGE, requester)), (name, requester["username"])


def test_labelling_a_pod_as_the_probe_later_is_denied():
    curl = probe_pod(probe_container(image=OTHER_IMAGE, command=["curl"], args=["http://x"]),
                     labels={**TRIAGE, names.NAME_LABEL: names.PROBE_APP})
    assert not verdicts(Request(curl, TRIAGE, TEAM_USER, operation="UPDATE"))


def test_a_debug_container_in_a_probe_pod_is_denied():
    """kubectl debug writes the Pod, with the new container, through pods/ephemeralcontainers."""
    debugged = probe_pod(ephemeralContainers=[{"name": "debugger", "image": OTHER_IMAGE, "command": ["sh"]}])
    assert not verdicts(Request(debugged, TRIAGE, TEAM_USER, operation="UPDATE"))


def test_other_pods_are_not_its_business():
    agent = probe_pod(probe_container(image=OTHER_IMAGE, command=["curl"], args=["x"]),
                      labels={**TRIAGE, names.NAME_LABEL: "triage"})
    assert verdicts(Request(agent, TRIAGE, TEAM_USER))


def test_workload_templates_are_judged_like_pods():
    pod = FORGED["another-agents-name"]
    template = {"metadata": pod["metadata"], "spec": pod["spec"]}
    meta = {"name": "maas-probe", "namespace": "triage", "labels": pod["metadata"]["labels"]}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                  "spec": {"selector": {"matchLabels": {names.NAME_LABEL: names.PROBE_APP}}, "template": template}}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}
    for obj in (deployment, cron):
        assert not verdicts(Request(obj, TRIAGE, TEAM_USER)), obj["kind"]
        fixed = copy.deepcopy(obj)
        spec = fixed["spec"]["template"] if obj["kind"] == "Deployment" else (
            fixed["spec"]["jobTemplate"]["spec"]["template"])
        spec["spec"]["containers"] = [probe_container()]
        assert verdicts(Request(fixed, TRIAGE, TEAM_USER)), obj["kind"]


def test_the_namespace_names_the_agent_not_the_pods_labels():
    """A pod that calls itself billing's, in triage's namespace, still probes triage only."""
    pod = probe_pod(probe_container("billing"), labels={**TRIAGE, names.AGENT_LABEL: "billing",
                                                        names.NAME_LABEL: names.PROBE_APP})
    assert not verdicts(Request(pod, TRIAGE, TEAM_USER))
    billing = {**TRIAGE, names.AGENT_LABEL: "billing"}
    assert cel_admits(Request(pod, billing, TEAM_USER))


def test_the_image_is_judged_at_admission_only():
    """A plan has no probe image to compare with; the cluster has the platform's."""
    other = Request(FORGED["another-image"], TRIAGE, TEAM_USER)
    assert not python_admits(other) and python_admits(other, image=None)


# -- what the policy matches, and how it enforces -----------------------------------------------

def test_the_policy_matches_pods_their_debug_containers_and_workloads_in_agent_namespaces():
    objects = {o["kind"]: o for o in admission.manifests("dev", {}, prefix="maas-dev", probe_image=PROBE_IMAGE)
               if o["metadata"]["name"] == "maas-k8s-040"}
    spec = objects["ValidatingAdmissionPolicy"]["spec"]
    rules = spec["matchConstraints"]["resourceRules"]
    resources = {(r["apiGroups"][0], r["resources"][0]) for r in rules}
    assert resources == {("", "pods"), ("", "pods/ephemeralcontainers"), ("", "replicationcontrollers"),
                         ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"),
                         ("apps", "replicasets"), ("batch", "jobs"), ("batch", "cronjobs")}
    assert all(r["operations"] == ["CREATE", "UPDATE"] for r in rules)
    assert "matchConditions" not in spec, "no requester is exempt: controllers and service accounts included"
    assert spec["failurePolicy"] == "Fail"
    assert objects["ValidatingAdmissionPolicyBinding"]["spec"]["matchResources"] == {
        "namespaceSelector": {"matchExpressions": [{"key": names.AGENT_LABEL, "operator": "Exists"}]}}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_it_denies_in_every_environment(environment):
    (found,) = [c for c in admission.checks(environment, probe_image=PROBE_IMAGE) if c.rule == RULE]
    assert admission.validation_actions(found, environment) == ["Deny"]


def test_without_a_probe_image_there_is_no_policy():
    assert RULE not in {c.rule for c in admission.checks("dev")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_platform_passes_its_probe_image(plans, env):
    plan = plans[env]
    (policy,) = [o for o in kubernetes_objects(plan) if o["kind"] == "ValidatingAdmissionPolicy"
                 and o["metadata"]["name"] == "maas-k8s-040"]
    image = plan.outputs["probe_image"]
    assert policy["spec"]["validations"][0]["expression"] == admission.probe_expression(image)


# -- the contract with maas-probe and the probe's CronJob -------------------------------------------

def test_the_options_are_those_maas_probe_takes_a_value_for():
    import typer.main

    command = typer.main.get_command(cli.app)
    taking_values = {opt for p in command.params if not getattr(p, "is_flag", False) for opt in p.opts
                     if opt.startswith("--")}
    assert set(rule_module.PROBE_OPTIONS) == taking_values
    flags = {opt for p in command.params if getattr(p, "is_flag", False) for opt in p.opts}
    assert "--log-answers" in flags and not flags & set(rule_module.PROBE_OPTIONS)
    assert all(not getattr(p, "envvar", None) or p.opts == ["--judge-url"] for p in command.params), (
        "an option read from the environment (other than the judge URL) would be one the args do not show")


def test_the_cases_directory_and_variable_are_the_probes():
    assert rule_module.PROBE_CASES_DIR == golden_component.CASES_DIR
    assert rule_module.PROBE_ENV == (cli.JUDGE_KEY_ENV,)


# -- the plan-time rule ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(ROOT / "stacks" / "teams" / "example", stack="dev")


def probe_jobs(plan: Plan) -> list[Resource]:
    return [Resource(type=r.type, name=r.name, props=r.inputs, urn=r.urn) for r in plan.of_type(CRON_JOB)
            if r.inputs["metadata"]["labels"].get(names.NAME_LABEL) == names.PROBE_APP]


def test_the_shipped_probe_cronjobs_pass_the_plan_time_rule(plans, team):
    dev_jobs, team_jobs = probe_jobs(plans["dev"]), probe_jobs(team)
    assert len(dev_jobs) == 2 and len(team_jobs) == 1
    for plan in (*plans.values(), team):
        outcome = assess(get_rule(RULE), probe_jobs(plan), Context.for_environment("dev"))
        assert outcome.findings == () and outcome.not_evaluable == (), plan.stack
        assert not [v for v in plan.violations if v["policy"] == RULE]


def test_the_controllers_pod_of_a_shipped_cronjob_is_admitted(plans, team):
    for plan in (plans["dev"], team):
        for job in probe_jobs(plan):
            template = job.props["spec"]["jobTemplate"]["spec"]["template"]
            namespace = job.props["metadata"]["namespace"]
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": "maas-probe-29000000-abcde", "namespace": namespace, **template["metadata"]},
                "spec": template["spec"]}
            labels = {**TRIAGE, names.AGENT_LABEL: namespace}
            assert verdicts(Request(pod, labels, JOB_CONTROLLER)), namespace


def test_a_forged_plan_fails_the_plan_time_rule(plans):
    (job,) = [j for j in probe_jobs(plans["dev"]) if j.props["metadata"]["namespace"] == "triage"]
    forged = copy.deepcopy(dict(job.props))
    container = forged["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    container["args"][container["args"].index("--agent") + 1] = "reports"
    outcome = assess(get_rule(RULE), [Resource(type=job.type, name=job.name, props=forged, urn=job.urn)],
                     Context.for_environment("dev"))
    assert [f.message for f in outcome.findings] == ["args: --agent is 'reports', not 'triage'"]
