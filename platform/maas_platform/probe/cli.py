"""``maas-probe``: one probe run of one agent, as its schedule starts it.

Exit codes: 0 the run completed (wrong answers included: they are the finding, published as
metrics, not a failure of the probe); 1 the probe could not run (no case reached the agent) or its
metrics could not be pushed; 2 usage or a bad golden-set file (one line naming the key and the fix).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ..config.golden import load_cases
from ..config.loader import ConfigError
from ..names import PROBE_OUTCOMES
from .runner import JudgeModel, RunResult, publish, run

EXIT_OK, EXIT_COULD_NOT_RUN, EXIT_USAGE = 0, 1, 2
# The agent's gateway credential, under the name its own container gets it (names.LLM_GATEWAY_KEY_SECRET).
JUDGE_KEY_ENV = "LLM_GATEWAY_KEY"

app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})
log = logging.getLogger("maas_platform.probe")


def _error(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _publish(pushgateway: Optional[str], agent: str, result: Optional[RunResult]) -> None:
    if not pushgateway:
        return
    try:
        publish(pushgateway, agent, result)
    except Exception as exc:  # noqa: BLE001 - any failure to push is the same finding: exit 1
        raise _error(f"could not push metrics to {pushgateway}: {exc}", EXIT_COULD_NOT_RUN) from None


@app.command()
def main(
    cases: Path = typer.Option(..., "--cases", help="The agent's golden-set file (YAML)."),
    agent: str = typer.Option(..., "--agent", help="The agent's name: the 'agent' label of every metric."),
    base_url: str = typer.Option(..., "--base-url", help="The agent's REST entry, e.g. http://triage.agents.svc:8080."),
    pushgateway: Optional[str] = typer.Option(
        None, "--pushgateway", help="Pushgateway URL to push the run's metrics to; without it nothing is pushed."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.001, help="Seconds one call may take."),
    retries: int = typer.Option(2, "--retries", min=0, max=5, help="Retries of a call on a connection error or 5xx."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=32, help="Calls in flight at most."),
    deadline: float = typer.Option(600.0, "--deadline", min=0.001, help="Seconds the whole run may take."),
    log_answers: bool = typer.Option(
        False, "--log-answers", help="Log answer bodies too (they may hold customer data; off by default)."),
    judge_url: Optional[str] = typer.Option(
        None, "--judge-url", envvar="MAAS_PROBE_JUDGE_URL",
        help=f"The LLM gateway's URL, for cases judged by a model; the credential comes from ${JUDGE_KEY_ENV}."),
) -> None:
    """Send every case of a golden set to an agent, judge the answers and push the outcome.

    \b
    Exit codes: 0 run completed (wrong answers included); 1 could not run or push;
    2 usage or bad golden-set file.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        golden_set = load_cases(cases)
    except ConfigError as exc:
        # Say so on the dashboard too: a broken golden set is a probe that cannot run.
        try:
            _publish(pushgateway, agent, None)
        except typer.Exit:
            pass
        raise _error(str(exc), EXIT_USAGE) from None
    judge_model = None
    if judge_url:
        key = os.environ.get(JUDGE_KEY_ENV, "")
        if not key:
            raise _error(f"--judge-url needs the gateway credential in ${JUDGE_KEY_ENV}; mount the agent's "
                         "llm-gateway-key secret", EXIT_USAGE)
        judge_model = JudgeModel(judge_url, key, timeout)
    try:
        result = run(golden_set, base_url, timeout_s=timeout, retries=retries, concurrency=concurrency,
                     deadline_s=deadline, log_answers=log_answers, judge_model=judge_model)
    except ValueError as exc:
        raise _error(f"{'--judge-url' if 'judge URL' in str(exc) else '--base-url'}: {exc}", EXIT_USAGE) from None
    counts = " ".join(f"{outcome}={result.count(outcome)}" for outcome in PROBE_OUTCOMES)
    log.info("agent=%s cases=%d %s duration=%.3fs", agent, len(result.cases), counts, result.duration_s)
    _publish(pushgateway, agent, result)
    if not result.reached_agent:
        raise _error(f"no case of {cases} got an answer from {base_url}; the probe could not run", EXIT_COULD_NOT_RUN)
    raise typer.Exit(EXIT_OK)
