"""SLOs of one agent and the PromQL of their SLIs.

An agent's ``slos`` section becomes up to four SLOs, each an *error ratio* over a window:

* ``availability`` — share of HTTP responses that are 5xx (``http_requests_total{code}``);
* ``latency`` — share of HTTP requests slower than ``threshold_ms``, read from the request
  duration histogram (``http_request_duration_seconds_bucket{le}``);
* ``accuracy`` — share of tasks the agent reports failed (``agent_tasks_total{outcome}``);
* ``probe`` — share of synthetic health probes that failed (``probe_success{job="<agent>-health"}``),
  held to the availability objective;
* ``golden`` — share of the agent's answers to its golden set that the platform's probe judged
  wrong (``maas_probe_cases{outcome}``, pushed by ``maas-probe``), for agents with ``golden``.

``accuracy`` is what the agent reports about itself; ``golden`` is what the platform measures.

The metric contract behind these names is ``docs/metric-contract.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .. import names
from ..config.agents import AgentSpec

# The burn-rate policy of the Google SRE workbook (multi-window, multi-burn-rate), as data:
# (alert, severity, burn factor, long window, short window). The alert fires when the error
# ratio exceeds factor x error budget over *both* windows; the short window makes it reset
# quickly once the errors stop.
@dataclass(frozen=True)
class BurnCondition:
    alert: str
    severity: str
    factor: float
    long_window: str
    short_window: str

    def budget_share(self, window_days: int) -> float:
        """Share of the whole window's error budget this condition burns during its long window."""
        return self.factor * _seconds(self.long_window) / (window_days * 86400)


BURN_CONDITIONS: tuple[BurnCondition, ...] = (
    BurnCondition("SLOErrorBudgetBurn1h", "page", 14.4, "1h", "5m"),
    BurnCondition("SLOErrorBudgetBurn6h", "page", 6.0, "6h", "30m"),
    BurnCondition("SLOErrorBudgetBurn1d", "ticket", 3.0, "1d", "2h"),
    BurnCondition("SLOErrorBudgetBurn3d", "ticket", 1.0, "3d", "6h"),
)

# Windows recorded for every SLO (Sloth's set); the SLO window itself is recorded apart.
RATE_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

SLO_KINDS: tuple[str, ...] = ("availability", "latency", "accuracy", "probe", "golden")

PROBE_JOB_SUFFIX = "-health"

# What each SLO's error ratio counts (alert texts).
WHAT: dict[str, str] = {
    "availability": "responses that are 5xx",
    "latency": "requests slower than the threshold",
    "accuracy": "tasks that fail",
    "probe": "health probes that fail",
    "golden": "golden-set answers judged wrong",
}

# The golden probe's results while they are fresh, per outcome: the golden SLI sums this recorded
# series over its windows (see ``SLO.golden_fresh_expr``).
GOLDEN_FRESH = "slo:golden_probe_cases:fresh"
# A probe result counts while its run is at most this many schedule periods old.
GOLDEN_STALE_PERIODS = 3
# Period assumed for a schedule whose gaps ``schedule_period_seconds`` cannot compute.
DEFAULT_PERIOD_SECONDS = 86400


def _seconds(window: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return int(window[:-1]) * units[window[-1]]


def _cron_field(field: str, low: int, high: int) -> Optional[set[int]]:
    """The values a numeric cron field selects (``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``, lists), or None."""
    values: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, _, step_text = part.partition("/")
            if not step_text.isdigit() or int(step_text) == 0:
                return None
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif re.fullmatch(r"\d+-\d+", part):
            start, end = (int(v) for v in part.split("-"))
        elif part.isdigit():
            start = int(part)
            end = high if step > 1 else start
        else:
            return None
        if not low <= start <= end <= high:
            return None
        values.update(range(start, end + 1, step))
    return values


def schedule_period_seconds(schedule: str) -> int:
    """The longest gap between two runs of a five-field cron schedule, in seconds.

    Minute and hour fields are read exactly (``*/5 * * * *`` -> 300, ``0 * * * *`` -> 3600,
    ``15 */6 * * *`` -> 21600), a numeric day-of-week field over the week; a schedule restricted
    by day of month or month gets 31 days, anything else (names such as ``MON``) one day: a
    period too long only delays noticing a stopped probe, one too short would raise it falsely.
    """
    fields = schedule.split()
    if len(fields) != 5:
        return DEFAULT_PERIOD_SECONDS
    minute, hour, dom, month, dow = fields
    minutes, hours = _cron_field(minute, 0, 59), _cron_field(hour, 0, 23)
    if minutes is None or hours is None:
        return DEFAULT_PERIOD_SECONDS
    if dom != "*" or month != "*":
        return 31 * 86400
    days = _cron_field(dow, 0, 7) if dow != "*" else set(range(7))
    if days is None:
        return DEFAULT_PERIOD_SECONDS
    days = {d % 7 for d in days}
    times = sorted(d * 86400 + h * 3600 + m * 60 for d in days for h in hours for m in minutes)
    cycle = 7 * 86400
    return max(b - a for a, b in zip(times, times[1:] + [times[0] + cycle]))


def budget(objective: float) -> float:
    """``1 - objective`` without the float noise (1 - 0.999 = 0.0010000000000000009)."""
    return round(1.0 - objective, 12)


def number(value: float) -> str:
    """A float as PromQL and YAML readers expect it: ``0.001``, ``14.4``, ``6``."""
    text = repr(round(float(value), 12))
    return text[:-2] if text.endswith(".0") else text


def le_values(seconds: float) -> tuple[str, ...]:
    """The ways a histogram bucket boundary reaches Prometheus as the ``le`` label string.

    The Go client writes ``strconv.FormatFloat(v, 'g', -1, 64)`` (``2``), the Python client
    ``repr`` (``2.0``); protobuf scrapes and every Prometheus 3 ingestion normalise to the float
    form (``2.0``). PromQL matches label *strings*, so the SLI selects both.
    """
    py = repr(float(seconds))
    if "e" in py:  # outside 1e-4..1e16: not a threshold this platform accepts (10 ms..600 s)
        raise ValueError(f"{seconds!r} s is outside the latency thresholds the SLO supports")
    go = py[:-2] if py.endswith(".0") else py
    return (go,) if go == py else (go, py)


def le_matcher(seconds: float) -> str:
    """The PromQL matcher selecting the bucket ``le=seconds`` however the client formatted it."""
    values = le_values(seconds)
    if len(values) == 1:
        return f'le="{values[0]}"'
    return 'le=~"' + "|".join(v.replace(".", "\\\\.") for v in values) + '"'


# Bucket boundaries (seconds) every agent should expose: the client libraries' defaults plus
# the steps an LLM call needs. The agent's own SLO threshold is added by ``latency_buckets``.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)


def latency_buckets(spec: AgentSpec) -> list[float]:
    """Histogram buckets (seconds, ascending, ``+Inf`` implied) the agent must expose.

    They always contain ``slos.latency.threshold_ms / 1000``: the latency SLI reads that
    bucket, and without it the SLO has no data (``SLOLatencyBucketMissing`` says so).
    """
    return sorted(set(DEFAULT_BUCKETS) | {spec.slos.latency.threshold_ms / 1000})


@dataclass(frozen=True)
class SLO:
    """One service level objective of one agent, with the PromQL of its SLI."""

    agent: str
    team: str
    name: str  # "availability" | "latency" | "accuracy" | "probe" | "golden"
    objective: float
    window_days: int
    description: str
    namespace: str = ""  # the agent's namespace; defaults to the agent name
    threshold_ms: Optional[int] = None  # latency only
    period_seconds: Optional[int] = None  # golden only: the probe schedule's longest gap

    def __post_init__(self) -> None:
        if self.name not in SLO_KINDS:
            raise ValueError(f"name: '{self.name}' is not one of {', '.join(SLO_KINDS)}")
        if not 0 < self.objective < 1:
            raise ValueError(f"objective: {self.objective} must lie between 0 and 1")
        if self.window_days not in (28, 30):
            raise ValueError(f"window_days: {self.window_days} must be 28 or 30")
        if self.name == "latency" and self.threshold_ms is None:
            raise ValueError("threshold_ms: a latency SLO needs its threshold")
        if self.name == "golden" and not self.period_seconds:
            raise ValueError("period_seconds: a golden SLO needs its probe's schedule period")
        if not self.namespace:
            object.__setattr__(self, "namespace", self.agent)

    # --- derived --------------------------------------------------------------------------
    @property
    def error_budget(self) -> float:
        return budget(self.objective)

    @property
    def window(self) -> str:
        return f"{self.window_days}d"

    @property
    def labels(self) -> dict[str, str]:
        """Labels every recorded series and alert of this SLO carries."""
        return {"slo": self.name, "agent": self.agent, "team": self.team, "namespace": self.namespace}

    @property
    def selector(self) -> str:
        """Selects this SLO's recorded series."""
        return f'{{slo="{self.name}",agent="{self.agent}"}}'

    @property
    def runbook(self) -> str:
        """File name of the runbook under ``docs/runbooks``."""
        return "probe-failing.md" if self.name == "probe" else f"slo-{self.name}.md"

    @property
    def subject(self) -> str:
        """Who the SLO is about, as alert texts name it: the agent."""
        return self.agent

    @property
    def kind(self) -> str:
        """The SLO's name as alert texts say it."""
        return self.name

    @property
    def title(self) -> str:
        """The SLO as dashboards title it: ``accuracy`` says whose word it is."""
        return "accuracy, agent-reported" if self.name == "accuracy" else self.name

    @property
    def what(self) -> str:
        """What the error ratio counts, e.g. ``responses that are 5xx``."""
        return WHAT[self.name]

    @property
    def group_name(self) -> str:
        """Name of the SLO's rule group (``-period`` is appended for the window's group)."""
        return f"maas-slo-{self.agent}-{self.name}"

    @property
    def frozen(self) -> str:
        """Whose feature rollouts an exhausted budget freezes."""
        return f"{self.agent}'s"

    @property
    def stale_seconds(self) -> Optional[int]:
        """Golden only: how old a probe result may be and still count."""
        return None if self.period_seconds is None else GOLDEN_STALE_PERIODS * self.period_seconds

    @property
    def probe_job(self) -> str:
        return f"{self.agent}{PROBE_JOB_SUFFIX}"

    @property
    def threshold_seconds(self) -> Optional[float]:
        return None if self.threshold_ms is None else self.threshold_ms / 1000

    # --- PromQL ---------------------------------------------------------------------------
    def _ns(self, extra: str = "") -> str:
        return f'{{namespace="{self.namespace}"{"," + extra if extra else ""}}}'

    def probe_selector(self, extra: str = "") -> str:
        """Matchers of the golden probe's series of this agent on the Pushgateway.

        The Pushgateway is scraped with honorLabels, so ``job`` and ``agent`` are the pushed
        grouping key (job ``maas-probe``, agent=<name>). Another agent cannot push under them:
        the Pushgateway's NetworkPolicy admits only pods labelled
        ``app.kubernetes.io/name: maas-probe``, which only the platform's probe CronJobs run.
        An agent's own scraped series with these names get its own ``job`` (honor_labels false
        renames theirs to ``exported_job``), so they never match ``job="maas-probe"``. The
        OpenTelemetry collector's exporter is scraped with honorLabels too and turns an OTLP
        sender's ``service.name`` into ``job``; that scrape drops every series named
        ``maas_probe_*`` or with ``job="maas-probe"`` (components/observability/values.py,
        otel_exporter_metric_relabelings; tests/test_otel_labels.py), so that path is closed.
        """
        tail = f",{extra}" if extra else ""
        return f'{{job="{names.PROBE_JOB}",{names.PROBE_AGENT_LABEL}="{self.agent}"{tail}}}'

    def golden_fresh_expr(self) -> str:
        """Recorded as ``GOLDEN_FRESH`` (by outcome): the last run's case counts while that run is
        at most ``GOLDEN_STALE_PERIODS`` schedule periods old.

        The Pushgateway keeps a group's last push for ever: a probe that stopped would otherwise
        keep its last result standing, the SLI looking fine (or burning) for as long. Past the
        bound its samples stop counting, the windows empty out and the burn alerts go quiet;
        ``GoldenProbeNotRunning`` says why.
        """
        last = f"{names.PROBE_LAST_RUN_METRIC}{self.probe_selector()}"
        return (
            f"sum by ({names.PROBE_OUTCOME_LABEL}) (\n  {names.PROBE_CASES_METRIC}{self.probe_selector()}\n"
            f"  and on ({names.PROBE_AGENT_LABEL})\n  (time() - {last} <= {self.stale_seconds})\n)"
        )

    def _fresh(self, outcomes: str) -> str:
        return f'{GOLDEN_FRESH}{{{names.PROBE_AGENT_LABEL}="{self.agent}",{names.PROBE_OUTCOME_LABEL}=~"{outcomes}"}}'

    def error_ratio(self, window: str) -> str:
        """PromQL of the SLI error ratio over ``window`` (e.g. ``"5m"``), between 0 and 1.

        Request-weighted over the raw counters. A missing error series counts as no errors
        (``or vector(0)``); no traffic at all gives no value, so no alert fires on silence.
        """
        ns = self.namespace
        if self.name == "availability":
            return (
                f'(sum(rate(http_requests_total{{namespace="{ns}",code=~"5.."}}[{window}])) or vector(0))\n'
                f'/\nsum(rate(http_requests_total{{namespace="{ns}"}}[{window}]))'
            )
        if self.name == "latency":
            le = le_matcher(self.threshold_seconds)  # type: ignore[arg-type]
            return (
                f'1 - (\n  sum(rate(http_request_duration_seconds_bucket{{namespace="{ns}",{le}}}[{window}]))\n'
                f'  /\n  sum(rate(http_request_duration_seconds_count{{namespace="{ns}"}}[{window}]))\n)'
            )
        if self.name == "accuracy":
            return (
                f'(sum(rate(agent_tasks_total{{namespace="{ns}",outcome="failure"}}[{window}])) or vector(0))\n'
                f'/\nsum(rate(agent_tasks_total{{namespace="{ns}"}}[{window}]))'
            )
        if self.name == "golden":
            # Each scrape of a run's result counts in numerator and denominator alike, so runs
            # weigh by how long their result stood: alike for a periodic schedule. ``error``
            # cases (no answer) are left out; a window without a judged answer has no value.
            return (
                f'(sum(sum_over_time({self._fresh("fail")}[{window}])) or vector(0))\n'
                f'/\n(sum(sum_over_time({self._fresh("pass|fail")}[{window}])) > 0)'
            )
        return f'1 - avg(avg_over_time(probe_success{{job="{self.probe_job}"}}[{window}]))'

    def good_total_queries(self) -> dict[str, str]:
        """The SLI as counter queries (OpenSLO ratioMetric): ``good`` or ``bad``, and ``total``."""
        ns = self.namespace
        if self.name == "availability":
            return {
                "bad": f'sum(http_requests_total{{namespace="{ns}",code=~"5.."}})',
                "total": f'sum(http_requests_total{{namespace="{ns}"}})',
            }
        if self.name == "latency":
            le = le_matcher(self.threshold_seconds)  # type: ignore[arg-type]
            return {
                "good": f'sum(http_request_duration_seconds_bucket{{namespace="{ns}",{le}}})',
                "total": f'sum(http_request_duration_seconds_count{{namespace="{ns}"}})',
            }
        if self.name == "accuracy":
            return {
                "bad": f'sum(agent_tasks_total{{namespace="{ns}",outcome="failure"}})',
                "total": f'sum(agent_tasks_total{{namespace="{ns}"}})',
            }
        if self.name == "golden":  # gauges of the last run, not counters
            outcome = names.PROBE_OUTCOME_LABEL
            bad, total = self.probe_selector(f'{outcome}="fail"'), self.probe_selector(f'{outcome}=~"pass|fail"')
            return {
                "bad": f"sum({names.PROBE_CASES_METRIC}{bad})",
                "total": f"sum({names.PROBE_CASES_METRIC}{total})",
            }
        return {
            "good": f'sum(probe_success{{job="{self.probe_job}"}})',
            "total": f'count(probe_success{{job="{self.probe_job}"}})',
        }


def agent_slos(spec: AgentSpec, namespace: str, *, include_probe: Optional[bool] = None) -> list[SLO]:
    """The agent's SLOs: availability, latency, accuracy (unless turned off), probe, and golden
    when the agent has a golden set.

    The probe SLO holds the synthetic health probe to the availability objective. It is left
    out for agents that scale to zero (``messaging.scale_to_zero``): their REST entry is
    unserved while idle, so the probe would fail by design. ``include_probe`` overrides that.
    """
    slos = spec.slos
    common = {"agent": spec.name, "team": spec.team, "window_days": slos.window_days, "namespace": namespace}
    pct = lambda v: f"{v * 100:g}%"  # noqa: E731
    out = [
        SLO(
            name="availability",
            objective=slos.availability,
            description=f"{pct(slos.availability)} of {spec.name}'s HTTP responses are not 5xx "
            f"over {slos.window_days} days.",
            **common,
        ),
        SLO(
            name="latency",
            objective=slos.latency.objective,
            description=f"{pct(slos.latency.objective)} of {spec.name}'s HTTP requests complete within "
            f"{slos.latency.threshold_ms} ms over {slos.window_days} days.",
            threshold_ms=slos.latency.threshold_ms,
            **common,
        ),
    ]
    if slos.accuracy is not None:
        out.append(
            SLO(
                name="accuracy",
                objective=slos.accuracy,
                description=f"{pct(slos.accuracy)} of the tasks {spec.name} works on succeed, as the agent "
                f"reports them (agent-reported: agent_tasks_total outcome) over {slos.window_days} days.",
                **common,
            )
        )
    if include_probe if include_probe is not None else not spec.messaging.scale_to_zero:
        out.append(
            SLO(
                name="probe",
                objective=slos.availability,
                description=f"{pct(slos.availability)} of the synthetic probes of {spec.name}'s "
                f"{spec.health_path} succeed over {slos.window_days} days.",
                **common,
            )
        )
    if spec.golden is not None:
        golden = spec.golden
        out.append(
            SLO(
                name="golden",
                objective=golden.objective,
                description=f"{pct(golden.objective)} of {spec.name}'s answers to its golden set ({golden.cases}) "
                f"are judged right by the platform's probe (schedule {golden.schedule}) over {slos.window_days} days.",
                period_seconds=schedule_period_seconds(golden.schedule),
                **common,
            )
        )
    return out
