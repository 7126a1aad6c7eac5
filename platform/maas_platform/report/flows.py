"""Flows in the report: each flow's path through agents and topics, and its objectives.

Read from the plan's ``flows`` output (what a platform stack, or a team program through
``team_flows``, exports: ``components/flows.py``), so the report shows the flows the plan
builds rules for. The diagram draws each flow's path over the publish and subscribe edges in
a colour of its own (``Flow.colour``, also its key in the legend), the page lists them with
their objectives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..plan.model import Plan

# Colours of flows' paths, apart from the publish (blue), subscribe (amber) and refused (red) edges.
PALETTE = ("#7c3aed", "#0f9d58", "#db2777", "#0891b2", "#65a30d", "#9d174d", "#4338ca", "#b45309")


@dataclass(frozen=True)
class Flow:
    """One flow: entry agent, hops (topic, agent), owner and objectives."""

    name: str
    team: str
    entry: str
    hops: tuple[tuple[str, str], ...]  # (topic, agent), in order
    availability: Optional[float]
    latency_objective: Optional[float]
    threshold_ms: Optional[int]
    window_days: Optional[int]
    colour: str = PALETTE[0]  # of its path in the diagram and its key in the legend
    slos: tuple[str, ...] = ()  # its OpenSLO documents' names

    @property
    def agents(self) -> tuple[str, ...]:
        """The path's agents, entry first."""
        return (self.entry, *(agent for _, agent in self.hops))

    @property
    def steps(self) -> tuple[tuple[str, str], ...]:
        """The path as (kind, name) pairs: the entry agent, then each topic and agent."""
        return (("agent", self.entry), *(step for topic, agent in self.hops for step in (("topic", topic), ("agent", agent))))

    @property
    def threshold(self) -> str:
        """The latency threshold as a reader says it: ``5 min``, ``90 s``, ``250 ms``."""
        ms = self.threshold_ms
        if ms is None:
            return "-"
        if ms % 60_000 == 0:
            return f"{ms // 60_000} min"
        return f"{ms / 1000:g} s" if ms % 1000 == 0 or ms >= 10_000 else f"{ms} ms"

    @property
    def objectives(self) -> tuple[str, str]:
        """Availability and latency objectives in words: ``99% complete``, ``95% within 5 min``."""
        return (f"{_percent(self.availability)} complete successfully",
                f"{_percent(self.latency_objective)} within {self.threshold}")


def read_flows(plan: Plan) -> tuple[Flow, ...]:
    """The flows of the plan's ``flows`` output, by name, each with its colour (the palette repeats
    past eight); none when the stack exports none."""
    records = plan.outputs.get("flows")
    if not isinstance(records, dict):
        return ()
    found = [(name, record) for name, record in sorted(records.items()) if isinstance(record, dict)]
    return tuple(_flow(name, record, PALETTE[index % len(PALETTE)]) for index, (name, record) in enumerate(found))


def _flow(name: str, record: dict[str, Any], colour: str) -> Flow:
    latency = record.get("latency") if isinstance(record.get("latency"), dict) else {}
    hops = tuple((str(h.get("topic")), str(h.get("to"))) for h in record.get("hops") or [] if isinstance(h, dict))
    return Flow(
        name=name,
        team=str(record.get("team") or "-"),
        entry=str(record.get("entry") or "-"),
        hops=hops,
        availability=_number(record.get("availability")),
        latency_objective=_number(latency.get("objective")),
        threshold_ms=int(latency["threshold_ms"]) if isinstance(latency.get("threshold_ms"), (int, float)) else None,
        window_days=int(record["window_days"]) if isinstance(record.get("window_days"), (int, float)) else None,
        colour=colour,
        slos=tuple(str((d.get("metadata") or {}).get("name")) for d in record.get("slos") or [] if isinstance(d, dict)),
    )


def _number(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _percent(value: Optional[float]) -> str:
    """An objective as a percentage without rounding it up: ``99.5%``, ``99%``."""
    return "-" if value is None else f"{round(value * 100, 6):g}%"
