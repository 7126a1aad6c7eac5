"""Canary analysis: the PromQL a new version of an agent is judged by, from the agent's own SLOs.

Argo Rollouts runs these queries against the platform's Prometheus while a canary holds its
steps (components/agent/rollout.py builds the AnalysisTemplates). They read only the series the
agent's recording rules produce (:mod:`.rules`): nothing new is recorded for a rollout.

``burn`` metrics (availability, latency, and golden where the agent has a golden set)
    the SLO's error ratio over a short window divided by its error budget: the burn rate, 1 when
    the errors spend the budget exactly over the SLO window. The version fails above
    ``BURN_THRESHOLD``.
``error-budget`` (the gate, before any traffic moves)
    the least budget left of the agent's SLOs (``names.SLO_BUDGET_REMAINING``) floored at 1 for a
    release marked a fix: a feature does not ship on a spent budget, a fix does
    (docs/error-budgets.md, the same rule as ``maas error-budget``).

The recorded series are the agent's, not the canary's: every pod of the namespace counts, the
new version in proportion to its share of the traffic (ALB weight) or of the replicas. A canary
with error ratio ``e`` at weight ``w`` beside a healthy stable moves the measured ratio by about
``w * e``; the steps' rising weights are what lets the analysis see it (docs/delivery.md).

What a query returns when there is nothing to measure is decided here, not left to chance:

* the agent's rules are not evaluated at all (no ``slo:objective:ratio`` of the agent: a wrong
  Prometheus, rules not loaded): no sample, the measurement errors, and Argo aborts the rollout
  after ``consecutiveErrorLimit`` errors. A gate that cannot read does not pass.
* the rules run but saw no request in the window (no series, or 0/0): ``NaN`` for a burn
  metric. Outside prod that passes (nothing was served badly); in prod it is inconclusive and the
  rollout pauses for a person (see ``nan_passes``).
* no budget series (no event in the whole SLO window: a new agent's first releases) or ``NaN``:
  nothing is spent, the budget is whole (1), as ``maas error-budget --allow-missing`` reads a
  missing series while the metric has series of others.
"""

from __future__ import annotations

from dataclasses import dataclass
from .. import names
from ..config.agents import AgentSpec
from .model import RATE_WINDOWS, SLO, _seconds, agent_slos, number
from .rules import OBJECTIVE, RATIO

# Burn rate above which a new version fails. Twice the budget's sustainable pace: the slowest SLO
# ticket fires at 1x, so a version that doubles the spend is not one to ship. A version with 5 %
# errors crosses it for every objective of 97.5 % and above (0.05 / (1 - 0.975) = 2), one with
# 0.1 % stays under for every objective up to 99.95 % (0.001 / 0.0005 = 2).
BURN_THRESHOLD = 2.0
# The window of the availability and latency ratios: the shortest recorded (RATE_WINDOWS), so a
# measurement sees the last minutes of the canary, not the hour before it.
BURN_WINDOW = "5m"
# The SLOs whose burn judges a canary. Accuracy is agent-reported and the probe SLO measures the
# Service's health endpoint: neither tells a new version from the old one better than these.
BURN_SLOS: tuple[str, ...] = ("availability", "latency", "golden")
# The Argo argument that carries the release's kind (``feature`` or ``fix``) into the gate query.
CHANGE_ARGUMENT = "change"
CHANGE_PLACEHOLDER = "{{args.%s}}" % CHANGE_ARGUMENT
FIX = "fix"


def nan_passes(environment: str) -> bool:
    """Whether a burn measurement without data (``NaN``) passes: everywhere but prod. In prod a
    canary no request reached is not judged good: the run turns inconclusive and the rollout
    pauses until someone promotes or aborts it (``kubectl argo rollouts promote|abort``)."""
    return environment != "prod"


def _selector(slo: SLO) -> str:
    """The SLO's recorded series of this agent in its own namespace (labels of :mod:`.rules`)."""
    return f'{{slo="{slo.name}",agent="{slo.agent}",namespace="{slo.namespace}"}}'


def _agent_selector(spec: AgentSpec, namespace: str) -> str:
    return f'{{agent="{spec.name}",namespace="{namespace}"}}'


def golden_window(slo: SLO) -> str:
    """The ratio window a golden measurement reads: the shortest recorded window that spans the
    probe's schedule period, so it always holds the latest run whole (one run stands as the
    result until the next, ``GOLDEN_STALE_PERIODS`` periods at most)."""
    period = slo.period_seconds or 0
    for window in RATE_WINDOWS:
        if _seconds(window) >= period:
            return window
    return RATE_WINDOWS[-1]


def burn_window(slo: SLO) -> str:
    return golden_window(slo) if slo.name == "golden" else BURN_WINDOW


def burn_query(slo: SLO) -> str:
    """The SLO's burn rate over its analysis window; ``NaN`` when the agent's rules run but saw
    nothing in the window; no sample when its rules are not evaluated (see the module docstring)."""
    selector = _selector(slo)
    ratio = RATIO.format(window=burn_window(slo))
    return (
        f"max({ratio}{selector}) / {number(slo.error_budget)}\n"
        f"or on ()\n"
        f"(max({OBJECTIVE}{selector}) * NaN)"
    )


def budget_gate_query(spec: AgentSpec, namespace: str, change: str = CHANGE_PLACEHOLDER) -> str:
    """The least error budget left of the agent's SLOs, floored at 1 when ``change`` is ``fix``.

    ``change`` is Argo's argument placeholder in the template; tests put ``fix`` or ``feature``.
    ``x == x`` drops ``NaN`` (an SLO without events in its window: nothing spent); an agent whose
    rules run but have recorded no budget yet reads 1; one whose rules are not evaluated reads
    nothing, and the gate errors.
    """
    selector = _agent_selector(spec, namespace)
    remaining = f"{names.SLO_BUDGET_REMAINING}{selector}"
    is_fix = (
        f'(label_replace(vector(1), "{CHANGE_ARGUMENT}", "{change}", "", "")\n'
        f'   and on ({CHANGE_ARGUMENT}) label_replace(vector(1), "{CHANGE_ARGUMENT}", "{FIX}", "", ""))'
    )
    return (
        "clamp_min(\n"
        f"  min({remaining} == {remaining})\n"
        f"  or on () (max({OBJECTIVE}{selector}) * 0 + 1),\n"
        f"  scalar({is_fix}\n   or on () vector(0))\n"
        ")"
    )


@dataclass(frozen=True)
class BurnMetric:
    """One burn metric of the canary analysis: its SLO, query and timing."""

    slo: SLO
    query: str
    window: str
    # Seconds between measurements, and before the first (golden: one probe period, so that a run
    # of the new version has happened).
    interval_seconds: int
    initial_delay_seconds: int

    @property
    def name(self) -> str:
        return f"{self.slo.name}-burn"


# Seconds between measurements of the availability and latency burn.
BURN_INTERVAL_SECONDS = 60


def burn_metrics(spec: AgentSpec, namespace: str) -> list[BurnMetric]:
    """The burn metrics of the agent's canaries, in BURN_SLOS order (golden only with a golden set)."""
    metrics = []
    for slo in agent_slos(spec, namespace):
        if slo.name not in BURN_SLOS:
            continue
        period = slo.period_seconds if slo.name == "golden" else None
        interval = max(BURN_INTERVAL_SECONDS, period or 0)
        metrics.append(BurnMetric(slo=slo, query=burn_query(slo), window=burn_window(slo),
                                  interval_seconds=interval, initial_delay_seconds=period or 0))
    return sorted(metrics, key=lambda m: BURN_SLOS.index(m.slo.name))


def analysis_queries(spec: AgentSpec, namespace: str) -> dict[str, str]:
    """Every query of the agent's analysis by metric name (the gate's with its placeholder)."""
    queries = {m.name: m.query for m in burn_metrics(spec, namespace)}
    queries["error-budget"] = budget_gate_query(spec, namespace)
    return queries


def duration(seconds: int) -> str:
    """Seconds as an Argo duration (``60`` -> ``1m``, ``900`` -> ``15m``, ``90`` -> ``90s``)."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def burn_conditions(environment: str, threshold: float = BURN_THRESHOLD) -> tuple[str, str]:
    """(successCondition, failureCondition) of a burn metric: fails above ``threshold``; ``NaN``
    passes or is inconclusive as :func:`nan_passes` says."""
    limit = number(threshold)
    success = f"isNaN(result[0]) || result[0] <= {limit}" if nan_passes(environment) else f"result[0] <= {limit}"
    return success, f"result[0] > {limit}"


GATE_CONDITIONS: tuple[str, str] = ("result[0] > 0", "result[0] <= 0")


__all__ = [
    "BURN_INTERVAL_SECONDS", "BURN_SLOS", "BURN_THRESHOLD", "BURN_WINDOW", "CHANGE_ARGUMENT", "CHANGE_PLACEHOLDER",
    "FIX", "GATE_CONDITIONS", "BurnMetric", "analysis_queries", "budget_gate_query", "burn_conditions",
    "burn_metrics", "burn_query", "burn_window", "duration", "golden_window", "nan_passes",
]
