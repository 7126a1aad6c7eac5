"""The AWS rules that answer checkov's checks no rule answered before (policies/checkov-map.yaml):
key policies, IAM database authentication, minor upgrades, snapshot tags, prod bucket versioning,
account-wide trusts, web ACLs and access logs of load balancers, PostgreSQL statement logging.
Each on compliant, violating, missing-value and unknown-value resources (``CASES``, run here and
by test_policy_aws.py's meta-test). Resources pair by engine reference or by value, never by an
expected name."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence, Union


from maas_platform.policy import Context, Resource, evaluate

U = "[unknown]"
DEV = Context.for_environment("dev")
PROD = Context.for_environment("prod")
ACCOUNT = "111122223333"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1111-2222"
LB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"
KEY_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": ["kms:DescribeKey"],
     "Resource": "*"}]})


def res(type_: str, props: dict[str, Any], name: str = "r", id: Optional[str] = None,
        outputs: Optional[dict[str, Any]] = None, depends: Optional[dict[str, tuple[str, ...]]] = None) -> Resource:
    return Resource(type=type_, name=name, props=props, urn=f"urn:pulumi:t::p::{type_}::{name}", parent="urn:parent",
                    id=id, outputs=outputs or {}, property_dependencies=depends or {})


def key(**props: Any) -> Resource:
    return res("aws:kms/key:Key", {"enableKeyRotation": True, **props}, name="key", id="1111-2222",
               outputs={"arn": KEY_ARN})


def key_policy(key_id: Any, depends: Optional[dict[str, tuple[str, ...]]] = None) -> Resource:
    return res("aws:kms/keyPolicy:KeyPolicy", {"keyId": key_id, "policy": KEY_POLICY}, name="key-policy",
               depends=depends)


def instance(**props: Any) -> Resource:
    return res("aws:rds/instance:Instance", {"engine": "postgres", "instanceClass": "db.t4g.micro", **props}, name="db")


def cluster(**props: Any) -> Resource:
    return res("aws:rds/cluster:Cluster", {"engine": "aurora-postgresql", **props}, name="db-cluster")


def bucket(**props: Any) -> Resource:
    return res("aws:s3/bucket:Bucket", props, name="bucket", id="bucket-4f2a", outputs={"bucket": "bucket-4f2a"})


def versioning(status: Any, target: Any = "bucket-4f2a", depends: Optional[dict[str, tuple[str, ...]]] = None
               ) -> Resource:
    return res("aws:s3/bucketVersioning:BucketVersioning",
               {"bucket": target, "versioningConfiguration": {"status": status}}, name="versioning", depends=depends)


def role(*statements: dict[str, Any]) -> Resource:
    return res("aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Version": "2012-10-17",
                                                                      "Statement": list(statements)})}, name="role")


def trust(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole", **extra}


def lb(**props: Any) -> Resource:
    return res("aws:lb/loadBalancer:LoadBalancer", {"loadBalancerType": "application", **props}, name="web",
               outputs={"arn": LB_ARN})


def acl_association(target: Any, depends: Optional[dict[str, tuple[str, ...]]] = None,
                    token: str = "aws:wafv2/webAclAssociation:WebAclAssociation") -> Resource:
    return res(token, {"resourceArn": target, "webAclArn": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/w/1"},
               name="acl-association", depends=depends)


def parameter_group(value: Optional[str], token: str = "aws:rds/parameterGroup:ParameterGroup") -> Resource:
    parameters = [{"name": "rds.force_ssl", "value": "1"}] + (
        [{"name": "log_statement", "value": value}] if value is not None else [])
    return res(token, {"family": "postgres16", "parameters": parameters}, name="params",
               outputs={"name": "params-8d2c"})


ACCESS_LOGS = {"enabled": True, "bucket": "acme-elb-logs"}
LB_URN = "urn:pulumi:t::p::aws:lb/loadBalancer:LoadBalancer::web"
BUCKET_URN = "urn:pulumi:t::p::aws:s3/bucket:Bucket::bucket"
KEY_URN = "urn:pulumi:t::p::aws:kms/key:Key::key"
PARAMS_URN = "urn:pulumi:t::p::aws:rds/parameterGroup:ParameterGroup::params"

Case = tuple[str, str, Union[Resource, Sequence[Resource]], Context, bool]
CASES: list[Case] = [
    # key policies: inline, or a KeyPolicy naming the key by id, ARN or engine reference
    ("MAAS-SEC-021", "compliant", [key(policy=KEY_POLICY)], DEV, False),
    ("MAAS-SEC-021", "compliant", [key(), key_policy("1111-2222")], DEV, False),
    ("MAAS-SEC-021", "compliant", [key(), key_policy(U, {"keyId": (KEY_URN,)})], DEV, False),
    ("MAAS-SEC-021", "violation", [key(), key_policy("9999-other")], DEV, True),
    ("MAAS-SEC-021", "missing", [key()], DEV, True),
    ("MAAS-SEC-021", "unknown", [key(), key_policy(U)], DEV, False),
    # IAM database authentication
    ("MAAS-SEC-022", "compliant", instance(iamDatabaseAuthenticationEnabled=True), DEV, False),
    ("MAAS-SEC-022", "compliant", cluster(iamDatabaseAuthenticationEnabled=True), DEV, False),
    ("MAAS-SEC-022", "compliant", instance(engine="sqlserver-se"), DEV, False),  # not offered
    ("MAAS-SEC-022", "compliant", instance(clusterIdentifier="db-cluster"), DEV, False),  # the cluster's setting
    ("MAAS-SEC-022", "violation", instance(engine="mysql", iamDatabaseAuthenticationEnabled=False), DEV, True),
    ("MAAS-SEC-022", "missing", cluster(), DEV, True),
    ("MAAS-SEC-022", "unknown", instance(iamDatabaseAuthenticationEnabled=U), DEV, False),
    ("MAAS-SEC-022", "unknown", instance(engine=U), DEV, False),
    # minor upgrades: AWS's default (true) passes
    ("MAAS-REL-009", "compliant", instance(autoMinorVersionUpgrade=True), DEV, False),
    ("MAAS-REL-009", "violation", instance(autoMinorVersionUpgrade=False), DEV, True),
    ("MAAS-REL-009", "violation", res("aws:rds/clusterInstance:ClusterInstance", {"autoMinorVersionUpgrade": "false"}),
     DEV, True),
    ("MAAS-REL-009", "missing", instance(), DEV, False),
    ("MAAS-REL-009", "unknown", instance(autoMinorVersionUpgrade=U), DEV, False),
    # snapshot tags
    ("MAAS-REL-010", "compliant", instance(copyTagsToSnapshot=True), DEV, False),
    ("MAAS-REL-010", "compliant", instance(clusterIdentifier="db-cluster"), DEV, False),
    ("MAAS-REL-010", "violation", cluster(copyTagsToSnapshot=False), DEV, True),
    ("MAAS-REL-010", "missing", instance(), DEV, True),
    ("MAAS-REL-010", "unknown", instance(copyTagsToSnapshot=U), DEV, False),
    # bucket versioning in prod
    ("MAAS-REL-011", "compliant", [bucket(), versioning("Enabled")], PROD, False),
    ("MAAS-REL-011", "compliant", [bucket(), versioning("Enabled", U, {"bucket": (BUCKET_URN,)})], PROD, False),
    ("MAAS-REL-011", "compliant", [bucket(versioning={"enabled": True})], PROD, False),
    ("MAAS-REL-011", "compliant", [bucket()], DEV, False),  # prod only
    ("MAAS-REL-011", "violation", [bucket(), versioning("Suspended")], PROD, True),
    ("MAAS-REL-011", "violation", [bucket(), versioning("Enabled", "another-bucket")], PROD, True),
    ("MAAS-REL-011", "missing", [bucket()], PROD, True),
    ("MAAS-REL-011", "unknown", [bucket(), versioning(U)], PROD, False),
    ("MAAS-REL-011", "unknown", [bucket(), versioning("Enabled", U)], PROD, False),
    # trusts of a whole account
    ("MAAS-IAM-009", "compliant", role(trust(f"arn:aws:iam::{ACCOUNT}:role/deployer")), DEV, False),
    ("MAAS-IAM-009", "compliant", role(trust(f"arn:aws:iam::{ACCOUNT}:root", Condition={
        "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/deployer"}})), DEV, False),
    ("MAAS-IAM-009", "compliant", role({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                        "Action": ["sts:AssumeRole", "sts:TagSession"]}), DEV, False),
    ("MAAS-IAM-009", "violation", role(trust(f"arn:aws:iam::{ACCOUNT}:root")), DEV, True),
    ("MAAS-IAM-009", "violation", role(trust([f"arn:aws:iam::{ACCOUNT}:role/x", ACCOUNT])), DEV, True),
    ("MAAS-IAM-009", "violation", role(trust(f"arn:aws:iam::{ACCOUNT}:root", Condition={
        "Bool": {"aws:MultiFactorAuthPresent": "true"}})), DEV, True),  # not a condition on who calls
    ("MAAS-IAM-009", "missing", role(), DEV, False),
    ("MAAS-IAM-009", "unknown", res("aws:iam/role:Role", {"assumeRolePolicy": U}, name="role"), DEV, False),
    # web ACLs of internet-facing ALBs
    ("MAAS-NET-015", "compliant", [lb(internal=False), acl_association(LB_ARN)], DEV, False),
    ("MAAS-NET-015", "compliant", [lb(), acl_association(U, {"resourceArn": (LB_URN,)})], DEV, False),
    ("MAAS-NET-015", "compliant", [lb(), acl_association(LB_ARN, token="aws:wafregional/webAclAssociation:"
                                                                      "WebAclAssociation")], DEV, False),
    ("MAAS-NET-015", "compliant", [lb(internal=True)], DEV, False),
    ("MAAS-NET-015", "compliant", [lb(loadBalancerType="network")], DEV, False),
    ("MAAS-NET-015", "violation", [lb(internal=False), acl_association(LB_ARN.replace("web", "other"))], DEV, True),
    ("MAAS-NET-015", "missing", [lb()], DEV, True),  # internal defaults to false
    ("MAAS-NET-015", "unknown", [lb(internal=U)], DEV, False),
    ("MAAS-NET-015", "unknown", [lb(), acl_association(U)], DEV, False),
    # PostgreSQL statement logging
    ("MAAS-LOG-004", "compliant", [instance(parameterGroupName="params-8d2c"), parameter_group("ddl")], DEV, False),
    ("MAAS-LOG-004", "compliant", [res("aws:rds/instance:Instance", {
        "engine": "postgres", "parameterGroupName": U}, name="db", depends={"parameterGroupName": (PARAMS_URN,)}),
        parameter_group("all")], DEV, False),
    ("MAAS-LOG-004", "compliant", [cluster(dbClusterParameterGroupName="params-8d2c"),
                                   parameter_group("mod", "aws:rds/clusterParameterGroup:ClusterParameterGroup")],
     DEV, False),
    ("MAAS-LOG-004", "compliant", [instance(engine="mysql")], DEV, False),
    ("MAAS-LOG-004", "violation", [instance(parameterGroupName="params-8d2c"), parameter_group("none")], DEV, True),
    ("MAAS-LOG-004", "violation", [instance(parameterGroupName="params-8d2c"), parameter_group(None)], DEV, True),
    ("MAAS-LOG-004", "missing", [instance()], DEV, True),  # the default group: log_statement none
    ("MAAS-LOG-004", "unknown", [instance(parameterGroupName=U), parameter_group("ddl")], DEV, False),
    ("MAAS-LOG-004", "unknown", [instance(parameterGroupName="params-8d2c"), res(
        "aws:rds/parameterGroup:ParameterGroup", {"parameters": U}, name="params", outputs={"name": "params-8d2c"})],
     DEV, False),
    # access logs of load balancers, internal ones included
    ("MAAS-LOG-005", "compliant", lb(accessLogs=ACCESS_LOGS), DEV, False),
    ("MAAS-LOG-005", "compliant", lb(loadBalancerType="gateway"), DEV, False),
    ("MAAS-LOG-005", "violation", lb(internal=True, accessLogs={"bucket": "acme-elb-logs"}), DEV, True),
    ("MAAS-LOG-005", "violation", lb(loadBalancerType="network", accessLogs={"enabled": False}), DEV, True),
    ("MAAS-LOG-005", "missing", lb(), DEV, True),
    ("MAAS-LOG-005", "unknown", lb(accessLogs={"enabled": True, "bucket": U}), DEV, False),
]
# Rules that read nothing a preview can leave unknown, and why.
NOTHING_UNKNOWN: dict[str, str] = {}


# Each case runs in tests/test_policy_aws.py's test_rule_case, which these cases join.


def test_every_adopted_rule_has_each_kind_of_case():
    kinds: dict[str, set[str]] = {}
    for rule_id, kind, *_ in CASES:
        kinds.setdefault(rule_id, set()).add(kind)
    assert set(kinds) == {"MAAS-SEC-021", "MAAS-SEC-022", "MAAS-REL-009", "MAAS-REL-010", "MAAS-REL-011",
                          "MAAS-IAM-009", "MAAS-NET-015", "MAAS-LOG-004", "MAAS-LOG-005"}
    for rule_id, seen in kinds.items():
        assert {"compliant", "violation", "missing", "unknown"} <= seen, (rule_id, seen)


def test_findings_say_what_and_where():
    found = evaluate([role(trust(f"arn:aws:iam::{ACCOUNT}:root"))], DEV, only=["MAAS-IAM-009"]).violations
    assert f"account arn:aws:iam::{ACCOUNT}:root" in found[0]["message"] and "aws:PrincipalArn" in found[0]["message"]
    found = evaluate([instance(parameterGroupName="params-8d2c"), parameter_group("none")], DEV,
                     only=["MAAS-LOG-004"]).violations
    assert found[0]["urn"].endswith("::db") and "log_statement none" in found[0]["message"]
