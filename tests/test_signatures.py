"""Image signatures verified in the cluster: Kyverno where maas:delivery.require_signatures holds
(prod), one ImageValidatingPolicy per agent naming its own key and its own repository."""

from __future__ import annotations

import fnmatch
import json

import pytest

import crd_models
from conftest import ROOT, statements
from maas_platform import names
from maas_platform.components import signatures
from maas_platform.components.signatures import (
    ADMISSION_POD_LABELS, KYVERNO_CHART, SERVICE_ACCOUNT, UPSTREAM_VALUE_KEYS, VERIFY_EXPRESSION, WEBHOOK_PORT,
    kyverno_values, network_policies, signature_policy_spec,
)
from maas_platform.config.defaults import DEFAULT_KUBERNETES_VERSION
from maas_platform.iam.lint import lint_policy
from maas_platform.plan import Plan, plan_project
from maas_platform.plan.catalog import write_catalog_stack

POLICY = "kubernetes:policies.kyverno.io/v1:ImageValidatingPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AGENTS = ("agent-0000", "agent-0001")


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> Plan:
    """prod (require_signatures by default) with two agents."""
    path = write_catalog_stack(ROOT / "stacks" / "Pulumi.prod.yaml",
                               tmp_path_factory.mktemp("prod-signatures") / "Pulumi.prod.yaml", len(AGENTS))
    return plan_project(ROOT, config_file=path)


def kyverno_release(plan: Plan):
    releases = [r for r in plan.of_type(RELEASE) if r.inputs.get("chart") == KYVERNO_CHART.name]
    assert len(releases) <= 1
    return releases[0] if releases else None


def policies_by_agent(plan: Plan) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"].removesuffix("-signed-images"): r.inputs for r in plan.of_type(POLICY)}


def agent_output(plan: Plan, type_token: str, suffix: str, agent: str):
    (found,) = [r for r in plan.of_type(type_token) if r.name.endswith(f"-agent-{agent}-{suffix}")]
    return found


# -- where it runs ---------------------------------------------------------------------------------

def test_prod_runs_kyverno_from_its_pinned_chart_in_its_own_restricted_namespace(prod):
    release = kyverno_release(prod)
    assert release is not None
    assert (release.inputs["version"], release.inputs["repositoryOpts"]["repo"]) == (
        KYVERNO_CHART.version, KYVERNO_CHART.repo)
    assert release.inputs["namespace"] == names.KYVERNO_NAMESPACE
    (namespace,) = [r for r in prod.of_type(names.K8S_NAMESPACE)
                    if r.inputs["metadata"]["name"] == names.KYVERNO_NAMESPACE]
    assert {names.PSS_ENFORCE: "restricted"}.items() <= namespace.inputs["metadata"]["labels"].items()


def test_dev_without_require_signatures_gets_neither_kyverno_nor_policies(dev):
    assert kyverno_release(dev) is None
    assert dev.of_type(POLICY) == []
    assert not [r for r in dev.resources if r.type == names.MAAS_SIGNATURE_VERIFIER]


def test_kyverno_is_a_reserved_namespace_no_agent_may_take():
    assert names.KYVERNO_NAMESPACE in names.RESERVED_NAMESPACES


# -- one policy per agent: its key, its repository, its namespace ------------------------------------

def test_each_agent_s_policy_names_exactly_its_own_key_and_repository(prod):
    policies = policies_by_agent(prod)
    assert set(policies) == set(AGENTS)
    keys = {a: agent_output(prod, "aws:kms/key:Key", "signing-key", a).outputs["arn"] for a in AGENTS}
    # The repository each agent's registry creates, as its pods name it.
    repositories = {a: agent_output(prod, "aws:ecr/repository:Repository", "repository", a).inputs["name"]
                    for a in AGENTS}
    assert repositories == {a: f"maas-prod/{a}" for a in AGENTS}
    urls = {a: f"111122223333.dkr.ecr.us-east-1.amazonaws.com/{repositories[a]}" for a in AGENTS}
    for agent, body in policies.items():
        spec = body["spec"]
        (attestor,) = spec["attestors"]
        assert attestor["cosign"]["key"] == {"kms": f"awskms:///{keys[agent]}"}
        assert [m["glob"] for m in spec["matchImageReferences"]] == [f"{urls[agent]}:*", f"{urls[agent]}@*"]
        others = [a for a in AGENTS if a != agent]
        text = json.dumps(body)
        assert not any(keys[o] in text or f"{urls[o]}:" in text or f"{urls[o]}@" in text for o in others)
        assert spec["matchConstraints"]["namespaceSelector"] == {"matchLabels": {names.NAMESPACE_NAME_LABEL: agent}}


def test_a_policy_matches_its_repository_and_no_repository_whose_name_extends_it():
    url = "111122223333.dkr.ecr.us-east-1.amazonaws.com/maas-prod/triage"
    globs = [m["glob"] for m in signature_policy_spec("triage", "arn:aws:kms:us-east-1:111122223333:key/k", url)[
        "matchImageReferences"]]
    matches = lambda image: any(fnmatch.fnmatchcase(image, g) for g in globs)  # noqa: E731
    assert matches(f"{url}:1.4.2") and matches(f"{url}@sha256:{'a' * 64}") and matches(f"{url}:1.4.2@sha256:{'a' * 64}")
    assert not matches(f"{url}2:1.0") and not matches(f"{url}-canary:1.0")
    assert not matches("111122223333.dkr.ecr.us-east-1.amazonaws.com/maas-prod/research:1.0")


def test_policies_fail_closed_deny_and_pin_digests_without_the_public_log():
    spec = signature_policy_spec("triage", "arn:aws:kms:us-east-1:111122223333:key/k", "r/maas-prod/triage")
    assert spec["failurePolicy"] == "Fail" and spec["validationActions"] == ["Deny"]
    assert spec["validationConfigurations"] == {"mutateDigest": True, "verifyDigest": True, "required": True}
    assert spec["attestors"][0]["cosign"]["ctlog"] == {"insecureIgnoreTlog": True}
    assert spec["evaluation"] == {"background": {"enabled": False}}
    assert 1 <= spec["webhookConfiguration"]["timeoutSeconds"] <= 30
    # Every image category the policy extracts, each image verified with the agent's attestor.
    assert spec["validations"][0]["expression"] == VERIFY_EXPRESSION
    assert "attestors.ci" in VERIFY_EXPRESSION and "images.all(kind" in VERIFY_EXPRESSION


def test_an_agent_s_pods_wait_for_its_policy(prod):
    """The agent's namespace, which every object of the agent waits for, waits for the policy."""
    for agent in AGENTS:
        (policy,) = [r for r in prod.of_type(POLICY) if r.inputs["metadata"]["name"] == f"{agent}-signed-images"]
        (namespace,) = [r for r in prod.of_type(names.K8S_NAMESPACE) if r.inputs["metadata"]["name"] == agent]
        assert policy.urn in namespace.dependencies, agent
        deployments = [r for r in prod.of_type(names.K8S_DEPLOYMENT) if r.inputs["metadata"].get("namespace") == agent]
        assert deployments and all(namespace.urn in d.dependencies for d in deployments)
        assert names.AGENT_LABEL not in policy.inputs["metadata"]["labels"]
        assert kyverno_release(prod).urn in policy.dependencies


def test_each_policy_validates_against_the_kyverno_release_s_schema():
    crd_models.install()
    spec = signature_policy_spec("triage", "arn:aws:kms:us-east-1:111122223333:key/k",
                                 "111122223333.dkr.ecr.us-east-1.amazonaws.com/maas-prod/triage")
    obj = {"apiVersion": "policies.kyverno.io/v1", "kind": "ImageValidatingPolicy",
           "metadata": {"name": "triage-signed-images"}, "spec": spec}
    findings = crd_models.judge({"policy": obj}, f"{DEFAULT_KUBERNETES_VERSION}.0")["policy"]
    assert findings == []
    broken = {**obj, "spec": {**spec, "attestors": [{"name": "ci", "cosign": {"key": {"kmsUri": "x"}}}]}}
    assert crd_models.judge({"broken": broken}, f"{DEFAULT_KUBERNETES_VERSION}.0")["broken"]


# -- Kyverno's pods ---------------------------------------------------------------------------------

def test_only_the_admission_controller_runs_three_in_prod_on_the_system_nodes_restricted(prod):
    values = kyverno_release(prod).inputs["values"]
    for controller in ("backgroundController", "cleanupController", "reportsController"):
        assert values[controller] == {"enabled": False}
    admission = values["admissionController"]
    assert admission["replicas"] == 3
    assert admission["podDisruptionBudget"] == {"enabled": True, "minAvailable": 2}
    # The system node group (maas:cluster.node_groups[0]), as the other controllers.
    assert admission["nodeSelector"] == values["global"]["nodeSelector"] == {names.NODE_GROUP_LABEL: "system"}
    assert admission["tolerations"] == [{"key": names.SYSTEM_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]
    for container in ("container", "initContainer"):
        assert names.RESTRICTED_CONTAINER_SECURITY_CONTEXT.items() <= admission[container]["securityContext"].items()
        assert admission[container]["resources"]["requests"]
    assert admission["podSecurityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def test_other_environments_that_verify_run_two_admission_controllers():
    assert signatures.admission_replicas("staging") == 2 and signatures.admission_replicas("prod") == 3


def test_webhooks_see_only_the_agents_namespaces():
    values = kyverno_values(3, "system")
    assert values["config"]["webhooks"] == {"namespaceSelector": {"matchExpressions": [
        {"key": names.AGENT_LABEL, "operator": "Exists"}]}}


def test_every_value_set_is_a_key_of_the_pinned_chart():
    def leaves(value, path=""):
        if isinstance(value, dict) and value and f"{path}" not in UPSTREAM_VALUE_KEYS:
            for key, item in value.items():
                yield from leaves(item, f"{path}.{key}" if path else key)
        else:
            yield path
    unknown = [p for p in leaves(kyverno_values(3, "system")) if p not in UPSTREAM_VALUE_KEYS]
    assert unknown == []


def test_cost_estimate_counts_the_three_admission_controllers_on_the_system_group(prod):
    (system,) = [t for t in prod.cost["capacity"]["targets"] if t["kind"] == "node_group"]
    assert system["pods"]["chart kyverno: admission-controller"] == 3
    assert not any(name.startswith("chart kyverno:") and "admission" not in name for name in system["pods"])


# -- the network -------------------------------------------------------------------------------------

def test_the_webhook_admits_the_vpc_alone_and_the_hook_jobs_reach_dns_and_the_api_only():
    policies = network_policies("10.20.0.0/16")
    webhook = policies["allow-webhook"]
    assert webhook["podSelector"] == {"matchLabels": dict(ADMISSION_POD_LABELS)}
    assert webhook["ingress"] == [{"from": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
                                   "ports": [{"protocol": "TCP", "port": WEBHOOK_PORT}]}]
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    hooks = policies["hooks-dns-and-api-only"]
    assert hooks["policyTypes"] == ["Egress"]
    assert {"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["admission-controller"]} in \
        hooks["podSelector"]["matchExpressions"]
    ports = {p["port"] for rule in hooks["egress"] for p in rule["ports"]}
    assert ports == {53, 443}


def test_no_policy_finding_on_kyverno_s_resources(prod):
    mine = {r.urn for r in prod.resources if "-signatures" in r.urn or r.type == POLICY}
    assert mine
    assert not [v for v in prod.violations if v.get("urn") in mine]
    assert not [v for v in prod.not_evaluable if v.get("urn") in mine]


# -- Kyverno's identity -----------------------------------------------------------------------------

def test_kyverno_s_role_reads_only_signing_public_keys_and_pulls_only_agents_repositories(prod):
    (policy,) = [r for r in prod.of_type(ROLE_POLICY) if r.name == "maas-prod-signatures-kyverno-policy"]
    by_sid = {s["Sid"]: s for s in statements(policy.inputs["policy"])}
    keys = by_sid["ReadAgentSigningPublicKeys"]
    assert sorted(keys["Action"]) == ["kms:DescribeKey", "kms:GetPublicKey"]
    assert keys["Resource"] == "arn:aws:kms:us-east-1:111122223333:key/*"
    assert keys["Condition"] == {"StringEquals": {
        f"aws:ResourceTag/{names.IMAGE_SIGNING_TAG}": names.IMAGE_SIGNING_TAG_VALUE,
        f"aws:ResourceTag/{names.PLATFORM_TAG}": "maas-prod"}}
    pulls = by_sid["PullAgentImagesAndSignatures"]
    assert sorted(pulls["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert pulls["Resource"] == "arn:aws:ecr:us-east-1:111122223333:repository/maas-prod/*"
    assert by_sid["RegistryLogin"]["Action"] in ("ecr:GetAuthorizationToken", ["ecr:GetAuthorizationToken"])
    assert set(by_sid) == {"ReadAgentSigningPublicKeys", "PullAgentImagesAndSignatures", "RegistryLogin"}


def test_the_signing_keys_carry_the_tags_the_role_is_scoped_by(prod):
    for agent in AGENTS:
        key = agent_output(prod, "aws:kms/key:Key", "signing-key", agent)
        tags = key.inputs["tags"]
        assert tags[names.IMAGE_SIGNING_TAG] == names.IMAGE_SIGNING_TAG_VALUE and tags[names.PLATFORM_TAG] == "maas-prod"
        assert key.inputs["keyUsage"] == "SIGN_VERIFY"


def test_the_iam_linter_passes_kyverno_s_policy(prod):
    (policy,) = [r for r in prod.of_type(ROLE_POLICY) if r.name == "maas-prod-signatures-kyverno-policy"]
    result = lint_policy(policy.inputs["policy"], role_name="maas-prod-kyverno")
    assert result.not_evaluable is None and result.findings == ()
    # The judge does find a condition key GetPublicKey does not take.
    bad = json.loads(policy.inputs["policy"])
    bad["Statement"][0]["Condition"] = {"StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}
    assert lint_policy(json.dumps(bad)).findings


def test_kyverno_s_role_is_bound_to_its_service_account_in_its_namespace(prod):
    (association,) = [r for r in prod.of_type(names.EKS_POD_IDENTITY_ASSOCIATION)
                      if r.name == "maas-prod-signatures-kyverno-identity"]
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (
        names.KYVERNO_NAMESPACE, SERVICE_ACCOUNT)
    values = kyverno_release(prod).inputs["values"]
    assert values["admissionController"]["rbac"]["serviceAccount"]["name"] == SERVICE_ACCOUNT


def test_agents_repository_policies_let_kyverno_pull(prod):
    (role,) = [r for r in prod.of_type(names.IAM_ROLE) if r.name == "maas-prod-signatures-kyverno-role"]
    for agent in AGENTS:
        policy = agent_output(prod, names.ECR_REPOSITORY_POLICY, "repository-policy", agent)
        (pulls,) = [s for s in statements(policy.inputs["policy"]) if s["Sid"] == "ClusterPulls"]
        assert role.outputs["arn"] in pulls["Principal"]["AWS"]
