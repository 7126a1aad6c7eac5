"""Budgets per environment, team and agent, notifying the alert topic; cost-allocation tags,
activated apart from the environments (docs/cost.md).

The platform stack budgets the agents of its ``maas:agents``; a team stack's agents budget
themselves with the notifications the platform exports (``agent_budgets``). Either way an
agent with ``budget.monthly_usd`` has exactly one budget on its ``agent`` tag.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, plan_program
from maas_platform.components.budgets import COST_ALLOCATION_TAGS, BudgetsArgs
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.config.models import BudgetsConfig
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
    # research also has its Bedrock budget, which stops its Bedrock calls (test_bedrock.py).
    assert set(found) == {"maas-dev", "maas-dev-team-support", "maas-dev-team-insights",
                          *(f"maas-dev-agent-{agent}" for agent in limits), "maas-dev-agent-research-bedrock"}
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
    # The platform's Budgets component keeps them; the agents' components create none of their own
    # on the agent's whole spend (an agent's Bedrock budget, on one service, sits beside the role its
    # action stops: test_bedrock.py).
    for budget in dev.of_type(BUDGET):
        whole = not any(f["name"] == "Service" for f in budget["inputs"]["costFilters"])
        assert not whole or "maas:agent:AgentService" not in budget["urn"], budget["urn"]


def test_the_platform_exports_what_team_agents_budget_with(dev):
    exported = dev.outputs["agent_budgets"]
    assert exported["alert_topic_arn"] == dev.outputs["messaging"]["alert_topic_arn"]
    platform_budget = budgets(dev)["maas-dev"]
    assert {(t["kind"], t["percent"]) for t in exported["thresholds"]} == {
        (n["notificationType"], n["threshold"]) for n in platform_budget["notifications"]}


# -- cost-allocation tags: a step of the payer account, apart from the environments ------------------

COST_ALLOCATION_TAG = "aws:costexplorer/costAllocationTag:CostAllocationTag"


def test_no_shipped_stack_activates_cost_allocation_tags(plans, team):
    """Activation fails until billing has seen a key (up to 24 h), is refused in member accounts,
    and a destroy would deactivate the key account-wide: never part of an environment by default."""
    for name, plan in [*plans.items(), ("team", team)]:
        assert plan.of_type(COST_ALLOCATION_TAG) == [], name
    assert BudgetsConfig().activate_cost_allocation_tags is False
    assert BudgetsArgs.model_fields["activate_cost_allocation_tags"].default is False
    for stack in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        assert "activate_cost_allocation_tags" not in stack.read_text(), stack.name


def test_every_budget_key_is_a_tag_the_resources_carry(dev):
    """The keys docs/cost.md activates are the ones the budgets filter on."""
    filtered = {value.split(":", 1)[1].split("$")[0] for b in dev.of_type(BUDGET) for f in b["inputs"]["costFilters"]
                if f["name"] == "TagKeyValue" for value in f["values"]}
    assert {"platform", "team", "agent"} <= filtered
    assert filtered <= set(COST_ALLOCATION_TAGS)
    assert set(COST_ALLOCATION_TAGS) == {"platform", "environment", "team", "agent", "cost-center", "managed-by"}


class _Retained:
    """Records ``retainOnDelete`` of each registration (the plan does not keep it)."""

    def __init__(self, monkeypatch):
        from maas_platform.plan import engine

        self.options: dict[str, bool] = {}
        record = self.options

        class Monitor(engine.CapturingMonitor):
            def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
                record[request.name] = bool(request.retainOnDelete)
                return super().RegisterResource(request)

        monkeypatch.setattr(engine, "CapturingMonitor", Monitor)


OPT_IN = '''
from maas_platform.components.budgets import Budgets, BudgetsArgs, Threshold

Budgets("maas-dev-budgets", BudgetsArgs(
    prefix="maas-dev", environment_limit_usd=100, thresholds=[Threshold(percent=80, kind="ACTUAL")],
    alert_topic_arn="arn:aws:sns:us-east-1:123456789012:maas-dev-alerts", activate_cost_allocation_tags=True,
))
'''


def test_an_opted_in_activation_is_retained_on_delete_and_budgets_do_not_wait_for_it(tmp_path_factory, monkeypatch):
    retained = _Retained(monkeypatch)
    capture = plan_program(tmp_path_factory, "opt-in", OPT_IN)
    tags = [r for r in capture.resources if r.type == COST_ALLOCATION_TAG]
    # The names they always had, so an opted-in stack keeps its resources.
    assert sorted(t.name for t in tags) == sorted(f"maas-dev-budgets-tag-{key}" for key in COST_ALLOCATION_TAGS)
    assert all(t.inputs["status"] == "Active" for t in tags)
    assert all(retained.options[t.name] for t in tags), "a destroy would deactivate the key account-wide"
    (budget,) = [r for r in capture.resources if r.type == BUDGET]
    assert not retained.options[budget.name]
    assert not {t.urn for t in tags} & set(budget.dependencies), "a failed activation must not hold the budget back"


def test_the_payer_account_stack_of_docs_cost_md_activates_every_key_retained(root, tmp_path_factory, monkeypatch):
    text = (root / "docs" / "cost.md").read_text()
    section = text.split("## Cost-allocation tags: activate them once per payer account", 1)[1].split("\n## ", 1)[0]
    (program,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    program = textwrap.dedent(program)
    retained = _Retained(monkeypatch)
    capture = plan_program(tmp_path_factory, "payer", program)
    assert {r.type for r in capture.resources} == {COST_ALLOCATION_TAG}
    assert {r.inputs["tagKey"] for r in capture.resources} == set(COST_ALLOCATION_TAGS)
    assert all(retained.options[r.name] for r in capture.resources)
    # The CLI way of the same page names the same keys.
    cli = re.findall(r"TagKey=([a-z-]+),Status=Active", section)
    assert sorted(cli) == sorted(COST_ALLOCATION_TAGS)


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
