"""Cost guard rails: monthly AWS Budgets per environment, team and agent, and the activation
of the tag keys they filter on.

Every taggable resource carries ``platform``, ``environment``, ``team``, ``agent`` and
``cost-center`` (one tag transformation, see :mod:`maas_platform.tagging`). Once activated as
cost-allocation tags, they let a budget filter on them: the environment's budget on its
``platform`` tag, a team's on ``team``, an agent's on ``agent``. Notifications go to the
platform alert topic (whose policy and key admit AWS Budgets) and to e-mail.

Activating the keys is a step of its own, once per payer account (:func:`activate_cost_allocation_tags`,
docs/cost.md), not a part of an environment: billing lists a key only up to 24 hours after
its first use, and until then the activation fails; a member account may not activate at all;
and deactivation is account-wide, so an environment's destroy must never undo it. A budget
does not wait for the activation: it counts from the day the keys are active.

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
    COST_ALLOCATION_TAGS,
    MAAS_BUDGETS,
    PLATFORM_TAG,
    TEAM_TAG,
)
from .base import ComponentArgs, StrInput, child

# The keys cost reports and budgets group by.


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
    activate_cost_allocation_tags: bool = Field(
        False, description="Activate the tag keys from this stack (payer account only, once billing lists them).",
    )


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


def activate_cost_allocation_tags(
    name: str, opts: Optional[pulumi.ResourceOptions] = None, keys: tuple[str, ...] = COST_ALLOCATION_TAGS,
) -> list[aws.costexplorer.CostAllocationTag]:
    """Activate ``keys`` as cost-allocation tags of the payer account: one ``<name>-<key>`` each.

    Every one is ``retain_on_delete``: the provider's delete sets the key *Inactive* for the
    whole payer account, so a destroy, or removing it from a program, leaves the key active.
    (Checked on 2026-12-02: terraform-provider-aws ``internal/service/ce/cost_allocation_tag.go``
    at 18fc80b6 deletes with ``UpdateCostAllocationTagsStatus`` ``Inactive``, and its create reads
    the key back with ``ListCostAllocationTags``, failing with "empty result" while billing does
    not list it yet; the AWS CLI reference of ``aws ce update-cost-allocation-tags-status``.)
    Pulumi records the option in the state, so it must be recorded by one ``pulumi up`` before
    a resource is removed (pulumi.com, docs/iac/concepts/resources/options/retainondelete).
    """
    retained = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
    return [
        aws.costexplorer.CostAllocationTag(f"{name}-{key}", tag_key=key, status="Active", opts=retained)
        for key in keys
    ]


def agent_budget_name(prefix: str, agent: str) -> str:
    """``<prefix>-agent-<agent>``: one name per agent, whichever stack deploys it."""
    return f"{prefix}-agent-{agent}"


class Budgets(pulumi.ComponentResource):
    """Monthly budgets with notifications; with ``activate_cost_allocation_tags``, the activation
    of the tag keys too (retained on delete)."""

    budgets: dict[str, aws.budgets.Budget]

    def __init__(self, name: str, args: BudgetsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(MAAS_BUDGETS, name, None, opts)
        self.args = args
        self.notifications = BudgetNotifications(
            thresholds=args.thresholds, alert_topic_arn=args.alert_topic_arn, emails=args.emails,
        )
        # The budgets do not depend on the activation: one that fails must not hold them back.
        self.cost_allocation_tags = (
            activate_cost_allocation_tags(f"{name}-tag", child(self)) if args.activate_cost_allocation_tags else []
        )
        self.budgets = {}
        if args.environment_limit_usd:
            self._budget(name, "environment", args.prefix, PLATFORM_TAG, args.prefix, args.environment_limit_usd)
        for team, limit in sorted(args.team_limits_usd.items()):
            self._budget(name, f"team-{team}", f"{args.prefix}-team-{team}", TEAM_TAG, team, limit)
        for agent, limit in sorted(args.agent_limits_usd.items()):
            self._budget(name, f"agent-{agent}", agent_budget_name(args.prefix, agent), AGENT_TAG, agent, limit)
        self.register_outputs({"budget_names": {k: b.name for k, b in self.budgets.items()}})

    def _budget(self, name: str, key: str, budget_name: str, tag: str, value: str, limit: float) -> None:
        self.budgets[key] = monthly_budget(
            self, f"{name}-{key}", budget_name=budget_name, tag=tag, value=value, limit_usd=limit,
            notify=self.notifications,
        )
