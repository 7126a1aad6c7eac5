"""The command line at 80 and 120 columns, and its errors: help that wraps without cutting a word
or naming types, ``-h`` and ``--version``; credentials checked before a plan is made; YAML
mistakes, misspelt keys and undeclared topics explained in one line; a team program's mistake
named at its own file and line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from maas_platform.cli import app, version
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file, validate
from maas_platform.team import TeamConfig

TEAM = ROOT / "stacks" / "teams" / "example"
COMMANDS = [[], ["plan"], ["verify"], ["preflight"], ["policy-config"], ["reference"], ["reference", "config"],
            ["reference", "policies"]]


def maas(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# --- help, -h and --version ----------------------------------------------------------------------

@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "maas")
def test_help_fits_the_terminal_without_type_noise(command, columns):
    result = CliRunner().invoke(app, [*command, "-h"], env={"COLUMNS": str(columns)}, prog_name="maas")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: maas"), result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= columns, "\n".join(line for line in lines if len(line) > columns)
    assert not re.search(r"<(bool|str|int|float|path|text|int range)>", result.output), result.output
    assert not re.search(r"\b(BOOLEAN|TEXT|INTEGER)\b", result.output), result.output
    # A word is never cut at a hyphen: every option the command has appears whole.
    for option in re.findall(r"--[a-z][a-z-]+", " ".join(lines)):
        assert option in result.output
    assert "-h, --help" in result.output


def test_help_names_paths_and_numbers_and_shows_flags_bare():
    result = CliRunner().invoke(app, ["verify", "--help"], env={"COLUMNS": "80"}, prog_name="maas")
    assert "--plan PATH" in result.output and "--workers N" in result.output
    assert "--endpoint-url URL" in result.output and "-s, --stack STACK" in result.output
    plan = CliRunner().invoke(app, ["plan", "-h"], env={"COLUMNS": "80"}, prog_name="maas").output
    assert re.search(r"^  -q, --quiet +Print only errors", plan, re.M), plan
    assert "--platform-outputs PATH" in plan


def test_help_at_80_columns_from_a_real_terminal_width():
    result = maas("plan", "-h", env={"COLUMNS": "80"})
    assert result.returncode == 0 and max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "--platform-outputs" in result.stdout and "--platform-\n" not in result.stdout


def test_version_is_the_installed_distribution_s():
    from importlib.metadata import version as installed

    result = maas("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"maas {installed('maas-platform')}" == f"maas {version()}"


# --- maas verify: credentials before a plan -------------------------------------------------------

def _no_credentials(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_verify_without_credentials_stops_before_planning(monkeypatch):
    import maas_platform.plan as planning

    _no_credentials(monkeypatch)
    monkeypatch.setattr(planning, "plan_project", lambda *a, **k: pytest.fail("planned without credentials"))
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["verify", "--stack", "dev", "--project-dir", str(ROOT)])
    assert result.exit_code == 2, result.output
    assert "no AWS credentials found" in result.output and "AWS_PROFILE" in result.output
    assert time.perf_counter() - started < 3


def test_verify_without_credentials_is_one_line_and_fast():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "maas_platform.cli", "verify", "--stack", "dev"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=env)
    assert "no AWS credentials found" in one_line_error(result)
    assert time.perf_counter() - started < 5


def test_verify_with_credentials_goes_on_to_plan(monkeypatch):
    """Test credentials (what an AWS-compatible server such as moto accepts) pass the check."""
    import maas_platform.plan as planning

    _no_credentials(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(planning, "plan_project", lambda *a, **k: (_ for _ in ()).throw(ConfigError("planned")))
    result = CliRunner().invoke(app, ["verify", "--stack", "dev", "--project-dir", str(ROOT),
                                      "--endpoint-url", "http://127.0.0.1:1"])
    assert result.exit_code == 2 and "planned" in result.output, result.output


# --- YAML mistakes say what is wrong ----------------------------------------------------------------

@pytest.mark.parametrize("text, line, expected", [
    ("config:\n\tmaas:environment: dev\n", 2, "a tab character; YAML indents with spaces only"),
    ("config:\n  maas:environment: dev\n  maas:name: a: b\n", 3, "a ': ' inside an unquoted value"),
    ("config:\n  maas:environment: \"dev\n  maas:region: x\n", 2, "a quote opened here is never closed"),
    ("config:\n    maas:environment: dev\n  maas:region: x\n", 3, "indented differently from the keys above it"),
    ("config:\n  maas:environment: dev\n  maas:region: a\n  maas:environment: prod\n", 4,
     "duplicate key 'maas:environment' (first written on line 2)"),
    ("config:\n  maas:agents: [{name: a\n  maas:region: x\n", 2, "not closed, or a missing comma"),
    ("config:\n  maas:environment: dev\n  justtext\n  maas:region: x\n", 4, "neither 'key: value' nor a list item"),
], ids=["tab", "colon-in-value", "open-quote", "indentation", "duplicate-key", "open-bracket", "no-colon"])
def test_a_yaml_mistake_names_the_line_and_what_is_wrong(tmp_path, text, line, expected):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_stack_file(path)
    assert str(caught.value).startswith(f"{path}:{line}: not valid YAML: ") and expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_yaml_mistake_is_one_line_exit_2_from_the_cli(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  maas:environment: dev\n  maas:region: us-east-1\n\tmaas:name: x\n")
    line = one_line_error(maas("plan", "--config-file", str(path), "--quiet"))
    assert f"{path}:4: not valid YAML: a tab character" in line


# --- misspelt keys and undeclared topics ------------------------------------------------------------

AGENT = {"name": "triage", "team": "support", "cost_center": "cc-1", "image": "ghcr.io/acme/triage:1.0.0"}


@pytest.mark.parametrize("extra, expected", [
    ({"regoin": "us-east-1"}, "maas:regoin: unknown key; did you mean 'maas:region'?"),
    ({"network": {"cidrr": "10.0.0.0/16"}}, "maas:network.cidrr: unknown key; did you mean 'maas:network.cidr'?"),
    ({"agents": [{**AGENT, "cost_centre": "cc-1"}]},
     "maas:agents[0].cost_centre (agent 'triage'): unknown key; did you mean 'maas:agents[0].cost_center'?"),
    ({"agents": [{**AGENT, "messaging": {"subscribe": []}}]},
     "did you mean 'maas:agents[0].messaging.subscribes'?"),
    ({"agents": [{**AGENT, "storage": {"kind": "dynamodb", "partition_kye": "id"}}]},
     "did you mean 'maas:agents[0].storage.partition_key'?"),
    ({"zzqqxx": 1}, "maas:zzqqxx: unknown key; check the spelling against docs/configuration.md"),
], ids=["top", "nested", "agent", "agent-nested", "tagged-union", "nothing-close"])
def test_an_unknown_key_suggests_the_nearest_valid_one(extra, expected):
    with pytest.raises(ConfigError) as caught:
        parse_platform_config({"environment": "dev", "region": "us-east-1", **extra})
    assert expected in str(caught.value), str(caught.value)


def test_a_misspelt_required_team_key_is_named_not_its_echo():
    with pytest.raises(ConfigError) as caught:
        validate(TeamConfig, {"environment": "dev", "region": "us-east-1", "platform_stak": "acme/maas/dev"})
    assert str(caught.value) == "maas:platform_stak: unknown key; did you mean 'maas:platform_stack'?"


def test_an_undeclared_topic_lists_the_declared_ones():
    config = {key.removeprefix("maas:"): value for key, value in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").items()
              if key.startswith("maas:")}
    declared = ", ".join(sorted(topic["name"] for topic in config["broker"]["topics"]))
    config["agents"] = [{**config["agents"][0], "messaging": {"subscribes": ["tikets"]}}, *config["agents"][1:]]
    with pytest.raises(ConfigError) as caught:
        parse_platform_config(config)
    assert f"(agent 'triage'): topic 'tikets' is not declared under maas:broker.topics; declared: {declared}" in str(caught.value)
    assert declared


# --- a team program's mistake names its file and line ------------------------------------------------

@pytest.fixture(scope="module")
def platform_outputs(tmp_path_factory) -> Path:
    import json

    from maas_platform.plan import plan_project

    path = tmp_path_factory.mktemp("platform") / "platform-dev.json"
    path.write_text(json.dumps(plan_project(ROOT, stack="dev").stack_outputs().values))
    return path


def _team(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The example team copied under ``tmp_path``, ``old`` replaced; the line of the replacement."""
    copy = tmp_path / "team"
    shutil.copytree(TEAM, copy, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    program = copy / "__main__.py"
    text = program.read_text()
    assert text.count(old) == 1, old
    program.write_text(text.replace(old, new))
    return copy, text[:text.index(old)].count("\n") + 1


def _line_of(program: Path, text: str) -> int:
    source = program.read_text()
    return source[:source.index(text)].count("\n") + 1


def test_a_bad_field_names_the_program_line_of_the_field(tmp_path, platform_outputs):
    team, line = _team(tmp_path, 'storage="s3"', 'storage="mongo"')
    error = one_line_error(maas("plan", "--project-dir", "team", "--stack", "dev", "--platform-outputs",
                                str(platform_outputs), "--quiet", cwd=tmp_path))
    assert error.startswith(f"error: team/__main__.py:{line}: agent 'summarizer': storage.kind: 'mongo'"), error
    assert "Pulumi.dev.yaml" not in error


def test_a_check_of_the_platform_names_the_program_line_of_the_call(tmp_path, platform_outputs):
    team, _ = _team(tmp_path, 'messaging={"subscribes": ["tickets"]}', 'messaging={"subscribes": ["tikets"]}')
    call = _line_of(team / "__main__.py", "intake = agent_service(")
    error = one_line_error(maas("plan", "--project-dir", str(team), "--stack", "dev", "--platform-outputs",
                                str(platform_outputs), "--quiet"))
    assert f"__main__.py:{call}: agent 'intake': messaging.subscribes: topic 'tikets' is not declared" in error
    assert "declared: findings, tickets" in error and "Pulumi.dev.yaml" not in error


def test_under_pulumi_the_message_names_the_file_from_the_project_directory(tmp_path):
    """``pulumi up`` runs the program in its project directory: the RunError reads ``__main__.py:N: ...``."""
    from maas_platform.team import ProgramMistake

    program = tmp_path / "__main__.py"
    program.write_text("x = 1\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert str(ProgramMistake("agent 'a': image: bad", str(program), 1)) == "__main__.py:1: agent 'a': image: bad"
    finally:
        os.chdir(cwd)


def test_the_example_writes_each_agent_s_name_once():
    source = (TEAM / "__main__.py").read_text()
    assert source.count('"intake"') == 1 and source.count('"summarizer"') == 1
    assert "AgentService(" not in source
