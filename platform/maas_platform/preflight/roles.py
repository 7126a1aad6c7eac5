"""Identity and roles: the deploying account, the roles the config names, the service-linked roles the plan names.

A role the stack names but does not create must exist before ``pulumi up``: an EKS access
entry for a missing principal is refused, and so is a trust or key policy naming one (KMS:
``MalformedPolicyDocumentException: Policy contains a statement with one or more invalid
principals``). The Auto Scaling service-linked role is the case a fresh account meets: the
``ebs`` key policy names it, and AWS creates it only with the account's first Auto Scaling
group (terraform-aws-modules/terraform-aws-eks#3013, particuleio/teks#92, read 2026-12-02).
Which service-linked roles a stack needs is read from the plan itself: every policy document
whose ``Principal`` names ``role/aws-service-role/<service>/<name>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ..config.models import PlatformConfig
from ..plan.model import Plan
from ..verify.aws import NotFound
from .account import PreflightAccount
from .findings import BLOCKER, IDENTITY, OK, ROLES, WARNING, Finding

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")
SERVICE_LINKED_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/aws-service-role/([a-z0-9.-]+)/([\w+=,.@-]+)")


@dataclass(frozen=True)
class NamedRole:
    """A role the config names: the key that names it, and its ARN."""

    key: str
    arn: str


def account_findings(config: Optional[PlatformConfig], account_id: str) -> list[Finding]:
    """The credentials' account against ``maas:account_id`` (the provider allows no other)."""
    expected = config.account_id if config is not None else None
    if expected and expected != account_id:
        return [Finding(BLOCKER, IDENTITY, "maas:account_id",
                        f"the stack deploys to account {expected} but the credentials are for account {account_id}: "
                        f"use credentials of {expected} (the AWS provider refuses any other account)")]
    subject = "maas:account_id" if expected else "credentials"
    return [Finding(OK, IDENTITY, subject, f"account {account_id}")]


def named_roles(config: Optional[PlatformConfig]) -> list[NamedRole]:
    """The roles the platform config names, each once, under the first key that names it."""
    if config is None:
        return []
    named = [NamedRole(f"maas:cluster.admin_role_arns[{i}]", arn)
             for i, arn in enumerate(config.cluster.admin_role_arns)]
    named += [NamedRole(f"maas:broker.operator_role_arns[{i}]", arn)
              for i, arn in enumerate(config.broker.operator_role_arns)]
    seen: set[str] = set()
    unique = []
    for role in named:
        if role.arn not in seen:
            seen.add(role.arn)
            unique.append(role)
    return unique


def role_findings(roles: list[NamedRole], account: PreflightAccount) -> list[Finding]:
    """Each named role exists (``iam:GetRole``); one in another account cannot be read from here."""
    found = []
    for role in roles:
        match = ROLE_ARN.match(role.arn)
        if not match:
            found.append(Finding(BLOCKER, ROLES, role.key, f"{role.arn} is not an IAM role ARN: fix {role.key}"))
            continue
        owner, name = match.groups()
        if owner != account.account_id:
            found.append(Finding(WARNING, ROLES, role.key,
                                 f"{role.arn} is in account {owner}, not {account.account_id}: not checked from here; "
                                 "make sure it exists before pulumi up"))
        elif _role_exists(account, name):
            found.append(Finding(OK, ROLES, role.key, f"{role.arn} exists"))
        else:
            found.append(Finding(BLOCKER, ROLES, role.key,
                                 f"{role.arn} does not exist: create the role or fix {role.key}"))
    return found


def service_linked_roles(plan: Plan) -> dict[str, tuple[str, list[str]]]:
    """Role name -> (service principal, the planned resources whose policies name it as a principal).

    Only principals count: a policy may name a service-linked role as a resource (a grant to
    create it) without needing it to exist.
    """
    found: dict[str, tuple[str, list[str]]] = {}
    for resource in plan.resources:
        for principal in _policy_principals(resource.inputs):
            match = SERVICE_LINKED_ROLE.fullmatch(principal)
            if match:
                service, name = match.groups()
                users = found.setdefault(name, (service, []))[1]
                if resource.name not in users:
                    users.append(resource.name)
    return dict(sorted(found.items()))


def service_linked_role_findings(plan: Plan, account: PreflightAccount) -> list[Finding]:
    found = []
    for name, (service, users) in service_linked_roles(plan).items():
        named_by = ", ".join(users)
        if _role_exists(account, name):
            found.append(Finding(OK, ROLES, name, f"service-linked role exists (named by {named_by})"))
        else:
            found.append(Finding(
                BLOCKER, ROLES, name,
                f"service-linked role missing; the policy of {named_by} names it and a policy naming a missing "
                f"principal is refused: aws iam create-service-linked-role --aws-service-name {service}",
            ))
    return found


def _role_exists(account: PreflightAccount, name: str) -> bool:
    try:
        account.call("iam", "get_role", RoleName=name)
    except NotFound:
        return False
    return True


def _policy_principals(value: Any) -> Iterator[str]:
    """The ``AWS`` principals of every policy document among an input's values (documents are JSON strings)."""
    if isinstance(value, str):
        if '"Statement"' not in value:
            return
        try:
            document = json.loads(value)
        except ValueError:
            return
        statements = document.get("Statement") if isinstance(document, dict) else None
        for statement in statements if isinstance(statements, list) else [statements]:
            principal = statement.get("Principal") if isinstance(statement, dict) else None
            if isinstance(principal, dict):
                aws = principal.get("AWS")
                yield from (p for p in (aws if isinstance(aws, list) else [aws]) if isinstance(p, str))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _policy_principals(item)
    elif isinstance(value, list):
        for item in value:
            yield from _policy_principals(item)
