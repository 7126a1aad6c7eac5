"""Checks that span stacks: what a team stack's plan refuses because of the platform it joins
(a publisher the topic's policy refuses, a name taken or declared twice, an agent of another
team or not registered), the topic policy that admits whole teams, and the report's arrows."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from maas_platform import names
from maas_platform.config.loader import ConfigError, parse_platform_config
from maas_platform.iam.lint import Kind, lint_policy
from maas_platform.plan import Plan, plan_project
from maas_platform.report.access import topic_admits
from maas_platform.report.model import build

TEAM = ROOT / "stacks" / "teams" / "example"
PLATFORM_STACK = "acme/maas/dev"
INTAKE_MESSAGING = re.escape('messaging={"subscribes": ["tickets"]}')
INTAKE_PUBLISHES = 'messaging={"subscribes": ["tickets"], "publishes": ["tickets"]}'
ACCOUNT = "123456789012"
AGENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/maas-dev-agent-"


def maas(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def team_copy(tmp_path: Path, *edits: tuple[str, str], config: dict[str, Any] | None = None, name: str = "team") -> Path:
    """The example team project copied into ``tmp_path``, its program (regular expression -> replacement,
    first match) and dev config edited."""
    target = tmp_path / name
    shutil.copytree(TEAM, target, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    program = target / "__main__.py"
    text = program.read_text()
    for pattern, replacement in edits:
        assert re.search(pattern, text), pattern
        text = re.sub(pattern, replacement, text, count=1)
    program.write_text(text)
    if config is not None:
        stack_file = target / "Pulumi.dev.yaml"
        document = yaml.safe_load(stack_file.read_text())
        document["config"].update(config)
        document["config"] = {k: v for k, v in document["config"].items() if v is not None}
        stack_file.write_text(yaml.safe_dump(document))
    return target


@pytest.fixture(scope="module")
def platform() -> Plan:
    return plan_project(ROOT, stack="dev")


@pytest.fixture(scope="module")
def outputs(platform) -> dict[str, Any]:
    return copy.deepcopy(platform.stack_outputs().values)


def outputs_file(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "platform-dev.json"
    path.write_text(json.dumps(values))
    return path


def plan_team(team: Path, values: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess:
    return maas("plan", "--project-dir", str(team), "--stack", "dev", "--platform-outputs",
                str(outputs_file(tmp_path, values)), "--json", str(tmp_path / "plan.json"), "--quiet")


def with_teams(values: dict[str, Any], **teams: list[str]) -> dict[str, Any]:
    return {**values, "teams": {team: {"agents": agents, "deploy_role_arn": f"arn:aws:iam::{ACCOUNT}:role/deploy-{team}",
                                       "kubeconfig": "[secret]"} for team, agents in teams.items()}}


# --- what a team plan refuses, one line each -----------------------------------------------------

def test_a_publisher_the_topic_policy_refuses_is_one_line(tmp_path, outputs):
    team = team_copy(tmp_path, (INTAKE_MESSAGING, INTAKE_PUBLISHES))
    line = one_line_error(plan_team(team, outputs, tmp_path))
    assert "agent 'intake': messaging.publishes: topic 'tickets' refuses it" in line, line
    assert "'intake' to its team_publishers" in line and "'claims' to its publisher_teams" in line
    assert f"platform stack '{PLATFORM_STACK}'" in line


def test_the_same_name_twice_in_one_stack_is_one_line(tmp_path, outputs):
    team = team_copy(tmp_path, ('name="summarizer"', 'name="intake"'))
    line = one_line_error(plan_team(team, outputs, tmp_path))
    assert "agent 'intake' is declared twice in this stack" in line, line


def test_a_name_the_platform_stack_deploys_is_one_line(tmp_path, outputs):
    team = team_copy(tmp_path, ('name="summarizer"', 'name="research"'))
    line = one_line_error(plan_team(team, outputs, tmp_path))
    assert "agent 'research': name is taken by an agent of the platform stack" in line, line


def test_an_agent_of_another_team_is_one_line(tmp_path, outputs):
    team = team_copy(tmp_path, (r'(name="summarizer",\s+team=)[^,]+', r'\1"support"'))
    line = one_line_error(plan_team(team, outputs, tmp_path))
    assert "agent 'summarizer': team 'support' is not this stack's team 'claims' (maas:team)" in line, line


def test_an_agent_the_platform_did_not_register_to_the_team_is_one_line(tmp_path, outputs):
    line = one_line_error(plan_team(team_copy(tmp_path), with_teams(outputs, claims=["intake"]), tmp_path))
    assert "agent 'summarizer': not registered to team 'claims'" in line, line
    assert f"platform stack '{PLATFORM_STACK}'" in line and "maas:teams" in line


@pytest.mark.parametrize("team, expected", [
    (None, "maas:team: required: platform stack 'acme/maas/dev' registers teams (claims)"),
    ("ledger", "maas:team: 'ledger' is not a team of platform stack 'acme/maas/dev' (claims)"),
])
def test_a_team_stack_names_a_registered_team(tmp_path, outputs, team, expected):
    project = team_copy(tmp_path, config={"maas:team": team})
    line = one_line_error(plan_team(project, with_teams(outputs, claims=["intake", "summarizer"]), tmp_path))
    assert expected in line, line


def test_registered_agents_of_the_team_plan(tmp_path, outputs):
    result = plan_team(team_copy(tmp_path), with_teams(outputs, claims=["intake", "summarizer"]), tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_shipped_example_plans():
    result = maas("plan", "--project-dir", str(TEAM), "--stack", "dev", "--quiet")
    assert result.returncode == 0, result.stderr


# --- one registry per program run -----------------------------------------------------------------

def test_the_same_names_in_other_stacks_of_one_process_plan(tmp_path, platform):
    references = {PLATFORM_STACK: platform.stack_outputs()}
    first = plan_project(TEAM, stack="dev", stack_outputs=references)
    # The same program again, and another project with the same agent names, in this process.
    assert plan_project(TEAM, stack="dev", stack_outputs=references).to_json() == first.to_json()
    other = team_copy(tmp_path, name="other")
    (other / "Pulumi.yaml").write_text((other / "Pulumi.yaml").read_text().replace("maas-team-example", "maas-team-other"))
    second = plan_project(other, stack="dev", stack_outputs=references)
    assert second.project == "maas-team-other"
    assert sorted(a.name for a in second.agents.values()) == sorted(a.name for a in first.agents.values())


# --- publisher_teams: the topic admits a team's agents --------------------------------------------

def platform_config(tmp_path: Path, **tickets: Any) -> Path:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    topics = document["config"]["maas:broker"]["topics"]
    next(t for t in topics if t["name"] == "tickets").update(tickets)
    path = tmp_path / "platform" / "Pulumi.dev.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(document))
    return path


def topic_policy(plan: Plan, topic: str) -> dict[str, Any]:
    [policy] = [p for p in plan.of_type(names.SNS_TOPIC_POLICY) if p.name.endswith(f"-topic-{topic}-policy")]
    return json.loads(policy.inputs["policy"])


@pytest.fixture(scope="module")
def claims_may_publish(tmp_path_factory) -> Plan:
    """The dev platform whose topic 'tickets' admits the agents of team claims."""
    return plan_project(ROOT, config_file=platform_config(tmp_path_factory.mktemp("p"), publisher_teams=["claims"]))


def test_publisher_teams_let_a_team_agent_publish(tmp_path, claims_may_publish):
    platform = claims_may_publish
    exported = platform.outputs["messaging"]["topics"]["tickets"]
    assert exported["publishers"] == ["triage"] and exported["publisher_teams"] == ["claims"]
    statements = {s["Sid"]: s for s in topic_policy(platform, "tickets")["Statement"]}
    assert statements["PublisherTeams"]["Effect"] == "Allow"
    assert statements["PublisherTeams"]["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": f"{AGENT_ROLE}*"}, "StringEquals": {"aws:PrincipalTag/team": ["claims"]},
    }
    assert statements["NoOtherTeamPublishes"]["Condition"]["StringNotEquals"] == {"aws:PrincipalTag/team": ["claims"]}
    team = team_copy(tmp_path, (INTAKE_MESSAGING, INTAKE_PUBLISHES))
    plan = plan_project(team, stack="dev", stack_outputs={PLATFORM_STACK: platform.stack_outputs()})
    grants = [p for p in plan.of_type(names.IAM_ROLE_POLICY) if "tickets" in json.dumps(p.inputs.get("policy"))]
    assert grants and "sns:Publish" in json.dumps(grants[0].inputs["policy"])


def test_a_topic_without_publisher_teams_keeps_its_policy(platform):
    statements = {s["Sid"] for s in topic_policy(platform, "tickets")["Statement"]}
    assert statements == {"DenyPlainHttp", "DeclaredPublishers", "NobodyElsePublishes"}
    assert platform.outputs["messaging"]["topics"]["tickets"]["publisher_teams"] == []


def test_publisher_teams_need_a_topic_policy():
    values = {"environment": "dev", "region": "us-east-1",
              "cluster": {"admin_role_arns": [f"arn:aws:iam::{ACCOUNT}:role/admin"]},
              "broker": {"backend": "msk-serverless", "topics": [{"name": "tickets", "publisher_teams": ["claims"]}]}}
    with pytest.raises(ConfigError, match="publisher_teams; only sns-sqs topics have a policy"):
        parse_platform_config(values)


@pytest.mark.parametrize("role, tags, admitted", [
    ("intake", {"team": "claims"}, True),
    ("triage", {"team": "support"}, True),         # named in publishers
    ("intake", {"team": "support"}, False),        # another team
    ("intake", {}, False),                         # untagged
    ("../admin", {"team": "claims"}, False),       # not an agent role, though tagged
])
def test_the_team_policy_admits_tagged_agent_roles_only(claims_may_publish, role, tags, admitted):
    arn = f"arn:aws:iam::{ACCOUNT}:role/admin" if role.startswith("..") else f"{AGENT_ROLE}{role}"
    assert topic_admits(topic_policy(claims_may_publish, "tickets"), arn, tags) is admitted


# --- the platform stack and the report ------------------------------------------------------------

def test_every_platform_publisher_is_admitted_by_its_topic(platform):
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    config = parse_platform_config({k.removeprefix("maas:"): v for k, v in document["config"].items()})
    published = [(a.name, a.team, t) for a in config.agents for t in a.messaging.publishes]
    assert published
    for agent, team, topic in published:
        assert topic_admits(topic_policy(platform, topic), f"{AGENT_ROLE}{agent}", {"team": team}), (agent, topic)
    report = build(platform)
    assert {(a.name, t) for a in report.agents for t in a.publishes} == {(a, t) for a, _, t in published}


def test_the_report_draws_no_arrow_the_topic_policy_refuses(platform):
    before = {a.name: a.publishes for a in build(platform).agents}
    assert "tickets" in before["triage"]
    resources = []
    for resource in platform.resources:
        if resource.type == names.SNS_TOPIC_POLICY and resource.name.endswith("-topic-tickets-policy"):
            policy = json.loads(resource.inputs["policy"])
            for statement in policy["Statement"]:
                for condition in (statement.get("Condition") or {}).values():
                    if "aws:PrincipalArn" in condition:
                        condition["aws:PrincipalArn"] = [f"{AGENT_ROLE}someone-else"]
            resource = replace(resource, inputs={**resource.inputs, "policy": json.dumps(policy)})
        resources.append(resource)
    refused = build(replace(platform, resources=resources))
    after = {a.name: a.publishes for a in refused.agents}
    assert "tickets" not in after["triage"] and after["research"] == before["research"]
    assert dict((t.name, t.publishers) for t in refused.topics)["tickets"] == ()


def test_parliament_finds_nothing_in_the_team_topic_policy(claims_may_publish):
    result = lint_policy(json.dumps(topic_policy(claims_may_publish, "tickets")), Kind.RESOURCE, "tickets topic policy")
    assert result.findings == () and result.not_evaluable is None, result.findings
