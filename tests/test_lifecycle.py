"""Deploy order and lifecycle: what the first `pulumi up`, a `pulumi destroy` and the `up` after it need.

* every custom resource is ordered after the Helm release that installs its CRD (in a team
  stack: after the platform stack, whose kubeconfig output waits for those releases);
* outside prod, a Secrets Manager secret is deleted without a recovery window, so its name is
  free again for the next `pulumi up`;
* a log group AWS would create itself for a resource's logs is created first by the stack,
  encrypted, with retention, and the resource depends on it.

The cost-allocation tags, the fourth lifecycle trap, are tested with the budgets (test_budgets.py).
"""

from __future__ import annotations

import json
import shutil
from fnmatch import fnmatchcase
from typing import Iterator

import pytest
import yaml

from conftest import ROOT
from maas_platform.config.loader import read_stack_file
from maas_platform.plan import Plan, PlannedResource, load_stack_config, plan_project
from maas_platform.plan.engine import run_program
from maas_platform.plan.fake_cloud import FakeCloud

TEAM = ROOT / "stacks" / "teams" / "example"
RELEASE = "kubernetes:helm.sh/v3:Release"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
SECRET = "aws:secretsmanager/secret:Secret"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"

# API group -> the chart whose release installs its CRDs. Checked on 2026-12-02 in each chart's
# repository: kube-prometheus-stack (prometheus-community/helm-charts, tag kube-prometheus-stack-88.5.3):
# crds.enabled defaults to true, the crds subchart holds crd-servicemonitors, crd-prometheusrules,
# crd-probes...; keda (kedacore/charts, tags v2.17.2 and the pinned v2.20.2): crds.install defaults
# to true (keda/values.yaml), templates/crds/crd-scaledobjects.yaml, crd-clustertriggerauthentications.yaml...;
# external-secrets (external-secrets/external-secrets, tags helm-chart-2.9.0 and the pinned
# helm-chart-2.8.0): installCRDs defaults to true (deploy/charts/external-secrets/values.yaml; the
# platform sets it too), the CRDs are added when the chart is packaged.
# karpenter-crd (aws/karpenter-provider-aws, tag v1.12.2, charts/karpenter-crd/templates): the
# NodePool, NodeClaim (karpenter.sh) and EC2NodeClass (karpenter.k8s.aws) CRDs as templates, so
# Helm upgrades them; the karpenter release itself skips its crds/ directory.
# argo-rollouts (argoproj/argo-helm, tag argo-rollouts-2.41.0): installCRDs (the platform sets it)
# renders templates/crds/*.yaml, the Rollout, AnalysisTemplate, AnalysisRun, Experiment and
# ClusterAnalysisTemplate CRDs of argoproj.io. kyverno (kyverno/kyverno, chart 3.9.0): the
# policies.kyverno.io CRDs, ImageValidatingPolicy among them, come with its crds dependency
# (crds.install, default true); only the platform stack makes those cluster-scoped policies.
CRD_CHARTS = {
    "argoproj.io": "argo-rollouts",
    "policies.kyverno.io": "kyverno",
    "monitoring.coreos.com": "kube-prometheus-stack",
    "keda.sh": "keda",
    "external-secrets.io": "external-secrets",
    "karpenter.sh": "karpenter-crd",
    "karpenter.k8s.aws": "karpenter-crd",
}
# Node pools are the platform's: a team stack creates none (policy K8S-039).
PLATFORM_ONLY_GROUPS = {"karpenter.sh", "karpenter.k8s.aws", "policies.kyverno.io"}


def api_group(type_token: str) -> str:
    """``kubernetes:<group>/<version>:<Kind>`` -> group (``core`` for the core group)."""
    return type_token.split(":")[1].rsplit("/", 1)[0]


def is_custom_resource(resource: PlannedResource) -> bool:
    """A Kubernetes object of a group the API server does not serve by itself.

    Built in: the groups without a dot (core, apps, batch, autoscaling, policy) and those
    under ``k8s.io``; ``helm.sh`` is the provider's Release, not an object of the cluster.
    """
    if not resource.type.startswith("kubernetes:") or resource.is_provider:
        return False
    group = api_group(resource.type)
    return "." in group and not group.endswith(".k8s.io") and group != "helm.sh"


def ordered_after(plan: Plan, resource: PlannedResource) -> set[str]:
    """Every URN the engine creates before ``resource``: its dependencies, transitively, and
    its provider's (a provider is configured before anything it creates)."""
    by_urn = plan.by_urn
    seen: set[str] = set()
    todo = [*resource.dependencies, *([resource.provider] if resource.provider else [])]
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in by_urn:
            todo.extend(by_urn[urn].dependencies)
            if by_urn[urn].provider:
                todo.append(by_urn[urn].provider)
    return seen


def chart_name(chart: str) -> str:
    """A release's chart: ``name``, or ``oci://registry/path/name`` for an OCI chart."""
    return chart.rsplit("/", 1)[-1]


def releases_by_chart(plan: Plan) -> dict[str, str]:
    return {chart_name(r.inputs["chart"]): r.urn for r in plan.of_type(RELEASE)}


def custom_resources(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.resources if is_custom_resource(r)]


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM, stack="dev")


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory) -> Plan:
    """dev with the rabbitmq backend, whose broker keeps its admin credentials in a secret."""
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:broker"] = {"backend": "rabbitmq", "topics": []}
    config["maas:agents"] = []
    config.pop("maas:flows", None)
    path = tmp_path_factory.mktemp("rabbitmq") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return plan_project(ROOT, config_file=path)


def all_plans(plans: dict[str, Plan], team: Plan) -> Iterator[tuple[str, Plan]]:
    yield from plans.items()
    yield "team", team


# -- 1. custom resources after the release that installs their CRD --------------------------------

@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_custom_resource_of_the_platform_waits_for_the_release_of_its_crd(plans, env):
    plan = plans[env]
    releases = releases_by_chart(plan)
    checked, problems = 0, []
    for resource in custom_resources(plan):
        group = api_group(resource.type)
        chart = CRD_CHARTS.get(group)
        if chart is None:
            problems.append(f"{resource.urn}: no known release installs the CRDs of '{group}'")
        elif chart not in releases:
            problems.append(f"{resource.urn}: the {chart} release that installs '{group}' is not in the plan")
        elif releases[chart] not in ordered_after(plan, resource):
            problems.append(f"{resource.urn}: not ordered after the {chart} release")
        checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= (20 if env == "dev" else 3)


def test_the_dev_agents_monitoring_objects_wait_for_kube_prometheus_stack(dev):
    """The case that failed: ServiceMonitor, PrometheusRule and Probe depended on their namespace only."""
    kube_prometheus_stack = releases_by_chart(dev)["kube-prometheus-stack"]
    kinds = ("ServiceMonitor", "PrometheusRule", "Probe")
    monitoring = [r for r in custom_resources(dev) if r.type.rsplit(":", 1)[1] in kinds]
    assert len([r for r in monitoring if "$maas:agent:" in r.urn]) == 3 * 3
    assert len([r for r in monitoring if "$maas:karpenter:" in r.urn]) == 1
    for resource in monitoring:
        assert kube_prometheus_stack in ordered_after(dev, resource), resource.urn


def test_the_team_stacks_custom_resources_come_after_the_platform_stack(team, dev):
    """A team stack holds no release: the platform's are in another stack. What it can show is that
    every custom resource is applied through the provider built from the platform stack's outputs,
    and that the platform stack it reads installs a release for every group it uses."""
    (platform_stack,) = team.stack_references
    assert team.stack_references[platform_stack].endswith("offline plan of stacks/Pulumi.dev.yaml")
    reference = f"urn:pulumi:{team.stack}::{team.project}::{STACK_REFERENCE}::{platform_stack}"
    releases = releases_by_chart(dev)
    resources = custom_resources(team)
    assert {api_group(r.type) for r in resources} == set(CRD_CHARTS) - PLATFORM_ONLY_GROUPS
    for resource in resources:
        group = api_group(resource.type)
        assert group in CRD_CHARTS, f"{resource.urn}: no known release installs the CRDs of '{group}'"
        assert CRD_CHARTS[group] in releases, f"{resource.urn}: the platform plan has no {CRD_CHARTS[group]} release"
        assert reference in ordered_after(team, resource), f"{resource.urn}: not ordered after {platform_stack}"


KUBECONFIG_PROBE = '''
import pulumi
import pulumi_aws as aws

from maas_platform.components.platform import Platform, PlatformArgs
from maas_platform.config import load_platform_config

config = load_platform_config()
platform = Platform(config.prefix, PlatformArgs(config=config),
                    opts=pulumi.ResourceOptions(providers=[aws.Provider("aws", region=config.region)]))


async def waits_for(output):
    return sorted([await resource.urn.future() for resource in await output.resources()])


pulumi.export("kubeconfig_waits_for", pulumi.Output.from_input(waits_for(platform.outputs()["kubeconfig"])))
'''


def test_the_kubeconfig_output_is_known_only_after_the_crd_releases(tmp_path):
    """A team stack's provider is built from the platform's kubeconfig output; the engine stores
    outputs as soon as they are known, so the kubeconfig must wait for the releases."""
    program = tmp_path / "__main__.py"
    program.write_text(KUBECONFIG_PROBE)
    # The dev agents' golden sets, where their paths (relative to the project) find them.
    shutil.copytree(ROOT / "stacks" / "golden", tmp_path / "stacks" / "golden")
    config, secrets = load_stack_config(ROOT / "stacks" / "Pulumi.dev.yaml")
    capture = run_program(tmp_path, project="maas", stack="dev", config=config, secret_keys=secrets,
                          cloud=FakeCloud("us-east-1"))
    waits_for = capture.outputs["kubeconfig_waits_for"]
    releases = {chart_name(r.inputs["chart"]): r.urn for r in capture.resources if r.type == RELEASE}
    for group, chart in CRD_CHARTS.items():
        if group not in PLATFORM_ONLY_GROUPS:
            assert releases[chart] in waits_for, chart
    assert any("aws:eks/cluster:Cluster" in urn for urn in waits_for)


def test_a_custom_resource_of_an_unknown_group_is_reported():
    unknown = PlannedResource(urn="urn:pulumi:dev::maas::kubernetes:cert-manager.io/v1:Certificate::c",
                              type="kubernetes:cert-manager.io/v1:Certificate", name="c", parent=None,
                              dependencies=(), inputs={}, custom=True, provider=None, protect=False)
    assert is_custom_resource(unknown) and api_group(unknown.type) not in CRD_CHARTS
    builtin = {"kubernetes:core/v1:Namespace", "kubernetes:networking.k8s.io/v1:Ingress",
               "kubernetes:apps/v1:Deployment", RELEASE}
    for token in builtin:
        resource = PlannedResource(urn=f"urn:x::{token}::n", type=token, name="n", parent=None, dependencies=(),
                                   inputs={}, custom=True, provider=None, protect=False)
        assert not is_custom_resource(resource), token


# -- 3. secrets that can be re-created ------------------------------------------------------------

def test_outside_prod_secrets_are_deleted_without_recovery_and_prod_keeps_a_window(plans, team, rabbitmq):
    """A secret deleted with a recovery window keeps its name taken: the `pulumi up` after a
    `pulumi destroy` would fail with "scheduled for deletion" for up to 30 days."""
    counted = {}
    for name, plan in [*all_plans(plans, team), ("dev-rabbitmq", rabbitmq)]:
        # A team stack protects what its platform stack protects (its protect_stateful output).
        protected = (plans["dev"] if name == "team" else plan).outputs["protect_stateful"]
        secrets = plan.of_type(SECRET)
        for secret in secrets:
            window = secret.inputs.get("recoveryWindowInDays")
            if protected:
                assert window is not None and 7 <= window <= 30, (secret.urn, window)
            else:
                assert window == 0, (secret.urn, window)
        counted[name] = len(secrets)
    # agents' (2), Grafana's admin password, the Slack receiver's; the team's agent; the broker's.
    assert counted["dev"] >= 4 and counted["team"] >= 1 and counted["dev-rabbitmq"] >= 1
    assert counted["prod"] >= 1
    assert plans["prod"].outputs["protect_stateful"] is True and plans["dev"].outputs["protect_stateful"] is False


# -- 4. log groups AWS would otherwise create itself ----------------------------------------------

def aws_created_log_groups(resource: PlannedResource) -> list[str]:
    """The log groups AWS creates for a resource's logs unless they exist (names as AWS uses them)."""
    inputs = resource.inputs
    exports = inputs.get("enabledCloudwatchLogsExports") or []
    if resource.type == "aws:rds/cluster:Cluster":
        return [f"/aws/rds/cluster/{inputs['clusterIdentifier']}/{log}" for log in exports]
    if resource.type == "aws:rds/instance:Instance":
        return [f"/aws/rds/instance/{inputs['identifier']}/{log}" for log in exports]
    if resource.type == "aws:eks/cluster:Cluster" and inputs.get("enabledClusterLogTypes"):
        return [f"/aws/eks/{inputs['name']}/cluster"]
    return []


def key_lets_cloudwatch_logs_encrypt(key: PlannedResource, log_group_arn: str, region: str) -> bool:
    for statement in json.loads(key.inputs["policy"])["Statement"]:
        if statement.get("Principal") != {"Service": f"logs.{region}.amazonaws.com"} or statement["Effect"] != "Allow":
            continue
        actions = set(statement["Action"]) if isinstance(statement["Action"], list) else {statement["Action"]}
        if not {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"} <= actions:
            continue
        for operator, values in statement.get("Condition", {}).items():
            allowed = values.get("kms:EncryptionContext:aws:logs:arn")
            allowed = [allowed] if isinstance(allowed, str) else allowed or []
            if operator == "ArnEquals" and log_group_arn in allowed:
                return True
            if operator == "ArnLike" and any(fnmatchcase(log_group_arn, pattern) for pattern in allowed):
                return True
    return False


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_log_groups_aws_would_create_exist_first_encrypted_with_retention(plans, env):
    plan = plans[env]
    groups = {g.inputs["name"]: g for g in plan.of_type(LOG_GROUP)}
    checked = 0
    for resource in plan.cloud_resources():
        for name in aws_created_log_groups(resource):
            assert name in groups, f"{resource.urn}: AWS would create {name} itself (unencrypted, kept forever)"
            group = groups[name]
            assert group.urn in resource.dependencies, f"{resource.urn} is not created after {name}"
            assert group.inputs.get("retentionInDays"), name
            assert group.inputs.get("kmsKeyId"), name
            assert group.protect == plan.outputs["protect_stateful"], name
            checked += 1
    assert checked >= (2 if env == "dev" else 1)


def test_the_agent_database_log_group_is_the_one_rds_uses_under_the_agents_key_and_retention(dev):
    (cluster,) = [c for c in dev.of_type("aws:rds/cluster:Cluster") if c.inputs["tags"].get("agent") == "research"]
    assert cluster.inputs["enabledCloudwatchLogsExports"] == ["postgresql"]
    name = f"/aws/rds/cluster/{cluster.inputs['clusterIdentifier']}/postgresql"
    assert name == "/aws/rds/cluster/maas-dev-research/postgresql"
    (group,) = [g for g in dev.of_type(LOG_GROUP) if g.inputs["name"] == name]
    assert group.urn in cluster.dependencies
    assert group.inputs["kmsKeyId"] == cluster.inputs["kmsKeyId"], "the agent's own key, as the database's"
    assert group.inputs["retentionInDays"] == dev.outputs["agent_log_retention_days"]
    # CloudWatch Logs may use the agent's key for exactly this log group.
    (key,) = [k for k in dev.of_type(KMS_KEY) if k.urn in cluster.dependencies]
    region, account = dev.outputs["region"], dev.outputs["account_id"]
    arn = f"arn:aws:logs:{region}:{account}:log-group:{name}"
    assert key_lets_cloudwatch_logs_encrypt(key, arn, region)
    assert not key_lets_cloudwatch_logs_encrypt(key, arn.replace("research", "triage"), region)
    # The other agents' keys grant CloudWatch Logs nothing.
    for other in dev.of_type(KMS_KEY):
        if other.name.startswith("maas-dev-agent-") and other.urn != key.urn:
            assert "logs." not in other.inputs["policy"], other.urn


def test_a_log_group_aws_would_create_is_reported():
    cluster = PlannedResource(urn="urn:c", type="aws:rds/cluster:Cluster", name="c", parent=None, dependencies=(),
                              inputs={"clusterIdentifier": "db", "enabledCloudwatchLogsExports": ["postgresql"]},
                              custom=True, provider=None, protect=False)
    assert aws_created_log_groups(cluster) == ["/aws/rds/cluster/db/postgresql"]

