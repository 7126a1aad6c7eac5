"""The golden-set probe (maas_platform.probe) against a real local HTTP server standing in for an
agent, and a second one standing in for the Pushgateway: its pushed metrics are read back with
prometheus_client's own parser."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from maas_platform.config import ConfigError
from maas_platform.names import (
    PROBE_CASE_DURATION_METRIC,
    PROBE_CASES_METRIC,
    PROBE_JOB,
    PROBE_LAST_RUN_METRIC,
    PROBE_RUN_DURATION_METRIC,
    PROBE_UP_METRIC,
)
from maas_platform.config.golden import load_cases, parse_cases
from maas_platform.probe.cli import app
from maas_platform.probe.runner import judge, publish, run

SECRET_ANSWER = "customer 4711 owes 12.50"


class Agent(BaseHTTPRequestHandler):
    """Answers by path: the stand-in agent. Counts calls per path and calls in flight."""

    calls: dict[str, int]
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            server.calls[self.path] = server.calls.get(self.path, 0) + 1  # type: ignore[attr-defined]
            calls = server.calls[self.path]  # type: ignore[attr-defined]
            server.in_flight += 1  # type: ignore[attr-defined]
            server.most_in_flight = max(server.most_in_flight, server.in_flight)  # type: ignore[attr-defined]
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer, content_type = 200, b"", "text/plain"
            if self.path == "/echo":
                question = json.loads(body)["q"]
                answer = f"You asked: {question}".encode()
            elif self.path == "/total":
                answer, content_type = json.dumps({"result": {"total": 42.4}}).encode(), "application/json"
            elif self.path == "/person":
                answer, content_type = json.dumps({"name": "Ada", "age": 36}).encode(), "application/json"
            elif self.path == "/secret":
                answer = SECRET_ANSWER.encode()
            elif self.path == "/slow":
                time.sleep(1.5)
                answer = b"late"
            elif self.path == "/flaky":
                status, answer = (500, b"boom") if calls == 1 else (200, b"ok")
            elif self.path == "/broken":
                status, answer = 500, b"boom"
            elif self.path == "/wait":
                time.sleep(0.3)
                answer = b"ok"
            else:
                status, answer = 404, b"no such path"
        finally:
            # A call stops being in flight before its answer is written: once the client has the
            # answer it may send its next call, which must not find this one still counted.
            with server.lock:  # type: ignore[attr-defined]
                server.in_flight -= 1  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = _answer
    do_POST = _answer


class Gateway(BaseHTTPRequestHandler):
    """The stand-in Pushgateway: records each push (method, path, body)."""

    def log_message(self, *args: Any) -> None:
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        pushes = self.server.pushes  # type: ignore[attr-defined]
        pushes.append((self.command, self.path, self.rfile.read(length).decode()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = _record
    do_POST = _record


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.calls, server.in_flight, server.most_in_flight = {}, 0, 0  # type: ignore[attr-defined]
    server.lock, server.pushes = threading.Lock(), []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def agent() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(Agent)


@pytest.fixture
def gateway() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(Gateway)


def url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def refused_url() -> str:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


CASES: dict[str, Any] = {"cases": [
    {"id": "exact-right", "request": {"path": "/echo", "json": {"q": "hi"}}, "expect": {"exact": "You asked: hi"}},
    {"id": "exact-wrong", "request": {"path": "/echo", "json": {"q": "hi"}}, "expect": {"exact": "Hello"}},
    {"id": "contains", "request": {"path": "/echo", "json": {"q": "refund"}},
     "expect": {"contains": ["asked", "refund"]}},
    {"id": "regex", "request": {"path": "/echo", "json": {"q": "order 123"}}, "expect": {"regex": r"order \d+$"}},
    {"id": "schema-right", "request": {"path": "/person", "method": "GET"},
     "expect": {"json_schema": {"type": "object", "required": ["name", "age"],
                                "properties": {"age": {"type": "integer"}}}}},
    {"id": "schema-wrong", "request": {"path": "/person", "method": "GET"},
     "expect": {"json_schema": {"type": "object", "required": ["email"]}}},
    {"id": "number-right", "request": {"path": "/total", "method": "GET"},
     "expect": {"number": {"value": 42, "tolerance": 0.5, "path": "/result/total"}}},
    {"id": "number-wrong", "request": {"path": "/total", "method": "GET"},
     "expect": {"number": {"value": 40, "tolerance": 0.5, "path": "/result/total"}}},
    {"id": "slow", "request": {"path": "/slow", "method": "GET"}, "expect": {"exact": "late"}},
    {"id": "flaky", "request": {"path": "/flaky", "method": "GET"}, "expect": {"exact": "ok"}},
    {"id": "broken", "request": {"path": "/broken", "method": "GET"}, "expect": {"exact": "ok"}},
    {"id": "missing", "request": {"path": "/nowhere", "method": "GET"}, "expect": {"exact": "ok"}},
]}


def outcomes(result: Any) -> dict[str, str]:
    return {case.id: case.outcome for case in result.cases}


# --- the runner against a real agent stand-in --------------------------------------------------

def test_right_answers_pass_wrong_ones_fail_and_no_answer_is_an_error(agent):
    result = run(parse_cases(CASES), url(agent), timeout_s=0.5, retries=1, concurrency=4, deadline_s=20)
    assert outcomes(result) == {
        "exact-right": "pass", "exact-wrong": "fail", "contains": "pass", "regex": "pass",
        "schema-right": "pass", "schema-wrong": "fail", "number-right": "pass", "number-wrong": "fail",
        # Past the time-out: no answer, not a wrong one, and never retried.
        "slow": "error",
        # A 500 then a 200: the retry turns it into an answer.
        "flaky": "pass",
        # A 500 every time: retried, then an error naming the status.
        "broken": "error",
        # A 4xx is no answer either, and is not retried.
        "missing": "error",
    }
    by_id = {case.id: case for case in result.cases}
    assert by_id["flaky"].attempts == 2 and agent.calls["/flaky"] == 2
    assert (by_id["broken"].status, by_id["broken"].attempts, agent.calls["/broken"]) == (500, 2, 2)
    assert agent.calls["/slow"] == 1 and "no answer within" in by_id["slow"].reason
    assert (by_id["missing"].status, agent.calls["/nowhere"]) == (404, 1)
    # A wrong answer is never retried.
    assert by_id["exact-wrong"].attempts == 1
    assert (result.count("pass"), result.count("fail"), result.count("error")) == (6, 3, 3)
    assert result.reached_agent


def test_connection_refused_is_retried_then_an_error_and_the_run_could_not_run():
    golden = parse_cases({"cases": [{"id": "a", "expect": {"exact": "x"}}, {"id": "b", "expect": {"exact": "y"}}]})
    result = run(golden, refused_url(), timeout_s=0.5, retries=2, concurrency=2, deadline_s=10)
    assert outcomes(result) == {"a": "error", "b": "error"}
    assert all(case.attempts == 3 and case.reason.startswith("connection failed") for case in result.cases)
    assert not result.reached_agent


def test_one_broken_case_does_not_stop_the_others(agent, monkeypatch):
    import maas_platform.probe.runner as runner

    real = runner.judge

    def explode_on_secret(expect, answer):
        if answer == SECRET_ANSWER:
            raise RuntimeError("judge broke")
        return real(expect, answer)

    monkeypatch.setattr(runner, "judge", explode_on_secret)
    golden = parse_cases({"cases": [
        {"id": "breaks", "request": {"path": "/secret", "method": "GET"}, "expect": {"exact": "x"}},
        {"id": "fine", "request": {"path": "/echo", "json": {"q": "hi"}}, "expect": {"exact": "You asked: hi"}},
    ]})
    result = run(golden, url(agent), timeout_s=1, retries=0, concurrency=1, deadline_s=10)
    assert outcomes(result) == {"breaks": "error", "fine": "pass"}
    assert result.cases[0].reason == "probe failed: RuntimeError"


def test_concurrency_is_bounded(agent):
    golden = parse_cases({"cases": [{"id": f"c{i}", "request": {"path": "/wait", "method": "GET"},
                                     "expect": {"exact": "ok"}} for i in range(8)]})
    result = run(golden, url(agent), timeout_s=2, retries=0, concurrency=3, deadline_s=20)
    assert result.count("pass") == 8
    assert agent.most_in_flight == 3


def test_the_run_deadline_ends_the_run_and_marks_unfinished_cases(agent):
    golden = parse_cases({"cases": [{"id": f"c{i}", "request": {"path": "/wait", "method": "GET"},
                                     "expect": {"exact": "ok"}} for i in range(6)]})
    started = time.monotonic()
    result = run(golden, url(agent), timeout_s=2, retries=0, concurrency=1, deadline_s=0.5)
    assert time.monotonic() - started < 1.5
    assert result.count("pass") >= 1 and result.count("error") >= 3
    assert any(case.reason == "run deadline passed" for case in result.cases)


def test_answers_stay_out_of_the_logs_unless_asked(agent, caplog):
    golden = parse_cases({"cases": [
        {"id": "secret", "request": {"path": "/secret", "method": "GET"}, "expect": {"contains": ["owes 99"]}}]})
    with caplog.at_level(logging.INFO, logger="maas_platform.probe"):
        result = run(golden, url(agent), timeout_s=1, retries=0, concurrency=1, deadline_s=10)
    assert result.cases[0].outcome == "fail"
    assert "case=secret outcome=fail" in caplog.text and "status=200" in caplog.text
    assert SECRET_ANSWER not in caplog.text and "4711" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="maas_platform.probe"):
        run(golden, url(agent), timeout_s=1, retries=0, concurrency=1, deadline_s=10, log_answers=True)
    assert SECRET_ANSWER in caplog.text


@pytest.mark.parametrize("expect, answer, right", [
    ({"exact": "yes"}, "  yes\n", True),
    ({"contains": ["a", "z"]}, "abc", False),
    ({"regex": "^[0-9]+$"}, "123", True),
    ({"json_schema": {"type": "array"}}, "not json", False),
    ({"number": {"value": 1.0, "tolerance": 0.1}}, "1.05", True),
    ({"number": {"value": 1.0, "tolerance": 0.1}}, "1.2", False),
    ({"number": {"value": 1.0, "path": "/a/0"}}, '{"a": [1]}', True),
    ({"number": {"value": 1.0, "path": "/a/1"}}, '{"a": [1]}', False),
    ({"number": {"value": 1.0}}, "true", False),
])
def test_judges(expect, answer, right):
    golden = parse_cases({"cases": [{"id": "x", "expect": expect}]})
    assert judge(golden.cases[0].expect, answer)[0] is right


# --- metrics, read back from a stand-in Pushgateway ------------------------------------------

def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def test_published_metrics_read_back(agent, gateway):
    result = run(parse_cases(CASES), url(agent), timeout_s=0.5, retries=1, concurrency=4, deadline_s=20)
    publish(url(gateway), "triage", result)
    [(method, path, body)] = gateway.pushes
    # PUT replaces the agent's whole group; grouping key job + agent, no instance label.
    assert (method, path) == ("PUT", f"/metrics/job/{PROBE_JOB}/agent/triage")
    found = samples(body)
    assert found[(PROBE_CASES_METRIC, (("agent", "triage"), ("outcome", "pass")))] == 6
    assert found[(PROBE_CASES_METRIC, (("agent", "triage"), ("outcome", "fail")))] == 3
    assert found[(PROBE_CASES_METRIC, (("agent", "triage"), ("outcome", "error")))] == 3
    assert found[(PROBE_UP_METRIC, (("agent", "triage"),))] == 1
    assert found[(PROBE_CASE_DURATION_METRIC, (("agent", "triage"), ("case", "slow")))] >= 0.5
    assert found[(PROBE_RUN_DURATION_METRIC, (("agent", "triage"),))] == pytest.approx(result.duration_s)
    assert abs(found[(PROBE_LAST_RUN_METRIC, (("agent", "triage"),))] - time.time()) < 60
    types = {family.name: family.type for family in text_string_to_metric_families(body)}
    assert set(types.values()) == {"gauge"}
    assert not any("instance" in dict(labels) for _, labels in found)


def test_a_run_that_could_not_run_publishes_up_zero(gateway):
    golden = parse_cases({"cases": [{"id": "a", "expect": {"exact": "x"}}]})
    result = run(golden, refused_url(), timeout_s=0.5, retries=0, concurrency=1, deadline_s=5)
    publish(url(gateway), "triage", result)
    found = samples(gateway.pushes[0][2])
    assert found[(PROBE_UP_METRIC, (("agent", "triage"),))] == 0
    assert found[(PROBE_CASES_METRIC, (("agent", "triage"), ("outcome", "error")))] == 1
    assert found[(PROBE_CASES_METRIC, (("agent", "triage"), ("outcome", "fail")))] == 0


# --- the golden-set file: one-line errors ------------------------------------------------------

def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "golden.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("cases, message", [
    ([{"id": "a", "request": {"jsn": {}}, "expect": {"exact": "x"}}],
     "cases[0] (id 'a').request.jsn: unknown key; check the spelling against the models of "
     "maas_platform/config/golden.py"),
    ([{"id": "a", "expect": {"exact": "x"}}, {"id": "a", "expect": {"exact": "y"}}],
     "cases[1] (id 'a'): id already used by cases[0]; give every case its own id"),
    ([{"id": "a", "expect": {"exact": "x", "regex": "x"}}],
     "cases[0] (id 'a').expect: set exactly one of exact, contains, regex, json_schema, number, model (found exact, regex)"),
    ([{"id": "a", "expect": {}}],
     "cases[0] (id 'a').expect: set exactly one of exact, contains, regex, json_schema, number, model (found none)"),
    ([{"id": "ok", "expect": {"exact": "x"}}, {"id": "b", "expect": {"regex": "(unclosed"}}],
     "cases[1] (id 'b').expect.regex: not a valid regular expression ("),
    ([{"id": "a", "expect": {"json_schema": {"type": "nope"}}}],
     "cases[0] (id 'a').expect.json_schema: not a valid JSON Schema at '/type': "),
    ([{"id": "a", "expect": {"number": {"value": 1, "tolerance": -0.5}}}],
     "cases[0] (id 'a').expect.number.tolerance: -0.5 is negative; a tolerance is an absolute difference, "
     "write 0 or more"),
    ([{"id": "a", "request": {"headers": {"Authorization": "Bearer x"}}, "expect": {"exact": "x"}}],
     "cases[0] (id 'a').request.headers: 'Authorization' carries a credential; golden sets hold none, "
     "remove the header"),
    ([{"id": "a", "request": {"method": "GET", "json": {"q": 1}}, "expect": {"exact": "x"}}],
     "cases[0] (id 'a').request: a GET sends no body; use method: POST or remove json/text"),
])
def test_bad_golden_sets_fail_with_one_line_naming_file_case_and_field(tmp_path, cases, message):
    path = write(tmp_path, {"cases": cases})
    with pytest.raises(ConfigError) as error:
        load_cases(path)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith(message), text
    assert text.endswith(f"({path})")


def test_a_good_golden_set_loads(tmp_path):
    golden = load_cases(write(tmp_path, CASES))
    assert [case.expect.judge for case in golden.cases][:8] == [
        "exact", "exact", "contains", "regex", "json_schema", "json_schema", "number", "number"]


# --- maas-probe: exit codes --------------------------------------------------------------------

def test_cli_exit_0_when_the_run_completes_even_with_wrong_answers(tmp_path, agent, gateway):
    path = write(tmp_path, {"cases": CASES["cases"][:2]})
    outcome = CliRunner().invoke(app, ["--cases", str(path), "--agent", "triage", "--base-url", url(agent),
                                       "--pushgateway", url(gateway), "--timeout", "1", "--retries", "0"])
    assert outcome.exit_code == 0, outcome.output
    found = samples(gateway.pushes[0][2])
    assert found[(PROBE_CASES_METRIC, (("agent", "triage"), ("outcome", "fail")))] == 1


def test_cli_exit_2_on_a_bad_golden_set_and_pushes_up_zero(tmp_path, gateway):
    path = write(tmp_path, {"cases": [{"id": "a", "expect": {"regex": "("}}]})
    outcome = CliRunner().invoke(app, ["--cases", str(path), "--agent", "triage", "--base-url", "http://127.0.0.1:1",
                                       "--pushgateway", url(gateway)])
    assert outcome.exit_code == 2
    assert outcome.output.startswith("error: cases[0] (id 'a').expect.regex: ")
    assert samples(gateway.pushes[0][2])[(PROBE_UP_METRIC, (("agent", "triage"),))] == 0


def test_cli_exit_1_when_the_agent_cannot_be_reached(tmp_path):
    path = write(tmp_path, {"cases": [{"id": "a", "expect": {"exact": "x"}}]})
    outcome = CliRunner().invoke(app, ["--cases", str(path), "--agent", "triage", "--base-url", refused_url(),
                                       "--retries", "0"])
    assert outcome.exit_code == 1
    assert "the probe could not run" in outcome.output


def test_cli_exit_1_when_the_push_fails(tmp_path, agent):
    path = write(tmp_path, {"cases": CASES["cases"][:1]})
    outcome = CliRunner().invoke(app, ["--cases", str(path), "--agent", "triage", "--base-url", url(agent),
                                       "--pushgateway", refused_url()])
    assert outcome.exit_code == 1
    assert "could not push metrics" in outcome.output


# --- a judge model through the gateway ---------------------------------------------------------------

class Judge(BaseHTTPRequestHandler):
    """The stand-in LLM gateway: OpenAI-style chat completions. Passes answers (the prompt's last
    paragraph) containing 'refund',
    answers 500 for model 'down' and a non-completion for model 'odd'; records each request."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length))
        self.server.pushes.append((self.path, self.headers.get("Authorization"), request))  # type: ignore[attr-defined]
        status, reply = 200, {}
        if request["model"] == "down":
            status = 500
        elif request["model"] == "odd":
            reply = {"nothing": True}
        else:
            answer = request["messages"][-1]["content"].split("\n\n")[-1]
            verdict = "PASS: it offers a refund" if "refund" in answer else "FAIL"
            reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": verdict}}]}
        body = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def judge_server() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(Judge)


PROMPT = "Does this answer to {request} offer a refund? Answer PASS or FAIL.\n\n{answer}"
MODEL_CASES: dict[str, Any] = {"cases": [
    {"id": "judged-right", "request": {"path": "/echo", "json": {"q": "refund please"}},
     "expect": {"model": {"model": "gpt-4.1-mini", "prompt": PROMPT}}},
    {"id": "judged-wrong", "request": {"path": "/echo", "json": {"q": "hello"}},
     "expect": {"model": {"model": "gpt-4.1-mini", "prompt": PROMPT}}},
    {"id": "judge-down", "request": {"path": "/echo", "json": {"q": "refund"}},
     "expect": {"model": {"model": "down", "prompt": PROMPT}}},
    {"id": "judge-odd", "request": {"path": "/echo", "json": {"q": "refund"}},
     "expect": {"model": {"model": "odd", "prompt": PROMPT}}},
    {"id": "plain", "request": {"path": "/echo", "json": {"q": "hi"}}, "expect": {"exact": "You asked: hi"}},
]}


def test_a_judge_model_grades_through_the_gateway_with_the_agents_key(agent, judge_server):
    from maas_platform.probe.runner import JudgeModel

    result = run(parse_cases(MODEL_CASES), url(agent), timeout_s=2, retries=0, concurrency=2, deadline_s=20,
                 judge_model=JudgeModel(url(judge_server), "sk-agent-key"))
    assert outcomes(result) == {
        "judged-right": "pass", "judged-wrong": "fail",
        # A judge that cannot give a verdict is no verdict, not a wrong answer.
        "judge-down": "error", "judge-odd": "error",
        "plain": "pass",
    }
    by_id = {case.id: case for case in result.cases}
    assert {case.id for case in result.cases if case.judge == "model"} == {
        "judged-right", "judged-wrong", "judge-down", "judge-odd"}
    assert "HTTP 500" in by_id["judge-down"].reason and "not a chat completion" in by_id["judge-odd"].reason
    calls = judge_server.pushes
    assert {(path, auth) for path, auth, _ in calls} == {("/v1/chat/completions", "Bearer sk-agent-key")}
    asked = next(request for _, _, request in calls if "hello" in request["messages"][-1]["content"])
    # The prompt carries the request and the answer; the judge is asked deterministically.
    assert asked["messages"][-1]["content"].startswith('Does this answer to {"q": "hello"} offer a refund?')
    assert asked["messages"][-1]["content"].endswith("You asked: hello") and asked["temperature"] == 0


def test_model_judged_cases_without_a_judge_are_errors_and_are_counted_apart(agent, gateway):
    result = run(parse_cases(MODEL_CASES), url(agent), timeout_s=2, retries=0, concurrency=2, deadline_s=20)
    assert outcomes(result)["judged-right"] == "error" and "no judge is configured" in \
        {c.id: c for c in result.cases}["judged-right"].reason
    publish(url(gateway), "triage", result)
    _, _, body = gateway.pushes[-1]
    samples = {(s.name, s.labels.get("outcome")): s.value
               for family in text_string_to_metric_families(body) for s in family.samples}
    assert samples[("maas_probe_model_judged_cases", "error")] == 4
    assert samples[("maas_probe_cases", "pass")] == 1 and samples[("maas_probe_model_judged_cases", "pass")] == 0


@pytest.mark.parametrize("expect, message", [
    ({"model": {"model": "m", "prompt": "Is it right?"}},
     "cases[0] (id 'a').expect.model.prompt: the prompt must contain {answer}, where the agent's answer goes"),
    ({"model": {"model": "m", "prompt": "{answer}", "pass_if": "("}},
     "cases[0] (id 'a').expect.model.pass_if: not a valid regular expression"),
    ({"model": {"model": "m", "prompt": "{answer}"}, "exact": "x"},
     "cases[0] (id 'a').expect: set exactly one of exact, contains, regex, json_schema, number, model "
     "(found exact, model)"),
])
def test_model_judges_fail_with_one_line(expect, message):
    with pytest.raises(ConfigError) as caught:
        parse_cases({"cases": [{"id": "a", "expect": expect}]})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_cli_refuses_a_judge_url_without_the_gateway_credential(tmp_path, agent, monkeypatch):
    monkeypatch.delenv("LLM_GATEWAY_KEY", raising=False)
    path = write(tmp_path, MODEL_CASES)
    outcome = CliRunner().invoke(app, ["--cases", str(path), "--agent", "triage", "--base-url", url(agent),
                                       "--judge-url", "http://127.0.0.1:9"])
    assert outcome.exit_code == 2 and "LLM_GATEWAY_KEY" in outcome.output
