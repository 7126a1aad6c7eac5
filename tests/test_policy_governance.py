"""What a stack's ``maas:policy`` may weaken (``maas_platform.policy.governance``): loosening needs a
reason and an expiry and never reaches a mandatory policy in prod, floors hold in staging and prod,
expired exemptions stop exempting and are findings, and a team stack only tightens its platform's policy."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from maas_platform.config.loader import ConfigError
from maas_platform.plan import Plan, PlannedResource
from maas_platform.policy.catalog import rules
from maas_platform.policy.crossguard import exemptions_of, policy_pack_config
from maas_platform.policy.catalog import get_rule
from maas_platform.policy.gate import gate

TODAY = datetime.date(2026, 12, 2)
LATER = "2027-03-01"
REASON = "accepted by security in SEC-1234 until the migration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RETENTION = "MAAS-LOG-002"  # mandatory: log groups keep at least the stack's minimum


def _log_group(name: str, days: int) -> PlannedResource:
    return PlannedResource(urn=f"urn:pulumi:prod::maas::{LOG_GROUP}::{name}", type=LOG_GROUP, name=name, parent=None,
                           dependencies=(), inputs={"name": name, "retentionInDays": days}, custom=True,
                           provider="urn:pulumi:prod::maas::pulumi:providers:aws::default::id", protect=False)


# Two log groups keeping 14 days: compliant in dev (floor 7), violating in staging (30) and prod (90).
PLAN = Plan(project="maas", stack="prod", outputs={},
            resources=[_log_group("maas-prod-a-logs", 14), _log_group("maas-prod-b-logs", 14)])


def run(config: dict, environment: str = "prod", **kwargs):
    return gate(PLAN, {"maas:policy": config}, environment, "stacks/Pulumi.prod.yaml", today=TODAY, **kwargs)


def of(entries: list[dict], policy: str) -> list[dict]:
    return [entry for entry in entries if entry["policy"] == policy]


def loosen(level: str = "advisory", expires: str = LATER) -> dict:
    return {"level": level, "reason": REASON, "expires": expires}


def exemption(resources: list[str], expires: str = LATER, policy: str = RETENTION) -> dict:
    return {"policy": policy, "resources": resources, "reason": REASON, "expires": expires}


# -- levels ---------------------------------------------------------------------------------------

def test_a_bare_loosening_string_is_a_config_error_naming_the_form_to_write():
    with pytest.raises(ConfigError) as error:
        run({"enforcement": {RETENTION: "advisory"}}, "dev")
    message = str(error.value)
    assert message.startswith(f"maas:policy.enforcement.{RETENTION}: 'advisory' is below the policy's default (mandatory)")
    assert "{level: advisory, reason:" in message and "expires: YYYY-MM-DD" in message and "\n" not in message


def test_a_level_that_keeps_or_tightens_needs_no_reason():
    advisory = next(rule.id for rule in rules() if rule.level == "advisory" and not rule.id.startswith("MAAS-POL"))
    found = run({"enforcement": {RETENTION: "mandatory", advisory: "mandatory"}})
    assert not [v for v in found.violations if v["policy"].startswith("MAAS-POL")]


@pytest.mark.parametrize("level", ["advisory", "disabled"])
def test_prod_does_not_loosen_a_mandatory_policy_and_says_so(level):
    found = run({"enforcement": {RETENTION: loosen(level)}})
    assert {v["level"] for v in of(found.violations, RETENTION)} == {"mandatory"}
    assert len(of(found.violations, RETENTION)) == 2
    [finding] = of(found.violations, "MAAS-POL-001")
    assert finding["level"] == "mandatory" and finding["urn"] == ""
    assert f"maas:policy.enforcement.{RETENTION}" in finding["message"] and "exemptions" in finding["message"]


def test_dev_applies_a_reasoned_expiring_loosening():
    plan = Plan(project="maas", stack="dev", outputs={}, resources=[_log_group("maas-dev-a-logs", 3)])
    found = gate(plan, {"maas:policy": {"enforcement": {RETENTION: loosen()}}}, "dev", today=TODAY)
    assert {v["level"] for v in of(found.violations, RETENTION)} == {"advisory"}
    assert not [v for v in found.violations if v["policy"].startswith("MAAS-POL")]
    disabled = gate(plan, {"maas:policy": {"enforcement": {RETENTION: loosen("disabled")}}}, "dev", today=TODAY)
    assert not of(disabled.violations, RETENTION)
    # switched off, not unseen: what it would report is listed as exempted, with why and until when
    [seen] = of(disabled.exempted, RETENTION)
    assert seen["reason"] == f"disabled: {REASON} (until {LATER})"


def test_staging_may_loosen_a_level_with_reason_and_expiry():
    found = run({"enforcement": {RETENTION: loosen()}}, "staging")
    assert {v["level"] for v in of(found.violations, RETENTION)} == {"advisory"}
    assert not of(found.violations, "MAAS-POL-001")


def test_an_expired_loosening_no_longer_applies_and_is_a_finding():
    found = run({"enforcement": {RETENTION: loosen(expires="2026-12-01")}}, "staging")
    assert {v["level"] for v in of(found.violations, RETENTION)} == {"mandatory"}
    [finding] = of(found.violations, "MAAS-POL-003")
    assert finding["level"] == "mandatory" and "2026-12-01" in finding["message"] and RETENTION in finding["message"]


# -- exemptions -----------------------------------------------------------------------------------

def test_a_named_exemption_holds_in_prod_until_its_expiry():
    found = run({"exemptions": [exemption(["maas-prod-a-logs"])]})
    assert [v["urn"].rsplit("::", 1)[1] for v in of(found.violations, RETENTION)] == ["maas-prod-b-logs"]
    assert [e["reason"] for e in of(found.exempted, RETENTION)] == [REASON]
    assert not [v for v in found.violations if v["policy"].startswith("MAAS-POL")]


def test_the_last_day_of_an_exemption_still_exempts():
    found = run({"exemptions": [exemption(["maas-prod-a-logs"], expires=TODAY.isoformat())]})
    assert len(of(found.exempted, RETENTION)) == 1 and not of(found.violations, "MAAS-POL-003")


def test_an_expired_exemption_exempts_nothing_and_is_a_finding_naming_rule_patterns_and_date():
    found = run({"exemptions": [exemption(["maas-prod-a-logs"], expires="2026-11-30")]}, "dev")
    assert not found.exempted
    [finding] = of(found.violations, "MAAS-POL-003")
    assert finding["level"] == "mandatory"
    assert all(part in finding["message"] for part in (RETENTION, "maas-prod-a-logs", "2026-11-30"))


def test_an_exemption_as_broad_as_the_rule_disables_nothing_in_prod():
    found = run({"exemptions": [exemption(["maas-prod-*"])]})
    assert len(of(found.violations, RETENTION)) == 2 and not found.exempted
    [finding] = of(found.violations, "MAAS-POL-001")
    assert "maas:policy.exemptions[0]" in finding["message"] and "every resource" in finding["message"]
    # dev: a reasoned, expiring exemption of everything is the stack's choice
    assert len(of(run({"exemptions": [exemption(["maas-prod-*"])]}, "dev").exempted, "MAAS-POL-001")) == 0


def test_an_exemption_that_covers_nothing_is_an_advisory_finding():
    found = run({"exemptions": [exemption(["maas-prod-gone-logs"])]}, "dev")
    [finding] = of(found.violations, "MAAS-POL-004")
    assert finding["level"] == "advisory" and "covers no resource" in finding["message"]


# -- the log retention floor ----------------------------------------------------------------------

@pytest.mark.parametrize("environment, floor", [("prod", 90), ("staging", 30)])
def test_the_floor_holds_in_staging_and_prod(environment, floor):
    found = run({"min_log_retention_days": 1}, environment)
    [finding] = of(found.violations, "MAAS-POL-002")
    assert finding["level"] == "mandatory" and "maas:policy.min_log_retention_days" in finding["message"]
    # 14 days is below the floor that holds: still a violation, against that floor
    assert len(of(found.violations, RETENTION)) == 2
    assert all(f"minimum of {floor}" in v["message"] for v in of(found.violations, RETENTION))


def test_a_higher_floor_applies_everywhere_and_dev_may_lower_its_own():
    assert len(of(run({"min_log_retention_days": 60}, "dev").violations, RETENTION)) == 2
    lowered = run({"min_log_retention_days": 3}, "dev")
    assert not of(lowered.violations, "MAAS-POL-002") and not of(lowered.violations, RETENTION)


# -- team stacks ----------------------------------------------------------------------------------

PLATFORM_OUTPUTS = {"environment": "prod", "account_id": "111122223333",
                    "policy": {"environment": "prod", "enforcement": {}, "exemptions": [],
                               "min_log_retention_days": None, "admin_principals": ["arn:aws:iam::111122223333:role/a"]}}


def test_a_team_stack_is_judged_in_its_platforms_environment_whatever_it_says():
    found = gate(PLAN, {"maas:environment": "dev"}, "dev", today=TODAY, platform=PLATFORM_OUTPUTS)
    assert len(of(found.violations, RETENTION)) == 2  # prod's floor of 90 days
    older = {"environment": "prod", "account_id": "111122223333"}  # no policy output: prod's defaults
    assert len(of(gate(PLAN, {}, "dev", today=TODAY, platform=older).violations, RETENTION)) == 2


@pytest.mark.parametrize("policy, key", [
    ({"enforcement": {RETENTION: loosen()}}, f"enforcement.{RETENTION}"),
    ({"exemptions": [exemption(["maas-prod-a-logs"])]}, "exemptions[0]"),
    ({"min_log_retention_days": 7}, "min_log_retention_days"),
])
def test_a_team_stack_cannot_loosen_in_any_environment(policy, key):
    platform = {**PLATFORM_OUTPUTS, "environment": "dev", "policy": {**PLATFORM_OUTPUTS["policy"], "environment": "dev",
                                                                     "min_log_retention_days": 60}}
    found = gate(PLAN, {"maas:policy": policy}, "dev", today=TODAY, platform=platform)
    assert len(of(found.violations, RETENTION)) == 2 and not found.exempted
    assert {v["level"] for v in of(found.violations, RETENTION)} == {"mandatory"}
    [finding] = of(found.violations, "MAAS-POL-005")
    assert finding["level"] == "mandatory" and f"maas:policy.{key}" in finding["message"]


def test_a_team_stack_inherits_its_platforms_loosening_and_may_tighten_it():
    platform = {"environment": "dev", "policy": {"environment": "dev", "enforcement": {RETENTION: loosen()},
                                                 "exemptions": [], "admin_principals": []}}
    small = Plan(project="team", stack="dev", outputs={}, resources=[_log_group("maas-dev-a-logs", 3)])
    inherited = gate(small, {}, "dev", today=TODAY, platform=platform)
    assert {v["level"] for v in of(inherited.violations, RETENTION)} == {"advisory"}
    tightened = gate(small, {"maas:policy": {"enforcement": {RETENTION: "mandatory"}}}, "dev", today=TODAY,
                     platform=platform)
    assert {v["level"] for v in of(tightened.violations, RETENTION)} == {"mandatory"}
    # a platform policy that would not hold in prod (say, an outputs file written by hand) holds nothing there
    prod = {"environment": "prod", "policy": {**platform["policy"], "environment": "prod"}}
    assert {v["level"] for v in of(gate(PLAN, {}, "dev", today=TODAY, platform=prod).violations, RETENTION)} == {"mandatory"}


# -- each rule: what it reports, and nothing without a notice ----------------------------------------

@pytest.mark.parametrize("rule_id", ["MAAS-POL-001", "MAAS-POL-002", "MAAS-POL-003", "MAAS-POL-004", "MAAS-POL-005"])
def test_each_governance_rule_reports_its_notices_only(rule_id):
    from maas_platform.policy.core import Context, Notice, check_stack

    rule = get_rule(rule_id)
    assert rule.scope == "stack" and rule.level == ("advisory" if rule_id == "MAAS-POL-004" else "mandatory")
    assert check_stack(rule, [], Context()) == []  # compliant: nothing refused or lapsed
    context = Context(notices=(Notice(rule_id, "maas:policy.x: refused"), Notice("MAAS-POL-999", "not mine")))
    assert [(f.urn, f.message) for f in check_stack(rule, [], context)] == [("", "maas:policy.x: refused")]


# -- the CrossGuard pack config ---------------------------------------------------------------------

def test_the_pack_config_carries_the_effective_levels_and_the_notices():
    config = {"maas:environment": "prod", "maas:policy": {
        "enforcement": {RETENTION: loosen()}, "exemptions": [exemption(["maas-prod-a-logs"])],
        "min_log_retention_days": 10}}
    rendered = policy_pack_config(config, today=TODAY)
    assert rendered[RETENTION.lower()]["enforcementLevel"] == "mandatory"
    assert rendered[RETENTION.lower()]["min_log_retention_days"] == 90
    assert rendered[RETENTION.lower()]["exemptions"] == [{"resources": ["maas-prod-a-logs"], "reason": REASON,
                                                          "expires": LATER}]
    assert f"maas:policy.enforcement.{RETENTION}" in rendered["maas-pol-001"]["notices"][0]
    assert "maas:policy.min_log_retention_days" in rendered["maas-pol-002"]["notices"][0]


def test_the_pack_stops_exempting_on_the_expiry_date():
    rule = get_rule(RETENTION)
    config = {"exemptions": [{"resources": ["x"], "reason": REASON, "expires": "2026-12-01"}]}
    assert exemptions_of(rule, config, today=datetime.date(2026, 12, 1))
    assert not exemptions_of(rule, config, today=TODAY)
    assert not exemptions_of(rule, {"exemptions": [{"resources": ["x"], "reason": REASON}]}, today=TODAY)


# -- through the CLI --------------------------------------------------------------------------------

def _maas(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def _prod_with(tmp_path: Path, policy: dict) -> Path:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    document["config"]["maas:policy"] = policy
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


IN_A_YEAR_AND_A_DAY = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()


@pytest.mark.parametrize("policy, key", [
    ({"enforcement": {RETENTION: "disabled"}}, f"maas:policy.enforcement.{RETENTION}: 'disabled' is below"),
    ({"exemptions": [exemption(["*"])]}, "maas:policy.exemptions[0].resources"),
    ({"exemptions": [exemption(["urn:pulumi:prod::maas::*"])]}, "maas:policy.exemptions[0].resources"),
    ({"exemptions": [{"policy": RETENTION, "resources": ["maas-prod-a-logs"], "reason": REASON}]},
     "maas:policy.exemptions[0].expires"),
    ({"exemptions": [exemption(["maas-prod-a-logs"], expires="next spring")]}, "maas:policy.exemptions[0].expires"),
    ({"exemptions": [exemption(["maas-prod-a-logs"], expires=IN_A_YEAR_AND_A_DAY)]},
     "maas:policy.exemptions[0].expires"),
    ({"enforcement": {"MAAS-POL-003": loosen("disabled")}}, "maas:policy.enforcement.MAAS-POL-003"),
    ({"exemptions": [exemption(["maas-prod-a-logs"], policy="MAAS-POL-001")]}, "maas:policy.exemptions[0].policy"),
])
def test_malformed_entries_are_one_line_config_errors(tmp_path, policy, key):
    run_ = _maas("plan", "--config-file", str(_prod_with(tmp_path, policy)), "--quiet")
    assert run_.returncode == 2, run_.stderr
    lines = run_.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], run_.stderr


def test_maas_policy_config_renders_prod_without_the_loosening(tmp_path):
    path = _prod_with(tmp_path, {"enforcement": {RETENTION: {"level": "disabled", "reason": REASON,
                                                             "expires": (datetime.date.today()
                                                                         + datetime.timedelta(days=30)).isoformat()}}})
    result = _maas("policy-config", "--config-file", str(path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document[RETENTION.lower()]["enforcementLevel"] == "mandatory"
    assert document["maas-pol-001"]["notices"]


@pytest.mark.slow
def test_the_team_example_cannot_loosen_its_platforms_policy(tmp_path):
    team = tmp_path / "team"
    shutil.copytree(ROOT / "stacks" / "teams" / "example", team)
    stack_file = team / "Pulumi.dev.yaml"
    document = yaml.safe_load(stack_file.read_text())
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    document["config"]["maas:policy"] = {
        "enforcement": {RETENTION: {"level": "disabled", "reason": REASON, "expires": expires}},
        "exemptions": [exemption(["*-logs"], expires=expires, policy="MAAS-SEC-001")],
        "min_log_retention_days": 1,
    }
    stack_file.write_text(yaml.safe_dump(document))
    out = tmp_path / "team.json"
    result = _maas("plan", "--project-dir", str(team), "--stack", "dev", "--platform-dir", str(ROOT),
                   "--json", str(out), "--quiet")
    assert result.returncode == 1, result.stderr
    plan = json.loads(out.read_text())
    messages = [v["message"] for v in plan["violations"] if v["policy"] == "MAAS-POL-005"]
    assert len(messages) == 3, plan["violations"]
    assert {v["level"] for v in plan["violations"] if v["policy"] == "MAAS-POL-005"} == {"mandatory"}
    assert not plan.get("exempted")


@pytest.mark.parametrize("stack, environment, understated", [
    ("prod", "dev", True),
    ("acme-prod-eu", "staging", True),
    ("stg", "dev", True),
    ("prod", "prod", False),
    ("staging", "prod", False),   # stricter than the name: nothing lost
    ("dev", "dev", False),
    ("product-catalog", "dev", False),  # "product" is not "prod"
])
def test_a_stack_named_for_a_stricter_environment_than_it_is_judged_in_is_a_finding(stack, environment, understated):
    from maas_platform.policy.governance import ENVIRONMENT_UNDERSTATED, understated_environment

    notices = understated_environment(stack, environment)
    assert [n.policy for n in notices] == ([ENVIRONMENT_UNDERSTATED] if understated else [])
