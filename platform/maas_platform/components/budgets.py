"""Cost guard rails: cost-allocation tags, and monthly AWS Budgets per environment, team and agent.

Every taggable resource carries ``platform``, ``environment``, ``team``, ``agent`` and
``cost-center`` (one tag transformation, see :mod:`maas_platform.tagging`). Activated as
cost-allocation tags, they let a budget filter on them: the environment's budget on its
``platform`` tag, a team's on ``team``, an agent's on ``agent``. Notifications go to the
platform alert topic (whose policy and key admit AWS Budgets) and to e-mail.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from .base import ComponentArgs, StrInput, child

# The keys cost reports and budgets group by.
COST_ALLOCATION_TAGS = ("platform", "environment", "team", "agent", "cost-center", "managed-by")


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


class Budgets(pulumi.ComponentResource):
    """Monthly budgets with notifications, and the cost-allocation tags they filter on."""

    budgets: dict[str, aws.budgets.Budget]

    def __init__(self, name: str, args: BudgetsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maas:budgets:Budgets", name, None, opts)
        self.args = args
        tags = []
        if args.activate_cost_allocation_tags:
            tags = [
                aws.costexplorer.CostAllocationTag(f"{name}-tag-{key}", tag_key=key, status="Active", opts=child(self))
                for key in COST_ALLOCATION_TAGS
            ]
        self.budgets = {}
        if args.environment_limit_usd:
            self._budget(name, "environment", args.prefix, "platform", args.prefix, args.environment_limit_usd, tags)
        for team, limit in sorted(args.team_limits_usd.items()):
            self._budget(name, f"team-{team}", f"{args.prefix}-team-{team}", "team", team, limit, tags)
        for agent, limit in sorted(args.agent_limits_usd.items()):
            self._budget(name, f"agent-{agent}", f"{args.prefix}-agent-{agent}", "agent", agent, limit, tags)
        self.register_outputs({"budget_names": {k: b.name for k, b in self.budgets.items()}})

    def _budget(self, name: str, key: str, budget_name: str, tag: str, value: str, limit: float,
                tags: list[pulumi.Resource]) -> None:
        args = self.args
        notifications = [
            {
                "comparison_operator": "GREATER_THAN",
                "threshold": threshold.percent,
                "threshold_type": "PERCENTAGE",
                "notification_type": threshold.kind,
                "subscriber_email_addresses": list(args.emails) or None,
                "subscriber_sns_topic_arns": [args.alert_topic_arn],
            }
            for threshold in args.thresholds
        ]
        self.budgets[key] = aws.budgets.Budget(
            f"{name}-{key}",
            name=budget_name,
            budget_type="COST",
            limit_amount=f"{limit:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            # Cost-allocation tags appear in billing data as user:<key>.
            cost_filters=[{"name": "TagKeyValue", "values": [f"user:{tag}${value}"]}],
            notifications=notifications,
            opts=child(self, depends_on=tags),
        )
