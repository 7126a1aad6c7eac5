"""SLOs -> OpenSLO v1 documents (one ``kind: SLO`` per SLO, indicator inline).

The same SLI as the Prometheus rules, stated as raw queries (``ratioMetric``) so any OpenSLO tool
(Nobl9, Sloth's OpenSLO loader, oslo) can read the objective. OpenSLO v1's ``ratioMetric`` takes
``counter`` (whether the queries are counters), ``total`` and exactly one of ``good`` or ``bad``,
each a ``metricSource`` (OpenSLO/OpenSLO schemas/v1/parts/sli-spec.schema.json, checked 2026-12-03).
The probe's and the golden probe's queries read gauges: ``counter: false``.
"""

from __future__ import annotations

from typing import Any

from ..config.agents import AgentSpec
from .model import SLO, agent_slos

API_VERSION = "openslo/v1"
GAUGE_KINDS = ("probe", "golden")


def slo_document(*, name: str, display: str, labels: dict[str, str], service: str, description: str,
                 queries: dict[str, str], counter: bool, window: str, objective: float,
                 objective_name: str) -> dict[str, Any]:
    """One OpenSLO v1 ``SLO`` document with its indicator inline."""
    ratio: dict[str, Any] = {"counter": counter}
    for key in ("good", "bad", "total"):
        if key in queries:
            ratio[key] = {"metricSource": {"type": "Prometheus", "spec": {"query": queries[key]}}}
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {"name": name, "displayName": display, "labels": labels},
        "spec": {
            "description": description,
            "service": service,
            "indicator": {
                "metadata": {"name": f"{name}-sli", "displayName": f"{display} SLI"},
                "spec": {"ratioMetric": ratio},
            },
            "timeWindow": [{"duration": window, "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"displayName": objective_name, "target": objective}],
        },
    }


def openslo_document(slo: SLO) -> dict[str, Any]:
    return slo_document(
        name=f"{slo.agent}-{slo.name}",
        display=f"{slo.agent} {slo.name}",
        labels={"team": slo.team, "agent": slo.agent, "slo": slo.name},
        service=slo.agent,
        description=slo.description,
        queries=slo.good_total_queries(),
        counter=slo.name not in GAUGE_KINDS,
        window=slo.window,
        objective=slo.objective,
        objective_name=slo.name,
    )


def openslo_documents(spec: AgentSpec, namespace: str) -> list[dict[str, Any]]:
    """One OpenSLO v1 ``SLO`` document per SLO of the agent."""
    return [openslo_document(slo) for slo in agent_slos(spec, namespace)]
