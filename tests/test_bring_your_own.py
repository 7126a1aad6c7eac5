"""Bring your own: an existing VPC and existing KMS keys instead of the platform's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from maas_platform.config import ConfigError, parse_platform_config
from maas_platform.plan import Plan, plan_project

VPC = "vpc-0a1b2c3d4e5f60718"
PRIVATE = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
PUBLIC = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
ROUTES = ["rtb-0ccccccccccccccc1", "rtb-0ccccccccccccccc2"]
ZONES = ["us-east-1a", "us-east-1b"]
EKS_KEY = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
EBS_KEY = "arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
TOPOLOGY = ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
            "aws:ec2/routeTable:RouteTable", "aws:ec2/routeTableAssociation:RouteTableAssociation",
            "aws:ec2/internetGateway:InternetGateway", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")

EXISTING = {"vpc_id": VPC, "private_subnet_ids": PRIVATE, "public_subnet_ids": PUBLIC, "private_route_table_ids": ROUTES}


def dev_config(**changes) -> dict:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    config = {key.removeprefix("maas:"): value for key, value in document.items()}
    for key, value in changes.items():
        config[key] = value
    return config


def plan_with(tmp_path: Path, **changes) -> Plan:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    document["config"].update({f"maas:{key}": value for key, value in changes.items()})
    path = tmp_path / "Pulumi.byo.yaml"
    path.write_text(yaml.safe_dump(document))
    return plan_project(ROOT, config_file=path)


def of_type(plan: Plan, token: str) -> list[dict]:
    return [r for r in plan.resources if r["type"] == token]


# -- validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("network, expected", [
    ({"existing": {**EXISTING, "vpc_id": "vpc-xyz"}}, "network.existing.vpc_id: 'vpc-xyz' is not a VPC id"),
    ({"existing": {**EXISTING, "private_subnet_ids": ["subnet-1"]}}, "network.existing.private_subnet_ids"),
    ({"existing": EXISTING}, "network.availability_zones: with existing.private_subnet_ids, list the 2 subnets' zones"),
    ({"existing": {**EXISTING, "public_subnet_ids": PUBLIC[:1]}, "availability_zones": ZONES},
     "network.existing.public_subnet_ids: give one per zone"),
    ({"existing": {**EXISTING, "private_subnet_ids": [PRIVATE[0], PRIVATE[0]]}, "availability_zones": ZONES},
     "network.existing.private_subnet_ids: each id may be listed once"),
])
def test_an_existing_network_is_validated(network, expected):
    with pytest.raises(ConfigError) as caught:
        parse_platform_config(dev_config(network=network))
    assert expected in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


@pytest.mark.parametrize("keys, expected", [
    ({"eks": "alias/mine"}, "encryption.existing_keys.eks: 'alias/mine' is not a KMS key ARN"),
    ({"logs": EKS_KEY.replace("us-east-1", "eu-west-1")}, "encryption.existing_keys.logs: the key is in eu-west-1"),
    ({"ebs": EBS_KEY, "s3": EBS_KEY}, "encryption.existing_keys.s3"),
])
def test_existing_keys_are_validated(keys, expected):
    with pytest.raises(ConfigError) as caught:
        parse_platform_config(dev_config(encryption={"existing_keys": keys}))
    assert expected in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


def test_an_existing_key_of_another_account_is_refused():
    with pytest.raises(ConfigError, match="the key is in account 111122223333, not 444455556666"):
        parse_platform_config(dev_config(account_id="444455556666", encryption={"existing_keys": {"eks": EKS_KEY}}))


# -- the plan --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def byo(tmp_path_factory) -> Plan:
    return plan_with(tmp_path_factory.mktemp("byo"), network={"existing": EXISTING, "availability_zones": ZONES},
                     encryption={"existing_keys": {"eks": EKS_KEY, "ebs": EBS_KEY}})


@pytest.mark.slow
def test_the_platform_creates_nothing_of_an_existing_vpcs_topology(byo):
    assert not [r["urn"] for r in byo.resources if r["type"] in TOPOLOGY]
    cluster = of_type(byo, "aws:eks/cluster:Cluster")[0]
    assert cluster["inputs"]["vpcConfig"]["subnetIds"] == PRIVATE
    assert byo.outputs["vpc_id"] == VPC and byo.outputs["private_subnet_ids"] == PRIVATE
    assert byo.outputs["public_subnet_ids"] == PUBLIC and byo.outputs["availability_zones"] == ZONES


@pytest.mark.slow
def test_an_existing_vpc_gets_the_flow_log_and_gateway_endpoints(byo):
    (flow_log,) = of_type(byo, "aws:ec2/flowLog:FlowLog")
    assert flow_log["inputs"]["vpcId"] == VPC
    gateways = of_type(byo, "aws:ec2/vpcEndpoint:VpcEndpoint")
    assert {g["inputs"]["serviceName"].rsplit(".", 1)[-1] for g in gateways} == {"s3", "dynamodb"}
    assert all(g["inputs"]["routeTableIds"] == ROUTES and g["inputs"]["vpcId"] == VPC for g in gateways)


@pytest.mark.slow
def test_existing_keys_are_used_and_not_created(byo):
    created = {r["inputs"]["tags"].get("purpose") for r in of_type(byo, "aws:kms/key:Key")}
    assert "eks" not in created and "ebs" not in created and "logs" in created
    cluster = of_type(byo, "aws:eks/cluster:Cluster")[0]
    assert cluster["inputs"]["encryptionConfig"]["provider"]["keyArn"] == EKS_KEY
    (storage_class,) = of_type(byo, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class["inputs"]["parameters"]["kmsKeyId"] == EBS_KEY
    assert byo.outputs["eks_key_arn"] == EKS_KEY and byo.outputs["ebs_key_arn"] == EBS_KEY


@pytest.mark.slow
def test_bringing_your_own_passes_the_policy_gate(byo):
    assert not [v for v in byo.violations if v["level"] == "mandatory"], byo.violations
