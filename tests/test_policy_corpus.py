"""The policy corpus (tests/policy-corpus/): insecure stacks the gate must block, secure ones it
must let through.

Two kinds of case (tests/policy-corpus/README.md says how to add one):

- **programs** (``programs/<case>.py``): a team-stack program, planned as the team ``claims`` of the
  dev or prod platform. The platform stack is planned once per session and each program reads its
  outputs (``plan_project(..., platform_outputs=...)``), as ``maas plan --platform-outputs`` does;
- **configs** (``configs/<case>.yaml``): an overlay merged onto ``stacks/Pulumi.<base>.yaml``, the
  platform planned with it (``maas plan --config-file``).

Each case states what must happen: ``expect`` (rules that must report a mandatory violation),
``expect_area`` (a mandatory violation of a rule in that area's newer ID range, until the rule is
pinned), ``expect_exit: 2`` with ``message`` (a configuration error: one line naming the key),
``expect_exit: 3`` (the program itself failed), or ``secure: true`` (a control: no mandatory
violation, exit 0). ``xfail: <why>`` marks a case whose rule has not landed (strict: it fails once
the gate catches the case, so the mark is removed and the rule pinned). ``cli: true`` runs the case
through ``maas plan`` as well, for its exit code.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from conftest import ROOT
from maas_platform.config.loader import ConfigError
from maas_platform.plan import Plan, plan_project

CORPUS = ROOT / "tests" / "policy-corpus"
KIT = CORPUS / "kit.py"
MAAS = ROOT / ".venv" / "bin" / "maas"
TEAM = "claims"  # the team the shipped platform stacks register (maas:teams)
PLATFORMS = ("dev", "prod")
KEYS = {"expect", "advise", "expect_area", "expect_exit", "message", "secure", "xfail", "cli", "platform", "base", "config",
        "description"}
# The ID ranges of the rules the gate gained for hostile stacks, by area: an ``expect_area`` case
# is caught by a mandatory rule of its area's range (issue 17's allocation).
AREAS: dict[str, tuple[int, int]] = {
    "POL": (1, 999), "K8S": (28, 39), "NET": (10, 19), "IAM": (6, 12), "SEC": (15, 19), "STK": (9, 12),
}
RULE_ID = re.compile(r"^MAAS-(?P<area>[A-Z0-9]+)-(?P<number>\d{3})$")
# What `maas plan` exits with (cli/plan.py).
EXIT_PLANNED, EXIT_VIOLATIONS, EXIT_CONFIG, EXIT_PROGRAM = 0, 1, 2, 3


@dataclass(frozen=True)
class Case:
    """One corpus case, read from its file."""

    name: str
    kind: str  # program or config
    path: Path
    environment: str
    expect: tuple[str, ...] = ()
    advise: tuple[str, ...] = ()  # advisory rules that must fire (a hygiene case: exit 0, no mandatory finding)
    expect_area: Optional[str] = None
    expect_exit: Optional[int] = None
    message: Optional[str] = None
    secure: bool = False
    xfail: Optional[str] = None
    cli: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.expect_exit is not None:
            return self.expect_exit
        return EXIT_PLANNED if self.secure or self.advise else EXIT_VIOLATIONS


def _header(path: Path) -> dict[str, Any]:
    """A program's leading ``# key: value`` comment lines, read as YAML."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].removeprefix(" "))
    return yaml.safe_load("\n".join(lines)) or {}


def _case(path: Path, kind: str) -> Case:
    document = _header(path) if kind == "program" else yaml.safe_load(path.read_text())
    unknown = set(document) - KEYS
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)}"
    environment = document.get("platform" if kind == "program" else "base", "dev")
    return Case(
        name=f"{kind}s/{path.stem}", kind=kind, path=path, environment=environment,
        expect=tuple(document.get("expect") or ()), advise=tuple(document.get("advise") or ()),
        expect_area=document.get("expect_area"),
        expect_exit=document.get("expect_exit"), message=document.get("message"),
        secure=bool(document.get("secure")), xfail=document.get("xfail"), cli=bool(document.get("cli")),
        config=document.get("config") or {},
    )


def load_cases() -> list[Case]:
    return ([_case(p, "program") for p in sorted((CORPUS / "programs").glob("*.py"))]
            + [_case(p, "config") for p in sorted((CORPUS / "configs").glob("*.yaml"))])


CASES = load_cases()


def params(cases: list[Case]) -> list[Any]:
    return [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else [])
            for c in cases]


# -- the corpus itself -------------------------------------------------------------------------------

def test_the_corpus_has_its_share_of_cases():
    insecure = [c for c in CASES if not c.secure and not c.advise]
    secure = [c for c in CASES if c.secure]
    assert len(insecure) >= 60 and len(secure) >= 10, (len(insecure), len(secure))
    assert len([c for c in CASES if c.kind == "config"]) <= 15, "config cases plan the whole platform: keep them few"
    assert any(c.cli for c in CASES if c.secure) and any(c.cli for c in insecure)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_says_what_must_happen(case):
    outcomes = [bool(case.expect or case.expect_area), case.expect_exit is not None, case.secure, bool(case.advise)]
    assert sum(outcomes) == 1, f"{case.name}: exactly one of expect/expect_area, expect_exit, secure, advise"
    assert case.environment in PLATFORMS
    for rule_id in case.expect + case.advise:
        assert RULE_ID.match(rule_id), f"{case.name}: '{rule_id}' is not a rule ID"
    assert case.expect_area is None or case.expect_area in AREAS
    assert case.expect_exit in (None, EXIT_CONFIG, EXIT_PROGRAM)
    assert (case.message is not None) == (case.expect_exit == EXIT_CONFIG), f"{case.name}: message goes with exit 2"
    assert case.path.read_text().lstrip("#").strip(), case.name


def test_expected_rules_exist_or_are_marked_pending():
    """A case names a rule of the catalog; one whose rule has not landed is an xfail."""
    from maas_platform.policy.catalog import rule_ids

    known = rule_ids()
    missing = {c.name: [r for r in c.expect + c.advise if r not in known] for c in CASES if not c.xfail}
    assert not {name: ids for name, ids in missing.items() if ids}


# -- planning ----------------------------------------------------------------------------------------

def _shared_dir(tmp_path_factory) -> Path:
    """A directory every xdist worker of this session shares (the workers' common base)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


@pytest.fixture(scope="session")
def platform_outputs(tmp_path_factory):
    """``environment -> outputs file`` of the shipped platform stack, planned once per session."""
    shared = _shared_dir(tmp_path_factory)
    cache: dict[str, Path] = {}

    def outputs(environment: str) -> Path:
        if environment not in cache:
            path = shared / f"corpus-platform-{environment}.json"
            with open(shared / f"corpus-platform-{environment}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # one worker plans it, the others wait and read it
                if not path.exists():
                    plan = plan_project(ROOT, stack=environment)
                    path.write_text(json.dumps(plan.stack_outputs().values, default=str))
            cache[environment] = path
        return cache[environment]

    return outputs


def team_project(case: Case, directory: Path) -> Path:
    """The case's program as a team-stack project of the team ``claims`` on its platform stack (with
    the case's ``config`` keys added to its stack file)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(f"name: corpus-{case.path.stem}\nruntime: python\n")
    (directory / f"Pulumi.{case.environment}.yaml").write_text(yaml.safe_dump({"config": {
        "maas:environment": case.environment, "maas:region": "us-east-1",
        "maas:platform_stack": f"acme/maas/{case.environment}", "maas:team": TEAM, **case.config,
    }}))
    shutil.copy(case.path, directory / "__main__.py")
    shutil.copy(KIT, directory / "kit.py")
    return directory


def merged(base: Any, overlay: Any) -> Any:
    """``overlay`` over ``base``: mappings merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        return {**base, **{k: merged(base.get(k), v) for k, v in overlay.items()}}
    return overlay


def config_file(case: Case, directory: Path) -> Path:
    """The case's overlay merged onto the shipped stack file of its environment."""
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{case.environment}.yaml").read_text())
    document["config"] = merged(document["config"], case.config)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"Pulumi.{case.environment}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def plan_case(case: Case, directory: Path, platform_outputs) -> Plan:
    if case.kind == "config":
        return plan_project(ROOT, config_file=config_file(case, directory))
    return plan_project(team_project(case, directory), stack=case.environment,
                        platform_outputs=platform_outputs(case.environment))


def mandatory(plan: Plan) -> list[str]:
    return [f"{v['policy']} {v['urn'].split('::')[-1]}: {v['message']}" for v in plan.violations
            if v["level"] == "mandatory"]


def in_area(rule_id: str, area: str) -> bool:
    match = RULE_ID.match(rule_id)
    low, high = AREAS[area]
    return bool(match) and match["area"] == area and low <= int(match["number"]) <= high


# -- every case --------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", params([c for c in CASES if c.expect_exit != EXIT_PROGRAM]))
def test_the_gate_decides_each_case(case, tmp_path, platform_outputs):
    if case.expect_exit == EXIT_CONFIG:
        with pytest.raises(ConfigError) as error:
            plan_case(case, tmp_path / "case", platform_outputs)
        message = str(error.value)
        assert case.message in message and "\n" not in message.strip(), message
        return
    plan = plan_case(case, tmp_path / "case", platform_outputs)
    found = mandatory(plan)
    fired = {line.split()[0] for line in found}
    if case.advise:
        advised = {v["policy"] for v in plan.violations if v["level"] == "advisory"}
        assert not found, "a hygiene case is blocked:\n" + "\n".join(found)
        assert set(case.advise) <= advised, f"{case.name}: {sorted(set(case.advise) - advised)} did not advise"
        return
    if case.secure:
        assert not found, "a secure control is blocked:\n" + "\n".join(found)
        return
    assert fired, f"{case.name}: no mandatory violation; the gate let an insecure case through"
    missing = [rule_id for rule_id in case.expect if rule_id not in fired]
    assert not missing, f"{case.name}: {missing} did not fire; fired: {sorted(fired)}"
    if case.expect_area:
        assert any(in_area(rule_id, case.expect_area) for rule_id in fired), (
            f"{case.name}: no {case.expect_area} rule of {AREAS[case.expect_area]} fired; fired: {sorted(fired)}")


def maas_plan(case: Case, directory: Path, platform_outputs) -> subprocess.CompletedProcess:
    if case.kind == "config":
        args = ["--config-file", str(config_file(case, directory))]
    else:
        args = ["--project-dir", str(team_project(case, directory)), "--stack", case.environment,
                "--platform-outputs", str(platform_outputs(case.environment))]
    return subprocess.run([str(MAAS), "plan", *args, "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("case", params([c for c in CASES if c.cli or c.expect_exit == EXIT_PROGRAM]))
def test_maas_plan_exits_as_each_case_expects(case, tmp_path, platform_outputs):
    result = maas_plan(case, tmp_path / "case", platform_outputs)
    assert result.returncode == case.exit_code, result.stderr[-3000:]
    if case.exit_code in (EXIT_CONFIG, EXIT_PROGRAM):
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
        assert case.message is None or case.message in lines[0]
