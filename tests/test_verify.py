"""``maas verify`` against a real AWS-compatible server: moto in server mode, over HTTP.

The account is seeded from the plan itself (tests/moto_seed.py), so "clean" means "what
``pulumi up`` of that plan would have created"; drift is then made with the same APIs an
operator would use, and the report must name each drifted resource and its agent.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections import Counter
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from maas_platform.cli import app
from maas_platform.components.agent.bedrock import bedrock_budget_name, stop_policy_name, stop_role_name
from maas_platform.plan import Plan, plan_project
from maas_platform.plan.catalog import write_catalog_stack
from maas_platform.verify import aws as verify_aws
from maas_platform.verify.aws import Account, ReadOnlyViolation, VerifyError, classify
from maas_platform.verify.checks import DRIFT, OK, SKIPPED, check_budget_action
from maas_platform.verify.expect import Expected, expectations
from maas_platform.verify.run import verify_plan

sys.path.insert(0, str(Path(__file__).parent))
from moto_seed import seed_from_plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
POLICY = ROOT / "docs" / "verify-iam-policy.json"
# The IAM action each API operation is authorised by, where it is not "<service>:<Operation>".
IAM_ACTION_OF = {("budgets", "DescribeBudgets"): "budgets:ViewBudget",
                 ("budgets", "DescribeNotificationsForBudget"): "budgets:ViewBudget",
                 ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
                 ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
                 ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock"}
# Each checked resource type: its kind and the plan input holding its physical name.
CHECKED_TYPES = {
    "aws:dynamodb/table:Table": ("dynamodb-table", "name"),
    "aws:sqs/queue:Queue": ("sqs-queue", "name"),
    "aws:secretsmanager/secret:Secret": ("secret", "name"),
    "aws:budgets/budget:Budget": ("budget", "name"),
    "aws:budgets/budgetAction:BudgetAction": ("budget-action", "budgetName"),
    "aws:eks/cluster:Cluster": ("eks-cluster", "name"),
    "aws:s3/bucket:Bucket": ("s3-bucket", "bucket"),
    "aws:cloudwatch/logGroup:LogGroup": ("log-group", "name"),
    "aws:sns/topic:Topic": ("sns-topic", "name"),
    "aws:rds/cluster:Cluster": ("rds-cluster", "clusterIdentifier"),
}


# -- the server and the account ---------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto in server mode on a free local port, for this module."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch) -> None:
    """Test credentials only: nothing here can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


def reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()


@pytest.fixture
def plan_file(dev: Plan, tmp_path: Path) -> Path:
    path = tmp_path / "dev.json"
    path.write_text(dev.to_json())
    return path


@pytest.fixture
def account(endpoint: str, dev: Plan):
    """A fresh account holding exactly what the dev plan deploys."""
    reset(endpoint)
    return seed_from_plan(dev, boto3.Session(region_name=REGION), endpoint)


def client(endpoint: str, service: str) -> Any:
    return boto3.Session(region_name=REGION).client(service, endpoint_url=endpoint)


class Calls:
    """Every operation the verify runs made, recorded through botocore's ``before-call`` event."""

    def __init__(self) -> None:
        self.operations: list[tuple[str, str]] = []
        self.hooks: list[tuple[str, Callable]] = []

    def session(self, region: Any = None) -> boto3.Session:
        session = boto3.Session(region_name=region)
        session.events.register("before-call", self._record)
        for event, handler in self.hooks:
            session.events.register(event, handler)
        return session

    def _record(self, model: Any, **_: Any) -> None:
        self.operations.append((model.service_model.endpoint_prefix, model.name))

    def count(self, operation: str) -> int:
        return sum(1 for _, name in self.operations if name == operation)


@pytest.fixture
def calls(monkeypatch) -> Calls:
    """Sessions ``maas verify`` opens record their calls (and carry any hooks a test adds)."""
    recorder = Calls()
    monkeypatch.setattr(verify_aws, "new_session", recorder.session)
    return recorder


def verify_cli(*args: str) -> Any:
    """``maas verify`` in this process (so its sessions can be observed)."""
    return CliRunner().invoke(app, ["verify", *args], catch_exceptions=False)


def maas(*args: str) -> subprocess.CompletedProcess:
    """``maas`` as a user runs it: its own process, exit code and streams."""
    return subprocess.run([str(ROOT / ".venv" / "bin" / "maas"), *args], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, COLUMNS="200"), timeout=300)


def drifted(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(agent, kind, resource, check) of every drift finding of a JSON report."""
    return {
        (agent, f["kind"], f["resource"], f["check"])
        for agent, group in report["agents"].items() for f in group["findings"] if f["status"] == "drift"
    }


def planned(plan: Plan) -> set[tuple[str, str]]:
    """(kind, physical name) of every resource of a checked kind in the plan; keys by their alias."""
    names = {(CHECKED_TYPES[r.type][0], r.inputs[CHECKED_TYPES[r.type][1]])
             for r in plan.resources if r.type in CHECKED_TYPES}
    return names | {("kms-key", r.inputs["name"]) for r in plan.of_type("aws:kms/alias:Alias")}


# -- scale (first: the slowest test starts at once on one worker of a parallel run) -----------


@pytest.mark.slow
def test_one_hundred_agents(endpoint, tmp_path, calls):
    stack = write_catalog_stack(ROOT / "stacks" / "Pulumi.dev.yaml", tmp_path / "Pulumi.catalog.yaml", 100)
    plan = plan_project(ROOT, config_file=stack)
    reset(endpoint)
    seed_from_plan(plan, boto3.Session(region_name=REGION), endpoint)
    started = time.perf_counter()
    report = verify_plan(plan, calls.session(REGION), REGION, endpoint)
    elapsed = time.perf_counter() - started
    print(f"verified {report.summary()['resources']} resources of 100 agents with {len(calls.operations)} calls "
          f"in {elapsed:.1f}s")
    assert not report.drift
    assert len({f.agent for f in report.findings} - {"platform"}) == 100
    assert {(f.kind, f.resource) for f in report.findings} == planned(plan)


# -- a clean account --------------------------------------------------------------------------


def test_account_deployed_from_the_plan_verifies_clean(account, endpoint, plan_file, dev, tmp_path):
    out = tmp_path / "report.json"
    result = maas("verify", "--plan", str(plan_file), "--endpoint-url", endpoint, "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["status"] == "ok" and report["summary"]["drift"] == 0
    assert report["account"] == account.account and report["region"] == REGION
    # Every planned resource of a checked kind was found and checked, under its agent.
    checked = {(f["kind"], f["resource"]) for group in report["agents"].values() for f in group["findings"]}
    assert checked == planned(dev)
    assert {kind for kind, _ in checked} == {"kms-key", *(kind for kind, _ in CHECKED_TYPES.values())}
    assert set(report["agents"]) == {"platform", *dev.outputs["agents"]}
    triage = {(f["kind"], f["resource"]) for f in report["agents"]["triage"]["findings"]}
    assert ("budget", "maas-dev-agent-triage") in triage and ("kms-key", "alias/maas-dev-triage") in triage
    assert "no drift" in result.stdout and "by agent" in result.stdout


def test_verify_plans_the_stack_itself(account, endpoint):
    result = maas("verify", "--stack", "dev", "--endpoint-url", endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    for agent in ("triage", "research", "reports"):
        assert agent in result.stdout


def test_help_documents_the_command():
    result = CliRunner().invoke(app, ["verify", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("--stack", "--region", "--endpoint-url", "--json", "read-only", "verify-iam-policy.json", "drift"):
        assert text in result.output


# -- drift ------------------------------------------------------------------------------------


def test_drift_exits_1_naming_each_resource_and_agent(account, endpoint, plan_file, tmp_path):
    client(endpoint, "kms").disable_key_rotation(KeyId=account.keys["alias/maas-dev-triage"])
    client(endpoint, "sqs").delete_queue(QueueUrl=account.queues["maas-dev-research-dlq"])
    dynamodb = client(endpoint, "dynamodb")
    table = dynamodb.describe_table(TableName="maas-dev-triage")["Table"]["TableArn"]
    dynamodb.untag_resource(ResourceArn=table, TagKeys=["cost-center"])
    client(endpoint, "budgets").delete_budget(AccountId=account.account, BudgetName="maas-dev-agent-triage")

    out = tmp_path / "report.json"
    result = maas("verify", "--plan", str(plan_file), "--endpoint-url", endpoint, "--json", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert drifted(report) == {
        ("triage", "kms-key", "alias/maas-dev-triage", "rotation"),
        ("research", "sqs-queue", "maas-dev-research-dlq", "exists"),
        ("research", "sqs-queue", "maas-dev-research-inbox", "dead-letter-queue"),
        ("triage", "dynamodb-table", "maas-dev-triage", "tags"),
        ("triage", "budget", "maas-dev-agent-triage", "exists"),
    }
    assert report["agents"]["reports"]["drift"] == 0 and report["agents"]["platform"]["drift"] == 0
    for name in ("alias/maas-dev-triage", "maas-dev-research-dlq", "maas-dev-research-inbox", "maas-dev-triage",
                 "maas-dev-agent-triage", "cost-center missing"):
        assert name in result.stdout, name


BUCKET = "maas-dev-reports-123456789012"  # the dev plan's bucket, named after the (moto and plan) account


def test_drift_of_buckets_log_groups_topics_and_databases(account, endpoint, plan_file, tmp_path):
    s3 = client(endpoint, "s3")
    s3.delete_bucket_encryption(Bucket=BUCKET)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})
    logs = client(endpoint, "logs")
    logs.put_retention_policy(logGroupName="/maas/maas-dev/agents/triage", retentionInDays=90)
    logs.delete_log_group(logGroupName="/maas/maas-dev/agents/research")
    sns = client(endpoint, "sns")
    topics = {arn.rsplit(":", 1)[-1]: arn for arn in (t["TopicArn"] for t in sns.list_topics()["Topics"])}
    sns.set_topic_attributes(TopicArn=topics["maas-dev-tickets"], AttributeName="KmsMasterKeyId", AttributeValue="")
    sns.untag_resource(ResourceArn=topics["maas-dev-findings"], TagKeys=["team"])
    rds = client(endpoint, "rds")
    database = rds.describe_db_clusters(DBClusterIdentifier="maas-dev-research")["DBClusters"][0]
    rds.remove_tags_from_resource(ResourceName=database["DBClusterArn"], TagKeys=["cost-center"])
    rds.modify_db_cluster(DBClusterIdentifier="maas-dev-research", BackupRetentionPeriod=1, ApplyImmediately=True)

    out = tmp_path / "report.json"
    result = verify_cli("--plan", str(plan_file), "--endpoint-url", endpoint, "--json", str(out))
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text())
    assert drifted(report) == {
        ("reports", "s3-bucket", BUCKET, "encryption"),
        ("reports", "s3-bucket", BUCKET, "kms-key"),
        ("reports", "s3-bucket", BUCKET, "public-access-block"),
        ("triage", "log-group", "/maas/maas-dev/agents/triage", "retention"),
        ("research", "log-group", "/maas/maas-dev/agents/research", "exists"),
        ("platform", "sns-topic", "maas-dev-tickets", "kms-key"),
        ("platform", "sns-topic", "maas-dev-findings", "tags"),
        ("research", "rds-cluster", "maas-dev-research", "tags"),
        ("research", "rds-cluster", "maas-dev-research", "backup-retention"),
    }
    findings = {(f["resource"], f["check"]): f for group in report["agents"].values() for f in group["findings"]}
    assert findings[(BUCKET, "public-access-block")]["actual"] == "BlockPublicPolicy off"
    assert findings[(BUCKET, "kms-key")]["expected"] == "alias/maas-dev-reports"
    assert findings[("/maas/maas-dev/agents/triage", "retention")]["actual"] == "90 days"
    assert findings[("maas-dev-research", "backup-retention")]["actual"] == "1 day"
    assert report["agents"]["platform"]["drift"] == 2 and report["agents"]["reports"]["drift"] == 3
    for text in (BUCKET, "/maas/maas-dev/agents/triage", "maas-dev-tickets", "maas-dev-research", "team missing",
                 "cost-center missing", "research", "triage", "reports"):
        assert text in result.output, text


def _set(plan: dict, type_token: str, name: str, change: Callable[[dict], None]) -> None:
    change(next(r["inputs"] for r in plan["resources"] if r["type"] == type_token and r["inputs"].get("name") == name))


def _set_key(plan: dict, logical: str, change: Callable[[dict], None]) -> None:
    """Keys have no physical name: found by their logical name."""
    change(next(r["inputs"] for r in plan["resources"] if r["type"] == "aws:kms/key:Key" and r["name"] == logical))


def _set_by(plan: dict, type_token: str, field: str, name: str, change: Callable[[dict], None]) -> None:
    """Resources named by another input: a bucket (and its config resources) by ``bucket``, a database
    cluster by ``clusterIdentifier``."""
    change(next(r["inputs"] for r in plan["resources"] if r["type"] == type_token and r["inputs"].get(field) == name))


def _key_arn_of(plan: dict, alias: str) -> str:
    """The plan's (fake) ARN of the key an alias names."""
    target = next(r["inputs"]["targetKeyId"] for r in plan["resources"]
                  if r["type"] == "aws:kms/alias:Alias" and r["inputs"]["name"] == alias)
    return f"arn:aws:kms:{REGION}:123456789012:key/{target}"


DEPLOYED_DIFFERENTLY = {
    # what was deployed differs from the plan in one setting -> the finding it must give
    "table without point-in-time recovery": (
        lambda p: _set(p, "aws:dynamodb/table:Table", "maas-dev-triage",
                       lambda i: i.update(pointInTimeRecovery={"enabled": False})),
        {("triage", "dynamodb-table", "maas-dev-triage", "point-in-time-recovery")},
    ),
    "table under another agent's key": (
        lambda p: _set(p, "aws:dynamodb/table:Table", "maas-dev-triage",
                       lambda i: i["serverSideEncryption"].update(kmsKeyArn=_key_arn_of(p, "alias/maas-dev-research"))),
        {("triage", "dynamodb-table", "maas-dev-triage", "kms-key")},
    ),
    "queue under another agent's key": (
        lambda p: _set(p, "aws:sqs/queue:Queue", "maas-dev-reports-inbox",
                       lambda i: i.update(kmsMasterKeyId=_key_arn_of(p, "alias/maas-dev-triage"))),
        {("reports", "sqs-queue", "maas-dev-reports-inbox", "kms-key")},
    ),
    "inbox without a dead-letter queue": (
        lambda p: _set(p, "aws:sqs/queue:Queue", "maas-dev-triage-inbox", lambda i: i.pop("redrivePolicy")),
        {("triage", "sqs-queue", "maas-dev-triage-inbox", "dead-letter-queue")},
    ),
    "secret under the platform's key": (
        lambda p: _set(p, "aws:secretsmanager/secret:Secret", "maas-dev/agents/research/llm-gateway-key",
                       lambda i: i.update(kmsKeyId=_key_arn_of(p, "alias/maas-dev-observability"))),
        {("research", "secret", "maas-dev/agents/research/llm-gateway-key", "kms-key")},
    ),
    "key without rotation, missing a tag": (
        lambda p: _set_key(p, "maas-dev-agent-reports-key", lambda i: i.update(
            enableKeyRotation=False, tags={k: v for k, v in i["tags"].items() if k != "team"})),
        {("reports", "kms-key", "alias/maas-dev-reports", "rotation"),
         ("reports", "kms-key", "alias/maas-dev-reports", "tags")},
    ),
    "budget with a lower limit and one notification less": (
        lambda p: _set(p, "aws:budgets/budget:Budget", "maas-dev-team-support",
                       lambda i: i.update(limitAmount="50.00", notifications=i["notifications"][:2])),
        {("platform", "budget", "maas-dev-team-support", "limit"),
         ("platform", "budget", "maas-dev-team-support", "notifications")},
    ),
    "cluster with a public endpoint, less logging, secrets under another key": (
        lambda p: _set(p, "aws:eks/cluster:Cluster", "maas-dev", lambda i: (
            i["vpcConfig"].update(endpointPublicAccess=True),
            i.update(enabledClusterLogTypes=["api"]),
            i["encryptionConfig"]["provider"].update(keyArn=_key_arn_of(p, "alias/maas-dev-logs")))),
        {("platform", "eks-cluster", "maas-dev", "endpoint-access"),
         ("platform", "eks-cluster", "maas-dev", "logging"),
         ("platform", "eks-cluster", "maas-dev", "secrets-encryption")},
    ),
    "bucket under another agent's key, versioning suspended, no public access block, a tag missing": (
        lambda p: (
            _set_by(p, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "bucket", BUCKET, lambda i: i["rules"][0]["applyServerSideEncryptionByDefault"].update(
                        kmsMasterKeyId=_key_arn_of(p, "alias/maas-dev-research"))),
            _set_by(p, "aws:s3/bucketVersioning:BucketVersioning", "bucket", BUCKET,
                    lambda i: i.update(versioningConfiguration={"status": "Suspended"})),
            p["resources"].remove(next(r for r in p["resources"]
                                       if r["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")),
            _set_by(p, "aws:s3/bucket:Bucket", "bucket", BUCKET, lambda i: i["tags"].pop("agent"))),
        {("reports", "s3-bucket", BUCKET, "kms-key"), ("reports", "s3-bucket", BUCKET, "versioning"),
         ("reports", "s3-bucket", BUCKET, "public-access-block"), ("reports", "s3-bucket", BUCKET, "tags")},
    ),
    "log group under the EKS key kept a year, topic without a key": (
        lambda p: (
            _set(p, "aws:cloudwatch/logGroup:LogGroup", "/maas-dev/vpc-flow-logs", lambda i: i.update(
                kmsKeyId=_key_arn_of(p, "alias/maas-dev-eks"), retentionInDays=365)),
            _set(p, "aws:sns/topic:Topic", "maas-dev-alerts", lambda i: i.pop("kmsMasterKeyId"))),
        {("platform", "log-group", "/maas-dev/vpc-flow-logs", "kms-key"),
         ("platform", "log-group", "/maas-dev/vpc-flow-logs", "retention"),
         ("platform", "sns-topic", "maas-dev-alerts", "kms-key")},
    ),
    "database unencrypted, deletion-protected": (
        lambda p: _set_by(p, "aws:rds/cluster:Cluster", "clusterIdentifier", "maas-dev-research", lambda i: (
            i.update(storageEncrypted=False, deletionProtection=True), i.pop("kmsKeyId"))),
        {("research", "rds-cluster", "maas-dev-research", "storage-encrypted"),
         ("research", "rds-cluster", "maas-dev-research", "kms-key"),
         ("research", "rds-cluster", "maas-dev-research", "deletion-protection")},
    ),
}


@pytest.mark.parametrize("case", sorted(DEPLOYED_DIFFERENTLY))
def test_each_setting_deployed_differently_is_drift(case, endpoint, dev, plan_file, calls):
    mutate, expected = DEPLOYED_DIFFERENTLY[case]
    deployed = json.loads(dev.to_json())
    mutate(deployed)
    reset(endpoint)
    seed_from_plan(Plan.from_dict(deployed), boto3.Session(region_name=REGION), endpoint)
    report = verify_plan(dev, calls.session(REGION), REGION, endpoint)
    assert {(f.agent, f.kind, f.resource, f.check) for f in report.drift} == expected


def test_names_carrying_the_plan_account_are_found_under_the_live_account(account, endpoint, dev, calls):
    # maas plan runs against a fake cloud; a real deployment names its bucket after the real account.
    elsewhere = Plan.from_dict(json.loads(dev.to_json().replace(account.account, "210987654321")))
    assert any(r.inputs.get("bucket") == "maas-dev-reports-210987654321" for r in elsewhere.resources)
    report = verify_plan(elsewhere, calls.session(REGION), REGION, endpoint)
    assert not report.drift
    assert ("s3-bucket", BUCKET) in {(f.kind, f.resource) for f in report.findings}


# -- read-only, paginated, retried ------------------------------------------------------------


def test_only_read_operations_are_called_and_the_policy_grants_exactly_them(account, endpoint, dev, plan_file, calls):
    assert verify_cli("--plan", str(plan_file), "--endpoint-url", endpoint).exit_code == 0
    client(endpoint, "sqs").delete_queue(QueueUrl=account.queues["maas-dev-triage-dlq"])
    client(endpoint, "budgets").delete_budget(AccountId=account.account, BudgetName="maas-dev")
    assert verify_cli("--plan", str(plan_file), "--endpoint-url", endpoint).exit_code == 1
    verify_plan(dev, calls.session(REGION), REGION, endpoint, page_size=2)  # every list call over many pages

    operations = set(calls.operations)
    assert operations, "no call was recorded"
    assert all(name.startswith(("List", "Describe", "Get")) for _, name in operations), operations
    needed = {IAM_ACTION_OF.get(op, f"{op[0]}:{op[1]}") for op in operations}
    statements = json.loads(POLICY.read_text())["Statement"]
    granted = {action for s in statements if s["Effect"] == "Allow" for action in s["Action"]}
    assert granted == needed
    assert all(action.split(":")[1].startswith(("List", "Describe", "Get", "View")) for action in granted)
    # Metadata only: no secret value, no key use, no message, item, object, log event or row is readable with it.
    assert not granted & {"secretsmanager:GetSecretValue", "kms:Decrypt", "sqs:ReceiveMessage", "dynamodb:GetItem",
                          "dynamodb:Query", "dynamodb:Scan", "s3:GetObject", "s3:ListBucket", "logs:GetLogEvents",
                          "logs:FilterLogEvents", "rds-db:connect", "rds-data:ExecuteStatement"}


def test_a_mutating_call_is_refused_before_it_is_sent(account, endpoint):
    session = boto3.Session(region_name=REGION)
    sent: list[str] = []
    session.events.register("before-send", lambda request, **_: sent.append(request.url))
    live = Account(session, region=REGION, endpoint_url=endpoint)
    with pytest.raises(ReadOnlyViolation, match="sqs:DeleteQueue"):
        live.client("sqs").delete_queue(QueueUrl=account.queues["maas-dev-triage-dlq"])
    assert sent == []
    assert "maas-dev-triage-dlq" in str(client(endpoint, "sqs").list_queues()["QueueUrls"])


def test_every_list_call_follows_its_pages(account, endpoint, dev, calls):
    report = verify_plan(dev, calls.session(REGION), REGION, endpoint, page_size=2)
    assert not report.drift
    # dev has 8 queues (the agents' and the broker's, Karpenter's interruption queue and its DLQ) and
    # 9 secrets (4 of its own, 5 of the LLM gateway): at 2 a page, every one is found only by following the pages.
    # (moto answers ListAliases and DescribeBudgets in one page whatever the page size.)
    assert {(f.kind, f.resource) for f in report.findings} == planned(dev)
    assert calls.count("ListQueues") == 4
    assert calls.count("ListSecrets") == 5
    # Log groups are listed per path: the 4 under /maas/maas-dev/agents/ over 2 pages, every other
    # path's (the cluster's, the flow logs', the research agent's database logs', Bedrock's invocation
    # logs', ...) one page each.
    paths = Counter(g.inputs["name"].rsplit("/", 1)[0] for g in dev.of_type("aws:cloudwatch/logGroup:LogGroup"))
    assert paths["/maas/maas-dev/agents"] == 4 and "/aws/bedrock/maas-dev" in paths
    assert calls.count("DescribeLogGroups") == sum(-(-count // 2) for count in paths.values())


def _answer(status: int, error: str, message: str) -> Callable[..., AWSResponse]:
    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield json.dumps({"__type": error, "message": message}).encode()

    def respond(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.1"}, Raw())
    return respond


def test_throttled_calls_are_retried_with_backoff(account, endpoint, plan_file, calls):
    throttled, sent = {"left": 2}, []
    throttle = _answer(400, "ThrottlingException", "Rate exceeded")

    def sometimes(request: Any, **kwargs: Any) -> Any:
        sent.append(request.url)
        if throttled["left"]:
            throttled["left"] -= 1
            return throttle(request, **kwargs)
        return None

    calls.hooks.append(("before-send.kms.DescribeKey", sometimes))
    result = verify_cli("--plan", str(plan_file), "--endpoint-url", endpoint)
    assert result.exit_code == 0, result.output
    assert throttled["left"] == 0
    assert calls.count("DescribeKey") == len(account.keys)
    assert len(sent) == len(account.keys) + 2  # each throttled request was sent again


# -- usage and credential errors: exit 2, one line --------------------------------------------


def _one_line_error(result: Any) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_no_credentials_exit_2(plan_file, endpoint, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    line = _one_line_error(maas("verify", "--plan", str(plan_file), "--endpoint-url", endpoint))
    assert "credentials" in line


def test_unreachable_endpoint_exit_2_quickly(plan_file):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    line = _one_line_error(maas("verify", "--plan", str(plan_file), "--endpoint-url", f"http://127.0.0.1:{port}"))
    assert f"127.0.0.1:{port}" in line
    assert time.perf_counter() - started < 60


def test_access_denied_names_the_action_and_the_policy(account, endpoint, plan_file, calls):
    calls.hooks.append(("before-send.kms.ListAliases", _answer(400, "AccessDeniedException", "not authorized")))
    result = verify_cli("--plan", str(plan_file), "--endpoint-url", endpoint)
    assert result.exit_code == 2
    assert "kms:ListAliases" in result.output and "docs/verify-iam-policy.json" in result.output


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId", "UnrecognizedClientException"])
def test_rejected_credentials_are_a_verify_error(code):
    from botocore.exceptions import ClientError

    error = classify(ClientError({"Error": {"Code": code, "Message": "m"}}, "GetCallerIdentity"),
                     "sts:GetCallerIdentity", None)
    assert isinstance(error, VerifyError) and code in str(error) and "\n" not in str(error)


def test_usage_errors_exit_2(tmp_path):
    _one_line_error(maas("verify", "--stack", "nope"))
    _one_line_error(maas("verify", "--plan", str(tmp_path / "missing.json")))
    (tmp_path / "bad.json").write_text("{}")
    _one_line_error(maas("verify", "--plan", str(tmp_path / "bad.json")))
    (tmp_path / "no-urn.json").write_text(json.dumps({"resources": [{"type": "aws:sqs/queue:Queue"}]}))
    _one_line_error(maas("verify", "--plan", str(tmp_path / "no-urn.json")))


def test_resources_below_an_agent_part_are_checked_as_the_agent_s():
    """An agent's parts are components of their own: what sits below them is still the agent's,
    even without an ``agent`` tag of its own."""
    from maas_platform.verify.expect import expectations

    agent = "urn:pulumi:dev::maas::maas:agent:AgentService::maas-dev-agent-triage"
    part = "urn:pulumi:dev::maas::maas:agent:AgentService$maas:agent:AgentInbox::maas-dev-agent-triage-inbox"

    def queue(name: str, tags: dict) -> dict:
        return {"urn": f"{part}$aws:sqs/queue:Queue::{name}", "type": "aws:sqs/queue:Queue", "name": name,
                "parent": part, "custom": True, "inputs": {"name": name, "tags": tags}}

    plan = Plan.from_dict({"project": "maas", "stack": "dev", "outputs": {}, "resources": [
        {"urn": agent, "type": "maas:agent:AgentService", "name": "maas-dev-agent-triage", "custom": False},
        {"urn": part, "type": "maas:agent:AgentInbox", "name": "maas-dev-agent-triage-inbox", "parent": agent,
         "custom": False},
        queue("triage-inbox", {"agent": "triage", "team": "support"}),
        queue("triage-untagged", {}),
    ]})
    owners = {item.name: item.agent for item in expectations(plan).items}
    assert owners == {"triage-inbox": "triage", "triage-untagged": "triage"}


# -- the Bedrock hard stop: budget actions ----------------------------------------------------
#
# moto 5.2.5 implements budgets but not budget actions (moto/budgets/responses.py has no
# *budget_action* handler; its server answers DescribeBudgetActionsForBudget with an HTML 500).
# The check is exercised on a real budgets client through botocore's Stubber, which validates
# every request and response against botocore's service model; against moto it must say the
# action could not be read.

ACCOUNT = "123456789012"  # the dev plan's (fake cloud) account, as the stubbed account's
STOP = bedrock_budget_name("maas-dev", "research")  # the research agent's Bedrock budget, which carries the action
STOP_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/{stop_policy_name('maas-dev', 'research')}"
STOP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{stop_role_name('maas-dev', 'research')}"


def _stop_action(**changes: Any) -> dict[str, Any]:
    """The action as DescribeBudgetActionsForBudget answers it for a deployment of the dev plan."""
    action = {
        "ActionId": "0b5e3e1c-2f4a-4d7e-9c1b-5a6f7e8d9c0a",
        "BudgetName": STOP,
        "NotificationType": "ACTUAL",
        "ActionType": "APPLY_IAM_POLICY",
        "ActionThreshold": {"ActionThresholdValue": 100.0, "ActionThresholdType": "PERCENTAGE"},
        "Definition": {"IamActionDefinition": {
            "PolicyArn": STOP_POLICY,
            "Roles": ["maas-dev-agent-research"]}},
        "ExecutionRoleArn": STOP_ROLE,
        "ApprovalModel": "AUTOMATIC",
        "Status": "STANDBY",
        "Subscribers": [{"SubscriptionType": "SNS", "Address": f"arn:aws:sns:{REGION}:{ACCOUNT}:maas-dev-alerts"}],
    }
    action.update(changes)
    return action


@pytest.fixture
def stop(dev: Plan) -> Expected:
    """The dev plan's budget action: the research agent's Bedrock stop."""
    found = [item for item in expectations(dev, ACCOUNT).items if item.kind == "budget-action"]
    assert [(item.agent, item.name) for item in found] == [("research", STOP)]
    return found[0]


@pytest.fixture
def budgets_stub() -> Iterator[tuple[Account, Stubber]]:
    """An account whose budgets client answers from a Stubber (no request leaves the process)."""
    live = Account(boto3.Session(region_name=REGION), region=REGION)
    live.account_id = ACCOUNT
    with Stubber(live.client("budgets")) as stub:
        yield live, stub
        stub.assert_no_pending_responses()


def _actions_page(actions: list[dict[str, Any]], next_token: str = "", sent_token: str = "") -> tuple[dict, dict]:
    response: dict[str, Any] = {"Actions": actions}
    if next_token:
        response["NextToken"] = next_token
    params = {"AccountId": ACCOUNT, "BudgetName": STOP}
    if sent_token:
        params["NextToken"] = sent_token
    return response, params


def test_budget_action_as_planned_holds_read_over_its_pages(stop, budgets_stub):
    live, stub = budgets_stub
    # Another action on the same budget on the first page; the planned one on the second.
    other = _stop_action(ActionId="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", ActionType="RUN_SSM_DOCUMENTS",
                         Definition={"SsmActionDefinition": {"ActionSubType": "STOP_EC2_INSTANCES",
                                                             "Region": REGION, "InstanceIds": ["i-0abc"]}})
    stub.add_response("describe_budget_actions_for_budget", *_actions_page([other], next_token="page-2"))
    stub.add_response("describe_budget_actions_for_budget", *_actions_page([_stop_action()], sent_token="page-2"))
    findings = check_budget_action(stop, live)
    assert {f.check: f.status for f in findings} == {
        "exists": OK, "action-type": OK, "approval-model": OK, "threshold": OK, "notification-type": OK,
        "policy": OK, "targets": OK, "execution-role": OK, "subscribers": OK,
    }
    assert {f.agent for f in findings} == {"research"} and {f.resource for f in findings} == {STOP}
    shown = {f.check: f.expected for f in findings}
    assert shown["threshold"] == "100%" and shown["targets"] == "roles: maas-dev-agent-research"


STOP_DEPLOYED_DIFFERENTLY = {
    # the live action differs from the plan in one way -> the checks that are drift
    "no action on the budget": ([], {"exists"}),
    "stop at 80 %": ([_stop_action(ActionThreshold={"ActionThresholdValue": 80.0,
                                                    "ActionThresholdType": "PERCENTAGE"})], {"threshold"}),
    "deny attached to another role": (
        [_stop_action(Definition={"IamActionDefinition": {
            "PolicyArn": STOP_POLICY,
            "Roles": ["maas-dev-agent-triage"]}})], {"targets"}),
    "waits for approval": ([_stop_action(ApprovalModel="MANUAL")], {"approval-model"}),
    "attaches another policy": (
        [_stop_action(Definition={"IamActionDefinition": {
            "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "Roles": ["maas-dev-agent-research"]}})],
        {"policy"}),
    "runs as another role": ([_stop_action(ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/someone-else")],
                             {"execution-role"}),
    "fires on the forecast": ([_stop_action(NotificationType="FORECASTED")], {"notification-type"}),
}


@pytest.mark.parametrize("case", sorted(STOP_DEPLOYED_DIFFERENTLY))
def test_each_budget_action_difference_is_drift(case, stop, budgets_stub):
    live, stub = budgets_stub
    actions, expected = STOP_DEPLOYED_DIFFERENTLY[case]
    stub.add_response("describe_budget_actions_for_budget", *_actions_page(actions))
    findings = check_budget_action(stop, live)
    assert {f.check for f in findings if f.status == DRIFT} == expected
    assert all(f.status == OK for f in findings if f.check not in expected)


def test_budget_action_of_a_missing_budget_is_missing(stop, budgets_stub):
    live, stub = budgets_stub
    stub.add_client_error("describe_budget_actions_for_budget", service_error_code="NotFoundException",
                          service_message=f"Unable to get budget: {STOP} - the budget doesn't exist.",
                          http_status_code=400, expected_params={"AccountId": ACCOUNT, "BudgetName": STOP})
    assert [(f.check, f.status, f.actual) for f in check_budget_action(stop, live)] == [("exists", DRIFT, "not found")]


def test_budget_action_unreadable_on_moto_is_skipped_not_passed(account, endpoint, dev, calls):
    sent: list[str] = []
    calls.hooks.append(("before-send.budgets.DescribeBudgetActionsForBudget", lambda request, **_: sent.append(1)))
    report = verify_plan(dev, calls.session(REGION), REGION, endpoint)
    assert not report.drift
    actions = [f for f in report.findings if f.kind == "budget-action"]
    assert [(f.agent, f.resource, f.check, f.status) for f in actions] == [("research", STOP, "exists", SKIPPED)]
    assert "budgets:DescribeBudgetActionsForBudget" in actions[0].actual and "could not be read" in actions[0].actual
    # Not retried as a transient fault: one request, and the report counts it as skipped.
    assert len(sent) == 1
    assert report.summary()["skipped"] >= 1
