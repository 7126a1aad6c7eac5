"""``maas error-budget`` against a real Prometheus, and its answers when Prometheus misbehaves.

The server is Debian's ``prometheus`` (the package ``make system-tools`` installs for promtool):
the recorded budget series are backfilled with ``promtool tsdb create-blocks-from openmetrics
<file> <dir>`` into a fresh storage directory, then ``prometheus`` serves that directory on
127.0.0.1 with no scrape targets, once for the module. Usage and flags as printed by
``promtool tsdb create-blocks-from openmetrics --help`` and prometheus/prometheus
docs/storage.md "Backfilling from OpenMetrics format" (read 2026-12-03): blocks may be written
with no server running, and a fresh server opens every block in its storage directory.

Samples run from 40 minutes ago to 15 minutes ahead, one a minute: an instant query at "now"
always finds one within the default 5-minute lookback, however long the module takes.

Misbehaviours a real server will not show on demand (an error status, a redirect, a hang, an
empty metric) come from a small stdlib HTTP server speaking the same API.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from typer.testing import CliRunner

from conftest import ROOT
from prometheus_server import binaries, free_port, running
from maas_platform import names
from maas_platform.cli import app
from maas_platform.cli.error_budget import selector

METRIC = names.SLO_BUDGET_REMAINING
ACTION = ROOT / ".github" / "actions" / "error-budget-gate" / "action.yml"
# (labels, value): agents triage (budget left), billing (availability overspent), quiet (no traffic);
# flows checkout (budget left) and refund (latency spent to exactly 0), with slo/flows.py's SLO names.
SERIES: list[tuple[dict[str, str], str]] = [
    ({"slo": "availability", "agent": "triage", "team": "support", "namespace": "triage"}, "0.42"),
    ({"slo": "latency", "agent": "triage", "team": "support", "namespace": "triage"}, "0.8"),
    ({"slo": "golden", "agent": "triage", "team": "support", "namespace": "triage"}, "0.97"),
    ({"slo": "availability", "agent": "billing", "team": "payments", "namespace": "billing"}, "-0.25"),
    ({"slo": "latency", "agent": "billing", "team": "payments", "namespace": "billing"}, "0.5"),
    ({"slo": "accuracy", "agent": "quiet", "team": "support", "namespace": "quiet"}, "NaN"),
    ({"slo": "flow-availability", "flow": "checkout", "team": "payments", "namespace": "shop"}, "0.3"),
    ({"slo": "flow-latency", "flow": "checkout", "team": "payments", "namespace": "shop"}, "0.9"),
    ({"slo": "flow-availability", "flow": "refund", "team": "payments", "namespace": "billing"}, "0.6"),
    ({"slo": "flow-latency", "flow": "refund", "team": "payments", "namespace": "billing"}, "0"),
]


def openmetrics(now: float) -> str:
    lines = [f"# HELP {METRIC} Share of the SLO's error budget left over its window.", f"# TYPE {METRIC} gauge"]
    for minute in range(-40, 16):
        stamp = int(now) + 60 * minute
        for labels, value in SERIES:
            text = ",".join(f'{key}="{val}"' for key, val in labels.items())
            lines.append(f"{METRIC}{{{text}}} {value} {stamp}")
    return "\n".join(lines + ["# EOF"]) + "\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Prometheus serving :data:`SERIES`, stopped after the module."""
    server, promtool = binaries()
    root = tmp_path_factory.mktemp("prometheus")
    (root / "series.om").write_text(openmetrics(time.time()))
    storage = root / "data"
    made = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                           str(root / "series.om"), str(storage)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr

    def ready(url: str) -> bool:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as answer:
            return answer.status == 200

    # No scrape targets: the blocks are all it serves.
    with running(server, root, "global: {}\n", storage, ready, within=30, waiting_for="prometheus not ready",
                 extra=("--storage.tsdb.retention.time=1y",)) as url:
        yield url


def gate(*args: str, env: dict[str, str] | None = None) -> Any:
    environment = {"MAAS_PROMETHEUS_URL": None, "MAAS_PROMETHEUS_TOKEN": None, "COLUMNS": "200", **(env or {})}
    return CliRunner().invoke(app, ["error-budget", *args], env=environment, prog_name="maas")


def reading(result: Any) -> dict[str, Any]:
    return json.loads(result.stdout)


# -- against Prometheus ---------------------------------------------------------------------------

def test_an_agent_with_budget_left_passes(prometheus):
    result = gate("--prometheus", prometheus, "--agent", "triage")
    assert result.exit_code == 0, result.output
    lines = {line.split()[2]: line for line in result.stdout.splitlines() if line.startswith("  agent triage")}
    assert sorted(lines) == ["availability", "golden", "latency"]
    assert "42.0%" in lines["availability"] and lines["availability"].rstrip().endswith("ok")
    assert result.stderr == ""


def test_an_overspent_agent_freezes_and_names_the_agent_and_the_slo(prometheus):
    result = gate("--prometheus", prometheus, "--agent", "billing")
    assert result.exit_code == 1, result.output
    assert re.search(r"freeze: agent billing: the availability error budget is spent \(-25\.0% left\)", result.stderr)
    assert "latency" not in result.stderr  # the budget with some left is not blamed
    assert "--change fix" in result.stderr


@pytest.mark.parametrize("flag", [["--change", "fix"], ["--fix"]], ids=["--change fix", "--fix"])
def test_a_fix_passes_a_spent_budget_loudly(prometheus, flag):
    result = gate("--prometheus", prometheus, "--agent", "billing", *flag)
    assert result.exit_code == 0, result.output
    assert "FIX PASSES A SPENT BUDGET" in result.stderr
    assert "agent billing: the availability error budget is spent" in result.stderr
    assert "freeze:" not in result.stderr


def test_an_unknown_agent_cannot_pass(prometheus):
    result = gate("--prometheus", prometheus, "--agent", "triage", "--agent", "nobody")
    assert result.exit_code == 3, result.output
    assert "no slo:period_error_budget_remaining:ratio series for agent nobody" in result.stderr
    assert "--allow-missing" in result.stderr


def test_allow_missing_passes_a_first_rollout_with_a_warning(prometheus):
    result = gate("--prometheus", prometheus, "--agent", "nobody", "--allow-missing", "--json")
    assert result.exit_code == 0, result.output
    assert "no budget series for agent nobody: passed by --allow-missing" in result.stderr
    assert reading(result)["missing"] == [{"kind": "agent", "name": "nobody"}]


def test_allow_missing_does_not_waive_a_spent_budget_beside_it(prometheus):
    result = gate("--prometheus", prometheus, "--agent", "nobody", "--agent", "billing", "--allow-missing")
    assert result.exit_code == 1, result.output


def test_prometheus_down_cannot_pass():
    result = gate("--prometheus", f"http://127.0.0.1:{free_port()}", "--agent", "triage", "--fix", "--allow-missing")
    assert result.exit_code == 3, result.output
    assert re.search(r"^error: Prometheus at http://127\.0\.0\.1:\d+ is unreachable", result.stderr, re.M)


def test_a_flow_with_budget_left_passes_and_a_spent_flow_freezes(prometheus):
    left = gate("--prometheus", prometheus, "--flow", "checkout")
    assert left.exit_code == 0, left.output
    assert [line.split()[:3] for line in left.stdout.splitlines()[1:]] == [
        ["flow", "checkout", "flow-availability"], ["flow", "checkout", "flow-latency"]]
    spent = gate("--prometheus", prometheus, "--flow", "refund", "--agent", "triage")
    assert spent.exit_code == 1, spent.output
    assert "flow refund: the flow-latency error budget is spent (0.0% left)" in spent.stderr


def test_the_team_narrows_the_reading(prometheus):
    whole = gate("--prometheus", prometheus, "--team", "payments", "--json")
    assert whole.exit_code == 1, whole.output
    document = reading(whole)
    assert {(b["kind"], b["name"]) for b in document["budgets"]} == {("agent", "billing"), ("flow", "checkout"),
                                                                      ("flow", "refund")}
    assert document["verdict"] == "freeze" and document["exit_code"] == 1
    # triage is not a payments agent: the gate says so rather than passing on nothing read
    other = gate("--prometheus", prometheus, "--agent", "triage", "--team", "payments")
    assert other.exit_code == 3 and "agent triage in team payments" in other.stderr, other.output
    nobody = gate("--prometheus", prometheus, "--team", "nobody")
    assert nobody.exit_code == 3 and "no slo:period_error_budget_remaining:ratio series for team nobody" in nobody.stderr


def test_no_traffic_is_nothing_spent_and_says_so(prometheus):
    result = gate("--prometheus", prometheus, "--agent", "quiet", "--json")
    assert result.exit_code == 0, result.output
    (budget,) = reading(result)["budgets"]
    assert budget == {"kind": "agent", "name": "quiet", "slo": "accuracy", "team": "support", "namespace": "quiet",
                      "remaining": None, "verdict": "no-traffic"}
    assert "no traffic in the window, nothing spent: agent quiet accuracy" in result.stderr


def test_json_is_the_whole_reading_and_only_json_on_stdout(prometheus):
    result = gate("--prometheus", prometheus, "--agent", "billing", "--fix", "--json")
    assert result.exit_code == 0, result.output
    document = reading(result)
    assert document == {
        "metric": METRIC, "prometheus": prometheus, "change": "fix", "verdict": "fix-passes", "exit_code": 0,
        "budgets": [
            {"kind": "agent", "name": "billing", "slo": "availability", "team": "payments", "namespace": "billing",
             "remaining": -0.25, "verdict": "spent"},
            {"kind": "agent", "name": "billing", "slo": "latency", "team": "payments", "namespace": "billing",
             "remaining": 0.5, "verdict": "ok"},
        ],
        "missing": [], "error": None,
    }


def test_the_url_comes_from_the_environment(prometheus):
    result = gate("--agent", "triage", env={"MAAS_PROMETHEUS_URL": prometheus + "/"})
    assert result.exit_code == 0, result.output


def test_the_installed_command_runs_end_to_end(prometheus):
    """The ``maas`` entry point itself, as the composite action runs it."""
    result = subprocess.run([sys.executable, "-m", "maas_platform.cli", "error-budget", "--prometheus", prometheus,
                             "--agent", "billing"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith("MAAS_PROMETHEUS")})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "freeze: agent billing: the availability error budget is spent" in result.stderr


def run_action_gate(tmp_path: Path, **inputs: str) -> tuple[int, dict[str, str], str]:
    """The composite action's gate step, run as the runner runs it (bash -eo pipefail), with
    ``inputs`` and the action's defaults substituted and this checkout's .venv as the action's venv."""
    action = yaml.safe_load(ACTION.read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "gate")
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(inputs) - set(values)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    values.update(inputs)

    def substitute(text: str) -> str:
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], text)

    runner_temp = tmp_path / f"runner-{len(list(tmp_path.iterdir()))}"
    runner_temp.mkdir()
    (runner_temp / "maas-error-budget").symlink_to(ROOT / ".venv")
    outputs = runner_temp / "github-output"
    outputs.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAAS_PROMETHEUS")}
    env.update({key: substitute(str(value)) for key, value in step["env"].items()})
    env.update({"RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(outputs)})
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", substitute(step["run"])],
                            capture_output=True, text=True, timeout=60, env=env)
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return result.returncode, written, result.stdout + result.stderr


def test_the_composite_action_freezes_a_feature_and_passes_a_fix(prometheus, tmp_path):
    code, outputs, log = run_action_gate(tmp_path, **{"prometheus-url": prometheus, "agents": "triage,\nbilling"})
    assert code == 1 and outputs["verdict"] == "freeze" and outputs["exit-code"] == "1", log
    assert "freeze: agent billing: the availability error budget is spent" in log
    assert {b["name"] for b in json.loads(Path(outputs["report"]).read_text())["budgets"]} == {"triage", "billing"}
    code, outputs, log = run_action_gate(tmp_path, **{"prometheus-url": prometheus, "agents": "billing", "change": "fix"})
    assert code == 0 and outputs["verdict"] == "fix-passes", log
    assert "FIX PASSES A SPENT BUDGET" in log
    code, outputs, log = run_action_gate(tmp_path, **{"prometheus-url": prometheus, "flows": "checkout",
                                                      "team": "payments"})
    assert code == 0 and outputs["verdict"] == "pass", log


def test_the_composite_action_fails_when_it_cannot_read(tmp_path):
    code, outputs, log = run_action_gate(tmp_path, **{"prometheus-url": f"http://127.0.0.1:{free_port()}",
                                                      "agents": "triage", "change": "fix", "allow-missing": "true"})
    assert code == 3 and outputs["verdict"] == "unknown", log
    code, outputs, log = run_action_gate(tmp_path, **{"prometheus-url": "http://127.0.0.1:9", "change": "hotfix"})
    assert code == 2 and "--change: 'hotfix' is not one of feature, fix" in log


# -- a server that misbehaves on demand --------------------------------------------------------------

class FakePrometheus(http.server.ThreadingHTTPServer):
    """Answers every request with ``self.answer`` (status, headers, body) after ``self.delay``
    seconds, and keeps the requests' headers and bodies."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer: tuple[int, dict[str, str], bytes] = (200, {}, b"")
        self.delay = 0.0
        self.seen: list[tuple[dict[str, str], str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the time-out test) breaks the pipe: expected

    def vector(self, *samples: tuple[dict[str, str], str]) -> None:
        result = [{"metric": {"__name__": METRIC, **labels}, "value": [time.time(), value]} for labels, value in samples]
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()
        self.answer = (200, {"Content-Type": "application/json"}, body)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakePrometheus

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.server.seen.append((dict(self.headers), body))
        time.sleep(self.server.delay)
        status, headers, payload = self.server.answer
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


TRIAGE = {"slo": "availability", "agent": "triage", "team": "support", "namespace": "triage"}


def test_the_token_is_sent_as_a_bearer_and_never_printed(fake):
    fake.vector((TRIAGE, "0.5"))
    secret = "s3cr3t-token-value"
    result = gate("--prometheus", fake.url, "--agent", "triage", "--json", env={"MAAS_PROMETHEUS_TOKEN": secret})
    assert result.exit_code == 0, result.output
    ((headers, body),) = fake.seen
    assert headers["Authorization"] == f"Bearer {secret}"
    assert "query=slo%3Aperiod_error_budget_remaining%3Aratio%7Bagent%3D%22triage%22%7D" in body
    assert "timeout=10s" in body
    assert secret not in result.output
    fake.answer = (401, {}, b"bad token")
    denied = gate("--prometheus", fake.url, "--agent", "triage", env={"MAAS_PROMETHEUS_TOKEN": secret})
    assert denied.exit_code == 3 and "HTTP 401" in denied.stderr and "MAAS_PROMETHEUS_TOKEN" in denied.stderr
    assert secret not in denied.output


def test_an_error_status_cannot_pass(fake):
    error = {"status": "error", "errorType": "execution", "error": "query timed out in expression evaluation"}
    fake.answer = (503, {"Content-Type": "application/json"}, json.dumps(error).encode())
    result = gate("--prometheus", fake.url, "--agent", "triage", "--fix", "--json")
    assert result.exit_code == 3, result.output
    assert reading(result)["verdict"] == "unknown"
    assert "answered HTTP 503, execution: query timed out" in reading(result)["error"]
    fake.answer = (200, {}, json.dumps(error).encode())
    assert gate("--prometheus", fake.url, "--agent", "triage").exit_code == 3


@pytest.mark.parametrize("body", [b"<html>login</html>", b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
                                  b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}'],
                         ids=["html", "matrix", "sample without value"])
def test_an_answer_of_another_shape_cannot_pass(fake, body):
    fake.answer = (200, {}, body)
    result = gate("--prometheus", fake.url, "--agent", "triage")
    assert result.exit_code == 3, result.output


def test_a_redirect_is_not_followed_with_the_token(fake):
    fake.answer = (302, {"Location": "http://elsewhere.invalid/api/v1/query"}, b"")
    result = gate("--prometheus", fake.url, "--agent", "triage", env={"MAAS_PROMETHEUS_TOKEN": "a-long-token"})
    assert result.exit_code == 3, result.output
    assert "HTTP 302 (a redirect to http://elsewhere.invalid/api/v1/query)" in result.stderr
    assert len(fake.seen) == 1


def test_a_hanging_server_is_one_bounded_attempt(fake):
    fake.vector((TRIAGE, "0.5"))
    fake.delay = 3
    started = time.monotonic()
    result = gate("--prometheus", fake.url, "--agent", "triage", "--timeout", "1")
    assert result.exit_code == 3, result.output
    assert "did not answer within 1s" in result.stderr
    assert time.monotonic() - started < 2.5 and len(fake.seen) == 1


def test_allow_missing_never_passes_a_prometheus_without_the_rules(fake):
    fake.vector()  # the metric has no series at all: a wrong URL or rules not loaded
    result = gate("--prometheus", fake.url, "--agent", "triage", "--allow-missing")
    assert result.exit_code == 3, result.output
    assert "--allow-missing does not waive that" in result.stderr
    assert [body.split("&")[0] for _, body in fake.seen][-1] == "query=count%28slo%3Aperiod_error_budget_remaining%3Aratio%29"


# -- usage -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--agent", "triage"], "no Prometheus: pass --prometheus URL or set MAAS_PROMETHEUS_URL"),
    (["--prometheus", "prometheus:9090", "--agent", "t"], "is not an http(s) URL"),
    (["--prometheus", "http://p:9090?x=1", "--agent", "t"], "has a query or fragment"),
    (["--prometheus", "http://gate:hunter2@p:9090", "--agent", "t"], "'http://gate:***@p:9090' carries credentials"),
    (["--prometheus", "http://p:9090", "--agent", 'a"} or vector(1)'], "--agent: "),
    (["--prometheus", "http://p:9090", "--team", "a b"], "--team: "),
    (["--prometheus", "http://p:9090", "--change", "hotfix"], "--change: 'hotfix' is not one of feature, fix"),
    (["--prometheus", "http://p:9090", "--change", "feature", "--fix"], "--fix and --change feature: choose one"),
    (["--prometheus", "http://p:9090", "--timeout", "0"], "--timeout: 0 is not between 1 and 120 seconds"),
])
def test_usage_mistakes_are_one_line_and_exit_2(args, message):
    result = gate(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert result.stdout == "" and "hunter2" not in result.stderr


def test_the_query_selects_exactly_and_without_regular_expressions():
    assert selector([], [], None) == METRIC
    assert selector([], [], "payments") == f'{METRIC}{{team="payments"}}'
    assert selector(["a", "b"], ["f"], "t") == (f'{METRIC}{{agent="a",team="t"}} or {METRIC}{{agent="b",team="t"}} '
                                                f'or {METRIC}{{flow="f",team="t"}}')


@pytest.mark.parametrize("columns", [80, 120])
def test_help_fits_the_terminal_and_documents_the_exit_codes(columns):
    result = CliRunner().invoke(app, ["error-budget", "-h"], env={"COLUMNS": str(columns)}, prog_name="maas")
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= columns
    for code in ("0  every budget has some left", "1  a budget is spent", "2  usage", "3  cannot tell"):
        assert code in result.output
    assert "--prometheus URL" in result.output and "--agent NAME" in result.output


# -- docs/error-budgets.md ---------------------------------------------------------------------------

DOC = ROOT / "docs" / "error-budgets.md"


def fenced(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.M | re.S)


def test_every_command_of_the_page_parses_and_only_the_network_fails():
    commands = [line for block in fenced("bash") for line in block.splitlines() if "maas error-budget" in line]
    assert len(commands) >= 3
    dead = f"http://127.0.0.1:{free_port()}"
    for line in commands:
        env_part, _, args = line.partition("maas error-budget")
        args = args.replace("http://localhost:9090", dead).split()
        env = {"MAAS_PROMETHEUS_URL": dead} if "MAAS_PROMETHEUS_URL=" in env_part else {}
        result = gate(*args, env=env)
        assert result.exit_code == 3 and "is unreachable" in result.stderr, (line, result.output)


def test_the_page_s_json_has_the_command_s_keys(fake):
    (example,) = fenced("json")
    fake.vector((TRIAGE, "0.5"))
    real = reading(gate("--prometheus", fake.url, "--agent", "triage", "--json"))
    documented = json.loads(example)
    assert set(documented) == set(real)
    assert set(documented["budgets"][0]) == set(real["budgets"][0])


def test_the_page_s_release_workflow_is_valid_and_uses_the_action_s_inputs(tmp_path):
    from test_workflows import validate

    (workflow,) = fenced("yaml")
    path = tmp_path / "release.yml"
    path.write_text(workflow)
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load(workflow)
    (step,) = [s for job in document["jobs"].values() for s in job["steps"] if "error-budget-gate" in s.get("uses", "")]
    assert (ROOT / step["uses"] / "action.yml").resolve() == ACTION.resolve()
    inputs = yaml.safe_load(ACTION.read_text())["inputs"]
    assert set(step["with"]) <= set(inputs)
    assert {name for name, spec in inputs.items() if spec.get("required")} <= set(step["with"])
    assert "labeled" in document[True]["pull_request"]["types"]  # YAML 1.1 reads `on` as true
