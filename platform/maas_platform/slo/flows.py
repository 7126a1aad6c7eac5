"""SLOs of flows: requests that cross agents (``maas:flows``), held to end-to-end objectives.

A flow's two SLOs are error ratios over a window, measured from the message envelope (not from
span metrics): the entry agent stamps ``flow`` and ``flow_started`` and counts
``maas_flow_started_total{flow}``; the flow's last agent counts
``maas_flow_completed_total{flow,outcome}`` and observes ``maas_flow_duration_seconds{flow}``
(seconds since ``flow_started``). ``docs/metric-contract.md`` is the contract.

* ``flow-availability`` — 1 - successful completions over the window / starts over the same
  window shifted back by the latency threshold (``offset``: a flow completes up to that long
  after it started), clamped to [0, 1]. A flow lost on the way never completes: it counts as
  failed, as does one completed with ``outcome="failure"``.
* ``flow-latency`` — share of completions slower than the threshold (histogram bucket).

Started is selected in the entry agent's namespace, completed and duration in the last agent's:
the ``namespace`` label is the scrape target's (honor_labels false), so no other agent's series
can speak for the flow, whatever ``flow`` label it sets.

Where the rules live: the Prometheus of ``components/observability`` selects PrometheusRules of
every namespace (``ruleSelector`` and ``ruleNamespaceSelector`` empty) and sets no
``enforcedNamespaceLabel``, so a rule reads series of any namespace. The flow's rules are made to
live in the entry agent's namespace, which is also their ``namespace`` label: the flow starts
and is owned there (its team defaults to the entry agent's). Were ``enforcedNamespaceLabel`` ever
set, the operator would add the rule's own namespace to every selector (prometheus-operator
``pkg/namespace-labeler``: "adds namespace label to all the metrics used in promRule", pkg.go.dev,
checked 2026-12-03), hiding the last agent's series: the flows' PrometheusRules would then have
to be listed in ``excludedFromEnforcement``.

The same rule maths as the agents' SLOs (``rules.slo_rule_groups``): Sloth-named series, the four
burn-rate alerts, the window's budget and ``SLOErrorBudgetExhausted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import names
from ..config.flows import FlowSpec
from .model import budget, le_matcher
from .openslo import slo_document
from .rules import RUNBOOK_BASE, slo_rule_groups

FLOW_KINDS: tuple[str, ...] = ("availability", "latency")

SUCCESS = f'outcome="{names.FLOW_OUTCOMES[0]}"'

_WHAT = {
    "availability": "started flows that did not complete successfully",
    "latency": "completed flows slower than the threshold",
}


def _offset(threshold_ms: int) -> str:
    """The latency threshold as a PromQL duration: ``2s``, ``1500ms``."""
    return f"{threshold_ms // 1000}s" if threshold_ms % 1000 == 0 else f"{threshold_ms}ms"


@dataclass(frozen=True)
class FlowSLO:
    """One service level objective of one flow, with the PromQL of its SLI."""

    flow: str
    team: str
    kind: str  # "availability" | "latency"
    objective: float
    window_days: int
    threshold_ms: int  # the flow's latency threshold; availability shifts its starts by it
    entry_namespace: str
    last_namespace: str
    agents: tuple[str, ...]  # the path, entry first
    description: str

    def __post_init__(self) -> None:
        if self.kind not in FLOW_KINDS:
            raise ValueError(f"kind: '{self.kind}' is not one of {', '.join(FLOW_KINDS)}")
        if not 0 < self.objective < 1:
            raise ValueError(f"objective: {self.objective} must lie between 0 and 1")
        if self.window_days not in (28, 30):
            raise ValueError(f"window_days: {self.window_days} must be 28 or 30")

    # --- what rules.py reads of any SLO ---------------------------------------------------------
    @property
    def name(self) -> str:
        """The ``slo`` label: ``flow-availability`` or ``flow-latency``."""
        return f"flow-{self.kind}"

    @property
    def namespace(self) -> str:
        """Where the flow's rules live and the ``namespace`` label of its series: the entry agent's."""
        return self.entry_namespace

    @property
    def error_budget(self) -> float:
        return budget(self.objective)

    @property
    def window(self) -> str:
        return f"{self.window_days}d"

    @property
    def labels(self) -> dict[str, str]:
        return {"slo": self.name, names.FLOW_LABEL: self.flow, "team": self.team, "namespace": self.namespace}

    @property
    def selector(self) -> str:
        return f'{{slo="{self.name}",{names.FLOW_LABEL}="{self.flow}"}}'

    @property
    def runbook(self) -> str:
        return f"slo-flow-{self.kind}.md"

    @property
    def subject(self) -> str:
        return f"flow {self.flow}"

    @property
    def title(self) -> str:
        return self.kind

    @property
    def what(self) -> str:
        return _WHAT[self.kind]

    @property
    def group_name(self) -> str:
        return f"maas-flow-{self.flow}-{self.kind}"

    @property
    def frozen(self) -> str:
        return f"the flow's agents' ({', '.join(self.agents)})"

    @property
    def threshold_seconds(self) -> float:
        return self.threshold_ms / 1000

    # --- PromQL -------------------------------------------------------------------------------
    def _sel(self, namespace: str, extra: str = "") -> str:
        tail = f",{extra}" if extra else ""
        return f'{{namespace="{namespace}",{names.FLOW_LABEL}="{self.flow}"{tail}}}'

    def error_ratio(self, window: str) -> str:
        """PromQL of the SLI error ratio over ``window``, between 0 and 1; no starts (or no
        completions, for latency) give no value, so silence never alerts."""
        last = self.last_namespace
        if self.kind == "availability":
            completed = f"{names.FLOW_COMPLETED_METRIC}{self._sel(last, SUCCESS)}"
            started = f"{names.FLOW_STARTED_METRIC}{self._sel(self.entry_namespace)}"
            return (
                f"clamp(\n  1 - (\n    (sum(rate({completed}[{window}])) or vector(0))\n    /\n"
                f"    (sum(rate({started}[{window}] offset {_offset(self.threshold_ms)})) > 0)\n  ),\n  0, 1\n)"
            )
        le = le_matcher(self.threshold_seconds)
        return (
            f"1 - (\n  sum(rate({names.FLOW_DURATION_METRIC}_bucket{self._sel(last, le)}[{window}]))\n  /\n"
            f"  (sum(rate({names.FLOW_DURATION_METRIC}_count{self._sel(last)}[{window}])) > 0)\n)"
        )

    def good_total_queries(self) -> dict[str, str]:
        """The SLI as counter queries (OpenSLO ratioMetric)."""
        last = self.last_namespace
        if self.kind == "availability":
            return {
                "good": f"sum({names.FLOW_COMPLETED_METRIC}{self._sel(last, SUCCESS)})",
                "total": f"sum({names.FLOW_STARTED_METRIC}{self._sel(self.entry_namespace)})",
            }
        le = le_matcher(self.threshold_seconds)
        return {
            "good": f"sum({names.FLOW_DURATION_METRIC}_bucket{self._sel(last, le)})",
            "total": f"sum({names.FLOW_DURATION_METRIC}_count{self._sel(last)})",
        }


def flow_slos(flow: FlowSpec, *, team: str, entry_namespace: str, last_namespace: str) -> list[FlowSLO]:
    """The flow's two SLOs. ``team``: the entry agent's, used when ``flow.team`` is unset."""
    pct = lambda v: f"{v * 100:g}%"  # noqa: E731
    path = " -> ".join(flow.agents)
    common: dict[str, Any] = {
        "flow": flow.name, "team": flow.team or team, "window_days": flow.window_days,
        "threshold_ms": flow.latency.threshold_ms, "entry_namespace": entry_namespace,
        "last_namespace": last_namespace, "agents": tuple(flow.agents),
    }
    return [
        FlowSLO(
            kind="availability", objective=flow.availability,
            description=f"{pct(flow.availability)} of the {flow.name} flows started ({path}) complete successfully "
            f"over {flow.window_days} days.",
            **common,
        ),
        FlowSLO(
            kind="latency", objective=flow.latency.objective,
            description=f"{pct(flow.latency.objective)} of the {flow.name} flows ({path}) complete within "
            f"{flow.latency.threshold_ms} ms of their start over {flow.window_days} days.",
            **common,
        ),
    ]


def flow_rule_groups(
    flow: FlowSpec,
    *,
    team: str,
    entry_namespace: str,
    last_namespace: str,
    runbook_base: str = RUNBOOK_BASE,
) -> list[dict[str, Any]]:
    """Every rule group of one flow (two per SLO), for a PrometheusRule in ``entry_namespace``."""
    runbook_base = runbook_base.rstrip("/")
    groups: list[dict[str, Any]] = []
    for slo in flow_slos(flow, team=team, entry_namespace=entry_namespace, last_namespace=last_namespace):
        groups += slo_rule_groups(slo, runbook_base)
    return groups


def flow_openslo_documents(
    flow: FlowSpec, *, team: str, entry_namespace: str, last_namespace: str
) -> list[dict[str, Any]]:
    """One OpenSLO v1 ``SLO`` document per SLO of the flow (service ``flow-<name>``)."""
    return [
        slo_document(
            name=f"flow-{slo.flow}-{slo.kind}",
            display=f"flow {slo.flow} {slo.kind}",
            labels={"team": slo.team, names.FLOW_LABEL: slo.flow, "slo": slo.name},
            service=f"flow-{slo.flow}",
            description=slo.description,
            queries=slo.good_total_queries(),
            counter=True,
            window=slo.window,
            objective=slo.objective,
            objective_name=slo.kind,
        )
        for slo in flow_slos(flow, team=team, entry_namespace=entry_namespace, last_namespace=last_namespace)
    ]


__all__ = ["FLOW_KINDS", "FlowSLO", "flow_openslo_documents", "flow_rule_groups", "flow_slos"]
