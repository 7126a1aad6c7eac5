"""Budgets per environment, team and agent, notifying the alert topic; cost-allocation tags.

The platform stack budgets the agents of its ``maas:agents``; a team stack's agents budget
themselves with the notifications the platform exports (``agent_budgets``). Either way an
agent with ``budget.monthly_usd`` has exactly one budget on its ``agent`` tag.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.plan import Plan, plan_project

BUDGET = "aws:budgets/budget:Budget"
TEAM = ROOT / "stacks" / "teams" / "example"
# The example team stack's agents and their budget.monthly_usd (stacks/teams/example/__main__.py).
TEAM_AGENT_LIMITS = {"intake": 30, "summarizer": 10}


def budgets(plan) -> dict:
    return {b["inputs"]["name"]: b["inputs"] for b in plan.of_type(BUDGET)}


def on_agent(plan, agent: str) -> list[dict]:
    """The budgets whose cost filter is the agent's cost-allocation tag."""
    return [b["inputs"] for b in plan.of_type(BUDGET)
            if b["inputs"]["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:agent${agent}"]}]]


def dev_agent_limits() -> dict[str, float]:
    """budget.monthly_usd of the dev stack's agents, as its config states them."""
    agents = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["maas:agents"]
    return {a["name"]: a["budget"]["monthly_usd"] for a in agents if (a.get("budget") or {}).get("monthly_usd")}


def notification_rules(budget: dict) -> set[tuple]:
    return {(n["notificationType"], n["threshold"], tuple(n["subscriberSnsTopicArns"]),
             tuple(n["subscriberEmailAddresses"] or ())) for n in budget["notifications"]}


def test_environment_team_and_agent_budgets_filter_on_their_tags(dev):
    found = budgets(dev)
    limits = dev_agent_limits()
    assert set(limits) == {"triage", "research", "reports"}
    assert set(found) == {"maas-dev", "maas-dev-team-support", "maas-dev-team-insights",
                          *(f"maas-dev-agent-{agent}" for agent in limits)}
    assert found["maas-dev"]["costFilters"] == [{"name": "TagKeyValue", "values": ["user:platform$maas-dev"]}]
    assert found["maas-dev-team-support"]["costFilters"][0]["values"] == ["user:team$support"]
    for agent, limit in limits.items():
        budget = found[f"maas-dev-agent-{agent}"]
        assert budget["costFilters"][0]["values"] == [f"user:agent${agent}"]
        assert (budget["limitAmount"], budget["limitUnit"], budget["timeUnit"]) == (f"{limit:.2f}", "USD", "MONTHLY")


def test_every_budget_notifies_the_alert_topic_at_80_and_100_percent_and_on_forecast(dev):
    alerts = dev.outputs["messaging"]["alert_topic_arn"]
    for budget in budgets(dev).values():
        rules = {(n["notificationType"], n["threshold"]) for n in budget["notifications"]}
        assert rules == {("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)}
        assert all(n["subscriberSnsTopicArns"] == [alerts] for n in budget["notifications"])


def test_platform_agents_are_budgeted_once_by_the_platform(dev):
    for agent in dev_agent_limits():
        assert len(on_agent(dev, agent)) == 1, agent
    # The platform's Budgets component keeps them; the agents' components create none of their own.
    for budget in dev.of_type(BUDGET):
        assert "maas:agent:AgentService" not in budget["urn"], budget["urn"]


def test_the_platform_exports_what_team_agents_budget_with(dev):
    exported = dev.outputs["agent_budgets"]
    assert exported["alert_topic_arn"] == dev.outputs["messaging"]["alert_topic_arn"]
    platform_budget = budgets(dev)["maas-dev"]
    assert {(t["kind"], t["percent"]) for t in exported["thresholds"]} == {
        (n["notificationType"], n["threshold"]) for n in platform_budget["notifications"]}


def test_the_tag_keys_are_activated_for_cost_allocation(dev):
    keys = {t["inputs"]["tagKey"] for t in dev.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")}
    assert {"environment", "team", "agent", "cost-center", "platform"} <= keys


def test_team_and_cost_center_tags_are_the_agents_on_its_resources_and_the_platforms_elsewhere(dev):
    """Team budgets filter on ``team``: an agent's spend counts for its team, shared spend for the platform's."""
    values = {k.split(":", 1)[1]: v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").items()}
    config = parse_platform_config(values)
    owners = {a.name: (a.team, a.cost_center) for a in config.agents}
    tagged = [r for r in dev.cloud_resources() if isinstance(r["inputs"].get("tags"), dict)]
    shared = [r for r in tagged if "agent" not in r["inputs"]["tags"]]
    assert len(shared) > 20 and len(tagged) > len(shared)
    for resource in tagged:
        tags = resource["inputs"]["tags"]
        expected = owners[tags["agent"]] if "agent" in tags else (config.team, config.cost_center)
        assert (tags.get("team"), tags.get("cost-center")) == expected, resource["urn"]


def test_a_budget_must_be_a_positive_amount():
    values = {k.split(":", 1)[1]: v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").items()}
    with pytest.raises(ConfigError, match=r"^maas:budgets\.teams\.support: -5.0 must be a positive amount"):
        parse_platform_config({**values, "budgets": {"teams": {"support": -5.0}}})


# -- team stacks ---------------------------------------------------------------------------------

def team_plan(tmp_path: Path, dev: Plan, **changes) -> Plan:
    """The example team stack planned against the dev platform's outputs, some of them changed."""
    values = {**dev.stack_outputs().values, **changes}
    for name in [k for k, v in changes.items() if v is None]:
        values.pop(name)
    path = tmp_path / "platform-dev.json"
    path.write_text(json.dumps(values))
    return plan_project(TEAM, stack="dev", platform_outputs=path)


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM, stack="dev")


@pytest.mark.parametrize("agent", sorted(TEAM_AGENT_LIMITS))
def test_a_team_stack_agent_gets_exactly_one_budget_on_its_tag(team, dev, agent):
    [budget] = on_agent(team, agent)
    assert budget["name"] == f"maas-dev-agent-{agent}"
    assert (budget["budgetType"], budget["limitAmount"], budget["timeUnit"]) == (
        "COST", f"{TEAM_AGENT_LIMITS[agent]:.2f}", "MONTHLY")
    alerts = dev.outputs["messaging"]["alert_topic_arn"]
    assert notification_rules(budget) == {
        ("ACTUAL", 80, (alerts,), ()), ("ACTUAL", 100, (alerts,), ()), ("FORECASTED", 100, (alerts,), ())}
    # It is the agent's own: inside its component, tagged as the agent's resources are.
    (resource,) = [b for b in team.of_type(BUDGET) if b["inputs"]["name"] == budget["name"]]
    assert resource["parent"].endswith(f"maas:agent:AgentService::{agent}")
    assert resource["inputs"]["tags"]["agent"] == agent and resource["inputs"]["tags"]["team"] == "claims"


def test_team_agents_budget_with_the_platforms_thresholds_topic_and_emails(tmp_path, dev):
    topic = "arn:aws:sns:us-east-1:123456789012:maas-dev-finance"
    plan = team_plan(tmp_path, dev, agent_budgets={
        "thresholds": [{"percent": 50, "kind": "ACTUAL"}, {"percent": 90, "kind": "FORECASTED"}],
        "alert_topic_arn": topic, "emails": ["finops@example.com"],
    })
    for agent in TEAM_AGENT_LIMITS:
        [budget] = on_agent(plan, agent)
        assert notification_rules(budget) == {("ACTUAL", 50, (topic,), ("finops@example.com",)),
                                              ("FORECASTED", 90, (topic,), ("finops@example.com",))}


def test_without_the_platforms_budget_output_team_agents_get_none_and_the_gate_says_so(tmp_path, dev):
    plan = team_plan(tmp_path, dev, agent_budgets=None)
    assert plan.of_type(BUDGET) == []
    flagged = {v["urn"].split("::")[-1] for v in plan.violations if v["policy"] == "MAAS-STK-006"}
    assert flagged == {f"{agent}-namespace" for agent in TEAM_AGENT_LIMITS}
