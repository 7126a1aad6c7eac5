"""SLOs -> OpenSLO v1 documents (one ``kind: SLO`` per SLO, indicator inline).

The same SLI as the Prometheus rules, stated as counter queries (``ratioMetric``) so any
OpenSLO tool (Nobl9, Sloth's OpenSLO loader, oslo) can read the objective.
"""

from __future__ import annotations

from typing import Any

from ..config.agents import AgentSpec
from .model import SLO, agent_slos

API_VERSION = "openslo/v1"


def openslo_document(slo: SLO) -> dict[str, Any]:
    queries = slo.good_total_queries()
    ratio: dict[str, Any] = {"counter": slo.name != "probe"}
    for key in ("good", "bad", "total"):
        if key in queries:
            ratio[key] = {"metricSource": {"type": "Prometheus", "spec": {"query": queries[key]}}}
    name = f"{slo.agent}-{slo.name}"
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {
            "name": name,
            "displayName": f"{slo.agent} {slo.name}",
            "labels": {"team": slo.team, "agent": slo.agent, "slo": slo.name},
        },
        "spec": {
            "description": slo.description,
            "service": slo.agent,
            "indicator": {
                "metadata": {"name": f"{name}-sli", "displayName": f"{slo.agent} {slo.name} SLI"},
                "spec": {"ratioMetric": ratio},
            },
            "timeWindow": [{"duration": slo.window, "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"displayName": slo.name, "target": slo.objective}],
        },
    }


def openslo_documents(spec: AgentSpec, namespace: str) -> list[dict[str, Any]]:
    """One OpenSLO v1 ``SLO`` document per SLO of the agent."""
    return [openslo_document(slo) for slo in agent_slos(spec, namespace)]
