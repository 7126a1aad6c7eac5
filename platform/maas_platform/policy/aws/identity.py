"""MAAS-IAM-006..008: who can become what — IAM users and their long-lived credentials, roles
trusted by an OpenID Connect provider, and who administers the cluster.

Facts these rules rest on, checked on 2026-12-02:

* pulumi-aws 7.51 SDK (``pulumi_aws/iam/*.py`` type tokens; ``eks/_inputs.py``:
  ``bootstrapClusterCreatorAdminPermissions`` defaults to true).
* AWS Well-Architected SEC02-BP02 "Use temporary credentials" and the IAM guide "Manage access
  keys for IAM users" (docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html):
  access keys are long-term credentials, roles give temporary ones.
* GitHub, "Configuring OpenID Connect in Amazon Web Services" (docs.github.com): the issuer is
  ``token.actions.githubusercontent.com``; AWS recommends a condition on
  ``token.actions.githubusercontent.com:sub``, shaped ``repo:<owner>/<repo>:<ref|environment|...>``;
  the official action's audience is ``sts.amazonaws.com``. GitLab's subject is
  ``project_path:<group>/<project>:ref_type:<type>:ref:<ref>``.
* Amazon EKS guide, "Review access policy permissions" (docs.aws.amazon.com/eks/latest/userguide/
  access-policy-permissions.html): policies are ``arn:aws:eks::aws:cluster-access-policy/<name>``;
  AmazonEKSClusterAdminPolicy is like Kubernetes ``cluster-admin``, AmazonEKSAdminPolicy like
  ``admin`` (cluster-wide when associated at ``cluster`` scope).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ... import names
from ..core import Context, Finding, NotEvaluable, Outcome, Resource, resource_rule, stack_rule
from .helpers import as_list, is_false, is_unknown, last_segment, mapping, principal_values
from .iam import trust_statements, unknown_trust

# -- IAM users ---------------------------------------------------------------------------------

# What each kind is, as the finding names it.
USER_KINDS: Mapping[str, str] = {
    names.IAM_USER: "an IAM user, an identity with long-lived credentials",
    names.IAM_ACCESS_KEY: "an access key, a credential that never expires",
    names.IAM_USER_LOGIN_PROFILE: "a console password for an IAM user",
    names.IAM_SERVICE_SPECIFIC_CREDENTIAL: "a service-specific password of an IAM user",
    names.IAM_SIGNING_CERTIFICATE: "an X.509 signing certificate of an IAM user",
    names.IAM_SSH_KEY: "an SSH public key of an IAM user",
    names.IAM_USER_GROUP_MEMBERSHIP: "group memberships of an IAM user",
    names.IAM_GROUP_MEMBERSHIP: "group memberships of IAM users",
    names.IAM_USER_POLICY: "a policy of an IAM user",
    names.IAM_USER_POLICY_ATTACHMENT: "a managed policy attached to an IAM user",
    names.IAM_USER_POLICIES_EXCLUSIVE: "the policies of an IAM user",
    names.IAM_USER_POLICY_ATTACHMENTS_EXCLUSIVE: "the managed policies of an IAM user",
}


@resource_rule(
    "MAAS-IAM-006",
    title="No IAM users or long-lived credentials",
    description="The stack creates no IAM user, access key, console password, service-specific credential, signing "
                "certificate or SSH key, and grants nothing to IAM users. Every identity of the platform is a role "
                "with temporary credentials: workloads through EKS Pod Identity, CI through OIDC federation, people "
                "through SSO roles; a user's keys never expire and outlive whoever holds them.",
    severity="high",
    remediation="Use a role: an agent's is made by AgentService (Pod Identity); CI assumes a role trusted by the "
                "GitHub OIDC provider with a sub condition naming the repository; people assume roles from IAM "
                "Identity Center.",
    types=tuple(USER_KINDS),
    frameworks={"AWS Well-Architected": ["SEC02-BP02"], "NIST 800-53": ["IA-5", "AC-2"], "SOC 2": ["CC6.1"]},
)
def no_iam_users(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield f"creates {USER_KINDS[resource.type]}; the platform's identities are roles with temporary credentials"


# -- OIDC-federated trusts ---------------------------------------------------------------------

GITHUB_ISSUER = "token.actions.githubusercontent.com"
EKS_ISSUER_PREFIX = "oidc.eks."
COGNITO_ISSUER = "cognito-identity.amazonaws.com"


# How each known issuer's subject names who is trusted: a pattern (StringLike) must keep that
# part free of wildcards. An exact value (StringEquals) names one subject by itself; an issuer
# not listed needs a pattern with a fixed beginning at least.
SUBJECT_FORMATS: tuple[tuple[str, str, "re.Pattern[str]"], ...] = (
    (GITHUB_ISSUER, "repo:<owner>/<repository>:...", re.compile(r"^repo:[^*?/:]+/[^*?/:]+:")),
    ("gitlab.com", "project_path:<group>/<project>:...", re.compile(r"^project_path:[^*?:]+/[^*?:]+:")),
    (EKS_ISSUER_PREFIX, "system:serviceaccount:<namespace>:<name>",
     re.compile(r"^system:serviceaccount:[^*?:]+:[^*?:]+$")),
)
# Issuers whose tokens carry an audience the trust must pin: GitHub's and EKS's (the official
# clients ask for sts.amazonaws.com) and Cognito's (the identity pool, shared by every pool).
AUDIENCE_ISSUERS = (GITHUB_ISSUER, EKS_ISSUER_PREFIX, COGNITO_ISSUER)
# Operators that require the key to match; IfExists passes when the key is absent and
# ForAllValues passes on an empty set, negations match everything else.
MATCHING_OPERATORS = ("stringequals", "stringequalsignorecase", "stringlike")
WEB_IDENTITY_ACTION = "sts:assumerolewithwebidentity"


def issuer_of(federated: str) -> Optional[str]:
    """The OIDC issuer a Federated principal names (``oidc-provider/<issuer>`` of an ARN, or a
    web identity provider's name); None for a SAML provider, which no subject condition applies to."""
    if ":saml-provider/" in federated:
        return None
    if ":oidc-provider/" in federated:
        return federated.split(":oidc-provider/", 1)[1]
    return federated


def matching_values(statement: Mapping[str, Any], key: str) -> list[tuple[bool, Any]]:
    """``(is_pattern, value)`` of each value a matching operator requires ``key`` to have."""
    found: list[tuple[bool, Any]] = []
    for operator, values in mapping(statement.get("Condition")).items():
        op = str(operator).lower()
        if op.startswith("forallvalues:") or op.endswith("ifexists"):
            continue
        op = op.removeprefix("foranyvalue:")
        if op not in MATCHING_OPERATORS:
            continue
        for name, value in mapping(values).items():
            if str(name).lower() == key.lower():
                found.extend((op == "stringlike", v) for v in as_list(value))
    return found


def _wild(value: str) -> bool:
    return "*" in value or "?" in value


def subject_problem(issuer: str, statement: Mapping[str, Any]) -> Optional[str]:
    """Why the statement's subject condition does not name who is trusted, or None."""
    values = matching_values(statement, f"{issuer}:sub")
    if not values:
        return f"has no condition on {issuer}:sub (StringEquals or StringLike): any subject of the issuer may " \
               "assume the role"
    fmt = next(((shape, pattern) for prefix, shape, pattern in SUBJECT_FORMATS if issuer.startswith(prefix)), None)
    loose = []
    for is_pattern, value in values:
        if not isinstance(value, str) or not is_pattern or not _wild(value):
            continue
        if (fmt is not None and not fmt[1].match(value)) or (fmt is None and _wild(value[:1])):
            loose.append(value)
    if loose:
        shape = f" (name it as {fmt[0]})" if fmt else ""
        return f"lets {issuer}:sub match {', '.join(map(repr, sorted(loose)))}, which names no one subject{shape}"
    return None


def audience_problem(issuer: str, statement: Mapping[str, Any]) -> Optional[str]:
    if not issuer.startswith(AUDIENCE_ISSUERS):
        return None
    values = matching_values(statement, f"{issuer}:aud")
    if not values or any(is_pattern and isinstance(v, str) and _wild(v) for is_pattern, v in values):
        return f"does not pin {issuer}:aud to an exact audience (sts.amazonaws.com for GitHub Actions and EKS)"
    return None


def web_identity_allowed(statement: Mapping[str, Any]) -> bool:
    if "NotAction" in statement:
        return True
    return any(isinstance(a, str) and fnmatch.fnmatchcase(WEB_IDENTITY_ACTION, a.lower())
               for a in as_list(statement.get("Action")))


@resource_rule(
    "MAAS-IAM-007",
    title="Federated trusts name the subject they trust",
    description="A role that lets an OpenID Connect issuer's tokens assume it (sts:AssumeRoleWithWebIdentity for a "
                "Federated principal) requires <issuer>:sub with StringEquals or StringLike, and a pattern keeps the "
                "part that names the subject free of wildcards: the repository for GitHub Actions "
                "(repo:<owner>/<repo>:...), the project for GitLab, the namespace and service account for EKS. GitHub, "
                "EKS and Cognito trusts also pin <issuer>:aud. SAML trusts are left to the identity provider's "
                "attribute mapping; a missing EKS subject is MAAS-IAM-005's finding.",
    severity="critical",
    remediation="Condition the trust on StringEquals <issuer>:aud sts.amazonaws.com and StringLike <issuer>:sub "
                "repo:<owner>/<repo>:ref:refs/heads/main (or :environment:<name>); workloads use "
                "maas_platform.iam.pod_identity.",
    types=[names.IAM_ROLE],
    frameworks={"NIST 800-53": ["AC-3", "IA-2", "IA-8"], "SOC 2": ["CC6.1", "CC6.3"]},
)
def federated_trust_names_subject(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from unknown_trust(resource)
    for where, statement in trust_statements(resource):
        if statement.get("Effect") != "Allow" or not web_identity_allowed(statement):
            continue
        federated = mapping(statement.get("Principal")).get("Federated")
        for issuer in filter(None, (issuer_of(p) for p in principal_values(federated) if p != "*")):
            problem = subject_problem(issuer, statement)
            if problem and not (issuer.startswith(EKS_ISSUER_PREFIX) and "has no condition" in problem):
                yield f"trust {where} {problem}"
            audience = audience_problem(issuer, statement)
            if audience:
                yield f"trust {where} {audience}"


# -- cluster administrators --------------------------------------------------------------------

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"  # cluster-admin at any scope
ADMIN_POLICY = "AmazonEKSAdminPolicy"  # admin: cluster-wide when associated at cluster scope
MASTERS_GROUP = "system:masters"


def account_of(arn: str) -> Optional[str]:
    parts = arn.split(":")
    return parts[4] if arn.startswith("arn:") and len(parts) > 5 and parts[4] else None


def principal_of(association: Resource, entries: Sequence[Resource]) -> Union[str, NotEvaluable]:
    """The principal an association grants to: its own principalArn, or when that is not known
    yet, that of the access entry it was computed from."""
    principal = association.props.get("principalArn")
    if isinstance(principal, str) and not is_unknown(principal):
        return principal
    for entry in entries:
        if association.refers_to(entry, "principalArn") or entry.urn in association.property_dependencies.get(
                "principalArn", ()):
            known = entry.props.get("principalArn")
            if isinstance(known, str) and not is_unknown(known):
                return known
    return NotEvaluable("principalArn", association.urn)


def admin_problem(principal: str, grant: str, context: Context) -> Optional[str]:
    """Why ``principal`` may not hold ``grant`` in this stack, or None.

    A team stack grants no cluster administration. Otherwise a principal the config names
    (maas:cluster.admin_role_arns, in :attr:`Context.admin_principals`) passes whatever its
    account: the config names it on purpose (an operations account's role, as the shipped dev
    stack does). Any other principal is a finding when the config names administrators, and
    also when it belongs to another account than the stack's. A context that names none does
    not know them (the CrossGuard pack; a program without maas config): only the account
    check applies there."""
    if context.team_stack:
        return f"grants {grant} to {principal} from a team stack: cluster administration is the platform's " \
               "(maas:cluster.admin_role_arns)"
    if principal in context.admin_principals:
        return None
    problems = []
    if context.admin_principals:
        problems.append("is not named in maas:cluster.admin_role_arns")
    account = account_of(principal)
    if context.account_id and account != context.account_id:
        problems.append(f"belongs to account {account or 'unknown'}, not the stack's {context.account_id}")
    return f"grants {grant} to {principal}, which {' and '.join(problems)}" if problems else None


@stack_rule(
    "MAAS-IAM-008",
    title="Only the configured administrators administer the cluster",
    description="Cluster administration (an access policy association of AmazonEKSClusterAdminPolicy, or of "
                "AmazonEKSAdminPolicy at cluster scope; an access entry in the system:masters group; the cluster "
                "creator's bootstrap admin) goes only to principals the config names in "
                "maas:cluster.admin_role_arns, never to another principal (of another account least of all), and "
                "never from a team stack. Associations pair with their entry by principal ARN or engine reference.",
    severity="critical",
    remediation="List the administrator roles in maas:cluster.admin_role_arns (the Cluster component creates their "
                "entries); give teams namespace-scoped access (maas:teams); set "
                "accessConfig.bootstrapClusterCreatorAdminPermissions false.",
    frameworks={"CIS EKS": ["4.1.1"], "NIST 800-53": ["AC-2", "AC-6(5)"], "SOC 2": ["CC6.1", "CC6.3"]},
)
def cluster_admins_configured(resources: Sequence[Resource], context: Context
                              ) -> Iterable[Union[Finding, NotEvaluable]]:
    entries = [r for r in resources if r.type == names.EKS_ACCESS_ENTRY]
    for association in (r for r in resources if r.type == names.EKS_ACCESS_POLICY_ASSOCIATION):
        grant = admin_grant(association)
        if grant is None:
            continue
        if isinstance(grant, NotEvaluable):
            yield grant.at(association.urn)
            continue
        yield from judged(principal_of(association, entries), grant, association.urn, context)
    for entry in entries:
        groups = entry.props.get("kubernetesGroups")
        if is_unknown(groups):
            yield NotEvaluable("kubernetesGroups", entry.urn)
        elif MASTERS_GROUP in as_list(groups):
            principal = entry.props.get("principalArn")
            found = principal if isinstance(principal, str) and not is_unknown(principal) else \
                NotEvaluable("principalArn", entry.urn)
            yield from judged(found, f"the {MASTERS_GROUP} group", entry.urn, context)
    for cluster in (r for r in resources if r.type == names.EKS_CLUSTER):
        yield from creator_admin(cluster)


def admin_grant(association: Resource) -> Union[None, str, NotEvaluable]:
    policy = association.props.get("policyArn")
    if is_unknown(policy):
        return NotEvaluable("policyArn")
    name = last_segment(policy, "/")
    if name == CLUSTER_ADMIN_POLICY:
        return CLUSTER_ADMIN_POLICY
    if name != ADMIN_POLICY:
        return None
    scope = association.unknown_at("accessScope.type")
    if scope:
        return NotEvaluable(scope)
    return f"{ADMIN_POLICY} at cluster scope" if association.get("accessScope.type") == "cluster" else None


def judged(principal: Union[str, NotEvaluable], grant: str, urn: str, context: Context
           ) -> Iterator[Union[Finding, NotEvaluable]]:
    if isinstance(principal, NotEvaluable):
        if context.team_stack:
            yield Finding(urn, f"grants {grant} from a team stack: cluster administration is the platform's")
        else:
            yield principal
        return
    problem = admin_problem(principal, grant, context)
    if problem:
        yield Finding(urn, problem)


def creator_admin(cluster: Resource) -> Iterator[Union[Finding, NotEvaluable]]:
    unknown = cluster.unknown_at("accessConfig.bootstrapClusterCreatorAdminPermissions")
    if unknown:
        yield NotEvaluable(unknown, cluster.urn)
        return
    value = cluster.get("accessConfig.bootstrapClusterCreatorAdminPermissions")
    if not is_false(value):
        yield Finding(cluster.urn, "accessConfig.bootstrapClusterCreatorAdminPermissions is "
                                   f"{value if value is not None else 'unset (default true)'}: whoever runs "
                                   "`pulumi up` becomes cluster admin, named in no config")
