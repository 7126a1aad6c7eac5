"""The GitHub Actions workflows: valid against GitHub's workflow schema, and doing what CI promises.

The schema is check-jsonschema's vendored copy (``--builtin-schema vendor.github-workflows``), so
the check needs no network: the runs below go through a proxy that refuses every connection.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conftest import ENVIRONMENTS, ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = ROOT / ".venv" / "bin" / "check-jsonschema"
NAMES = ("test.yml", "plan.yml", "checkov.yml", "preview.yml", "charts.yml", "probe-image.yml", "agent-release.yml")


def _offline_env() -> dict[str, str]:
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens, every request fails
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy", "http_proxy", "https_proxy"}}
    return {**env, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead}


def validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True, text=True, timeout=120, env=_offline_env(),
    )


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


def steps(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in document["jobs"].values():
        yield from job.get("steps", [])


def runs(document: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in steps(document))


def uses(document: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in steps(document) if str(step.get("uses", "")).split("@")[0] == action]


def test_the_workflows_are_the_four_ci_runs():
    assert sorted(p.name for p in WORKFLOWS.glob("*.y*ml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_workflow_is_valid_against_the_github_workflow_schema_offline(name):
    result = validate(WORKFLOWS / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = load("plan.yml")
    job = broken["jobs"]["plan"]
    job["stepz"] = job.pop("steps")  # a typo GitHub would refuse
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    result = validate(path)
    assert result.returncode == 1 and "stepz" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_to_a_major_version(name):
    for step in steps(load(name)):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]


def test_test_workflow_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    assert re.search(r"^make test$", runs(load("test.yml")), re.M)


def test_plan_workflow_plans_every_environment_with_the_gate_and_keeps_the_plan():
    document = load("plan.yml")
    job = document["jobs"]["plan"]
    stacks = job["strategy"]["matrix"]["stack"]
    assert sorted(stacks) == sorted(ENVIRONMENTS)
    assert sorted(stacks) == sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert job["strategy"].get("fail-fast") is False, "one environment's violations must not hide another's"
    # `make plan` runs `maas plan`, which exits 1 on a mandatory violation and fails the job.
    assert "make plan STACK=${{ matrix.stack }}" in runs(document)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^plan:.*\n\t\$\(BIN\)/maas plan --stack \$\(STACK\) --out out/\$\(STACK\)$", makefile, re.M)
    upload = uses(document, "actions/upload-artifact")
    assert len(upload) == 1 and upload[0]["if"] == "always()"
    assert upload[0]["with"]["path"].rstrip("/") == "out/${{ matrix.stack }}"  # holds plan.json


def test_checkov_workflow_scans_the_prod_exports_and_uploads_sarif():
    document = load("checkov.yml")
    commands = runs(document)
    assert "maas plan --stack prod --out out/prod" in commands
    checkov = next(step["run"] for step in steps(document) if ".venv-checkov/bin/checkov --" in step.get("run", ""))
    assert "--config-file .checkov.yaml" in checkov
    assert "--file out/prod/tfplan.json" in checkov and "--directory out/prod/manifests" in checkov
    assert "--skip-download" in checkov and "--output sarif" in checkov
    written = re.search(r"--output-file-path console,(\S+)", checkov).group(1)
    upload = uses(document, "github/codeql-action/upload-sarif")
    assert len(upload) == 1 and upload[0]["with"]["sarif_file"] == written
    assert document["jobs"]["checkov"]["permissions"]["security-events"] == "write"
    assert "make .venv/bin/maas .venv-checkov/bin/checkov" in commands


def test_preview_workflow_runs_the_pack_per_environment_only_with_credentials():
    document = load("preview.yml")
    job = document["jobs"]["preview"]
    assert "vars.AWS_ROLE_ARN" in job["if"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(ENVIRONMENTS)
    assert document["permissions"]["id-token"] == "write"  # OIDC, no stored AWS keys
    credentials = uses(document, "aws-actions/configure-aws-credentials")
    assert len(credentials) == 1 and credentials[0]["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert "aws-access-key-id" not in credentials[0]["with"]
    assert len(uses(document, "pulumi/actions")) == 1
    commands = runs(document)
    config = "policy-config.${{ matrix.stack }}.json"
    assert f"maas policy-config --stack ${{{{ matrix.stack }}}} --out {config}" in commands
    preview = next(step["run"] for step in steps(document) if "pulumi preview" in step.get("run", ""))
    assert "--policy-pack policies" in preview and f"--policy-pack-config {config}" in preview
    assert "--stack ${{ matrix.stack }}" in preview


def test_the_preview_config_command_works_for_every_shipped_stack():
    import json
    import sys

    for env in ENVIRONMENTS:
        result = subprocess.run(
            [sys.executable, "-m", "maas_platform.cli", "policy-config", "--stack", env],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        config = json.loads(result.stdout)
        assert config and {entry["environment"] for entry in config.values()} == {env}


@pytest.mark.slow
def test_the_checkov_step_passes_on_prod_and_writes_sarif(prod, tmp_path):
    """The workflow's own checkov command, run where it runs: over the prod exports, from a
    directory laid out like the checkout."""
    import json

    from maas_platform.plan.exports import write_exports

    checkov_bin = ROOT / ".venv-checkov" / "bin" / "checkov"
    if not checkov_bin.exists():
        pytest.fail(f"{checkov_bin} is missing: `make test` installs checkov into .venv-checkov")
    write_exports(prod, tmp_path / "out" / "prod")
    (tmp_path / ".venv-checkov").symlink_to(ROOT / ".venv-checkov")
    (tmp_path / ".checkov.yaml").write_text((ROOT / ".checkov.yaml").read_text())
    document = load("checkov.yml")
    step = next(step for step in steps(document) if ".venv-checkov/bin/checkov --" in step.get("run", ""))
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={**os.environ, **step.get("env", {})})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    sarif = json.loads((tmp_path / "out" / "checkov" / "results.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"]
    assert all(run["tool"]["driver"]["name"] == "Checkov" for run in sarif["runs"])
    assert "terraform_plan scan results" in result.stdout, "checkov did not read the Terraform plan"


ACTIONS = ROOT / ".github" / "actions"


def test_composite_actions_are_valid_against_the_github_action_schema_offline():
    """Composite actions are checked like the workflows, with check-jsonschema's vendored action schema."""
    paths = sorted(ACTIONS.glob("*/action.yml"))
    assert [p.parent.name for p in paths] == ["error-budget-gate"]
    result = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-actions", *map(str, paths)],
                            capture_output=True, text=True, timeout=120, env=_offline_env())
    assert result.returncode == 0, result.stdout + result.stderr
    action = yaml.safe_load((ACTIONS / "error-budget-gate" / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]
        # inputs reach the shell through env, never spliced into the script
        assert "${{" not in step.get("run", ""), step["run"]
