"""The operations guide (docs/operations/) and the docs' statements about the plan.

Every command in a ```bash block of the guide is checked where it can be without a cloud account:

* ``maas`` lines that run offline (``plan``, ``reference``, ``policy-config``, ``diff``) run, page by
  page in order, from a scratch working directory that links the repository's files, and must
  exit 0; the other ``maas`` lines (``preflight``, ``verify``) are parsed by the CLI with the
  command bodies stubbed. ``maas diff`` and ``maas plan --base`` are checked by a test of their own
  that skips, naming why, while ``diff`` is not a registered command, and runs as soon as it is.
* ``gh run download ... --name plan-<stack> --dir DIR`` stands for the plan workflow's artifact,
  which is ``maas plan --stack <stack> --out DIR`` (``make plan``); the test produces it so.
* ``pulumi`` lines: the subcommand and every flag must be in :data:`PULUMI`, the commands and
  flags read from Pulumi's CLI reference.
* ``aws`` lines: the operation, every parameter, the required ones and the members of JSON and
  shorthand values are checked against botocore's service models; CLI-only commands against
  :data:`AWS_CLI_ONLY`.
* ``kubectl`` lines run as ``kubectl ... --help`` where kubectl is installed (an unknown command
  or flag exits non-zero), else their verb is checked against :data:`KUBECTL_VERBS`.
* ``gh`` lines: subcommand and flags against :data:`GH`.

The counts that docs/agents.md and docs/architecture.md state are computed from the dev plan, and
no page may say that an agent without subscriptions gets an inbox (it gets none).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import botocore.session
import pytest
import typer
from botocore import xform_name

from maas_platform.cli import app
from maas_platform.plan import Plan, plan_project

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "docs" / "operations"
PAGES = sorted(OPERATIONS.glob("*.md"))
TEAM_STACK = ROOT / "stacks" / "teams" / "example"

MAAS = ("maas", ".venv/bin/maas")
RUN_OFFLINE = {"plan", "reference", "policy-config", "diff"}
SEPARATORS = {"&&", "||", ";", "|", "(", ")"}

# -- what the tools document ---------------------------------------------------------------
# Pulumi CLI: subcommand -> its flags, from the CLI reference pages on pulumi.com
# (docs/iac/cli/commands/pulumi_<command>/), read 2026-12-03 (cancel, stack history, stack export,
# stack import, refresh, up, preview) and 2026-12-02 (stack select, state unprotect, destroy, login).
PULUMI_GLOBAL = {"--cwd", "-C", "--non-interactive", "--color", "--logtostderr", "--verbose", "-v"}
PULUMI: dict[tuple[str, ...], set[str]] = {
    ("login",): {"--cloud-url", "--local", "--default-org", "--insecure"},
    ("logout",): {"--all", "--cloud-url", "--local"},
    ("install",): {"--no-plugins", "--no-dependencies", "--reinstall"},
    ("cancel",): {"--stack", "-s", "--yes", "-y"},
    ("stack", "select"): {"--stack", "-s", "--create", "-c", "--secrets-provider"},
    ("stack", "init"): {"--stack", "-s", "--secrets-provider", "--copy-config-from"},
    ("stack", "history"): {"--stack", "-s", "--full-dates", "--json", "-j", "--page", "--page-size", "--show-secrets"},
    ("stack", "export"): {"--stack", "-s", "--file", "--version", "--show-secrets"},
    ("stack", "import"): {"--stack", "-s", "--file", "--force", "-f"},
    ("stack", "output"): {"--stack", "-s", "--json", "-j", "--show-secrets"},
    ("stack", "change-secrets-provider"): {"--stack", "-s"},
    ("state", "unprotect"): {"--stack", "-s", "--all", "--yes", "-y"},
    ("refresh",): {"--stack", "-s", "--yes", "-y", "--diff", "--preview-only", "--skip-preview", "--target",
                   "--expect-no-changes", "--clear-pending-creates", "--message", "-m", "--parallel", "-p"},
    ("preview",): {"--stack", "-s", "--diff", "--policy-pack", "--policy-pack-config", "--refresh", "-r",
                   "--target", "-t", "--expect-no-changes", "--json", "-j", "--message", "-m", "--parallel", "-p"},
    ("up",): {"--stack", "-s", "--yes", "-y", "--diff", "--policy-pack", "--policy-pack-config", "--refresh", "-r",
              "--skip-preview", "-f", "--target", "-t", "--target-dependents", "--replace", "--message", "-m",
              "--expect-no-changes", "--parallel", "-p", "--continue-on-error"},
    ("destroy",): {"--stack", "-s", "--yes", "-y", "--skip-preview", "-f", "--target", "-t", "--message", "-m",
                   "--exclude-protected"},
}

# AWS CLI options that every command takes (the AWS CLI reference's "Global Options").
AWS_GLOBAL = {"--region", "--output", "--query", "--profile", "--no-cli-pager", "--endpoint-url", "--debug",
              "--no-paginate", "--color"}
# AWS CLI-only commands (customizations botocore has no model of): their documented options, read
# 2026-12-03 from the AWS CLI reference and `aws eks update-kubeconfig help` (aws-cli 1.45.11).
AWS_CLI_ONLY: dict[tuple[str, str], set[str]] = {
    ("eks", "update-kubeconfig"): {"--name", "--kubeconfig", "--role-arn", "--dry-run", "--verbose", "--alias",
                                   "--user-alias", "--assume-role-arn"},
    ("s3", "ls"): {"--recursive", "--human-readable", "--summarize"},
}
AWS_SERVICE = {"s3api": "s3"}  # CLI name -> botocore name, where they differ

# kubectl verbs used when no kubectl is installed (kubectl reference, kubernetes.io, 2026-12-03).
KUBECTL_VERBS = {"get", "describe", "logs", "port-forward", "rollout", "annotate", "scale", "exec", "run",
                 "delete", "apply", "wait"}

# GitHub CLI: `gh run download [<run-id>] [flags]`, manual page of gh 2.46+ (read 2026-12-03).
GH: dict[tuple[str, ...], set[str]] = {
    ("run", "download"): {"--dir", "-D", "--name", "-n", "--pattern", "-p", "--repo", "-R"},
}


# -- the guide's command lines --------------------------------------------------------------


def command_lines(text: str) -> Iterator[list[str]]:
    """Each simple command of the text's ```bash blocks, as words (``a && b | c``: three)."""
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            lexer = shlex.shlex(line, posix=True, punctuation_chars="();&|")
            lexer.whitespace_split = True
            words: list[str] = []
            for token in lexer:
                if token in SEPARATORS:
                    if words:
                        yield words
                    words = []
                else:
                    words.append(token)
            if words:
                yield words


def page_commands(page: Path) -> list[list[str]]:
    return list(command_lines(page.read_text()))


def all_commands(tool: str) -> list[tuple[str, list[str]]]:
    return [(page.name, words) for page in PAGES for words in page_commands(page) if words[0] == tool]


def maas_argv(words: list[str]) -> Optional[list[str]]:
    return words[1:] if words[0] in MAAS else None


def needs_diff(argv: list[str]) -> bool:
    return bool(argv) and (argv[0] == "diff" or "--base" in argv)


def diff_registered() -> bool:
    return "diff" in typer.main.get_command(app).commands  # type: ignore[attr-defined]


def _stub_commands(command: Any) -> None:
    for sub in getattr(command, "commands", {}).values():
        _stub_commands(sub)
    if not hasattr(command, "commands"):
        command.callback = lambda *args, **kwargs: None


def parse_only(argv: list[str]) -> tuple[int, str]:
    """``maas argv`` parsed and validated by the CLI with every command's body replaced by nothing."""
    command = typer.main.get_command(app)
    _stub_commands(command)
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            command.main(args=list(argv), prog_name="maas", standalone_mode=True)
        except SystemExit as exit:
            return int(exit.code or 0), output.getvalue()
    return 0, output.getvalue()


# -- running the offline maas lines ------------------------------------------------------------


def maas_executable() -> list[str]:
    installed = ROOT / ".venv" / "bin" / "maas"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "maas_platform.cli"]


# What the guide's maas lines read from the repository root; everything they write (out/, base/,
# JSON files) lands in the scratch directory itself, never through a link into the repository.
LINKED = ("Pulumi.yaml", "stacks", "policies", "platform", ".venv", "pyproject.toml", "Makefile", "docs", "tools")


def scratch_dir(base: Path) -> Path:
    """A working directory that sees the repository's sources but writes its own files."""
    base.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        entry = ROOT / name
        if entry.exists() and not (base / name).exists():
            (base / name).symlink_to(entry, target_is_directory=entry.is_dir())
    return base


@dataclass
class Ran:
    page: str
    argv: list[str]
    code: int
    output: str


@dataclass
class Runner:
    """Runs a page's commands in order; a command line already run on an earlier page is not run
    again: its outputs (``--json``, ``--out``, ``--html``) are copied from there (the same config
    always gives the same plan)."""

    root: Path
    done: dict[tuple[str, ...], tuple[Path, Ran]] = field(default_factory=dict)

    def run(self, page: str, cwd: Path, argv: list[str]) -> Ran:
        key = tuple(argv)
        if key in self.done:
            source, ran = self.done[key]
            if source != cwd:
                for option in ("--json", "--out", "--html"):
                    if option in argv:
                        self._copy(source / argv[argv.index(option) + 1], cwd / argv[argv.index(option) + 1])
            return Ran(page, argv, ran.code, ran.output)
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
        result = subprocess.run(maas_executable() + argv, cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=900)
        ran = Ran(page, argv, result.returncode, result.stdout + result.stderr)
        self.done[key] = (cwd, ran)
        return ran

    def artifact(self, page: str, cwd: Path, words: list[str]) -> Optional[Ran]:
        """``gh run download ... --name plan-<stack> --dir DIR``: the plan workflow's artifact of <stack>."""
        name = _option(words, "--name", "-n")
        directory = _option(words, "--dir", "-D") or "."
        match = re.fullmatch(r"plan-(\w+)", name or "")
        if not match:
            return None
        stack = match.group(1)
        for (key, (source, ran)) in self.done.items():
            if key[:3] == ("plan", "--stack", stack) and "--out" in key and ran.code == 0:
                self._copy(source / key[key.index("--out") + 1], cwd / directory)
                return Ran(page, list(key), ran.code, ran.output)
        return self.run(page, cwd, ["plan", "--stack", stack, "--out", directory, "--quiet"])

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        if source.resolve() == target.resolve():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.exists():
            shutil.copy2(source, target)


def _option(words: list[str], *names: str) -> Optional[str]:
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


@dataclass
class GuideRun:
    ran: list[Ran]
    parsed: list[Ran]
    deferred: list[tuple[str, Path, list[str]]]  # (page, working dir, argv) of diff lines
    runner: Runner


@pytest.fixture(scope="module")
def guide(tmp_path_factory) -> GuideRun:
    """Every page's offline maas lines, run in order in a scratch directory per page."""
    runner = Runner(tmp_path_factory.mktemp("operations"))
    run = GuideRun([], [], [], runner)
    for page in PAGES:
        cwd = scratch_dir(runner.root / page.stem)
        for words in page_commands(page):
            if words[:3] == ["gh", "run", "download"]:
                made = runner.artifact(page.name, cwd, words)
                if made is not None:
                    run.ran.append(made)
                continue
            argv = maas_argv(words)
            if argv is None:
                continue
            if needs_diff(argv):
                run.deferred.append((page.name, cwd, argv))
            elif argv and argv[0] in RUN_OFFLINE:
                run.ran.append(runner.run(page.name, cwd, argv))
            else:
                code, output = parse_only(argv)
                run.parsed.append(Ran(page.name, argv, code, output))
    return run


# -- the guide ----------------------------------------------------------------------------------


def test_the_guide_has_its_pages_and_an_index_linking_each():
    names = {page.name for page in PAGES}
    assert {"README.md", "state-backend.md", "promoting.md", "rolling-back.md", "upgrading.md",
            "deleting-an-agent.md", "grafana-and-alerts.md", "approvals-between-teams.md",
            "costs-per-agent.md"} <= names
    index = (OPERATIONS / "README.md").read_text()
    assert {name for name in names if name != "README.md"} <= set(re.findall(r"\]\(([\w-]+\.md)", index))


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "README.md"], ids=lambda p: p.name)
def test_each_page_says_when_steps_checks_a_way_back_and_its_sources(page):
    text = page.read_text()
    assert text.startswith("# ")
    assert "**When:**" in text, f"{page.name}: no 'When:' line"
    assert re.search(r"^(?:\s*|#+ )1\. ", text, flags=re.M), f"{page.name}: no numbered steps"
    assert "*Check" in text, f"{page.name}: no check after a step"
    assert "Back out" in text, f"{page.name}: no way back"
    assert re.search(r"^## Sources\n\n(Checked on|This platform)", text, flags=re.M), f"{page.name}: no sources"


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings, and its explicit ``<a id>``s."""
    text = path.read_text()
    slugs = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
             for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}
    return slugs | set(re.findall(r'<a id="([^"]+)"', text))


def test_relative_links_of_the_guide_resolve_with_their_anchors():
    for page in PAGES:
        for target, anchor in re.findall(r"\]\((?!https?://|<)([^)#]*)(?:#([^)]+))?\)", page.read_text()):
            path = (page.parent / target).resolve() if target else page
            assert path.exists(), f"{page.name}: broken link {target}"
            if anchor and path.suffix == ".md":
                assert anchor in anchors(path), f"{page.name}: no anchor #{anchor} in {target or page.name}"


def test_every_offline_maas_command_of_the_guide_runs(guide):
    assert {r.argv[0] for r in guide.ran} >= {"plan", "policy-config"}
    assert any("--project-dir" in r.argv for r in guide.ran), "a team-stack plan"
    for ran in guide.ran:
        assert ran.code == 0, f"{ran.page}: maas {shlex.join(ran.argv)} exited {ran.code}:\n{ran.output[-3000:]}"


def test_every_other_maas_command_of_the_guide_parses(guide):
    assert {r.argv[0] for r in guide.parsed} >= {"preflight", "verify"}
    for ran in guide.parsed:
        assert ran.code == 0, f"{ran.page}: maas {shlex.join(ran.argv)}:\n{ran.output}"


def test_the_guide_s_maas_diff_commands_run(guide):
    assert any(argv[0] == "diff" for _, _, argv in guide.deferred), "the guide shows maas diff"
    if not diff_registered():
        pytest.skip(f"`maas diff` is not a registered command yet: {len(guide.deferred)} diff lines of the "
                    "guide not run (this test runs them as soon as cli/__init__.py registers it)")
    for page, cwd, argv in guide.deferred:
        ran = guide.runner.run(page, cwd, argv)
        assert ran.code == 0, f"{page}: maas {shlex.join(argv)} exited {ran.code}:\n{ran.output[-3000:]}"


def test_the_offline_run_fails_on_a_command_the_cli_does_not_know(tmp_path):
    runner = Runner(tmp_path)
    cwd = scratch_dir(tmp_path / "page")
    assert runner.run("x", cwd, ["reference", "nothing"]).code != 0
    assert parse_only(["preflight", "--no-such-option"])[0] == 2


def pulumi_problems(words: list[str]) -> list[str]:
    args = words[1:]
    path: tuple[str, ...] = ()
    while args and not args[0].startswith("-") and any(k[:len(path) + 1] == path + (args[0],) for k in PULUMI):
        path, args = path + (args[0],), args[1:]
    if path not in PULUMI:
        return [f"unknown command pulumi {' '.join(path or tuple(args[:1]))}"]
    allowed = PULUMI[path] | PULUMI_GLOBAL
    return [f"pulumi {' '.join(path)}: unknown flag {word}" for word in args
            if word.startswith("-") and word.split("=", 1)[0] not in allowed]


def test_every_pulumi_command_of_the_guide_is_one_pulumi_documents():
    commands = all_commands("pulumi")
    assert {tuple(w[1:3]) for _, w in commands} >= {("up", "--stack"), ("cancel", "--stack")}
    for page, words in commands:
        assert pulumi_problems(words) == [], f"{page}: {shlex.join(words)}"


def test_the_pulumi_check_catches_a_wrong_flag_and_command():
    assert pulumi_problems(["pulumi", "up", "--stack", "prod", "--policy-packs", "p"])
    assert pulumi_problems(["pulumi", "stack", "rollback"])
    assert not pulumi_problems(["pulumi", "stack", "select", "--create", "dev", "--secrets-provider", "awskms://x"])


_BOTO = botocore.session.get_session()


def _shape_problems(shape: Any, value: Any, where: str) -> list[str]:
    """What in a JSON value is not in the botocore shape: unknown keys, values outside an enum."""
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        found = [f"{where}: unknown key {k}" for k in value if k not in shape.members]
        for k, v in value.items():
            if k in shape.members:
                found += _shape_problems(shape.members[k], v, f"{where}.{k}")
        return found
    if shape.type_name == "list":
        values = value if isinstance(value, list) else [value]
        return [p for i, v in enumerate(values) for p in _shape_problems(shape.member, v, f"{where}[{i}]")]
    if shape.type_name == "string" and shape.enum and isinstance(value, str) and value not in shape.enum:
        return [f"{where}: {value!r} is not one of {', '.join(shape.enum)}"]
    return []


def _shorthand(value: str) -> Optional[dict[str, str]]:
    """``Key=agent,Type=TAG`` -> its pairs (the flat shorthand only)."""
    if value.startswith(("{", "[")) or "=" not in value:
        return None
    pairs = [part.split("=", 1) for part in value.split(",")]
    return dict(pairs) if all(len(p) == 2 for p in pairs) else None


def aws_problems(words: list[str]) -> list[str]:
    if len(words) < 3:
        return [f"aws: no operation in {shlex.join(words)}"]
    cli_service, command, args = words[1], words[2], words[3:]
    flags = [a.split("=", 1)[0] for a in args if a.startswith("--")]
    if (cli_service, command) in AWS_CLI_ONLY:
        allowed = AWS_CLI_ONLY[(cli_service, command)] | AWS_GLOBAL
        return [f"aws {cli_service} {command}: unknown option {f}" for f in flags if f not in allowed]
    service = AWS_SERVICE.get(cli_service, cli_service)
    try:
        model = _BOTO.get_service_model(service)
    except Exception:  # noqa: BLE001 - an unknown service is the finding
        return [f"aws {cli_service}: no such service"]
    operations = {xform_name(name, "-"): name for name in model.operation_names}
    if command not in operations:
        return [f"aws {cli_service} {command}: no such operation"]
    shape = model.operation_model(operations[command]).input_shape
    members = {xform_name(name, "-"): (name, member) for name, member in (shape.members.items() if shape else [])}
    found = []
    for i, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        flag = arg[2:]
        if "--" + flag in AWS_GLOBAL:
            continue
        if flag.startswith("no-") and flag[3:] in members and members[flag[3:]][1].type_name == "boolean":
            continue
        if flag not in members:
            found.append(f"aws {cli_service} {command}: unknown parameter --{flag}")
            continue
        name, member = members[flag]
        value = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None
        if value is None or value.startswith("<"):
            continue
        if value.startswith(("{", "[")):
            found += _shape_problems(member, json.loads(value), f"--{flag}")
        elif (pairs := _shorthand(value)) is not None and member.type_name in ("structure", "list"):
            target = member.member if member.type_name == "list" else member
            if target.type_name == "structure":
                found += _shape_problems(target, pairs, f"--{flag}")
    for required in (shape.required_members if shape else []):
        if f"--{xform_name(required, '-')}" not in flags:
            found.append(f"aws {cli_service} {command}: missing --{xform_name(required, '-')}")
    return found


def test_every_aws_command_of_the_guide_is_an_operation_with_its_parameters():
    commands = all_commands("aws")
    assert {w[2] for _, w in commands} >= {"get-cost-and-usage", "update-nodegroup-version", "cancel-key-deletion"}
    for page, words in commands:
        assert aws_problems(words) == [], f"{page}: {shlex.join(words)}"


def test_the_aws_check_catches_a_wrong_operation_parameter_and_value():
    assert aws_problems(["aws", "ce", "get-cost-and-usage", "--time-perio", "Start=a,End=b"])
    assert aws_problems(["aws", "ce", "get-costs", "--x", "y"])
    filtered = ["aws", "ce", "get-cost-and-usage", "--time-period", "Start=2026-11-01,End=2026-12-01",
                "--granularity", "MONTHLY", "--metrics", "UnblendedCost"]
    assert aws_problems(filtered + ["--filter", '{"Tag": {"Key": "agent"}}'])
    assert aws_problems(filtered + ["--group-by", "Type=LABEL,Key=agent"])
    assert not aws_problems(filtered + ["--group-by", "Type=TAG,Key=agent"])
    assert aws_problems(["aws", "eks", "update-nodegroup-version", "--cluster-name", "c"])  # no --nodegroup-name


def test_every_kubectl_command_of_the_guide_is_one_kubectl_accepts():
    commands = all_commands("kubectl")
    assert commands
    kubectl = shutil.which("kubectl")
    for page, words in commands:
        if kubectl is None:
            rest = words[1:]
            while rest and rest[0] in ("-n", "--namespace"):
                rest = rest[2:]
            assert rest and rest[0] in KUBECTL_VERBS, f"{page}: {shlex.join(words)}"
            continue
        result = subprocess.run([kubectl, *words[1:], "--help"], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "KUBECONFIG": os.devnull})
        assert result.returncode == 0, f"{page}: {shlex.join(words)}:\n{result.stderr[-1500:]}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
def test_the_kubectl_check_catches_a_wrong_flag():
    result = subprocess.run(["kubectl", "-n", "x", "rollout", "undo", "deployment/x", "--to-revisionn", "2",
                             "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_every_gh_command_of_the_guide_is_one_gh_documents():
    for page, words in all_commands("gh"):
        path = tuple(words[1:3])
        assert path in GH, f"{page}: {shlex.join(words)}"
        unknown = [w for w in words[3:] if w.startswith("-") and w.split("=", 1)[0] not in GH[path]]
        assert unknown == [], f"{page}: {shlex.join(words)}"


# -- docs that state what the plan holds ----------------------------------------------------------

AGENTS_DOC = ROOT / "docs" / "agents.md"
ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"


def agent_counts(plan: Plan) -> dict[str, dict[str, int]]:
    """agent -> its AWS and Kubernetes resources and those of its inbox, from the plan."""
    counts: dict[str, dict[str, int]] = {}
    for component in plan.of_type("maas:agent:AgentService"):
        name = component.name.rsplit("-agent-", 1)[-1]
        below = [r for r in plan.descendants(component.urn) if r.custom and not r.is_provider]
        inboxes = [r.urn for r in plan.descendants(component.urn) if r.type == "maas:agent:AgentInbox"]
        messaging = sum(1 for urn in inboxes for r in plan.descendants(urn) if r.custom)
        kinds = Counter(r.type.split(":", 1)[0] for r in below)
        counts[name] = {"aws": kinds["aws"], "kubernetes": kinds["kubernetes"], "messaging": messaging}
    return counts


def test_the_per_agent_counts_of_agents_md_are_the_dev_plans(dev):
    text = AGENTS_DOC.read_text()
    section = text[text.index("### Counts"):]
    section = section[:section.index("\n## ")]
    rows = re.findall(r"^\| `([\w-]+)` \|[^\n]*\| (\d+) \| (\d+) \| (\d+) \|$", section, flags=re.M)
    counts = agent_counts(dev)
    assert {agent for agent, *_ in rows} == set(counts), "one row per agent of the dev plan"
    for agent, aws, kubernetes, total in rows:
        planned = counts[agent]
        assert (int(aws), int(kubernetes), int(total)) == (
            planned["aws"], planned["kubernetes"], planned["aws"] + planned["kubernetes"]
        ), f"docs/agents.md, agent {agent}: the dev plan has {planned}"
    summary = re.search(r"That is (\d+) of the (\d+) resources in the dev plan; (\d+) of the \d+ are messaging "
                        r"\((\d+) per agent\)", section)
    assert summary, "docs/agents.md: the sentence with the dev plan's totals"
    ours, everything, messaging, per_agent = map(int, summary.groups())
    assert ours == sum(c["aws"] + c["kubernetes"] for c in counts.values())
    assert everything == len(dev.cloud_resources())
    assert messaging == sum(c["messaging"] for c in counts.values())
    assert {c["messaging"] for c in counts.values()} == {per_agent}


def test_the_component_counts_of_architecture_md_are_the_dev_plans(dev):
    text = ARCHITECTURE_DOC.read_text()
    stated = re.findall(r"^### (\w+): \[[^\n]*\n(?:(?!^##)[\s\S])*?In dev the component holds (\d+) resources",
                        text, flags=re.M)
    assert len(stated) >= 2, "architecture.md states per-component counts"
    for name, count in stated:
        components = [r for r in dev.resources if not r.custom and r.type.endswith(f":{name}")]
        assert len(components) == 1, f"{name}: one component of that type in the dev plan"
        planned = sum(1 for r in dev.descendants(components[0].urn) if r.custom and not r.is_provider)
        assert int(count) == planned, f"docs/architecture.md: {name} holds {planned} resources in the dev plan"


WRONG_INBOX_CLAIMS = (
    r"without subscriptions gets an inbox",
    r"no subscriptions gets an inbox",
    r"gets an inbox nobody can send to",
    r"[Ee]very agent (?:gets|has) (?:an|its own)(?: SQS)? inbox",
    r"[Ee]ach agent gets its own inbox",
)


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM_STACK, stack="dev")


def test_an_agent_without_subscriptions_has_no_inbox_and_no_doc_says_otherwise(team):
    has = {}
    for component in team.of_type("maas:agent:AgentService"):
        types = {r.type for r in team.descendants(component.urn)}
        has[component.name] = ("aws:sns/topicSubscription:TopicSubscription" in types, "aws:sqs/queue:Queue" in types)
    assert (False, False) in has.values(), f"the team example has an agent without subscriptions: {has}"
    assert all(subscribes == queues for subscribes, queues in has.values()), has
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        flat = " ".join(path.read_text().split())
        for claim in WRONG_INBOX_CLAIMS:
            assert not re.search(claim, flat), f"{path.relative_to(ROOT)}: says {claim!r}; the plan gives none"
