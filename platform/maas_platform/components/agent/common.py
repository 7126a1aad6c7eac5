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


def agent_role_name(spec: AgentSpec, platform: PlatformRefs) -> str:
    """``<prefix>-agent-<agent>``: the name of the agent's IAM role."""
    return f"{platform.prefix}-agent-{spec.name}"


def data_protected(spec: AgentSpec, platform: PlatformRefs) -> bool:
    """Whether the agent's data (datastore, key, secrets, log groups) is protected from deletion.

    An active agent's is where the environment protects stateful resources (``protect_stateful``);
    a retired agent's always, whatever the environment, until its ``delete_data`` (lifecycle
    ``deletable``) lifts the protection so that removing the agent from config deletes it.

    Pulumi fails a deployment that would delete a protected resource, and deletes it only in an
    update after the one that unprotects it (pulumi.com/docs/iac/concepts/resources/options/protect,
    checked on 2026-12-03): hence two steps, and a retirement drops nothing that may be protected.
    """
    lifecycle = spec.lifecycle
    if lifecycle == names.AGENT_LIFECYCLE_DELETABLE:
        return False
    return platform.protect_stateful or lifecycle == names.AGENT_LIFECYCLE_RETIRED


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
