"""Flows: requests that cross agents, with objectives for the whole path (``maas:flows``).

A flow starts at an entry agent's REST entry and passes from agent to agent through topics. Its
objectives hold end to end: the share of flows that complete successfully (availability) and the
share that complete within a threshold (latency). How they are measured is ``docs/slos.md``.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from .base import StrictModel

FLOW_NAME = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"


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

    name: str = Field(pattern=FLOW_NAME, description="Lower-case name (label `flow` of its metrics and alerts), <= 40.")
    entry: str = Field(description="The agent whose REST entry starts the flow.")
    hops: list[FlowHop] = Field(min_length=1, description="The path after the entry agent, in order.")
    team: Optional[str] = Field(None, description="Team that owns the flow's SLOs; default: the entry agent's team.")
    availability: float = Field(0.99, gt=0.5, lt=1, description="Share of started flows that complete successfully.")
    latency: FlowLatency = Field(description="End-to-end latency objective.")
    window_days: Literal[28, 30] = Field(28, description="SLO window in days.")

    @model_validator(mode="after")
    def _no_loop(self) -> "FlowSpec":
        agents = [self.entry] + [hop.to for hop in self.hops]
        seen = sorted({a for a in agents if agents.count(a) > 1})
        if seen:
            raise ValueError(f"the path visits {', '.join(seen)} twice; a flow's path passes each agent once")
        return self

    @property
    def agents(self) -> list[str]:
        """The agents on the path, entry first."""
        return [self.entry] + [hop.to for hop in self.hops]

    @property
    def last(self) -> str:
        """The agent that completes the flow (records its outcome and duration)."""
        return self.hops[-1].to
