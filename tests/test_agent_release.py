"""The agents' reusable release workflow (.github/workflows/agent-release.yml): what it promises.

Its jobs run test -> build (push, read the digest) -> sign (cosign, the digest) -> scan (maas
scan-gate) -> pull request pinning the digest. These tests read the workflow as data: only the jobs
that assume the agent's CI role may ask GitHub for an OIDC token, nothing is signed or pinned by tag,
and no pull request opens before the scan gate passed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from test_workflows import WORKFLOWS, load, validate

NAME = "agent-release.yml"
ROLE_ACTION = "aws-actions/configure-aws-credentials"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load(NAME)


def job_uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if str(step.get("uses", "")).split("@")[0] == action]


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def upstream(workflow: dict[str, Any], name: str) -> set[str]:
    """Every job ``name`` waits for, directly or not."""
    found: set[str] = set()
    todo = list(needs(workflow["jobs"][name]))
    while todo:
        job = todo.pop()
        if job not in found:
            found.add(job)
            todo.extend(needs(workflow["jobs"][job]))
    return found


def test_it_is_reusable_only_and_valid(workflow):
    assert set(workflow["on"]) == {"workflow_call"}
    result = validate(WORKFLOWS / NAME)
    assert result.returncode == 0, result.stdout + result.stderr
    inputs = workflow["on"]["workflow_call"]["inputs"]
    assert {"agent", "environment", "region", "role-arn", "repository", "platforms", "test-command",
            "stack-repository", "stack-config", "change"} <= set(inputs)
    assert "stack-token" in workflow["on"]["workflow_call"]["secrets"]


def test_oidc_only_in_the_jobs_that_assume_the_role(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        assert permissions is not None, f"{name} states its permissions"
        assumes = bool(job_uses(job, ROLE_ACTION))
        assert (permissions.get("id-token") == "write") == assumes, name
        assert set(permissions.values()) <= {"read", "write"} and all(
            value == "read" for key, value in permissions.items() if key != "id-token"), f"{name}: {permissions}"


def test_the_image_is_pushed_and_read_back_by_digest(workflow):
    build = workflow["jobs"]["build"]
    (push,) = job_uses(build, "docker/build-push-action")
    assert push["with"]["push"] is True and push["with"]["platforms"] == "${{ inputs.platforms }}"
    assert "provenance" in push["with"]
    assert build["outputs"]["digest"] == f"${{{{ steps.{push['id']}.outputs.digest }}}}"
    image = next(step for step in build["steps"] if step.get("id") == "image")
    assert "@$DIGEST" in image["run"] and "sha256:[0-9a-f]{64}" in image["run"]


def test_the_signature_is_of_the_digest_never_a_tag(workflow):
    sign = workflow["jobs"]["sign"]
    assert job_uses(sign, "sigstore/cosign-installer")
    (step,) = [s for s in sign["steps"] if "cosign sign" in s.get("run", "")]
    assert step["env"]["IMAGE"] == "${{ needs.build.outputs.image }}"
    assert step["env"]["KEY"] == "awskms:///alias/${{ inputs.repository }}/image-signing"
    assert '"$IMAGE" == *@sha256:*' in step["run"]
    assert not re.search(r"cosign sign[^\n]*:\$\{\{|github\.sha", step["run"])


def test_the_scan_gate_runs_before_the_pull_request_which_needs_it(workflow):
    jobs = workflow["jobs"]
    scan = jobs["scan"]
    assert any("maas\" scan-gate" in step.get("run", "") or "maas scan-gate" in step.get("run", "")
               for step in scan["steps"])
    assert {"build", "sign"} <= upstream(workflow, "scan")
    assert "scan" in needs(jobs["pull-request"])
    assert "test" in upstream(workflow, "build")
    run = next(s for s in jobs["pull-request"]["steps"] if "gh pr create" in s.get("run", ""))
    assert run["env"]["IMAGE"] == "${{ needs.build.outputs.image }}" and "CHANGE" in run["env"]
    assert "BUDGET" in run["env"]
    # The image and the release's kind are written together, every release (a fix must not outlive itself).
    assert 'release-pin --config "$CONFIG" --agent "$AGENT" --image "$IMAGE" --change "$CHANGE"' in run["run"]


def test_a_rebuild_of_the_same_commit_gets_its_own_tag(workflow):
    # Tags are immutable in the agent's repository: a tag of the commit alone would refuse a re-run.
    (push,) = job_uses(workflow["jobs"]["build"], "docker/build-push-action")
    assert push["with"]["tags"].endswith(":${{ github.sha }}-${{ github.run_id }}-${{ github.run_attempt }}")


def test_each_platforms_image_is_gated_not_only_the_index(workflow):
    (step,) = [s for s in workflow["jobs"]["scan"]["steps"] if "scan-gate" in s.get("run", "")]
    assert "aws ecr batch-get-image" in step["run"] and 'for image in $digests' in step["run"]
    assert '--digest "$image"' in step["run"]


def test_every_uses_is_pinned(workflow):
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            action = step.get("uses")
            if action is None or action.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action), f"{name}: {action} is not pinned to a major"


def test_inputs_reach_the_shell_only_through_the_environment(workflow):
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{name}: an expression spliced into a script"
