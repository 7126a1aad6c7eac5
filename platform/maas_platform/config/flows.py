"""Flows: requests that cross agents, with objectives for the whole path (``maas:flows``).

A flow starts at an entry agent's REST entry and passes from agent to agent through topics. Its
objectives hold end to end: the share of flows that complete successfully (availability) and the
share that complete within a threshold (latency). How they are measured is ``docs/slos.md``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Mapping, Optional, Sequence

from pydantic import AfterValidator, Field, model_validator

from .agents import AgentSpec, Label
from .base import StrictModel, first_repeated

FLOW_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


def _flow_name(value: str) -> str:
    """lowercase letters, digits and '-', starting with a letter, at most 40 characters"""
    if not FLOW_NAME.match(value):
        raise ValueError(f"'{value}' must be lowercase letters, digits and '-', starting with a letter, "
                         "at most 40 characters (it is the label `flow` of the flow's series)")
    return value


FlowName = Annotated[str, AfterValidator(_flow_name)]


class FlowHop(StrictModel):
    """One step of the path: the message goes out on ``topic`` and ``to`` takes it from its inbox."""

    topic: str = Field(description="The topic the previous agent publishes the flow's message to (maas:broker.topics).")
    to: str = Field(description="The agent that subscribes to the topic and carries the flow on.")


class FlowLatency(StrictModel):
    """Share of flows that complete within a threshold, measured from the entry to the last agent."""

    threshold_ms: int = Field(ge=100, le=3_600_000, description="End-to-end threshold in milliseconds.")
    objective: float = Field(0.95, gt=0.5, lt=1, description="Share of flows completing within the threshold.")


class FlowSpec(StrictModel):
    """One flow: where it enters, the hops it takes and its end-to-end objectives."""

    name: FlowName = Field(description="The flow's name, unique in the stack: the label `flow` of its metrics and alerts.")
    entry: str = Field(description="The agent whose REST entry starts the flow.")
    hops: list[FlowHop] = Field(min_length=1, description="The path after the entry agent, in order.")
    team: Optional[Label] = Field(
        None, description="Team that owns the flow's SLOs (label `team` of its alerts), the team of one of the path's "
                          "agents; default: the entry agent's team.")
    availability: float = Field(0.99, gt=0.5, lt=1, description="Share of started flows that complete successfully.")
    latency: FlowLatency = Field(description="End-to-end latency objective.")
    window_days: Literal[28, 30] = Field(28, description="SLO window in days.")

    @model_validator(mode="after")
    def _no_loop(self) -> "FlowSpec":
        agents = [self.entry] + [hop.to for hop in self.hops]
        seen = sorted({a for a in agents if agents.count(a) > 1})
        if seen:
            raise ValueError(f"hops: the path visits {', '.join(seen)} twice; a flow's path passes each agent once")
        return self

    @property
    def agents(self) -> list[str]:
        """The agents on the path, entry first."""
        return [self.entry] + [hop.to for hop in self.hops]

    @property
    def last(self) -> str:
        """The agent that completes the flow (records its outcome and duration)."""
        return self.hops[-1].to

    def owner(self, agents: Sequence[AgentSpec]) -> str:
        """The team that owns the flow's SLOs: ``team``, else the entry agent's (from ``agents``)."""
        if self.team is not None:
            return self.team
        return next(a.team for a in agents if a.name == self.entry)


def flows_problem(flows: Sequence[FlowSpec], agents: Sequence[AgentSpec], topics: Sequence[str], *,
                  elsewhere: Optional[Mapping[str, str]] = None, agents_key: str = "maas:agents",
                  topics_key: str = "maas:broker.topics") -> Optional[str]:
    """The first mistake of ``flows`` against the stack (``flows[i].<field>: what, and the fix``), or None.

    ``agents`` are the agents of the stack (a platform stack's ``maas:agents``, a team program's
    AgentServices) and ``topics`` the topics they may use (``maas:broker.topics``; a team stack:
    its platform's). Every agent of a path runs in this stack, so its series are the flow's
    (the SLIs select the entry and last agents' namespaces); a hop's topic is one the agent
    before publishes to and the hop's agent subscribes to, so the message can take the hop.
    ``elsewhere`` names the stack of agents deployed by another one (``'intake'`` -> ``team
    'claims'``), ``agents_key`` and ``topics_key`` where the fix goes.
    """
    elsewhere = elsewhere or {}
    repeated = first_repeated([flow.name for flow in flows])
    if repeated is not None:
        index = [i for i, flow in enumerate(flows) if flow.name == repeated][1]
        return f"flows[{index}].name: flow '{repeated}' is declared twice; give each flow its own name"
    by_name = {agent.name: agent for agent in agents}
    known = ", ".join(sorted(by_name)) or "none"
    for index, flow in enumerate(flows):
        where = f"flows[{index}]"
        for key, name in [("entry", flow.entry)] + [(f"hops[{j}].to", hop.to) for j, hop in enumerate(flow.hops)]:
            agent = by_name.get(name)
            if agent is None and name in elsewhere:
                return (f"{where}.{key}: '{name}' is an agent of {elsewhere[name]}, not of this stack; a flow passes "
                        f"only this stack's agents ({agents_key}: {known})")
            if agent is None:
                return f"{where}.{key}: '{name}' is not an agent of this stack ({agents_key}: {known}); name one of them"
            if agent.retired:
                return (f"{where}.{key}: agent '{name}' is retired; it runs nothing to carry the flow, "
                        "take it off the path or remove the flow")
        entry = by_name[flow.entry]
        if entry.messaging.scale_to_zero:
            return (f"{where}.entry: agent '{flow.entry}' scales to zero (messaging.scale_to_zero), so its REST entry "
                    "is unserved while it is idle and the flow cannot start; turn scale_to_zero off or start elsewhere")
        previous = entry
        for j, hop in enumerate(flow.hops):
            if hop.topic not in topics:
                return (f"{where}.hops[{j}].topic: '{hop.topic}' is not a topic of {topics_key} "
                        f"({', '.join(sorted(topics)) or 'none'})")
            if hop.topic not in previous.messaging.publishes:
                return (f"{where}.hops[{j}].topic: '{previous.name}' does not publish to '{hop.topic}'; add the topic "
                        f"to the messaging.publishes of '{previous.name}' or name one it publishes to")
            target = by_name[hop.to]
            if hop.topic not in [s.topic for s in target.messaging.subscribes]:
                return (f"{where}.hops[{j}].to: '{hop.to}' does not subscribe to '{hop.topic}'; add the topic to "
                        f"the messaging.subscribes of '{hop.to}' or name an agent that subscribes to it")
            previous = target
        teams = sorted({by_name[name].team for name in flow.agents})
        if flow.team is not None and flow.team not in teams:
            return (f"{where}.team: '{flow.team}' owns no agent on the path ({', '.join(teams)}); name one of them "
                    "or leave team out for the entry agent's")
    return None
