"""Flows in the plans: per flow a PrometheusRule and a dashboard in its entry agent's namespace,
its OpenSLO documents beside the agents', in the platform stack and in a team stack.

The dev stack ships ``ticket-research`` (triage -> tickets -> research). The team example has no
two agents that talk through a topic, so the team case plans a copy of it whose intake publishes
``findings`` to summarizer, against the dev platform's outputs with ``findings`` open to the team.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from maas_platform import names
from maas_platform.plan import Plan, plan_project
from maas_platform.config.loader import ConfigError
from maas_platform.plan.exports import openslo_documents, rule_files, write_exports
from maas_platform.plan.fake_cloud import StackOutputs
from maas_platform.report import build, render_report
from maas_platform.report.diagram import render_svg, to_dot
from test_report import Elements

TEAM = ROOT / "stacks" / "teams" / "example"
PLATFORM_STACK = "acme/maas/dev"
FLOW = "ticket-research"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def flow_objects(plan: Plan, flow: str) -> dict[str, dict]:
    """The custom resources under the flow's FlowSLOs component, by type."""
    (component,) = [r for r in plan.resources if r.type == names.MAAS_FLOW_SLOS and r.name.endswith(f"flow-{flow}")]
    found = {r.type: r for r in plan.descendants(component.urn) if r.custom}
    assert sorted(found) == [CONFIG_MAP, RULE]
    return found


def rule_expressions(rule) -> str:
    return "\n".join(str(r.get("expr")) for g in rule.inputs["spec"]["groups"] for r in g["rules"])


# -- the platform stack -------------------------------------------------------------------------

def test_the_dev_flow_has_its_rule_in_the_entry_agents_namespace(dev):
    rule = flow_objects(dev, FLOW)[RULE]
    metadata = rule.inputs["metadata"]
    assert metadata["name"] == f"flow-{FLOW}-slos" and metadata["namespace"] == "triage"
    groups = [g["name"] for g in rule.inputs["spec"]["groups"]]
    assert groups == [f"maas-flow-{FLOW}-availability", f"maas-flow-{FLOW}-availability-period",
                      f"maas-flow-{FLOW}-latency", f"maas-flow-{FLOW}-latency-period"]
    text = rule_expressions(rule)
    # Started is read in the entry agent's namespace, completion and duration in the last agent's.
    assert f'{names.FLOW_STARTED_METRIC}{{namespace="triage",flow="{FLOW}"}}' in text
    assert f'{names.FLOW_COMPLETED_METRIC}{{namespace="research",flow="{FLOW}",outcome="success"}}' in text
    assert f'{names.FLOW_DURATION_METRIC}_bucket{{namespace="research",flow="{FLOW}",le=~"300|300\\\\.0"}}' in text
    assert 'namespace="reports"' not in text
    alerts = [r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert alerts and all(a["labels"]["flow"] == FLOW and a["labels"]["team"] == "support" for a in alerts
                          if "flow" in a.get("labels", {}))


def test_the_flow_objects_carry_the_entry_agents_labels_and_wait_for_its_namespace(dev):
    namespace = next(r for r in dev.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "triage")
    for resource in flow_objects(dev, FLOW).values():
        labels = resource.inputs["metadata"]["labels"]
        for key in (names.AGENT_LABEL, names.TEAM_LABEL, names.COST_CENTER_LABEL, names.ENVIRONMENT_LABEL):
            assert labels[key] == namespace.inputs["metadata"]["labels"][key]
        assert namespace.urn in resource.dependencies
        assert resource.provider and "pulumi:providers:kubernetes" in resource.provider


def test_the_dev_flow_has_a_dashboard_the_grafana_sidecar_loads(dev):
    board = flow_objects(dev, FLOW)[CONFIG_MAP]
    metadata = board.inputs["metadata"]
    assert metadata["namespace"] == "triage" and metadata["labels"][names.DASHBOARD_LABEL] == names.DASHBOARD_LABEL_VALUE
    ((filename, text),) = board.inputs["data"].items()
    model = json.loads(text)
    assert filename == f"{model['uid']}.json" and model["uid"] == f"flow-{FLOW}"
    assert "triage" in text and "research" in text and names.FLOW_STARTED_METRIC in text


def test_the_flow_is_exported_with_its_path_objectives_and_openslo(dev):
    record = dev.outputs["flows"][FLOW]
    assert record["entry"] == "triage" and record["hops"] == [{"topic": "tickets", "to": "research"}]
    assert record["team"] == "support" and (record["entry_namespace"], record["last_namespace"]) == ("triage", "research")
    assert record["availability"] == 0.99 and record["latency"] == {"threshold_ms": 300000, "objective": 0.95}
    assert [d["metadata"]["name"] for d in record["slos"]] == [f"flow-{FLOW}-availability", f"flow-{FLOW}-latency"]
    documents = openslo_documents(dev)
    assert documents[f"flow {FLOW}"] == record["slos"]
    assert {"triage", "research", "reports"} <= set(documents)


def test_the_exports_write_the_flows_openslo_and_rules(dev, tmp_path):
    write_exports(dev, tmp_path)
    for kind in ("availability", "latency"):
        document = yaml.safe_load((tmp_path / "openslo" / f"flow-{FLOW}-{kind}.yaml").read_text())
        assert document["kind"] == "SLO" and document["spec"]["service"] == f"flow-{FLOW}"
    groups = [g["name"] for g in rule_files(dev)["triage"]["groups"]]
    assert f"maas-flow-{FLOW}-availability" in groups and "maas-slo-triage-availability" in groups


def test_a_stack_without_flows_builds_and_exports_none(plans):
    for env in ("staging", "prod"):
        assert not plans[env].of_type(names.MAAS_FLOW_SLOS) and "flows" not in plans[env].outputs


def test_the_dev_plan_changes_only_by_the_flow(dev, tmp_path):
    """The dev stack planned without ``maas:flows`` is the dev plan less the flow's component,
    its two objects and the ``flows`` output: nothing else moves."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    del document["config"]["maas:flows"]
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    without = plan_project(ROOT, config_file=stack_file)
    before = {r.urn: r.inputs for r in without.resources}
    after = {r.urn: r.inputs for r in dev.resources}
    added = [r for r in dev.resources if r.urn not in before]
    assert sorted(r.type for r in added) == sorted([names.MAAS_FLOW_SLOS, RULE, CONFIG_MAP])
    assert all("FlowSLOs" in r.urn for r in added) and set(before) <= set(after)
    assert [u for u in before if before[u] != after[u]] == []
    assert {k: v for k, v in dev.outputs.items() if k != "flows"} == without.outputs


# -- a team stack ---------------------------------------------------------------------------------

TEAM_FLOW = {"name": "claim-summary", "entry": "intake", "hops": [{"topic": "findings", "to": "summarizer"}],
             "latency": {"threshold_ms": 120000, "objective": 0.9}}


def team_project(tmp_path: Path) -> Path:
    """The example team program, intake publishing findings that summarizer subscribes to."""
    copy_dir = tmp_path / "team"
    shutil.copytree(TEAM, copy_dir, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    program = copy_dir / "__main__.py"
    text = program.read_text()
    for old, new in (('messaging={"subscribes": ["tickets"]}', 'messaging={"subscribes": ["tickets"], "publishes": ["findings"]}'),
                     ('storage="s3",', 'storage="s3",\n            messaging={"subscribes": ["findings"]},')):
        assert text.count(old) == 1
        text = text.replace(old, new)
    program.write_text(text)
    return copy_dir


def team_plan(tmp_path: Path, platform: Plan, flows: list[dict]) -> Plan:
    project = team_project(tmp_path)
    document = yaml.safe_load((TEAM / "Pulumi.dev.yaml").read_text())
    document["config"]["maas:flows"] = flows
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    values = copy.deepcopy(dict(platform.stack_outputs().values))
    values["messaging"]["topics"]["findings"]["publisher_teams"] = ["claims"]  # the topic admits the team
    outputs = StackOutputs(values=values, secret_names=platform.stack_outputs().secret_names)
    return plan_project(project, config_file=stack_file, stack_outputs={PLATFORM_STACK: outputs})


def test_a_team_flow_gets_its_rule_dashboard_and_output(tmp_path, dev):
    plan = team_plan(tmp_path, dev, [TEAM_FLOW])
    objects = flow_objects(plan, "claim-summary")
    assert {r.inputs["metadata"]["namespace"] for r in objects.values()} == {"intake"}
    text = rule_expressions(objects[RULE])
    assert 'namespace="intake",flow="claim-summary"' in text and 'namespace="summarizer",flow="claim-summary"' in text
    record = plan.outputs["flows"]["claim-summary"]
    assert record["team"] == "claims" and [d["spec"]["service"] for d in record["slos"]] == ["flow-claim-summary"] * 2
    assert "flow claim-summary" in openslo_documents(plan)
    # The deploy role writes custom resources in the namespace once the team's binding is there.
    binding = next(r for r in plan.resources if r.type.endswith("RoleBinding") and r.name == "intake-team-objects")
    assert all(binding.urn in r.dependencies for r in objects.values())


def test_the_team_example_without_flows_builds_and_exports_none():
    plan = plan_project(TEAM, stack="dev")
    assert not plan.of_type(names.MAAS_FLOW_SLOS) and "flows" not in plan.outputs


@pytest.mark.parametrize("flow, line", [
    ({**TEAM_FLOW, "hops": [{"topic": "tickets", "to": "research"}]},
     "maas:flows[0].hops[0].to: 'research' is an agent of the platform stack, not of this stack; a flow passes only "
     "this stack's agents (the program's agents: intake, summarizer)"),
    ({**TEAM_FLOW, "hops": [{"topic": "orders", "to": "summarizer"}]},
     "maas:flows[0].hops[0].topic: 'orders' is not a topic of the platform's maas:broker.topics (findings, tickets)"),
    ({**TEAM_FLOW, "entry": "summarizer", "hops": [{"topic": "findings", "to": "intake"}]},
     "maas:flows[0].hops[0].topic: 'summarizer' does not publish to 'findings'; add the topic to the "
     "messaging.publishes of 'summarizer' or name one it publishes to"),
    ({**TEAM_FLOW, "latency": {"threshold_ms": 10}},
     "maas:flows[0].latency.threshold_ms: Input should be greater than or equal to 100"),
])
def test_a_bad_team_flow_is_one_line(tmp_path, dev, flow, line):
    with pytest.raises(ConfigError) as raised:  # `maas plan` prints it, exit 2
        team_plan(tmp_path, dev, [flow])
    message = str(raised.value)
    assert "\n" not in message and line in message
    if "latency" not in line:  # the checks against the program's agents name the stack file
        assert message == f"{line} ({tmp_path / 'Pulumi.dev.yaml'})"


# -- the report -----------------------------------------------------------------------------------

def test_the_report_reads_the_flow_with_its_objectives(dev):
    report = build(dev)
    (flow,) = report.flows
    assert (flow.name, flow.team, flow.steps) == (FLOW, "support", (("agent", "triage"), ("topic", "tickets"),
                                                                    ("agent", "research")))
    assert flow.objectives == ("99% complete successfully", "95% within 5 min") and flow.window_days == 28
    assert flow.slos == (f"flow-{FLOW}-availability", f"flow-{FLOW}-latency")
    # The flow's component is no platform part of its own.
    assert all("FlowSLOs" not in part.title for part in report.parts)


def test_the_diagram_draws_the_flows_path_in_its_colour(dev):
    report = build(dev)
    svg = Elements(render_svg(to_dot(report)))
    edges = {e["id"]: e for e in svg.having("g", "flow")}
    assert sorted(edges) == [f"flow-{FLOW}-0-in", f"flow-{FLOW}-0-out"]
    # Beside, not instead of, the publish and subscribe edges.
    assert len(svg.having("g", "publish")) == 2 and len(svg.having("g", "subscribe")) == 3
    dot = to_dot(report)
    out = next(line for line in dot.splitlines() if f'id="flow-{FLOW}-0-out"' in line)
    assert out.strip().startswith('"agent-triage-node" -> "topic-tickets-node"') and report.flows[0].colour in out
    back = next(line for line in dot.splitlines() if f'id="flow-{FLOW}-0-in"' in line)
    assert back.strip().startswith('"agent-research-node" -> "topic-tickets-node" [dir=back')
    assert "constraint=false" in out and "constraint=false" in back


def test_a_diagram_drawn_by_team_draws_flows_between_teams(dev):
    report = build(dev)
    many = [dataclasses.replace(agent, name=f"{agent.name}-{i}" if i else agent.name)
            for i in range(9) for agent in report.agents]
    dot = to_dot(dataclasses.replace(report, agents=tuple(many)))
    lines = [line.strip() for line in dot.splitlines() if 'class="flow"' in line]
    assert [line.split(" [")[0] for line in lines] == ['"team-support-node" -> "topic-tickets-node"',
                                                      '"team-insights-node" -> "topic-tickets-node"']


def test_the_page_lists_the_flow_and_its_key(dev):
    page = render_report(dev)
    elements = Elements(page)
    (row,) = [a for t, a in elements.tags if t == "tr" and a.get("id") == f"flow-{FLOW}"]
    assert '<a href="#flows">Flows</a>' in page
    section = page[page.index('<section id="flows">'):]
    section = section[:section.index("</section>")]
    for text in ("ticket-research", "99% complete successfully", "95% within 5 min", "28 days", "support",
                 '<a href="#agent-triage">triage</a> → <a class="step-topic" href="#topic-tickets-row">tickets</a>'
                 ' → <a href="#agent-research">research</a>'):
        assert text in section, text
    keys = [a for a in elements.having("span", "flow") if "key" in a.get("class", "").split()]
    assert len(keys) == 2 and all(build(dev).flows[0].colour in a["style"] for a in keys)  # legend and table


def test_a_report_without_flows_has_no_flow_section(plans):
    page = render_report(plans["staging"])
    assert 'id="flows"' not in page and 'class="flow"' not in page and "flow-key" not in page
