"""AgentService in parts: nothing of an existing stack is replaced, the role's policy is the
parts' grants, and an agent may bring an existing table or bucket instead of a new one."""

from __future__ import annotations

from typing import Any, Iterable

import pytest
import yaml

from conftest import ROOT, policy
from maas_platform.components.agent import check_agent
from maas_platform.components.base import AccountContext
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.components.contract import PlatformRefs
from maas_platform.iam import Statement
from maas_platform.iam.grants import merge_grants, queue_consume
from maas_platform.policy.kubernetes.admission import checks as admission_checks
from maas_platform.plan import Plan, plan_project
from test_agents import agent_resources, by_type, k8s_kind

FIXTURES = ROOT / "tests" / "fixtures" / "agent-parts"
TEAM = ROOT / "stacks" / "teams" / "example"
AGENT = "maas:agent:AgentService"
PARTS = {"maas:agent:AgentIdentity", "maas:agent:AgentInbox", "maas:agent:AgentWorkload",
         "maas:agent:DynamoDBDatastore", "maas:agent:PostgresDatastore", "maas:agent:S3Datastore"}
ACCOUNT, REGION = "123456789012", "us-east-1"  # the offline plan's account and dev's region
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
BUCKET = "arn:aws:s3:::acme-claims-archive"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


# -- nothing replaced ------------------------------------------------------------------------------

# Changed on purpose since the fixtures were made; anything else deleted or created is a missing
# alias. No environment activates cost-allocation tags any more (docs/cost.md), and an agent's
# database log group is created before RDS would create it itself (tests/test_lifecycle.py).
_BUDGETS = "urn:pulumi:dev::maas::maas:index:Platform$maas:budgets:Budgets"
REMOVED_SINCE = {f"{_BUDGETS}$aws:costexplorer/costAllocationTag:CostAllocationTag::maas-dev-budgets-tag-{key}"
                 for key in ("agent", "cost-center", "environment", "managed-by", "platform", "team")}
ADDED_SINCE = {"urn:pulumi:dev::maas::maas:index:Platform$maas:agent:AgentService$maas:agent:PostgresDatastore"
               "$aws:cloudwatch/logGroup:LogGroup::maas-dev-agent-research-db-logs-postgresql"}
# An agent with secrets has a secret-sync service account and the Role and RoleBinding that let
# External Secrets request its tokens (tests/test_secret_sync.py).
_SECRET_SYNC = ("kubernetes:core/v1:ServiceAccount::{}-secret-sync-service-account",
                "kubernetes:rbac.authorization.k8s.io/v1:Role::{}-secret-sync-token-role",
                "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::{}-secret-sync-token-binding")
_PLATFORM = "urn:pulumi:dev::maas::maas:index:Platform$"
_WORKLOAD = "maas:agent:AgentService$maas:agent:AgentWorkload$"
ADDED_SINCE |= {f"{stack}{_WORKLOAD}{part.format(agent)}"
                for stack, agents in ((_PLATFORM, ("maas-dev-agent-triage", "maas-dev-agent-research")),
                                      ("urn:pulumi:dev::maas-team-example::", ("intake",)))
                for agent in agents for part in _SECRET_SYNC}
# So does the observability stack; the OIDC provider through which they all authenticate always
# exists, and External Secrets itself has no AWS identity any more.
ADDED_SINCE |= {f"{_PLATFORM}maas:observability:ObservabilityStack${part.format('maas-dev-observability')}"
                for part in _SECRET_SYNC}
ADDED_SINCE.add(f"{_PLATFORM}maas:cluster:Cluster$aws:iam/openIdConnectProvider:OpenIdConnectProvider::maas-dev-cluster-oidc")
REMOVED_SINCE |= {f"{_PLATFORM}maas:addons:ClusterAddons${kind}::maas-dev-addons-external-secrets-{suffix}"
                  for kind, suffix in (("aws:eks/podIdentityAssociation:PodIdentityAssociation", "identity"),
                                       ("aws:iam/role:Role", "role"), ("aws:iam/rolePolicy:RolePolicy", "policy"))}


# Each agent's egress proxy (docs/egress.md): new objects of the workload part, in dev and the team example.
_WORKLOAD = "maas:agent:AgentService$maas:agent:AgentWorkload"
_PROXY = [("apps/v1:Deployment", ""), ("core/v1:ConfigMap", "-config"), ("core/v1:Service", "-service"),
          ("core/v1:ServiceAccount", "-service-account"), ("policy/v1:PodDisruptionBudget", "-pdb"),
          ("autoscaling/v2:HorizontalPodAutoscaler", "-hpa")]
ADDED_SINCE |= {
    f"{stem}{_WORKLOAD}$kubernetes:{kind}::{agent}-egress-proxy{suffix}"
    for stem, agents in (("urn:pulumi:dev::maas::maas:index:Platform$", ("maas-dev-agent-triage", "maas-dev-agent-research",
                                                                       "maas-dev-agent-reports")),
                         ("urn:pulumi:dev::maas-team-example::", ("intake", "summarizer")))
    for agent in agents for kind, suffix in _PROXY
} | {
    f"{stem}{_WORKLOAD}$kubernetes:networking.k8s.io/v1:NetworkPolicy::{agent}-netpol-egress-proxy"
    for stem, agents in (("urn:pulumi:dev::maas::maas:index:Platform$", ("maas-dev-agent-triage", "maas-dev-agent-research",
                                                                       "maas-dev-agent-reports")),
                         ("urn:pulumi:dev::maas-team-example::", ("intake", "summarizer")))
    for agent in agents
}

# A team's agent: the RoleBinding of its team's agent-objects ClusterRole, first in its namespace (docs/teams.md).
ADDED_SINCE |= {f"urn:pulumi:dev::maas-team-example::{_WORKLOAD}$kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::"
                f"{agent}-team-objects" for agent in ("intake", "summarizer")}
# The platform's agent permissions boundary, and the example team's deploy identity (maas:teams of dev).
ADDED_SINCE.add(f"{_PLATFORM}aws:iam/policy:Policy::maas-dev-agent-boundary")
ADDED_SINCE |= {f"{_PLATFORM}maas:teams:TeamAccess${kind}::maas-dev-team-claims-{suffix}" for kind, suffix in (
    ("aws:iam/role:Role", "role"), ("aws:iam/rolePolicy:RolePolicy", "policy"), ("aws:eks/accessEntry:AccessEntry", "access"),
    ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "namespaces"),
    ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "agent-objects"),
    ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "cluster"),
    ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "cluster-binding"))}

# Karpenter's node pools (components/nodepools.py): the EC2NodeClass and dev's one pool.
_NODE_POOLS = f"{_PLATFORM}maas:nodepools:NodePools"
ADDED_SINCE |= {f"{_NODE_POOLS}::maas-dev-node-pools",
                f"{_NODE_POOLS}$kubernetes:karpenter.k8s.aws/v1:EC2NodeClass::maas-dev-node-pools-node-class",
                f"{_NODE_POOLS}$kubernetes:karpenter.sh/v1:NodePool::maas-dev-node-pools-general"}

# Karpenter (components/karpenter.py): its interruption queue and the rules that feed it, its identities and releases.
_KARPENTER = f"{_PLATFORM}maas:karpenter:Karpenter"
ADDED_SINCE |= {f"{_KARPENTER}::maas-dev-karpenter"} | {
    f"{_KARPENTER}${kind}::maas-dev-karpenter-{suffix}" for kind, suffix in (
        *((f"aws:cloudwatch/{kind}", f"{event}-{part}") for event in (
            "capacity-reservation-interruption", "instance-state-change", "rebalance", "scheduled-change",
            "spot-interruption") for kind, part in (("eventRule:EventRule", "rule"), ("eventTarget:EventTarget", "target"))),
        ("aws:ec2/tag:Tag", "cluster-security-group-discovery"),
        ("aws:eks/accessEntry:AccessEntry", "node-access"),
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "controller-identity"),
        ("aws:iam/instanceProfile:InstanceProfile", "node-instance-profile"),
        ("aws:iam/role:Role", "controller-role"),
        ("aws:iam/role:Role", "node-role"),
        ("aws:iam/rolePolicy:RolePolicy", "controller-policy"),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "node-AmazonEC2ContainerRegistryPullOnly"),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "node-AmazonEKSWorkerNodePolicy"),
        ("aws:kms/key:Key", "interruption-key"),
        ("aws:sqs/queue:Queue", "interruption-dlq"),
        ("aws:sqs/queue:Queue", "interruption-queue"),
        ("aws:sqs/queuePolicy:QueuePolicy", "interruption-dlq-policy"),
        ("aws:sqs/queuePolicy:QueuePolicy", "interruption-queue-policy"),
        ("kubernetes:core/v1:Namespace", "namespace"),
        ("kubernetes:helm.sh/v3:Release", "controller-release"),
        ("kubernetes:helm.sh/v3:Release", "crds"),
        ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "service-monitor"),
    )}

# The LLM gateway (components/llmgateway.py) and the gateway credential that replaced triage's and
# research's provider keys (docs/llm-access.md).
_GATEWAY = f"{_PLATFORM}maas:llmgateway:LlmGateway"
ADDED_SINCE |= {_GATEWAY + "::maas-dev-llm-gateway"} | {
    f"{_GATEWAY}${kind}::maas-dev-llm-gateway{suffix}" for kind, suffixes in (
    ("aws:iam/role:Role", ('-secret-sync-role',)),
    ("aws:iam/rolePolicy:RolePolicy", ('-secret-sync-policy',)),
    ("aws:kms/alias:Alias", ('-key-alias',)),
    ("aws:kms/key:Key", ('-key',)),
    ("aws:secretsmanager/secret:Secret", ('-db-credentials', '-key-research', '-key-triage', '-master-key', '-provider-openai')),
    ("aws:secretsmanager/secretVersion:SecretVersion", ('-agent-research-key-version', '-agent-triage-key-version', '-db-credentials-version', '-key-research-version', '-key-triage-version', '-master-key-version')),
    # dev keeps the gateway's state in the cluster (maas:llm.gateway_database), not in Aurora.
    ("kubernetes:apps/v1:StatefulSet", ('-postgres',)),
    ("tls:index/privateKey:PrivateKey", ('-postgres-tls-key',)),
    ("tls:index/selfSignedCert:SelfSignedCert", ('-postgres-tls-cert',)),
    ("kubernetes:apps/v1:Deployment", ('-egress-proxy',)),
    ("kubernetes:batch/v1:Job", ('-keys-job',)),
    ("kubernetes:core/v1:ConfigMap", ('-egress-proxy-config', '-keys', '-postgres-hba')),
    ("kubernetes:core/v1:Namespace", ('-namespace',)),
    ("kubernetes:core/v1:Service", ('-egress-proxy-service', '-postgres-service')),
    ("kubernetes:core/v1:ServiceAccount", ('-egress-proxy-service-account', '-keys-service-account', '-postgres-service-account', '-secret-sync-service-account')),
    ("kubernetes:external-secrets.io/v1:ExternalSecret", ('-agent-keys-sync', '-database-sync', '-database-tls-sync', '-master-key-sync', '-provider-keys-sync')),
    ("kubernetes:external-secrets.io/v1:SecretStore", ('-secret-store',)),
    ("kubernetes:helm.sh/v3:Release", ('-litellm-helm',)),
    ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", ('-service-monitor',)),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", ('-netpol-allow-database', '-netpol-allow-dns', '-netpol-allow-gateway', '-netpol-allow-key-registration', '-netpol-allow-postgres', '-netpol-default-deny', '-netpol-egress-proxy')),
    ("kubernetes:policy/v1:PodDisruptionBudget", ('-egress-proxy-pdb',)),
    ("kubernetes:rbac.authorization.k8s.io/v1:Role", ('-secret-sync-token-role',)),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ('-secret-sync-token-binding',)),
    ("random:index/randomPassword:RandomPassword", ('-db-password', '-key-research-value', '-key-triage-value', '-master-key-value')),
    ) for suffix in suffixes}
_IDENTITY = f"{_PLATFORM}maas:agent:AgentService$maas:agent:AgentIdentity$aws:secretsmanager/"
ADDED_SINCE |= {f"{_IDENTITY}{kind}::maas-dev-agent-{agent}-secret-llm-gateway-key{suffix}"
                for agent in ("research", "triage")
                for kind, suffix in (("secret:Secret", ""), ("secretPolicy:SecretPolicy", "-policy"))}
REMOVED_SINCE |= {f"{_PLATFORM}maas:agent:AgentService$aws:secretsmanager/{kind}::maas-dev-agent-{agent}{suffix}"
                  for agent, secret in (("research", "anthropic-api-key"), ("triage", "openai-api-key"))
                  for kind, suffix in (("secret:Secret", f"-secret-{secret}"),
                                       ("secretPolicy:SecretPolicy", f"-secret-{secret}-policy"))}
# The team example's intake no longer calls an LLM provider itself (only the platform's gateway
# reaches them): its provider key gave way to a partner API's token.
_TEAM_SECRETS = "urn:pulumi:dev::maas-team-example::maas:agent:AgentService$aws:secretsmanager/"
REMOVED_SINCE |= {f"{_TEAM_SECRETS}secret:Secret::intake-secret-openai-api-key",
                  f"{_TEAM_SECRETS}secretPolicy:SecretPolicy::intake-secret-openai-api-key-policy"}
_TEAM_IDENTITY = "urn:pulumi:dev::maas-team-example::maas:agent:AgentService$maas:agent:AgentIdentity$aws:secretsmanager/"
ADDED_SINCE |= {f"{_TEAM_IDENTITY}secret:Secret::intake-secret-claims-api-token",
                f"{_TEAM_IDENTITY}secretPolicy:SecretPolicy::intake-secret-claims-api-token-policy"}
# The cluster's admission policies (components/admission.py): a policy and its binding per checked rule.
# Bedrock per agent (docs/llm-access.md): research's AgentBedrock part and the platform's invocation logging.
_BEDROCK = f"{_PLATFORM}maas:agent:AgentService$maas:agent:AgentBedrock$"
ADDED_SINCE |= {f"{_BEDROCK}aws:{kind}::maas-dev-agent-research-bedrock{suffix}" for kind, suffix in (
    ("bedrock/inferenceProfile:InferenceProfile", "-0"), ("budgets/budget:Budget", "-budget"),
    ("iam/policy:Policy", "-stop"), ("iam/role:Role", "-stop-role"), ("iam/rolePolicy:RolePolicy", "-stop-role-policy"),
    ("budgets/budgetAction:BudgetAction", "-stop-action"), ("bedrock/guardrail:Guardrail", "-guardrail"),
    ("bedrock/guardrailVersion:GuardrailVersion", "-guardrail-version"))}
ADDED_SINCE |= {f"{_PLATFORM}maas:bedrock:BedrockLogging$aws:{kind}::maas-dev-bedrock-logging{suffix}" for kind, suffix in (
    ("cloudwatch/logGroup:LogGroup", "-log-group"), ("iam/role:Role", "-role"), ("iam/rolePolicy:RolePolicy", "-role-policy"),
    ("bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration", "-configuration"))}
ADDED_SINCE |= {f"{_PLATFORM}maas:admission:AdmissionPolicies::maas-dev-admission"} | {
    f"{_PLATFORM}maas:admission:AdmissionPolicies$kubernetes:admissionregistration.k8s.io/v1:{kind}::"
    f"maas-dev-admission-{check.name}{suffix}"
    for check in admission_checks("dev", prefix="maas-dev", proxy_image="(every check: the names only)",
                                  probe_image="(every check: the names only)")
    for kind, suffix in (("ValidatingAdmissionPolicy", ""), ("ValidatingAdmissionPolicyBinding", "-binding"))
}

# Golden-set probes (components/agent/golden.py) of dev's triage and reports and the team's intake,
# the Pushgateway they push to, and dev's flow (components/flows.py).
_PROBE = [("batch/v1:CronJob", "-probe"), ("core/v1:ConfigMap", "-probe-cases"),
          ("core/v1:ServiceAccount", "-probe-service-account"),
          ("networking.k8s.io/v1:NetworkPolicy", "-netpol-allow-probe"),
          ("networking.k8s.io/v1:NetworkPolicy", "-netpol-probe-egress")]
ADDED_SINCE |= {
    f"{stem}{_WORKLOAD}$kubernetes:{kind}::{agent}{suffix}"
    for stem, agents in ((_PLATFORM, ("maas-dev-agent-triage", "maas-dev-agent-reports")),
                         ("urn:pulumi:dev::maas-team-example::", ("intake",)))
    for agent in agents for kind, suffix in _PROBE
} | {
    f"{_PLATFORM}maas:observability:ObservabilityStack$kubernetes:helm.sh/v3:Release::"
    "maas-dev-observability-prometheus-pushgateway",
    f"{_PLATFORM}maas:flows:FlowSLOs::maas-dev-flows",
    f"{_PLATFORM}maas:flows:FlowSLOs$kubernetes:core/v1:ConfigMap::maas-dev-flow-ticket-research-dashboard",
    f"{_PLATFORM}maas:flows:FlowSLOs$kubernetes:monitoring.coreos.com/v1:PrometheusRule::"
    "maas-dev-flow-ticket-research-slo-rules",
}

# Each canary agent's Rollout and AnalysisTemplates, and a public one's canary and stable Services
# (components/agent/rollout.py): new objects of the workload part, in dev and the team example.
_CANARY = [("argoproj.io/v1alpha1:Rollout", "-rollout"),
           ("argoproj.io/v1alpha1:AnalysisTemplate", "-analysis-error-budget"),
           ("argoproj.io/v1alpha1:AnalysisTemplate", "-analysis-slo-burn")]
ADDED_SINCE |= {
    f"{stem}{_WORKLOAD}$kubernetes:{kind}::{agent}{suffix}"
    for stem, agents in ((_PLATFORM, ("maas-dev-agent-triage", "maas-dev-agent-research", "maas-dev-agent-reports")),
                         ("urn:pulumi:dev::maas-team-example::", ("intake", "summarizer")))
    for agent in agents for kind, suffix in _CANARY
} | {f"{_PLATFORM}{_WORKLOAD}$kubernetes:core/v1:Service::maas-dev-agent-reports-{role}-service"
     for role in ("canary", "stable")}

# Each agent's registry part (components/agent/registry.py): its repository with its lifecycle and
# repository policies, its image-signing key and alias, and (delivery.source) its CI role and grant.
_REGISTRY = [("aws:ecr/repository:Repository", "-repository"),
             ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "-repository-lifecycle"),
             ("aws:ecr/repositoryPolicy:RepositoryPolicy", "-repository-policy"),
             ("aws:kms/key:Key", "-signing-key"), ("aws:kms/alias:Alias", "-signing-key-alias"),
             ("aws:iam/role:Role", "-ci"), ("aws:iam/rolePolicy:RolePolicy", "-ci-access")]
ADDED_SINCE |= {
    f"{stem}maas:agent:AgentService$maas:agent:AgentRegistry${kind}::{agent}{suffix}"
    for stem, agents in ((_PLATFORM, ("maas-dev-agent-triage", "maas-dev-agent-research", "maas-dev-agent-reports")),
                         ("urn:pulumi:dev::maas-team-example::", ("intake", "summarizer")))
    for agent in agents for kind, suffix in _REGISTRY
}
# The platform's delivery (components/delivery.py): the permissions boundary of every CI role, the
# GitHub OIDC provider (dev creates it), Inspector's enhanced scanning of the registry and the rule
# that alerts on critical findings; and Argo Rollouts (components/rollouts.py).
ADDED_SINCE.add(f"{_PLATFORM}aws:iam/policy:Policy::maas-dev-ci-boundary")
ADDED_SINCE |= {f"{_PLATFORM}maas:delivery:Delivery${kind}::maas-dev-delivery-{suffix}" for kind, suffix in (
    ("aws:cloudwatch/eventRule:EventRule", "critical-findings"),
    ("aws:cloudwatch/eventTarget:EventTarget", "critical-findings-alert"),
    ("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "registry-scanning"),
    ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github-oidc"),
    ("aws:inspector2/enabler:Enabler", "inspector-ecr"))}
ADDED_SINCE |= {f"{_PLATFORM}maas:rollouts:ArgoRollouts$kubernetes:{kind}::maas-dev-argo-rollouts-{suffix}"
                for kind, suffix in (
    ("core/v1:Namespace", "namespace"), ("helm.sh/v3:Release", "release"),
    ("networking.k8s.io/v1:NetworkPolicy", "netpol-allow-controller"),
    ("networking.k8s.io/v1:NetworkPolicy", "netpol-allow-dns"),
    ("networking.k8s.io/v1:NetworkPolicy", "netpol-default-deny"))}


def old_urns(name: str) -> set[str]:
    """The URNs a fixture lists (its first line says what they are and how they were made),
    less those removed on purpose since."""
    lines = (FIXTURES / name).read_text().splitlines()
    assert lines[0].startswith("# URNs of every custom resource"), lines[0]
    return {line for line in lines[1:] if line} - REMOVED_SINCE


def urn_type(urn: str) -> str:
    """The resource type a URN names (the last of its qualified type chain)."""
    return urn.split("::")[2].split("$")[-1]


def replaced(old: set[str], resources: Iterable[Any]) -> tuple[list[str], list[str]]:
    """What an update from the ``old`` URNs to ``resources`` would delete and create.

    A current custom resource keeps an old URN when it is its own or one of its aliases of
    the same type (how the engine matches them). Returns (old URNs no resource keeps,
    current resources that keep no old URN).
    """
    kept: set[str] = set()
    created: list[str] = []
    for resource in resources:
        if not resource["custom"] or resource["urn"] in ADDED_SINCE:
            continue
        claims = {resource["urn"]} | {a for a in resource.get("aliases") or () if urn_type(a) == resource["type"]}
        matched = claims & old
        kept |= matched
        if not matched:
            created.append(resource["urn"])
    return sorted(old - kept), sorted(created)


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM, stack="dev")


def test_the_dev_plan_keeps_every_resource_it_had_before_the_parts(dev):
    deleted, created = replaced(old_urns("dev-urns.txt"), dev.resources)
    assert deleted == [], "resources an update would delete (an alias is missing)"
    assert created == [], "resources an update would create anew"


def test_the_team_example_keeps_every_resource_it_had_before_the_parts(team):
    deleted, created = replaced(old_urns("team-urns.txt"), team.resources)
    assert deleted == [] and created == []


def _as_dict(resource: Any) -> dict[str, Any]:
    return resource.to_dict() if hasattr(resource, "to_dict") else dict(resource)


def _under(urn: str, type_token: str, name: str) -> str:
    """The URN a resource of this type and name has as a child of ``urn`` (how the engine builds it)."""
    head, project, qualified, _ = urn.split("::")
    return "::".join([head, project, f"{qualified}${type_token}", name])


@pytest.mark.parametrize("stack", ["dev", "team"])
def test_the_agents_resources_did_move_into_the_parts_each_aliased_to_its_urn_under_the_service(dev, team, stack):
    """Not a vacuous match: every resource an AgentService parented itself now sits in one of its
    parts (all but the budget), with one alias of its type: its URN directly under the service."""
    plan = {"dev": dev, "team": team}[stack]
    by_urn = {r["urn"]: r for r in plan.resources}
    moved = []
    for resource in plan.cloud_resources():
        part = by_urn.get(resource["parent"])
        if part is not None and part["type"] == AGENT:  # the budget stays where it was
            assert not resource.get("aliases"), resource["urn"]
        if part is None or part["type"] not in PARTS or resource["urn"] in ADDED_SINCE:
            continue
        assert by_urn[part["parent"]]["type"] == AGENT
        # Besides the SDK's own aliases to other type versions (pulumi-kubernetes adds them).
        same_type = [a for a in resource.get("aliases") or () if urn_type(a) == resource["type"]]
        assert same_type == [_under(part["parent"], resource["type"], resource["name"])], resource["urn"]
        moved.append(resource["urn"])
    directly_under_a_service = [u for u in old_urns(f"{stack}-urns.txt")
                                if u.split("::")[2].split("$")[-2:-1] == [AGENT] and urn_type(u) != "aws:budgets/budget:Budget"]
    assert len(moved) == len(directly_under_a_service) > 0


def test_maas_plan_still_counts_an_agents_resources_under_the_agent(dev, team):
    """The summary names the platform's parts (an agent among them) and, in a team stack, the
    agents themselves: never an agent's own parts, which every agent has alike."""
    assert set(team.summary()) == {f"{AGENT} intake", f"{AGENT} summarizer"}
    assert {f"{AGENT} maas-dev-agent-{a}" for a in ("triage", "research", "reports")} <= set(dev.summary())
    assert not [c for c in dev.summary() if c.split(" ")[0] in PARTS]


def test_dropping_an_alias_shows_as_a_deletion_and_a_creation(dev):
    """The check fails when a moved resource loses its alias, or when its alias names another type."""
    old = old_urns("dev-urns.txt")
    (table,) = [r for r in dev.resources if r["type"] == "aws:dynamodb/table:Table"]
    (old_table,) = table["aliases"]

    def doctored(aliases: list[str]) -> list[dict[str, Any]]:
        return [{**_as_dict(r), "aliases": aliases} if r["urn"] == table["urn"] else _as_dict(r) for r in dev.resources]

    assert replaced(old, doctored([])) == ([old_table], [table["urn"]])
    other_type = old_table.replace("aws:dynamodb/table:Table", "aws:s3/bucket:Bucket")
    assert replaced(old | {other_type}, doctored([other_type])) == (sorted([old_table, other_type]), [table["urn"]])
    assert replaced(old, doctored([old_table])) == ([], [])


# -- the role's policy is the parts' grants ----------------------------------------------------------

KEY_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
DYNAMODB_DATA = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                 "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                 "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"]
SECRETS_READ = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
SQS_CONSUME = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
               "sqs:ReceiveMessage"]
S3_BUCKET = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions"]
S3_OBJECTS = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]


def _by_name(plan: Plan, type_token: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in plan.of_type(type_token) if r["name"] == name]
    return found


def test_the_role_policy_is_the_parts_grants_with_the_actions_and_resources_of_before(dev):
    agent = dev.outputs["agents"]["triage"]
    table = _by_name(dev, "aws:dynamodb/table:Table", "maas-dev-agent-triage-table")
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table['inputs']['name']}"
    grant = _by_name(dev, "aws:iam/rolePolicy:RolePolicy", "maas-dev-agent-triage-access")
    assert grant["parent"].endswith("maas:agent:AgentIdentity::maas-dev-agent-triage-identity")
    assert policy(grant["inputs"]["policy"])["Statement"] == [
        {"Sid": "OwnKey", "Effect": "Allow", "Action": KEY_USE, "Resource": agent["key_arn"]},
        {"Sid": "OwnTable", "Effect": "Allow", "Action": DYNAMODB_DATA, "Resource": [arn, f"{arn}/index/*"]},
        {"Sid": "OwnSecrets", "Effect": "Allow", "Action": SECRETS_READ,
         "Resource": agent["secret_arns"]["llm-gateway-key"]},
        # The inbox's grant also names its key (the agent's), which OwnKey already allows.
        {"Sid": "OwnInbox", "Effect": "Allow", "Action": SQS_CONSUME, "Resource": agent["inbox_arn"]},
        {"Sid": "DeclaredTopics", "Effect": "Allow", "Action": "sns:Publish",
         "Resource": dev.outputs["messaging"]["topics"]["tickets"]["arn"]},
        {"Sid": "TopicKeyThroughSns", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": dev.outputs["messaging"]["broker_key_arn"]},
    ]


def test_consuming_the_inbox_grants_its_key_too_and_the_merge_keeps_each_permission_once():
    consume = queue_consume("arn:aws:sqs:us-east-1:1:inbox", "arn:aws:kms:us-east-1:1:key/k")
    assert [(s.sid, tuple(s.actions), tuple(s.resources)) for s in consume] == [
        ("OwnInbox", tuple(SQS_CONSUME), ("arn:aws:sqs:us-east-1:1:inbox",)),
        ("OwnInboxKey", ("kms:Decrypt",), ("arn:aws:kms:us-east-1:1:key/k",)),
    ]
    own_key = Statement(sid="OwnKey", actions=tuple(KEY_USE), resources=("arn:aws:kms:us-east-1:1:key/k",))
    assert [s.sid for s in merge_grants([own_key], consume)] == ["OwnKey", "OwnInbox"]
    other_key = Statement(sid="OwnKey", actions=tuple(KEY_USE), resources=("arn:aws:kms:us-east-1:1:key/other",))
    assert [s.sid for s in merge_grants([other_key], consume)] == ["OwnKey", "OwnInbox", "OwnInboxKey"]
    # A narrower statement never swallows a wider one, nor a conditional one a plain one.
    decrypt_only = Statement(sid="D", actions=("kms:Decrypt",), resources=("arn:aws:kms:us-east-1:1:key/k",))
    assert [s.sid for s in merge_grants([decrypt_only], [own_key])] == ["D", "OwnKey"]
    conditional = Statement(sid="C", actions=tuple(KEY_USE), resources=("arn:aws:kms:us-east-1:1:key/k",),
                            conditions={"Bool": {"aws:SecureTransport": True}})
    assert [s.sid for s in merge_grants([conditional], consume)] == ["C", "OwnInbox", "OwnInboxKey"]


def test_agent_code_reads_environment_tiers_from_the_defaults_not_from_the_environment_name():
    sources = sorted((ROOT / "platform" / "maas_platform" / "components" / "agent").glob("*.py"))
    assert sources and not [p.name for p in sources if '"prod"' in p.read_text() or "'prod'" in p.read_text()]
    assert not (ROOT / "platform" / "maas_platform" / "components" / "agent.py").exists()


# -- an existing datastore ---------------------------------------------------------------------------

def _dev_values() -> dict[str, Any]:
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    # The agents are replaced below: dev's flows name agents these values do not have.
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("maas:") and k != "maas:flows"}


def _agent(name: str, storage: Any, **extra: Any) -> dict[str, Any]:
    # A team of the platform stack, not dev's maas:teams team "claims" (a team stack's team is its own).
    return {"name": name, "team": "ledgers", "cost_center": "cc-3003", "image": f"ghcr.io/acme/{name}:1.0.0",
            "storage": storage, "budget": {"monthly_usd": 10, "llm_monthly_usd": 50}, **extra}


@pytest.mark.parametrize("storage, expected", [
    ({"kind": "existing", "arn": f"{TABLE}/index/by-date"},
     f"maas:agents[0].storage.arn (agent 'ledger'): '{TABLE}/index/by-date' is not a DynamoDB table or S3 bucket "
     "ARN; expected arn:aws:dynamodb:<region>:<account>:table/<name> or arn:aws:s3:::<bucket>"),
    ({"kind": "existing", "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:ledger"},
     "maas:agents[0].storage.arn (agent 'ledger'): 'arn:aws:rds:"),
    ({"kind": "existing", "arn": "arn:aws:s3:::acme-claims-archive/reports/*"},
     "maas:agents[0].storage.arn (agent 'ledger'): 'arn:aws:s3:::acme-claims-archive/reports/*' is not a DynamoDB"),
    ({"kind": "existing", "arn": TABLE, "key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/orders"},
     "maas:agents[0].storage.key_arn (agent 'ledger'): "),
    ({"kind": "existing"}, "maas:agents[0].storage.arn (agent 'ledger'): required key is missing"),
    ("mongo", "maas:agents[0].storage.kind (agent 'ledger'): 'mongo' is not one of dynamodb, postgres, s3, none, existing"),
])
def test_a_bad_existing_datastore_is_one_line_naming_the_field_and_the_expected_form(storage, expected):
    with pytest.raises(ConfigError) as error:
        parse_platform_config({**_dev_values(), "agents": [_agent("ledger", storage)]})
    message = str(error.value)
    assert "\n" not in message and message.startswith(expected), message


def _refs(region: str = REGION, account: str = ACCOUNT) -> PlatformRefs:
    return PlatformRefs(
        environment="dev", prefix="maas-dev", account=AccountContext(account_id=account, region=region),
        cluster_name="c", cluster_arn="arn", vpc_id="vpc", vpc_cidr="10.0.0.0/16", private_subnet_ids=["s"],
        availability_zones=["a"], cluster_security_group_id="sg",
    )


@pytest.mark.parametrize("storage, refs, expected", [
    ({"kind": "existing", "arn": TABLE}, _refs(region="eu-west-1"),
     "agent 'ledger': storage.arn: region us-east-1 is not the environment's (eu-west-1); an existing datastore "
     "must be in the environment's account and region"),
    ({"kind": "existing", "arn": TABLE}, _refs(account="111122223333"),
     "agent 'ledger': storage.arn: account 123456789012 is not the environment's (111122223333)"),
    ({"kind": "existing", "arn": BUCKET, "key_arn": KEY.replace(REGION, "eu-west-1")}, _refs(),
     "agent 'ledger': storage.key_arn: region eu-west-1 is not the environment's (us-east-1)"),
])
def test_an_existing_datastore_outside_the_environment_is_refused_before_anything_is_created(storage, refs, expected):
    spec = parse_platform_config({**_dev_values(), "agents": [_agent("ledger", storage)]}).agents[0]
    with pytest.raises(ConfigError) as error:
        check_agent(spec, refs)
    assert "\n" not in str(error.value) and str(error.value).startswith(expected), str(error.value)
    # A bucket's ARN names no account or region: only its key can be checked.
    check_agent(parse_platform_config({**_dev_values(), "agents": [_agent("ledger", {"kind": "existing", "arn": BUCKET})]}).agents[0],
                _refs(region="eu-west-1", account="111122223333"))


def test_maas_plan_stops_with_one_line_on_an_existing_table_of_another_region(tmp_path):
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:agents"].append(_agent("ledger", {"kind": "existing", "arn": TABLE.replace(REGION, "eu-west-1")}))
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    with pytest.raises(ConfigError) as error:
        plan_project(ROOT, config_file=path)
    assert str(error.value).startswith(
        "agent 'ledger': storage.arn: region eu-west-1 is not the environment's (us-east-1)"), str(error.value)


@pytest.fixture(scope="module")
def brought(tmp_path_factory) -> Plan:
    """dev with two more agents: one on an existing table (with its key), one on an existing bucket."""
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:agents"] += [
        _agent("ledger", {"kind": "existing", "arn": TABLE, "key_arn": KEY}),
        _agent("archive", {"kind": "existing", "arn": BUCKET}),
    ]
    path = tmp_path_factory.mktemp("brought") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return plan_project(ROOT, config_file=path)


def test_an_existing_table_gets_the_data_actions_of_a_created_one_and_its_key(brought):
    (grant,) = by_type(agent_resources(brought, "ledger"), "aws:iam/rolePolicy:RolePolicy")
    statements = policy(grant["inputs"]["policy"])["Statement"]
    assert statements == [
        {"Sid": "OwnKey", "Effect": "Allow", "Action": KEY_USE, "Resource": brought.outputs["agents"]["ledger"]["key_arn"]},
        {"Sid": "ExistingTable", "Effect": "Allow", "Action": DYNAMODB_DATA, "Resource": [TABLE, f"{TABLE}/index/*"]},
        {"Sid": "ExistingStoreKey", "Effect": "Allow", "Action": KEY_USE, "Resource": KEY},
    ]
    assert brought.outputs["agents"]["ledger"]["datastore_arns"] == [TABLE]


def test_an_existing_bucket_gets_the_data_actions_of_a_created_one(brought):
    (grant,) = by_type(agent_resources(brought, "archive"), "aws:iam/rolePolicy:RolePolicy")
    statements = policy(grant["inputs"]["policy"])["Statement"]
    assert statements[1:] == [
        {"Sid": "ExistingBucket", "Effect": "Allow", "Action": S3_BUCKET, "Resource": BUCKET},
        {"Sid": "ExistingObjects", "Effect": "Allow", "Action": S3_OBJECTS, "Resource": f"{BUCKET}/*"},
    ]


@pytest.mark.parametrize("agent, variable, value", [("ledger", "DYNAMODB_TABLE", "orders"),
                                                     ("archive", "S3_BUCKET", "acme-claims-archive")])
def test_an_existing_datastore_is_named_to_the_container_and_never_created(brought, agent, variable, value):
    resources = agent_resources(brought, agent)
    created = {"aws:dynamodb/table:Table", "aws:s3/bucket:Bucket", "aws:rds/cluster:Cluster"}
    assert not [r["urn"] for r in resources if r["type"] in created or r["type"].startswith("aws:s3/")]
    assert not [r["urn"] for r in resources if r["type"].endswith("Datastore")], "no datastore part either"
    (deployment,) = [d for d in k8s_kind(resources, "Deployment") if d["metadata"]["name"] == agent]
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env[variable] == value
    # DynamoDB and S3 answer on public addresses: reached through the agent's egress proxy only.
    (allow_aws,) = [p for p in k8s_kind(resources, "NetworkPolicy") if p["metadata"]["name"] == "allow-aws"]
    assert not any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0"
                   for rule in allow_aws["spec"]["egress"] for peer in rule["to"])
    assert [c for c in k8s_kind(resources, "ConfigMap", proxy=True) if c["metadata"]["name"] == "egress-proxy"]


def test_a_plan_with_existing_datastores_passes_the_policy_gate(brought):
    assert [v for v in brought.violations if v["level"] == "mandatory"] == []
    assert set(brought.outputs["agents"]) >= {"ledger", "archive"}


def test_the_key_policy_of_an_agent_names_every_service_a_created_store_uses_it_through(dev):
    key = _by_name(dev, "aws:kms/key:Key", "maas-dev-agent-triage-key")
    (services,) = [s for s in policy(key["inputs"]["policy"])["Statement"] if s["Sid"] == "ServicesOfTheAgentUseKey"]
    # ECR too: the agent's image repository is encrypted with its key (components/agent/registry.py).
    assert services["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"{service}.{REGION}.amazonaws.com" for service in ("dynamodb", "ecr", "rds", "s3", "secretsmanager", "sqs")
    ]
