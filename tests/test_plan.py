"""The `maas plan` contract: JSON shape, determinism, exit codes, exports."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conftest import ENVIRONMENTS, ROOT
from maas_platform.cli import app
from maas_platform.plan import Plan, PlannedResource, plan_project
from maas_platform.plan.engine import ProgramError, run_program
from maas_platform.plan.fake_cloud import FakeCloud

RESOURCE_KEYS = {"urn", "type", "name", "parent", "dependencies", "inputs"}


def maas(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maas_platform.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_plans_with_the_contract_shape(plans, env):
    document = json.loads(plans[env].to_json())
    # not_evaluable is written only when a rule met a value it cannot see offline.
    expected = ["project", "stack", "resources", "outputs", "violations", "exempted", "cost"]
    if document.get("not_evaluable"):
        expected.insert(6, "not_evaluable")
    assert list(document) == expected
    assert document["project"] == "maas" and document["stack"] == env
    mandatory = [v for v in document["violations"] if v["level"] == "mandatory"]
    assert mandatory == [], "the shipped stacks pass the plan gate"
    for violation in document["violations"]:
        assert list(violation) == ["policy", "severity", "level", "urn", "message"]
    cost = document["cost"]
    assert list(cost)[:2] == ["currency", "monthly_total"] and cost["currency"] == "USD"
    assert {"baseline", "usage", "by_agent", "by_team", "resources", "unpriced"} <= set(cost)
    assert cost["unpriced"] == [], "every resource type the shipped stacks use has a price"
    urns = {r["urn"] for r in document["resources"]}
    for resource in document["resources"]:
        assert RESOURCE_KEYS <= set(resource)
        assert resource["parent"] is None or resource["parent"] in urns or resource["parent"].endswith(
            f"pulumi:pulumi:Stack::maas-{env}"
        )
        assert set(resource["dependencies"]) <= urns, f"{resource['urn']} depends on something not in the plan"
    assert document["outputs"]["cluster_name"] == f"maas-{env}"


def test_prod_environment_is_bigger_than_dev(plans):
    def environment(plan):  # the environment itself, without the agents it hosts and the teams it registers,
        # nor what serves only the agents' LLM calls (the gateway, Bedrock's invocation logging)
        hosted = ("maas:agent:AgentService", "maas:teams:TeamAccess", "maas:llmgateway:LlmGateway", "maas:bedrock:BedrockLogging")
        return [r for r in plan.cloud_resources() if not any(token in r["urn"] for token in hosted)]

    assert len(environment(plans["prod"])) > len(environment(plans["dev"])) > 40


def test_inputs_are_camel_case_as_the_engine_sees_them(prod):
    cluster = prod.of_type("aws:eks/cluster:Cluster")[0]["inputs"]
    assert "enabledClusterLogTypes" in cluster and "enabled_cluster_log_types" not in cluster
    node_group = prod.of_type("aws:eks/nodeGroup:NodeGroup")[0]["inputs"]
    assert node_group["scalingConfig"]["minSize"] == 3 and isinstance(node_group["scalingConfig"]["minSize"], int)


def test_secrets_never_appear_in_the_plan(prod):
    provider = next(r for r in prod.resources if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert prod.outputs["kubeconfig"] == "[secret]"
    assert "get-token" not in prod.to_json()


def test_plan_is_deterministic(dev):
    again = plan_project(ROOT, stack="dev")
    assert again.to_json() == dev.to_json()


def test_cli_json_is_byte_identical_across_runs(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        result = maas("plan", "--stack", "dev", "--json", str(path), "--quiet")
        assert result.returncode == 0, result.stderr
    assert first.read_bytes() == second.read_bytes()


def test_cli_prod_plan_and_exports(tmp_path):
    out = tmp_path / "out"
    result = maas("plan", "--stack", "prod", "--json", str(tmp_path / "p.json"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "resources in" in result.stdout and "maas:cluster:Cluster" in result.stdout
    plan = json.loads((tmp_path / "p.json").read_text())
    assert json.loads((out / "plan.json").read_text()) == plan
    kinds = {p.name.split("--")[0] for p in (out / "manifests").glob("*.yaml")}
    assert {"namespace", "storageclass"} <= kinds


def test_config_file_option_takes_the_stack_name_from_the_file(tmp_path):
    config = tmp_path / "Pulumi.sandbox.yaml"
    config.write_text((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    result = maas("plan", "--config-file", str(config), "--json", str(tmp_path / "p.json"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "p.json").read_text())["stack"] == "sandbox"


def test_usage_errors_exit_2_without_traceback():
    for args in (("plan",), ("plan", "--stack", "nope")):
        result = maas(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().startswith("error:")


def test_invalid_config_stops_before_any_resource_is_registered():
    with pytest.raises(ProgramError) as stopped:
        run_program(
            ROOT / "stacks", project="maas", stack="dev",
            config={"maas:environment": "prod", "maas:network": {"az_count": 1}}, cloud=FakeCloud("us-east-1"),
        )
    assert str(stopped.value).startswith("maas:network.az_count:")
    assert stopped.value.registered == 0


def test_offline_plan_refuses_data_sources_it_does_not_emulate():
    with pytest.raises(NotImplementedError, match="getAmi"):
        FakeCloud("us-east-1").call(type("Args", (), {"token": "aws:ec2/getAmi:getAmi", "args": {}})())


def test_the_fake_account_is_the_one_the_stack_names(prod, dev):
    assert prod.outputs["account_id"] == "111122223333"
    assert prod.outputs["cluster_arn"] == "arn:aws:eks:us-east-1:111122223333:cluster/maas-prod"
    assert dev.outputs["account_id"] == "123456789012"  # dev names no account


# -- the plan's data ------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_plan_json_reads_back_byte_for_byte(plans, env):
    text = plans[env].to_json()
    again = Plan.from_dict(json.loads(text))
    assert again.to_json() == text
    assert again.resources == plans[env].resources


def test_resources_are_typed_records_that_still_read_by_key(dev):
    (cluster,) = dev.of_type("aws:eks/cluster:Cluster")
    assert isinstance(cluster, PlannedResource) and cluster.custom and cluster.parent in dev.by_urn
    assert cluster["inputs"] is cluster.inputs and cluster.get("protect") is cluster.protect
    assert cluster.get("no-such-key") is None
    with pytest.raises(KeyError):
        cluster["no-such-key"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cluster.name = "renamed"  # type: ignore[misc]


def test_aliases_are_written_only_for_resources_that_have_them():
    row = {"urn": "urn:pulumi:dev::maas::aws:sqs/queue:Queue::q", "type": "aws:sqs/queue:Queue", "name": "q",
           "parent": None, "dependencies": [], "inputs": {}, "custom": True, "provider": None, "protect": False}
    assert list(PlannedResource.from_dict(row).to_dict()) == list(row)
    moved = {**row, "aliases": ["urn:pulumi:dev::maas::maas:index:Platform$aws:sqs/queue:Queue::q"]}
    assert PlannedResource.from_dict(moved).to_dict() == moved


UNSEEN = {"policy": "MAAS-NET-001", "severity": "high",
          "urn": "urn:pulumi:dev::maas::aws:ec2/securityGroup:SecurityGroup::maas-dev-nodes",
          "message": "ingress CIDR is known only after apply", "property": "ingress[0].cidrBlocks"}


def test_what_the_gate_cannot_evaluate_is_carried_by_the_plan_and_its_json(monkeypatch):
    from maas_platform.plan import pipeline
    from maas_platform.policy.gate import GateResult

    monkeypatch.setattr(pipeline, "gate", lambda plan, config, environment, source, **facts: GateResult([], [], [UNSEEN]))
    plan = plan_project(ROOT, stack="dev")
    assert plan.not_evaluable == [UNSEEN] and plan.violations == []
    document = json.loads(plan.to_json())
    assert list(document)[-2:] == ["not_evaluable", "cost"] and document["not_evaluable"] == [UNSEEN]
    assert Plan.from_dict(document).not_evaluable == [UNSEEN]


def test_the_cli_lists_what_is_not_evaluable_as_advisory(dev, monkeypatch):
    from maas_platform.plan import pipeline

    monkeypatch.setattr(pipeline, "plan_project", lambda *args, **kwargs: dataclasses.replace(dev, not_evaluable=[UNSEEN]))
    result = CliRunner().invoke(app, ["plan", "--stack", "dev"])
    assert result.exit_code == 0, result.stdout  # advisory: never a failure
    assert "1 not evaluable" in result.stdout and "not evaluable offline" in result.stdout
    assert "MAAS-NET-001" in result.stdout and "maas-dev-nodes" in result.stdout
    quiet = CliRunner().invoke(app, ["plan", "--stack", "dev", "--quiet"])
    assert quiet.exit_code == 0 and "MAAS-NET-001" not in quiet.stdout + quiet.stderr


def test_maas_help_lists_every_subcommand():
    commands = typer.main.get_command(app).commands
    assert set(commands) == {"plan", "diff", "verify", "preflight", "policy-config", "reference", "error-budget",
                             "scan-gate", "release-pin"}
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and all(name in shown.stdout for name in commands)
    references = CliRunner().invoke(app, ["reference", "--help"], env={"COLUMNS": "200"})
    assert "config" in references.stdout and "policies" in references.stdout


def test_reading_a_plan_runs_no_program(tmp_path):
    """The report, ``maas verify`` and the CLI read a plan without loading the engine that runs programs."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"project": "maas", "stack": "dev", "outputs": {}, "resources": [
        {"urn": "urn:pulumi:dev::maas::aws:sqs/queue:Queue::q", "type": "aws:sqs/queue:Queue", "name": "q"}]}))
    code = (
        "import json, sys\n"
        "import maas_platform.cli, maas_platform.report, maas_platform.verify.run\n"
        "from maas_platform.plan import Plan\n"
        "Plan.from_dict(json.load(open(sys.argv[1])))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('maas_platform.plan.', 'pulumi.runtime'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['maas_platform.plan.model']"
