"""``maas error-budget``: the delivery pipeline's error-budget gate.

Reads ``names.SLO_BUDGET_REMAINING`` (the share of each SLO's error budget left over its whole
window: 1 untouched, 0 spent, below 0 overspent; recorded every 2 minutes per SLO with the labels
``slo``, ``agent`` or ``flow``, ``team`` and ``namespace``) from Prometheus with one instant query
and turns it into a verdict a pipeline acts on. docs/error-budgets.md is the policy it enforces.

The Prometheus HTTP API, as read in prometheus/prometheus ``docs/querying/api.md`` (2026-12-03):
``POST /api/v1/query`` takes ``query`` and ``timeout`` form-encoded; the answer is
``{"status": "success"|"error", "data": {"resultType": "vector", "result": [{"metric": {...},
"value": [<unix time>, "<sample as a string>"]}]}, "errorType", "error"}``; errors come as 400,
422 or 503 with that JSON, other non-2xx codes from whatever sits in front of Prometheus. Sample
values are strings so that ``NaN`` and ``+Inf`` survive JSON.

A gate that cannot read must not pass: an unreachable server, an error answer, an answer of
another shape and no series at all for a named agent or flow all exit 3. ``--allow-missing``
waives only the last one (a new agent's first rollout, before its rules have recorded
anything), and only while the metric has series for something else, so a wrong URL or a
Prometheus without the SLO rules never passes.
"""

from __future__ import annotations

import json
import math
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Optional

import typer
from rich.markup import escape

from .. import names
from .console import EXIT_FAILED, EXIT_OK, console, errors, fail, warn

URL_ENV = "MAAS_PROMETHEUS_URL"
TOKEN_ENV = "MAAS_PROMETHEUS_TOKEN"
METRIC = names.SLO_BUDGET_REMAINING
AGENT, FLOW, TEAM = "agent", names.FLOW_LABEL, "team"
# The answer cannot be trusted: the same number as console.EXIT_PROGRAM, "the command could not
# do its work", which a pipeline tells apart from 1 (a real freeze).
EXIT_UNKNOWN = 3
CHANGES = ("feature", "fix")
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 120.0
# Names go into PromQL string literals: no quote, backslash or space can reach the query.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MAX_ANSWER_BYTES = 16 * 1024 * 1024
DOCS = "docs/error-budgets.md"


class Unreadable(Exception):
    """The budgets cannot be read, or what was read cannot be trusted (exit 3)."""


@dataclass(frozen=True)
class Budget:
    """One recorded series: an SLO of an agent or a flow and the share of its budget left."""

    kind: str  # "agent" or "flow"
    name: str
    slo: str
    team: str
    namespace: str
    remaining: float

    @property
    def verdict(self) -> str:
        """``spent`` at 0 or below (-Inf too); ``no-traffic`` for NaN: the rule ran, but no
        event happened in the window (0 / 0), so nothing was spent; ``ok`` otherwise."""
        if math.isnan(self.remaining):
            return "no-traffic"
        return "spent" if self.remaining <= 0 else "ok"

    @property
    def where(self) -> str:
        return f"{self.kind} {self.name}"

    def to_dict(self) -> dict[str, Any]:
        finite = math.isfinite(self.remaining)
        return {"kind": self.kind, "name": self.name, "slo": self.slo, "team": self.team, "namespace": self.namespace,
                "remaining": round(self.remaining, 6) if finite else None, "verdict": self.verdict}


@dataclass
class Reading:
    """What the gate read and decided."""

    prometheus: str
    change: str
    budgets: list[Budget] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) with no series
    error: Optional[str] = None

    @property
    def spent(self) -> list[Budget]:
        return [b for b in self.budgets if b.verdict == "spent"]

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "unknown"
        if self.spent:
            return "fix-passes" if self.change == "fix" else "freeze"
        return "pass"

    @property
    def exit_code(self) -> int:
        return {"unknown": EXIT_UNKNOWN, "freeze": EXIT_FAILED}.get(self.verdict, EXIT_OK)

    def to_json(self) -> str:
        document = {
            "metric": METRIC, "prometheus": self.prometheus, "change": self.change, "verdict": self.verdict,
            "exit_code": self.exit_code, "budgets": [b.to_dict() for b in self.budgets],
            "missing": [{"kind": kind, "name": name} for kind, name in self.missing], "error": self.error,
        }
        return json.dumps(document, indent=2) + "\n"


def error_budget(
    prometheus: Optional[str] = typer.Option(
        None, "--prometheus", metavar="URL", help=f"Prometheus base URL (default: ${URL_ENV}), e.g. http://prometheus:9090."),
    agents: Optional[list[str]] = typer.Option(None, "--agent", metavar="NAME", help="An agent whose budgets to check (repeatable)."),
    flows: Optional[list[str]] = typer.Option(None, "--flow", metavar="NAME", help="A flow whose budgets to check (repeatable)."),
    team: Optional[str] = typer.Option(
        None, "--team", metavar="NAME", help="Only this team's SLOs; alone, every SLO of the team."),
    change: Optional[str] = typer.Option(
        None, "--change", metavar="KIND",
        help="What the change is: feature (the default; a spent budget freezes it) or fix (passes)."),
    fix: bool = typer.Option(False, "--fix", help="Same as --change fix."),
    allow_missing: bool = typer.Option(
        False, "--allow-missing",
        help="Pass a named agent or flow that has no budget series yet (a first rollout), with a warning."),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT, "--timeout", help=f"Seconds to wait for Prometheus (one attempt, at most {MAX_TIMEOUT:g})."),
    as_json: bool = typer.Option(False, "--json", help=f"Print the reading as JSON (schema: {DOCS})."),
) -> None:
    """Gate a rollout on error budgets: freeze features while an SLO's budget is spent.

    Reads slo:period_error_budget_remaining:ratio (the share of each SLO's budget left over
    its window) with one instant query and prints, per SLO of the selected agents and flows,
    the share left and a verdict. A budget at 0 or below is spent: a feature change is frozen
    (exit 1); a change marked as a fix (--change fix) passes with a warning. The bearer token
    in $MAAS_PROMETHEUS_TOKEN is sent when set and never printed. Amazon Managed Prometheus
    (SigV4) is not supported yet.

    Exit codes:

    \b
    0  every budget has some left, or the change is a fix
    1  a budget is spent: freeze feature rollouts
    2  usage: bad option, no Prometheus URL
    3  cannot tell: Prometheus unreachable, an error answer,
       or no series for a named agent or flow (see --allow-missing)
    """
    if change is not None and change not in CHANGES:
        raise fail(f"--change: {change!r} is not one of {', '.join(CHANGES)}")
    if fix and change == "feature":
        raise fail("--fix and --change feature: choose one")
    change = "fix" if fix else change or "feature"
    if not (1 <= timeout <= MAX_TIMEOUT):
        raise fail(f"--timeout: {timeout:g} is not between 1 and {MAX_TIMEOUT:g} seconds")
    for option, values in (("--agent", agents or []), ("--flow", flows or []), ("--team", [team] if team else [])):
        for value in values:
            if not NAME.fullmatch(value):
                raise fail(f"{option}: {value!r} is not an agent, flow or team name (letters, digits, '-', '_', '.')")
    url = prometheus if prometheus is not None else os.environ.get(URL_ENV, "")
    base = _base_url(url)
    token = os.environ.get(TOKEN_ENV, "").strip() or None

    reading = Reading(prometheus=_shown(base), change=change)
    try:
        read_budgets(reading, base, agents or [], flows or [], team, token, timeout, allow_missing)
    except Unreadable as error:
        reading.error = _masked(str(error), token)
    if as_json:
        console.out(reading.to_json(), end="", highlight=False)
    elif reading.error is None:
        print_reading(reading, team)
    _say_verdict(reading, allow_missing)
    raise typer.Exit(reading.exit_code)


def _base_url(url: str) -> str:
    """``url`` without a trailing slash, or exit 2 naming the fix."""
    if not url:
        raise fail(f"no Prometheus: pass --prometheus URL or set {URL_ENV}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(f"--prometheus: {_shown(url)!r} is not an http(s) URL; give the base URL, e.g. http://prometheus:9090")
    if parts.username is not None or parts.password is not None:
        raise fail(f"--prometheus: {_shown(url)!r} carries credentials, which are not sent; "
                   f"put a bearer token in {TOKEN_ENV} instead")
    if parts.query or parts.fragment:
        raise fail(f"--prometheus: {_shown(url)!r} has a query or fragment; give the base URL, e.g. http://prometheus:9090")
    return url.rstrip("/")


def _shown(url: str) -> str:
    """``url`` fit to print: a password in it is replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[-1]}"))


def _masked(text: str, token: Optional[str]) -> str:
    """``text`` with the token replaced, should an answer quote it (a token too short to be
    one is left, rather than masking every letter it shares with the text)."""
    return text.replace(token, "***") if token and len(token) >= 8 else text


def selector(agents: list[str], flows: list[str], team: Optional[str]) -> str:
    """The PromQL of the reading: one exact selector per named agent and flow joined by ``or``
    (no regular expression to escape), the team as a further matcher; every SLO with neither."""
    extra = f',{TEAM}="{team}"' if team else ""
    parts = [f'{METRIC}{{{AGENT}="{a}"{extra}}}' for a in agents] + [f'{METRIC}{{{FLOW}="{f}"{extra}}}' for f in flows]
    if not parts:
        parts = [f'{METRIC}{{{TEAM}="{team}"}}' if team else METRIC]
    return " or ".join(parts)


def read_budgets(reading: Reading, base: str, agents: list[str], flows: list[str], team: Optional[str],
                 token: Optional[str], timeout: float, allow_missing: bool) -> None:
    """Fill ``reading`` from Prometheus, or raise :class:`Unreadable`."""
    for sample in query(base, selector(agents, flows, team), token, timeout):
        labels = sample["metric"]
        kind = AGENT if labels.get(AGENT) else FLOW if labels.get(FLOW) else ""
        if not kind or not labels.get("slo"):
            raise Unreadable(f"a {METRIC} series without slo and agent or flow labels: {labels}; "
                             "the SLO rules are not the platform's")
        reading.budgets.append(Budget(kind, labels[kind], labels["slo"], labels.get(TEAM, ""),
                                      labels.get("namespace", ""), sample["value"]))
    reading.budgets.sort(key=lambda b: (b.kind, b.name, b.slo, b.namespace))
    seen = {(b.kind, b.name) for b in reading.budgets}
    reading.missing = [(AGENT, a) for a in dict.fromkeys(agents) if (AGENT, a) not in seen]
    reading.missing += [(FLOW, f) for f in dict.fromkeys(flows) if (FLOW, f) not in seen]
    named = bool(agents or flows)
    if not reading.budgets and not named:
        within = f" for team {team}" if team else ""
        raise Unreadable(f"no {METRIC} series{within} at {reading.prometheus}: are the SLO rules loaded there?")
    if reading.missing:
        listed = ", ".join(f"{kind} {name}" for kind, name in reading.missing)
        within = f" in team {team}" if team else ""
        if not allow_missing:
            raise Unreadable(f"no {METRIC} series for {listed}{within} at {reading.prometheus}: check the names, "
                             "or pass --allow-missing for a first rollout")
        if not query(base, f"count({METRIC})", token, timeout):
            raise Unreadable(f"no {METRIC} series at all at {reading.prometheus} (a wrong URL, or the SLO rules "
                             "are not loaded); --allow-missing does not waive that")


def query(base: str, promql: str, token: Optional[str], timeout: float) -> list[dict[str, Any]]:
    """The samples of one instant query: ``[{"metric": {...}, "value": float}]``. One attempt,
    bounded by ``timeout`` on the client and, as the ``timeout`` parameter, on the server.

    A redirect is an answer, not followed: following it would send the bearer token to wherever
    it points and turn the POST into a GET. (urllib is imported here: ``maas --help`` stays fast.)
    """
    import socket
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    body = urllib.parse.urlencode({"query": promql, "timeout": f"{timeout:g}s"}).encode()
    request = urllib.request.Request(f"{base}/api/v1/query", data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    shown = _shown(base)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise Unreadable(_http_error(shown, error)) from None
    except (socket.timeout, TimeoutError):
        raise Unreadable(f"Prometheus at {shown} did not answer within {timeout:g}s") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise Unreadable(f"Prometheus at {shown} did not answer within {timeout:g}s") from None
        raise Unreadable(f"Prometheus at {shown} is unreachable: {getattr(reason, 'strerror', None) or reason}") from None
    except (OSError, ValueError) as error:
        raise Unreadable(f"Prometheus at {shown} is unreachable: {error}") from None
    if len(raw) > MAX_ANSWER_BYTES:
        raise Unreadable(f"Prometheus at {shown} answered more than {MAX_ANSWER_BYTES // 2**20} MiB")
    return parse_answer(raw, shown)


def _http_error(shown: str, error: Any) -> str:
    """The one line for an HTTP error answer (``urllib.error.HTTPError``)."""
    if 300 <= error.code < 400:
        return (f"Prometheus at {shown} answered HTTP {error.code} (a redirect to "
                f"{error.headers.get('Location', '?')}); give the URL it redirects to")
    try:
        document = json.loads(error.read(64 * 1024) or b"{}")
    except (ValueError, OSError):
        document = {}
    if isinstance(document, dict) and document.get("status") == "error":
        return f"Prometheus at {shown} answered HTTP {error.code}, {document.get('errorType')}: {document.get('error')}"
    hint = "; check $" + TOKEN_ENV if error.code in (401, 403) else ""
    return f"Prometheus at {shown} answered HTTP {error.code} {error.reason}{hint}"


def parse_answer(raw: bytes, shown: str) -> list[dict[str, Any]]:
    """The samples of an instant-query answer, or :class:`Unreadable` for anything else."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise Unreadable(f"Prometheus at {shown} answered something other than JSON") from None
    if not isinstance(document, dict) or document.get("status") != "success":
        detail = f"{document.get('errorType')}: {document.get('error')}" if isinstance(document, dict) else "?"
        raise Unreadable(f"Prometheus at {shown} answered status error, {detail}")
    data = document.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise Unreadable(f"Prometheus at {shown} answered no instant vector; is it a Prometheus HTTP API?")
    samples = []
    for item in data["result"]:
        try:
            samples.append({"metric": dict(item["metric"]), "value": float(item["value"][1])})
        except (KeyError, IndexError, TypeError, ValueError):
            raise Unreadable(f"Prometheus at {shown} answered a sample that cannot be read: {item!r}") from None
    return samples


def _percent(value: float) -> str:
    if math.isnan(value):
        return "no traffic"
    if math.isinf(value):
        return "-inf" if value < 0 else "+inf"
    return f"{value * 100:.1f}%"


_STYLE = {"ok": "green", "spent": "bold red", "no-traffic": "yellow", "no series": "yellow"}


def print_reading(reading: Reading, team: Optional[str]) -> None:
    """One line per SLO: kind and name, SLO, team, share left, verdict."""
    within = f", team {team}" if team else ""
    console.print(f"error budgets at {escape(reading.prometheus)}{escape(within)} ({METRIC})", highlight=False)
    rows = [(b.where, b.slo, b.team or "-", _percent(b.remaining), b.verdict) for b in reading.budgets]
    rows += [(f"{kind} {name}", "-", "-", "-", "no series") for kind, name in reading.missing]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    for row in rows:
        cells = "  ".join(escape(cell.ljust(widths[i])) if i < 3 else escape(cell.rjust(widths[i]))
                          for i, cell in enumerate(row[:4]))
        console.print(f"  {cells}  [{_STYLE[row[4]]}]{row[4]}[/]", highlight=False)


def _say_verdict(reading: Reading, allow_missing: bool) -> None:
    """The verdict on stderr, where a pipeline log shows it whatever the output form."""
    if reading.error is not None:
        errors.print(f"[bold red]error:[/] {escape(reading.error)}", highlight=False, soft_wrap=True)
        return
    if reading.missing and allow_missing:
        listed = ", ".join(f"{kind} {name}" for kind, name in reading.missing)
        warn(escape(f"no budget series for {listed}: passed by --allow-missing (a first rollout)"))
    spent = "; ".join(f"{b.where}: the {b.slo} error budget is spent ({_percent(b.remaining)} left)"
                      for b in reading.spent)
    if reading.verdict == "freeze":
        errors.print(f"[bold red]freeze:[/] {escape(spent)}. Feature rollouts wait until every spent budget is back above 0; "
                     f"a fix passes with --change fix ({DOCS}).", highlight=False, soft_wrap=True)
    elif reading.verdict == "fix-passes":
        warn(f"{escape(spent)}. THIS CHANGE PASSES ONLY BECAUSE IT IS MARKED AS A FIX (--change fix); "
             f"features stay frozen ({DOCS}).", label="FIX PASSES A SPENT BUDGET")
    quiet = [b for b in reading.budgets if b.verdict == "no-traffic"]
    if quiet:
        listed = ", ".join(f"{b.where} {b.slo}" for b in quiet)
        warn(escape(f"no traffic in the window, nothing spent: {listed}"), label="note")
