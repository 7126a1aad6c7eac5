"""``maas preflight`` against an AWS-compatible server (moto in server mode), and docs/deploying.md.

The account is a fresh member account of an organization, made ready the way
docs/deploying.md says (the admin role, the Auto Scaling service-linked role, a versioned
state bucket, a KMS key for secrets); each test then takes one thing away and the command
must block naming it. moto 5.2.5 does not implement Cost Explorer's ListCostAllocationTags
(HTTP 500) and answers Service Quotas only for ``vpc`` codes: the payer-account paths are
tested with botocore's Stubber, and an applied quota that moto cannot hold with a
``before-send`` answer.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import boto3
import pytest
import typer
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from typer.testing import CliRunner

import maas_platform.plan as plan_package
from maas_platform.cli import app
from maas_platform.cli.preflight import _platform_config
from maas_platform.names import COSTEXPLORER_COST_ALLOCATION_TAG, EC2_NAT_GATEWAY
from maas_platform.plan import Plan
from maas_platform.preflight.account import POLICY_DOC, PreflightAccount
from maas_platform.names import COST_ALLOCATION_TAGS
from maas_platform.preflight.billing import budget_tag_keys, cost_allocation_findings
from maas_platform.preflight.findings import BLOCKER, INFO, OK, WARNING
from maas_platform.preflight.quotas import CHECKED_QUOTAS, planned
from maas_platform.preflight.roles import service_linked_roles
from maas_platform.preflight.state import read_state_settings
from maas_platform.verify.aws import ReadOnlyViolation

# The moto server, the test credentials (autouse), the recording sessions and the helpers of
# the maas verify tests, reused rather than written again.
from test_verify import (  # noqa: F401  (pytest fixtures are found by name in this module)
    REGION,
    ROOT,
    _answer,
    _one_line_error,
    calls,
    credentials,
    endpoint,
    maas,
    reset,
)

POLICY = ROOT / POLICY_DOC
DEPLOYING = ROOT / "docs" / "deploying.md"
STATE_BUCKET = "acme-pulumi-state"
SECRETS_ALIAS = "alias/maas-pulumi-secrets"
ADMIN_ROLE = "maas-platform-admin"
SERVICE_LINKED_ROLE = "AWSServiceRoleForAutoScaling"
# Operations whose IAM action is not "<service>:<Operation>" (none of the ones preflight makes, today).
IAM_ACTION_OF: dict[tuple[str, str], str] = {}


# -- the account --------------------------------------------------------------------------------


@dataclass
class Ready:
    """A member account made ready for the dev stack, and the files that point at it."""

    account: str
    management: str
    endpoint: str
    stack_file: Path
    plan_file: Path

    def client(self, service: str) -> Any:
        return boto3.Session(region_name=REGION).client(service, endpoint_url=self.endpoint)

    def args(self, *extra: str) -> list[str]:
        return ["preflight", "--config-file", str(self.stack_file), "--plan", str(self.plan_file),
                "--project-dir", str(ROOT), "--endpoint-url", self.endpoint,
                "--backend-url", f"s3://{STATE_BUCKET}", *extra]


def without_tag_activation(plan: Plan) -> dict:
    """The plan as a dict, without resources that activate cost allocation tags.

    Activation is a step of its own (docs/deploying.md); a plan that still activates tags is
    tested on its own, below.
    """
    document = json.loads(plan.to_json())
    document["resources"] = [r for r in document["resources"] if r["type"] != COSTEXPLORER_COST_ALLOCATION_TAG]
    return document


@pytest.fixture
def ready(endpoint, dev, tmp_path, monkeypatch) -> Ready:
    """A fresh member account of an organization, with what docs/deploying.md creates before the first deploy."""
    reset(endpoint)
    management = boto3.Session(region_name=REGION)
    organizations = management.client("organizations", endpoint_url=endpoint)
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(Email="platform@example.com", AccountName="maas-dev")
    account = member["CreateAccountStatus"]["AccountId"]
    assumed = management.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="preflight-test",
    )["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", assumed["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", assumed["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", assumed["SessionToken"])

    session = boto3.Session(region_name=REGION)
    iam = session.client("iam", endpoint_url=endpoint)
    iam.create_role(RoleName=ADMIN_ROLE, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": "sts:AssumeRole"}]}))
    iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=STATE_BUCKET)
    s3.put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    kms = session.client("kms", endpoint_url=endpoint)
    key = kms.create_key(Description="Pulumi secrets of the maas stacks")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=SECRETS_ALIAS, TargetKeyId=key)

    # The dev stack, its admin role in this account, its secrets under that key.
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text().replace("111122223333", account)
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(f"secretsprovider: awskms://{SECRETS_ALIAS}?region={REGION}\n{text}")
    plan_file = tmp_path / "dev.json"
    plan_file.write_text(json.dumps(without_tag_activation(dev)))
    return Ready(account, organizations.describe_organization()["Organization"]["MasterAccountId"], endpoint,
                 stack_file, plan_file)


def preflight_cli(*args: str) -> Any:
    """``maas preflight`` in this process (so its sessions can be observed)."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "250"})


def findings(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(level, group, subject) of every finding of a JSON report."""
    return {(f["level"], group, f["subject"]) for group, found in report["groups"].items() for f in found}


def blockers(report: dict[str, Any]) -> dict[str, str]:
    """subject -> message of every blocker of a JSON report."""
    return {f["subject"]: f["message"] for found in report["groups"].values() for f in found if f["level"] == BLOCKER}


# -- a ready account ------------------------------------------------------------------------------


def test_a_ready_account_exits_0(ready, tmp_path):
    out = tmp_path / "preflight.json"
    result = maas(*ready.args("--json", str(out)))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["status"] == "ready" and report["account"] == ready.account and report["region"] == REGION
    assert report["summary"]["blocker"] == 0 and report["summary"]["warning"] == 0
    assert {
        (OK, "identity", "credentials"),
        (OK, "roles", "maas:cluster.admin_role_arns[0]"),
        (OK, "roles", SERVICE_LINKED_ROLE),
        (OK, "state", "state backend"),
        (OK, "state", "secrets provider"),
        (OK, "quotas", "VPCs per Region (vpc L-F678F1CE)"),
        (OK, "quotas", "Internet gateways per Region (vpc L-A4707A72)"),
        (OK, "quotas", "EC2-VPC Elastic IPs (ec2 L-0263D0A3)"),
        (OK, "quotas", "NAT gateways per Availability Zone (vpc L-FE5A380F)"),
        (INFO, "cost allocation", "cost allocation tags"),
    } == findings(report)
    # One line per finding, grouped, each starting with its level.
    lines = [line.strip() for line in result.stdout.splitlines()]
    for group in ("identity", "roles", "state", "quotas", "cost allocation"):
        assert group in lines
    assert sum(1 for line in lines if line.startswith(("ok:", "info:"))) == 10
    assert "ready" in result.stdout
    # The member account is told where tags are activated, and how.
    info = report["groups"]["cost allocation"][0]["message"]
    assert f"management account {ready.management}" in info and "aws ce update-cost-allocation-tags-status" in info
    # moto holds no applied value for the ec2 quota: the documented default, said so.
    eip = next(f for f in report["groups"]["quotas"] if "L-0263D0A3" in f["subject"])
    assert "documented default" in eip["message"]


def test_help_documents_the_command():
    result = CliRunner().invoke(app, ["preflight", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("--stack", "--config-file", "--region", "--endpoint-url", "--json", "--backend-url",
                 "--secrets-provider", "read-only", "preflight-iam-policy.json"):
        assert text in result.output


# -- what blocks ----------------------------------------------------------------------------------


def test_a_missing_service_linked_role_blocks_naming_it_and_the_fix(ready, tmp_path):
    ready.client("iam").delete_service_linked_role(RoleName=SERVICE_LINKED_ROLE)
    out = tmp_path / "preflight.json"
    result = preflight_cli(*ready.args("--json", str(out)))
    assert result.exit_code == 1, result.output
    found = blockers(json.loads(out.read_text()))
    assert set(found) == {SERVICE_LINKED_ROLE}
    assert "maas-dev-keys-ebs" in found[SERVICE_LINKED_ROLE]
    assert "aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com" in found[SERVICE_LINKED_ROLE]
    assert f"blocker: {SERVICE_LINKED_ROLE}" in result.output and "blocked" in result.output


def test_a_missing_admin_role_blocks_naming_the_key_and_the_role(ready, tmp_path):
    ready.client("iam").delete_role(RoleName=ADMIN_ROLE)
    out = tmp_path / "preflight.json"
    result = preflight_cli(*ready.args("--json", str(out)))
    assert result.exit_code == 1, result.output
    found = blockers(json.loads(out.read_text()))
    assert set(found) == {"maas:cluster.admin_role_arns[0]"}
    assert f"arn:aws:iam::{ready.account}:role/{ADMIN_ROLE} does not exist" in found["maas:cluster.admin_role_arns[0]"]


def test_an_operator_role_of_the_config_is_checked_too(ready, tmp_path):
    operator = f"arn:aws:iam::{ready.account}:role/maas-dlq-operator"
    text = ready.stack_file.read_text().replace(
        "  maas:broker:\n", f"  maas:broker:\n    operator_role_arns: [{operator}]\n", 1)
    ready.stack_file.write_text(text)
    out = tmp_path / "preflight.json"
    assert preflight_cli(*ready.args("--json", str(out))).exit_code == 1
    found = blockers(json.loads(out.read_text()))
    assert set(found) == {"maas:broker.operator_role_arns[0]"} and operator in found["maas:broker.operator_role_arns[0]"]


def _allocate_addresses(ready: Ready, count: int) -> None:
    ec2 = ready.client("ec2")
    for _ in range(count):
        ec2.allocate_address(Domain="vpc")


def test_an_elastic_ip_quota_the_plan_would_exceed_blocks(ready, tmp_path):
    _allocate_addresses(ready, 5)  # the default quota, all used: the plan's NAT gateway needs one more
    out = tmp_path / "preflight.json"
    result = maas(*ready.args("--json", str(out)))
    assert result.returncode == 1, result.stdout + result.stderr
    found = blockers(json.loads(out.read_text()))
    subject = "EC2-VPC Elastic IPs (ec2 L-0263D0A3)"
    assert set(found) == {subject}
    assert "the plan adds 1, the account has 5, the quota is 5" in found[subject]
    assert ("aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-0263D0A3 "
            f"--desired-value 6 --region {REGION}") in found[subject]
    assert "blocker: EC2-VPC Elastic IPs" in result.stdout


def _applied_quota(code: str, value: float) -> Callable[..., Optional[AWSResponse]]:
    """A ``before-send`` answer of Service Quotas for one quota code (an increase moto cannot hold)."""

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **_: Any) -> Iterator[bytes]:
            yield self.body

    def respond(request: Any, **_: Any) -> Optional[AWSResponse]:
        if json.loads(request.body or b"{}").get("QuotaCode") != code:
            return None
        body = json.dumps({"Quota": {"QuotaCode": code, "Value": value}}).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, Raw(body))
    return respond


def test_an_applied_quota_increase_is_used_instead_of_the_default(ready, tmp_path, calls):
    _allocate_addresses(ready, 5)
    calls.hooks.append(("before-send.service-quotas.GetServiceQuota", _applied_quota("L-0263D0A3", 10)))
    out = tmp_path / "preflight.json"
    result = preflight_cli(*ready.args("--json", str(out)))
    assert result.exit_code == 0, result.output
    eip = next(f for f in json.loads(out.read_text())["groups"]["quotas"] if "L-0263D0A3" in f["subject"])
    assert eip["message"] == "the plan adds 1, the account has 5, the quota is 10"


def test_nat_gateways_are_counted_per_zone(ready, tmp_path, dev):
    ec2 = ready.client("ec2")
    subnets = {s["AvailabilityZone"]: s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
    for zone, count in (("us-east-1a", 5), ("us-east-1b", 4)):
        for _ in range(count):
            allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
            ec2.create_nat_gateway(SubnetId=subnets[zone], AllocationId=allocation)
    # dev plans one NAT gateway, in its first zone (us-east-1a): full there.
    assert planned(dev, next(q for q in CHECKED_QUOTAS if q.resource_type == EC2_NAT_GATEWAY)) == {"us-east-1a": 1}
    out = tmp_path / "preflight.json"
    assert preflight_cli(*ready.args("--json", str(out))).exit_code == 1
    found = blockers(json.loads(out.read_text()))
    subject = "NAT gateways per Availability Zone (vpc L-FE5A380F)"
    assert "the plan adds 1 in us-east-1a, the account has 5, the quota is 5" in found[subject]
    assert "--desired-value 6" in found[subject]
    # (the nine addresses the gateways hold exceed the Elastic IP quota too)
    assert set(found) == {subject, "EC2-VPC Elastic IPs (ec2 L-0263D0A3)"}


def test_prod_plans_one_nat_gateway_per_zone(prod):
    quota = next(q for q in CHECKED_QUOTAS if q.resource_type == EC2_NAT_GATEWAY)
    assert planned(prod, quota) == {"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 1}


def test_a_missing_state_bucket_blocks_naming_it(ready, tmp_path):
    out = tmp_path / "preflight.json"
    result = maas(*ready.args("--backend-url", "s3://acme-pulumi-state-typo?region=us-east-1", "--json", str(out)))
    assert result.returncode == 1, result.stdout + result.stderr
    found = blockers(json.loads(out.read_text()))
    assert set(found) == {"state backend"}
    assert "bucket acme-pulumi-state-typo" in found["state backend"] and "(from --backend-url)" in found["state backend"]


def test_a_state_bucket_without_versioning_is_a_warning(ready, tmp_path):
    ready.client("s3").put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Suspended"})
    out = tmp_path / "preflight.json"
    assert preflight_cli(*ready.args("--json", str(out))).exit_code == 0
    report = json.loads(out.read_text())
    assert (WARNING, "state", "state backend") in findings(report) and report["status"] == "ready"


def test_a_missing_or_disabled_secrets_key_blocks(ready, tmp_path):
    text = ready.stack_file.read_text().replace(SECRETS_ALIAS, "alias/no-such-key")
    ready.stack_file.write_text(text)
    out = tmp_path / "preflight.json"
    assert preflight_cli(*ready.args("--json", str(out))).exit_code == 1
    found = blockers(json.loads(out.read_text()))
    assert set(found) == {"secrets provider"}
    assert "alias/no-such-key" in found["secrets provider"] and "Pulumi.dev.yaml secretsprovider" in found["secrets provider"]

    kms = ready.client("kms")
    kms.disable_key(KeyId=kms.describe_key(KeyId=SECRETS_ALIAS)["KeyMetadata"]["KeyId"])
    result = preflight_cli(*ready.args("--secrets-provider", f"awskms://{SECRETS_ALIAS}", "--json", str(out)))
    assert result.exit_code == 1
    assert "its state is Disabled" in blockers(json.loads(out.read_text()))["secrets provider"]


def test_credentials_of_another_account_than_maas_account_id_block(ready, tmp_path):
    ready.stack_file.write_text(ready.stack_file.read_text().replace(
        "  maas:region: us-east-1\n", '  maas:region: us-east-1\n  maas:account_id: "210987654321"\n'))
    out = tmp_path / "preflight.json"
    assert preflight_cli(*ready.args("--json", str(out))).exit_code == 1
    found = blockers(json.loads(out.read_text()))
    assert set(found) == {"maas:account_id"}
    assert f"deploys to account 210987654321 but the credentials are for account {ready.account}" in found["maas:account_id"]


def test_a_plan_that_activates_tags_blocks_in_a_member_account(ready, tmp_path, dev):
    document = without_tag_activation(dev)
    document["resources"].append({"urn": "urn:pulumi:dev::maas::aws:costexplorer/costAllocationTag:CostAllocationTag::t",
                                  "type": COSTEXPLORER_COST_ALLOCATION_TAG, "name": "t", "custom": True,
                                  "inputs": {"tagKey": "team", "status": "Active"}})
    ready.plan_file.write_text(json.dumps(document))
    out = tmp_path / "preflight.json"
    assert preflight_cli(*ready.args("--json", str(out))).exit_code == 1
    message = blockers(json.loads(out.read_text()))["cost allocation tags"]
    assert "the plan activates team" in message and "member" in message and "activate_cost_allocation_tags" in message


# -- who may activate cost allocation tags (Cost Explorer: botocore Stubber, moto has no ListCostAllocationTags)


def _stubbed_account(organization: Optional[dict[str, Any]], tags: Optional[list[dict[str, Any]]] = None,
                     account_id: str = "111122223333") -> tuple[PreflightAccount, list[Stubber]]:
    account = PreflightAccount(boto3.Session(region_name=REGION), region=REGION)
    account.account_id = account_id
    organizations = Stubber(account.client("organizations"))
    if organization is None:
        organizations.add_client_error("describe_organization", "AWSOrganizationsNotInUseException",
                                       "Your account is not a member of an organization.")
    else:
        organizations.add_response("describe_organization", {"Organization": organization})
    ce = Stubber(account.client("ce"))
    if tags is not None:
        ce.add_response("list_cost_allocation_tags", {"CostAllocationTags": tags})
    stubs = [organizations, ce]
    for stub in stubs:
        stub.activate()
    return account, stubs


def _tag(key: str, status: str) -> dict[str, Any]:
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    return {"TagKey": key, "Type": "UserDefined", "Status": status, "LastUpdatedDate": now.isoformat(),
            "LastUsedDate": now.isoformat()}


def _plan(dev: Plan, activations: tuple[str, ...] = ()) -> Plan:
    document = without_tag_activation(dev)
    for key in activations:
        document["resources"].append({"urn": f"urn:pulumi:dev::maas::{COSTEXPLORER_COST_ALLOCATION_TAG}::{key}",
                                      "type": COSTEXPLORER_COST_ALLOCATION_TAG, "name": key, "custom": True,
                                      "inputs": {"tagKey": key, "status": "Active"}})
    return Plan.from_dict(document)


def test_preflight_asks_about_the_keys_the_budgets_filter_on_and_docs_cost_md_activates(dev):
    assert set(budget_tag_keys(dev)) == {"agent", "platform", "team"} <= set(COST_ALLOCATION_TAGS)


def test_a_standalone_payer_is_told_which_keys_to_activate(dev):
    account, stubs = _stubbed_account(None, [_tag("team", "Active"), _tag("agent", "Inactive")])
    (finding,) = cost_allocation_findings(_plan(dev), account)
    assert finding.level == INFO
    assert "account 111122223333 is the payer" in finding.message
    assert ("inactive: agent: activate once with aws ce update-cost-allocation-tags-status "
            "--cost-allocation-tags-status TagKey=agent,Status=Active") in finding.message
    assert "not seen by billing yet: platform, environment, cost-center, managed-by" in finding.message
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_a_management_account_with_every_key_active_is_ok(dev):
    organization = {"Id": "o-abc", "MasterAccountId": "111122223333"}
    account, _ = _stubbed_account(organization, [_tag(k, "Active") for k in COST_ALLOCATION_TAGS])
    (finding,) = cost_allocation_findings(_plan(dev), account)
    assert finding.level == OK
    assert "platform, environment, team, agent, cost-center, managed-by active" in finding.message


def test_a_plan_activating_keys_billing_has_not_seen_blocks(dev):
    account, _ = _stubbed_account(None, [_tag("team", "Active")])
    (finding,) = cost_allocation_findings(_plan(dev, activations=("team", "cost-center")), account)
    assert finding.level == BLOCKER
    assert "billing has not seen cost-center" in finding.message and "activate_cost_allocation_tags" in finding.message


def test_a_member_account_is_sent_to_its_management_account(dev):
    account, stubs = _stubbed_account({"Id": "o-abc", "MasterAccountId": "999988887777"})
    (finding,) = cost_allocation_findings(_plan(dev), account)
    assert finding.level == INFO and "management account 999988887777" in finding.message
    stubs[1].assert_no_pending_responses()  # Cost Explorer was not asked: a member account cannot activate


# -- read-only ------------------------------------------------------------------------------------


def test_only_read_operations_are_called_and_the_policy_grants_exactly_them(ready, tmp_path, calls, monkeypatch):
    # The member account (ready), then a blocked one, then the organization's management account
    # (which reads Cost Explorer; moto has no ListCostAllocationTags, so it is answered here).
    assert preflight_cli(*ready.args()).exit_code == 0
    ready.client("iam").delete_service_linked_role(RoleName=SERVICE_LINKED_ROLE)
    ec2 = ready.client("ec2")  # a NAT gateway: its subnet's zone is read too
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_nat_gateway(SubnetId=subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"])
    assert preflight_cli(*ready.args("--backend-url", "s3://missing-bucket")).exit_code == 1
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    calls.hooks.append(("before-send.ce.ListCostAllocationTags", _tags_answer([_tag("team", "Active")])))
    management = preflight_cli(*ready.args())
    assert "account 123456789012 is the payer" in management.output, management.output

    operations = set(calls.operations)
    assert ("ce", "ListCostAllocationTags") in operations and ("organizations", "DescribeOrganization") in operations
    assert all(name.startswith(("List", "Describe", "Get")) for _, name in operations), operations
    needed = {IAM_ACTION_OF.get(op, f"{op[0]}:{op[1]}") for op in operations}
    statements = json.loads(POLICY.read_text())["Statement"]
    granted = {action for s in statements if s["Effect"] == "Allow" for action in s["Action"]}
    assert granted == needed
    # Metadata only: no object, secret, key use or state file is readable with it.
    assert not granted & {"s3:GetObject", "s3:ListBucket", "kms:Decrypt", "kms:Encrypt", "secretsmanager:GetSecretValue"}


def _tags_answer(tags: list[dict[str, Any]]) -> Callable[..., AWSResponse]:
    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield json.dumps({"CostAllocationTags": tags}).encode()

    def respond(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, Raw())
    return respond


def test_the_policy_names_only_actions_iam_knows():
    """parliament (an independent IAM linter with AWS's action catalogue) finds nothing to say."""
    import parliament

    policy = parliament.analyze_policy_string(POLICY.read_text())
    assert [(f.issue, f.detail) for f in policy.findings] == []


def test_a_mutating_call_is_refused_before_it_is_sent(endpoint):
    session = boto3.Session(region_name=REGION)
    sent: list[str] = []
    session.events.register("before-send", lambda request, **_: sent.append(request.url))
    account = PreflightAccount(session, region=REGION, endpoint_url=endpoint)
    with pytest.raises(ReadOnlyViolation, match="iam:CreateServiceLinkedRole"):
        account.client("iam").create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    with pytest.raises(ReadOnlyViolation, match="kms:Encrypt"):
        account.call_in("eu-west-1", "kms", "encrypt", KeyId="alias/x", Plaintext=b"x")
    assert sent == []


# -- usage and credential errors: exit 2, one line ------------------------------------------------


def test_no_credentials_exit_2_before_anything_is_planned(ready, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    line = _one_line_error(maas(*ready.args()))
    assert "credentials" in line

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the stack was planned before the credentials were checked")

    monkeypatch.setattr(plan_package, "plan_project", refuse, raising=False)
    result = CliRunner().invoke(app, ["preflight", "--stack", "dev", "--project-dir", str(ROOT),
                                      "--endpoint-url", ready.endpoint], catch_exceptions=False)
    assert result.exit_code == 2 and "credentials" in result.output


def test_unreachable_endpoint_exit_2_quickly(ready):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    args = ready.args()
    args[args.index(ready.endpoint)] = f"http://127.0.0.1:{port}"
    line = _one_line_error(maas(*args))
    assert f"127.0.0.1:{port}" in line and time.perf_counter() - started < 60


def test_access_denied_names_the_action_and_this_command_s_policy(ready, calls):
    calls.hooks.append(("before-send.kms.DescribeKey", _answer(400, "AccessDeniedException", "not authorized")))
    result = preflight_cli(*ready.args())
    assert result.exit_code == 2
    assert "kms:DescribeKey" in result.output and POLICY_DOC in result.output


def test_usage_errors_exit_2(ready, tmp_path, dev):
    _one_line_error(maas("preflight"))
    _one_line_error(maas("preflight", "--stack", "nope"))
    _one_line_error(maas("preflight", "--config-file", str(tmp_path / "Pulumi.gone.yaml")))
    other = tmp_path / "prod.json"
    other.write_text(json.dumps({**without_tag_activation(dev), "stack": "prod"}))
    args = ready.args()
    args[args.index(str(ready.plan_file))] = str(other)
    assert "plan of stack prod, not dev" in _one_line_error(maas(*args))
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  maas:environment: dev\n  maas:cluster: {admin_role_arns: []}\n")
    args = ready.args()
    args[args.index(str(ready.stack_file))] = str(bad)
    args[args.index(str(ready.plan_file))] = str(tmp_path / "bad.json")
    (tmp_path / "bad.json").write_text(json.dumps({**without_tag_activation(dev), "stack": "bad"}))
    assert "maas:cluster.admin_role_arns" in _one_line_error(maas(*args))


# -- what the command reads -----------------------------------------------------------------------


def test_the_backend_comes_from_the_flag_then_the_environment_then_pulumi_yaml(tmp_path):
    project, stack = tmp_path / "Pulumi.yaml", tmp_path / "Pulumi.dev.yaml"
    project.write_text("name: maas\nruntime: python\nbackend:\n  url: s3://from-project\n")
    stack.write_text("secretsprovider: awskms://alias/from-stack\nconfig: {}\n")
    settings = read_state_settings(project, stack, environ={})
    assert (settings.backend_url, settings.backend_source) == ("s3://from-project", "Pulumi.yaml backend.url")
    assert (settings.secrets_provider, settings.secrets_source) == ("awskms://alias/from-stack",
                                                                     "Pulumi.dev.yaml secretsprovider")
    settings = read_state_settings(project, stack, environ={"PULUMI_BACKEND_URL": "s3://from-env"})
    assert (settings.backend_url, settings.backend_source) == ("s3://from-env", "PULUMI_BACKEND_URL")
    settings = read_state_settings(project, stack, "s3://from-flag", "passphrase",
                                   environ={"PULUMI_BACKEND_URL": "s3://from-env"})
    assert (settings.backend_url, settings.secrets_provider) == ("s3://from-flag", "passphrase")
    project.write_text("name: maas\nruntime: python\n")
    stack.write_text("config: {}\n")
    assert read_state_settings(project, stack, environ={}).backend_url == ""


def test_service_linked_roles_are_those_policies_name_as_principals(dev):
    # The load balancer controller's policy names AWSServiceRoleForElasticLoadBalancing as a
    # resource it may create, not as a principal: that role need not exist beforehand.
    assert service_linked_roles(dev) == {SERVICE_LINKED_ROLE: ("autoscaling.amazonaws.com", ["maas-dev-keys-ebs"])}


def test_a_team_stack_has_no_platform_roles_to_check():
    assert _platform_config({"maas:platform_stack": "acme/maas/dev"}, Path("unused")) is None


# -- docs/deploying.md: every maas command in it is one the CLI accepts -----------------------------


def _bash_commands(text: str) -> list[list[str]]:
    """The ``maas`` commands of the document's ```bash blocks (``.venv/bin/maas`` too), as argv lists."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            words = shlex.split(line) if line else []
            if words and words[0] in ("maas", ".venv/bin/maas"):
                commands.append(words[1:])
    return commands


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def _parse(argv: list[str]) -> tuple[int, str]:
    """``maas argv`` parsed and validated as the CLI does, with every command's body replaced by nothing.

    Unknown commands or options, missing or ill-typed values exit 2 with click's message; a
    command line the CLI accepts exits 0 without running anything. (typer builds a new command
    tree on each call, so replacing the bodies here changes nothing else.)
    """
    command = typer.main.get_command(app)
    for each in _commands(command):
        if not hasattr(each, "commands"):
            each.callback = lambda *args, **kwargs: None
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            command.main(args=list(argv), prog_name="maas", standalone_mode=True)
        except SystemExit as exit:
            return int(exit.code or 0), output.getvalue()
    return 0, output.getvalue()


def test_every_maas_command_of_the_deploying_guide_parses():
    commands = _bash_commands(DEPLOYING.read_text())
    assert {argv[0] for argv in commands} >= {"preflight", "plan", "verify", "policy-config"}
    for argv in commands:
        code, output = _parse(argv)
        assert code == 0, f"docs/deploying.md: maas {shlex.join(argv)}:\n{output}"
        for option in ("--config-file", "--project-dir"):
            if option in argv:
                assert (ROOT / argv[argv.index(option) + 1]).exists(), f"maas {shlex.join(argv)}: {option} not found"


def test_the_guide_s_command_check_catches_a_wrong_command_line():
    assert _parse(["preflight", "--stack", "dev"])[0] == 0
    for argv in (["preflight", "--stack", "dev", "--no-such-option"], ["no-such-command"], ["plan", "--stack"],
                 ["verify", "--workers", "0"], ["reference", "nope"]):
        assert _parse(argv)[0] == 2, argv
