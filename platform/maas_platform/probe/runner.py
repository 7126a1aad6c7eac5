"""One probe run: every case of a golden set sent to an agent, each answer judged.

Bounded on every side, so that a run always ends and one case cannot stop the others:

- each call has a socket time-out (``timeout_s``);
- a call is retried (``retries`` more times, short growing pause) only when no answer came: a
  connection that failed or a 5xx. A time-out is not retried (the agent was slow, and a slow
  answer is the finding), nor is a wrong answer;
- ``concurrency`` calls at most are in flight (a thread pool of that size);
- the whole run has a deadline (``deadline_s``): a case not finished by then is an ``error``.

Each case ends as ``pass`` (right answer), ``fail`` (wrong answer) or ``error`` (no answer to
judge: time-out, connection, a non-2xx status after retries, the deadline). Log lines carry the case
id, outcome, latency and status; never the answer, which may hold customer data, unless
``log_answers`` is set.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Optional

from jsonschema import validators
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from ..names import (
    PROBE_AGENT_LABEL,
    PROBE_CASE_DURATION_METRIC,
    PROBE_CASE_LABEL,
    PROBE_CASES_METRIC,
    PROBE_JOB,
    PROBE_LAST_RUN_METRIC,
    PROBE_MODEL_JUDGED_METRIC,
    PROBE_OUTCOME_LABEL,
    PROBE_OUTCOMES,
    PROBE_RUN_DURATION_METRIC,
    PROBE_UP_METRIC,
)
from ..config.golden import Case, Expect, GoldenSet, ModelJudge

log = logging.getLogger(__name__)

PASS, FAIL, ERROR = PROBE_OUTCOMES
# Pause before retry n (seconds): BACKOFF_S * n, never past the run's deadline.
BACKOFF_S = 0.2
# Bytes of an answer read at most: a golden answer is short; an endless body must not stall the run.
MAX_ANSWER_BYTES = 1 << 20


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case. ``reason`` says why it failed or errored, never quoting the answer."""

    id: str
    outcome: str
    latency_s: float
    status: Optional[int] = None
    attempts: int = 0
    reason: str = ""
    judge: str = ""  # the judge of the case (config.golden.JUDGES); "model" marks a model's verdict


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run, in the golden set's order."""

    cases: tuple[CaseResult, ...]
    duration_s: float
    finished_at: float = field(default_factory=time.time)

    def count(self, outcome: str) -> int:
        return sum(1 for case in self.cases if case.outcome == outcome)

    @property
    def reached_agent(self) -> bool:
        """Whether any case got an answer to judge: a run where none did could not run at all."""
        return any(case.outcome != ERROR for case in self.cases)


class _NoAnswer(Exception):
    """No answer to judge; ``retry`` when asking again may help (connection failed, 5xx)."""

    def __init__(self, reason: str, status: Optional[int] = None, retry: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry = retry


# --- judging ---------------------------------------------------------------------------------------

def _pointer(document: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901); KeyError when it is not there."""
    if pointer == "":
        return document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(document, list):
            if not token.isdigit() or int(token) >= len(document):
                raise KeyError(pointer)
            document = document[int(token)]
        elif isinstance(document, dict) and token in document:
            document = document[token]
        else:
            raise KeyError(pointer)
    return document


def judge(expect: Expect, answer: str) -> tuple[bool, str]:
    """Whether ``answer`` is right, and if not why, in words that never quote the answer."""
    if expect.model is not None:
        raise ValueError("a model-judged case is judged by judge_with_model")
    if expect.exact is not None:
        return (True, "") if answer.strip() == expect.exact.strip() else (False, "not the exact answer")
    if expect.contains is not None:
        missing = sum(1 for text in expect.contains if text not in answer)
        return (True, "") if not missing else (False, f"{missing} of {len(expect.contains)} expected texts missing")
    if expect.regex is not None:
        return (True, "") if re.search(expect.regex, answer) else (False, "regular expression does not match")
    try:
        document = json.loads(answer)
    except ValueError:
        return False, "answer is not JSON"
    if expect.json_schema is not None:
        validator = validators.validator_for(expect.json_schema)(expect.json_schema)
        errors = list(validator.iter_errors(document))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path)
            return False, f"answer does not match the schema at '/{where}' ({errors[0].validator})"
        return True, ""
    number = expect.number
    assert number is not None
    try:
        value = _pointer(document, number.path or "")
    except KeyError:
        return False, f"no value at '{number.path}'"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False, "not a number"
    if abs(value - number.value) <= number.tolerance:
        return True, ""
    return False, "number outside the tolerance"


@dataclass(frozen=True)
class JudgeModel:
    """Where model-judged cases are graded: the LLM gateway's OpenAI-compatible chat completions,
    with the agent's own gateway credential (its spend and limits apply). LiteLLM's "Use a Virtual
    Key" (docs.litellm.ai/docs/proxy/api_key_auth, checked 2026-12-03): ``POST <url>/v1/chat/completions``,
    ``Authorization: Bearer <key>``, body ``{model, messages}``; the reply is
    ``choices[0].message.content`` (docs.litellm.ai/docs/proxy/management_client, same day)."""

    url: str
    key: str = field(repr=False)
    timeout_s: float = 30.0


JUDGE_SYSTEM_PROMPT = (
    "You grade one answer of an AI agent. Follow the grading instructions exactly and start your reply "
    "with PASS or FAIL."
)


def _request_text(case: Case) -> str:
    body, _ = case.request.body()
    return body.decode() if body else case.request.path


def judge_with_model(judge_model: ModelJudge, case: Case, answer: str, client: JudgeModel,
                     timeout_s: float) -> tuple[bool, str]:
    """Ask the judge model; its reply matching ``pass_if`` passes the case. A judge that cannot be
    asked is :class:`_NoAnswer` (the case errors: no verdict is not a wrong answer)."""
    prompt = judge_model.prompt.replace("{request}", _request_text(case)).replace("{answer}", answer)
    body = json.dumps({
        "model": judge_model.model,
        "temperature": 0,
        "messages": [{"role": "system", "content": JUDGE_SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
    }).encode()
    request = urllib.request.Request(
        client.url.rstrip("/") + "/v1/chat/completions", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {client.key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only, checked
            reply = json.loads(response.read(MAX_ANSWER_BYTES))
        verdict = reply["choices"][0]["message"]["content"]
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _NoAnswer(f"judge model: HTTP {exc.code}", status=None) from None
    except (ValueError, KeyError, IndexError, TypeError):
        raise _NoAnswer("judge model: reply is not a chat completion") from None
    except (OSError, urllib.error.URLError) as exc:
        raise _NoAnswer(f"judge model: connection failed ({exc.__class__.__name__})") from None
    if not isinstance(verdict, str):
        raise _NoAnswer("judge model: reply has no text")
    if re.search(judge_model.pass_if, verdict, re.IGNORECASE):
        return True, ""
    return False, "the judge model did not pass the answer"


# --- calling -----------------------------------------------------------------------------------

def _call(case: Case, url: str, timeout_s: float) -> tuple[int, str]:
    """One HTTP call: ``(status, answer)`` for a 2xx, :class:`_NoAnswer` otherwise."""
    body, content_type = case.request.body()
    headers = {"Accept": "application/json, text/plain;q=0.9, */*;q=0.1", **case.request.headers}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, method=case.request.method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only, checked
            raw = response.read(MAX_ANSWER_BYTES)
            charset = response.headers.get_content_charset() or "utf-8"
            return response.status, raw.decode(charset, errors="replace")
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _NoAnswer(f"HTTP {exc.code}", status=exc.code, retry=exc.code >= 500) from None
    except (TimeoutError, socket.timeout):
        raise _NoAnswer(f"no answer within {timeout_s:g}s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise _NoAnswer(f"no answer within {timeout_s:g}s") from None
        raise _NoAnswer(f"connection failed: {exc.reason}", retry=True) from None
    except (ConnectionError, OSError) as exc:
        raise _NoAnswer(f"connection failed: {exc.__class__.__name__}", retry=True) from None


def _verdict(case: Case, answer: str, judge_model: Optional[JudgeModel], timeout_s: float) -> tuple[bool, str]:
    if case.expect.model is None:
        return judge(case.expect, answer)
    if judge_model is None:
        raise _NoAnswer("judged by a model, but no judge is configured (--judge-url)")
    return judge_with_model(case.expect.model, case, answer, judge_model, timeout_s)


def _probe(case: Case, base_url: str, timeout_s: float, retries: int, deadline: float,
           log_answers: bool, judge_model: Optional[JudgeModel] = None) -> CaseResult:
    url = base_url.rstrip("/") + case.request.path
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            status, answer = _call(case, url, min(timeout_s, max(deadline - time.monotonic(), 0.001)))
        except _NoAnswer as exc:
            pause = BACKOFF_S * attempt
            if exc.retry and attempt <= retries and time.monotonic() + pause < deadline:
                log.info("case=%s attempt=%d status=%s retrying: %s", case.id, attempt, exc.status, exc.reason)
                time.sleep(pause)
                continue
            result = CaseResult(case.id, ERROR, time.monotonic() - started, exc.status, attempt, exc.reason,
                                case.expect.judge)
            break
        latency = time.monotonic() - started
        try:
            right, reason = _verdict(case, answer, judge_model, min(timeout_s, max(deadline - time.monotonic(), 0.001)))
        except _NoAnswer as exc:
            result = CaseResult(case.id, ERROR, latency, status, attempt, exc.reason, case.expect.judge)
        else:
            result = CaseResult(case.id, PASS if right else FAIL, latency, status, attempt, reason, case.expect.judge)
        if log_answers:
            log.info("case=%s answer=%r", case.id, answer)
        break
    log.info("case=%s outcome=%s judge=%s latency=%.3fs status=%s attempts=%d%s", result.id, result.outcome,
             result.judge, result.latency_s, result.status, result.attempts,
             f" reason={result.reason}" if result.reason else "")
    return result


def run(golden_set: GoldenSet, base_url: str, *, timeout_s: float = 30.0, retries: int = 2, concurrency: int = 4,
        deadline_s: float = 600.0, log_answers: bool = False, judge_model: Optional[JudgeModel] = None) -> RunResult:
    """Probe every case of ``golden_set`` against the agent at ``base_url`` (its REST entry).

    Never raises for what a case meets: an unexpected exception in one case makes that case an
    ``error`` and the others go on.
    """
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base URL '{base_url}' must start with http:// or https://")
    if judge_model is not None and not judge_model.url.startswith(("http://", "https://")):
        raise ValueError(f"judge URL '{judge_model.url}' must start with http:// or https://")
    if timeout_s <= 0 or deadline_s <= 0 or retries < 0 or concurrency < 1:
        raise ValueError("timeout and deadline must be positive, retries 0 or more, concurrency 1 or more")
    started = time.monotonic()
    deadline = started + deadline_s
    results: dict[str, CaseResult] = {}
    lock = threading.Lock()

    def one(case: Case) -> None:
        try:
            result = _probe(case, base_url, timeout_s, retries, deadline, log_answers, judge_model)
        except Exception as exc:  # noqa: BLE001 - one broken case must not stop the run
            reason = f"probe failed: {exc.__class__.__name__}"
            result = CaseResult(case.id, ERROR, time.monotonic() - started, reason=reason)
            log.warning("case=%s outcome=error reason=%s", case.id, result.reason)
        with lock:
            results[case.id] = result

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="maas-probe")
    pending: set[Future[None]] = {pool.submit(one, case) for case in golden_set.cases}
    try:
        while pending and time.monotonic() < deadline:
            _, pending = wait(pending, timeout=max(deadline - time.monotonic(), 0), return_when=FIRST_COMPLETED)
    finally:
        # Calls still in flight end by their own time-out; cases not started are dropped.
        pool.shutdown(wait=False, cancel_futures=True)
    duration = time.monotonic() - started
    with lock:
        ordered = tuple(results.get(case.id) or CaseResult(case.id, ERROR, duration, reason="run deadline passed")
                        for case in golden_set.cases)
    for result in ordered:
        if result.reason == "run deadline passed":
            log.info("case=%s outcome=error reason=%s", result.id, result.reason)
    return RunResult(ordered, duration)


# --- publishing --------------------------------------------------------------------------------

def registry(agent: str, result: Optional[RunResult]) -> CollectorRegistry:
    """The run's metrics, in a registry of their own (never the process-wide one): gauges of the
    last run, see the package docstring. ``result`` None: the probe could not run (``up`` 0)."""
    metrics = CollectorRegistry()
    up = Gauge(PROBE_UP_METRIC, "1 when the probe run reached the agent, 0 when it could not run.",
               [PROBE_AGENT_LABEL], registry=metrics)
    last = Gauge(PROBE_LAST_RUN_METRIC, "When the last probe run ended (Unix seconds).", [PROBE_AGENT_LABEL],
                 registry=metrics)
    up.labels(agent).set(1 if result is not None and result.reached_agent else 0)
    last.labels(agent).set(result.finished_at if result is not None else time.time())
    if result is None:
        return metrics
    cases = Gauge(PROBE_CASES_METRIC, "Cases of the last probe run, by outcome (pass, fail: wrong answer, "
                  "error: no answer).", [PROBE_AGENT_LABEL, PROBE_OUTCOME_LABEL], registry=metrics)
    judged = Gauge(PROBE_MODEL_JUDGED_METRIC, "Of the last run's cases, those judged by a model, by outcome: a "
                   "model's verdict, not a check.", [PROBE_AGENT_LABEL, PROBE_OUTCOME_LABEL], registry=metrics)
    for outcome in PROBE_OUTCOMES:
        cases.labels(agent, outcome).set(result.count(outcome))
        judged.labels(agent, outcome).set(sum(1 for c in result.cases if c.outcome == outcome and c.judge == "model"))
    latency = Gauge(PROBE_CASE_DURATION_METRIC, "Latency of each case in the last probe run, retries included.",
                    [PROBE_AGENT_LABEL, PROBE_CASE_LABEL], registry=metrics)
    for case in result.cases:
        latency.labels(agent, case.id).set(case.latency_s)
    Gauge(PROBE_RUN_DURATION_METRIC, "Duration of the last probe run.", [PROBE_AGENT_LABEL],
          registry=metrics).labels(agent).set(result.duration_s)
    return metrics


def publish(pushgateway: str, agent: str, result: Optional[RunResult], timeout_s: float = 10.0) -> None:
    """Replace this agent's group on the Pushgateway (PUT: series of cases since removed from the
    golden set disappear). Grouping key job + agent, no instance label: see the package docstring."""
    push_to_gateway(pushgateway, job=PROBE_JOB, registry=registry(agent, result),
                    grouping_key={PROBE_AGENT_LABEL: agent}, timeout=timeout_s)
