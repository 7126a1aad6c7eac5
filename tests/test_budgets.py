"""Budgets per environment, team and agent, notifying the alert topic; cost-allocation tags."""

from __future__ import annotations

import pytest

from conftest import ROOT
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file

BUDGET = "aws:budgets/budget:Budget"


def budgets(plan) -> dict:
    return {b["inputs"]["name"]: b["inputs"] for b in plan.of_type(BUDGET)}


def test_environment_team_and_agent_budgets_filter_on_their_tags(dev):
    found = budgets(dev)
    assert set(found) == {"maas-dev", "maas-dev-team-support", "maas-dev-team-insights", "maas-dev-agent-triage"}
    assert found["maas-dev"]["costFilters"] == [{"name": "TagKeyValue", "values": ["user:platform$maas-dev"]}]
    assert found["maas-dev-team-support"]["costFilters"][0]["values"] == ["user:team$support"]
    agent = found["maas-dev-agent-triage"]
    assert agent["costFilters"][0]["values"] == ["user:agent$triage"]
    assert (agent["limitAmount"], agent["limitUnit"], agent["timeUnit"]) == ("25.00", "USD", "MONTHLY")


def test_every_budget_notifies_the_alert_topic_at_80_and_100_percent_and_on_forecast(dev):
    alerts = dev.outputs["messaging"]["alert_topic_arn"]
    for budget in budgets(dev).values():
        rules = {(n["notificationType"], n["threshold"]) for n in budget["notifications"]}
        assert rules == {("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)}
        assert all(n["subscriberSnsTopicArns"] == [alerts] for n in budget["notifications"])


def test_the_tag_keys_are_activated_for_cost_allocation(dev):
    keys = {t["inputs"]["tagKey"] for t in dev.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")}
    assert {"environment", "team", "agent", "cost-center", "platform"} <= keys


def test_a_budget_must_be_a_positive_amount():
    values = {k.split(":", 1)[1]: v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").items()}
    with pytest.raises(ConfigError, match=r"^maas:budgets\.teams\.support: -5.0 must be a positive amount"):
        parse_platform_config({**values, "budgets": {"teams": {"support": -5.0}}})
