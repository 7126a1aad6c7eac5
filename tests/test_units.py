"""Pure logic: grants, tagging, subnet maths and the fake cloud, without the engine."""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws
import pytest

from maas_platform.components.network import subnet_plan
from maas_platform.iam import GrantError, Statement
from maas_platform.plan.fake_cloud import FakeCloud, resource_class
from maas_platform.tagging import accepts_tag_map, platform_tags, tag_transformation


# -- grants --------------------------------------------------------------------------------

@pytest.mark.parametrize("actions", [(), ("*",), ("sqs:*",), ("Decrypt",)])
def test_statements_refuse_wildcard_empty_or_malformed_actions(actions):
    with pytest.raises(GrantError):
        Statement(actions=actions, resources=("arn:aws:sqs:us-east-1:123456789012:q",))


def test_statements_refuse_any_resource_in_identity_policies_without_a_reason():
    with pytest.raises(GrantError, match="any_resource_reason"):
        Statement(actions=("sqs:SendMessage",), resources=("*",))
    Statement(actions=("ec2:DescribeInstances",), resources=("*",), any_resource_reason="Describe* takes no scope")
    Statement(actions=("kms:Decrypt",), resources=("*",), principals={"AWS": "arn:aws:iam::123456789012:root"})


def test_statements_need_resources():
    with pytest.raises(GrantError, match="resources"):
        Statement(actions=("sqs:SendMessage",))


# -- tagging -------------------------------------------------------------------------------

def test_taggable_is_read_from_the_sdk():
    assert accepts_tag_map(aws.ec2.Vpc)
    assert accepts_tag_map(aws.kms.Key)
    assert not accepts_tag_map(aws.iam.RolePolicy)  # no tags argument
    assert not accepts_tag_map(aws.autoscaling.Group)  # tags are a list of blocks there


def _transform(transformation, type_token, resource, props):
    args = pulumi.ResourceTransformationArgs(resource=resource, type_=type_token, name="x", props=props, opts=pulumi.ResourceOptions())
    return transformation(args)


def test_platform_tags_win_over_resource_tags_and_fill_the_rest():
    transformation = tag_transformation(platform_tags("prod", "maas-prod", {"owner": "sre"}))
    vpc = aws.ec2.Vpc.__new__(aws.ec2.Vpc)
    result = _transform(transformation, "aws:ec2/vpc:Vpc", vpc, {"tags": {"Name": "a", "environment": "dev"}})
    assert result.props["tags"] == {"Name": "a", "environment": "prod", "managed-by": "pulumi", "owner": "sre", "platform": "maas-prod"}


def test_non_taggable_resources_are_left_alone():
    transformation = tag_transformation({"environment": "dev"})
    policy = aws.iam.RolePolicy.__new__(aws.iam.RolePolicy)
    assert _transform(transformation, "aws:iam/rolePolicy:RolePolicy", policy, {"policy": "{}"}) is None


# -- subnet maths --------------------------------------------------------------------------

@pytest.mark.parametrize("cidr", ["10.20.0.0/16", "10.0.0.0/20", "192.168.0.0/22", "172.16.0.0/18"])
@pytest.mark.parametrize("azs", [2, 3])
def test_subnets_fit_the_vpc_and_never_overlap(cidr, azs):
    private, public = subnet_plan(cidr, azs)
    assert len(private) == len(public) == azs
    vpc = ipaddress.ip_network(cidr)
    nets = [ipaddress.ip_network(n) for n in private + public]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert all(ipaddress.ip_network(p).num_addresses >= 4 * ipaddress.ip_network(q).num_addresses for p, q in zip(private, public))


# -- the fake cloud ------------------------------------------------------------------------

def _new(cloud, token, name, inputs):
    args = pulumi.runtime.MockResourceArgs(typ=token, name=name, inputs=inputs, provider=None, resource_id=None, custom=True)
    return cloud.new_resource(args)


def test_fake_cloud_is_generic_and_deterministic():
    cloud = FakeCloud("eu-west-1")
    first = _new(cloud, "aws:ec2/vpc:Vpc", "net", {"cidrBlock": "10.0.0.0/16"})
    assert first == _new(FakeCloud("eu-west-1"), "aws:ec2/vpc:Vpc", "net", {"cidrBlock": "10.0.0.0/16"})
    vpc_id, state = first
    assert vpc_id.startswith("vpc-") and state["arn"] == f"arn:aws:ec2:eu-west-1:123456789012:vpc/{vpc_id}"
    assert _new(cloud, "aws:ec2/vpc:Vpc", "other", {})[0] != vpc_id


def test_fake_cloud_auto_names_like_pulumi_and_keeps_explicit_names():
    cloud = FakeCloud("us-east-1")
    role_id, role = _new(cloud, "aws:iam/role:Role", "svc-role", {"assumeRolePolicy": "{}"})
    assert role["name"].startswith("svc-role-") and len(role["name"]) == len("svc-role-") + 7
    assert role["arn"] == f"arn:aws:iam::123456789012:role/{role['name']}"
    _, group = _new(cloud, "aws:cloudwatch/logGroup:LogGroup", "g", {"name": "/x/y", "tags": {"a": "b"}})
    assert group["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/x/y"
    assert group["tagsAll"] == {"a": "b"}


def test_fake_cloud_zones_come_from_the_region():
    zones = FakeCloud("ap-southeast-2").call(type("A", (), {"token": "aws:index/getAvailabilityZones:getAvailabilityZones"})())
    assert zones["names"] == ["ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"]


def test_type_tokens_resolve_to_sdk_classes():
    assert resource_class("aws:ec2/launchTemplate:LaunchTemplate") is aws.ec2.LaunchTemplate
    assert resource_class("kubernetes:core/v1:Namespace").__name__ == "Namespace"
    assert resource_class("aws:nope/nope:Nope") is None
