"""No path from one namespace to another's secrets: every SecretStore acts as its own namespace.

A SecretStore names no role; External Secrets exchanges the token of its namespace's
``secret-sync`` service account for the role that account's annotation names, and each role
trusts exactly that subject through the cluster's OIDC provider. These tests read the shipped
plans (dev, staging, prod and the team example) and evaluate every agent role's trust policy
against the claims a token of each namespace carries: a SecretStore in namespace ``a`` that
names agent ``b``'s role is refused by ``b``'s trust, whatever else it says.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pytest

from conftest import ROOT, as_list
from maas_platform import names
from maas_platform.components.addons import EXTERNAL_SECRETS_SERVICE_ACCOUNT, SECRET_SYNC_TOKEN_ROLE
from maas_platform.plan import Plan, PlannedResource, plan_project

TEAM = ROOT / "stacks" / "teams" / "example"
AGENT = "maas:agent:AgentService"
ROLE = "aws:iam/role:Role"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
RELEASE = "kubernetes:helm.sh/v3:Release"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
SUBJECT = "system:serviceaccount:{namespace}:{service_account}"


@pytest.fixture(scope="module")
def shipped(plans) -> dict[str, Plan]:
    """Every shipped plan: the three environments and the team example (against dev)."""
    return {**plans, "team": plan_project(TEAM, stack="dev")}


# -- a small evaluator of trust policies ------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """An STS call as IAM evaluates a trust policy: who calls, which action, which context keys."""

    principal: Mapping[str, str]  # {"Federated": provider ARN} | {"Service": ...} | {"AWS": ARN}
    action: str
    context: Mapping[str, str] = field(default_factory=dict)


def token_request(provider_arn: str, issuer_host: str, namespace: str, service_account: str,
                  audience: str = "sts.amazonaws.com") -> Request:
    """AssumeRoleWithWebIdentity with a token Kubernetes issued for one service account."""
    return Request(
        principal={"Federated": provider_arn},
        action=WEB_IDENTITY,
        context={f"{issuer_host}:sub": SUBJECT.format(namespace=namespace, service_account=service_account),
                 f"{issuer_host}:aud": audience},
    )


def _action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> bool:
    values = [str(v) for v in as_list(expected)]
    actual = context.get(key)
    if operator == "StringEquals":
        return actual is not None and actual in values
    if operator == "StringLike":
        return actual is not None and any(fnmatch.fnmatchcase(actual, v) for v in values)
    if operator in ("ArnEquals", "ArnLike"):
        return actual is not None and any(fnmatch.fnmatchcase(actual, v) for v in values)
    # An operator this evaluator does not know is not a silent pass: the test says so.
    raise AssertionError(f"condition operator {operator} is not evaluable here")


def admits(trust: Mapping[str, Any], request: Request) -> bool:
    """Whether a trust policy (no Deny statements, as all of ours) lets ``request`` through."""
    for statement in trust["Statement"]:
        assert statement["Effect"] == "Allow" and "NotPrincipal" not in statement and "NotAction" not in statement
        principal = statement["Principal"]
        kind, who = next(iter(request.principal.items()))
        if principal != "*" and who not in as_list(principal.get(kind, [])) and "*" not in as_list(principal.get(kind, [])):
            continue
        if not any(_action_matches(a, request.action) for a in as_list(statement["Action"])):
            continue
        conditions = statement.get("Condition") or {}
        if all(_condition_holds(op, key, expected, request.context)
               for op, block in conditions.items() for key, expected in block.items()):
            return True
    return False


def test_the_evaluator_refuses_what_it_should():
    host = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
    provider = f"arn:aws:iam::1:oidc-provider/{host}"
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": [WEB_IDENTITY],
                            "Condition": {"StringEquals": {f"{host}:sub": SUBJECT.format(namespace="a", service_account="s"),
                                                           f"{host}:aud": "sts.amazonaws.com"}}}]}
    assert admits(trust, token_request(provider, host, "a", "s"))
    assert not admits(trust, token_request(provider, host, "b", "s"))
    assert not admits(trust, token_request(provider, host, "a", "other"))
    assert not admits(trust, token_request(provider, host, "a", "s", audience="vault"))
    assert not admits(trust, token_request(f"arn:aws:iam::1:oidc-provider/{host}X", host, "a", "s"))
    assert not admits(trust, Request({"AWS": "arn:aws:iam::1:role/anything"}, "sts:AssumeRole"))
    # The old shape: an AWS principal with no condition admits that principal for every agent.
    old = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/eso"},
                          "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
    assert admits(old, Request({"AWS": "arn:aws:iam::1:role/eso"}, "sts:AssumeRole"))
    with pytest.raises(AssertionError, match="not evaluable"):
        admits({"Statement": [{**trust["Statement"][0], "Condition": {"ForAnyValue:StringLike": {"k": "v"}}}]},
               token_request(provider, host, "a", "s"))


# -- the agents of a plan ---------------------------------------------------------------------------

@dataclass
class Agent:
    role: PlannedResource
    namespace: str
    service_account: str
    irsa: bool
    has_secrets: bool

    @property
    def trust(self) -> dict[str, Any]:
        return json.loads(self.role.inputs["assumeRolePolicy"])


def _service_of(plan: Plan, resource: PlannedResource) -> Optional[str]:
    by_urn = {r.urn: r for r in plan.resources}
    urn = resource.parent
    while urn in by_urn:
        if by_urn[urn].type == AGENT:
            return urn
        urn = by_urn[urn].parent
    return None


GITHUB_PROVIDER = ":oidc-provider/" + names.GITHUB_OIDC_URL.removeprefix("https://")


def _federated(role: PlannedResource) -> set[str]:
    trust = json.loads(role.inputs["assumeRolePolicy"])
    return {p for s in trust["Statement"] for p in as_list(s["Principal"].get("Federated", []))}


def _assumed_by_workloads(role: PlannedResource) -> bool:
    """Whether pods could assume the role (Pod Identity or a web identity other than GitHub's): not
    so the roles AWS services assume for the agent, such as its Bedrock budget's stop action
    (test_bedrock.py), nor its CI role, which GitHub Actions' tokens alone assume (registry.py;
    tested below)."""
    trust = json.loads(role.inputs["assumeRolePolicy"])
    services = {p for s in trust["Statement"] for p in as_list(s["Principal"].get("Service", []))}
    federated = {p for p in _federated(role) if not p.endswith(GITHUB_PROVIDER)}
    return bool(federated) or "pods.eks.amazonaws.com" in services


def ci_roles(plan: Plan) -> list[PlannedResource]:
    """The agents' roles whose trust federates GitHub's OIDC provider."""
    return [r for r in plan.of_type(ROLE) if _service_of(plan, r) is not None
            and any(p.endswith(GITHUB_PROVIDER) for p in _federated(r))]


def agents(plan: Plan) -> list[Agent]:
    found = []
    for role in plan.of_type(ROLE):
        service = _service_of(plan, role)
        if service is None or not _assumed_by_workloads(role):
            continue
        inside = [r for r in plan.resources if _service_of(plan, r) == service]
        [meta] = [r.inputs["metadata"] for r in inside if r.type == "kubernetes:core/v1:Namespace"]
        namespace, name = meta["name"], meta["labels"][names.AGENT_LABEL]
        [deployment] = [r for r in inside if r.type == "kubernetes:apps/v1:Deployment"
                        and r.inputs["metadata"]["name"] == name]
        account = deployment.inputs["spec"]["template"]["spec"]["serviceAccountName"]
        [own] = [r for r in inside if r.type == SERVICE_ACCOUNT and r.inputs["metadata"]["name"] == account]
        found.append(Agent(
            role=role, namespace=namespace, service_account=account,
            irsa="eks.amazonaws.com/role-arn" in (own.inputs["metadata"].get("annotations") or {}),
            has_secrets=any(r.type == SECRET_STORE for r in inside),
        ))
    return found


def _oidc(plan: Plan) -> tuple[str, str]:
    """The OIDC provider ARN and issuer host every web-identity trust of the plan names."""
    providers = {p for agent in agents(plan) for s in agent.trust["Statement"]
                 for p in as_list(s["Principal"].get("Federated", []))}
    assert len(providers) <= 1, providers
    if not providers:
        return "", ""
    [provider] = providers
    return provider, provider.split(":oidc-provider/", 1)[1]


STACKS = ["dev", "staging", "prod", "team"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_has_secret_stores_to_check(shipped, stack):
    """The tests below mean something only if the plans hold stores: dev and the team example
    have agents with and without secrets; staging and prod (no agents) the monitoring store."""
    found = agents(shipped[stack])
    if stack in ("dev", "team"):
        assert any(a.has_secrets for a in found) and not all(a.has_secrets for a in found)
    else:
        assert not found
    assert shipped[stack].of_type(SECRET_STORE)


@pytest.mark.parametrize("stack", STACKS)
def test_an_agent_role_trusts_its_own_workload_and_its_namespaces_secret_sync_only(shipped, stack):
    plan = shipped[stack]
    provider, host = _oidc(plan)
    for agent in agents(plan):
        statements = agent.trust["Statement"]
        assert not [s for s in statements if "AWS" in s["Principal"]], \
            f"{agent.role.name}: an AWS principal may sts:AssumeRole into the agent"
        expected = 2 if agent.has_secrets else 1
        assert len(statements) == expected, f"{agent.role.name}: {statements}"
        workload, *sync = statements
        if agent.irsa:
            assert workload["Principal"] == {"Federated": provider}
            assert workload["Condition"]["StringEquals"][f"{host}:sub"] == SUBJECT.format(
                namespace=agent.namespace, service_account=agent.service_account)
        else:
            assert workload["Principal"] == {"Service": names.POD_IDENTITY_PRINCIPAL}
            tags = workload["Condition"]["StringEquals"]
            assert tags["aws:RequestTag/kubernetes-namespace"] == agent.namespace
            assert tags["aws:RequestTag/kubernetes-service-account"] == agent.service_account
        if agent.has_secrets:
            [sync] = sync
            assert sync["Principal"] == {"Federated": provider}
            assert as_list(sync["Action"]) == [WEB_IDENTITY]
            assert sync["Condition"] == {"StringEquals": {
                f"{host}:sub": SUBJECT.format(namespace=agent.namespace, service_account=names.SECRET_SYNC_SERVICE_ACCOUNT),
                f"{host}:aud": "sts.amazonaws.com",
            }}


@pytest.mark.parametrize("stack", STACKS)
def test_a_secret_sync_token_of_one_namespace_is_refused_by_every_other_agent(shipped, stack):
    plan = shipped[stack]
    provider, host = _oidc(plan)
    found = agents(plan)
    namespaces = {a.namespace for a in found} | {names.MONITORING_NAMESPACE, names.EXTERNAL_SECRETS_NAMESPACE,
                                                  names.LLM_GATEWAY_NAMESPACE}
    for agent in found:
        for namespace in namespaces:
            token = token_request(provider, host, namespace, names.SECRET_SYNC_SERVICE_ACCOUNT)
            admitted = admits(agent.trust, token)
            assert admitted == (namespace == agent.namespace and agent.has_secrets), (agent.role.name, namespace)
            # Nor the namespace's other service accounts, the agent's own one included (for a Pod Identity agent).
            for other in (agent.service_account, "default", EXTERNAL_SECRETS_SERVICE_ACCOUNT):
                token = token_request(provider, host, namespace, other)
                expected = agent.irsa and namespace == agent.namespace and other == agent.service_account
                assert admits(agent.trust, token) == expected, (agent.role.name, namespace, other)
        # Whatever can call sts:AssumeRole (External Secrets' old role, another agent, the account root).
        for caller in ("arn:aws:iam::123456789012:role/maas-dev-external-secrets", "arn:aws:iam::123456789012:root",
                       *(f"arn:aws:iam::123456789012:role/{a.role.inputs['name']}" for a in found)):
            assert not admits(agent.trust, Request({"AWS": caller}, "sts:AssumeRole")), (agent.role.name, caller)


@pytest.mark.parametrize("stack", ["dev", "team"])
def test_no_token_of_the_cluster_and_no_other_repository_is_admitted_by_an_agents_ci_role(shipped, stack):
    """A pod cannot become the agent's CI role (which pushes and signs its images), nor can
    another GitHub repository's workflow."""
    plan = shipped[stack]
    provider, host = _oidc(plan)
    found, roles = agents(plan), ci_roles(plan)
    assert roles, "the plan has CI roles to check"
    namespaces = {a.namespace for a in found} | {names.MONITORING_NAMESPACE, names.EXTERNAL_SECRETS_NAMESPACE}
    github = names.GITHUB_OIDC_URL.removeprefix("https://")
    for role in roles:
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert len(_federated(role)) == 1 and all(s["Principal"].keys() == {"Federated"} for s in trust["Statement"])
        [github_provider] = _federated(role)
        for namespace in namespaces:
            for account in (names.SECRET_SYNC_SERVICE_ACCOUNT, "default", *(a.service_account for a in found)):
                assert not admits(trust, token_request(provider, host, namespace, account)), (role.name, namespace)
        assert not admits(trust, Request({"Service": names.POD_IDENTITY_PRINCIPAL}, "sts:AssumeRole")), role.name
        for caller in ("arn:aws:iam::123456789012:root", *(f"arn:aws:iam::123456789012:role/{a.role.inputs['name']}" for a in found)):
            assert not admits(trust, Request({"AWS": caller}, "sts:AssumeRole")), (role.name, caller)
        subjects = [v for s in trust["Statement"] for v in as_list(s["Condition"]["StringLike"][f"{github}:sub"])]
        repository = subjects[0].split(":")[1]
        assert all(v.startswith(f"repo:{repository}:") for v in subjects), (role.name, subjects)

        def github_token(sub: str) -> Request:
            return Request({"Federated": github_provider}, WEB_IDENTITY,
                           {f"{github}:sub": sub, f"{github}:aud": names.GITHUB_OIDC_AUDIENCE})

        assert admits(trust, github_token(f"repo:{repository}:ref:refs/heads/main"))
        assert not admits(trust, github_token(f"repo:{repository}-fork:ref:refs/heads/main")), role.name
        assert not admits(trust, github_token(f"repo:{repository}:ref:refs/heads/feature")), role.name
        assert not admits(trust, github_token(f"repo:{repository}:pull_request")), role.name


# -- nothing grants sts:AssumeRole into an agent ------------------------------------------------------

def _identity_statements(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """(resource, statement) of every identity policy of the plan (inline, managed, boundary)."""
    found = []
    for resource in plan.resources:
        if not resource.type.startswith("aws:iam/"):
            continue
        for key in ("policy", "inlinePolicies"):
            value = resource.inputs.get(key)
            documents = [p.get("policy") for p in value] if isinstance(value, list) else [value]
            for document in documents:
                if isinstance(document, str) and document.startswith("{"):
                    found += [(resource.name, s) for s in as_list(json.loads(document).get("Statement", []))]
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_no_policy_grants_assume_role_on_an_agent_role(shipped, stack):
    plan = shipped[stack]
    # Every agent role of the plan, and any agent role of the environment (staging and prod have none yet).
    prefix = plan.outputs.get("prefix") or shipped["dev"].outputs["prefix"]
    roles = [f"arn:aws:iam::123456789012:role/{name}"
             for name in (*(a.role.inputs["name"] for a in agents(plan)), f"{prefix}-agent-any")]
    statements = _identity_statements(plan)
    assert statements, "the plan has identity policies to check"
    for resource, statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action", []))
        if "NotAction" in statement:
            assumes = not any(_action_matches(a, "sts:AssumeRole") for a in as_list(statement["NotAction"]))
        else:
            assumes = any(_action_matches(a, "sts:AssumeRole") for a in actions)
        if not assumes:
            continue
        for pattern in as_list(statement.get("Resource", [])):
            # The account is irrelevant to the match: any account's agent role is somebody's.
            generic = re.sub(r"::\d{12}:", "::123456789012:", str(pattern))
            assert not any(fnmatch.fnmatchcase(role, generic) for role in roles), \
                f"{resource}: {statement.get('Sid')} lets its holder sts:AssumeRole {pattern}"
            assert pattern != "*", f"{resource}: sts:AssumeRole on *"


# -- the Kubernetes side ----------------------------------------------------------------------------

def _in(plan: Plan, type_token: str, namespace: str) -> list[PlannedResource]:
    return [r for r in plan.of_type(type_token) if r.inputs["metadata"].get("namespace") == namespace]


def _namespace_role(plan: Plan, namespace: str) -> str:
    """The name of the role a namespace's secret sync may act as: its agent's, or monitoring's or the
    LLM gateway's sync role."""
    owners = [a.role.inputs["name"] for a in agents(plan) if a.namespace == namespace]
    platform_sync = {names.MONITORING_NAMESPACE: "-observability-secret-sync-role",
                     names.LLM_GATEWAY_NAMESPACE: "-llm-gateway-secret-sync-role"}
    if namespace in platform_sync:
        owners += [r.inputs["name"] for r in plan.of_type(ROLE) if r.name.endswith(platform_sync[namespace])]
    assert len(owners) == 1, (namespace, owners)
    return owners[0]


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_store_authenticates_as_its_namespaces_secret_sync_and_names_no_role(shipped, stack):
    plan = shipped[stack]
    stores = plan.of_type(SECRET_STORE)
    assert stores
    assert not plan.of_type(names.K8S_CLUSTER_SECRET_STORE), "a ClusterSecretStore could read any namespace's ref"
    for store in stores:
        namespace = store.inputs["metadata"]["namespace"]
        aws = store.inputs["spec"]["provider"]["aws"]
        assert aws["auth"] == {"jwt": {"serviceAccountRef": {"name": names.SECRET_SYNC_SERVICE_ACCOUNT}}}, store.name
        assert "role" not in aws and "additionalRoles" not in aws, f"{store.name}: a store assumes nothing"
        [account] = [a for a in _in(plan, SERVICE_ACCOUNT, namespace)
                     if a.inputs["metadata"]["name"] == names.SECRET_SYNC_SERVICE_ACCOUNT]
        annotation = account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert re.fullmatch(rf"arn:aws:iam::\d{{12}}:role/{re.escape(_namespace_role(plan, namespace))}", annotation), \
            (namespace, annotation)
        assert account.inputs.get("automountServiceAccountToken") is False
        assert account.urn in store.dependencies


@pytest.mark.parametrize("stack", STACKS)
def test_external_secrets_may_request_tokens_only_for_secret_sync_and_only_where_a_store_is(shipped, stack):
    plan = shipped[stack]
    with_store = {s.inputs["metadata"]["namespace"] for s in plan.of_type(SECRET_STORE)}
    token_roles = [r for r in plan.of_type(K8S_ROLE) if "serviceaccounts/token" in json.dumps(r.inputs.get("rules"))]
    assert {r.inputs["metadata"]["namespace"] for r in token_roles} == with_store
    for role in token_roles:
        namespace = role.inputs["metadata"]["namespace"]
        assert role.inputs["metadata"]["name"] == SECRET_SYNC_TOKEN_ROLE
        assert role.inputs["rules"] == [{"apiGroups": [""], "resources": ["serviceaccounts/token"],
                                         "resourceNames": [names.SECRET_SYNC_SERVICE_ACCOUNT], "verbs": ["create"]}]
        [binding] = [b for b in _in(plan, ROLE_BINDING, namespace) if b.inputs["metadata"]["name"] == SECRET_SYNC_TOKEN_ROLE]
        assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                             "name": SECRET_SYNC_TOKEN_ROLE}
        assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": EXTERNAL_SECRETS_SERVICE_ACCOUNT,
                                               "namespace": names.EXTERNAL_SECRETS_NAMESPACE}]
    # An agent without secrets has none of it.
    for agent in agents(plan):
        if not agent.has_secrets:
            assert not [a for a in _in(plan, SERVICE_ACCOUNT, agent.namespace)
                        if a.inputs["metadata"]["name"] == names.SECRET_SYNC_SERVICE_ACCOUNT]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_external_secrets_has_no_cluster_wide_token_grant_and_no_aws_identity(shipped, stack):
    plan = shipped[stack]
    [release] = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "external-secrets"]
    values = release.inputs["values"]
    assert values["rbac"]["serviceAccountTokenCreate"] is False
    assert values["serviceAccount"]["name"] == EXTERNAL_SECRETS_SERVICE_ACCOUNT
    assert release.inputs["namespace"] == names.EXTERNAL_SECRETS_NAMESPACE
    associations = plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert not [a for a in associations if a.inputs["namespace"] == names.EXTERNAL_SECRETS_NAMESPACE]
    assert "external_secrets_role_arn" not in plan.outputs
    assert plan.outputs["oidc_provider_arn"]
