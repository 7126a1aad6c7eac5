"""LLM spend in the estimate: tokens per agent and model, priced per model, beside the AWS figures.

The models come from the plan (the agent's inference profiles; the gateway key requests the
platform registers), tokens from usage.yaml (per environment, agent and model), prices from
``llm_tokens`` of prices.yaml (each with its source and date). The AWS totals never include them.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from maas_platform import names
from maas_platform.config.loader import ConfigError
from maas_platform.cost import PRICES_FILE, USAGE_FILE, estimate, load_prices, load_usage, read_price_file
from maas_platform.cost.llm import bedrock_model, declared_models, llm_estimate, tokens
from maas_platform.plan import Plan

HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
MINI = "openai/gpt-4.1-mini"
STACK = "urn:pulumi:dev::maas::maas:index:Platform::p"


def agent_rows(agent: str, team: str, bedrock: list[str]) -> list[dict]:
    component = f"urn:pulumi:dev::maas::maas:index:Platform$maas:agent:AgentService::{agent}"
    rows = [{"urn": component, "type": names.MAAS_AGENT_SERVICE, "name": agent, "parent": STACK, "inputs": {}, "custom": False},
            {"urn": f"{component}-queue", "type": names.SQS_QUEUE, "name": f"{agent}-inbox", "parent": component, "custom": True,
             "inputs": {"name": f"maas-dev-{agent}-inbox", "tags": {names.AGENT_TAG: agent, names.TEAM_TAG: team}}}]
    for i, model in enumerate(bedrock):
        source = (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{model}" if i % 2
                  else f"arn:aws:bedrock:us-east-1::foundation-model/{model}")
        rows.append({"urn": f"{component}-profile-{i}", "type": names.BEDROCK_INFERENCE_PROFILE, "name": f"{agent}-{i}",
                     "parent": component, "custom": True,
                     "inputs": {"name": f"maas-dev-{agent}-{i}", "modelSource": {"copyFrom": source},
                                "tags": {names.AGENT_TAG: agent, names.TEAM_TAG: team}}})
    return rows


def keys_config_map(keys: dict[str, list[str]], namespace: str = names.LLM_GATEWAY_NAMESPACE) -> dict:
    body = {agent: {"key_alias": agent, "models": models, "max_budget": 100, "budget_duration": "30d"}
            for agent, models in keys.items()}
    return {"urn": f"urn:pulumi:dev::maas::kubernetes:core/v1:ConfigMap::keys-{namespace}", "type": names.K8S_CONFIG_MAP,
            "name": "keys", "parent": STACK, "custom": True,
            "inputs": {"metadata": {"name": "llm-gateway-keys", "namespace": namespace},
                       "data": {"keys.json": json.dumps(body), "register.py": "print('{')"}}}


def plan(*rows: dict, environment: str = "dev") -> Plan:
    stack = {"urn": STACK, "type": "maas:index:Platform", "name": "p", "parent": None, "inputs": {}, "custom": False}
    return Plan.from_dict({"resources": [stack, *rows], "outputs": {"environment": environment, "region": "us-east-1"}})


def dev_like() -> Plan:
    return plan(*agent_rows("triage", "support", []), *agent_rows("research", "insights", [HAIKU]),
                *agent_rows("reports", "insights", []),
                keys_config_map({"triage": [MINI], "research": [MINI]}),
                # An agent's own ConfigMap naming models is not the gateway's registration.
                {**keys_config_map({"reports": [MINI]}, namespace="reports"), "name": "fake"})


def test_bedrock_model_reads_the_profiles_source():
    assert bedrock_model(f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}") == HAIKU
    assert bedrock_model(f"arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.{HAIKU}") == HAIKU
    assert bedrock_model("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc") is None
    assert bedrock_model(None) is None and bedrock_model("not an arn") is None


def test_declared_models_come_from_the_plan():
    p = dev_like()
    urns = {a.name: urn for urn, a in p.agents.items()}
    assert declared_models(p, urns["research"], "research") == {"bedrock": [HAIKU], "gateway": [MINI]}
    assert declared_models(p, urns["triage"], "triage") == {"gateway": [MINI]}
    assert declared_models(p, urns["reports"], "reports") == {}


def test_llm_spend_per_agent_model_and_team():
    table, usage = load_prices("us-east-1"), load_usage(None, "dev")
    llm = llm_estimate(dev_like(), table, usage)
    # dev: 2,000,000 input and 400,000 output tokens per model and month.
    # Haiku on Bedrock: 2,000 x 0.0008 + 400 x 0.004 = 3.20; gpt-4.1-mini: 2,000 x 0.0004 + 400 x 0.0016 = 1.44.
    assert llm["by_agent"]["research"]["bedrock"] == 3.2 and llm["by_agent"]["research"]["gateway"] == 1.44
    assert llm["by_agent"]["research"]["monthly"] == 4.64
    assert llm["by_agent"]["triage"] == {**llm["by_agent"]["triage"], "team": "support", "monthly": 1.44, "bedrock": 0.0}
    assert "reports" not in llm["by_agent"]
    assert llm["by_team"] == {
        "insights": {"agents": ["research"], "monthly": 4.64, "bedrock": 3.2, "gateway": 1.44},
        "support": {"agents": ["triage"], "monthly": 1.44, "bedrock": 0.0, "gateway": 1.44},
    }
    assert (llm["monthly"], llm["bedrock"], llm["gateway"]) == (6.08, 3.2, 2.88)
    line = next(m for m in llm["by_agent"]["research"]["models"] if m["path"] == "bedrock")
    assert line["source"] == "https://aws.amazon.com/bedrock/pricing/" and line["date"] == "2026-12-03"
    assert llm["unpriced"] == []


def test_tokens_per_environment_agent_and_model():
    assert tokens(load_usage(None, "dev"), "triage", MINI) == (2_000_000, 400_000)
    assert tokens(load_usage(None, "prod"), "triage", MINI) == (100_000_000, 20_000_000)
    mine = {"agents": {"research": {"llm": {"output_tokens_per_month": 1000,
                                            "models": {HAIKU: {"input_tokens_per_month": 10}}}}}}
    usage = load_usage(mine, "dev")
    assert tokens(usage, "research", HAIKU) == (10, 1000)
    assert tokens(usage, "research", MINI) == (2_000_000, 1000)
    assert tokens(usage, "triage", HAIKU) == (2_000_000, 400_000)


def test_a_model_without_a_price_is_unpriced_never_zero():
    table = load_prices("eu-west-1")  # no Bedrock prices recorded there
    llm = llm_estimate(plan(*agent_rows("research", "insights", [HAIKU, "amazon.nova-lite-v1:0"])), table, load_usage(None, "dev"))
    assert {(u["model"], u["path"]) for u in llm["unpriced"]} == {(HAIKU, "bedrock"), ("amazon.nova-lite-v1:0", "bedrock")}
    assert "eu-west-1" in llm["unpriced"][0]["reason"]


def test_the_aws_totals_never_include_llm_spend():
    with_llm, without = dev_like(), plan(*agent_rows("triage", "support", []), *agent_rows("research", "insights", []),
                                         *agent_rows("reports", "insights", []))
    a, b = estimate(with_llm), estimate(without)
    assert a["llm"]["monthly"] > 0 and b["llm"]["monthly"] == 0
    # The inference profiles cost nothing by themselves; every AWS figure is the same.
    for key in ("monthly_total", "baseline", "usage", "by_agent", "by_team", "shared"):
        assert a[key] == b[key], key
    assert Decimal(str(a["monthly_total"])) == Decimal(str(a["baseline"])) + Decimal(str(a["usage"]))


def test_usage_llm_models_are_checked():
    with pytest.raises(ConfigError, match=r"agents\.research\.llm\.models\.openai/gpt-4\.1-mini\.tokens: unknown assumption"):
        load_usage({"agents": {"research": {"llm": {"models": {MINI: {"tokens": 5}}}}}}, "dev")
    with pytest.raises(ConfigError, match=r"environments\.prod\.agent\.llm\.input_tokens_per_month: expected a number >= 0"):
        load_usage({"environments": {"prod": {"agent": {"llm": {"input_tokens_per_month": -1}}}}}, "prod")


def test_every_llm_price_has_its_source_and_date(tmp_path: Path):
    document = yaml.safe_load(PRICES_FILE.read_text())
    prices = document["llm_tokens"]
    entries = [p for models in prices["bedrock"].values() for p in models.values()] + list(prices["gateway"].values())
    assert entries and all(p["source"].startswith("https://") and p["date"] and p["unit"] == "1k-tokens" for p in entries)
    # The models the shipped stacks declare are priced.
    assert HAIKU in prices["bedrock"]["us-east-1"] and MINI in prices["gateway"]
    broken = copy.deepcopy(document)
    del broken["llm_tokens"]["gateway"][MINI]["source"]
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigError, match=r"llm_tokens\.gateway\.openai/gpt-4\.1-mini: missing source"):
        read_price_file(path)


def test_shipped_usage_file_states_llm_defaults():
    defaults = yaml.safe_load(USAGE_FILE.read_text())["defaults"]["agent"]["llm"]
    assert set(defaults) == {"input_tokens_per_month", "output_tokens_per_month", "models"}


def test_the_report_shows_llm_spend_beside_aws_spend():
    from dataclasses import replace

    from maas_platform.report import build
    from maas_platform.report.html import render

    p = dev_like()
    p = replace(p, cost=estimate(p))
    report = build(p)
    assert report.cost is not None and report.cost.llm_monthly == 6.08
    assert report.cost.monthly_total == p.cost["monthly_total"]  # type: ignore[index]
    assert {t.name: t.llm_monthly for t in report.cost.teams} == {"insights": 4.64, "support": 1.44}
    research = next(a for a in report.agents if a.name == "research")
    assert research.llm == (("bedrock", 3.2), ("gateway", 1.44))
    page = render(report, "<svg></svg>")
    assert "6.08" in page and "Beside it, not in it" in page and "LLM (est., beside)" in page


def test_the_bedrock_stop_is_priced_and_its_profile_is_free():
    rows = agent_rows("research", "insights", [HAIKU])
    component = rows[0]["urn"]
    rows += [
        {"urn": f"{component}-action", "type": names.BUDGETS_BUDGET_ACTION, "name": "stop", "parent": component,
         "custom": True, "inputs": {"actionType": "APPLY_IAM_POLICY"}},
        {"urn": f"{component}-secret", "type": names.SECRETSMANAGER_SECRET, "name": "secret", "parent": component,
         "custom": True, "inputs": {"name": "maas-dev/agents/research/x"}},
    ]
    cost = estimate(plan(*rows))
    lines = {r["type"]: r["components"] for r in cost["resources"]}
    assert [c["price"] for c in lines[names.BUDGETS_BUDGET_ACTION]] == ["budgets.action_enabled.day"]
    assert lines[names.BUDGETS_BUDGET_ACTION][0]["monthly"] == 3.04  # 365/12 days at 0.10
    assert lines[names.SECRETSMANAGER_SECRET][0]["price"] == "secretsmanager.secret.month"
    assert names.BEDROCK_INFERENCE_PROFILE not in lines and cost["unpriced"] == []
