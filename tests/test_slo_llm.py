"""The LLM budget alerts and panels read what the platform measures, not what the agent says.

An agent with a gateway path is alerted on the gateway's spend counter (selected by the gateway's
namespace and the agent's key alias) against the gateway's limit; an agent that declares no path
keeps the optional agent-reported counter, labelled so; an agent whose only path is Bedrock has
no Prometheus rule (its AWS Budget notifies and stops it). promtool replays the series.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from test_slo import check_rules, counter, promtool, run_rule_test, spec  # noqa: F401  (promtool: fixture)

from maas_platform import names
from maas_platform.slo import agent_dashboard, llm_budget_rules, platform_dashboard, rule_groups
from maas_platform.slo.rules import llm_budget_source, llm_gateway_limit

NS = "triage"
GATEWAY = {"gateway": {"models": ["openai/gpt-4.1-mini"]}}
BEDROCK = {"bedrock": {"models": ["anthropic.claude-3-5-haiku-20241022-v1:0"]}}


def gateway_series(agent: str, namespace: str = names.LLM_GATEWAY_NAMESPACE) -> str:
    return (f'{names.LLM_GATEWAY_SPEND_METRIC}{{namespace="{namespace}",{names.LLM_GATEWAY_AGENT_LABEL}="{agent}",'
            f'model="openai/gpt-4.1-mini"}}')


def test_llm_budget_alert_fires_from_the_gateways_spend(promtool, tmp_path):  # noqa: F811
    agent = spec(budget={"llm_monthly_usd": 100}, llm=GATEWAY)
    groups = [{"name": "llm", "rules": llm_budget_rules(agent, NS)}]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    labels = {"agent": "triage", "team": "support", "namespace": NS, "budget": "llm", "source": "gateway"}
    # The gateway prices the agent's calls at 0.5 USD a minute; another agent's key spends too, and
    # the agent's own pods export a counterfeit series of the same name, which must be ignored.
    series = [
        {"series": gateway_series("triage"), "values": counter([(300, 0.5)])},
        {"series": gateway_series("billing"), "values": counter([(300, 5)])},
        {"series": gateway_series("triage", namespace=NS), "values": counter([(300, 0.001)])},
    ]

    def fired(name: str, severity: str, value: str) -> dict[str, Any]:
        annotations = dict(rules[name]["annotations"])
        annotations["description"] = annotations["description"].replace('{{ $value | printf "%.2f" }}', value)
        return {"exp_labels": {**labels, "severity": severity}, "exp_annotations": annotations}

    tests = [
        {"eval_time": "50m", "alertname": "LLMBudgetForecastExceeded", "exp_alerts": []},  # pending (for: 1h)
        {"eval_time": "2h", "alertname": "LLMBudgetForecastExceeded",
         "exp_alerts": [fired("LLMBudgetForecastExceeded", "ticket", "1800.00")]},
        {"eval_time": "3h", "alertname": "LLMBudgetExceeded", "exp_alerts": []},  # 90 USD
        {"eval_time": "4h", "alertname": "LLMBudgetExceeded", "exp_alerts": [fired("LLMBudgetExceeded", "page", "120.00")]},
    ]
    run_rule_test(promtool, tmp_path, groups, {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_agent_reported_spend_alone_never_fires_a_gateway_agents_alert(promtool, tmp_path):  # noqa: F811
    agent = spec(budget={"llm_monthly_usd": 100}, llm=GATEWAY)
    groups = [{"name": "llm", "rules": llm_budget_rules(agent, NS)}]
    series = [{"series": f'agent_llm_cost_usd_total{{namespace="{NS}"}}', "values": counter([(300, 5)])}]
    tests = [{"eval_time": t, "alertname": a, "exp_alerts": []}
             for t in ("2h", "4h") for a in ("LLMBudgetForecastExceeded", "LLMBudgetExceeded")]
    run_rule_test(promtool, tmp_path, groups, {"interval": "1m", "input_series": series, "alert_rule_test": tests})


def test_the_limit_and_the_source_follow_the_declared_paths():
    gateway_own = spec(budget={"llm_monthly_usd": 100}, llm={"gateway": {"models": ["openai/gpt-4.1-mini"], "monthly_usd": 40}})
    assert llm_gateway_limit(gateway_own) == 40
    source, expr, limit = llm_budget_source(gateway_own, NS)  # type: ignore[misc]
    assert (source, limit) == ("gateway", 40)
    assert expr == f'{names.LLM_GATEWAY_SPEND_METRIC}{{namespace="llm-gateway",api_key_alias="triage"}}'
    assert "llm.gateway.monthly_usd" in llm_budget_rules(gateway_own, NS)[0]["annotations"]["description"]

    assert llm_budget_source(spec(budget={"llm_monthly_usd": 100}, llm=GATEWAY), NS)[2] == 100  # type: ignore[index]
    # Bedrock only: its AWS Budget alerts and stops it; Prometheus does not see Bedrock.
    assert llm_budget_rules(spec(budget={"llm_monthly_usd": 100}, llm=BEDROCK), NS) == []
    assert not [g for g in rule_groups(spec(budget={"llm_monthly_usd": 100}, llm=BEDROCK), NS) if "llm" in g["name"]]
    # Both paths: the gateway's half is alerted here.
    assert llm_budget_source(spec(budget={"llm_monthly_usd": 100}, llm={**BEDROCK, **GATEWAY}), NS)[0] == "gateway"  # type: ignore[index]
    # No path declared: what the agent reports, labelled so.
    reported = llm_budget_rules(spec(budget={"llm_monthly_usd": 100}), NS)
    assert {r["labels"]["source"] for r in reported} == {"agent-reported"}
    assert all("agent_llm_cost_usd_total" in r["expr"] for r in reported)


def test_gateway_rules_pass_promtool_check(promtool, tmp_path):  # noqa: F811
    agent = spec(budget={"llm_monthly_usd": 250.5}, llm={**BEDROCK, **GATEWAY})
    out = check_rules(promtool, tmp_path, rule_groups(agent, NS))
    assert "SUCCESS" in out


def test_agent_dashboard_shows_gateway_spend_and_labels_what_the_agent_reports():
    agent = spec(budget={"llm_monthly_usd": 300}, llm={"gateway": {"models": ["openai/gpt-4.1-mini"], "monthly_usd": 50}})
    panels = {p["title"]: p for p in agent_dashboard(agent, NS)["panels"]}
    spend = panels["Gateway: LLM spend, last 30 days"]
    assert spend["targets"][0]["expr"] == (
        'sum(increase(litellm_spend_metric_total{namespace="llm-gateway",api_key_alias="triage"}[30d]))')
    assert [s["value"] for s in spend["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 40, 50]
    for title in ("Gateway: LLM spend per hour", "Gateway: tokens by model"):
        assert "llm-gateway" in json.dumps(panels[title]["targets"])
    reported = [t for t in panels if "agent_llm" in json.dumps(panels[t].get("targets", []))]
    assert reported and all(t.startswith("Agent-reported") for t in reported)
    assert "Gateway: LLM spend, last 30 days" not in {p["title"] for p in agent_dashboard(spec(), NS)["panels"]}


def test_platform_dashboard_reads_the_gateway_per_agent():
    agents = [spec(name="triage", budget={"llm_monthly_usd": 100}, llm=GATEWAY),
              spec(name="billing", team="finance", budget={"llm_monthly_usd": 10})]
    panels = {p["title"]: p for p in platform_dashboard(agents)["panels"]}
    by_agent = panels["Gateway spend, last 30 days"]["targets"][0]["expr"]
    assert by_agent == ('sum by (api_key_alias) (increase(litellm_spend_metric_total'
                        '{namespace="llm-gateway",api_key_alias=~"$agent"}[30d]))')
    assert [t["legendFormat"] for t in panels["Gateway spend against limit"]["targets"]] == ["triage"]
    assert "Agent-reported LLM spend, last 30 days" in panels


# -- MAAS-STK-008 counts what the platform measures ------------------------------------------------

def test_the_llm_spend_rule_accepts_the_gateways_alert_or_a_bedrock_budget():
    from test_policy_stack import (BUDGET, RULE, add, budget, burn_alert, complete_agent, findings, prometheus_rule,
                                   replace)

    gateway_alert = llm_budget_rules(spec(budget={"llm_monthly_usd": 100}, llm=GATEWAY), NS)[1]
    no_llm_alert = replace(RULE, prometheus_rule(burn_alert("page"), burn_alert("ticket", "1d", "2h")))
    with_gateway = replace(RULE, prometheus_rule(burn_alert("page"), burn_alert("ticket", "1d", "2h"), gateway_alert))
    assert findings("MAAS-STK-008", no_llm_alert(complete_agent()))
    assert not findings("MAAS-STK-008", with_gateway(complete_agent()))
    bedrock = budget(name="maas-dev-agent-triage-bedrock", costFilters=[
        {"name": "Service", "values": ["Amazon Bedrock"]}, {"name": "TagKeyValue", "values": ["user:agent$triage"]}])
    bedrock = dataclasses.replace(bedrock, name="bedrock", urn=bedrock.urn + "-bedrock")
    assert not findings("MAAS-STK-008", add(bedrock)(no_llm_alert(complete_agent())))
    silent = dataclasses.replace(bedrock, name="silent", props={**bedrock.props, "notifications": []},
                                 urn=bedrock.urn + "-silent")
    assert findings("MAAS-STK-008", add(silent)(no_llm_alert(complete_agent())))
    assert BUDGET == names.BUDGETS_BUDGET


def test_a_bedrock_agents_dashboard_says_where_its_spend_is_measured():
    titles = [p["title"] for p in agent_dashboard(spec(budget={"llm_monthly_usd": 100}, llm=BEDROCK), NS)["panels"]]
    assert "Bedrock: where its spend is measured" in titles and "Gateway spend, last 30 days" not in titles
    assert "Bedrock: where its spend is measured" not in [p["title"] for p in agent_dashboard(spec(), NS)["panels"]]
