"""Cost allocation tags: whether this account may activate them, and which are active.

Activation is a step of its own, once per payer account, not part of an environment stack
(docs/deploying.md). Facts it rests on (research of 2026-12-02, /tmp/w/research15.md Q7c):
only the payer (management or standalone) account may activate tags — a member account gets
``AccessDeniedException: ... Linked account doesn't have access to cost allocation tags``
(2i2c-org/infrastructure#4932); a key can be activated only once billing has seen it, up to
24 hours after resources carry it (terraform-provider-aws ``cost_allocation_tag`` docs and
#29068). Whether the account is the payer: Organizations ``DescribeOrganization`` (its
``MasterAccountId``) against the caller's account; outside any organization
(``AWSOrganizationsNotInUseException``) the account pays its own bill.

When the plan still activates tags itself (``aws:costexplorer/costAllocationTag:CostAllocationTag``),
a member account or a key billing has not seen blocks ``pulumi up``; otherwise this is information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..names import (
    BUDGETS_BUDGET,
    COSTEXPLORER_COST_ALLOCATION_TAG,
    COST_ALLOCATION_TAGS,
)
from ..plan.model import Plan
from ..verify.aws import VerifyError
from .account import PreflightAccount
from .findings import BLOCKER, COST_ALLOCATION, INFO, OK, WARNING, Finding

NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"
SUBJECT = "cost allocation tags"


@dataclass(frozen=True)
class Payer:
    """Who pays this account's bill: itself (standalone or management account) or a management account."""

    is_payer: bool
    organization: Optional[str] = None
    management_account: Optional[str] = None


def payer(account: PreflightAccount) -> Payer:
    answer = account.call_or_none("organizations", "describe_organization", frozenset({NOT_IN_ORGANIZATION}))
    if answer is None:
        return Payer(is_payer=True)
    organization = answer.get("Organization") or {}
    management = organization.get("MasterAccountId")
    return Payer(is_payer=management == account.account_id, organization=organization.get("Id"),
                 management_account=management)


def planned_activations(plan: Plan) -> list[str]:
    """The tag keys the plan activates itself."""
    return sorted({r.inputs["tagKey"] for r in plan.of_type(COSTEXPLORER_COST_ALLOCATION_TAG)
                   if isinstance(r.inputs.get("tagKey"), str)})


def budget_tag_keys(plan: Plan) -> list[str]:
    """The tag keys the plan's budgets filter costs on (``TagKeyValue`` values ``user:<key>$<value>``)."""
    keys = set()
    for budget in plan.of_type(BUDGETS_BUDGET):
        for entry in budget.inputs.get("costFilters") or []:
            if isinstance(entry, dict) and entry.get("name") == "TagKeyValue":
                for value in entry.get("values") or []:
                    if isinstance(value, str) and value.startswith("user:"):
                        keys.add(value[len("user:"):].split("$", 1)[0])
    return sorted(keys)


def activation_command(keys: list[str]) -> str:
    pairs = " ".join(f"TagKey={key},Status=Active" for key in keys)
    return f"aws ce update-cost-allocation-tags-status --cost-allocation-tags-status {pairs}"


def cost_allocation_findings(plan: Plan, account: PreflightAccount) -> list[Finding]:
    activated = planned_activations(plan)
    extra = sorted((set(activated) | set(budget_tag_keys(plan))) - set(COST_ALLOCATION_TAGS))
    keys = [*COST_ALLOCATION_TAGS, *extra]
    unknown_level = WARNING if activated else INFO
    try:
        who = payer(account)
    except VerifyError as error:
        return [Finding(unknown_level, COST_ALLOCATION, SUBJECT,
                        f"cannot tell whether this account is the payer: {error}")]
    if not who.is_payer:
        where = (f"account {account.account_id} is a member of organization {who.organization}; "
                 f"its management account {who.management_account} activates cost allocation tags")
        if activated:
            return [Finding(BLOCKER, COST_ALLOCATION, SUBJECT,
                            f"the plan activates {', '.join(activated)} but {where} (member accounts are refused): "
                            "set maas:budgets.activate_cost_allocation_tags to false and activate them there "
                            "(docs/deploying.md)")]
        return [Finding(INFO, COST_ALLOCATION, SUBJECT,
                        f"{where}: there, once: {activation_command(keys)} (docs/deploying.md)")]
    try:
        listed = account.pages("ce", "list_cost_allocation_tags", "CostAllocationTags",
                               TagKeys=keys, Type="UserDefined")
    except VerifyError as error:
        return [Finding(unknown_level, COST_ALLOCATION, SUBJECT,
                        f"account {account.account_id} is the payer, but its tags cannot be listed: {error}")]
    status = {t.get("TagKey"): t.get("Status") for t in listed}
    unseen = [key for key in keys if key not in status]
    inactive = [key for key in keys if status.get(key) == "Inactive"]
    if activated and set(activated) & set(unseen):
        waiting = sorted(set(activated) & set(unseen))
        return [Finding(BLOCKER, COST_ALLOCATION, SUBJECT,
                        f"billing has not seen {', '.join(waiting)} yet, and the plan activates them: activation fails "
                        "until it has (up to 24 h after resources carry the keys); set "
                        "maas:budgets.activate_cost_allocation_tags to false for the first deploy")]
    if not unseen and not inactive:
        return [Finding(OK, COST_ALLOCATION, SUBJECT,
                        f"{', '.join(keys)} active in payer account {account.account_id}")]
    parts = [f"account {account.account_id} is the payer"]
    if inactive:
        parts.append(f"inactive: {', '.join(inactive)}: activate once with {activation_command(inactive)}")
    if unseen:
        parts.append(f"not seen by billing yet: {', '.join(unseen)} "
                     "(they appear up to 24 h after resources carry them; activate them then)")
    return [Finding(INFO, COST_ALLOCATION, SUBJECT, "; ".join(parts))]

