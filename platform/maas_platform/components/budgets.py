"""Cost guard rails: cost-allocation tags, and monthly AWS Budgets per environment, team and agent.

Every taggable resource carries ``platform``, ``environment``, ``team``, ``agent`` and
``cost-center`` (one tag transformation, see :mod:`maas_platform.tagging`). Activated as
cost-allocation tags, they let a budget filter on them: the environment's budget on its
``platform`` tag, a team's on ``team``, an agent's on ``agent``. Notifications go to the
platform alert topic (whose policy and key admit AWS Budgets) and to e-mail.

The platform stack budgets the agents of ``maas:agents``; it cannot know a team stack's.
Those budget themselves (:class:`~.agent.AgentService`) with :func:`monthly_budget` and the
platform's :class:`BudgetNotifications`, read from its ``agent_budgets`` output.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from ..names import (
    AGENT_TAG,
    COST_CENTER_TAG,
    ENVIRONMENT_TAG,
    MAAS_BUDGETS,
    MANAGED_BY_TAG,
    PLATFORM_TAG,
    TEAM_TAG,
)
from .base import ComponentArgs, StrInput, child

# The keys cost reports and budgets group by.
COST_ALLOCATION_TAGS = (PLATFORM_TAG, ENVIRONMENT_TAG, TEAM_TAG, AGENT_TAG, COST_CENTER_TAG, MANAGED_BY_TAG)


class Threshold(ComponentArgs):
    percent: float = Field(gt=0, le=1000)
    kind: str = Field(pattern="^(ACTUAL|FORECASTED)$")


class BudgetsArgs(ComponentArgs):
    prefix: str
    environment_limit_usd: Optional[float] = Field(None, gt=0)
    team_limits_usd: dict[str, float] = Field(default_factory=dict)
    agent_limits_usd: dict[str, float] = Field(default_factory=dict)
    thresholds: list[Threshold] = Field(min_length=1)
    emails: list[str] = Field(default_factory=list)
    alert_topic_arn: StrInput
    activate_cost_allocation_tags: bool = True


class BudgetNotifications(ComponentArgs):
    """Who a budget notifies, and when: the environment's thresholds, alert topic and e-mails."""

    thresholds: list[Threshold] = Field(min_length=1, description="Percentages of the limit, actual or forecast.")
    alert_topic_arn: StrInput = Field(description="The platform alert topic; its policy admits AWS Budgets.")
    emails: list[str] = Field(default_factory=list, description="Addresses notified directly. Default: none.")


def monthly_budget(parent: pulumi.Resource, resource_name: str, *, budget_name: str, tag: str, value: str,
                   limit_usd: float, notify: BudgetNotifications,
                   depends_on: Optional[list[pulumi.Resource]] = None) -> aws.budgets.Budget:
    """A monthly COST budget on the spend tagged ``tag=value``, notifying at each threshold.

    Shared by the platform's budgets and a team stack's agents, so an agent's budget looks
    the same whichever stack owns the agent.
    """
    notifications = [
        {
            "comparison_operator": "GREATER_THAN",
            "threshold": threshold.percent,
            "threshold_type": "PERCENTAGE",
            "notification_type": threshold.kind,
            "subscriber_email_addresses": list(notify.emails) or None,
            "subscriber_sns_topic_arns": [notify.alert_topic_arn],
        }
        for threshold in notify.thresholds
    ]
    return aws.budgets.Budget(
        resource_name,
        name=budget_name,
        budget_type="COST",
        limit_amount=f"{limit_usd:.2f}",
        limit_unit="USD",
        time_unit="MONTHLY",
        # Cost-allocation tags appear in billing data as user:<key>.
        cost_filters=[{"name": "TagKeyValue", "values": [f"user:{tag}${value}"]}],
        notifications=notifications,
        opts=child(parent, depends_on=depends_on or []),
    )


def agent_budget_name(prefix: str, agent: str) -> str:
    """``<prefix>-agent-<agent>``: one name per agent, whichever stack deploys it."""
    return f"{prefix}-agent-{agent}"


class Budgets(pulumi.ComponentResource):
    """Monthly budgets with notifications, and the cost-allocation tags they filter on."""

    budgets: dict[str, aws.budgets.Budget]

    def __init__(self, name: str, args: BudgetsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(MAAS_BUDGETS, name, None, opts)
        self.args = args
        self.notifications = BudgetNotifications(
            thresholds=args.thresholds, alert_topic_arn=args.alert_topic_arn, emails=args.emails,
        )
        tags = []
        if args.activate_cost_allocation_tags:
            tags = [
                aws.costexplorer.CostAllocationTag(f"{name}-tag-{key}", tag_key=key, status="Active", opts=child(self))
                for key in COST_ALLOCATION_TAGS
            ]
        self.budgets = {}
        if args.environment_limit_usd:
            self._budget(name, "environment", args.prefix, PLATFORM_TAG, args.prefix, args.environment_limit_usd, tags)
        for team, limit in sorted(args.team_limits_usd.items()):
            self._budget(name, f"team-{team}", f"{args.prefix}-team-{team}", TEAM_TAG, team, limit, tags)
        for agent, limit in sorted(args.agent_limits_usd.items()):
            self._budget(name, f"agent-{agent}", agent_budget_name(args.prefix, agent), AGENT_TAG, agent, limit, tags)
        self.register_outputs({"budget_names": {k: b.name for k, b in self.budgets.items()}})

    def _budget(self, name: str, key: str, budget_name: str, tag: str, value: str, limit: float,
                tags: list[pulumi.Resource]) -> None:
        self.budgets[key] = monthly_budget(
            self, f"{name}-{key}", budget_name=budget_name, tag=tag, value=value, limit_usd=limit,
            notify=self.notifications, depends_on=tags,
        )
