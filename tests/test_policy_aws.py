"""The AWS rules (maas_platform.policy.aws): each one on a compliant, a non-compliant, a
missing-value and an unknown-value case, and the shipped environments under all of them."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence, Union

import pytest
import yaml

from conftest import ENVIRONMENTS, ROOT
from maas_platform.plan import load_stack_config, plan_project
from maas_platform.policy import Context, Resource, evaluate, rules
from maas_platform.policy.aws import SCOPELESS_ACTIONS, is_scopeless, is_taggable
from maas_platform.policy.gate import context_of, plan_resources, policy_config, settings_of
from test_policy_aws_kinds import CASES as KIND_CASES, NOTHING_UNKNOWN as KIND_NOTHING_UNKNOWN
from test_credentials import MATRIX_CASES as CREDENTIAL_CASES, MATRIX_NOTHING_UNKNOWN as CREDENTIAL_NOTHING_UNKNOWN
from test_policy_aws_adopted import CASES as ADOPTED_CASES

PREFIXES = ("MAAS-SEC-", "MAAS-NET-", "MAAS-IAM-", "MAAS-LOG-", "MAAS-REL-", "MAAS-TAG-0")
# Node capacity's MAAS-REL rules are tested with the Kubernetes rules (tests/test_policy_kubernetes.py).
OURS = sorted(rule.id for rule in rules() if rule.id.startswith(PREFIXES)
              and not rule.check.__module__.startswith("maas_platform.policy.kubernetes."))

DEV = Context.for_environment("dev")
PROD = Context.for_environment("prod")
KEY = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"
VPC_ID = "vpc-0abc"
TAGS = {"environment": "dev", "team": "support", "cost-center": "cc-1", "managed-by": "pulumi"}


def res(type_: str, props: dict[str, Any], name: str = "r", parent: Optional[str] = "urn:parent",
        protect: bool = False) -> Resource:
    return Resource(type=type_, name=name, props=props, urn=f"urn:pulumi:t::p::{type_}::{name}", parent=parent,
                    protect=protect)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Union[str, list], resources: Union[str, list] = "arn:aws:s3:::b", **extra: Any) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


DENY_HTTP = {"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["sqs:SendMessage"],
             "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": False}}}
POD_TRUST = {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"],
             "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012",
                                            "aws:RequestTag/kubernetes-namespace": "triage",
                                            "aws:RequestTag/kubernetes-service-account": "triage"}}}


def bucket(name: Optional[str] = "b", **props: Any) -> Resource:
    return res("aws:s3/bucket:Bucket", {**({"bucket": name} if name else {}), **props}, name="bucket")


def sse(algorithm: str = "aws:kms", key: Optional[str] = KEY, target: str = "b") -> Resource:
    default = {"sseAlgorithm": algorithm, **({"kmsMasterKeyId": key} if key else {})}
    return res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
               {"bucket": target, "rules": [{"applyServerSideEncryptionByDefault": default}]}, name="sse")


def pab(**overrides: Any) -> Resource:
    settings = {k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}
    return res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"bucket": "b", **settings, **overrides},
               name="pab")


def bucket_acl(target: str = "b", **props: Any) -> Resource:
    return res("aws:s3/bucketAclV2:BucketAclV2", {"bucket": target, **props}, name="acl")


def queue(name: str, **props: Any) -> Resource:
    return res("aws:sqs/queue:Queue", {"name": name, **props}, name=name)


def inbox_and_dlq(inbox: Optional[dict] = None, dlq: Optional[dict] = None) -> list[Resource]:
    redrive = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:q-dlq", "maxReceiveCount": 5})
    return [queue("q-inbox", redrivePolicy=redrive, **(inbox or {})), queue("q-dlq", **(dlq or {}))]


def cluster(**props: Any) -> Resource:
    return res("aws:rds/cluster:Cluster", {"clusterIdentifier": "db", "engine": "aurora-postgresql", **props}, name="db")


def instance(index: int, zone: Optional[str]) -> Resource:
    props = {"clusterIdentifier": "db", **({"availabilityZone": zone} if zone else {})}
    return res("aws:rds/clusterInstance:ClusterInstance", props, name=f"db-{index}")


def vpc() -> Resource:
    """A VPC as the plan records it: its id is what flow logs, default groups and endpoints name."""
    return Resource(type="aws:ec2/vpc:Vpc", name="vpc", props={"cidrBlock": "10.0.0.0/16"},
                    urn="urn:pulumi:t::p::aws:ec2/vpc:Vpc::vpc", parent="urn:parent", id=VPC_ID)


def endpoint(service: str, kind: str = "Interface", private_dns: Optional[bool] = True) -> Resource:
    props = {"serviceName": f"com.amazonaws.us-east-1.{service}", "vpcEndpointType": kind, "vpcId": VPC_ID}
    if kind == "Interface" and private_dns is not None:
        props["privateDnsEnabled"] = private_dns
    return res("aws:ec2/vpcEndpoint:VpcEndpoint", props, name=f"ep-{service}")


ALL_ENDPOINTS = [endpoint(s) for s in ("sts", "kms", "secretsmanager", "ecr.api", "ecr.dkr")] + [endpoint("s3", "Gateway")]

EKS = "aws:eks/cluster:Cluster"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
FIVE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

# (rule, kind, resources, context, violates): kind is compliant / violation / missing (a
# property left out, judged by what AWS then does) / unknown (a value known only after apply,
# as a preview sends it: the rule must say it could not evaluate it, never pass it silently).
U = "[unknown]"
Case = tuple[str, str, Union[Resource, Sequence[Resource]], Context, bool]
CASES: list[Case] = [
    # -- SEC ------------------------------------------------------------------------------
    ("MAAS-SEC-001", "compliant", res(EKS, {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY}}}), DEV, False),
    ("MAAS-SEC-001", "unknown", res(EKS, {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "[unknown]"}}}), DEV, False),
    ("MAAS-SEC-001", "violation", res(EKS, {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "alias/aws/eks"}}}), DEV, True),
    ("MAAS-SEC-001", "missing", res(EKS, {"name": "c"}), DEV, True),
    ("MAAS-SEC-002", "compliant", res("aws:dynamodb/table:Table", {"serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY}}), DEV, False),
    ("MAAS-SEC-002", "violation", res("aws:dynamodb/table:Table", {"serverSideEncryption": {"enabled": False}}), DEV, True),
    ("MAAS-SEC-002", "missing", res("aws:dynamodb/table:Table", {"serverSideEncryption": {"enabled": True}}), DEV, True),
    ("MAAS-SEC-002", "missing", res("aws:dynamodb/table:Table", {}), DEV, True),
    ("MAAS-SEC-003", "compliant", queue("q", kmsMasterKeyId=KEY), DEV, False),
    ("MAAS-SEC-003", "unknown", queue("q", kmsMasterKeyId="[unknown]"), DEV, False),
    ("MAAS-SEC-003", "violation", queue("q", kmsMasterKeyId="alias/aws/sqs"), DEV, True),
    ("MAAS-SEC-003", "missing", queue("q", sqsManagedSseEnabled=True), DEV, True),
    ("MAAS-SEC-004", "compliant", res("aws:sns/topic:Topic", {"kmsMasterKeyId": KEY}), DEV, False),
    ("MAAS-SEC-004", "violation", res("aws:sns/topic:Topic", {"kmsMasterKeyId": "arn:aws:kms:us-east-1:1:alias/aws/sns"}), DEV, True),
    ("MAAS-SEC-004", "missing", res("aws:sns/topic:Topic", {"name": "t"}), DEV, True),
    ("MAAS-SEC-005", "compliant", [bucket(), sse()], DEV, False),
    ("MAAS-SEC-005", "compliant", [bucket(serverSideEncryptionConfiguration={"rule": {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}}})], DEV, False),
    ("MAAS-SEC-005", "unknown", [bucket(None), sse(key="[unknown]", target="[unknown]")], DEV, False),
    ("MAAS-SEC-005", "violation", [bucket(), sse(algorithm="AES256", key=None)], DEV, True),
    ("MAAS-SEC-005", "violation", [bucket(), sse(target="other-bucket")], DEV, True),
    ("MAAS-SEC-005", "missing", [bucket(), sse(key=None)], DEV, True),
    ("MAAS-SEC-005", "missing", [bucket()], DEV, True),
    ("MAAS-SEC-006", "compliant", cluster(storageEncrypted=True, kmsKeyId=KEY, manageMasterUserPassword=True,
                                          masterUserSecretKmsKeyId=KEY), DEV, False),
    ("MAAS-SEC-006", "violation", cluster(storageEncrypted=False, kmsKeyId=KEY), DEV, True),
    ("MAAS-SEC-006", "missing", cluster(storageEncrypted=True), DEV, True),
    ("MAAS-SEC-006", "missing", cluster(storageEncrypted=True, kmsKeyId=KEY, manageMasterUserPassword=True), DEV, True),
    ("MAAS-SEC-006", "missing", res("aws:rds/instance:Instance", {"engine": "postgres"}), DEV, True),
    ("MAAS-SEC-007", "compliant", res("aws:secretsmanager/secret:Secret", {"kmsKeyId": KEY}), DEV, False),
    ("MAAS-SEC-007", "violation", res("aws:secretsmanager/secret:Secret", {"kmsKeyId": "alias/aws/secretsmanager"}), DEV, True),
    ("MAAS-SEC-007", "missing", res("aws:secretsmanager/secret:Secret", {"name": "s"}), DEV, True),
    ("MAAS-SEC-008", "compliant", res("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": KEY, "retentionInDays": 30}), DEV, False),
    ("MAAS-SEC-008", "violation", res("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": ""}), DEV, True),
    ("MAAS-SEC-008", "missing", res("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30}), DEV, True),
    ("MAAS-SEC-009", "compliant", res(LT, {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY}}]}), DEV, False),
    ("MAAS-SEC-009", "compliant", res("aws:ebs/volume:Volume", {"encrypted": True, "kmsKeyId": KEY}), DEV, False),
    ("MAAS-SEC-009", "violation", res(LT, {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]}), DEV, True),
    ("MAAS-SEC-009", "violation", res("aws:ec2/instance:Instance", {"rootBlockDevice": {"encrypted": True, "kmsKeyId": "alias/aws/ebs"}}), DEV, True),
    ("MAAS-SEC-009", "missing", res(LT, {"metadataOptions": {"httpTokens": "required"}}), DEV, True),
    ("MAAS-SEC-009", "missing", res("aws:ebs/volume:Volume", {"encrypted": True}), DEV, True),
    ("MAAS-SEC-010", "compliant", res("aws:kms/key:Key", {"enableKeyRotation": True, "rotationPeriodInDays": 365}), DEV, False),
    ("MAAS-SEC-010", "compliant", res("aws:kms/key:Key", {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}), DEV, False),
    ("MAAS-SEC-010", "violation", res("aws:kms/key:Key", {"enableKeyRotation": False}), DEV, True),
    ("MAAS-SEC-010", "violation", res("aws:kms/key:Key", {"enableKeyRotation": True, "rotationPeriodInDays": 730}), DEV, True),
    ("MAAS-SEC-010", "missing", res("aws:kms/key:Key", {"description": "k"}), DEV, True),
    ("MAAS-SEC-011", "compliant", res(LT, {"metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}}), DEV, False),
    ("MAAS-SEC-011", "violation", res(LT, {"metadataOptions": {"httpTokens": "optional"}}), DEV, True),
    ("MAAS-SEC-011", "violation", res("aws:ec2/instance:Instance", {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}}), DEV, True),
    ("MAAS-SEC-011", "missing", res(LT, {"description": "no metadata options"}), DEV, True),
    ("MAAS-SEC-012", "compliant", [bucket(), res("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b", "policy": doc(DENY_HTTP)})], DEV, False),
    ("MAAS-SEC-012", "violation", [bucket(), res("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b", "policy": doc(
        {**DENY_HTTP, "Condition": {"Bool": {"aws:SecureTransport": True}}})})], DEV, True),
    ("MAAS-SEC-012", "missing", [bucket()], DEV, True),
    ("MAAS-SEC-013", "compliant", [queue("q"), res("aws:sqs/queuePolicy:QueuePolicy", {
        "queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "policy": doc(DENY_HTTP)})], DEV, False),
    ("MAAS-SEC-013", "compliant", [res("aws:sns/topic:Topic", {"name": "t"}), res("aws:sns/topicPolicy:TopicPolicy", {
        "arn": "arn:aws:sns:us-east-1:123456789012:t", "policy": doc(DENY_HTTP)})], DEV, False),
    ("MAAS-SEC-013", "violation", [queue("q"), res("aws:sqs/queuePolicy:QueuePolicy", {
        "queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "policy": doc({**DENY_HTTP, "Principal": {"AWS": "arn:aws:iam::1:root"}})})], DEV, True),
    ("MAAS-SEC-013", "missing", [res("aws:sns/topic:Topic", {"name": "t"})], DEV, True),
    ("MAAS-SEC-014", "compliant", [cluster(dbClusterParameterGroupName="pg"), res(
        "aws:rds/clusterParameterGroup:ClusterParameterGroup", {"name": "pg", "parameters": [{"name": "rds.force_ssl", "value": "1"}]})], DEV, False),
    ("MAAS-SEC-014", "violation", [cluster(dbClusterParameterGroupName="pg"), res(
        "aws:rds/clusterParameterGroup:ClusterParameterGroup", {"name": "pg", "parameters": [{"name": "rds.force_ssl", "value": "0"}]})], DEV, True),
    ("MAAS-SEC-014", "violation", [res("aws:rds/instance:Instance", {"engine": "mysql", "parameterGroupName": "pg"}), res(
        "aws:rds/parameterGroup:ParameterGroup", {"name": "pg", "parameters": [{"name": "max_connections", "value": "10"}]})], DEV, True),
    ("MAAS-SEC-014", "missing", [cluster()], DEV, True),
    # -- NET ------------------------------------------------------------------------------
    ("MAAS-NET-001", "compliant", res(EKS, {"vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False}}), DEV, False),
    ("MAAS-NET-001", "violation", res(EKS, {"vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": True,
                                                          "publicAccessCidrs": ["203.0.113.0/24"]}}), DEV, True),
    ("MAAS-NET-001", "missing", res(EKS, {"vpcConfig": {"subnetIds": ["subnet-1"]}}), DEV, True),
    ("MAAS-NET-002", "compliant", res("aws:rds/clusterInstance:ClusterInstance", {"publiclyAccessible": False}), DEV, False),
    ("MAAS-NET-002", "violation", res("aws:rds/instance:Instance", {"publiclyAccessible": True}), DEV, True),
    ("MAAS-NET-002", "missing", res("aws:rds/clusterInstance:ClusterInstance", {"clusterIdentifier": "db"}), DEV, True),
    ("MAAS-NET-003", "compliant", [bucket(), pab()], DEV, False),
    ("MAAS-NET-003", "violation", [bucket(), pab(blockPublicPolicy=False)], DEV, True),
    ("MAAS-NET-003", "violation", [bucket(acl="public-read"), pab()], DEV, True),
    ("MAAS-NET-003", "missing", [bucket()], DEV, True),
    ("MAAS-NET-003", "violation", [bucket(), pab(), bucket_acl(acl="public-read")], DEV, True),
    ("MAAS-NET-003", "violation", [bucket(), pab(), bucket_acl(accessControlPolicy={"grants": [
        {"permission": "READ", "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}],
        "owner": {"id": "owner"}})], DEV, True),
    ("MAAS-NET-003", "compliant", [bucket(), pab(), bucket_acl(acl="private")], DEV, False),
    ("MAAS-NET-004", "compliant", res("aws:sqs/queuePolicy:QueuePolicy", {"policy": doc(
        allow("sqs:SendMessage", "*", Principal={"Service": "sns.amazonaws.com"}),
        allow("sqs:SendMessage", "*", Principal="*", Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:sns:::t"}}),
        DENY_HTTP)}), DEV, False),
    ("MAAS-NET-004", "violation", res("aws:s3/bucketPolicy:BucketPolicy", {"policy": doc(allow("s3:GetObject", Principal={"AWS": "*"}))}), DEV, True),
    ("MAAS-NET-004", "violation", res("aws:kms/key:Key", {"policy": doc(allow("kms:Decrypt", "*", NotPrincipal={"AWS": "arn:aws:iam::1:root"}))}), DEV, True),
    ("MAAS-NET-004", "missing", res("aws:sns/topicPolicy:TopicPolicy", {"policy": doc(
        allow("sns:Publish", "*", Principal="*", Condition={"Bool": {"aws:SecureTransport": True}}))}), DEV, True),
    ("MAAS-NET-005", "compliant", res("aws:ec2/securityGroup:SecurityGroup", {"ingress": [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/16"]},
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]}), DEV, False),
    ("MAAS-NET-005", "compliant", res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {
        "cidrIpv4": "10.0.0.0/16", "ipProtocol": "-1"}), DEV, False),
    ("MAAS-NET-005", "violation", res("aws:ec2/securityGroup:SecurityGroup", {"ingress": [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]}), DEV, True),
    ("MAAS-NET-005", "violation", res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {
        "cidrIpv6": "::/0", "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432}), DEV, True),
    ("MAAS-NET-005", "missing", res("aws:ec2/securityGroupRule:SecurityGroupRule", {
        "type": "ingress", "protocol": "-1", "cidrBlocks": ["0.0.0.0/0"]}), DEV, True),
    ("MAAS-NET-006", "compliant", [vpc(), res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"vpcId": VPC_ID}, name="dsg")], DEV, False),
    ("MAAS-NET-006", "violation", [vpc(), res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {
        "vpcId": VPC_ID, "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}, name="dsg")], DEV, True),
    ("MAAS-NET-006", "missing", [vpc()], DEV, True),
    ("MAAS-NET-007", "compliant", [vpc(), res("aws:ec2/flowLog:FlowLog", {
        "vpcId": VPC_ID, "trafficType": "ALL", "logDestination": "arn:aws:logs:::log-group:/f"}, name="fl")], DEV, False),
    ("MAAS-NET-007", "violation", [vpc(), res("aws:ec2/flowLog:FlowLog", {
        "vpcId": VPC_ID, "trafficType": "REJECT", "logDestination": "arn:aws:logs:::log-group:/f"}, name="fl")], DEV, True),
    ("MAAS-NET-007", "violation", [vpc(), res("aws:ec2/flowLog:FlowLog", {
        "vpcId": "vpc-0other", "trafficType": "ALL", "logDestination": "arn:aws:logs:::log-group:/f"}, name="fl")], DEV, True),
    ("MAAS-NET-007", "missing", [vpc()], DEV, True),
    ("MAAS-NET-008", "compliant", res("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False}), DEV, False),
    ("MAAS-NET-008", "violation", res("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True}), DEV, True),
    ("MAAS-NET-008", "missing", res("aws:ec2/subnet:Subnet", {"cidrBlock": "10.0.0.0/24"}), DEV, False),  # AWS default: false
    ("MAAS-NET-009", "compliant", [vpc(), *ALL_ENDPOINTS], PROD, False),
    ("MAAS-NET-009", "compliant", [vpc()], DEV, False),
    ("MAAS-NET-009", "violation", [vpc(), *ALL_ENDPOINTS[1:], endpoint("sts", private_dns=False)], PROD, True),
    ("MAAS-NET-009", "missing", [vpc(), *ALL_ENDPOINTS[1:]], PROD, True),
    ("MAAS-NET-009", "missing", [vpc(), *ALL_ENDPOINTS[1:], endpoint("sts", private_dns=None)], PROD, True),
    # -- IAM ------------------------------------------------------------------------------
    ("MAAS-IAM-001", "compliant", res(ROLE_POLICY, {"policy": doc(allow(["s3:GetObject", "s3:PutObject"]), allow("ec2:Describe*", "*"),
                                                                  {**DENY_HTTP, "Action": "sqs:*"})}), DEV, False),
    ("MAAS-IAM-001", "unknown", res(ROLE_POLICY, {"policy": "[unknown]"}), DEV, False),
    ("MAAS-IAM-001", "violation", res(ROLE_POLICY, {"policy": doc(allow("s3:*"))}), DEV, True),
    ("MAAS-IAM-001", "violation", res("aws:sqs/queuePolicy:QueuePolicy", {"policy": doc(
        allow("sqs:*", "*", Principal={"AWS": "arn:aws:iam::1:root"}))}), DEV, True),
    ("MAAS-IAM-001", "violation", res(ROLE, {"inlinePolicies": [{"name": "p", "policy": doc(allow("*", "*"))}]}), DEV, True),
    ("MAAS-IAM-001", "missing", res(ROLE_POLICY, {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}), DEV, True),
    ("MAAS-IAM-002", "compliant", res(ROLE_POLICY, {"policy": doc(
        allow("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:q"),
        allow(["sts:GetCallerIdentity", "cloudwatch:PutMetricData", "xray:PutTraceSegments", "ec2:Describe*",
               "ec2:DescribeSubnets"], "*"),
        allow("ec2:DeleteSecurityGroup", "*", Condition={"Null": {"aws:ResourceTag/owner": "false"}}),
        allow("iam:CreateServiceLinkedRole", "*", Condition={"StringEquals": {"iam:AWSServiceName": "eks.amazonaws.com"}}))}), DEV, False),
    ("MAAS-IAM-002", "violation", res(ROLE_POLICY, {"policy": doc(allow(["s3:GetObject", "sts:GetCallerIdentity"], "*"))}), DEV, True),
    ("MAAS-IAM-002", "violation", res(ROLE_POLICY, {"policy": doc(allow("ec2:DescribeInstanceAttribute", "*"))}), DEV, True),
    ("MAAS-IAM-002", "violation", res(ROLE_POLICY, {"policy": doc(
        allow("dynamodb:GetItem", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))}), DEV, True),
    ("MAAS-IAM-002", "missing", res(ROLE_POLICY, {"policy": doc({"Effect": "Allow", "Action": "s3:GetObject",
                                                                 "NotResource": "arn:aws:s3:::secret/*"})}), DEV, True),
    ("MAAS-IAM-003", "compliant", res(ROLE, {"assumeRolePolicy": doc(POD_TRUST)}), DEV, False),
    ("MAAS-IAM-003", "violation", res(ROLE, {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}})}), DEV, True),
    ("MAAS-IAM-003", "missing", res(ROLE, {"assumeRolePolicy": doc({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
                                                                   "Action": "sts:AssumeRole"})}), DEV, True),
    ("MAAS-IAM-004", "compliant", res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {
        "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "role": "r"}), DEV, False),
    ("MAAS-IAM-004", "violation", res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {
        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess", "role": "r"}), DEV, True),
    ("MAAS-IAM-004", "violation", res(ROLE, {"managedPolicyArns": ["arn:aws:iam::aws:policy/IAMFullAccess"]}), DEV, True),
    ("MAAS-IAM-004", "missing", res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "r"}), DEV, False),  # attaches nothing
    ("MAAS-IAM-005", "compliant", res(ROLE, {"assumeRolePolicy": doc(POD_TRUST)}), DEV, False),
    ("MAAS-IAM-005", "compliant", res(ROLE, {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                                     "Action": "sts:AssumeRole"})}), DEV, False),
    ("MAAS-IAM-005", "violation", res(ROLE, {"assumeRolePolicy": doc({**POD_TRUST, "Condition": {
        "StringEquals": {"aws:SourceAccount": "123456789012", "aws:RequestTag/kubernetes-namespace": "triage"}}})}), DEV, True),
    ("MAAS-IAM-005", "violation", res(ROLE, {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": {
        "Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/X:aud": "sts.amazonaws.com"}}})}), DEV, True),
    ("MAAS-IAM-005", "missing", res(ROLE, {"assumeRolePolicy": doc({k: v for k, v in POD_TRUST.items() if k != "Condition"})}), DEV, True),
    # -- LOG ------------------------------------------------------------------------------
    ("MAAS-LOG-001", "compliant", res(EKS, {"enabledClusterLogTypes": FIVE_LOGS}), DEV, False),
    ("MAAS-LOG-001", "violation", res(EKS, {"enabledClusterLogTypes": ["api", "audit"]}), DEV, True),
    ("MAAS-LOG-001", "missing", res(EKS, {"name": "c"}), DEV, True),
    ("MAAS-LOG-002", "compliant", res("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 7}), DEV, False),
    ("MAAS-LOG-002", "compliant", res("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 14}), Context(min_log_retention_days=14), False),
    ("MAAS-LOG-002", "violation", res("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30}), PROD, True),
    ("MAAS-LOG-002", "missing", res("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": KEY}), DEV, True),
    ("MAAS-LOG-003", "compliant", cluster(enabledCloudwatchLogsExports=["postgresql"]), DEV, False),
    ("MAAS-LOG-003", "violation", res("aws:rds/instance:Instance", {"engine": "mysql", "enabledCloudwatchLogsExports": ["error"]}), DEV, True),
    ("MAAS-LOG-003", "missing", cluster(), DEV, True),
    # -- REL ------------------------------------------------------------------------------
    ("MAAS-REL-001", "compliant", res("aws:dynamodb/table:Table", {"pointInTimeRecovery": {"enabled": True}}), DEV, False),
    ("MAAS-REL-001", "violation", res("aws:dynamodb/table:Table", {"pointInTimeRecovery": {"enabled": False}}), DEV, True),
    ("MAAS-REL-001", "missing", res("aws:dynamodb/table:Table", {"name": "t"}), DEV, True),
    ("MAAS-REL-002", "compliant", cluster(backupRetentionPeriod=7, skipFinalSnapshot=False), PROD, False),
    ("MAAS-REL-002", "compliant", cluster(backupRetentionPeriod=7, skipFinalSnapshot=True), DEV, False),
    ("MAAS-REL-002", "violation", cluster(backupRetentionPeriod=1), DEV, True),
    ("MAAS-REL-002", "violation", cluster(backupRetentionPeriod=14, skipFinalSnapshot=True), PROD, True),
    ("MAAS-REL-002", "missing", cluster(), DEV, True),
    ("MAAS-REL-003", "compliant", cluster(deletionProtection=True), PROD, False),
    ("MAAS-REL-003", "compliant", cluster(deletionProtection=False), DEV, False),
    ("MAAS-REL-003", "compliant", res("aws:kms/key:Key", {"enableKeyRotation": True}), PROD, False),  # AWS default window: 30
    ("MAAS-REL-003", "violation", res("aws:dynamodb/table:Table", {"deletionProtectionEnabled": False}), PROD, True),
    ("MAAS-REL-003", "violation", bucket(forceDestroy=True), PROD, True),
    ("MAAS-REL-003", "violation", res("aws:secretsmanager/secret:Secret", {"recoveryWindowInDays": 0}), PROD, True),
    ("MAAS-REL-003", "violation", res("aws:kms/key:Key", {"deletionWindowInDays": 7}), PROD, True),
    ("MAAS-REL-003", "missing", res(EKS, {"name": "c"}), PROD, True),
    ("MAAS-REL-004", "compliant", res("aws:dynamodb/table:Table", {}, protect=True), PROD, False),
    ("MAAS-REL-004", "compliant", res("aws:sqs/queue:Queue", {}), PROD, False),
    ("MAAS-REL-004", "compliant", res("aws:kms/key:Key", {}), DEV, False),
    ("MAAS-REL-004", "violation", res("aws:kms/key:Key", {}, protect=False), PROD, True),
    ("MAAS-REL-004", "missing", Resource(type="aws:cloudwatch/logGroup:LogGroup", name="lg", props={}, urn="urn:lg"), PROD, True),
    ("MAAS-REL-005", "compliant", inbox_and_dlq(), DEV, False),
    ("MAAS-REL-005", "unknown", [queue("q-inbox", redrivePolicy="[unknown]"), queue("q-dlq")], DEV, False),
    ("MAAS-REL-005", "compliant", [queue("a"), res("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", {
        "queueUrl": "https://sqs.us-east-1.amazonaws.com/1/a", "redriveAllowPolicy": "{}"})], DEV, False),
    ("MAAS-REL-005", "violation", [queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:::d"})), queue("d")], DEV, True),
    ("MAAS-REL-005", "missing", [queue("lonely")], DEV, True),
    ("MAAS-REL-006", "compliant", inbox_and_dlq({"messageRetentionSeconds": 345600}, {"messageRetentionSeconds": 1209600}), DEV, False),
    ("MAAS-REL-006", "compliant", inbox_and_dlq(), DEV, False),
    ("MAAS-REL-006", "violation", inbox_and_dlq({"messageRetentionSeconds": 345600}, {"messageRetentionSeconds": 86400}), DEV, True),
    ("MAAS-REL-006", "missing", inbox_and_dlq({"messageRetentionSeconds": 1209600}), DEV, True),
    ("MAAS-REL-007", "compliant", res(NODE_GROUP, {"subnetIds": ["s1", "s2", "s3"], "scalingConfig": {"minSize": 3}}), PROD, False),
    ("MAAS-REL-007", "compliant", res(NODE_GROUP, {"subnetIds": ["s1", "s2"], "scalingConfig": {"minSize": 2}}), DEV, False),
    ("MAAS-REL-007", "violation", res(NODE_GROUP, {"subnetIds": ["s1", "s2"], "scalingConfig": {"minSize": 3}}), PROD, True),
    ("MAAS-REL-007", "missing", res(NODE_GROUP, {"subnetIds": ["s1", "s2", "s3"]}), PROD, True),
    ("MAAS-REL-008", "compliant", [cluster(), instance(0, "us-east-1a"), instance(1, "us-east-1b")], PROD, False),
    ("MAAS-REL-008", "compliant", [cluster(), instance(0, "us-east-1a")], DEV, False),
    ("MAAS-REL-008", "violation", [cluster(), instance(0, "us-east-1a"), instance(1, "us-east-1a")], PROD, True),
    ("MAAS-REL-008", "violation", [res("aws:mq/broker:Broker", {"deploymentMode": "SINGLE_INSTANCE"})], PROD, True),
    ("MAAS-REL-008", "missing", [res("aws:rds/instance:Instance", {"engine": "postgres"})], PROD, True),
    ("MAAS-REL-008", "missing", [cluster(), instance(0, None)], PROD, True),
    # -- TAG ------------------------------------------------------------------------------
    ("MAAS-TAG-001", "compliant", queue("q", tags=TAGS), DEV, False),
    ("MAAS-TAG-001", "compliant", res("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b"}), DEV, False),  # takes no tags
    ("MAAS-TAG-001", "unknown", queue("q", tags="[unknown]"), DEV, False),
    ("MAAS-TAG-001", "violation", queue("q", tags={**TAGS, "team": ""}), DEV, True),
    ("MAAS-TAG-001", "missing", res("aws:dynamodb/table:Table", {"name": "t"}), DEV, True),
]


# A value known only after apply, in each rule's own terms. A value that cannot change the
# verdict is not reported: a key left out is a violation whether encryption ends up on or off.
CASES += [
    ("MAAS-SEC-001", "unknown", res(EKS, {"encryptionConfig": {"resources": ["secrets"], "provider": U}}), DEV, False),
    ("MAAS-SEC-001", "unknown", res(EKS, {"encryptionConfig": U}), DEV, False),
    ("MAAS-SEC-002", "unknown", res("aws:dynamodb/table:Table", {"serverSideEncryption": {"enabled": True, "kmsKeyArn": U}}), DEV, False),
    ("MAAS-SEC-002", "unknown", res("aws:dynamodb/table:Table", {"serverSideEncryption": U}), DEV, False),
    ("MAAS-SEC-002", "unknown", res("aws:dynamodb/table:Table", {"serverSideEncryption": {"enabled": U, "kmsKeyArn": KEY}}), DEV, False),
    ("MAAS-SEC-002", "violation", res("aws:dynamodb/table:Table", {"serverSideEncryption": {"enabled": U}}), DEV, True),
    ("MAAS-SEC-004", "unknown", res("aws:sns/topic:Topic", {"kmsMasterKeyId": U}), DEV, False),
    ("MAAS-SEC-005", "unknown", [bucket(), sse(algorithm=U)], DEV, False),
    ("MAAS-SEC-005", "unknown", [bucket(serverSideEncryptionConfiguration=U)], DEV, False),
    ("MAAS-SEC-006", "unknown", cluster(storageEncrypted=True, kmsKeyId=U), DEV, False),
    ("MAAS-SEC-006", "unknown", cluster(storageEncrypted=U, kmsKeyId=KEY), DEV, False),
    ("MAAS-SEC-006", "unknown", cluster(storageEncrypted=True, kmsKeyId=KEY, manageMasterUserPassword=U), DEV, False),
    ("MAAS-SEC-006", "violation", cluster(storageEncrypted=U), DEV, True),
    ("MAAS-SEC-007", "unknown", res("aws:secretsmanager/secret:Secret", {"kmsKeyId": U}), DEV, False),
    ("MAAS-SEC-008", "unknown", res("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": U}), DEV, False),
    ("MAAS-SEC-009", "unknown", res(LT, {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True, "kmsKeyId": U}}]}), DEV, False),
    ("MAAS-SEC-009", "unknown", res(LT, {"blockDeviceMappings": [U]}), DEV, False),
    ("MAAS-SEC-009", "unknown", res("aws:ebs/volume:Volume", {"encrypted": U, "kmsKeyId": KEY}), DEV, False),
    ("MAAS-SEC-010", "unknown", res("aws:kms/key:Key", {"enableKeyRotation": U}), DEV, False),
    ("MAAS-SEC-010", "unknown", res("aws:kms/key:Key", {"keySpec": U, "enableKeyRotation": False}), DEV, False),
    ("MAAS-SEC-011", "unknown", res(LT, {"metadataOptions": {"httpTokens": U, "httpPutResponseHopLimit": 1}}), DEV, False),
    ("MAAS-SEC-011", "unknown", res(LT, {"metadataOptions": {"httpEndpoint": U, "httpTokens": "optional"}}), DEV, False),
    ("MAAS-SEC-012", "unknown", [bucket(), res("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b", "policy": U})], DEV, False),
    ("MAAS-SEC-012", "compliant", [bucket(policy=U), res("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b", "policy": doc(DENY_HTTP)})], DEV, False),
    ("MAAS-SEC-013", "unknown", [queue("q"), res("aws:sqs/queuePolicy:QueuePolicy", {
        "queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "policy": U})], DEV, False),
    ("MAAS-SEC-014", "unknown", [cluster(dbClusterParameterGroupName=U)], DEV, False),
    ("MAAS-SEC-014", "unknown", [cluster(dbClusterParameterGroupName="pg"), res(
        "aws:rds/clusterParameterGroup:ClusterParameterGroup", {"name": "pg", "parameters": [{"name": "rds.force_ssl", "value": U}]})], DEV, False),
    ("MAAS-NET-001", "unknown", res(EKS, {"vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": U}}), DEV, False),
    ("MAAS-NET-002", "unknown", res("aws:rds/clusterInstance:ClusterInstance", {"publiclyAccessible": U}), DEV, False),
    ("MAAS-NET-003", "unknown", [bucket(), pab(blockPublicPolicy=U)], DEV, False),
    ("MAAS-NET-003", "unknown", [bucket(), pab(), bucket_acl(accessControlPolicy=U)], DEV, False),
    ("MAAS-NET-004", "unknown", res("aws:sqs/queuePolicy:QueuePolicy", {"policy": U}), DEV, False),
    ("MAAS-NET-005", "unknown", res("aws:ec2/securityGroup:SecurityGroup", {"ingress": [
        {"protocol": "tcp", "fromPort": U, "toPort": U, "cidrBlocks": ["0.0.0.0/0"]}]}), DEV, False),
    ("MAAS-NET-005", "unknown", res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {
        "cidrIpv4": U, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}), DEV, False),
    ("MAAS-NET-006", "unknown", [vpc(), res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"vpcId": VPC_ID, "ingress": U}, name="dsg")], DEV, False),
    ("MAAS-NET-007", "unknown", [vpc(), res("aws:ec2/flowLog:FlowLog", {
        "vpcId": U, "trafficType": U, "logDestination": "arn:aws:logs:::log-group:/f"}, name="fl")], DEV, False),
    ("MAAS-NET-008", "unknown", res("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": U}), DEV, False),
    ("MAAS-NET-009", "unknown", [vpc(), *ALL_ENDPOINTS[1:], res("aws:ec2/vpcEndpoint:VpcEndpoint", {
        "serviceName": U, "vpcEndpointType": "Interface", "privateDnsEnabled": True, "vpcId": VPC_ID}, name="ep-unknown")], PROD, False),
    ("MAAS-IAM-002", "unknown", res(ROLE_POLICY, {"policy": U}), DEV, False),
    ("MAAS-IAM-002", "unknown", res(ROLE, {"inlinePolicies": [{"name": "p", "policy": U}]}), DEV, False),
    ("MAAS-IAM-003", "unknown", res(ROLE, {"assumeRolePolicy": U}), DEV, False),
    ("MAAS-IAM-004", "unknown", res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"policyArn": U, "role": "r"}), DEV, False),
    ("MAAS-IAM-005", "unknown", res(ROLE, {"assumeRolePolicy": U}), DEV, False),
    ("MAAS-LOG-001", "unknown", res(EKS, {"enabledClusterLogTypes": [*FIVE_LOGS[:4], U]}), DEV, False),
    ("MAAS-LOG-001", "unknown", res(EKS, {"enabledClusterLogTypes": U}), DEV, False),
    ("MAAS-LOG-002", "unknown", res("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": U}), PROD, False),
    ("MAAS-LOG-003", "unknown", cluster(enabledCloudwatchLogsExports=U), DEV, False),
    ("MAAS-LOG-003", "unknown", cluster(engine=U, enabledCloudwatchLogsExports=[]), DEV, False),
    ("MAAS-REL-001", "unknown", res("aws:dynamodb/table:Table", {"pointInTimeRecovery": {"enabled": U}}), DEV, False),
    ("MAAS-REL-002", "unknown", cluster(backupRetentionPeriod=U), DEV, False),
    ("MAAS-REL-002", "unknown", cluster(backupRetentionPeriod=7, skipFinalSnapshot=U), PROD, False),
    ("MAAS-REL-003", "unknown", cluster(deletionProtection=U), PROD, False),
    ("MAAS-REL-003", "unknown", res("aws:kms/key:Key", {"deletionWindowInDays": U}), PROD, False),
    ("MAAS-REL-005", "unknown", [queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:::d",
                                                                    "maxReceiveCount": U})), queue("d")], DEV, False),
    ("MAAS-REL-006", "unknown", inbox_and_dlq({"messageRetentionSeconds": U}), DEV, False),
    ("MAAS-REL-007", "unknown", res(NODE_GROUP, {"subnetIds": ["s1", "s2", U], "scalingConfig": {"minSize": 3}}), PROD, False),
    ("MAAS-REL-007", "unknown", res(NODE_GROUP, {"subnetIds": ["s1", "s2", "s3"], "scalingConfig": U}), PROD, False),
    ("MAAS-REL-007", "violation", res(NODE_GROUP, {"subnetIds": ["s1", U], "scalingConfig": {"minSize": 3}}), PROD, True),
    ("MAAS-REL-008", "unknown", [cluster(), instance(0, "us-east-1a"), res(
        "aws:rds/clusterInstance:ClusterInstance", {"clusterIdentifier": U}, name="db-1")], PROD, False),
    ("MAAS-REL-008", "unknown", [res("aws:mq/broker:Broker", {"deploymentMode": U})], PROD, False),
]
CASES += KIND_CASES  # load balancers, Lambda, IAM users, federated trusts, cluster admins
CASES += ADOPTED_CASES  # the rules answering checkov's checks (policies/checkov-map.yaml)
CASES += CREDENTIAL_CASES  # credentials written where they do not belong (MAAS-SEC-015..020)


def evaluation(rule_id: str, resources: Union[Resource, Sequence[Resource]], context: Context):
    listed = [resources] if isinstance(resources, Resource) else list(resources)
    return evaluate(listed, context, only=[rule_id])


def findings(rule_id: str, resources: Union[Resource, Sequence[Resource]], context: Context) -> list[dict]:
    return evaluation(rule_id, resources, context).violations


@pytest.mark.parametrize(
    "rule_id, kind, resources, context, violates", CASES,
    ids=[f"{case[0]}-{case[1]}-{index}" for index, case in enumerate(CASES)],
)
def test_rule_case(rule_id, kind, resources, context, violates):
    result = evaluation(rule_id, resources, context)
    found = result.violations
    if violates:
        assert found, f"{rule_id} ({kind}) should report a violation"
        assert all(v["message"] for v in found)
    else:
        assert found == [], f"{rule_id} ({kind}) reported {[v['message'] for v in found]}"
    if kind == "unknown":
        assert result.not_evaluable, f"{rule_id}: a value not known yet passed silently"
        for entry in result.not_evaluable:
            assert entry["message"].startswith("not evaluable:") and entry["property"] in entry["message"]
            assert entry["policy"] == rule_id and entry["urn"]
    else:
        assert result.not_evaluable == [], f"{rule_id} ({kind}): every value is known, yet {result.not_evaluable}"


# Rules that read nothing a preview can leave unknown, and why.
NOTHING_UNKNOWN = {
    "MAAS-REL-004": "reads only the resource's type and Pulumi's protect option, which the engine always knows",
    **KIND_NOTHING_UNKNOWN,
    **CREDENTIAL_NOTHING_UNKNOWN,
}


def test_every_rule_has_a_compliant_a_violating_a_missing_and_an_unknown_value_case():
    assert len(OURS) >= 28
    kinds: dict[str, set[str]] = {}
    for rule_id, kind, *_ in CASES:
        kinds.setdefault(rule_id, set()).add(kind)
    wanted = {"compliant", "violation", "missing", "unknown"}
    lacking = {rule_id: sorted(wanted - ({"unknown"} if rule_id in NOTHING_UNKNOWN else set()) - kinds.get(rule_id, set()))
               for rule_id in OURS}
    assert {r: k for r, k in lacking.items() if k} == {}
    assert set(NOTHING_UNKNOWN) <= set(OURS)
    assert set(kinds) <= set(OURS), "cases for rules that do not exist"
    # Each rule's violating case really violates, and each compliant case really passes.
    assert all(any(c[4] for c in CASES if c[0] == r and c[1] == "violation") for r in OURS)
    assert all(any(not c[4] for c in CASES if c[0] == r and c[1] == "compliant") for r in OURS)


def test_every_rule_documents_itself_and_maps_to_controls():
    for rule in (r for r in rules() if r.id in OURS):
        assert rule.title and rule.description and rule.remediation, rule.id
        assert rule.frameworks and all(rule.frameworks.values()), rule.id
        assert rule.scope == "stack" or rule.types, rule.id


# Rules that ask one property for a customer-managed key: (rule, type, property path, what else must be set).
CUSTOMER_KEY_RULES = [
    ("MAAS-SEC-002", "aws:dynamodb/table:Table", "serverSideEncryption.kmsKeyArn", {"serverSideEncryption": {"enabled": True}}),
    ("MAAS-SEC-003", "aws:sqs/queue:Queue", "kmsMasterKeyId", {}),
    ("MAAS-SEC-004", "aws:sns/topic:Topic", "kmsMasterKeyId", {}),
    ("MAAS-SEC-006", "aws:rds/cluster:Cluster", "kmsKeyId", {"storageEncrypted": True}),
    ("MAAS-SEC-007", "aws:secretsmanager/secret:Secret", "kmsKeyId", {}),
    ("MAAS-SEC-008", "aws:cloudwatch/logGroup:LogGroup", "kmsKeyId", {}),
]


def _with_key(base: dict[str, Any], path: str, key: Any) -> dict[str, Any]:
    props = json.loads(json.dumps(base))
    if key is None:
        return props
    *parents, leaf = path.split(".")
    target = props
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = key
    return props


@pytest.mark.parametrize("rule_id, type_, path, base", CUSTOMER_KEY_RULES, ids=[r[0] for r in CUSTOMER_KEY_RULES])
def test_the_customer_key_rules_judge_their_key_alike(rule_id, type_, path, base):
    """One check, several types: a customer key passes, an AWS-managed alias or no key is a
    violation worded the same way, and a key not known yet is not evaluable, on that property."""
    def outcome(key: Any):
        return evaluation(rule_id, res(type_, _with_key(base, path, key)), DEV)

    assert outcome(KEY).violations == [] and outcome(KEY).not_evaluable == []
    assert [v["message"] for v in outcome("alias/aws/managed").violations] == [
        f"{path} uses the AWS-managed key alias/aws/managed; use a customer-managed key whose policy and rotation you "
        "control"]
    assert [v["message"] for v in outcome(None).violations] == [
        f"{path} names no customer-managed KMS key, so AWS encrypts it with a key it manages (or not at all)"]
    unknown = outcome(U)
    assert unknown.violations == [] and [e["property"] for e in unknown.not_evaluable] == [path]


def test_a_violation_names_the_resource_that_carries_it():
    violations = evaluate([bucket(), sse(algorithm="AES256", key=None), vpc()], DEV,
                          only=["MAAS-SEC-005", "MAAS-NET-007"]).violations
    assert {v["urn"] for v in violations} == {bucket().urn, vpc().urn}


def test_the_documented_scopeless_actions_take_no_resource():
    for action in ("sts:GetCallerIdentity", "cloudwatch:PutMetricData", "xray:PutTraceSegments", "ec2:Describe*",
                   "ec2:DescribeVpcs", "sqs:ListQueues"):
        assert is_scopeless(action), action
    for action in ("s3:GetObject", "ec2:DescribeInstanceAttribute", "ec2:*", "logs:GetQueryResults", "kms:Decrypt",
                   "ec2:AuthorizeSecurityGroupIngress"):
        assert not is_scopeless(action), action
    assert len(SCOPELESS_ACTIONS) == len(set(SCOPELESS_ACTIONS))


def test_taggable_is_read_from_the_sdk():
    assert is_taggable("aws:sqs/queue:Queue") and is_taggable("aws:eks/cluster:Cluster")
    assert not is_taggable("aws:s3/bucketPolicy:BucketPolicy") and not is_taggable("aws:iam/rolePolicy:RolePolicy")
    assert not is_taggable("kubernetes:apps/v1:Deployment")


# -- the shipped environments ------------------------------------------------------------------

def explain(found: list[tuple[str, str, str]]) -> str:
    return f"{len(found)} mandatory findings: {found[:10]}"


def stack_settings(env: str):
    config, _ = load_stack_config(ROOT / "stacks" / f"Pulumi.{env}.yaml")
    return policy_config(config)


def mandatory(plan, env: str) -> list[tuple[str, str, str]]:
    settings = stack_settings(env)
    violations = evaluate(plan_resources(plan), context_of(settings, env), settings_of(settings), only=OURS).violations
    return [(v["policy"], v["urn"].split("::")[-1], v["message"]) for v in violations if v["level"] == "mandatory"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shipped_environments_have_no_mandatory_violation(plans, env):
    found = mandatory(plans[env], env)
    assert found == [], explain(found)


@pytest.fixture(scope="module")
def prod_with_agents(tmp_path_factory):
    """prod with the dev stack's agents and topics: the agents' datastores under prod's rules."""
    dev = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    prod = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    for key in ("maas:broker", "maas:agents"):
        prod["config"][key] = dev[key]
    # The providers the dev agents' gateway models name: prod's gateway under prod's rules too.
    prod["config"].setdefault("maas:llm", {})["providers"] = dev["maas:llm"]["providers"]
    for agent in prod["config"]["maas:agents"]:
        agent.get("messaging", {}).pop("scale_to_zero", None)  # a dev-only setting
    path = tmp_path_factory.mktemp("prod-agents") / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(prod))
    return plan_project(ROOT, config_file=path)


def test_prod_agents_datastores_pass_the_resilience_and_encryption_rules(prod_with_agents):
    resources = plan_resources(prod_with_agents)
    assert {"aws:dynamodb/table:Table", "aws:rds/cluster:Cluster", "aws:s3/bucket:Bucket", "aws:sqs/queue:Queue"} <= {
        r.type for r in resources}
    found = mandatory(prod_with_agents, "prod")
    assert found == [], explain(found)


def test_taggable_agrees_with_the_tag_transformation(prod):
    from maas_platform.plan.fake_cloud import resource_class
    from maas_platform.tagging import accepts_tag_map

    types = {r["type"] for r in prod.cloud_resources() if r["type"].startswith("aws:")}
    assert len(types) > 20
    for type_token in types:
        assert is_taggable(type_token) == accepts_tag_map(resource_class(type_token)), type_token
