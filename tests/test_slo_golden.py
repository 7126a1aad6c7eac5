"""The golden SLO: wrong answers to the golden set burn its budget; a probe that cannot run never does.

The probe pushes, per run, gauges of the last run to the Pushgateway; Prometheus samples them on
every scrape until the next push. These series replay that: one value a minute, a new run every
5 minutes (the default schedule), ``maas_probe_last_run_timestamp_seconds`` the run's time.
promtool replays them against the rendered rules and asserts which alerts fire when.

Arithmetic at the default objective 0.995 (error budget 0.5 %), six healthy hours first:

* 20 % wrong: the 1h window passes 14.4 x 0.5 % = 7.2 % once bad samples fill 36 % of it, about
  22 minutes after the first bad run (the 5m window is at 20 % at once): the 1h page fires then.
  The 6h window passes 6 x 0.5 % = 3 % after 15 % of six hours (about 54 minutes): the 6h page.
* 2 % wrong: never a page (2 % < 3 %). The 3d ticket (1 x 0.5 %): the 3d window, six healthy
  hours then t hours at 2 %, passes 0.5 % at t = 2 h (its 6h short window after 1.5 h); the 1d
  ticket (3 x 0.5 % = 1.5 %) at t = 18 h (2 % x 18 / 24).
"""

from __future__ import annotations

from typing import Any, Optional

import pytest
from test_slo import ALERTS, described, expect, promtool, run_rule_test, spec, without_descriptions  # noqa: F401

from maas_platform import names
from maas_platform.slo import SLO, agent_slos, openslo_documents, rule_groups, schedule_period_seconds
from maas_platform.slo.rules import slo_rule_groups

NS = "triage"
AGENT = spec(golden={"cases": "golden/triage.yaml"})
PERIOD_MIN = 5
# The Pushgateway's series as Prometheus stores them (honorLabels: job and agent are the pushed ones).
TARGET = 'namespace="monitoring",service="prometheus-pushgateway"'


def golden_slo(agent=AGENT) -> SLO:
    return next(s for s in agent_slos(agent, NS) if s.name == "golden")


def runs(segments: list[tuple[int, Optional[dict[str, float]]]], agent: str = "triage", *,
         up: Optional[list[tuple[int, int]]] = None, stop_at: Optional[int] = None) -> list[dict[str, str]]:
    """Per-minute samples of the probe's gauges. ``segments``: (minutes, {outcome: cases} of each run
    in them, or None when runs push no case counts). A run every ``PERIOD_MIN`` minutes; from
    ``stop_at`` no run pushes any more and the Pushgateway keeps the last push."""
    counts: list[Optional[dict[str, float]]] = [c for minutes, c in segments for _ in range(minutes)]
    total = len(counts)
    last_run: list[int] = []
    held: list[Optional[dict[str, float]]] = []
    current: Optional[dict[str, float]] = None
    pushed = 0
    for minute in range(total):
        if minute % PERIOD_MIN == 0 and (stop_at is None or minute <= stop_at):
            current, pushed = counts[minute], minute
        held.append(current)
        last_run.append(pushed * 60)
    up_values = [v for minutes, v in (up or [(total, 1)]) for _ in range(minutes)]
    base = f'job="{names.PROBE_JOB}",agent="{agent}",{TARGET}'
    out = [
        {"series": f"{names.PROBE_LAST_RUN_METRIC}{{{base}}}", "values": " ".join(str(v) for v in last_run)},
        {"series": f"{names.PROBE_UP_METRIC}{{{base}}}", "values": " ".join(str(v) for v in up_values)},
    ]
    for outcome in names.PROBE_OUTCOMES:
        values = ["_" if h is None else str(h.get(outcome, 0)) for h in held]
        out.append({"series": f'{names.PROBE_CASES_METRIC}{{{base},outcome="{outcome}"}}', "values": " ".join(values)})
    return out


def probe_alert(slo: SLO, name: str) -> dict[str, Any]:
    rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == name)
    annotations = {k: v for k, v in rule["annotations"].items() if "$value" not in v}
    return {"exp_labels": {**slo.labels, "severity": "ticket"}, "exp_annotations": annotations}


def quiet(slo: SLO, *times: str) -> list[dict[str, Any]]:
    return [t for when in times for t in expect(slo, when, dict.fromkeys(("1h", "6h", "1d", "3d"), False))]


HEALTHY = {"pass": 20, "fail": 0, "error": 0}
HOURS6 = 360


# -- wrong answers ------------------------------------------------------------------------------------

def test_twenty_percent_wrong_answers_page_about_22_minutes_after_onset(promtool, tmp_path):
    slo = golden_slo()
    series = runs([(HOURS6, HEALTHY), (70, {"pass": 16, "fail": 4, "error": 0})])
    t = lambda minutes: f"{HOURS6 + minutes}m"  # noqa: E731
    tests = (
        quiet(slo, t(-5), t(0))
        # 15 min in: the 1h window holds 16 bad samples of 61: 4 x 16 / (20 x 61) = 5.2 % < 7.2 %.
        + expect(slo, t(15), {"1h": False, "6h": False})
        # 25 min in: 26 of 61 bad: 8.5 % > 7.2 %, and 20 % over 5m: the 1h page.
        + expect(slo, t(25), {"1h": True, "6h": False}, {"1h": described(slo, "1h", "0.0852")})
        # 60 min in: the 6h window at 4 x 61 / (20 x 361) = 3.4 % > 3 %: the 6h page too.
        + expect(slo, t(60), {"1h": True, "6h": True},
                 {"1h": described(slo, "1h", "0.2"), "6h": described(slo, "6h", "0.0338")})
    )
    run_rule_test(promtool, tmp_path, slo_rule_groups(slo),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_two_percent_wrong_answers_open_tickets_and_never_page(promtool, tmp_path):
    slo = golden_slo()
    cases = {"pass": 49, "fail": 1, "error": 0}  # 2 % of 50
    series = runs([(HOURS6, {"pass": 50}), (20 * 60, cases)])
    t = lambda hours: f"{HOURS6 + hours * 60}m"  # noqa: E731
    tests = (
        expect(slo, t(1), {"1h": False, "6h": False, "1d": False, "3d": False})   # 3d window 0.29 %
        + expect(slo, t(3), {"1h": False, "6h": False, "1d": False, "3d": True})  # 0.67 % > 0.5 %
        + expect(slo, t(12), {"1h": False, "6h": False, "1d": False, "3d": True})  # 1d window 1.33 %
        + expect(slo, t(17), {"1h": False, "6h": False, "1d": False, "3d": True})  # 1.48 % < 1.5 %
        + expect(slo, t(20), {"1h": False, "6h": False, "1d": True, "3d": True})   # 1.54 % > 1.5 %
    )
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests}, evaluation_interval="5m")


# -- the probe cannot run -----------------------------------------------------------------------------

def test_a_probe_that_reaches_no_answer_tickets_and_burns_nothing(promtool, tmp_path):
    """From 60m every case ends in error (``maas_probe_up`` 0): GoldenProbeNotRunning after its 10
    minutes, GoldenProbeErrors once errors pass 10 % of the hour and its 30 minutes, no burn alert."""
    slo = golden_slo()
    series = runs([(60, HEALTHY), (120, {"error": 20})], up=[(60, 1), (120, 0)])
    tests = quiet(slo, "65m", "90m", "170m") + [
        {"eval_time": "65m", "alertname": "GoldenProbeNotRunning", "exp_alerts": []},
        {"eval_time": "75m", "alertname": "GoldenProbeNotRunning", "exp_alerts": [probe_alert(slo, "GoldenProbeNotRunning")]},
        {"eval_time": "90m", "alertname": "GoldenProbeErrors", "exp_alerts": []},
        {"eval_time": "110m", "alertname": "GoldenProbeErrors", "exp_alerts": [probe_alert(slo, "GoldenProbeErrors")]},
    ]
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_a_probe_that_never_pushed_tickets_and_burns_nothing(promtool, tmp_path):
    slo = golden_slo()
    series = runs([(60, {"pass": 20, "fail": 20})], agent="billing")  # another agent's probe only
    alert = probe_alert(slo, "GoldenProbeNotRunning")
    tests = quiet(slo, "30m", "60m") + [
        {"eval_time": "5m", "alertname": "GoldenProbeNotRunning", "exp_alerts": []},
        {"eval_time": "15m", "alertname": "GoldenProbeNotRunning", "exp_alerts": [alert]},
    ]
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_a_stopped_probe_stops_burning_and_tickets_instead(promtool, tmp_path):
    """Bad answers page; then the probe stops at 120m and the Pushgateway keeps its last (bad) push.
    That result counts until 135m (3 periods); each burn alert ends once its short window holds
    no counted sample: the 1h page by 141m (5m), the 6h page by 166m (30m), the 1d ticket by
    256m (2h), the 3d ticket by 496m (6h) — instead of burning for as long as the push stands.
    GoldenProbeNotRunning fires meanwhile (stale from 136m, for 10m)."""
    slo = golden_slo()
    series = runs([(60, HEALTHY), (460, {"pass": 16, "fail": 4})], stop_at=120)
    tests = (
        expect(slo, "110m", {"1h": True})
        + expect(slo, "150m", {"1h": False}) + expect(slo, "170m", {"1h": False, "6h": False})
        + expect(slo, "260m", {"1h": False, "6h": False, "1d": False}) + quiet(slo, "500m", "519m")
        + [
            {"eval_time": "130m", "alertname": "GoldenProbeNotRunning", "exp_alerts": []},
            {"eval_time": "150m", "alertname": "GoldenProbeNotRunning", "exp_alerts": [probe_alert(slo, "GoldenProbeNotRunning")]},
            {"eval_time": "500m", "alertname": "GoldenProbeNotRunning", "exp_alerts": [probe_alert(slo, "GoldenProbeNotRunning")]},
        ]
    )
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_another_source_of_the_probe_metrics_is_not_counted(promtool, tmp_path):
    """The agent's own scrape of a series named like the probe's carries its own job (honor_labels
    false), and another agent's probe its own agent label: neither moves the SLI."""
    slo = golden_slo()
    series = runs([(120, HEALTHY)]) + [
        {"series": f'{names.PROBE_CASES_METRIC}{{job="triage",agent="triage",namespace="triage",outcome="fail"}}',
         "values": "50x120"},
    ] + [s for s in runs([(120, {"pass": 0, "fail": 20})], agent="billing") if "cases" in s["series"]]
    value = {"expr": 'slo:sli_error:ratio_rate1h{slo="golden"}', "eval_time": "100m",
             "exp_samples": [{"labels": "slo:sli_error:ratio_rate1h{" + ",".join(f'{k}="{v}"' for k, v in slo.labels.items()) + "}",
                              "value": 0}]}
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": quiet(slo, "100m"),
                   "promql_expr_test": [value]})


# -- rules, budget, OpenSLO -----------------------------------------------------------------------------

def test_budget_exhausted_tickets_after_an_hour(promtool, tmp_path):
    """A golden set answered 10 % wrong for a day (28d window, 0.5 % budget): the window's ratio is
    10 % x 1 / 1 = 10 %, twenty times the budget, so it is spent at once; the ticket fires after 1h."""
    slo = golden_slo()
    series = runs([(180, {"pass": 18, "fail": 2})])
    rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == "SLOErrorBudgetExhausted")
    alert = {"exp_labels": {**slo.labels, "severity": "ticket"},
             "exp_annotations": {k: v for k, v in rule["annotations"].items() if k != "description"}}
    tests = [{"eval_time": "50m", "alertname": "SLOErrorBudgetExhausted", "exp_alerts": []},
             {"eval_time": "90m", "alertname": "SLOErrorBudgetExhausted", "exp_alerts": [alert]}]
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


@pytest.mark.parametrize("schedule, seconds", [
    ("*/5 * * * *", 300), ("*/15 * * * *", 900), ("0 * * * *", 3600), ("15 */6 * * *", 21600),
    ("0,30 * * * *", 1800), ("*/7 * * * *", 420), ("0 9 * * 1-5", 3 * 86400), ("0 0 1 * *", 31 * 86400),
    ("*/5 9-17 * * MON-FRI", 86400),
])
def test_schedule_period_is_the_longest_gap_between_runs(schedule, seconds):
    assert schedule_period_seconds(schedule) == seconds


def test_golden_rules_read_the_probe_and_only_agents_with_a_golden_set_get_them():
    assert "golden" not in [s.name for s in agent_slos(spec(), NS)]
    slo = golden_slo(spec(golden={"cases": "g.yaml", "schedule": "*/15 * * * *", "objective": 0.99}))
    assert slo.objective == 0.99 and slo.period_seconds == 900 and slo.runbook == "slo-golden.md"
    groups = slo_rule_groups(slo)
    fresh = groups[0]["rules"][0]
    assert fresh["record"] == "slo:golden_probe_cases:fresh"
    assert 'maas_probe_cases{job="maas-probe",agent="triage"}' in fresh["expr"] and "<= 2700" in fresh["expr"]
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    assert set(alerts) == set(ALERTS.values()) | {"GoldenProbeNotRunning", "GoldenProbeErrors", "SLOErrorBudgetExhausted"}
    assert alerts["GoldenProbeNotRunning"]["for"] == "30m" and "> 2700" in alerts["GoldenProbeNotRunning"]["expr"]
    assert all(a["labels"]["severity"] == "ticket" for n, a in alerts.items() if not n.startswith("SLOErrorBudgetBurn"))
    names_in_rule_groups = [g["name"] for g in rule_groups(AGENT, NS)]
    assert names_in_rule_groups[-2:] == ["maas-slo-triage-golden", "maas-slo-triage-golden-period"]


def test_accuracy_is_labelled_agent_reported_and_golden_measured():
    slos = {s.name: s for s in agent_slos(AGENT, NS)}
    assert "agent-reported" in slos["accuracy"].description and slos["accuracy"].title == "accuracy, agent-reported"
    assert "probe" in slos["golden"].description and "golden/triage.yaml" in slos["golden"].description


def test_openslo_golden_document_reads_gauges():
    (document,) = [d for d in openslo_documents(AGENT, NS) if d["metadata"]["name"] == "triage-golden"]
    ratio = document["spec"]["indicator"]["spec"]["ratioMetric"]
    assert ratio["counter"] is False and set(ratio) == {"counter", "bad", "total"}
    assert ratio["bad"]["metricSource"]["spec"]["query"] == 'sum(maas_probe_cases{job="maas-probe",agent="triage",outcome="fail"})'
    assert document["spec"]["objectives"] == [{"displayName": "golden", "target": 0.995}]
