"""``maas:flows``: each mistake is one line naming ``maas:flows[i].<field>`` and the fix, exit 2.

The platform cases start from the shipped ``stacks/Pulumi.dev.yaml`` (agents triage -> tickets ->
research -> findings -> reports) with ``maas:flows`` replaced; the team cases plan a copy of the
example team program whose agents talk through a topic.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from maas_platform.config import parse_platform_config
from maas_platform.config.flows import FlowLatency, FlowSpec
from maas_platform.slo import le_values
from test_config import assert_one_line_error, build, config_error, maas_plan, put, write_stack

FLOW: dict[str, Any] = {"name": "ticket-research", "entry": "triage", "hops": [{"topic": "tickets", "to": "research"}],
                        "latency": {"threshold_ms": 300000}}


def flow(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(FLOW), **changes}


def retire(name: str):
    def change(values: dict[str, Any]) -> None:
        agent = next(a for a in values["agents"] if a["name"] == name)
        agent.update(retired=True, retired_on="2026-11-01")
    return change


TWO_HOPS = [{"topic": "tickets", "to": "research"}, {"topic": "findings", "to": "reports"}]


@pytest.mark.parametrize("flows, changes, line", [
    ([FLOW, FLOW], (),
     "maas:flows[1].name: flow 'ticket-research' is declared twice; give each flow its own name"),
    ([flow(name="Ticket_Research")], (),
     "maas:flows[0].name: 'Ticket_Research' must be lowercase letters, digits and '-', starting with a letter, "
     "at most 40 characters (it is the label `flow` of the flow's series)"),
    ([flow(entry="nobody")], (),
     "maas:flows[0].entry: 'nobody' is not an agent of this stack (maas:agents: reports, research, triage); "
     "name one of them"),
    ([flow(hops=[{"topic": "tickets", "to": "intake"}])], (),
     "maas:flows[0].hops[0].to: 'intake' is an agent of team 'claims' (maas:teams), not of this stack; a flow "
     "passes only this stack's agents (maas:agents: reports, research, triage)"),
    ([flow(entry="reports", hops=[{"topic": "tickets", "to": "research"}])], (retire("reports"),),
     "maas:flows[0].entry: agent 'reports' is retired; it runs nothing to carry the flow, take it off the path "
     "or remove the flow"),
    ([flow(hops=TWO_HOPS)], (retire("reports"),),
     "maas:flows[0].hops[1].to: agent 'reports' is retired; it runs nothing to carry the flow, take it off the "
     "path or remove the flow"),
    # research scales to zero in dev: its REST entry is unserved while idle.
    ([flow(entry="research", hops=[{"topic": "findings", "to": "reports"}])], (),
     "maas:flows[0].entry: agent 'research' scales to zero (messaging.scale_to_zero), so its REST entry is "
     "unserved while it is idle and the flow cannot start; turn scale_to_zero off or start elsewhere"),
    ([flow(hops=[{"topic": "orders", "to": "research"}])], (),
     "maas:flows[0].hops[0].topic: 'orders' is not a topic of maas:broker.topics (findings, tickets)"),
    ([flow(hops=[{"topic": "findings", "to": "reports"}])], (),
     "maas:flows[0].hops[0].topic: 'triage' does not publish to 'findings'; add the topic to the "
     "messaging.publishes of 'triage' or name one it publishes to"),
    ([flow(hops=[{"topic": "tickets", "to": "reports"}])], (),
     "maas:flows[0].hops[0].to: 'reports' does not subscribe to 'tickets'; add the topic to the "
     "messaging.subscribes of 'reports' or name an agent that subscribes to it"),
    ([flow(hops=[{"topic": "tickets", "to": "research"}, {"topic": "tickets", "to": "reports"}])], (),
     "maas:flows[0].hops[1].topic: 'research' does not publish to 'tickets'; add the topic to the "
     "messaging.publishes of 'research' or name one it publishes to"),
    ([flow(hops=[{"topic": "tickets", "to": "research"}, {"topic": "findings", "to": "triage"}])], (),
     "maas:flows[0].hops: the path visits triage twice; a flow's path passes each agent once"),
    ([flow(team="claims")], (),
     "maas:flows[0].team: 'claims' owns no agent on the path (insights, support); name one of them or leave "
     "team out for the entry agent's"),
    ([flow(hops=[])], (), "maas:flows[0].hops: List should have at least 1 item after validation, not 0"),
    ([flow(latency={"threshold_ms": 50})], (),
     "maas:flows[0].latency.threshold_ms: Input should be greater than or equal to 100"),
    ([flow(latency={"threshold_ms": 300000, "objective": 1})], (),
     "maas:flows[0].latency.objective: Input should be less than 1"),
    ([flow(window_days=7)], (), "maas:flows[0].window_days: Input should be 28 or 30"),
    ([flow(path=["triage"])], (),
     "maas:flows[0].path: unknown key; check the spelling against docs/configuration.md"),
], ids=["name-twice", "name-form", "entry-unknown", "to-of-a-team", "entry-retired", "to-retired",
        "entry-scales-to-zero", "topic-undeclared", "entry-does-not-publish", "to-does-not-subscribe",
        "middle-does-not-publish", "loop", "team-off-the-path", "no-hops", "threshold-too-small",
        "objective-one", "window", "unknown-key"])
def test_a_bad_flow_is_one_line_naming_its_key(flows, changes, line):
    assert config_error(build("dev", *changes, put("flows", flows))) == line


def test_a_flow_across_three_agents_and_two_topics_is_accepted():
    config = parse_platform_config(build("dev", put("flows", [flow(hops=TWO_HOPS, team="insights")])))
    (spec,) = config.flows
    assert spec.agents == ["triage", "research", "reports"] and spec.last == "reports"
    assert spec.owner(config.agents) == "insights"  # reports subscribes with a filter: allowed


def test_the_owner_defaults_to_the_entry_agents_team():
    config = parse_platform_config(build("dev"))
    (spec,) = config.flows
    assert spec.team is None and spec.owner(config.agents) == "support"


def test_the_dev_stack_ships_the_ticket_research_flow():
    config = parse_platform_config(build("dev"))
    assert [(f.name, f.entry, [(h.topic, h.to) for h in f.hops]) for f in config.flows] == \
        [("ticket-research", "triage", [("tickets", "research")])]
    # research works from its inbox, scales to zero in dev and calls an LLM: minutes, not seconds.
    assert config.flows[0].latency.threshold_ms >= 60_000


def test_a_stack_without_flows_has_none():
    assert parse_platform_config(build("staging")).flows == []


@pytest.mark.parametrize("threshold_ms", [FlowLatency.model_fields["threshold_ms"].metadata[0].ge,
                                          FlowLatency.model_fields["threshold_ms"].metadata[1].le, 1234, 300000])
def test_every_threshold_config_accepts_is_a_bucket_bound_the_slo_can_select(threshold_ms):
    # The SLI selects the bucket le=threshold however a client writes it (slo.le_values refuses a
    # bound it cannot name without an exponent); the config's bounds stay inside.
    assert le_values(threshold_ms / 1000)
    FlowSpec.model_validate({**FLOW, "latency": {"threshold_ms": threshold_ms}})


def test_cli_refuses_a_bad_flow_with_one_line_exit_2(tmp_path):
    path = write_stack(tmp_path / "Pulumi.bad.yaml", "dev", put("flows", [flow(entry="nobody")]))
    line = assert_one_line_error(maas_plan("--config-file", str(path)), "maas:flows[0].entry: 'nobody'")
    assert line.endswith(f"({path})")
