"""What the parts of an agent share: its physical name, its labels, its subscribed topics,
and how a part's children keep the URNs they had before the agent was built from parts."""

from __future__ import annotations

from typing import Any, Optional

import pulumi

from ... import names
from ...config.agents import AgentSpec
from ..contract import PlatformRefs
from ..base import StrInput


def physical_name(spec: AgentSpec, platform: PlatformRefs) -> str:
    """``<prefix>-<agent>``: the name (or the start of the name) of the agent's AWS resources."""
    return f"{platform.prefix}-{spec.name}"


def agent_labels(spec: AgentSpec, platform: PlatformRefs) -> dict[str, str]:
    """The labels of every Kubernetes object of the agent (and of its pods)."""
    return {
        names.NAME_LABEL: spec.name,
        names.PART_OF_LABEL: names.PART_OF,
        names.MANAGED_BY_LABEL: names.MANAGED_BY,
        names.AGENT_LABEL: spec.name,
        names.TEAM_LABEL: spec.team,
        names.ENVIRONMENT_LABEL: platform.environment,
        names.COST_CENTER_LABEL: spec.cost_center,
    }


def agent_tags(spec: AgentSpec, platform: PlatformRefs) -> dict[str, str]:
    """The tags of every taggable AWS resource of the agent: the environment's, then its own."""
    return {**platform.tags, names.TEAM_TAG: spec.team, names.AGENT_TAG: spec.name, names.COST_CENTER_TAG: spec.cost_center}


def subscribed_topic_arns(spec: AgentSpec, platform: PlatformRefs) -> list[StrInput]:
    """The ARNs of the platform's topics the agent subscribes to (SNS delivers them into its inbox)."""
    topics = platform.messaging.topics
    return [topics[s.topic].arn for s in spec.messaging.subscribes if s.topic in topics]


def moved(part: pulumi.Resource, agent: Optional[pulumi.Resource], **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child of ``part`` that ``agent`` (the AgentService) used to parent itself.

    The child's URN now names the part; the alias names its URN under the agent, so the
    engine finds the existing resource under its old URN and keeps it instead of replacing
    it. Logical names and inputs stay what they were.
    """
    aliases = [pulumi.Alias(parent=agent)] if agent is not None else []
    return pulumi.ResourceOptions(parent=part, aliases=aliases, **kwargs)
