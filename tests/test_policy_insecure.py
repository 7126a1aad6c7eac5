"""The policy gate of the real CLI: an insecure program fails, the shipped environments pass.

``tests/fixtures/insecure`` creates a handful of plainly insecure resources directly with
pulumi_aws and pulumi_kubernetes, in prod. The rules each one breaks are written out below
from what the resource does and what each rule demands (docs/policies.md), so a rule that
stops firing, or one that starts firing on something it should not, fails the test.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import ENVIRONMENTS, ROOT

MAAS = ROOT / ".venv" / "bin" / "maas"
INSECURE = ROOT / "tests" / "fixtures" / "insecure"

POD = {"debug"}
TAGGABLE = {"orders", "public-assets", "orders-db", "orders-key", "workers", "admin-everything"}

# Rule -> the resources (logical names) of the example that break it, mandatory rules only.
EXPECTED: dict[str, set[str]] = {
    # Pod "debug": privileged, root, escalation allowed, nginx:latest, nothing else set.
    "MAAS-K8S-001": POD,  # runAsUser 0
    "MAAS-K8S-002": POD,  # privileged
    "MAAS-K8S-003": POD,  # allowPrivilegeEscalation true
    "MAAS-K8S-006": POD,  # capabilities not dropped
    "MAAS-K8S-007": POD,  # no seccomp profile
    "MAAS-K8S-008": POD,  # writable root filesystem
    "MAAS-K8S-009": POD,  # no requests or limits
    "MAAS-K8S-010": POD,  # no probes
    "MAAS-K8S-011": POD,  # the latest tag
    "MAAS-K8S-012": POD,  # prod image not pinned by digest
    "MAAS-K8S-013": POD,  # service-account token mounted
    "MAAS-K8S-014": POD,  # runs as the default service account
    # IAM policy "admin-everything": Action * on Resource *.
    "MAAS-IAM-001": {"admin-everything"},
    "MAAS-IAM-002": {"admin-everything"},
    # RDS instance "orders-db": public, unencrypted, default backups and parameter group, one zone.
    "MAAS-NET-002": {"orders-db"},  # publiclyAccessible
    "MAAS-SEC-006": {"orders-db"},  # storage not encrypted with a customer key
    "MAAS-SEC-014": {"orders-db"},  # default parameter group: TLS not forced
    "MAAS-REL-002": {"orders-db"},  # 1 day of backups, no final snapshot
    "MAAS-REL-003": {"orders-db"},  # no deletionProtection in prod
    "MAAS-REL-008": {"orders-db"},  # not multiAz in prod
    "MAAS-LOG-003": {"orders-db"},  # no log exports
    # Bucket "public-assets": public access block off, no default encryption, no TLS-only policy.
    "MAAS-NET-003": {"public-assets", "public-assets-acl"},  # the block switched off; the ACL public-read
    "MAAS-SEC-005": {"public-assets"},
    "MAAS-SEC-012": {"public-assets"},
    # Queue "orders": SSE off, no DLQ, no TLS-only policy.
    "MAAS-SEC-003": {"orders"},
    "MAAS-REL-005": {"orders"},
    "MAAS-SEC-013": {"orders"},
    # KMS key "orders-key": rotation off.
    "MAAS-SEC-010": {"orders-key"},
    # Launch template "workers": IMDSv1 allowed, root volume left to the account default.
    "MAAS-SEC-009": {"workers"},
    "MAAS-SEC-011": {"workers"},
    # Stateful resources not protected from `pulumi destroy` in prod.
    "MAAS-REL-004": {"public-assets", "orders-db", "orders-key"},
    # Nothing carries the required tags (the S3 ACL and access block take no tags).
    "MAAS-TAG-001": TAGGABLE,
}


def maas_plan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(MAAS), "plan", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def insecure(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    path = tmp_path_factory.mktemp("insecure") / "plan.json"
    result = maas_plan("--project-dir", str(INSECURE), "--stack", "prod", "--json", str(path), "--quiet")
    return result, json.loads(path.read_text())


def test_the_insecure_example_fails_the_gate(insecure):
    result, _ = insecure
    assert result.returncode == 1, result.stderr


def test_the_insecure_example_breaks_exactly_the_expected_mandatory_rules(insecure):
    _, plan = insecure
    mandatory = {v["policy"] for v in plan["violations"] if v["level"] == "mandatory"}
    assert mandatory == set(EXPECTED), (
        f"unexpected: {sorted(mandatory - set(EXPECTED))}; missing: {sorted(set(EXPECTED) - mandatory)}"
    )


def test_each_rule_names_the_resources_that_break_it(insecure):
    _, plan = insecure
    found: dict[str, set[str]] = {}
    for violation in plan["violations"]:
        if violation["level"] == "mandatory":
            found.setdefault(violation["policy"], set()).add(violation["urn"].split("::")[-1])
    assert found == EXPECTED


def test_the_quiet_gate_prints_the_mandatory_findings(insecure):
    result, _ = insecure
    assert "MAAS-K8S-002" in result.stderr and "MAAS-NET-002" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_shipped_environments_pass_the_gate(env, tmp_path):
    path = tmp_path / "plan.json"
    result = maas_plan("--stack", env, "--json", str(path), "--quiet")
    mandatory = [f"{v['policy']} {v['urn'].split('::')[-1]}: {v['message']}"
                 for v in json.loads(path.read_text())["violations"] if v["level"] == "mandatory"] if path.exists() else []
    assert result.returncode == 0, "\n".join(mandatory[:20]) or result.stderr
