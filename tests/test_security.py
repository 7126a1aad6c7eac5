"""Security properties of the planned environments, asserted on what the engine would receive."""

from __future__ import annotations

import json

import pytest

from conftest import ENVIRONMENTS, named, policy
from maas_platform.components.cluster import CONTROL_PLANE_LOG_TYPES
from maas_platform.plan.fake_cloud import resource_class
from maas_platform.tagging import accepts_tag_map

CLUSTER = "aws:eks/cluster:Cluster"
KEY = "aws:kms/key:Key"
SUBNET = "aws:ec2/subnet:Subnet"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
# Resources whose ``policy`` is not an IAM document: an ECR lifecycle policy's is its expiry rules.
NOT_IAM_POLICIES = {"aws:ecr/lifecyclePolicy:LifecyclePolicy"}


def key_by_arn(plan, arn: str) -> dict:
    """The KMS key resource whose ARN the plan's outputs give as ``arn``."""
    purpose = next(k[: -len("_key_arn")] for k, v in plan.outputs.items() if k.endswith("_key_arn") and v == arn)
    return named(plan, KEY, f"{plan.project}-{plan.stack}-keys-{purpose}")


def private_subnets(plan) -> list[dict]:
    return [s for s in plan.of_type(SUBNET) if "-private-" in s["name"]]


# -- the EKS control plane ------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_endpoint_is_private(plans, env):
    vpc = plans[env].of_type(CLUSTER)[0]["inputs"]["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_are_envelope_encrypted_with_a_rotated_key(plans, env):
    plan = plans[env]
    cluster = plan.of_type(CLUSTER)[0]
    encryption = cluster["inputs"]["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    key = key_by_arn(plan, encryption["provider"]["keyArn"])
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["urn"] in cluster["dependencies"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_all_control_plane_logs_go_to_a_retained_encrypted_group(plans, env):
    plan = plans[env]
    cluster = plan.of_type(CLUSTER)[0]
    assert sorted(cluster["inputs"]["enabledClusterLogTypes"]) == sorted(CONTROL_PLANE_LOG_TYPES)
    assert len(CONTROL_PLANE_LOG_TYPES) == 5
    group = next(g for g in plan.of_type(LOG_GROUP) if g["inputs"]["name"] == f"/aws/eks/{cluster['inputs']['name']}/cluster")
    assert group["inputs"]["retentionInDays"] >= 30
    assert group["inputs"]["kmsKeyId"] == plan.outputs["logs_key_arn"]
    assert group["urn"] in cluster["dependencies"], "the log group must exist before EKS creates its own"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_creator_gets_no_implicit_admin(plans, env):
    access = plans[env].of_type(CLUSTER)[0]["inputs"]["accessConfig"]
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    associations = plans[env].of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    # Cluster-wide access is the admin role's; a team's deploy role reaches its namespaces only (docs/teams.md).
    cluster_wide = [a for a in associations if a["inputs"]["accessScope"]["type"] == "cluster"]
    assert cluster_wide and all(a["inputs"]["principalArn"].endswith(":role/maas-platform-admin") for a in cluster_wide)
    assert all(a["inputs"]["accessScope"]["type"] == "namespace" for a in associations if a not in cluster_wide)


def test_prod_protects_stateful_resources(prod, dev):
    for plan, expected in ((prod, True), (dev, False)):
        cluster = plan.of_type(CLUSTER)[0]
        assert cluster["protect"] is expected
        assert cluster["inputs"]["deletionProtection"] is expected
        for resource in plan.of_type(KEY) + plan.of_type(LOG_GROUP):
            assert resource["protect"] is expected, resource["urn"]


# -- nodes ---------------------------------------------------------------------------------

def test_prod_node_groups_span_three_private_subnets_in_three_azs(prod):
    subnets = {s["name"]: s for s in private_subnets(prod)}
    azs = {s["inputs"]["availabilityZone"] for s in subnets.values()}
    assert len(azs) == 3
    for group in prod.of_type(NODE_GROUP):
        assert len(group["inputs"]["subnetIds"]) == 3
        subnet_deps = {u.rsplit("::", 1)[1] for u in group["dependencies"] if "aws:ec2/subnet:Subnet" in u}
        assert subnet_deps == set(subnets), "node groups run in the private subnets only"
        assert group["inputs"]["scalingConfig"]["minSize"] >= 3


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_launch_template_requires_imdsv2_and_encrypts_volumes(plans, env):
    plan = plans[env]
    templates = plan.of_type(LAUNCH_TEMPLATE)
    assert templates
    for template in templates:
        metadata = template["inputs"]["metadataOptions"]
        assert metadata["httpTokens"] == "required"
        assert metadata["httpPutResponseHopLimit"] == 1
        for mapping in template["inputs"]["blockDeviceMappings"]:
            assert mapping["ebs"]["encrypted"] == "true"
            assert mapping["ebs"]["kmsKeyId"] == plan.outputs["ebs_key_arn"]
    for group in plan.of_type(NODE_GROUP):
        assert any(t["urn"] in group["dependencies"] for t in templates), "node group must use a hardened template"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_role_holds_no_cni_policy_and_addons_have_own_identities(plans, env):
    plan = plans[env]
    node_policies = [
        a["inputs"]["policyArn"] for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if "-node-" in a["name"]
    ]
    assert node_policies and not any("CNI" in p for p in node_policies)
    addons = {a["inputs"]["addonName"]: a["inputs"] for a in plan.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
    assert addons["vpc-cni"]["podIdentityAssociations"][0]["serviceAccount"] == "aws-node"
    assert addons["aws-ebs-csi-driver"]["podIdentityAssociations"][0]["serviceAccount"] == "ebs-csi-controller-sa"


# -- network -------------------------------------------------------------------------------

@pytest.mark.parametrize("env, azs, nats", [("dev", 2, 1), ("staging", 3, 1), ("prod", 3, 3)])
def test_network_spans_azs_with_nat_per_environment(plans, env, azs, nats):
    plan = plans[env]
    private = private_subnets(plan)
    public = [s for s in plan.of_type(SUBNET) if "-public-" in s["name"]]
    assert len({s["inputs"]["availabilityZone"] for s in private}) == azs
    assert all(s["inputs"]["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert all(s["inputs"]["tags"]["kubernetes.io/role/elb"] == "1" for s in public)
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in private + public)
    assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == nats


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_flow_logs_are_on_and_encrypted(plans, env):
    plan = plans[env]
    (flow_log,) = plan.of_type("aws:ec2/flowLog:FlowLog")
    assert flow_log["inputs"]["trafficType"] == "ALL"
    group = next(g for g in plan.of_type(LOG_GROUP) if g["urn"] in flow_log["dependencies"])
    assert group["inputs"]["kmsKeyId"] == plan.outputs["logs_key_arn"]
    assert group["inputs"]["retentionInDays"] == {"dev": 30, "staging": 90, "prod": 365}[env]


@pytest.mark.parametrize("env, expected", [
    ("dev", set()),
    ("prod", {"sts", "ecr.api", "ecr.dkr", "secretsmanager", "kms", "sqs", "logs", "eks-auth"}),
])
def test_interface_endpoints_where_the_environment_asks(plans, env, expected):
    endpoints = plans[env].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    gateways = {e["inputs"]["serviceName"].rsplit(".", 1)[1] for e in endpoints if e["inputs"]["vpcEndpointType"] == "Gateway"}
    interfaces = {
        e["inputs"]["serviceName"].split("us-east-1.", 1)[1] for e in endpoints if e["inputs"]["vpcEndpointType"] == "Interface"
    }
    assert gateways == {"s3", "dynamodb"}
    assert expected <= interfaces and (expected or not interfaces)
    for endpoint in endpoints:
        if endpoint["inputs"]["vpcEndpointType"] == "Interface":
            assert endpoint["inputs"]["privateDnsEnabled"] is True


def test_default_security_group_is_stripped(prod):
    (default_sg,) = prod.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg["inputs"].get("ingress") and not default_sg["inputs"].get("egress")


# -- keys and grants -----------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_policies_are_least_privilege(plans, env):
    plan = plans[env]
    keys = [k for k in plan.of_type(KEY) if "maas:encryption:PlatformKeys" in k["urn"]]
    assert len(keys) == 3
    for key in keys:
        assert key["inputs"]["enableKeyRotation"] is True
        statements = policy(key["inputs"]["policy"])["Statement"]
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        root_use = [s for s in statements if s["Sid"].startswith("UseOnlyThrough")]
        assert len(root_use) == 1
        assert root_use[0]["Condition"]["StringEquals"]["kms:ViaService"].endswith(".us-east-1.amazonaws.com")
        admin = next(s for s in statements if s["Sid"] == "RootAdministersKey")
        assert "kms:Decrypt" not in admin["Action"], "administering a key must not mean reading its data"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_policy_in_the_plan_allows_a_wildcard_action(plans, env):
    for resource in plans[env].cloud_resources():
        if resource["type"] in NOT_IAM_POLICIES:
            continue
        for field in ("policy", "assumeRolePolicy"):
            document = resource["inputs"].get(field)
            if not isinstance(document, str):
                continue
            for statement in json.loads(document)["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not any(a == "*" or a.endswith(":*") for a in actions), (resource["urn"], statement)


# -- tags ----------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_taggable_aws_resource_carries_the_platform_tags(plans, env):
    plan = plans[env]
    taggable = [r for r in plan.cloud_resources() if r["type"].startswith("aws:") and accepts_tag_map(resource_class(r["type"]))]
    assert len(taggable) > 20
    for resource in taggable:
        tags = resource["inputs"].get("tags") or {}
        assert tags.get("environment") == env, resource["urn"]
        assert tags.get("managed-by") == "pulumi", resource["urn"]
        assert tags.get("platform") == f"maas-{env}", resource["urn"]


def test_nodes_propagate_tags_to_instances_and_volumes(prod):
    for template in prod.of_type(LAUNCH_TEMPLATE):
        kinds = {spec["resourceType"]: spec["tags"] for spec in template["inputs"]["tagSpecifications"]}
        assert {"instance", "volume"} <= set(kinds)
        assert all(tags["environment"] == "prod" for tags in kinds.values())


def test_ebs_csi_driver_may_use_only_the_volume_key(prod):
    (grant,) = [p for p in prod.of_type("aws:iam/rolePolicy:RolePolicy") if p["name"].endswith("aws-ebs-csi-driver-kms")]
    statements = policy(grant["inputs"]["policy"])["Statement"]
    assert {s["Resource"] for s in statements} == {prod.outputs["ebs_key_arn"]}
    create_grant = next(s for s in statements if "kms:CreateGrant" in s["Action"])
    assert create_grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}


def test_public_endpoint_only_with_its_allow_list(tmp_path, root):
    from maas_platform.plan import plan_project

    stack = tmp_path / "Pulumi.edge.yaml"
    stack.write_text(
        "config:\n  maas:environment: dev\n  maas:cluster:\n"
        "    admin_role_arns: [arn:aws:iam::111122223333:role/maas-platform-admin]\n"
        "    endpoint_public_access: true\n    public_access_cidrs: [203.0.113.0/24]\n"
    )
    vpc = plan_project(root, config_file=stack).of_type(CLUSTER)[0]["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
