"""AWS kinds the platform never creates and a team stack may: load balancers and listeners,
Lambda URLs and permissions (policy/aws/edge.py), IAM users, federated trusts and cluster
administrators (policy/aws/identity.py). Each rule on compliant, violating, missing-value and
unknown-value resources (``CASES``, run here and by test_policy_aws.py's meta-test), then real
programs planned offline."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Optional, Sequence, Union


from maas_platform.plan import plan_project
from maas_platform.policy import Context, Resource, evaluate

U = "[unknown]"
DEV = Context.for_environment("dev")
ACCOUNT = "111122223333"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/maas-platform-admin"
CONFIGURED = Context(environment="dev", account_id=ACCOUNT, admin_principals=(ADMIN,))
TEAM = Context(environment="dev", account_id=ACCOUNT, admin_principals=(ADMIN,), team_stack=True)
LB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"
LISTENER_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
EKS_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
CLUSTER_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
TLS13 = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"

Case = tuple[str, str, Union[Resource, Sequence[Resource]], Context, bool]


def res(type_: str, props: dict[str, Any], name: str = "r", id: Optional[str] = None,
        deps: Optional[dict[str, tuple[str, ...]]] = None) -> Resource:
    return Resource(type=type_, name=name, props=props, urn=f"urn:pulumi:t::p::{type_}::{name}", parent="urn:parent",
                    id=id, property_dependencies=deps or {})


def lb(**props: Any) -> Resource:
    return res("aws:lb/loadBalancer:LoadBalancer", {"dropInvalidHeaderFields": True, **props}, name="web", id=LB_ARN)


def listener(protocol: Optional[str] = "HTTP", port: int = 80, actions: Any = None, lb_arn: str = LB_ARN,
             type_: str = "aws:lb/listener:Listener", **props: Any) -> Resource:
    base = {"loadBalancerArn": lb_arn, "port": port, **({"protocol": protocol} if protocol else {}), **props}
    base["defaultActions"] = actions if actions is not None else [{"type": "forward", "targetGroupArn": "arn:tg"}]
    return res(type_, base, name=f"listener-{port}", id=LISTENER_ARN)


REDIRECT = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


def rule(actions: Any, listener_arn: str = LISTENER_ARN) -> Resource:
    return res("aws:lb/listenerRule:ListenerRule", {"listenerArn": listener_arn, "actions": actions}, name="rule")


def classic(protocol: str = "HTTP", port: int = 80, **props: Any) -> Resource:
    return res("aws:elb/loadBalancer:LoadBalancer", {"listeners": [
        {"lbProtocol": protocol, "lbPort": port, "instanceProtocol": "http", "instancePort": 8080}], **props},
               name="classic")


def role(*statements: dict[str, Any]) -> Resource:
    return res("aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Version": "2012-10-17",
                                                                      "Statement": list(statements)})}, name="ci")


def web_identity(provider: str, condition: Optional[dict[str, Any]]) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}
    return {**statement, **({"Condition": condition} if condition is not None else {})}


def github(sub: Any, operator: str = "StringLike", aud: Optional[str] = "sts.amazonaws.com") -> dict[str, Any]:
    condition: dict[str, Any] = {operator: {"token.actions.githubusercontent.com:sub": sub}}
    if aud:
        condition.setdefault("StringEquals", {})["token.actions.githubusercontent.com:aud"] = aud
    return web_identity(GITHUB, condition)


def association(policy: str = CLUSTER_ADMIN, principal: str = ADMIN, scope: Any = None,
                deps: Optional[dict[str, tuple[str, ...]]] = None) -> Resource:
    return res("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", {
        "clusterName": "c", "policyArn": policy, "principalArn": principal,
        "accessScope": scope if scope is not None else {"type": "cluster"}}, name="assoc", deps=deps)


def entry(principal: str = ADMIN, **props: Any) -> Resource:
    return res("aws:eks/accessEntry:AccessEntry", {"clusterName": "c", "principalArn": principal, **props},
               name="entry")


def eks(access: Any) -> Resource:
    return res("aws:eks/cluster:Cluster", {"name": "c", **({"accessConfig": access} if access is not None else {})},
               name="cluster")


FN = "arn:aws:lambda:us-east-1:111122223333:function:f"

CASES: list[Case] = [
    # MAAS-NET-010: plain HTTP on internet-facing load balancers
    ("MAAS-NET-010", "compliant", [lb(), listener(actions=REDIRECT)], DEV, False),
    ("MAAS-NET-010", "compliant", [lb(internal=True), listener()], DEV, False),
    ("MAAS-NET-010", "compliant", [lb(), listener("HTTPS", 443, sslPolicy=TLS13)], DEV, False),
    ("MAAS-NET-010", "compliant", [lb(), listener(actions=[{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "statusCode": "404"}}]), rule(REDIRECT)], DEV, False),
    ("MAAS-NET-010", "violation", [lb(internal=False), listener()], DEV, True),
    ("MAAS-NET-010", "violation", [lb(), listener(actions=[{"type": "redirect", "redirect": {"port": "443"}}])],
     DEV, True),
    ("MAAS-NET-010", "violation", [lb(), listener("TCP", 80)], DEV, True),
    ("MAAS-NET-010", "violation", [lb(), listener(type_="aws:alb/listener:Listener")], DEV, True),
    ("MAAS-NET-010", "violation", [lb(), listener(actions=REDIRECT), rule([{"type": "forward",
                                                                              "targetGroupArn": "arn:tg"}])], DEV, True),
    ("MAAS-NET-010", "violation", [classic()], DEV, True),
    ("MAAS-NET-010", "compliant", [classic("HTTP", 80, internal=True)], DEV, False),
    # paired by engine reference, with no ARN known yet (a preview)
    ("MAAS-NET-010", "violation", [res("aws:lb/loadBalancer:LoadBalancer", {}, name="web"),
                                   res("aws:lb/listener:Listener", {"loadBalancerArn": U, "port": 80, "defaultActions": [
                                       {"type": "forward"}]}, name="l", deps={"loadBalancerArn": (
                                           "urn:pulumi:t::p::aws:lb/loadBalancer:LoadBalancer::web",)})], DEV, True),
    ("MAAS-NET-010", "missing", [lb(), listener(protocol=None)], DEV, True),  # an ALB listener defaults to HTTP
    ("MAAS-NET-010", "unknown", [lb(internal=U), listener()], DEV, False),
    ("MAAS-NET-010", "unknown", [listener()], DEV, False),  # the load balancer is not in the stack
    ("MAAS-NET-010", "unknown", [lb(), listener(protocol=U)], DEV, False),
    # MAAS-NET-011: TLS policy
    ("MAAS-NET-011", "compliant", listener("HTTPS", 443, sslPolicy=TLS13), DEV, False),
    ("MAAS-NET-011", "compliant", listener("TLS", 443, sslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"),
     DEV, False),
    ("MAAS-NET-011", "violation", listener("HTTPS", 443, sslPolicy="ELBSecurityPolicy-TLS13-1-0-2021-06"), DEV, True),
    ("MAAS-NET-011", "violation", listener("HTTPS", 443, sslPolicy="ELBSecurityPolicy-2016-08"), DEV, True),
    ("MAAS-NET-011", "missing", listener("HTTPS", 443), DEV, True),
    ("MAAS-NET-011", "unknown", listener("HTTPS", 443, sslPolicy=U), DEV, False),
    # MAAS-NET-012: invalid header fields
    ("MAAS-NET-012", "compliant", lb(), DEV, False),
    ("MAAS-NET-012", "compliant", lb(loadBalancerType="network", dropInvalidHeaderFields=None), DEV, False),
    ("MAAS-NET-012", "violation", lb(dropInvalidHeaderFields=False), DEV, True),
    ("MAAS-NET-012", "missing", res("aws:alb/loadBalancer:LoadBalancer", {}, name="alb"), DEV, True),
    ("MAAS-NET-012", "unknown", lb(dropInvalidHeaderFields=U), DEV, False),
    # MAAS-NET-013: function URLs
    ("MAAS-NET-013", "compliant", res("aws:lambda/functionUrl:FunctionUrl", {"functionName": "f",
                                                                             "authorizationType": "AWS_IAM"}), DEV, False),
    ("MAAS-NET-013", "violation", res("aws:lambda/functionUrl:FunctionUrl", {"functionName": "f",
                                                                             "authorizationType": "NONE"}), DEV, True),
    ("MAAS-NET-013", "missing", res("aws:lambda/functionUrl:FunctionUrl", {"functionName": "f"}), DEV, True),
    ("MAAS-NET-013", "unknown", res("aws:lambda/functionUrl:FunctionUrl", {"functionName": "f",
                                                                           "authorizationType": U}), DEV, False),
    # MAAS-NET-014: Lambda permissions
    ("MAAS-NET-014", "compliant", res("aws:lambda/permission:Permission", {
        "action": "lambda:InvokeFunction", "function": FN, "principal": "s3.amazonaws.com",
        "sourceArn": "arn:aws:s3:::b"}), DEV, False),
    ("MAAS-NET-014", "compliant", res("aws:lambda/permission:Permission", {
        "action": "lambda:InvokeFunction", "function": FN, "principal": "*", "principalOrgId": "o-abc"}), DEV, False),
    ("MAAS-NET-014", "violation", res("aws:lambda/permission:Permission", {
        "action": "lambda:InvokeFunctionUrl", "function": FN, "principal": "*", "functionUrlAuthType": "NONE"}),
     DEV, True),
    ("MAAS-NET-014", "violation", res("aws:lambda/permission:Permission", {
        "action": "lambda:InvokeFunction", "function": FN, "principal": "*"}), DEV, True),
    ("MAAS-NET-014", "missing", res("aws:lambda/permission:Permission", {
        "action": "lambda:InvokeFunction", "function": FN, "principal": "*", "sourceAccount": ACCOUNT}), DEV, False),
    ("MAAS-NET-014", "unknown", res("aws:lambda/permission:Permission", {
        "action": "lambda:InvokeFunction", "function": FN, "principal": "*", "sourceArn": U}), DEV, False),
    # MAAS-IAM-006: IAM users and their credentials
    ("MAAS-IAM-006", "compliant", role(web_identity(GITHUB, {"StringEquals": {
        "token.actions.githubusercontent.com:sub": "repo:acme/agents:ref:refs/heads/main"}})), DEV, False),
    ("MAAS-IAM-006", "violation", res("aws:iam/user:User", {"name": "ci"}), DEV, True),
    ("MAAS-IAM-006", "violation", res("aws:iam/accessKey:AccessKey", {"user": "ci"}), DEV, True),
    ("MAAS-IAM-006", "violation", res("aws:iam/userLoginProfile:UserLoginProfile", {"user": "ci"}), DEV, True),
    ("MAAS-IAM-006", "violation", res("aws:iam/serviceSpecificCredential:ServiceSpecificCredential",
                                      {"userName": "ci", "serviceName": "codecommit.amazonaws.com"}), DEV, True),
    ("MAAS-IAM-006", "violation", res("aws:iam/userPolicyAttachment:UserPolicyAttachment",
                                      {"user": "existing", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
     DEV, True),
    ("MAAS-IAM-006", "missing", res("aws:iam/sshKey:SshKey", {}), DEV, True),
    # MAAS-IAM-007: federated trusts
    ("MAAS-IAM-007", "compliant", role(github("repo:acme/agents:*")), DEV, False),
    ("MAAS-IAM-007", "compliant", role(github("repo:acme/agents:environment:prod", "StringEquals")), DEV, False),
    ("MAAS-IAM-007", "compliant", role(github(["repo:acme/agents:ref:refs/heads/main", "repo:acme/infra:*"],
                                              "ForAnyValue:StringLike")), DEV, False),
    ("MAAS-IAM-007", "compliant", role(web_identity(f"arn:aws:iam::{ACCOUNT}:saml-provider/okta", None) | {
        "Action": "sts:AssumeRoleWithSAML"}), DEV, False),
    ("MAAS-IAM-007", "violation", role(github("repo:*")), DEV, True),
    ("MAAS-IAM-007", "violation", role(github("*")), DEV, True),
    ("MAAS-IAM-007", "violation", role(github("repo:acme/*:*")), DEV, True),
    ("MAAS-IAM-007", "violation", role(github("repo:acme/agents:*", "StringLikeIfExists")), DEV, True),
    ("MAAS-IAM-007", "violation", role(github("repo:acme/agents:*", "StringNotLike")), DEV, True),
    ("MAAS-IAM-007", "violation", role(github("repo:acme/agents:*", aud=None)), DEV, True),
    ("MAAS-IAM-007", "violation", role(web_identity(f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com", {
        "StringLike": {"gitlab.com:sub": "project_path:*"}})), DEV, True),
    ("MAAS-IAM-007", "violation", role(web_identity(f"arn:aws:iam::{ACCOUNT}:oidc-provider/{EKS_ISSUER}", {
        "StringEquals": {f"{EKS_ISSUER}:aud": "sts.amazonaws.com"},
        "StringLike": {f"{EKS_ISSUER}:sub": "system:serviceaccount:*"}})), DEV, True),
    ("MAAS-IAM-007", "violation", role(web_identity(f"arn:aws:iam::{ACCOUNT}:oidc-provider/idp.example.com", {
        "StringLike": {"idp.example.com:sub": "*"}})), DEV, True),
    ("MAAS-IAM-007", "missing", role(web_identity(GITHUB, None)), DEV, True),
    ("MAAS-IAM-007", "unknown", res("aws:iam/role:Role", {"assumeRolePolicy": U}), DEV, False),
    # MAAS-IAM-008: cluster administrators
    ("MAAS-IAM-008", "compliant", [entry(), association()], CONFIGURED, False),
    ("MAAS-IAM-008", "compliant", [entry(f"arn:aws:iam::{ACCOUNT}:role/team-claims"),
                                   association(ADMIN_POLICY, f"arn:aws:iam::{ACCOUNT}:role/team-claims",
                                               {"type": "namespace", "namespaces": ["claims"]})], TEAM, False),
    ("MAAS-IAM-008", "compliant", [eks({"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False})],
     CONFIGURED, False),
    # named in the config from another account: the config's deliberate choice
    ("MAAS-IAM-008", "compliant", [association(principal=ADMIN)], Context(account_id="123456789012",
                                                                          admin_principals=(ADMIN,)), False),
    ("MAAS-IAM-008", "violation", [association(principal=f"arn:aws:iam::{ACCOUNT}:role/intruder")], CONFIGURED, True),
    ("MAAS-IAM-008", "violation", [association(principal="arn:aws:iam::999988887777:role/x")],
     Context(account_id=ACCOUNT), True),
    ("MAAS-IAM-008", "violation", [association(ADMIN_POLICY, f"arn:aws:iam::{ACCOUNT}:role/intruder")], CONFIGURED,
     True),
    ("MAAS-IAM-008", "violation", [association()], TEAM, True),
    ("MAAS-IAM-008", "violation", [entry(f"arn:aws:iam::{ACCOUNT}:role/x", kubernetesGroups=["system:masters"])],
     CONFIGURED, True),
    # the association's principal is the entry's, by engine reference
    ("MAAS-IAM-008", "violation", [entry("arn:aws:iam::999988887777:role/x"), association(principal=U, deps={
        "principalArn": ("urn:pulumi:t::p::aws:eks/accessEntry:AccessEntry::entry",)})], CONFIGURED, True),
    ("MAAS-IAM-008", "violation", [eks({"authenticationMode": "API"})], CONFIGURED, True),
    ("MAAS-IAM-008", "missing", [eks(None)], CONFIGURED, True),
    ("MAAS-IAM-008", "unknown", [association(principal=U)], CONFIGURED, False),
    ("MAAS-IAM-008", "unknown", [association(ADMIN_POLICY, scope={"type": U})], CONFIGURED, False),
]

# Rules that read nothing a preview can leave unknown, and why.
NOTHING_UNKNOWN = {
    "MAAS-IAM-006": "judges the resource's type alone: creating the kind is the finding",
}


# Each case runs in tests/test_policy_aws.py's test_rule_case, which these cases join.


def test_every_new_rule_has_each_kind_of_case():
    kinds: dict[str, set[str]] = {}
    for rule_id, kind, *_ in CASES:
        kinds.setdefault(rule_id, set()).add(kind)
    for rule_id, seen in kinds.items():
        wanted = {"compliant", "violation", "missing"} | (set() if rule_id in NOTHING_UNKNOWN else {"unknown"})
        assert wanted <= seen, (rule_id, wanted - seen)


def test_findings_say_what_and_where():
    found = evaluate([role(github("repo:*"))], DEV, only=["MAAS-IAM-007"]).violations
    assert found and "'repo:*'" in found[0]["message"] and "repo:<owner>/<repository>" in found[0]["message"]
    found = evaluate([association(principal="arn:aws:iam::999988887777:role/x")], CONFIGURED,
                     only=["MAAS-IAM-008"]).violations
    assert "not named in maas:cluster.admin_role_arns" in found[0]["message"]
    assert "account 999988887777" in found[0]["message"]


# -- real programs, planned offline ------------------------------------------------------------

INSECURE = '''
import json
import pulumi_aws as aws

github = aws.iam.OpenIdConnectProvider("github", url="https://token.actions.githubusercontent.com",
                                       client_id_lists=["sts.amazonaws.com"])
aws.iam.Role("deploy", assume_role_policy=github.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}}}]})))
user = aws.iam.User("ci")
aws.iam.AccessKey("ci-key", user=user.name)
web = aws.lb.LoadBalancer("web", subnets=["subnet-1", "subnet-2"])
aws.lb.Listener("http", load_balancer_arn=web.arn, port=80,  # protocol unset: HTTP
                default_actions=[{"type": "forward", "target_group_arn": "arn:aws:elasticloadbalancing:tg"}])
aws.lb.Listener("plain", load_balancer_arn=web.arn, port=8080, protocol="HTTP",
                default_actions=[{"type": "forward", "target_group_arn": "arn:aws:elasticloadbalancing:tg"}])
fn = aws.lambda_.Function("fn", role="arn:aws:iam::111122223333:role/fn", runtime="python3.12",
                          handler="index.handler", code=None)
aws.lambda_.FunctionUrl("url", function_name=fn.name, authorization_type="NONE")
'''

SECURE = '''
import json
import pulumi_aws as aws

github = aws.iam.OpenIdConnectProvider("github", url="https://token.actions.githubusercontent.com",
                                       client_id_lists=["sts.amazonaws.com"])
aws.iam.Role("deploy", assume_role_policy=github.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                                 "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/agents:*"}}}]})))
web = aws.lb.LoadBalancer("web", subnets=["subnet-1", "subnet-2"], drop_invalid_header_fields=True)
aws.lb.Listener("http", load_balancer_arn=web.arn, port=80, protocol="HTTP",
                default_actions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                                   "status_code": "HTTP_301"}}])
aws.lb.Listener("https", load_balancer_arn=web.arn, port=443, protocol="HTTPS",
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                certificate_arn="arn:aws:acm:us-east-1:111122223333:certificate/abc",
                default_actions=[{"type": "forward", "target_group_arn": "arn:aws:elasticloadbalancing:tg"}])
fn = aws.lambda_.Function("fn", role="arn:aws:iam::111122223333:role/fn", runtime="python3.12",
                          handler="index.handler", code=None)
aws.lambda_.FunctionUrl("url", function_name=fn.name, authorization_type="AWS_IAM")
'''

OURS = ("MAAS-NET-010", "MAAS-NET-011", "MAAS-NET-012", "MAAS-NET-013", "MAAS-NET-014", "MAAS-IAM-006",
        "MAAS-IAM-007", "MAAS-IAM-008")


def program(tmp_path: Path, source: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: kinds\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: us-east-1\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(source))
    return tmp_path


def found_by_rule(plan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for violation in plan.violations:
        if violation["policy"] in OURS:
            found.setdefault(violation["policy"], []).append(violation["urn"].rsplit("::", 1)[-1])
    return found


def test_an_insecure_program_is_refused_kind_by_kind(tmp_path):
    plan = plan_project(program(tmp_path, INSECURE), stack="dev")
    found = found_by_rule(plan)
    assert {rule: sorted(where) for rule, where in found.items()} == {
        "MAAS-IAM-006": ["ci", "ci-key"], "MAAS-IAM-007": ["deploy", "deploy"], "MAAS-NET-010": ["http", "plain"],
        "MAAS-NET-012": ["web"], "MAAS-NET-013": ["url"]}
    assert all(v["level"] == "mandatory" for v in plan.violations if v["policy"] in OURS)


def test_a_secure_program_passes_these_rules(tmp_path):
    plan = plan_project(program(tmp_path, SECURE), stack="dev")
    assert found_by_rule(plan) == {}
    assert [e for e in plan.not_evaluable if e["policy"] in OURS] == []
