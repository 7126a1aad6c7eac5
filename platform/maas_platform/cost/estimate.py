"""The monthly estimate of a plan: per resource, per agent, per team, in total."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .capacity import Packing, agent_share, cheapest_share, describe, pack
from .context import PlanIndex, ResourceContext
from .llm import llm_estimate
from .prices import Component, MissingPrice, PriceTable, load_prices, money
from .rules import FREE, RULES, node_group_shape
from .usage import Usage, load_usage

if TYPE_CHECKING:  # the pipeline hands the estimate a plan; pricing never makes one
    from ..plan.model import AgentComponent, Plan, PlannedResource

DEFAULT_REGION = "us-east-1"
ZERO = Decimal("0.00")


def estimate(
    plan: Plan,
    *,
    region: Optional[str] = None,
    environment: Optional[str] = None,
    usage: Union[None, Path, dict[str, Any], Usage] = None,
    prices: Optional[Path] = None,
) -> dict[str, Any]:
    """The ``cost`` block of ``plan`` (a :class:`~maas_platform.plan.model.Plan`).

    ``region`` and ``environment`` default to the plan's outputs of those names;
    ``usage`` is a usage file, a mapping in its layout, or loaded :class:`Usage`
    (default: the shipped ``usage.yaml``); ``prices`` another price file.
    """
    outputs = plan.outputs or {}
    region = region or _str(outputs.get("region")) or DEFAULT_REGION
    environment = environment or _str(outputs.get("environment"))
    table = load_prices(region, prices)
    assumptions = usage if isinstance(usage, Usage) else load_usage(usage, environment)
    index = PlanIndex(plan, region, environment)
    index.capacity = pack(plan, table, lambda group: node_group_shape(group, ResourceContext(group, index, None)))

    priced: list[dict[str, Any]] = []
    unpriced: dict[tuple[str, str], list[str]] = {}
    for resource in plan.cloud_resources():
        type_token = resource.type
        if type_token in FREE:
            continue
        rule = RULES.get(type_token)
        if rule is None:
            unpriced.setdefault((type_token, "no pricing rule, and not known to be free"), []).append(resource.urn)
            continue
        agent = index.agent_of(resource)
        try:
            lines = rule(resource.inputs, ResourceContext(resource, index, agent), table, assumptions)
        except MissingPrice as missing:
            unpriced.setdefault((type_token, str(missing)), []).append(resource.urn)
            continue
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            reason = f"cannot read its inputs ({type(error).__name__}: {error})"
            unpriced.setdefault((type_token, reason), []).append(resource.urn)
            continue
        if lines:
            priced.append(_resource_entry(resource, agent, lines))

    baseline = sum((Decimal(str(r["baseline"])) for r in priced), ZERO)
    usage_total = sum((Decimal(str(r["usage"])) for r in priced), ZERO)
    by_agent = _by_agent(index, priced, table, assumptions)
    in_agents = [r for r in priced if r["agent"] is not None]
    shared_baseline = baseline - sum((Decimal(str(r["baseline"])) for r in in_agents), ZERO)
    shared_usage = usage_total - sum((Decimal(str(r["usage"])) for r in in_agents), ZERO)
    return {
        "currency": table.currency,
        "monthly_total": float(baseline + usage_total),
        "baseline": float(baseline),
        "usage": float(usage_total),
        "by_agent": by_agent,
        "by_team": _by_team(by_agent),
        "resources": priced,
        "unpriced": [
            {"type": type_token, "reason": reason, "count": len(urns), "urns": urns}
            for (type_token, reason), urns in sorted(unpriced.items())
        ],
        "region": region,
        "environment": environment,
        "hours_per_month": table.hours_per_month,
        "shared": _figures(shared_baseline, shared_usage),
        "capacity": _capacity(index.capacity, priced, table),
        # LLM spend beside the AWS figures above, never inside them (cost/llm.py).
        "llm": llm_estimate(plan, table, assumptions),
    }


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _figures(baseline: Decimal, usage: Decimal) -> dict[str, float]:
    return {"monthly": float(baseline + usage), "baseline": float(baseline), "usage": float(usage)}


def _resource_entry(resource: PlannedResource, agent: Optional[AgentComponent], lines: list[Component]) -> dict[str, Any]:
    baseline = sum((c.monthly for c in lines if c.kind == "baseline"), ZERO)
    usage = sum((c.monthly for c in lines if c.kind == "usage"), ZERO)
    return {
        "urn": resource.urn,
        "type": resource.type,
        "monthly": float(baseline + usage),
        "baseline": float(baseline),
        "usage": float(usage),
        "agent": agent.name if agent else None,
        "components": [c.to_dict() for c in lines],
    }


def _by_agent(index: PlanIndex, priced: list[dict[str, Any]], table: PriceTable, usage: Usage) -> dict[str, Any]:
    result = {}
    for agent in sorted(index.agents.values(), key=lambda a: a.name):
        mine = [r for r in priced if r["agent"] == agent.name]
        baseline = sum((Decimal(str(r["baseline"])) for r in mine), ZERO)
        usage_total = sum((Decimal(str(r["usage"])) for r in mine), ZERO)
        allocated = allocated_node_share(index, agent, table, usage)
        result[agent.name] = {
            "team": agent.team,
            **_figures(baseline, usage_total),
            # Share of the node groups' cost its pods reserve; already inside the node groups'
            # figures, so never added to monthly or to any total.
            "allocated": float(allocated) if allocated is not None else None,
        }
    return result


def _by_team(by_agent: dict[str, Any]) -> dict[str, Any]:
    teams: dict[str, dict[str, Any]] = {}
    for name, figures in by_agent.items():
        team = teams.setdefault(figures["team"], {"agents": [], "baseline": ZERO, "usage": ZERO, "allocated": None})
        team["agents"].append(name)
        team["baseline"] += Decimal(str(figures["baseline"]))
        team["usage"] += Decimal(str(figures["usage"]))
        if figures["allocated"] is not None:
            team["allocated"] = (team["allocated"] or ZERO) + Decimal(str(figures["allocated"]))
    return {
        team: {
            "agents": sorted(t["agents"]),
            **_figures(t["baseline"], t["usage"]),
            "allocated": float(t["allocated"]) if t["allocated"] is not None else None,
        }
        for team, t in sorted(teams.items())
    }


def allocated_node_share(index: PlanIndex, agent: AgentComponent, table: PriceTable, usage: Usage) -> Optional[Decimal]:
    """The node cost the agent's pods reserve, from the packing: each pod's share of the node it sits
    on, by the larger of CPU and memory, all month. A workload that scales to zero adds one pod's share
    of the cheapest node it could run on, for ``agent.active_hours_per_month``. None when the plan
    has no nodes to share (a team stack)."""
    packing = index.capacity
    if packing is None or not any(t.nodes for t in packing.targets):
        return None
    hourly, idle = agent_share(packing, agent.name)
    active = min(float(usage.agent(agent.name)["active_hours_per_month"]), table.hours_per_month)
    monthly = hourly * table.hours_per_month + sum(cheapest_share(packing, pod) for pod in idle) * active
    return money(Decimal(repr(monthly)))


def _capacity(packing: Optional[Packing], priced: list[dict[str, Any]], table: PriceTable) -> dict[str, Any]:
    """What the packing assumed: nodes per node group and pool, the pods on them, and why."""
    if packing is None:
        return {}
    targets = [describe(t) for t in packing.targets]
    node_count = sum(t["node_count"] for t in targets)
    spot = on_demand = ZERO
    for resource in priced:
        for line in resource["components"]:
            if line["name"].startswith("nodes: "):
                if re.search(r"\bspot\b", line["name"], re.IGNORECASE):
                    spot += Decimal(str(line["monthly"]))
                else:
                    on_demand += Decimal(str(line["monthly"]))
    groups = sum(t["node_count"] for t in targets if t["kind"] == "node_group")
    why = (f"{groups} node-group node{'s' if groups != 1 else ''} (fixed) and {node_count - groups} "
           f"node-pool node{'s' if node_count - groups != 1 else ''}: the fewest, cheapest nodes that hold "
           f"the requests of every pod at rest, DaemonSets on each")
    if not targets:
        why = "no node group or node pool in this plan: its pods run on the platform stack's nodes, priced there"
    return {
        "method": "pods at rest packed first-fit decreasing onto the cheapest instance types each node pool allows, "
                  "Spot first where a pool allows it; node groups are fixed at their desired size",
        "node_count": node_count,
        "why": why,
        "nodes_monthly": {"on_demand": float(on_demand), "spot": float(spot)},
        "spot_assumption": table.spot_summary(),
        "targets": targets,
        "pending": packing.pending,
        "unknown": packing.unknown,
        "best_effort": packing.best_effort,
    }
