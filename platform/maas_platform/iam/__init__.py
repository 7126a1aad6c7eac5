"""IAM policy documents built from explicit statements.

Every statement names its actions and its resources. ``*`` actions (``*``, ``sqs:*``)
are refused, and so are empty action or resource lists. A ``*`` resource is allowed
only in a resource policy (a key policy's ``*`` means "this key") or with a stated
reason for the few read-only APIs that take no resource scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi

from ..names import POD_IDENTITY_PRINCIPAL


class GrantError(ValueError):
    """A statement that would grant more than it names."""


@dataclass(frozen=True)
class Statement:
    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]] = ()
    sid: Optional[str] = None
    effect: str = "Allow"
    principals: Optional[Mapping[str, Any]] = None
    conditions: Optional[Mapping[str, Mapping[str, Any]]] = None
    any_resource_reason: Optional[str] = None
    not_principal: bool = field(default=False)

    def __post_init__(self) -> None:
        if not self.actions:
            raise GrantError(f"statement {self.sid or ''}: an empty action list grants nothing; name the actions")
        for action in self.actions:
            if action == "*" or action.endswith(":*") or ":" not in action:
                raise GrantError(f"statement {self.sid or ''}: '{action}' is a wildcard or malformed action; list explicit actions")
        if self.effect not in ("Allow", "Deny"):
            raise GrantError(f"statement {self.sid or ''}: effect must be Allow or Deny")
        if not self.resources:
            raise GrantError(f"statement {self.sid or ''}: name the resources it applies to")
        if "*" in self.resources and self.principals is None and self.any_resource_reason is None and self.effect == "Allow":
            raise GrantError(
                f"statement {self.sid or ''}: '*' resource in an identity policy; scope it to ARNs or state any_resource_reason"
            )


def _render(statement: Statement, resources: list[str], principals: Any, conditions: Any) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    if statement.sid:
        rendered["Sid"] = statement.sid
    rendered["Effect"] = statement.effect
    if principals is not None:
        rendered["NotPrincipal" if statement.not_principal else "Principal"] = principals
    actions = sorted(set(statement.actions))
    rendered["Action"] = actions[0] if len(actions) == 1 else actions
    unique = sorted(set(resources))
    rendered["Resource"] = unique[0] if len(unique) == 1 else unique
    if conditions:
        rendered["Condition"] = conditions
    return rendered


def policy_document(*statements: Statement) -> pulumi.Output[str]:
    """Render statements into a JSON policy document (resolved once every ARN is known)."""
    if not statements:
        raise GrantError("a policy needs at least one statement")
    n = len(statements)
    inputs = [pulumi.Output.all(*s.resources) for s in statements]
    inputs += [pulumi.Output.from_input(s.principals) for s in statements]
    inputs += [pulumi.Output.from_input(s.conditions) for s in statements]

    def build(args: list[Any]) -> str:
        rendered = [
            _render(statement, list(args[i]), args[n + i], args[2 * n + i]) for i, statement in enumerate(statements)
        ]
        return json.dumps({"Version": "2012-10-17", "Statement": rendered})

    return pulumi.Output.all(*inputs).apply(build)


def assume_role_policy(
    principal: Mapping[str, Any],
    *,
    actions: Sequence[str] = ("sts:AssumeRole",),
    conditions: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> pulumi.Output[str]:
    """A trust policy for one principal, e.g. ``{"Service": "eks.amazonaws.com"}``."""
    return trust_policy(Trust(principal=principal, actions=actions, conditions=conditions))


def managed_policy_arn(partition: str, name: str) -> str:
    """ARN of an AWS-managed policy, e.g. ``AmazonEKSClusterPolicy``."""
    return f"arn:{partition}:iam::aws:policy/{name}"



@dataclass(frozen=True)
class Trust:
    """One statement of a role's trust policy (trust policies carry no ``Resource``)."""

    principal: Mapping[str, Any]
    actions: Sequence[str] = ("sts:AssumeRole",)
    conditions: Optional[Mapping[str, Mapping[str, Any]]] = None
    sid: Optional[str] = None


def trust_policy(*trusts: Trust) -> pulumi.Output[str]:
    """A role trust policy of one or more principals, each with its own conditions."""
    if not trusts:
        raise GrantError("a trust policy needs at least one principal")

    def build(resolved: list[Any]) -> str:
        statements = []
        for trust, (principal, conditions) in zip(trusts, zip(resolved[::2], resolved[1::2])):
            statement: dict[str, Any] = {"Sid": trust.sid} if trust.sid else {}
            statement.update({"Effect": "Allow", "Principal": principal, "Action": list(trust.actions)})
            if conditions:
                statement["Condition"] = conditions
            statements.append(statement)
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    inputs = []
    for trust in trusts:
        inputs += [pulumi.Output.from_input(trust.principal), pulumi.Output.from_input(trust.conditions)]
    return pulumi.Output.all(*inputs).apply(build)


def pod_identity(
    account_id: pulumi.Input[str], cluster_arn: pulumi.Input[str], namespace: str, service_account: str
) -> Trust:
    """EKS Pod Identity for one service account of one cluster of one account.

    EKS Pod Identity assumes the role with session tags naming the cluster, namespace and
    service account; the trust conditions on those tags are what scope the role (the
    EKS user guide, "Create IAM role with trust policy required by EKS Pod Identity").
    """
    return Trust(
        sid="EksPodIdentityOfOneServiceAccount",
        principal={"Service": POD_IDENTITY_PRINCIPAL},
        actions=("sts:AssumeRole", "sts:TagSession"),
        conditions={"StringEquals": {
            "aws:SourceAccount": account_id,
            "aws:RequestTag/eks-cluster-arn": cluster_arn,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
        }},
    )


def web_identity(
    provider_arn: pulumi.Input[str], issuer: pulumi.Input[str], namespace: str, service_account: str, *, sid: str
) -> Trust:
    """IRSA: a token of one service account of one cluster, exchanged with AssumeRoleWithWebIdentity.

    ``issuer`` is the cluster's OIDC issuer URL (``https://oidc.eks...``); the condition keys are
    its host and path followed by ``:sub`` and ``:aud``. A token Kubernetes issues for a service
    account carries ``sub = system:serviceaccount:<namespace>:<name>``, so only that service
    account's tokens satisfy the trust, and ``aud = sts.amazonaws.com`` only when requested for
    STS (EKS user guide, "IAM roles for service accounts: technical overview",
    docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts-technical-overview.html,
    checked on 2026-12-02: StringEquals on ``<provider>:sub`` and ``<provider>:aud``).
    """
    host = pulumi.Output.from_input(issuer).apply(lambda url: url.removeprefix("https://"))
    return Trust(
        sid=sid,
        principal={"Federated": provider_arn},
        actions=("sts:AssumeRoleWithWebIdentity",),
        conditions=host.apply(lambda host: {"StringEquals": {
            f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            f"{host}:aud": "sts.amazonaws.com",
        }}),
    )
