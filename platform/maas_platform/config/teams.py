"""``maas:teams``: the product teams whose own stacks deploy agents on this platform.

A team is registered by the platform stack with the agents its stack may deploy and the IAM
roles that may act as its deploy identity. The platform gives each team a deploy role scoped
to those agents, in AWS and in the cluster (:mod:`maas_platform.components.teams`); a team stack
deploys with that role, never with the platform's cluster-admin access.

This module imports only :mod:`.base` and :mod:`.agents` of the package, so :mod:`.models` can use it.
"""

from __future__ import annotations

import re
from typing import Annotated, Optional, Sequence

from pydantic import AfterValidator, Field

from .agents import AgentName, name_limits
from .base import StrictModel, first_repeated

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
# IAM role names: at most 64 characters; the deploy role is <prefix>-team-<team>.
ROLE_NAME_MAX = 64


def _team_name(value: str) -> str:
    if len(value) > 40 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"'{value}' must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 40 characters"
        )
    return value


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.match(value):
        raise ValueError(f"'{value}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    return value


def _deployers(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("list at least one IAM role ARN that may assume the team's deploy role")
    if len(set(value)) != len(value):
        raise ValueError("each role may be listed once")
    return value


def _agents(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("list the agents the team's stack deploys (at least one)")
    repeated = first_repeated(value)
    if repeated is not None:
        raise ValueError(f"'{repeated}' is listed twice")
    return value


TeamName = Annotated[str, AfterValidator(_team_name)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]


class TeamConfig(StrictModel):
    """One team of ``maas:teams``."""

    name: TeamName = Field(
        description="The team, a DNS label. Its stack sets the same name in maas:team and "
                    "its agents' team; its deploy role is <prefix>-team-<name>, its Kubernetes group maas:team:<name>.",
    )
    agents: Annotated[list[AgentName], AfterValidator(_agents)] = Field(
        description="Agents the team's stack may deploy (their namespaces and AWS resources carry these names). "
                    "Unique across teams, and none of this stack's maas:agents.",
    )
    deployers: Annotated[list[RoleArn], AfterValidator(_deployers)] = Field(
        description="IAM roles that may assume the team's deploy role (the team's CI, its engineers). At least one.",
    )


def team_problem(teams: Sequence[TeamConfig], platform_agents: Sequence[str], prefix: str,
                 platform_teams: Sequence[str] = ()) -> Optional[str]:
    """The first mistake across ``teams`` (a key path below ``teams`` and the fix), or None.

    Each agent belongs to one stack: a name two teams register, or one the platform stack
    deploys itself, would give two stacks the same namespace and the same AWS names. A team
    is not one of ``platform_teams`` (the platform's ``maas:team`` and its own agents' teams):
    the deploy role's conditions read the ``team`` tag, so that team's deploy role would reach
    the platform's keys and its agents' resources.
    """
    seen_teams: set[str] = set()
    owner: dict[str, str] = {}
    for index, team in enumerate(teams):
        if team.name in seen_teams:
            return f"teams[{index}].name: team '{team.name}' is registered twice; merge its entries"
        if team.name in platform_teams:
            return (f"teams[{index}].name: '{team.name}' is the team of this stack or of one of its agents "
                    "(maas:team, maas:agents[].team); a team stack needs a team of its own, choose another name")
        seen_teams.add(team.name)
        role = f"{prefix}-team-{team.name}"
        if len(role) > ROLE_NAME_MAX:
            return (f"teams[{index}].name: the deploy role '{role}' is {len(role)} characters (IAM allows "
                    f"{ROLE_NAME_MAX}); shorten the team name")
        for agent in team.agents:
            if agent in platform_agents:
                return (f"teams[{index}].agents: '{agent}' is an agent of this stack (maas:agents); "
                        "a team stack cannot deploy it, choose another name")
            if agent in owner:
                return (f"teams[{index}].agents: '{agent}' is registered by team '{owner[agent]}' too; "
                        "an agent belongs to one team")
            owner[agent] = team.name
            limit = name_limits(prefix, agent)
            if limit:
                return f"teams[{index}].agents: '{agent}' {limit}"
    return None

