"""The typed contract between the platform stack and team stacks (maas_platform.components.contract)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from maas_platform.components.contract import PlatformOutputs
from maas_platform.plan import Plan, plan_project

TEAM = ROOT / "stacks" / "teams" / "example"
KEY = "aws:kms/key:Key"
TABLE = "aws:dynamodb/table:Table"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

pytestmark = pytest.mark.slow


def stack_file(tmp_path: Path, name: str, source: Path, **changes) -> Path:
    document = yaml.safe_load(source.read_text())
    document["config"].update(changes)
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def team_plan(tmp_path: Path, platform: Plan, environment: str) -> Plan:
    team_file = stack_file(tmp_path, environment, TEAM / "Pulumi.dev.yaml", **{
        "maas:environment": environment, "maas:platform_stack": f"acme/maas/{environment}",
    })
    return plan_project(TEAM, config_file=team_file,
                        stack_outputs={f"acme/maas/{environment}": platform.stack_outputs()})


@pytest.fixture(scope="module")
def dev_platform() -> Plan:
    return plan_project(ROOT, stack="dev")


def test_every_platform_output_is_a_field_of_the_contract(dev_platform):
    values = dev_platform.stack_outputs().values
    assert set(values) <= set(PlatformOutputs.model_fields), set(values) - set(PlatformOutputs.model_fields)
    parsed = PlatformOutputs.parse(values, "acme/maas/dev")
    assert parsed.environment == "dev" and parsed.protect_stateful is False
    assert parsed.agents and all(agent.role_arn.startswith("arn:aws:iam::") for agent in parsed.agents.values())


def test_the_platform_exports_its_policy_for_team_stacks_to_inherit(dev_platform):
    """A team stack's gate enforces this output (policy.governance); without it, nothing is loosened."""
    exported = dev_platform.stack_outputs().values["policy"]
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    assert exported["environment"] == "dev"
    assert exported["admin_principals"] == config["maas:cluster"]["admin_role_arns"]
    assert {"enforcement", "exemptions", "min_log_retention_days"} <= set(exported)
    assert PlatformOutputs.parse(dev_platform.stack_outputs().values, "acme/maas/dev").policy.environment == "dev"
    assert "policy" not in dev_platform.stack_outputs().secret_names


def test_the_platform_cannot_export_a_name_the_contract_lacks():
    with pytest.raises(ValueError, match=r"unknown \['clustr_name'\]"):
        PlatformOutputs.export(clustr_name="x")


def test_team_agents_inherit_the_platforms_protection_of_data(tmp_path):
    """A staging platform that protects its stateful resources protects team agents' keys and tables too."""
    platform_file = stack_file(tmp_path, "staging", ROOT / "stacks" / "Pulumi.staging.yaml", **{
        "maas:protect_stateful": True, "maas:broker": {"topics": [{"name": "tickets"}]},
    })
    platform = plan_project(ROOT, config_file=platform_file)
    assert platform.outputs["protect_stateful"] is True
    (tmp_path / "team").mkdir()
    team = team_plan(tmp_path / "team", platform, "staging")
    stateful = [r for r in team.resources if r["type"] in (KEY, TABLE)]
    assert {r["type"] for r in stateful} == {KEY, TABLE}
    assert all(r["protect"] for r in stateful), [r["urn"] for r in stateful if not r["protect"]]
    tables = [r for r in stateful if r["type"] == TABLE]
    assert all(r["inputs"]["deletionProtectionEnabled"] is True for r in tables)


def test_team_agents_keep_logs_as_long_as_the_platform_says(tmp_path, dev_platform):
    """Numbers cross the StackReference as floats; the contract still reads the retention."""
    days = dev_platform.outputs["agent_log_retention_days"]
    team = team_plan(tmp_path, dev_platform, "dev")
    groups = [r for r in team.resources if r["type"] == LOG_GROUP]
    assert groups and {r["inputs"]["retentionInDays"] for r in groups} == {days}


@pytest.mark.parametrize("change, named", [
    ({"private_subnet_ids": "subnet-1"}, "output 'private_subnet_ids'"),
    ({"protect_stateful": "sometimes"}, "output 'protect_stateful'"),
    ({"messaging": {"backend": "carrier-pigeon"}}, "output 'messaging.backend'"),
    ({"cluster_arn": None}, "output 'cluster_arn'"),
])
def test_an_output_a_team_stack_cannot_parse_is_one_line(tmp_path, dev_platform, change, named):
    values = {**dev_platform.stack_outputs().values, **change}
    path = tmp_path / "platform-dev.json"
    path.write_text(json.dumps(values))
    result = subprocess.run(
        [sys.executable, "-m", "maas_platform.cli", "plan", "--project-dir", str(TEAM), "--stack", "dev",
         "--platform-outputs", str(path), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert named in lines[0] and "platform stack 'acme/maas/dev'" in lines[0], lines[0]
