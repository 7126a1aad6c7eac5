"""The canary analysis's PromQL: it parses, it reads only what the SLO rules record, and promtool
shows it fails a version with 5 % errors, passes one with 0.1 %, and gates a spent budget for a
feature but not for a fix (slo/analysis.py, components/agent/rollout.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conftest import ROOT
from maas_platform import names
from maas_platform.components.agent.rollout import burn_template_spec, gate_template_spec
from maas_platform.config.agents import AgentSpec
from maas_platform.config.loader import read_stack_file
from maas_platform.plan import Plan, plan_project
from maas_platform.slo import rule_groups, rules_yaml
from maas_platform.slo.analysis import (
    BURN_THRESHOLD, analysis_queries, budget_gate_query, burn_conditions, burn_metrics, burn_query, golden_window,
)
from maas_platform.slo.model import agent_slos
from test_slo import counter, promtool  # noqa: F401  (promtool: the session fixture)

ANALYSIS_TEMPLATE = "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
NS = "triage"
AGENT = AgentSpec.model_validate({"name": NS, "team": "support", "cost_center": "cc-42", "image": "ghcr.io/acme/triage:1.4.2",
                                  "golden": {"cases": "stacks/golden/triage.yaml"}})
ENVIRONMENTS = ("dev", "staging", "prod")
# Metric names in a query: an identifier right before its label matchers.
SERIES = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(ROOT / "stacks" / "teams" / "example", stack="dev")


def templates(plan: Plan) -> list[dict[str, Any]]:
    return [r.inputs for r in plan.of_type(ANALYSIS_TEMPLATE)]


def queries(template: dict[str, Any]) -> Iterator[str]:
    for metric in template["spec"]["metrics"]:
        yield metric["provider"]["prometheus"]["query"]


def shipped_agents() -> list[AgentSpec]:
    """The agents of the shipped dev stack, as its config states them."""
    return [AgentSpec.model_validate(agent) for agent in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")["maas:agents"]]


def every_query(plans: dict[str, Plan], team: Plan) -> dict[str, str]:
    """Every query of every planned AnalysisTemplate, and of the shipped dev agents' templates as each
    environment renders them (staging and prod ship no agents of their own)."""
    found = {f"{plan_name}/{t['metadata']['namespace']}/{t['metadata']['name']}/{i}": q
             for plan_name, plan in [*plans.items(), ("team", team)] for t in templates(plan)
             for i, q in enumerate(queries(t))}
    for agent in shipped_agents():
        for environment in ENVIRONMENTS:
            for template in (gate_template_spec(agent), burn_template_spec(agent, environment)):
                for metric in template["metrics"]:
                    found[f"{environment}/{agent.name}/{metric['name']}"] = metric["provider"]["prometheus"]["query"]
    return found


def recorded(plans: dict[str, Plan], team: Plan) -> set[str]:
    """Every series name a PrometheusRule of the plans records."""
    names_ = set()
    for plan in [*plans.values(), team]:
        for rule in plan.of_type(PROMETHEUS_RULE):
            for group in rule.inputs["spec"]["groups"]:
                names_ |= {r["record"] for r in group["rules"] if "record" in r}
    return names_


# -- every query ---------------------------------------------------------------------------------

def test_the_shipped_agents_have_analysis_templates_to_check(dev, team):
    assert len(templates(dev)) == 6 and len(templates(team)) == 4
    assert shipped_agents(), "the shipped configs name agents"


def test_every_query_of_every_analysis_template_parses(promtool, tmp_path, plans, team):  # noqa: F811
    found = every_query(plans, team)
    rules = [{"record": "analysis:query", "expr": query, "labels": {"query": key}} for key, query in sorted(found.items())]
    path = tmp_path / "analysis.yaml"
    path.write_text(rules_yaml([{"name": "analysis", "rules": rules}]))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_every_query_reads_only_series_the_slo_rules_record(plans, team):
    made = recorded(plans, team)
    assert {"slo:sli_error:ratio_rate5m", names.SLO_BUDGET_REMAINING, "slo:objective:ratio"} <= made
    for key, query in every_query(plans, team).items():
        read = set(SERIES.findall(query))
        assert read and read <= made, f"{key} reads {sorted(read - made)}, which no rule records"


def test_the_golden_window_holds_a_whole_probe_period():
    slos = {s.name: s for s in agent_slos(AGENT, NS)}
    assert golden_window(slos["golden"]) == "5m"  # every 5 minutes (the default schedule)
    every_quarter = AgentSpec.model_validate({**AGENT.model_dump(), "golden": {"cases": "stacks/golden/triage.yaml",
                                                                             "schedule": "*/15 * * * *"}})
    golden = next(s for s in agent_slos(every_quarter, NS) if s.name == "golden")
    assert golden_window(golden) == "30m"
    (metric,) = [m for m in burn_metrics(every_quarter, NS) if m.slo.name == "golden"]
    assert metric.initial_delay_seconds == metric.interval_seconds == 900, "a run of the new version comes first"


def test_without_data_prod_pauses_and_the_others_pass():
    success, failure = burn_conditions("prod")
    assert "isNaN" not in success and failure == f"result[0] > {BURN_THRESHOLD:g}"
    for environment in ("dev", "staging"):
        assert burn_conditions(environment)[0].startswith("isNaN(result[0]) ||")


# -- promtool: the queries over the agent's own recording rules ----------------------------------

def run(promtool: str, tmp_path: Path, series: list[dict[str, str]], tests: list[dict[str, Any]],  # noqa: F811
        spec: AgentSpec = AGENT, namespace: str = NS) -> None:
    (tmp_path / "rules.yaml").write_text(rules_yaml(rule_groups(spec, namespace)))
    document = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}]}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def traffic(error_share: float, minutes: int = 60, per_minute: int = 1000) -> list[dict[str, str]]:
    """Raw request metrics of the agent: ``per_minute`` requests, ``error_share`` of them 5xx and as
    many slower than the latency threshold (2 s)."""
    bad = per_minute * error_share
    good = per_minute - bad
    def series(name: str, rate: float) -> dict[str, str]:
        return {"series": name, "values": counter([(minutes, rate)])}
    return [
        series(f'http_requests_total{{namespace="{NS}",code="200"}}', good),
        series(f'http_requests_total{{namespace="{NS}",code="500"}}', bad),
        series(f'http_request_duration_seconds_bucket{{namespace="{NS}",le="2.0"}}', good),
        series(f'http_request_duration_seconds_bucket{{namespace="{NS}",le="+Inf"}}', per_minute),
        series(f'http_request_duration_seconds_count{{namespace="{NS}"}}', per_minute),
    ]


def verdict(query: str, at: str, crosses: bool, threshold: float = BURN_THRESHOLD) -> dict[str, Any]:
    """``query`` above ``threshold`` at ``at`` (1) or not (0)."""
    return {"expr": f"({query}) > bool {threshold:g}", "eval_time": at,
            "exp_samples": [{"labels": "{}", "value": 1 if crosses else 0}]}


BURN = {s.name: burn_query(s) for s in agent_slos(AGENT, NS) if s.name in ("availability", "latency")}


@pytest.mark.parametrize("kind", sorted(BURN))
def test_a_version_with_five_percent_errors_crosses_the_burn_threshold(promtool, tmp_path, kind):  # noqa: F811
    run(promtool, tmp_path, traffic(0.05), [verdict(BURN[kind], "10m", True), verdict(BURN[kind], "30m", True)])


@pytest.mark.parametrize("kind", sorted(BURN))
def test_a_healthy_version_stays_under_the_burn_threshold(promtool, tmp_path, kind):  # noqa: F811
    run(promtool, tmp_path, traffic(0.001), [verdict(BURN[kind], "10m", False), verdict(BURN[kind], "30m", False)])


def test_a_window_without_requests_reads_nan_and_missing_rules_read_nothing(promtool, tmp_path):  # noqa: F811
    query = BURN["availability"]
    # Counters that stopped moving: 0/0 over the last 5 minutes, while the rules run.
    idle = [{"series": f'http_requests_total{{namespace="{NS}",code="200"}}', "values": "0 10 20 " + " ".join(["30"] * 30)}]
    other = AgentSpec.model_validate({**AGENT.model_dump(), "name": "other"})
    tests = [
        {"expr": f"count({query})", "eval_time": "20m", "exp_samples": [{"labels": "{}", "value": 1}]},
        {"expr": f"({query}) == ({query})", "eval_time": "20m", "exp_samples": []},  # NaN equals nothing
    ]
    run(promtool, tmp_path, idle, tests)
    # Prometheus evaluates another agent's rules but not this one's: no sample, the measurement errors.
    (tmp_path / "other").mkdir()
    run(promtool, tmp_path / "other", idle, [{"expr": query, "eval_time": "20m", "exp_samples": []}],
        spec=other, namespace="other")


def gate(change: str) -> str:
    return budget_gate_query(AGENT, NS, change)


def test_the_budget_gate_stops_a_feature_on_a_spent_budget_and_lets_a_fix_through(promtool, tmp_path):  # noqa: F811
    # An hour of 5 % errors spends the availability budget (0.5 % over 30 days) nine times over.
    tests = [verdict(gate("feature"), "60m", False, 0), verdict(gate("fix"), "60m", True, 0)]
    run(promtool, tmp_path, traffic(0.05), tests)


def test_the_budget_gate_lets_a_feature_through_with_budget_left(promtool, tmp_path):  # noqa: F811
    run(promtool, tmp_path, traffic(0.001), [verdict(gate("feature"), "60m", True, 0)])


def test_the_budget_gate_reads_a_budget_never_touched_as_whole_and_fails_without_rules(promtool, tmp_path):  # noqa: F811
    # No request at all in the SLO window: no budget series, while the agent's rules run.
    run(promtool, tmp_path, [{"series": 'up{job="x"}', "values": "1x60"}],
        [{"expr": gate("feature"), "eval_time": "30m", "exp_samples": [{"labels": "{}", "value": 1}]}])
    other = AgentSpec.model_validate({**AGENT.model_dump(), "name": "other"})
    (tmp_path / "other").mkdir()
    run(promtool, tmp_path / "other", [{"series": 'up{job="x"}', "values": "1x60"}],
        [{"expr": gate("fix"), "eval_time": "30m", "exp_samples": []}], spec=other, namespace="other")


def test_every_analysis_query_is_one_of_the_agents_own(plans, team):
    """The pure functions and the plan agree: a planned template holds exactly the agent's queries."""
    for plan in [*plans.values(), team]:
        for template in templates(plan):
            namespace = template["metadata"]["namespace"]
            for query in queries(template):
                assert f'namespace="{namespace}"' in query
    assert set(analysis_queries(AGENT, NS)) == {"availability-burn", "latency-burn", "golden-burn", "error-budget"}
