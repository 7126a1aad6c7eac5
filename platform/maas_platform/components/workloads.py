"""What every cluster add-on is made of: a pinned Helm chart and, when it calls AWS, its
own Pod Identity role bound to exactly one service account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..iam import Statement, pod_identity, policy_document, trust_policy
from .base import AccountContext, StrInput, child

HELM_TIMEOUT_SECONDS = 600
HELM_MAX_HISTORY = 10


@dataclass(frozen=True)
class Chart:
    """A Helm chart pinned to one exact version."""

    name: str
    version: str
    repo: str
    app_version: str


def pod_identity_trust_policy(
    account: AccountContext, cluster_arn: StrInput, namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Trust for one service account in one namespace of one cluster, through EKS Pod Identity
    (session tags ``eks-cluster-arn``, ``kubernetes-namespace``, ``kubernetes-service-account``;
    the associations keep session tags on)."""
    return trust_policy(pod_identity(account.account_id, cluster_arn, namespace, service_account))


def workload_identity(
    parent: pulumi.Resource, name: str, *, account: AccountContext, cluster_name: StrInput, cluster_arn: StrInput,
    role_name: str, namespace: str, service_account: str, statements: Sequence[Statement], description: str,
) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
    """A role trusted by one service account, its inline policy, and the association.

    The association waits for the policy, so the first credentials the pods get already
    carry the permissions. Resources are named ``<name>-role``, ``-policy``, ``-identity``.
    """
    role = aws.iam.Role(
        f"{name}-role",
        name=role_name,
        description=description,
        assume_role_policy=pod_identity_trust_policy(account, cluster_arn, namespace, service_account),
        max_session_duration=3600,
        opts=child(parent),
    )
    policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy_document(*statements), opts=child(parent))
    association = aws.eks.PodIdentityAssociation(
        f"{name}-identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        disable_session_tags=False,  # the trust policy checks the session tags
        opts=child(parent, depends_on=[policy]),
    )
    return role, association


def helm_release(
    parent: pulumi.Resource, resource_name: str, chart: Chart, *, namespace: pulumi.Input[str], values: dict,
    depends_on: Sequence[pulumi.Resource], protect: bool,
) -> k8s.helm.v3.Release:
    """A pinned, atomic Helm release with a fixed release name (stable object names)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=chart.name,
        chart=chart.name,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        namespace=namespace,
        create_namespace=False,
        atomic=True,
        cleanup_on_fail=True,
        timeout=HELM_TIMEOUT_SECONDS,
        max_history=HELM_MAX_HISTORY,
        values=values,
        opts=child(parent, protect=protect, depends_on=list(depends_on)),
    )
