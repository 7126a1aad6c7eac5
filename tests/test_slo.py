"""SLO rules, OpenSLO, dashboards and telemetry env — proven by promtool where it counts.

``promtool check rules`` validates every rendered rule file; ``promtool test rules`` replays
synthetic series (one sample a minute) against the rules of one SLO and asserts which
burn-rate alerts fire when. promtool comes from Debian's ``prometheus`` package: ``make
promtool`` installs it, and ``make test`` (what CI runs) does that first.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from conftest import ROOT
from maas_platform.config.agents import AgentSpec
from maas_platform.slo import (
    BURN_CONDITIONS,
    RATE_WINDOWS,
    SLO,
    agent_dashboard,
    agent_slos,
    burn_threshold,
    latency_buckets,
    le_matcher,
    le_values,
    llm_budget_rules,
    openslo_documents,
    otel_environment,
    platform_dashboard,
    prometheus_rule_spec,
    rule_groups,
    rules_yaml,
)
from maas_platform.slo.rules import slo_rule_groups

RUNBOOKS = ROOT / "docs" / "runbooks"
NS = "triage"
BASE = {"name": "triage", "team": "support", "cost_center": "cc-42", "image": "ghcr.io/acme/triage:1.4.2"}
# Every objective at 99.9%: the error budget is 0.1%, the burn thresholds 1.44%, 0.6%, 0.3%, 0.1%.
STRICT = {"slos": {"availability": 0.999, "latency": {"objective": 0.999, "threshold_ms": 2000}, "accuracy": 0.999}}
ALERTS = {c.long_window: c.alert for c in BURN_CONDITIONS}  # "1h" -> "SLOErrorBudgetBurn1h" ...


def spec(**overrides: Any) -> AgentSpec:
    return AgentSpec.model_validate({**BASE, **overrides})


STRICT_SPEC = spec(**STRICT)


def one_slo(kind: str, agent: AgentSpec = STRICT_SPEC) -> SLO:
    return next(s for s in agent_slos(agent, NS) if s.name == kind)


# -- promtool --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is not installed: run `make promtool` (Debian package `prometheus`); `make test` does it")
    return path


def check_rules(promtool: str, tmp_path: Path, groups: list[dict[str, Any]], name: str = "rules.yaml") -> str:
    path = tmp_path / name
    path.write_text(rules_yaml(groups))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def run_rule_test(promtool: str, tmp_path: Path, groups: list[dict[str, Any]], test: dict[str, Any],
                  evaluation_interval: str = "1m") -> None:
    (tmp_path / "rules.yaml").write_text(rules_yaml(groups))
    document = {"rule_files": ["rules.yaml"], "evaluation_interval": evaluation_interval, "tests": [test]}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def without_descriptions(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same rules without descriptions that print ``$value`` (promtool compares annotations
    exactly; these scenarios assert *when* alerts fire, ``described`` asserts the text)."""
    groups = copy.deepcopy(groups)
    for group in groups:
        for rule in group["rules"]:
            if "$value" in rule.get("annotations", {}).get("description", ""):
                del rule["annotations"]["description"]
    return groups


# -- synthetic series ---------------------------------------------------------------------------

def fmt(value: float) -> str:
    text = repr(round(float(value), 9))
    return text[:-2] if text.endswith(".0") else text


def counter(segments: list[tuple[int, float]]) -> str:
    """promtool values of a counter from 0 growing ``rate`` per minute for ``minutes`` each segment."""
    parts, value = ["0"], 0.0
    for minutes, rate in segments:
        if minutes:
            parts.append(f"{fmt(value + rate)}+{fmt(rate)}x{minutes - 1}")
            value += rate * minutes
    return " ".join(parts)


def sli_series(kind: str, good: list[tuple[int, float]], bad: list[tuple[int, float]], le: str = "2.0") -> list[dict[str, str]]:
    """Input series of the SLI ``kind``: ``good`` and ``bad`` events per minute, by segment."""
    both = [(m, g + b) for (m, g), (_, b) in zip(good, bad)]
    if kind == "availability":
        series = {f'http_requests_total{{namespace="{NS}",code="200"}}': good,
                  f'http_requests_total{{namespace="{NS}",code="500"}}': bad}
    elif kind == "latency":
        half = [(m, g / 2) for m, g in good]
        series = {f'http_request_duration_seconds_bucket{{namespace="{NS}",le="0.5"}}': half,
                  f'http_request_duration_seconds_bucket{{namespace="{NS}",le="{le}"}}': good,
                  f'http_request_duration_seconds_bucket{{namespace="{NS}",le="+Inf"}}': both,
                  f'http_request_duration_seconds_count{{namespace="{NS}"}}': both}
    elif kind == "accuracy":
        series = {f'agent_tasks_total{{namespace="{NS}",outcome="success"}}': good,
                  f'agent_tasks_total{{namespace="{NS}",outcome="failure"}}': bad}
    else:
        raise ValueError(kind)
    return [{"series": name, "values": counter(segments)} for name, segments in series.items()]


def alert_labels(slo: SLO, window: str) -> dict[str, str]:
    condition = next(c for c in BURN_CONDITIONS if c.long_window == window)
    return {**slo.labels, "severity": condition.severity, "burn_window": window}


def expect(slo: SLO, eval_time: str, firing: dict[str, bool], annotations: Optional[dict[str, dict[str, str]]] = None) -> list[dict[str, Any]]:
    """alert_rule_test entries: for each long window, the alert fires at eval_time or not."""
    out = []
    for window, fires in firing.items():
        entry: dict[str, Any] = {"exp_labels": alert_labels(slo, window)}
        rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == ALERTS[window])
        entry["exp_annotations"] = (annotations or {}).get(window) or {
            k: v for k, v in rule["annotations"].items() if k != "description" or "$value" not in v
        }
        out.append({"eval_time": eval_time, "alertname": ALERTS[window], "exp_alerts": [entry] if fires else []})
    return out


def described(slo: SLO, window: str, value: str) -> dict[str, str]:
    """The annotations an alert renders when its expression's value prints as ``value``."""
    rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == ALERTS[window])
    annotations = dict(rule["annotations"])
    annotations["description"] = annotations["description"].replace('{{ printf "%.3g" $value }}', value)
    return annotations


ALL = ("1h", "6h", "1d", "3d")
SLI_KINDS = ("availability", "latency", "accuracy")


# -- (a) 20% errors: the 14.4x page fires within minutes ----------------------------------------

@pytest.mark.parametrize("kind", SLI_KINDS)
def test_fast_burn_pages_within_minutes(promtool, tmp_path, kind):
    slo = one_slo(kind)
    # 30 healthy minutes at 60 events/min, then 20% bad.
    series = sli_series(kind, good=[(30, 60), (20, 48)], bad=[(30, 0), (20, 12)])
    # At 35m the 1h window holds 60 bad of 2100: 0.0286 > 0.0144, and the 5m window 20%.
    # At 40m: 120 bad of 2400 = 0.05 over every long window; every condition fires.
    annotations_40m = {w: described(slo, w, "0.05") for w in ALL}
    tests = (
        expect(slo, "30m", dict.fromkeys(ALL, False))
        + expect(slo, "35m", {"1h": True}, {"1h": described(slo, "1h", "0.0286")})
        + expect(slo, "40m", dict.fromkeys(ALL, True), annotations_40m)
    )
    run_rule_test(promtool, tmp_path, slo_rule_groups(slo), {"interval": "1m", "input_series": series, "alert_rule_test": tests})


# -- (b) 1% errors (10x burn): the 6x page and the tickets fire, the 14.4x page never ------------

@pytest.mark.parametrize("kind", SLI_KINDS)
def test_ten_times_burn_pages_on_the_six_hour_window_never_the_fast_one(promtool, tmp_path, kind):
    slo = one_slo(kind)
    healthy = 360  # six healthy hours at 1000 events/min, then 1% bad for four hours
    series = sli_series(kind, good=[(healthy, 1000), (240, 990)], bad=[(healthy, 0), (240, 10)], le="2")
    t = lambda minutes: f"{healthy + minutes}m"  # noqa: E731
    tests = (
        # 30 min in: 6h window 0.083% < 0.1% — even the slowest ticket waits.
        expect(slo, t(30), {"1h": False, "6h": False, "1d": False, "3d": False})
        # 2 h in: 6h window 0.33% > 0.1% (3d ticket); 1d window 0.25% < 0.3%; 6h window < 0.6%.
        + expect(slo, t(120), {"1h": False, "6h": False, "1d": False, "3d": True})
        # 3 h in: 6h window 0.5% < 0.6%; the 1d window 0.33% > 0.3% with 2h at 1% (1d ticket).
        + expect(slo, t(180), {"1h": False, "6h": False, "1d": True, "3d": True})
        # 4 h in: 6h window 0.67% > 0.6% and 30m at 1%: the 6x page. 1h never exceeds 1% < 1.44%.
        + expect(slo, t(240), {"1h": False, "6h": True, "1d": True, "3d": True})
        + expect(slo, t(10), {"1h": False}) + expect(slo, t(60), {"1h": False})
    )
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests}, evaluation_interval="5m")


# -- (c) 0.05% errors: within budget, nothing fires over four days -------------------------------

@pytest.mark.parametrize("kind", SLI_KINDS)
def test_errors_within_budget_fire_nothing_and_leave_half_the_budget(promtool, tmp_path, kind):
    slo = one_slo(kind)
    days = 4 * 1440
    series = sli_series(kind, good=[(days, 1999)], bad=[(days, 1)])
    if kind == "availability":  # 4xx are the client's errors, not the agent's
        series.append({"series": f'http_requests_total{{namespace="{NS}",code="404"}}', "values": counter([(days, 0)])})
    tests = [t for when in ("10m", "1d", "3d", "4d") for t in expect(slo, when, dict.fromkeys(ALL, False))]
    labels = slo.labels
    remaining = {
        "expr": f'round(slo:period_error_budget_remaining:ratio{{slo="{slo.name}"}}, 0.001)',
        "eval_time": "4d",
        "exp_samples": [{"labels": "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "value": 0.5}],
    }
    burn = {
        "expr": f'round(slo:current_burn_rate:ratio{{slo="{slo.name}"}}, 0.01)',
        "eval_time": "4d",
        "exp_samples": [{"labels": remaining["exp_samples"][0]["labels"], "value": 0.5}],
    }
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests, "promql_expr_test": [remaining, burn]},
                  evaluation_interval="15m")


# -- (d) 0.2% errors (2x burn): only the 1x / 3d ticket fires -------------------------------------

@pytest.mark.parametrize("kind", SLI_KINDS)
def test_slow_burn_opens_only_the_three_day_ticket(promtool, tmp_path, kind):
    slo = one_slo(kind)
    series = sli_series(kind, good=[(480, 998)], bad=[(480, 2)])
    tests = expect(slo, "7h", {"1h": False, "6h": False, "1d": False, "3d": True}) + expect(slo, "8h", {"3d": True, "1d": False})
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests}, evaluation_interval="5m")


def test_one_times_burn_after_three_healthy_days_opens_the_ticket_once_the_window_fills(promtool, tmp_path):
    """The 1x / 3d condition on a full 3-day window: 3 healthy days, then 0.2% errors.

    The 3d window passes 0.1% after 1.5 days (0.2% x t / 3d); 6h, 1d and the pages stay quiet."""
    slo = one_slo("availability")
    healthy, bad_for = 3 * 1440, 2 * 1440
    series = sli_series("availability", good=[(healthy, 1000), (bad_for, 998)], bad=[(healthy, 0), (bad_for, 2)])
    tests = (
        expect(slo, f"{healthy + 1320}m", {"3d": False, "1d": False})   # 22 h in: 3d window 0.061%
        + expect(slo, f"{healthy + 2280}m", {"3d": True, "1d": False, "6h": False, "1h": False})  # 38 h in: 0.106%
    )
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests}, evaluation_interval="30m")


# -- probe -----------------------------------------------------------------------------------------

def test_failing_probe_pages_after_five_minutes_and_burns_the_budget(promtool, tmp_path):
    slo = one_slo("probe")
    job = f"{BASE['name']}-health"
    series = [{"series": f'probe_success{{job="{job}",instance="http://triage.triage.svc:8080/healthz"}}',
               "values": "1x30 0x20"}]
    probe_rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == "AgentProbeFailing")
    probe_alert = {"exp_labels": {**slo.labels, "severity": "page"}, "exp_annotations": probe_rule["annotations"]}
    tests = [
        {"eval_time": "30m", "alertname": "AgentProbeFailing", "exp_alerts": []},
        {"eval_time": "34m", "alertname": "AgentProbeFailing", "exp_alerts": []},  # pending since 31m
        {"eval_time": "37m", "alertname": "AgentProbeFailing", "exp_alerts": [probe_alert]},
    ] + expect(slo, "30m", {"1h": False}) + expect(slo, "40m", {"1h": True, "6h": True})
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_a_probe_that_reports_nothing_pages_too(promtool, tmp_path):
    slo = one_slo("probe")
    probe_rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == "AgentProbeFailing")
    alert = {"exp_labels": {**slo.labels, "severity": "page", "job": "triage-health"}, "exp_annotations": probe_rule["annotations"]}
    series = [{"series": 'probe_success{job="other-health"}', "values": "1x20"}]
    tests = [{"eval_time": "3m", "alertname": "AgentProbeFailing", "exp_alerts": []},
             {"eval_time": "10m", "alertname": "AgentProbeFailing", "exp_alerts": [alert]}]
    run_rule_test(promtool, tmp_path, slo_rule_groups(slo), {"interval": "1m", "input_series": series, "alert_rule_test": tests})


# -- latency bucket contract ------------------------------------------------------------------------

def test_a_histogram_without_the_threshold_bucket_opens_a_ticket(promtool, tmp_path):
    slo = one_slo("latency")
    rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == "SLOLatencyBucketMissing")
    series = [
        {"series": f'http_request_duration_seconds_bucket{{namespace="{NS}",le="{le}"}}', "values": counter([(60, rate)])}
        for le, rate in (("1.0", 50), ("2.5", 55), ("+Inf", 60))
    ] + [{"series": f'http_request_duration_seconds_count{{namespace="{NS}"}}', "values": counter([(60, 60)])}]
    alert = {"exp_labels": {**slo.labels, "severity": "ticket"}, "exp_annotations": rule["annotations"]}
    tests = [{"eval_time": "20m", "alertname": "SLOLatencyBucketMissing", "exp_alerts": []},
             {"eval_time": "40m", "alertname": "SLOLatencyBucketMissing", "exp_alerts": [alert]}]
    tests += expect(slo, "40m", dict.fromkeys(ALL, False))  # no data: the SLO itself is blind
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


@pytest.mark.parametrize("threshold_ms, formats", [
    (2000, ("2", "2.0")), (250, ("0.25",)), (1500, ("1.5",)), (10, ("0.01",)), (600_000, ("600", "600.0")),
])
def test_the_threshold_bucket_is_matched_however_the_client_formats_le(threshold_ms, formats):
    assert le_values(threshold_ms / 1000) == formats
    matcher = le_matcher(threshold_ms / 1000)
    for text in formats:
        assert re.fullmatch(matcher.split('"')[1].replace("\\\\", "\\"), text) or matcher == f'le="{text}"'
    agent = spec(slos={"latency": {"objective": 0.99, "threshold_ms": threshold_ms}})
    assert threshold_ms / 1000 in latency_buckets(agent)
    assert latency_buckets(agent) == sorted(set(latency_buckets(agent)))


# -- LLM budget --------------------------------------------------------------------------------------

def test_llm_spend_alerts_forecast_then_exceeded(promtool, tmp_path):
    agent = spec(budget={"llm_monthly_usd": 100})
    groups = [{"name": "llm", "rules": llm_budget_rules(agent, NS)}]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    labels = {"agent": "triage", "team": "support", "namespace": NS, "budget": "llm", "source": "agent-reported"}
    # 0.5 USD a minute from a fresh start. The forecast reads the last day's rate: after 2 hours
    # 60 USD / 1 day x 30 days = 1,800 USD > 100. The limit itself is passed after 200 minutes.
    series = [{"series": f'agent_llm_cost_usd_total{{namespace="{NS}",model="gpt"}}', "values": counter([(300, 0.5)])}]

    def fired(name: str, severity: str, value: str) -> dict[str, Any]:
        annotations = dict(rules[name]["annotations"])
        annotations["description"] = annotations["description"].replace('{{ $value | printf "%.2f" }}', value)
        return {"exp_labels": {**labels, "severity": severity}, "exp_annotations": annotations}

    tests = [
        {"eval_time": "50m", "alertname": "LLMBudgetForecastExceeded", "exp_alerts": []},  # pending (for: 1h)
        {"eval_time": "2h", "alertname": "LLMBudgetForecastExceeded", "exp_alerts": [fired("LLMBudgetForecastExceeded", "ticket", "1800.00")]},
        {"eval_time": "3h", "alertname": "LLMBudgetExceeded", "exp_alerts": []},  # 90 USD
        {"eval_time": "4h", "alertname": "LLMBudgetExceeded", "exp_alerts": [fired("LLMBudgetExceeded", "page", "120.00")]},
    ]
    run_rule_test(promtool, tmp_path, groups, {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_no_llm_limit_no_llm_rules():
    assert llm_budget_rules(spec(), NS) == []
    assert not [g for g in rule_groups(spec(), NS) if "llm" in g["name"]]
    assert [g["name"] for g in rule_groups(spec(budget={"llm_monthly_usd": 50}), NS)][-1] == "maas-llm-budget-triage"


# -- promtool check rules on the rendered files ----------------------------------------------------

CHECKED_SPECS = {
    "defaults": {},
    "strict": STRICT,
    "accuracy-off": {"slos": {"accuracy": None}},
    "window-30d": {"slos": {"window_days": 30, "latency": {"objective": 0.95, "threshold_ms": 250}}},
    "budgeted": {"budget": {"llm_monthly_usd": 250.5}},
    "scale-to-zero": {"messaging": {"scale_to_zero": True, "subscribes": ["tickets"]}},
}


@pytest.mark.parametrize("name", sorted(CHECKED_SPECS))
def test_promtool_accepts_the_rendered_rules(promtool, tmp_path, name):
    agent = spec(**CHECKED_SPECS[name])
    groups = rule_groups(agent, NS)
    output = check_rules(promtool, tmp_path, groups)
    assert f"SUCCESS: {sum(len(g['rules']) for g in groups)} rules found" in output
    # The PrometheusRule CR's spec is the same document.
    assert prometheus_rule_spec(agent, NS) == {"groups": groups}


def test_promtool_accepts_many_agents_in_one_file(promtool, tmp_path):
    groups = [g for i in range(5) for g in rule_groups(spec(name=f"agent-{i}", **CHECKED_SPECS["budgeted"]), f"agent-{i}")]
    check_rules(promtool, tmp_path, groups)
    assert len({g["name"] for g in groups}) == len(groups)


def test_dashboard_and_openslo_queries_are_valid_promql(promtool, tmp_path):
    """Every Prometheus query of the dashboards and OpenSLO documents, parsed by promtool."""
    agents = [spec(**STRICT), spec(name="billing", budget={"llm_monthly_usd": 10})]
    exprs = [q for a in agents for d in openslo_documents(a, a.name) for q in _openslo_queries(d)]
    for dashboard in [agent_dashboard(a, a.name, inbox_queue=f"maas-dev-{a.name}-inbox") for a in agents] + [platform_dashboard(agents)]:
        exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", []) if "expr" in t]
    assert len(exprs) > 40
    rules = [{"record": f"check:query:{i}", "expr": e.replace("$__rate_interval", "5m").replace("$agent", ".*")}
             for i, e in enumerate(exprs)]
    check_rules(promtool, tmp_path, [{"name": "queries", "rules": rules}])


def _openslo_queries(document: dict[str, Any]) -> list[str]:
    ratio = document["spec"]["indicator"]["spec"]["ratioMetric"]
    return [ratio[k]["metricSource"]["spec"]["query"] for k in ("good", "bad", "total") if k in ratio]


# -- rule structure ----------------------------------------------------------------------------------

RECORDED = {f"slo:sli_error:ratio_rate{w}" for w in RATE_WINDOWS} | {
    "slo:objective:ratio", "slo:error_budget:ratio", "slo:period_error_budget_remaining:ratio", "slo:current_burn_rate:ratio",
}


@pytest.mark.parametrize("window_days", [28, 30])
def test_each_slo_records_sloths_series_and_the_whole_window(window_days):
    agent = spec(slos={"window_days": window_days})
    for slo in agent_slos(agent, NS):
        records = {r["record"] for g in slo_rule_groups(slo) for r in g["rules"] if "record" in r}
        assert records == RECORDED | {f"slo:sli_error:ratio_rate{window_days}d"}
    names = [r["record"] for g in rule_groups(agent, NS) for r in g["rules"] if "record" in r]
    assert names.count("slo:sli_error:ratio_rate5m") == 4  # availability, latency, accuracy, probe


def test_every_series_and_alert_carries_slo_agent_team_and_namespace():
    agent = spec(team="helpdesk", budget={"llm_monthly_usd": 40})
    for group in rule_groups(agent, "triage-ns"):
        for rule in group["rules"]:
            labels = rule["labels"]
            assert labels["agent"] == "triage" and labels["team"] == "helpdesk" and labels["namespace"] == "triage-ns"
            if not group["name"].startswith("maas-llm-budget"):
                assert labels["slo"] in ("availability", "latency", "accuracy", "probe")
            if "alert" in rule:
                assert labels["severity"] in ("page", "ticket")
                assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}


@pytest.mark.parametrize("objectives", [
    {"availability": 0.999, "latency": {"objective": 0.99}, "accuracy": 0.95},
    {"availability": 0.995, "latency": {"objective": 0.9, "threshold_ms": 800}, "accuracy": 0.9},
    {"availability": 0.9999, "window_days": 30},
])
def test_burn_thresholds_are_the_factor_times_the_error_budget(objectives):
    agent = spec(slos=objectives)
    expected = {"SLOErrorBudgetBurn1h": (14.4, "1h", "5m", "page"), "SLOErrorBudgetBurn6h": (6, "6h", "30m", "page"),
                "SLOErrorBudgetBurn1d": (3, "1d", "2h", "ticket"), "SLOErrorBudgetBurn3d": (1, "3d", "6h", "ticket")}
    for slo in agent_slos(agent, NS):
        alerts = {r["alert"]: r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert", "").startswith("SLOErrorBudgetBurn")}
        assert set(alerts) == set(expected)
        for name, (factor, long, short, severity) in expected.items():
            rule = alerts[name]
            found = re.findall(r"slo:sli_error:ratio_rate(\w+)\{[^}]*\} > \(([\d.e-]+) \* ([\d.e-]+)\)", rule["expr"])
            assert [w for w, _, _ in found] == [long, short]
            for _, f, budget in found:
                assert float(f) == factor
                assert float(budget) == pytest.approx(1 - slo.objective, rel=1e-9)
                assert float(f) * float(budget) == pytest.approx(factor * (1 - slo.objective), rel=1e-9)
            assert rule["labels"]["severity"] == severity and rule["labels"]["burn_window"] == long
        assert burn_threshold(slo, BURN_CONDITIONS[0]) == pytest.approx(14.4 * (1 - slo.objective))


def test_runbook_urls_point_at_runbooks_that_exist():
    agent = spec(budget={"llm_monthly_usd": 40})
    base = "https://example.com/runbooks"
    urls = {r["annotations"]["runbook_url"] for g in rule_groups(agent, NS, runbook_base=base) for r in g["rules"] if "alert" in r}
    assert f"{base}/slo-availability.md" in urls and f"{base}/probe-failing.md" in urls
    for url in urls:
        assert url.startswith(base + "/")
        page = RUNBOOKS / url[len(base) + 1:]
        assert page.is_file(), f"{page} is missing"
        text = page.read_text()
        for section in ("What it means", "Confirm", "What to do"):
            assert section in text, f"{page.name} lacks a '{section}' section"


def test_every_shipped_alert_is_named_in_its_runbook():
    agent = spec(budget={"llm_monthly_usd": 40})
    for group in rule_groups(agent, NS):
        for rule in group["rules"]:
            if "alert" in rule:
                page = RUNBOOKS / rule["annotations"]["runbook_url"].rsplit("/", 1)[1]
                assert rule["alert"] in page.read_text(), f"{rule['alert']} is not explained in {page.name}"


def test_accuracy_off_and_scale_to_zero_drop_their_slos():
    assert [s.name for s in agent_slos(spec(), NS)] == ["availability", "latency", "accuracy", "probe"]
    assert [s.name for s in agent_slos(spec(slos={"accuracy": None}), NS)] == ["availability", "latency", "probe"]
    idle = spec(messaging={"scale_to_zero": True, "subscribes": ["tickets"]})
    assert [s.name for s in agent_slos(idle, NS)] == ["availability", "latency", "accuracy"]
    assert "probe" in [s.name for s in agent_slos(idle, NS, include_probe=True)]
    assert not [g for g in rule_groups(spec(slos={"accuracy": None}), NS) if "accuracy" in g["name"]]


def test_probe_slo_holds_the_probe_to_the_availability_objective():
    probe = one_slo("probe", spec(slos={"availability": 0.997}))
    assert probe.objective == 0.997 and probe.runbook == "probe-failing.md"
    assert 'probe_success{job="triage-health"}' in probe.error_ratio("5m")


def test_slo_validates_its_fields():
    with pytest.raises(ValueError, match="name"):
        SLO(agent="a", team="t", name="speed", objective=0.9, window_days=28, description="")
    with pytest.raises(ValueError, match="window_days"):
        SLO(agent="a", team="t", name="availability", objective=0.9, window_days=7, description="")
    with pytest.raises(ValueError, match="threshold_ms"):
        SLO(agent="a", team="t", name="latency", objective=0.9, window_days=28, description="")
    assert SLO(agent="a", team="t", name="accuracy", objective=0.9, window_days=28, description="").namespace == "a"


def test_error_ratio_reads_the_metric_contract():
    slos = {s.name: s for s in agent_slos(STRICT_SPEC, "ns1")}
    assert 'http_requests_total{namespace="ns1",code=~"5.."}[1h]' in slos["availability"].error_ratio("1h")
    assert 'http_request_duration_seconds_bucket{namespace="ns1",le=~"2|2\\\\.0"}[5m]' in slos["latency"].error_ratio("5m")
    assert 'agent_tasks_total{namespace="ns1",outcome="failure"}[3d]' in slos["accuracy"].error_ratio("3d")
    assert slos["probe"].error_ratio("30m") == '1 - avg(avg_over_time(probe_success{job="triage-health"}[30m]))'


def test_rules_yaml_round_trips_and_is_deterministic():
    groups = rule_groups(spec(budget={"llm_monthly_usd": 40}), NS)
    text = rules_yaml(groups)
    assert yaml.safe_load(text) == {"groups": groups}
    assert text == rules_yaml(rule_groups(spec(budget={"llm_monthly_usd": 40}), NS))


# -- OpenSLO ---------------------------------------------------------------------------------------------

def test_openslo_has_one_v1_document_per_slo():
    agent = spec(slos={"window_days": 30, "accuracy": None})
    documents = openslo_documents(agent, NS)
    assert [d["metadata"]["name"] for d in documents] == ["triage-availability", "triage-latency", "triage-probe"]
    for document, slo in zip(documents, agent_slos(agent, NS)):
        assert document["apiVersion"] == "openslo/v1" and document["kind"] == "SLO"
        body = document["spec"]
        assert body["service"] == "triage" and body["budgetingMethod"] == "Occurrences"
        assert body["timeWindow"] == [{"duration": "30d", "isRolling": True}]
        assert body["objectives"] == [{"displayName": slo.name, "target": slo.objective}]
        ratio = body["indicator"]["spec"]["ratioMetric"]
        assert "total" in ratio and ("good" in ratio) != ("bad" in ratio)
        assert all(ratio[k]["metricSource"]["type"] == "Prometheus" for k in ratio if k != "counter")
        assert document["metadata"]["labels"]["team"] == "support"


# -- dashboards -----------------------------------------------------------------------------------------

def test_agent_dashboard_shows_slos_traffic_latency_inbox_and_llm():
    agent = spec(**STRICT, budget={"llm_monthly_usd": 300})
    dashboard = agent_dashboard(agent, NS, inbox_queue="maas-dev-triage-inbox", region="eu-west-1")
    assert dashboard["uid"] == "agent-triage" and len(dashboard["uid"]) <= 40
    titles = [p["title"] for p in dashboard["panels"]]
    for title in ("availability (28d)", "latency budget left", "Burn rate (1h window)", "Latency percentiles",
                  "Request rate by status code", "Inbox depth (KEDA)", "Inbox (CloudWatch)",
                  "Agent-reported: tokens by model", "Agent-reported: LLM spend per hour",
                  "Agent-reported: LLM spend, last 30 days"):
        assert title in titles
    exprs = json.dumps(dashboard)
    for q in ("0.5", "0.9", "0.99"):
        assert f"histogram_quantile({q}," in exprs
    cloudwatch = next(p for p in dashboard["panels"] if p["title"] == "Inbox (CloudWatch)")
    assert {t["metricName"] for t in cloudwatch["targets"]} == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    assert all(t["dimensions"] == {"QueueName": "maas-dev-triage-inbox"} and t["namespace"] == "AWS/SQS" for t in cloudwatch["targets"])
    ids = [p["id"] for p in dashboard["panels"]]
    assert ids == list(range(1, len(ids) + 1))
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dashboard["panels"])
    assert "Inbox (CloudWatch)" not in [p["title"] for p in agent_dashboard(agent, NS)["panels"]]


def test_dashboards_are_deterministic():
    agents = [spec(), spec(name="billing", team="finance", budget={"llm_monthly_usd": 10})]
    render = lambda: json.dumps([agent_dashboard(a, a.name) for a in agents] + [platform_dashboard(agents)], sort_keys=True)  # noqa: E731
    assert render() == render()
    assert json.dumps(platform_dashboard(agents)) == json.dumps(platform_dashboard(list(reversed(agents))))


def test_platform_dashboard_lists_agents_in_an_agent_variable():
    agents = [spec(name="triage"), spec(name="billing", team="finance", budget={"llm_monthly_usd": 10},
                                        llm={"gateway": {"models": ["openai/gpt-4.1-mini"]}})]
    dashboard = platform_dashboard(agents)
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "agent")
    assert variable["query"] == "billing,triage" and variable["multi"] and variable["includeAll"]
    text = json.dumps(dashboard)
    assert 'agent=~\\"$agent\\"' in text and "Gateway spend against limit" in text
    budget_panel = next(p for p in dashboard["panels"] if p["title"] == "Gateway spend against limit")
    assert [t["legendFormat"] for t in budget_panel["targets"]] == ["billing"]


# -- telemetry env ----------------------------------------------------------------------------------------

def test_otel_environment_is_the_documented_contract():
    env = otel_environment("triage", "support", "prod")
    assert env == [
        {"name": "OTEL_SERVICE_NAME", "value": "triage"},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": "service.namespace=support,deployment.environment=prod,maas.agent=triage"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.monitoring.svc:4317"},
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "grpc"},
        {"name": "OTEL_TRACES_SAMPLER", "value": "parentbased_traceidratio"},
        {"name": "OTEL_TRACES_SAMPLER_ARG", "value": "0.1"},
        {"name": "OTEL_PROPAGATORS", "value": "tracecontext,baggage"},
    ]
    contract = (ROOT / "docs" / "metric-contract.md").read_text()
    for item in env:
        assert item["name"] in contract
    assert "otel-collector.monitoring.svc:4317" in contract


def test_metric_contract_names_every_metric_the_rules_read():
    contract = (ROOT / "docs" / "metric-contract.md").read_text()
    for metric in ("http_requests_total", "http_request_duration_seconds_bucket", "agent_tasks_total",
                   "agent_llm_tokens_total", "agent_llm_cost_usd_total", "probe_success"):
        assert metric in contract


def test_make_test_installs_promtool_first():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:.*\bsystem-tools\b", makefile, re.M)
    assert re.search(r"^system-tools:", makefile, re.M) and "promtool:prometheus" in makefile
