"""Team deploy identities (maas:teams, components/teams.py, docs/teams.md).

In the cluster: a team's access policy reaches exactly its agents' namespaces, and its RBAC
grants nothing namespaced cluster-wide but Namespace verbs. In AWS: a small evaluator of IAM
identity policies replays, as requests, every AWS resource the example team stack plans, and
checks the deploy role allows them all, and refuses the same resources of another team's agents
(the platform stack's), the platform's own keys, cluster and topics, and an agent role without
the platform's permissions boundary.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional

import pytest
import yaml

from conftest import ROOT, as_list, statements
from maas_platform import names
from maas_platform.components.teams import (
    AGENT_OBJECT_RULES, NAMESPACE_VERBS, agent_objects_role_name, boundary_statements, team_group,
)
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.iam.actions import ECR_LOGIN, ECR_PULL, ECR_PUSH, ECR_SCAN_READ, IMAGE_SIGN, INSPECTOR_FINDINGS_READ
from maas_platform.config.teams import TeamConfig, team_problem
from maas_platform.plan import Plan, plan_project

TEAM_PROJECT = ROOT / "stacks" / "teams" / "example"
TEAM, AGENTS = "claims", ("intake", "summarizer")
ACCOUNT, REGION, PREFIX = "123456789012", "us-east-1", "maas-dev"
ROLE_POLICY = names.IAM_ROLE_POLICY
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"


@pytest.fixture(scope="module")
def team_plan() -> Plan:
    return plan_project(TEAM_PROJECT, stack="dev")


@pytest.fixture(scope="module")
def dev(plans) -> Plan:
    return plans["dev"]


def by_name(plan: Plan, type_token: str, name: str) -> Mapping[str, Any]:
    found = [r for r in plan.resources if r["type"] == type_token and r["name"] == name]
    assert len(found) == 1, f"{type_token}::{name}: {len(found)} found"
    return found[0]


def deploy_policy(dev: Plan) -> list[dict[str, Any]]:
    return statements(by_name(dev, ROLE_POLICY, f"{PREFIX}-team-{TEAM}-policy")["inputs"]["policy"])


def boundary_arn(dev: Plan) -> str:
    return dev.stack_outputs().values["agent_permissions_boundary_arn"]


# -- an evaluator of identity policies ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorization: an action on one resource ARN, with the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    what: str = ""


def _like(pattern: str, value: str) -> bool:
    # IAM's '*' matches any characters, '/' and ':' included, as fnmatch's does.
    return fnmatch.fnmatchcase(value, pattern)


def _substituted(value: str, principal_tags: Mapping[str, str]) -> str:
    for key, tag in principal_tags.items():
        value = value.replace(f"${{aws:PrincipalTag/{key}}}", tag)
    return value


def _holds(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any],
           principal_tags: Mapping[str, str]) -> bool:
    for operator, block in conditions.items():
        for key, expected in block.items():
            wanted = [_substituted(str(v), principal_tags) for v in as_list(expected)]
            if operator == "ForAllValues:StringNotEquals":
                if any(v in wanted for v in as_list(context.get(key, []))):
                    return False
                continue
            if operator == "Null":
                if (key not in context) != (str(expected).lower() == "true"):
                    return False
                continue
            base, if_exists = operator.removesuffix("IfExists"), operator.endswith("IfExists")
            if key not in context:
                if if_exists:
                    continue
                return False
            actual = [str(v) for v in as_list(context[key])]
            if base in ("StringEquals", "ArnEquals"):
                ok = any(a in wanted for a in actual)
            elif base in ("StringLike", "ArnLike"):
                ok = any(_like(w, a) for w in wanted for a in actual)
            else:
                raise AssertionError(f"the evaluator does not know the operator {operator}")
            if not ok:
                return False
    return True


def _applies(statement: Mapping[str, Any], request: Request, principal_tags: Mapping[str, str]) -> bool:
    actions = as_list(statement.get("Action"))
    resources = [_substituted(r, principal_tags) for r in as_list(statement.get("Resource"))]
    return (any(_like(a.lower(), request.action.lower()) for a in actions)
            and any(_like(r, request.resource) for r in resources)
            and _holds(statement.get("Condition") or {}, request.context, principal_tags))


def allowed(policy: list[Mapping[str, Any]], request: Request, principal_tags: Optional[Mapping[str, str]] = None) -> bool:
    """IAM's answer for one identity policy: an Allow that applies and no Deny that applies."""
    tags = principal_tags or {}
    if any(s["Effect"] == "Deny" and _applies(s, request, tags) for s in policy):
        return False
    return any(s["Effect"] == "Allow" and _applies(s, request, tags) for s in policy)


def test_the_evaluator_can_refuse():
    policy = [{"Effect": "Allow", "Action": "sqs:CreateQueue", "Resource": "arn:aws:sqs:*:*:a-*",
               "Condition": {"StringEquals": {"aws:RequestTag/team": "claims"}}}]
    assert allowed(policy, Request("sqs:CreateQueue", "arn:aws:sqs:r:1:a-x", {"aws:RequestTag/team": "claims"}))
    assert not allowed(policy, Request("sqs:CreateQueue", "arn:aws:sqs:r:1:a-x", {"aws:RequestTag/team": "other"}))
    assert not allowed(policy, Request("sqs:CreateQueue", "arn:aws:sqs:r:1:a-x"))
    assert not allowed(policy, Request("sqs:CreateQueue", "arn:aws:sqs:r:1:b-x", {"aws:RequestTag/team": "claims"}))
    assert not allowed(policy + [{"Effect": "Deny", "Action": "sqs:*", "Resource": "*"}],
                       Request("sqs:CreateQueue", "arn:aws:sqs:r:1:a-x", {"aws:RequestTag/team": "claims"}))


# -- what a stack's agents create, as requests ------------------------------------------------------


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


S3_SETTINGS = {
    names.S3_BUCKET_PUBLIC_ACCESS_BLOCK: "s3:PutBucketPublicAccessBlock",
    names.S3_BUCKET_OWNERSHIP_CONTROLS: "s3:PutBucketOwnershipControls",
    names.S3_BUCKET_VERSIONING: "s3:PutBucketVersioning",
    names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION: "s3:PutEncryptionConfiguration",
    names.S3_BUCKET_LIFECYCLE_CONFIGURATION: "s3:PutLifecycleConfiguration",
    names.S3_BUCKET_POLICY: "s3:PutBucketPolicy",
}


def agent_requests(plan: Plan, agents: tuple[str, ...], *, strict: bool = True) -> Iterator[Request]:
    """What the AWS resources of ``agents`` in ``plan`` ask IAM for when they are created: the
    create call with the resource's tags, and a change of it under those tags."""
    roles = {r["inputs"]["tags"]["agent"]: r for r in plan.of_type(names.IAM_ROLE)
             if (r["inputs"].get("tags") or {}).get("agent") in agents
             and r["inputs"]["name"] == f"{PREFIX}-agent-{r['inputs']['tags']['agent']}"}
    boundaries = {r["inputs"].get("name"): r["inputs"].get("permissionsBoundary") for r in plan.of_type(names.IAM_ROLE)}
    # A key's alias is named after the key's resource (<key>-alias): the agent's key and its signing key.
    keys = {r["name"].removesuffix("-alias"): r["inputs"]["targetKeyId"] for r in plan.of_type(names.KMS_ALIAS)}
    via_ecr = {"kms:ViaService": f"ecr.{REGION}.amazonaws.com"}

    def owner(resource: Mapping[str, Any]) -> Optional[str]:
        name = resource["name"]
        return next((a for a in sorted(agents, key=len, reverse=True)
                     if name.startswith((f"{a}-", f"{PREFIX}-agent-{a}-"))), None)

    for resource in plan.resources:
        kind, inputs = resource["type"], resource["inputs"]
        agent = owner(resource)
        if agent is None or not kind.startswith("aws:"):
            continue
        tags = roles[agent]["inputs"]["tags"]
        created = {**{f"aws:RequestTag/{k}": v for k, v in (inputs.get("tags") or {}).items()},
                   "aws:TagKeys": sorted(inputs.get("tags") or {})}
        owned = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
        what = f"{kind}::{resource['name']}"

        def req(action: str, arn: str, context: Optional[Mapping[str, Any]] = None) -> Request:
            return Request(action, arn, dict(context or {}), what)

        if kind == names.IAM_ROLE:
            role = _role_arn(inputs["name"])
            yield req("iam:CreateRole", role, {**created, "iam:PermissionsBoundary": inputs.get("permissionsBoundary")})
            yield req("iam:TagRole", role, created)
        elif kind == ROLE_POLICY:
            boundary = boundaries[inputs["role"]]
            yield req("iam:PutRolePolicy", _role_arn(inputs["role"]), {**owned, "iam:PermissionsBoundary": boundary})
        elif kind == names.KMS_KEY:
            key = keys.get(resource["name"], "k")
            yield req("kms:CreateKey", "*", created)
            yield req("kms:TagResource", _arn("kms", f"key/{key}"), created)  # the tags of CreateKey
            yield req("kms:EnableKeyRotation", _arn("kms", f"key/{key}"), owned)
            yield req("kms:PutKeyPolicy", _arn("kms", f"key/{key}"), owned)
        elif kind == names.KMS_ALIAS:
            yield req("kms:CreateAlias", _arn("kms", inputs["name"]))
            yield req("kms:CreateAlias", _arn("kms", f"key/{inputs['targetKeyId']}"), owned)
        elif kind == names.ECR_REPOSITORY:
            repository = _arn("ecr", f"repository/{inputs['name']}")
            yield req("ecr:CreateRepository", repository, created)
            yield req("ecr:TagResource", repository, created)  # CreateRepository's dependent action
            # ECR, as the caller, on the key that encrypts the repository (create, then delete).
            key = inputs["encryptionConfigurations"][0]["kmsKey"]
            yield req("kms:DescribeKey", key, {**owned, **via_ecr})
            yield req("kms:CreateGrant", key, {**owned, **via_ecr})
            yield req("ecr:DescribeRepositories", repository)
            yield req("ecr:ListTagsForResource", repository)
            yield req("ecr:PutImageTagMutability", repository, owned)
            yield req("ecr:PutImageScanningConfiguration", repository, owned)
            yield req("ecr:DeleteRepository", repository, owned)
            yield req("kms:RetireGrant", key, {**owned, **via_ecr})
        elif kind == names.ECR_LIFECYCLE_POLICY:
            repository = _arn("ecr", f"repository/{inputs['repository']}")
            yield req("ecr:PutLifecyclePolicy", repository, owned)
            yield req("ecr:GetLifecyclePolicy", repository)
            yield req("ecr:DeleteLifecyclePolicy", repository, owned)
        elif kind == ECR_REPOSITORY_POLICY:
            repository = _arn("ecr", f"repository/{inputs['repository']}")
            yield req("ecr:SetRepositoryPolicy", repository, owned)
            yield req("ecr:GetRepositoryPolicy", repository)
            yield req("ecr:DeleteRepositoryPolicy", repository, owned)
        elif kind == names.SECRETSMANAGER_SECRET:
            secret = _arn("secretsmanager", f"secret:{inputs['name']}-AbCdEf")
            yield req("secretsmanager:CreateSecret", secret, created)
            yield req("secretsmanager:TagResource", secret, created)
        elif kind == names.SECRETSMANAGER_SECRET_POLICY:
            yield req("secretsmanager:PutResourcePolicy", inputs["secretArn"], owned)
        elif kind == names.DYNAMODB_TABLE:
            table = _arn("dynamodb", f"table/{inputs['name']}")
            yield req("dynamodb:CreateTable", table, created)
            yield req("dynamodb:TagResource", table, created)
            yield req("dynamodb:UpdateContinuousBackups", table, owned)
        elif kind == names.S3_BUCKET:
            # terraform-provider-aws creates the bucket without tags, then PutBucketTagging.
            yield req("s3:CreateBucket", f"arn:aws:s3:::{inputs['bucket']}")
            yield req("s3:PutBucketTagging", f"arn:aws:s3:::{inputs['bucket']}")
        elif kind in S3_SETTINGS:
            yield req(S3_SETTINGS[kind], f"arn:aws:s3:::{inputs['bucket']}")
        elif kind == names.SQS_QUEUE:
            yield req("sqs:CreateQueue", _arn("sqs", inputs["name"]), created)
            yield req("sqs:TagQueue", _arn("sqs", inputs["name"]), created)
        elif kind in (names.SQS_QUEUE_POLICY, names.SQS_REDRIVE_ALLOW_POLICY):
            yield req("sqs:SetQueueAttributes", _arn("sqs", inputs["queueUrl"].rsplit("/", 1)[1]), owned)
        elif kind == names.SNS_TOPIC_SUBSCRIPTION:
            yield req("sns:Subscribe", inputs["topic"], {"sns:Endpoint": inputs["endpoint"], "sns:Protocol": inputs["protocol"]})
        elif kind == names.CLOUDWATCH_METRIC_ALARM:
            yield req("cloudwatch:PutMetricAlarm", _arn("cloudwatch", f"alarm:{inputs['name']}"), created)
            yield req("cloudwatch:TagResource", _arn("cloudwatch", f"alarm:{inputs['name']}"), created)
        elif kind == names.CLOUDWATCH_LOG_GROUP:
            group = _arn("logs", f"log-group:{inputs['name']}")
            yield req("logs:CreateLogGroup", group, created)
            yield req("logs:PutRetentionPolicy", group, owned)
        elif kind == names.BUDGETS_BUDGET:
            yield req("budgets:ModifyBudget", f"arn:aws:budgets::{ACCOUNT}:budget/{inputs['name']}")
        elif kind == names.EKS_POD_IDENTITY_ASSOCIATION:
            yield req("eks:CreatePodIdentityAssociation", _arn("eks", f"cluster/{inputs['clusterName']}"), created)
            association = _arn("eks", f"podidentityassociation/{inputs['clusterName']}/a-0123456789abcdef0")
            yield req("eks:TagResource", association, {**owned, **created})
            yield req("eks:DeletePodIdentityAssociation", association, owned)
            yield req("iam:PassRole", inputs["roleArn"])
        elif strict:
            raise AssertionError(f"{what}: the evaluator has no request for this type; add it")


# -- AWS: the deploy role -----------------------------------------------------------------------------


def test_the_deploy_role_allows_everything_the_example_team_creates(dev, team_plan):
    policy = deploy_policy(dev)
    requests = list(agent_requests(team_plan, AGENTS))
    assert {r.what.split("::")[0] for r in requests} >= {
        names.IAM_ROLE, ROLE_POLICY, names.KMS_KEY, names.KMS_ALIAS, names.SECRETSMANAGER_SECRET, names.DYNAMODB_TABLE,
        names.S3_BUCKET, names.SQS_QUEUE, names.SNS_TOPIC_SUBSCRIPTION, names.CLOUDWATCH_METRIC_ALARM,
        names.CLOUDWATCH_LOG_GROUP, names.BUDGETS_BUDGET, names.EKS_POD_IDENTITY_ASSOCIATION,
        names.ECR_REPOSITORY, names.ECR_LIFECYCLE_POLICY, ECR_REPOSITORY_POLICY,
    }
    refused = [f"{r.what}: {r.action} on {r.resource}" for r in requests if not allowed(policy, r)]
    assert refused == []


def test_the_deploy_role_refuses_the_same_resources_of_another_teams_agents(dev):
    """The platform stack's agents (teams support and insights) are what another team's look like."""
    policy = deploy_policy(dev)
    others = tuple(dev.stack_outputs().values["agents"])
    requests = list(agent_requests(dev, others, strict=False))
    assert len(requests) > 30
    let_through = [f"{r.what}: {r.action} on {r.resource}" for r in requests if allowed(policy, r)]
    assert let_through == []


def test_the_deploy_role_refuses_the_platforms_own_resources(dev):
    policy = deploy_policy(dev)
    outputs = dev.stack_outputs().values
    platform = {"aws:ResourceTag/team": "platform"}
    requests = [
        *[Request(action, outputs[f"{purpose}_key_arn"], platform)
          for purpose in ("eks", "logs", "ebs")
          for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:Decrypt", "kms:CreateGrant")],
        # Claiming a platform key by tagging it the team's.
        *[Request("kms:TagResource", outputs[f"{purpose}_key_arn"], {**platform, "aws:RequestTag/team": TEAM})
          for purpose in ("eks", "logs", "ebs")],
        *[Request(action, outputs["cluster_arn"], platform)
          for action in ("eks:CreateAccessEntry", "eks:AssociateAccessPolicy", "eks:DeleteCluster",
                         "eks:UpdateClusterConfig")],
        *[Request(action, topic["arn"], platform)
          for topic in outputs["messaging"]["topics"].values()
          for action in ("sns:SetTopicAttributes", "sns:AddPermission", "sns:DeleteTopic", "sns:Publish")],
        # Subscribing another queue than its agents' inboxes to a platform topic.
        *[Request("sns:Subscribe", topic["arn"], {"sns:Endpoint": _arn("sqs", f"{PREFIX}-triage-inbox"),
                                                  "sns:Protocol": "sqs"})
          for topic in outputs["messaging"]["topics"].values()],
        Request("iam:CreatePolicyVersion", boundary_arn(dev)),
        Request("iam:PutRolePolicy", _role_arn(f"{PREFIX}-team-{TEAM}"),
                {"aws:ResourceTag/team": TEAM, "iam:PermissionsBoundary": boundary_arn(dev)}),
        Request("iam:UpdateAssumeRolePolicy", _role_arn(f"{PREFIX}-team-{TEAM}"), {"aws:ResourceTag/team": TEAM}),
        Request("kms:CreateKey", "*", {"aws:RequestTag/team": "support"}),
    ]
    let_through = [f"{r.action} on {r.resource}" for r in requests if allowed(policy, r)]
    assert let_through == []


def test_an_agent_role_without_the_platforms_boundary_is_refused(dev):
    policy = deploy_policy(dev)
    role = _role_arn(f"{PREFIX}-agent-intake")
    tagged = {"aws:RequestTag/team": TEAM}
    assert allowed(policy, Request("iam:CreateRole", role, {**tagged, "iam:PermissionsBoundary": boundary_arn(dev)}))
    assert not allowed(policy, Request("iam:CreateRole", role, tagged))
    assert not allowed(policy, Request("iam:CreateRole", role, {**tagged, "iam:PermissionsBoundary":
                                                                 f"arn:aws:iam::{ACCOUNT}:policy/anything-else"}))
    owned = {"aws:ResourceTag/team": TEAM}
    assert not allowed(policy, Request("iam:PutRolePolicy", role, owned))
    assert not allowed(policy, Request("iam:DeleteRolePermissionsBoundary", role, owned))
    assert not allowed(policy, Request("iam:AttachRolePolicy", role, {**owned, "iam:PermissionsBoundary": boundary_arn(dev)}))


def test_every_agent_role_carries_the_boundary(dev, team_plan):
    for plan in (dev, team_plan):
        agent_roles = [r for r in plan.of_type(names.IAM_ROLE) if "-agent-" in r["inputs"].get("name", "")]
        assert agent_roles
        assert {r["inputs"].get("permissionsBoundary") for r in agent_roles} == {boundary_arn(dev)}


def test_only_the_teams_deployers_may_assume_the_deploy_role(dev):
    role = by_name(dev, names.IAM_ROLE, f"{PREFIX}-team-{TEAM}-role")["inputs"]
    assert role["name"] == f"{PREFIX}-team-{TEAM}"
    [trust] = statements(role["assumeRolePolicy"])
    assert trust["Principal"] == {"AWS": ["arn:aws:iam::111122223333:role/claims-deployer"]}
    assert as_list(trust["Action"]) == ["sts:AssumeRole"]


# -- AWS: the agents' image repositories, signing keys and CI roles -----------------------------------


def ci_boundary(dev: Plan) -> list[dict[str, Any]]:
    return statements(by_name(dev, names.IAM_POLICY, f"{PREFIX}-ci-boundary")["inputs"]["policy"])


def ci_boundary_arn(dev: Plan) -> str:
    return dev.stack_outputs().values["ci_permissions_boundary_arn"]


def test_the_deploy_role_manages_its_agents_repositories_and_no_other(dev):
    policy = deploy_policy(dev)
    ours, theirs = _arn("ecr", f"repository/{PREFIX}/intake"), _arn("ecr", f"repository/{PREFIX}/triage")
    tagged, owned = {"aws:RequestTag/team": TEAM}, {"aws:ResourceTag/team": TEAM}
    assert allowed(policy, Request("ecr:CreateRepository", ours, tagged))
    assert not allowed(policy, Request("ecr:CreateRepository", ours))
    assert not allowed(policy, Request("ecr:CreateRepository", ours, {"aws:RequestTag/team": "support"}))
    assert not allowed(policy, Request("ecr:CreateRepository", theirs, tagged))
    for action in ("ecr:DeleteRepository", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy",
                   "ecr:SetRepositoryPolicy"):
        assert allowed(policy, Request(action, ours, owned)), action
        assert not allowed(policy, Request(action, theirs, {"aws:ResourceTag/team": "support"})), action
        assert not allowed(policy, Request(action, theirs, owned)), action  # another agent's name, whatever its tag
    # Pushing and signing are the CI role's, never the deploy role's.
    for action in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:BatchGetImage"):
        assert not allowed(policy, Request(action, ours, owned)), action
    key = _arn("kms", "key/0123")
    assert not allowed(policy, Request("kms:Sign", key, {**owned, f"aws:ResourceTag/{names.IMAGE_SIGNING_TAG}":
                                                         names.IMAGE_SIGNING_TAG_VALUE}))
    assert allowed(policy, Request("kms:CreateAlias", _arn("kms", names.image_signing_alias(PREFIX, "intake"))))
    assert not allowed(policy, Request("kms:CreateAlias", _arn("kms", names.image_signing_alias(PREFIX, "triage"))))
    # The agent's key, which encrypts the repository, through ECR only.
    via_ecr = {"kms:ViaService": f"ecr.{REGION}.amazonaws.com"}
    for action in ("kms:CreateGrant", "kms:RetireGrant"):
        assert allowed(policy, Request(action, key, {**owned, **via_ecr})), action
        assert not allowed(policy, Request(action, key, owned)), action
        assert not allowed(policy, Request(action, key, {"aws:ResourceTag/team": "support", **via_ecr})), action


def test_ci_roles_only_with_the_ci_boundary_and_never_passed(dev):
    policy = deploy_policy(dev)
    ci, agents = ci_boundary_arn(dev), boundary_arn(dev)
    role = _role_arn(names.ci_role_name(PREFIX, "intake"))
    tagged, owned = {"aws:RequestTag/team": TEAM}, {"aws:ResourceTag/team": TEAM}
    assert allowed(policy, Request("iam:CreateRole", role, {**tagged, "iam:PermissionsBoundary": ci}))
    for boundary in (agents, f"arn:aws:iam::{ACCOUNT}:policy/anything-else"):
        assert not allowed(policy, Request("iam:CreateRole", role, {**tagged, "iam:PermissionsBoundary": boundary}))
        assert not allowed(policy, Request("iam:PutRolePolicy", role, {**owned, "iam:PermissionsBoundary": boundary}))
    assert not allowed(policy, Request("iam:CreateRole", role, tagged))
    assert not allowed(policy, Request("iam:CreateRole", _role_arn(names.ci_role_name(PREFIX, "triage")),
                                       {**tagged, "iam:PermissionsBoundary": ci}))
    assert allowed(policy, Request("iam:PutRolePolicy", role, {**owned, "iam:PermissionsBoundary": ci}))
    assert allowed(policy, Request("iam:UpdateAssumeRolePolicy", role, {**owned, "iam:PermissionsBoundary": ci}))
    assert not allowed(policy, Request("iam:DeleteRolePermissionsBoundary", role, {**owned, "iam:PermissionsBoundary": ci}))
    assert not allowed(policy, Request("iam:AttachRolePolicy", role, {**owned, "iam:PermissionsBoundary": ci}))
    assert not allowed(policy, Request("iam:PassRole", role, owned))
    # Nor may an agent role take the CI boundary.
    assert not allowed(policy, Request("iam:CreateRole", _role_arn(f"{PREFIX}-agent-intake"),
                                       {**tagged, "iam:PermissionsBoundary": ci}))


def test_every_ci_role_carries_the_ci_boundary(dev, team_plan):
    for plan in (dev, team_plan):
        ci_roles = [r for r in plan.of_type(names.IAM_ROLE) if r["inputs"].get("name", "").endswith("-ci")]
        assert ci_roles
        assert {r["inputs"].get("permissionsBoundary") for r in ci_roles} == {ci_boundary_arn(dev)}


def test_the_team_plan_has_a_ci_role_per_agent_with_a_source(dev, team_plan):
    ci_roles = {r["inputs"]["name"]: r["inputs"] for r in team_plan.of_type(names.IAM_ROLE)
                if r["inputs"].get("name", "").endswith("-ci")}
    assert set(ci_roles) == {names.ci_role_name(PREFIX, agent) for agent in AGENTS}
    provider = dev.stack_outputs().values["github_oidc_provider_arn"]
    for agent in AGENTS:
        [trust] = statements(ci_roles[names.ci_role_name(PREFIX, agent)]["assumeRolePolicy"])
        assert trust["Principal"] == {"Federated": provider}
        subjects = as_list(trust["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"])
        assert subjects and all(s.startswith(f"repo:acme/{agent}-agent:") for s in subjects)


def test_the_ci_boundary_allows_push_scan_reads_and_signing_only(dev):
    boundary = ci_boundary(dev)
    assert {a for s in boundary for a in as_list(s["Action"])} == {
        *ECR_LOGIN, *ECR_PULL, *ECR_PUSH, *ECR_SCAN_READ, *INSPECTOR_FINDINGS_READ, *IMAGE_SIGN}
    signing = {f"aws:ResourceTag/{names.IMAGE_SIGNING_TAG}": names.IMAGE_SIGNING_TAG_VALUE}
    key = _arn("kms", "key/0123")
    assert allowed(boundary, Request("ecr:PutImage", _arn("ecr", f"repository/{PREFIX}/intake")))
    assert not allowed(boundary, Request("ecr:PutImage", _arn("ecr", "repository/maas-prod/intake")))
    assert not allowed(boundary, Request("ecr:PutImage", _arn("ecr", "repository/someone-elses")))
    assert not allowed(boundary, Request("ecr:DeleteRepository", _arn("ecr", f"repository/{PREFIX}/intake")))
    assert allowed(boundary, Request("kms:Sign", key, signing))
    assert not allowed(boundary, Request("kms:Sign", key, {"aws:ResourceTag/team": TEAM}))
    assert not allowed(boundary, Request("kms:Decrypt", key, signing))
    for action, resource in (("iam:PassRole", _role_arn(f"{PREFIX}-agent-intake")), ("sts:AssumeRole", _role_arn("x")),
                             ("iam:CreateRole", _role_arn("x"))):
        assert not allowed(boundary, Request(action, resource))


def test_the_ci_boundary_holds_every_grant_a_ci_role_has(dev, team_plan):
    """Each CI role's own policy, request by request, stays inside the CI boundary."""
    boundary = ci_boundary(dev)
    outside, checked = [], 0
    for plan in (dev, team_plan):
        for role in plan.of_type(names.IAM_ROLE):
            name = role["inputs"].get("name", "")
            if not name.endswith("-ci"):
                continue
            [policy] = [p for p in plan.of_type(ROLE_POLICY) if p["inputs"]["role"] == name]
            for statement in statements(policy["inputs"]["policy"]):
                for action in as_list(statement["Action"]):
                    for resource in as_list(statement["Resource"]):
                        checked += 1
                        request = Request(action, resource, {f"aws:ResourceTag/{names.IMAGE_SIGNING_TAG}":
                                                             names.IMAGE_SIGNING_TAG_VALUE})
                        if not allowed(boundary, request):
                            outside.append(f"{name}: {action} on {resource}")
    assert checked and outside == []


def test_the_ci_boundary_passes_the_iam_linter(dev):
    from maas_platform.iam.lint import Kind, PolicyDocument, lint

    document = by_name(dev, names.IAM_POLICY, f"{PREFIX}-ci-boundary")["inputs"]["policy"]
    result = lint(PolicyDocument(f"{names.IAM_POLICY}::{PREFIX}-ci-boundary", "policy", Kind.IDENTITY, document))
    assert result.not_evaluable is None and [f.describe() for f in result.findings] == []


# -- AWS: the agent permissions boundary --------------------------------------------------------------


def test_the_boundary_grants_no_iam_or_sts_and_only_the_agents_team(dev):
    boundary = statements(by_name(dev, names.IAM_POLICY, f"{PREFIX}-agent-boundary")["inputs"]["policy"])
    services = {a.split(":")[0] for s in boundary for a in as_list(s["Action"])}
    assert not services & {"iam", "sts", "organizations"}
    assert not any(a in {"kms:PutKeyPolicy", "kms:CreateGrant", "kms:ScheduleKeyDeletion"}
                   for s in boundary for a in as_list(s["Action"]))
    mine = {"team": TEAM, "agent": "intake"}
    secret = _arn("secretsmanager", f"secret:{PREFIX}/agents/intake/openai-api-key-AbCdEf")
    assert allowed(boundary, Request("secretsmanager:GetSecretValue", secret, {"aws:ResourceTag/team": TEAM}), mine)
    theirs = _arn("secretsmanager", f"secret:{PREFIX}/agents/triage/openai-api-key-AbCdEf")
    assert not allowed(boundary, Request("secretsmanager:GetSecretValue", theirs, {"aws:ResourceTag/team": "support"}), mine)
    assert allowed(boundary, Request("s3:GetObject", f"arn:aws:s3:::{PREFIX}-intake-{ACCOUNT}/x"), mine)
    assert not allowed(boundary, Request("s3:GetObject", f"arn:aws:s3:::{PREFIX}-reports-{ACCOUNT}/x",
                                         {"aws:ResourceTag/team": "insights"}), mine)
    assert not allowed(boundary, Request("dynamodb:GetItem", _arn("dynamodb", f"table/{PREFIX}-triage"),
                                         {"aws:ResourceTag/team": "support"}), mine)
    assert not allowed(boundary, Request("iam:CreateRole", _role_arn("x")), mine)


def test_the_boundary_holds_every_grant_the_platforms_agents_have(dev):
    """Each agent's own policy, request by request, stays inside the boundary: a missing bundle
    would cut an agent off the day its role gets the boundary."""
    boundary = statements(by_name(dev, names.IAM_POLICY, f"{PREFIX}-agent-boundary")["inputs"]["policy"])
    outside = []
    for role in dev.of_type(names.IAM_ROLE):
        tags = role["inputs"].get("tags") or {}
        if "-agent-" not in role["inputs"].get("name", ""):
            continue
        policy = by_name(dev, ROLE_POLICY, role["name"].removesuffix("-role") + "-access")["inputs"]["policy"]
        for statement in statements(policy):
            # A request the grant admits: on the agent's own (tagged) resources, with the values its
            # conditions ask for (e.g. bedrock:InferenceProfileArn of a model reached through a profile).
            asked = {key: as_list(values)[0] for block in (statement.get("Condition") or {}).values()
                     for key, values in block.items()}
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    request = Request(action, resource, {"aws:ResourceTag/team": tags["team"],
                                                         "aws:ResourceTag/agent": tags["agent"], **asked})
                    if not allowed(boundary, request, {"team": tags["team"], "agent": tags["agent"]}):
                        outside.append(f"{role['name']}: {action} on {resource}")
    assert outside == []


# -- the cluster ------------------------------------------------------------------------------------


def test_the_access_policy_reaches_exactly_the_teams_agent_namespaces(dev):
    associations = [r for r in dev.of_type(names.EKS_ACCESS_POLICY_ASSOCIATION) if f"-team-{TEAM}-" in r["name"]]
    assert len(associations) == 1
    inputs = associations[0]["inputs"]
    assert inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
    assert inputs["accessScope"] == {"type": "namespace", "namespaces": sorted(AGENTS)}
    entry = by_name(dev, names.EKS_ACCESS_ENTRY, f"{PREFIX}-team-{TEAM}-access")["inputs"]
    assert entry["kubernetesGroups"] == [f"{names.TEAM_GROUP_PREFIX}{TEAM}"] and entry["type"] == "STANDARD"
    # No association of the team's role reaches the cluster scope.
    role = dev.stack_outputs().values["teams"][TEAM]["deploy_role_arn"]
    assert not [r for r in dev.of_type(names.EKS_ACCESS_POLICY_ASSOCIATION)
                if r["inputs"]["principalArn"] == role and r["inputs"]["accessScope"]["type"] != "namespace"]


CLUSTER_SCOPED = {("", "namespaces"), ("rbac.authorization.k8s.io", "clusterroles")}


def test_the_teams_rbac_grants_nothing_namespaced_cluster_wide_but_namespaces(dev):
    group = team_group(TEAM)
    bound = [b for b in dev.of_type(names.K8S_CLUSTER_ROLE_BINDING)
             if any(s.get("kind") == "Group" and s.get("name") == group for s in b["inputs"]["subjects"])]
    assert len(bound) == 1
    roles = {r["inputs"]["metadata"]["name"]: r for r in dev.of_type(names.K8S_CLUSTER_ROLE)}
    rules = roles[bound[0]["inputs"]["roleRef"]["name"]]["inputs"]["rules"]
    granted = {(g, res) for rule in rules for g in rule["apiGroups"] for res in rule["resources"]}
    assert granted == CLUSTER_SCOPED
    [namespaces] = [r for r in rules if r["resources"] == ["namespaces"]]
    assert sorted(namespaces["verbs"]) == sorted(NAMESPACE_VERBS) and "resourceNames" not in namespaces
    [bind] = [r for r in rules if r["resources"] == ["clusterroles"]]
    assert bind["verbs"] == ["bind"] and bind["resourceNames"] == [agent_objects_role_name(TEAM)]
    # The agents' custom resources are bound by no ClusterRoleBinding at all.
    assert not [b for b in dev.of_type(names.K8S_CLUSTER_ROLE_BINDING)
                if b["inputs"]["roleRef"]["name"] == agent_objects_role_name(TEAM)]
    assert roles[agent_objects_role_name(TEAM)]["inputs"]["rules"] == [dict(r) for r in AGENT_OBJECT_RULES]


def test_each_team_agent_namespace_binds_the_agent_objects_first(team_plan):
    """The RoleBinding comes right after the Namespace; every custom resource waits for it."""
    for agent in AGENTS:
        binding = by_name(team_plan, names.K8S_ROLE_BINDING, f"{agent}-team-objects")
        inputs = binding["inputs"]
        assert inputs["metadata"]["namespace"] == agent
        assert inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                     "name": agent_objects_role_name(TEAM)}
        assert inputs["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": team_group(TEAM)}]
        custom = [r for r in team_plan.resources if r["name"].startswith(f"{agent}-")
                  and r["type"].split(":")[1].split("/")[0] in ("external-secrets.io", "keda.sh", "monitoring.coreos.com")]
        assert custom
        waiting = {r["name"] for r in custom if binding["urn"] in after(team_plan, r["urn"])}
        assert waiting == {r["name"] for r in custom}


def after(plan: Plan, urn: str) -> set[str]:
    """Every URN the resource waits for, directly or through what it waits for."""
    by_urn = {r["urn"]: r for r in plan.resources}
    seen: set[str] = set()
    todo = list(by_urn[urn]["dependencies"])
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += by_urn.get(current, {}).get("dependencies", [])
    return seen


def test_the_agent_objects_cover_every_custom_resource_a_team_agent_has(team_plan):
    kinds = {(r["type"].split(":")[1].split("/")[0], r["type"].rsplit(":", 1)[1]) for r in team_plan.resources
             if r["type"].startswith("kubernetes:") and r["type"].split(":")[1].split("/")[0].endswith((".io", ".sh", ".com"))
             and "k8s.io" not in r["type"]}
    covered = {(g, res) for rule in AGENT_OBJECT_RULES for g in rule["apiGroups"] for res in rule["resources"]}
    plural = {"SecretStore": "secretstores", "ExternalSecret": "externalsecrets", "ScaledObject": "scaledobjects",
              "ServiceMonitor": "servicemonitors", "PrometheusRule": "prometheusrules", "Probe": "probes",
              "Rollout": "rollouts", "AnalysisTemplate": "analysistemplates"}
    assert kinds and {(group, plural[kind]) for group, kind in kinds} <= covered


def test_the_team_kubeconfig_signs_as_the_deploy_role(dev):
    team = dev.stack_outputs().values["teams"][TEAM]
    assert team["agents"] == sorted(AGENTS)
    config = json.loads(team["kubeconfig"])
    [user] = config["users"]
    args = user["user"]["exec"]["args"]
    assert args[args.index("--role-arn") + 1] == team["deploy_role_arn"]
    assert team["deploy_role_arn"] == _role_arn(f"{PREFIX}-team-{TEAM}")
    assert "teams" in dev.stack_outputs().secret_names  # it holds kubeconfigs
    # The platform's own kubeconfig signs as whoever runs it.
    assert "--role-arn" not in json.loads(dev.stack_outputs().values["kubeconfig"])["users"][0]["user"]["exec"]["args"]


def test_the_example_team_stack_deploys_as_its_deploy_role(team_plan):
    [provider] = team_plan.of_type(names.AWS_PROVIDER)
    assert json.loads(provider["inputs"]["assumeRoles"]) == [
        {"roleArn": _role_arn(f"{PREFIX}-team-{TEAM}"), "sessionName": f"{TEAM}-deploy"}]


# -- config -----------------------------------------------------------------------------------------


def test_the_boundary_statements_name_the_environment():
    from maas_platform.components.base import AccountContext

    account = AccountContext(account_id=ACCOUNT, region=REGION)
    found = boundary_statements(prefix=PREFIX, account=account, broker_key_arn=_arn("kms", "key/k"))
    assert all(isinstance(s.sid, str) for s in found)


TEAMS_OK = [{"name": TEAM, "agents": list(AGENTS), "deployers": ["arn:aws:iam::111122223333:role/claims-deployer"]}]


@pytest.mark.parametrize(
    "teams, message",
    [
        ([*TEAMS_OK, {"name": "other", "agents": ["intake"], "deployers": ["arn:aws:iam::111122223333:role/o"]}],
         "maas:teams[1].agents: 'intake' is registered by team 'claims' too; an agent belongs to one team"),
        ([{**TEAMS_OK[0], "agents": ["triage"]}],
         "maas:teams[0].agents: 'triage' is an agent of this stack (maas:agents); a team stack cannot deploy it"),
        ([{**TEAMS_OK[0], "deployers": []}],
         "maas:teams[0].deployers: list at least one IAM role ARN that may assume the team's deploy role"),
        ([{**TEAMS_OK[0], "deployers": ["claims-deployer"]}],
         "maas:teams[0].deployers[0]: 'claims-deployer' is not an IAM role ARN"),
        ([TEAMS_OK[0], TEAMS_OK[0]], "maas:teams[1].name: team 'claims' is registered twice"),
    ],
    ids=["agent-in-two-teams", "platform-agent", "no-deployers", "not-an-arn", "team-twice"],
)
def test_a_team_mistake_is_one_line_naming_the_key(tmp_path, teams, message):
    assert_one_line_error(tmp_path, teams, message)


def assert_one_line_error(tmp_path, teams: list[dict], message: str) -> None:
    """dev's config with ``maas:teams`` = ``teams`` is refused with ``message``, and `maas plan`
    exits 2 with that one line."""
    source = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    values = {k.removeprefix("maas:"): v for k, v in source.items() if k.startswith("maas:")}
    with pytest.raises(ConfigError) as error:
        parse_platform_config({**values, "teams": teams})
    assert str(error.value).startswith(message), str(error.value)
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {**source, "maas:teams": teams}}, sort_keys=False))
    result = subprocess.run([sys.executable, "-m", "maas_platform.cli", "plan", "--config-file", str(path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), result.stderr


def test_a_deploy_role_name_past_iams_limit_is_refused():
    team = TeamConfig(name="a" * 30, agents=["x"], deployers=["arn:aws:iam::111122223333:role/d"])
    assert "shorten the team name" in team_problem([team], [], "m" * 30 + "-staging")
    assert team_problem([team], [], "maas-dev") is None


# -- review fixes: what a team may not take over ----------------------------------------------------


def test_a_team_cannot_retag_an_association_it_does_not_own(dev):
    """Re-tagging the platform's (or another team's) Pod Identity association the team's would
    let it update or delete it."""
    policy = deploy_policy(dev)
    cluster = by_name(dev, names.EKS_ACCESS_ENTRY, f"{PREFIX}-team-{TEAM}-access")["inputs"]["clusterName"]
    association = _arn("eks", f"podidentityassociation/{cluster}/a-0123456789abcdef0")
    for owner in ({"aws:ResourceTag/team": "platform"}, {"aws:ResourceTag/team": "support"}, {}):
        assert not allowed(policy, Request("eks:TagResource", association, {**owner, "aws:RequestTag/team": TEAM}))
        assert not allowed(policy, Request("eks:UntagResource", association, {**owner, "aws:TagKeys": ["agent"]}))
    assert allowed(policy, Request("eks:TagResource", association, {"aws:ResourceTag/team": TEAM,
                                                                    "aws:RequestTag/team": TEAM}))


def test_a_team_can_claim_no_key_that_has_an_alias(dev):
    """A key without a team tag may be tagged only as CreateKey tags a new one: no alias yet,
    and the team's tag in the request."""
    policy = deploy_policy(dev)
    key = _arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
    claim = {"aws:RequestTag/team": TEAM, "aws:TagKeys": ["team"]}
    assert not allowed(policy, Request("kms:TagResource", key, {**claim, "kms:ResourceAliases": ["alias/someone-elses"]}))
    assert not allowed(policy, Request("kms:TagResource", key, {"aws:RequestTag/owner": "x", "aws:TagKeys": ["owner"]}))
    assert allowed(policy, Request("kms:TagResource", key, claim))  # CreateKey's tags on the new key
    assert allowed(policy, Request("kms:TagResource", key, {**claim, "aws:ResourceTag/team": TEAM,
                                                           "kms:ResourceAliases": [f"alias/{PREFIX}-intake"]}))


def test_subscription_attributes_cannot_be_changed_on_any_subscription(dev):
    """Unsubscribe and GetSubscriptionAttributes take no resource type (SAR); nothing after create
    needs SetSubscriptionAttributes, so no deploy role holds it."""
    policy = deploy_policy(dev)
    subscription = _arn("sns", f"{PREFIX}-events:0123abcd-0000-0000-0000-000000000000")
    assert not allowed(policy, Request("sns:SetSubscriptionAttributes", subscription))
    assert not allowed(policy, Request("sns:SetSubscriptionAttributes", "*"))
    # Reading and removing remain on any subscription (docs/teams.md, "Known gaps").
    assert allowed(policy, Request("sns:Unsubscribe", subscription))
    assert allowed(policy, Request("sns:GetSubscriptionAttributes", subscription))


def test_namespace_delete_and_change_reach_only_the_agents_own_namespaces(dev):
    """Cluster-wide the team holds only what names no existing namespace; delete, patch and update
    of a Namespace come with the RoleBinding inside it (a request on /api/v1/namespaces/<x> is in
    namespace <x>)."""
    assert not {"delete", "patch", "update", "deletecollection", "*"} & set(NAMESPACE_VERBS)
    [own] = [r for r in AGENT_OBJECT_RULES if r["resources"] == ["namespaces"]]
    assert own["apiGroups"] == [""] and sorted(own["verbs"]) == ["delete", "patch", "update"]


# What AmazonEKSAdminPolicy lets a user write in a namespace (create/update/patch/delete), by API group:
# EKS user guide, "Review access policy permissions", awsdocs/amazon-eks-user-guide
# latest/ug/manage-access/k8s-access/access-policy-reference.adoc, checked 2026-12-02.
ADMIN_POLICY_WRITES = {
    "apps": {"daemonsets", "deployments", "replicasets", "statefulsets"},
    "autoscaling": {"horizontalpodautoscalers"},
    "batch": {"cronjobs", "jobs"},
    "networking.k8s.io": {"ingresses", "networkpolicies"},
    "policy": {"poddisruptionbudgets"},
    "rbac.authorization.k8s.io": {"rolebindings", "roles"},
    "": {"configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "secrets", "serviceaccounts",
         "services", "pods"},
}
PLURALS = {"Deployment": "deployments", "HorizontalPodAutoscaler": "horizontalpodautoscalers", "ConfigMap": "configmaps",
           "LimitRange": "limitranges", "ResourceQuota": "resourcequotas", "Service": "services",
           "ServiceAccount": "serviceaccounts", "Secret": "secrets", "Ingress": "ingresses",
           "NetworkPolicy": "networkpolicies", "PodDisruptionBudget": "poddisruptionbudgets", "Role": "roles",
           "RoleBinding": "rolebindings", "SecretStore": "secretstores", "ExternalSecret": "externalsecrets",
           "ScaledObject": "scaledobjects", "ServiceMonitor": "servicemonitors", "PrometheusRule": "prometheusrules",
           "Probe": "probes", "CronJob": "cronjobs", "Rollout": "rollouts", "AnalysisTemplate": "analysistemplates"}


def test_every_namespaced_object_of_a_team_agent_is_writable_by_the_team(team_plan):
    """Every Kubernetes object the example team stack creates in an agent namespace is one the
    team may create and change there: through AmazonEKSAdminPolicy or the agent-objects role."""
    writes = {(g, r) for g, resources in ADMIN_POLICY_WRITES.items() for r in resources}
    writes |= {(g, r) for rule in AGENT_OBJECT_RULES if {"create", "update", "patch", "delete"} <= set(rule["verbs"])
               and "resourceNames" not in rule for g in rule["apiGroups"] for r in rule["resources"]}
    missing = set()
    for resource in team_plan.resources:
        kind_token = resource["type"]
        if not kind_token.startswith("kubernetes:") or kind_token.endswith((":Namespace", ":Provider")):
            continue
        group = kind_token.split(":")[1].split("/")[0]
        group = "" if group == "core" else group
        kind = kind_token.rsplit(":", 1)[1]
        if (group, PLURALS[kind]) not in writes:
            missing.add(f"{group or 'core'}/{PLURALS[kind]}")
    assert missing == set()


@pytest.mark.parametrize("name", ["platform", "support"])
def test_a_team_named_as_the_platform_or_its_agents_team_is_refused(tmp_path, name):
    assert_one_line_error(tmp_path, [{**TEAMS_OK[0], "name": name}],
                          f"maas:teams[0].name: '{name}' is the team of this stack or of one of its agents")
