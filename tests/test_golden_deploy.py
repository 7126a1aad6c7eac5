"""The golden-set probe in the cluster: plan-time refusals, the CronJob's shape, its network rules,
and the dev plan (components/agent/golden.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, named
from maas_platform import names
from maas_platform.components.agent.golden import (
    MAX_RUN_SECONDS, PROBE_RETRIES, golden_set, job_deadline_seconds, probe_network_policies, rest_entry_url,
    run_deadline_seconds,
)
from maas_platform.config.agents import AgentSpec
from maas_platform.config.golden import load_cases
from maas_platform.config.loader import ConfigError

CRON_JOB = names.K8S_CRON_JOB
AGENT = {"name": "triage", "team": "support", "cost_center": "cc-1", "image": "ghcr.io/acme/triage:1.0.0"}
GOOD = "cases:\n  - id: a\n    request: {path: /ask, json: {q: 1}}\n    expect: {contains: [x]}\n"


# -- plan-time refusals, through the CLI -------------------------------------------------------------

def _project(tmp_path: Path, agent: dict, files: dict[str, str]) -> Path:
    """A copy of the platform project whose dev stack deploys ``agent`` alone."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / "__main__.py", tmp_path / "stacks" / "__main__.py")
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config.pop("maas:flows", None)
    config["maas:budgets"] = {"monthly_limit_usd": 400}
    config["maas:agents"] = [agent]
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def _plan_error(project: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "maas_platform.cli", "plan", "--project-dir", str(project),
                             "--stack", "dev", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("agent, files, expected", [
    ({**AGENT, "golden": {"cases": "golden/none.yaml"}}, {},
     "agent 'triage': golden.cases: golden/none.yaml: golden set file cannot be read: No such file or directory; "
     "fix the file"),
    ({**AGENT, "golden": {"cases": "golden/bad.yaml"}}, {"golden/bad.yaml": "cases: [\n"},
     "agent 'triage': golden.cases: golden/bad.yaml: not valid YAML:"),
    ({**AGENT, "golden": {"cases": "golden/case.yaml"}},
     {"golden/case.yaml": "cases:\n  - id: a\n    expect: {regex: '('}\n"},
     "agent 'triage': golden.cases: golden/case.yaml: cases[0] (id 'a').expect.regex: not a valid regular "
     "expression"),
    ({**AGENT, "golden": {"cases": "golden/ok.yaml"}, "messaging": {"subscribes": ["tickets"], "scale_to_zero": True}},
     {"golden/ok.yaml": GOOD},
     "agent 'triage': golden: an agent that scales to zero (messaging.scale_to_zero) serves no REST entry while "
     "idle, so its golden set would fail by design; drop scale_to_zero or remove golden"),
], ids=["missing", "bad-yaml", "bad-case", "scale-to-zero"])
def test_a_golden_set_the_probe_cannot_use_stops_the_plan_in_one_line(tmp_path, agent, files, expected):
    line = _plan_error(_project(tmp_path, agent, files))
    assert expected in line, line
    if "golden.cases" in expected:
        assert "where Pulumi.yaml is" in line  # the fix: where the path is relative to


def test_a_retired_agents_probe_goes_with_its_workload(tmp_path):
    # Retiring is one change: the golden set may stay in config, nothing probes a retired agent.
    spec = AgentSpec.model_validate({**AGENT, "golden": {"cases": "nowhere.yaml"}, "retired": True,
                                     "retired_on": "2026-11-01"})
    assert golden_set(spec, tmp_path) is None


@pytest.mark.parametrize("agent, message", [
    (AGENT, "case 'm' is judged by model 'openai/gpt-4.1-mini', which the agent may not call through the LLM "
            "gateway (it has no llm.gateway); name one of its gateway models or use another judge"),
    ({**AGENT, "llm": {"gateway": {"models": ["anthropic/claude-3-5-haiku"], "monthly_usd": 10}}},
     "case 'm' is judged by model 'openai/gpt-4.1-mini', which the agent may not call through the LLM "
     "gateway (llm.gateway.models allows anthropic/claude-3-5-haiku)"),
])
def test_a_judge_model_must_be_one_the_agent_may_call_through_the_gateway(tmp_path, agent, message):
    (tmp_path / "Pulumi.yaml").write_text("name: t\nruntime: python\n")
    (tmp_path / "m.yaml").write_text(
        "cases:\n  - id: m\n    expect: {model: {model: openai/gpt-4.1-mini, prompt: 'Is {answer} right?'}}\n")
    spec = AgentSpec.model_validate({**agent, "golden": {"cases": "m.yaml"}})
    with pytest.raises(ConfigError) as caught:
        golden_set(spec, tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    allowed = {**AGENT, "llm": {"gateway": {"models": ["openai/gpt-4.1-mini"], "monthly_usd": 10}},
               "golden": {"cases": "m.yaml"}}
    assert golden_set(AgentSpec.model_validate(allowed), tmp_path) is not None


# -- the CronJob in the dev plan ---------------------------------------------------------------------

ASKED = {"triage": "stacks/golden/triage.yaml", "reports": "stacks/golden/reports.yaml"}


def _job(dev, agent: str):
    return named(dev, CRON_JOB, f"maas-dev-agent-{agent}-probe").inputs


def test_the_dev_plan_probes_every_agent_that_can_be_asked(dev):
    jobs = {r.inputs["metadata"]["namespace"] for r in dev.of_type(CRON_JOB)
            if r.inputs["metadata"]["labels"][names.NAME_LABEL] == names.PROBE_APP}
    assert jobs == set(ASKED)  # research scales to zero: no golden set


@pytest.mark.parametrize("agent", sorted(ASKED))
def test_the_cronjob_runs_maas_probe_bounded_and_restricted(dev, agent):
    spec = _job(dev, agent)["spec"]
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["maas:agents"]
    agent_spec = AgentSpec.model_validate(next(a for a in config if a["name"] == agent))
    cases = load_cases(ROOT / ASKED[agent])
    assert spec["schedule"] == agent_spec.golden.schedule and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid" and 10 <= spec["startingDeadlineSeconds"] <= 300
    assert spec["successfulJobsHistoryLimit"] <= 3 and spec["failedJobsHistoryLimit"] <= 3
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == job_deadline_seconds(agent_spec, cases)
    assert run_deadline_seconds(agent_spec, cases) >= (PROBE_RETRIES + 1) * agent_spec.golden.timeout_seconds
    assert job["activeDeadlineSeconds"] <= MAX_RUN_SECONDS + 300
    pod = job["template"]["spec"]
    assert job["template"]["metadata"]["labels"][names.NAME_LABEL] == names.PROBE_APP
    assert job["template"]["metadata"]["labels"][names.AGENT_LABEL] == agent
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == names.RUN_AS
    (container,) = pod["containers"]
    assert container["securityContext"] == names.restricted_container_security_context()
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["image"] == "ghcr.io/acme/maas-probe:0.1.0" and ":latest" not in container["image"]
    args = container["args"]
    value = dict(zip(args[::2], args[1::2]))
    assert container["command"] == ["maas-probe"]
    assert value["--agent"] == agent and value["--pushgateway"] == names.PUSHGATEWAY_URL
    assert value["--base-url"] == rest_entry_url(agent_spec)
    assert value["--base-url"].startswith(f"http://{agent}.{agent}.svc")
    assert value["--timeout"] == str(agent_spec.golden.timeout_seconds)
    assert value["--concurrency"] == str(agent_spec.golden.concurrency)
    # A case judged by a model (triage's) asks the gateway with the agent's own credential; none else does.
    judged = any(case.expect.model is not None for case in cases.cases)
    assert judged is (agent == "triage")
    assert value.get("--judge-url") == (names.LLM_GATEWAY_URL if judged else None)
    assert container.get("env", []) == ([{"name": "LLM_GATEWAY_KEY", "valueFrom": {"secretKeyRef": {
        "name": f"{agent}-secrets", "key": "LLM_GATEWAY_KEY"}}}] if judged else [])
    # The mounted ConfigMap holds the validated cases.
    (volume,) = pod["volumes"]
    mount = container["volumeMounts"][0]
    assert value["--cases"] == f"{mount['mountPath']}/cases.yaml" and mount["readOnly"] is True
    config_map = named(dev, "kubernetes:core/v1:ConfigMap", f"maas-dev-agent-{agent}-probe-cases").inputs
    assert config_map["metadata"]["name"] == volume["configMap"]["name"]
    assert yaml.safe_load(config_map["data"]["cases.yaml"]) == \
        cases.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    account = named(dev, "kubernetes:core/v1:ServiceAccount", f"maas-dev-agent-{agent}-probe-service-account").inputs
    assert account["automountServiceAccountToken"] is False and account["metadata"]["name"] == pod["serviceAccountName"]


def test_the_internal_agent_is_asked_under_its_base_path_the_public_one_at_the_root(dev):
    assert rest_entry_url(AgentSpec.model_validate(AGENT)) == "http://triage.triage.svc/triage"
    public = {**AGENT, "exposure": {"kind": "public", "host": "t.example.com",
                                    "certificate_arn": "arn:aws:acm:us-east-1:111122223333:certificate/"
                                                       "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"}}
    assert rest_entry_url(AgentSpec.model_validate(public)) == "http://triage.triage.svc"


# -- network rules -----------------------------------------------------------------------------------

@pytest.mark.parametrize("agent", sorted(ASKED))
def test_the_probe_reaches_its_agent_and_the_pushgateway_and_nothing_else(dev, agent):
    port = 8080
    egress = named(dev, "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                   f"maas-dev-agent-{agent}-netpol-probe-egress").inputs["spec"]
    assert egress["podSelector"] == {"matchLabels": {names.NAME_LABEL: names.PROBE_APP}}
    assert egress["policyTypes"] == ["Egress"]
    assert egress["egress"] == [
        {"to": [{"podSelector": {"matchLabels": {names.NAME_LABEL: agent}}}], "ports": [{"protocol": "TCP", "port": port}]},
        {"to": [{"namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.MONITORING_NAMESPACE}},
                 "podSelector": {"matchLabels": {names.NAME_LABEL: names.PUSHGATEWAY}}}],
         "ports": [{"protocol": "TCP", "port": names.PUSHGATEWAY_PORT}]},
    ] + ([  # triage's golden set has a model-judged case: the gateway's proxy pods too, and no more.
        {"to": [{"namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.LLM_GATEWAY_NAMESPACE}},
                 "podSelector": {"matchLabels": {names.NAME_LABEL: names.LLM_GATEWAY_POD_NAME}}}],
         "ports": [{"protocol": "TCP", "port": names.LLM_GATEWAY_PORT}]}] if agent == "triage" else [])
    ingress = named(dev, "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                    f"maas-dev-agent-{agent}-netpol-allow-probe").inputs["spec"]
    assert ingress == probe_network_policies(AgentSpec.model_validate({**AGENT, "name": agent}))["allow-probe"]
    assert ingress["ingress"] == [{"from": [{"podSelector": {"matchLabels": {names.NAME_LABEL: names.PROBE_APP}}}],
                                   "ports": [{"protocol": "TCP", "port": port}]}]
    # No other policy of the namespace selects the probe's pods but default-deny and DNS (podSelector {}).
    others = [r.inputs["spec"]["podSelector"] for r in dev.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
              if r.inputs["metadata"]["namespace"] == agent and r.name != f"maas-dev-agent-{agent}-netpol-probe-egress"]
    assert all(s == {} or s["matchLabels"].get(names.NAME_LABEL) != names.PROBE_APP for s in others), others


def test_the_namespace_quota_has_room_for_the_probe_pod(dev):
    with_probe = named(dev, "kubernetes:core/v1:ResourceQuota", "maas-dev-agent-triage-quota").inputs["spec"]["hard"]
    without = named(dev, "kubernetes:core/v1:ResourceQuota", "maas-dev-agent-research-quota").inputs["spec"]["hard"]
    assert int(with_probe["pods"]) >= 1 and with_probe != without
