"""Flow SLOs: requests that cross agents, measured from what the entry and the last agent count.

promtool replays the entry agent's ``maas_flow_started_total`` (namespace ``triage``) and the last
agent's ``maas_flow_completed_total`` / ``maas_flow_duration_seconds`` (namespace ``billing``), six
healthy hours first, 100 flows a minute, then the change.

Arithmetic at availability 0.99 (budget 1 %):

* 20 % of flows lost (started, never completed): the 1h window passes 14.4 % once bad minutes fill
  72 % of it, about 44 minutes after the onset: the 1h page. The 6h page (6 %) after 30 % of six
  hours, about 108 minutes.
* 2 % lost: never a page (2 % < 6 %), never the 1d ticket (2 % < 3 %); the 3d ticket (1 %): the
  3d window, six healthy hours then t hours at 2 %, passes 1 % at t = 6 h (its 6h short window
  after 3 h).

Latency at objective 0.99 (budget 1 %), 20 % of completions slower than the threshold: the same
arithmetic as the 20 % loss: the 1h page after about 44 minutes. (At the default 0.95, 20 % slow
is 4 x the budget: the 1d and 3d tickets, no page; docs/slos.md.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_slo import check_rules, counter, promtool, run_rule_test, without_descriptions  # noqa: F401

from maas_platform.config.flows import FlowSpec
from maas_platform.slo import (
    flow_dashboard,
    flow_dashboard_uid,
    flow_openslo_documents,
    flow_rule_groups,
    flow_slos,
)
from maas_platform.slo.flows import FlowSLO
from maas_platform.slo.rules import slo_rule_groups

ENTRY, LAST = "triage", "billing"
WHERE = {"team": "support", "entry_namespace": ENTRY, "last_namespace": LAST}
ALL = ("1h", "6h", "1d", "3d")
WINDOW_ALERT = {"1h": ("SLOErrorBudgetBurn1h", "page"), "6h": ("SLOErrorBudgetBurn6h", "page"),
                "1d": ("SLOErrorBudgetBurn1d", "ticket"), "3d": ("SLOErrorBudgetBurn3d", "ticket")}
HEALTHY = 360


def flow(**overrides: Any) -> FlowSpec:
    body = {"name": "refund", "entry": ENTRY, "hops": [{"topic": "refunds", "to": "ledger"}, {"topic": "ledger", "to": LAST}],
            "latency": {"threshold_ms": 2000}, **overrides}
    return FlowSpec.model_validate(body)


def one(kind: str, spec: FlowSpec) -> FlowSLO:
    return next(s for s in flow_slos(spec, **WHERE) if s.kind == kind)


def expect(slo: FlowSLO, when: str, firing: dict[str, bool]) -> list[dict[str, Any]]:
    out = []
    for window, fires in firing.items():
        alertname, severity = WINDOW_ALERT[window]
        rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == alertname)
        entry = {"exp_labels": {**slo.labels, "severity": severity, "burn_window": window},
                 "exp_annotations": {k: v for k, v in rule["annotations"].items() if k != "description"}}
        out.append({"eval_time": when, "alertname": alertname, "exp_alerts": [entry] if fires else []})
    return out


def availability_series(started: list[tuple[int, float]], success: list[tuple[int, float]],
                        namespace_started: str = ENTRY, namespace_done: str = LAST) -> list[dict[str, str]]:
    return [
        {"series": f'maas_flow_started_total{{namespace="{namespace_started}",flow="refund",pod="triage-0"}}',
         "values": counter(started)},
        {"series": f'maas_flow_completed_total{{namespace="{namespace_done}",flow="refund",outcome="success"}}',
         "values": counter(success)},
        {"series": f'maas_flow_completed_total{{namespace="{namespace_done}",flow="refund",outcome="failure"}}',
         "values": counter([(m, 0) for m, _ in success])},
    ]


def latency_series(fast: list[tuple[int, float]], total: list[tuple[int, float]]) -> list[dict[str, str]]:
    base = f'namespace="{LAST}",flow="refund"'
    return [
        {"series": f'maas_flow_duration_seconds_bucket{{{base},le="1.0"}}', "values": counter([(m, v / 2) for m, v in fast])},
        {"series": f'maas_flow_duration_seconds_bucket{{{base},le="2.0"}}', "values": counter(fast)},
        {"series": f'maas_flow_duration_seconds_bucket{{{base},le="+Inf"}}', "values": counter(total)},
        {"series": f'maas_flow_duration_seconds_count{{{base}}}', "values": counter(total)},
    ]


def test_a_fifth_of_flows_lost_pages_about_44_minutes_after_onset(promtool, tmp_path):
    slo = one("availability", flow())
    series = availability_series([(HEALTHY + 120, 100)], [(HEALTHY, 100), (120, 80)])
    t = lambda minutes: f"{HEALTHY + minutes}m"  # noqa: E731
    tests = (
        expect(slo, t(0), dict.fromkeys(ALL, False))
        + expect(slo, t(35), {"1h": False, "6h": False})   # 1h window at 20 % x 35/60 = 11.7 % < 14.4 %
        + expect(slo, t(50), {"1h": True, "6h": False})    # 16.7 %: the 1h page
        + expect(slo, t(115), {"1h": True, "6h": True})    # 6h window 20 % x 115/360 = 6.4 % > 6 %
    )
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_two_percent_lost_opens_the_ticket_and_never_pages(promtool, tmp_path):
    slo = one("availability", flow())
    series = availability_series([(HEALTHY + 480, 100)], [(HEALTHY, 100), (480, 98)])
    t = lambda hours: f"{HEALTHY + hours * 60}m"  # noqa: E731
    tests = (
        expect(slo, t(1), dict.fromkeys(ALL, False))
        + expect(slo, t(5), dict.fromkeys(ALL, False))                              # 3d window 0.91 %
        + expect(slo, t(7), {"1h": False, "6h": False, "1d": False, "3d": True})    # 1.08 % > 1 %
        + expect(slo, t(8), {"1h": False, "6h": False, "1d": False, "3d": True})
    )
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests}, evaluation_interval="5m")


def test_a_fifth_of_flows_too_slow_pages_the_latency_slo(promtool, tmp_path):
    slo = one("latency", flow(latency={"threshold_ms": 2000, "objective": 0.99}))
    series = latency_series([(HEALTHY, 100), (120, 80)], [(HEALTHY + 120, 100)])
    t = lambda minutes: f"{HEALTHY + minutes}m"  # noqa: E731
    tests = (
        expect(slo, t(0), dict.fromkeys(ALL, False))
        + expect(slo, t(35), {"1h": False})
        + expect(slo, t(50), {"1h": True, "6h": False})
    )
    run_rule_test(promtool, tmp_path, without_descriptions(slo_rule_groups(slo)),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_a_series_from_another_namespace_changes_nothing(promtool, tmp_path):
    """Another agent counts flows of the same name, starts without completions (its own namespace):
    the SLI stays at 0 and nothing fires."""
    availability, latency = one("availability", flow()), one("latency", flow())
    series = (
        availability_series([(240, 100)], [(240, 100)])
        + availability_series([(240, 1000)], [(240, 0)], namespace_started="rogue", namespace_done="rogue")[:1]
        + latency_series([(240, 100)], [(240, 100)])
        + [{"series": 'maas_flow_duration_seconds_count{namespace="rogue",flow="refund"}', "values": counter([(240, 1000)])}]
    )
    groups = slo_rule_groups(availability) + slo_rule_groups(latency)
    samples = [
        {"expr": f'slo:sli_error:ratio_rate1h{{slo="{s.name}"}}', "eval_time": "200m",
         "exp_samples": [{"labels": "slo:sli_error:ratio_rate1h{" + ",".join(f'{k}="{v}"' for k, v in s.labels.items()) + "}",
                          "value": 0}]}
        for s in (availability, latency)
    ]
    tests = [t for s in (availability, latency) for t in expect(s, "200m", dict.fromkeys(ALL, False))]
    run_rule_test(promtool, tmp_path, without_descriptions(groups),
                  {"interval": "1m", "input_series": series, "alert_rule_test": tests, "promql_expr_test": samples})


def test_budget_exhausted_ticket_names_the_flow_and_the_freeze():
    slo = one("availability", flow())
    rule = next(r for g in slo_rule_groups(slo) for r in g["rules"] if r.get("alert") == "SLOErrorBudgetExhausted")
    assert rule["expr"] == 'slo:period_error_budget_remaining:ratio{slo="flow-availability",flow="refund"} <= 0'
    assert rule["labels"] == {**slo.labels, "severity": "ticket"} and rule["for"] == "1h"
    description = rule["annotations"]["description"]
    assert "frozen" in description and "triage, ledger, billing" in description and "error-budgets.md" in description


# -- rendering -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [{}, {"window_days": 30, "availability": 0.999, "latency": {"threshold_ms": 1500}},
                                       {"latency": {"threshold_ms": 3_600_000, "objective": 0.9}}])
def test_promtool_accepts_the_flow_rules(promtool, tmp_path, overrides):
    groups = flow_rule_groups(flow(**overrides), **WHERE, runbook_base="https://example.com/runbooks/")
    output = check_rules(promtool, tmp_path, groups)
    assert f"SUCCESS: {sum(len(g['rules']) for g in groups)} rules found" in output
    assert [g["name"] for g in groups] == ["maas-flow-refund-availability", "maas-flow-refund-availability-period",
                                           "maas-flow-refund-latency", "maas-flow-refund-latency-period"]


def test_flow_labels_name_the_flow_not_an_agent_and_the_rules_namespace():
    groups = flow_rule_groups(flow(team="payments"), **WHERE)
    for group in groups:
        for rule in group["rules"]:
            assert rule["labels"]["flow"] == "refund" and rule["labels"]["team"] == "payments"
            assert rule["labels"]["namespace"] == ENTRY and "agent" not in rule["labels"]
            assert rule["labels"]["slo"] in ("flow-availability", "flow-latency")
            if "alert" in rule:
                assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
                assert rule["annotations"]["summary"].startswith("flow refund: ")
    assert {s.team for s in flow_slos(flow(), **WHERE)} == {"support"}


def test_the_sli_selects_started_in_the_entry_and_completed_in_the_last_namespace():
    availability, latency = flow_slos(flow(), **WHERE)
    expr = availability.error_ratio("1h")
    assert 'maas_flow_started_total{namespace="triage",flow="refund"}[1h] offset 2s' in expr
    assert 'maas_flow_completed_total{namespace="billing",flow="refund",outcome="success"}[1h]' in expr
    assert expr.startswith("clamp(") and expr.endswith("0, 1\n)")
    assert 'maas_flow_duration_seconds_bucket{namespace="billing",flow="refund",le=~"2|2\\\\.0"}[5m]' in latency.error_ratio("5m")
    assert "offset 1500ms" in one("availability", flow(latency={"threshold_ms": 1500})).error_ratio("5m")


def test_runbooks_of_flow_alerts_exist_and_name_them():
    from conftest import ROOT
    for group in flow_rule_groups(flow(), **WHERE, runbook_base="https://x/docs/runbooks"):
        for rule in group["rules"]:
            if "alert" in rule:
                page = ROOT / "docs" / "runbooks" / rule["annotations"]["runbook_url"].rsplit("/", 1)[1]
                assert page.is_file() and rule["alert"] in page.read_text()


def test_flow_openslo_documents():
    documents = flow_openslo_documents(flow(), **WHERE)
    assert [d["metadata"]["name"] for d in documents] == ["flow-refund-availability", "flow-refund-latency"]
    for document in documents:
        assert document["apiVersion"] == "openslo/v1" and document["spec"]["service"] == "flow-refund"
        ratio = document["spec"]["indicator"]["spec"]["ratioMetric"]
        assert ratio["counter"] is True and set(ratio) == {"counter", "good", "total"}
    assert documents[0]["spec"]["indicator"]["spec"]["ratioMetric"]["total"]["metricSource"]["spec"]["query"] == \
        'sum(maas_flow_started_total{namespace="triage",flow="refund"})'


def test_flow_dashboard_shows_path_slis_burn_budget_and_rates(promtool, tmp_path):
    dashboard = flow_dashboard(flow(), **WHERE)
    assert dashboard["uid"] == "flow-refund" and len(flow_dashboard_uid("f" * 40)) <= 40
    titles = [p["title"] for p in dashboard["panels"]]
    for title in ("Path", "availability (28d)", "availability budget left", "latency (28d)", "latency budget left",
                  "Burn rate (1h window)", "Started and completed", "End-to-end latency"):
        assert title in titles
    path = next(p for p in dashboard["panels"] if p["title"] == "Path")["options"]["content"]
    assert "**triage**" in path and "`refunds` -> **ledger**" in path and "`ledger` -> **billing**" in path
    ids = [p["id"] for p in dashboard["panels"]]
    assert ids == list(range(1, len(ids) + 1))
    assert json.dumps(dashboard) == json.dumps(flow_dashboard(flow(), **WHERE))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", []) if "expr" in t]
    assert all('flow="refund"' in e for e in exprs)
    check_rules(promtool, tmp_path, [{"name": "queries", "rules": [
        {"record": f"check:query:{i}", "expr": e.replace("$__rate_interval", "5m")} for i, e in enumerate(exprs)]}])
