"""The monthly estimate of a plan: per resource, per agent, per team, in total."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .. import names
from ..config.agents import cpu_millicores, memory_bytes
from .context import PlanIndex, ResourceContext
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
    """The node cost the agent's pods reserve: requests of its fewest replicas (or, for an agent
    that scales to zero, one replica for ``agent.active_hours_per_month``) as a share of one
    node of the plan's first node group, by the larger of CPU and memory. None when the plan
    has no node group (a team stack) or the instance type has no price or size."""
    node_groups = index.of_type(names.EKS_NODE_GROUP)
    if not node_groups:
        return None
    instance_type, _, _ = node_group_shape(node_groups[0], ResourceContext(node_groups[0], index, None))
    spec = table.instance_specs.get(instance_type)
    try:
        hourly = table.get(f"ec2.instance.{instance_type}").value
    except MissingPrice:
        return None
    if not spec:
        return None
    cpu = memory = 0.0
    replicas: Optional[float] = None
    for resource in index.descendants(agent.urn):
        spec_in = resource.inputs.get("spec") or {}
        if resource.type == names.K8S_DEPLOYMENT:
            for container in ((spec_in.get("template") or {}).get("spec") or {}).get("containers") or []:
                requests = (container.get("resources") or {}).get("requests") or {}
                try:
                    cpu += cpu_millicores(str(requests.get("cpu", "0m"))) / 1000
                    memory += memory_bytes(str(requests.get("memory", "0"))) / 2**30
                except (ValueError, KeyError, AttributeError):
                    return None
            if replicas is None:
                replicas = float(spec_in.get("replicas", 1))
        elif resource.type == names.K8S_SCALED_OBJECT:
            replicas = float(spec_in.get("minReplicaCount", 0))
        elif resource.type == names.K8S_HORIZONTAL_POD_AUTOSCALER:
            replicas = float(spec_in.get("minReplicas", 1))
    if replicas is None or (cpu == 0 and memory == 0):
        return money(ZERO)
    hours = replicas * table.hours_per_month if replicas > 0 else min(
        float(usage.agent(agent.name)["active_hours_per_month"]), table.hours_per_month)
    share = max(cpu / spec["vcpu"], memory / spec["memory_gib"])
    return money(Decimal(repr(share * hours * hourly)))
