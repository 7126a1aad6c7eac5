"""checkov's own AWS and Kubernetes checks over the offline plan's exports (docs/checkov.md).

The mapping to Terraform's plan JSON is tested without checkov; the end-to-end tests run
``.venv-checkov/bin/checkov`` (its own virtualenv, installed by ``make test``) over the prod
exports with the repository's ``.checkov.yaml``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from conftest import ROOT, named
from maas_platform.plan import Plan, PlannedResource, plan_project
from maas_platform.plan.catalog import write_catalog_stack
from maas_platform.plan.engine import SECRET, UNKNOWN_VALUE
from maas_platform.plan.exports import write_exports
from maas_platform.plan.tfplan import args_class, convert, singular, terraform_plan, terraform_type
from maas_platform.policy.catalog import rule_ids
from maas_platform.policy.reference import CHECKOV_MAP, CheckovCheck, checkov_checks, render

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = ROOT / ".checkov.yaml"
SKIPS = ROOT / "policies" / "checkov-skips.yaml"
QUEUE = "aws:sqs/queue:Queue"


# -- type tokens and property names ------------------------------------------------------------

@pytest.mark.parametrize("token, expected", [
    ("aws:sqs/queue:Queue", "aws_sqs_queue"),
    ("aws:eks/nodeGroup:NodeGroup", "aws_eks_node_group"),
    ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
    ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
     "aws_s3_bucket_server_side_encryption_configuration"),
    ("aws:rds/clusterParameterGroup:ClusterParameterGroup", "aws_rds_cluster_parameter_group"),
    ("aws:ec2/vpc:Vpc", "aws_vpc"),  # EC2's Terraform types carry no service prefix
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "aws_vpc_endpoint"),
    ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws_default_security_group"),
    ("aws:rds/subnetGroup:SubnetGroup", "aws_db_subnet_group"),  # exceptions
    ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "aws_sqs_queue_redrive_allow_policy"),
    ("aws:costexplorer/costAllocationTag:CostAllocationTag", "aws_ce_cost_allocation_tag"),
    ("aws:s3/bucketV2:BucketV2", "aws_s3_bucket"),
    ("aws:ec2/tag:Tag", "aws_ec2_tag"),
    ("aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration",
     "aws_bedrock_model_invocation_logging_configuration"),
    ("aws:bedrock/inferenceProfile:InferenceProfile", "aws_bedrock_inference_profile"),
    ("aws:budgets/budgetAction:BudgetAction", "aws_budgets_budget_action"),
    ("kubernetes:apps/v1:Deployment", None),
    ("random:index/randomPassword:RandomPassword", None),
])
def test_type_tokens_map_to_terraform_resource_types(token, expected):
    assert terraform_type(token) == expected


def test_every_aws_type_of_the_plans_is_a_type_checkov_knows(plans):
    from_checkov = _checkov_resource_types()
    ours = {terraform_type(r.type) for plan in plans.values() for r in plan.cloud_resources()} - {None}
    # Types no checkov check reads cannot be told from a typo: they must be in this known list.
    without_checks = {"aws_ce_cost_allocation_tag", "aws_eks_access_policy_association", "aws_eks_addon",
                      "aws_eks_access_entry", "aws_eks_pod_identity_association", "aws_internet_gateway",
                      "aws_kms_alias", "aws_nat_gateway", "aws_route_table_association",
                      "aws_s3_bucket_versioning", "aws_secretsmanager_secret_version", "aws_sns_topic_subscription",
                      "aws_sqs_queue_redrive_allow_policy", "aws_db_subnet_group", "aws_iam_role_policy_attachment",
                      "aws_rds_cluster_parameter_group", "aws_s3_bucket_server_side_encryption_configuration",
                      "aws_secretsmanager_secret_policy", "aws_flow_log", "aws_vpc_endpoint",
                      "aws_budgets_budget", "aws_default_security_group", "aws_route_table", "aws_eip",
                      "aws_iam_openid_connect_provider", "aws_ec2_tag"}
    unknown = ours - from_checkov - without_checks
    assert not unknown, f"mapped to types checkov has no check or graph rule for: {sorted(unknown)}"


@pytest.mark.parametrize("plural, terraform", [
    ("rules", "rule"), ("attributes", "attribute"), ("notifications", "notification"),
    ("metric_queries", "metric_query"), ("global_secondary_indexes", "global_secondary_index"),
    ("ingress", "ingress"), ("egress", "egress"), ("block_device_mappings", "block_device_mappings"),
])
def test_repeated_blocks_take_terraform_singular_names(plural, terraform):
    assert singular(plural) == terraform


def test_properties_are_snake_case_and_flattened_blocks_become_lists():
    inputs = {
        "name": "maas-dev", "enabledClusterLogTypes": ["api", "audit"],
        "vpcConfig": {"endpointPublicAccess": False, "subnetIds": ["subnet-1"]},
        "encryptionConfig": {"provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}, "resources": ["secrets"]},
        "tags": {"team": "a", "kubernetes.io/cluster/maas-dev": "shared"},
    }
    values = convert("aws_eks_cluster", inputs, args_class("aws:eks/cluster:Cluster"), {}).values
    assert values["enabled_cluster_log_types"] == ["api", "audit"]
    assert values["vpc_config"] == [{"endpoint_public_access": False, "subnet_ids": ["subnet-1"]}]
    assert values["encryption_config"] == [{"provider": [{"key_arn": "arn:aws:kms:us-east-1:1:key/k"}],
                                            "resources": ["secrets"]}]
    assert values["tags"] == inputs["tags"]  # a map keeps its keys and stays an object


def test_lists_of_blocks_are_singular_and_maps_inside_blocks_stay_maps():
    budget = convert("aws_budgets_budget", {
        "costFilters": [{"name": "TagKeyValue", "values": ["user:team$a"]}],
        "notifications": [{"threshold": 80, "subscriberSnsTopicArns": ["arn:aws:sns:us-east-1:1:t"]}],
    }, args_class("aws:budgets/budget:Budget"), {}).values
    assert budget == {"cost_filter": [{"name": "TagKeyValue", "values": ["user:team$a"]}],
                      "notification": [{"threshold": 80, "subscriber_sns_topic_arns": ["arn:aws:sns:us-east-1:1:t"]}]}
    template = convert("aws_launch_template", {"tagSpecifications": [{"resourceType": "instance", "tags": {"Name": "n"}}]},
                       args_class("aws:ec2/launchTemplate:LaunchTemplate"), {}).values
    assert template == {"tag_specifications": [{"resource_type": "instance", "tags": {"Name": "n"}}]}


def test_renamed_properties_take_their_terraform_names():
    alarm = convert("aws_cloudwatch_metric_alarm", {"name": "dlq-not-empty"},
                    args_class("aws:cloudwatch/metricAlarm:MetricAlarm"), {}).values
    subscription = convert("aws_sns_topic_subscription", {"topic": "arn:aws:sns:us-east-1:1:t"},
                           args_class("aws:sns/topicSubscription:TopicSubscription"), {}).values
    assert alarm == {"alarm_name": "dlq-not-empty"} and subscription == {"topic_arn": "arn:aws:sns:us-east-1:1:t"}


def test_unknown_and_secret_values_are_unknown_not_fake():
    converted = convert("aws_secretsmanager_secret_version", {"secretId": "s", "secretString": SECRET},
                        args_class("aws:secretsmanager/secretVersion:SecretVersion"), {})
    assert converted.values == {"secret_id": "s"}
    assert converted.unknown == {"secret_string": True} and converted.sensitive == {"secret_string": True}
    queue = convert("aws_sqs_queue", {"kmsMasterKeyId": UNKNOWN_VALUE}, args_class(QUEUE), {})
    assert "kms_master_key_id" not in queue.values and queue.unknown == {"kms_master_key_id": True}


def test_cloud_assigned_values_become_references_in_the_configuration(dev):
    document = terraform_plan(dev)
    queue = named(dev, QUEUE, "maas-dev-agent-triage-inbox")
    address = f"aws_sqs_queue.{queue['name']}"
    (planned,) = [r for r in document["planned_values"]["root_module"]["resources"] if r["address"] == address]
    (configured,) = [r for r in document["configuration"]["root_module"]["resources"] if r["address"] == address]
    (change,) = [r for r in document["resource_changes"] if r["address"] == address]
    # The key's ARN exists only once the key is created: unknown in the plan, a reference in
    # the configuration, as terraform plan shows a new stack.
    assert "kms_master_key_id" not in planned["values"]
    assert change["change"]["after_unknown"]["kms_master_key_id"] is True
    assert configured["expressions"]["kms_master_key_id"]["references"] == [
        "aws_kms_key.maas-dev-agent-triage-key.arn", "aws_kms_key.maas-dev-agent-triage-key"]
    # A policy document keeps its content, so IAM checks read the real statements.
    policies = [r for r in document["planned_values"]["root_module"]["resources"] if r["type"] == "aws_sqs_queue_policy"]
    assert policies and all(json.loads(r["values"]["policy"])["Statement"] for r in policies)


def test_a_resource_named_like_its_neighbours_refers_to_each_by_type(dev):
    """An Aurora cluster, its subnet group and its parameter group share one name."""
    document = terraform_plan(dev)
    (cluster,) = [r for r in document["configuration"]["root_module"]["resources"] if r["type"] == "aws_rds_cluster"]
    expressions = cluster["expressions"]
    assert expressions["db_subnet_group_name"]["references"][1].startswith("aws_db_subnet_group.")
    assert expressions["db_cluster_parameter_group_name"]["references"][1].startswith("aws_rds_cluster_parameter_group.")
    assert "cluster_identifier" not in expressions


def test_the_export_is_byte_identical_for_the_same_config(dev):
    assert json.dumps(terraform_plan(dev)) == json.dumps(terraform_plan(plan_project(ROOT, stack="dev")))


# -- the skip list -------------------------------------------------------------------------------

def _skips() -> list[dict[str, Any]]:
    return yaml.safe_load(SKIPS.read_text())["skips"]


def test_every_skip_has_a_reason_and_resources_and_both_lists_agree():
    skipped = yaml.safe_load(CONFIG.read_text())["skip-check"]
    assert sorted(skipped) == sorted(s["id"] for s in _skips())
    for skip in _skips():
        assert len(str(skip.get("reason") or "").split()) >= 10, f"{skip['id']}: state why it is skipped"
        assert skip.get("resources"), f"{skip['id']}: name the resources it may fail on"
    commented = [line for line in CONFIG.read_text().splitlines() if line.strip().startswith("- CKV")]
    assert all("#" in line for line in commented), "each skipped id in .checkov.yaml carries its reason"


# -- end to end ------------------------------------------------------------------------------------

def _checkov_bin() -> Path:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make test` installs checkov into .venv-checkov from tools/checkov.txt")
    return CHECKOV


def _checkov_resource_types() -> set[str]:
    """Resource types checkov's checks and graph rules name, as checkov itself lists them."""
    script = (
        "import json\n"
        "from checkov.terraform.checks.resource.registry import resource_registry\n"
        "from checkov.common.checks_infra.registry import get_graph_checks_registry\n"
        "types = set(resource_registry.checks)\n"
        "registry = get_graph_checks_registry('terraform'); registry.load_checks()\n"
        "for check in registry.checks: types |= set(check.resource_types)\n"
        "print(json.dumps(sorted(types)))\n"
    )
    python = _checkov_bin().parent / "python"
    result = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True,
                            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def run_checkov(out: Path, config: Path = CONFIG) -> dict[str, dict[str, Any]]:
    """checkov over ``out/tfplan.json`` and ``out/manifests``: its JSON report by framework."""
    command = [str(_checkov_bin()), "--config-file", str(config), "-f", str(out / "tfplan.json"),
               "-d", str(out / "manifests"), "-o", "json"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=out,
                            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return {r["check_type"]: r for r in reports if "check_type" in r}


def failures(reports: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((f["check_id"], f["resource"]) for r in reports.values() for f in r["results"]["failed_checks"])


def passed_ids(reports: dict[str, dict[str, Any]], framework: str) -> set[str]:
    return {p["check_id"] for p in reports[framework]["results"]["passed_checks"]}


@pytest.fixture(scope="module")
def prod_export(prod, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("checkov-prod")
    write_exports(prod, out)
    return out


@pytest.fixture(scope="module")
def prod_agents_export(tmp_path_factory) -> Path:
    """prod with one agent of every storage kind, wired over dev's topics: the agents'
    resources (datastores, inboxes, subscriptions, workloads) under prod's defaults."""
    folder = tmp_path_factory.mktemp("prod-agents")
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    config["config"]["maas:broker"] = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["maas:broker"]
    base = folder / "base.yaml"
    base.write_text(yaml.safe_dump(config))
    stack = write_catalog_stack(base, folder / "Pulumi.prod.yaml", 4)
    out = tmp_path_factory.mktemp("checkov-prod-agents")
    write_exports(plan_project(ROOT, config_file=stack), out)
    return out


@pytest.fixture(scope="module")
def unskipped_config(tmp_path_factory) -> Path:
    config = yaml.safe_load(CONFIG.read_text())
    config.pop("skip-check")
    path = tmp_path_factory.mktemp("checkov-config") / "unskipped.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_checkov_passes_the_prod_export_outside_the_documented_skips(prod_export):
    started = time.monotonic()
    reports = run_checkov(prod_export)
    elapsed = time.monotonic() - started
    assert failures(reports) == []
    summary = reports["terraform_plan"]["summary"]
    # The real properties were evaluated: a shape checkov cannot read makes checks silently
    # not apply, and these counts drop.
    assert summary["passed"] > 200 and summary["resource_count"] > 100, summary
    assert not set(passed_ids(reports, "terraform_plan")) & set(yaml.safe_load(CONFIG.read_text())["skip-check"])
    assert {
        "CKV_AWS_58", "CKV_AWS_39", "CKV_AWS_37",  # EKS: secrets encrypted, private endpoint, control-plane logs
        "CKV_AWS_7", "CKV2_AWS_64",                # KMS: rotation, key policy
        "CKV2_AWS_11", "CKV2_AWS_12",              # VPC flow logs and the closed default group (graph checks)
        "CKV_AWS_158", "CKV_AWS_79", "CKV_AWS_26",  # log group KMS, IMDSv2, SNS KMS
    } <= passed_ids(reports, "terraform_plan")
    print(f"checkov took {elapsed:.1f}s")  # reported, not asserted: timing belongs to benchmarks


def test_checkov_passes_prod_agents_outside_the_documented_skips(prod_agents_export):
    reports = run_checkov(prod_agents_export)
    assert failures(reports) == []
    assert {
        "CKV_AWS_27",                               # SQS queues encrypted with KMS (a reference to the key)
        "CKV2_AWS_6", "CKV_AWS_145",                # the bucket's public access block and KMS (separate resources)
        "CKV_AWS_119", "CKV_AWS_28",                # DynamoDB: customer key, point-in-time recovery
        "CKV_AWS_96", "CKV2_AWS_27", "CKV_AWS_353",  # Aurora: encrypted, query logging, Performance Insights
        "CKV_AWS_149",                              # secrets with a customer key
    } <= passed_ids(reports, "terraform_plan")
    kubernetes = reports["kubernetes"]["summary"]
    assert kubernetes["passed"] > 200, kubernetes
    assert {"CKV_K8S_15", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_28"} <= passed_ids(reports, "kubernetes")


def test_every_skip_is_still_needed_and_fails_only_where_documented(prod_export, prod_agents_export, unskipped_config):
    found = failures(run_checkov(prod_export, unskipped_config)) + failures(run_checkov(prod_agents_export, unskipped_config))
    skips = {s["id"]: s["resources"] for s in _skips()}
    for check_id, patterns in skips.items():
        where = {resource for failed, resource in found if failed == check_id}
        assert where, f"{check_id} no longer fails without its skip: remove it from .checkov.yaml and {SKIPS.name}"
        stray = sorted(r for r in where if not any(fnmatch.fnmatchcase(r, p) for p in patterns))
        assert not stray, f"{check_id} also fails on {stray}, which its skip does not cover: fix them"
    assert {check_id for check_id, _ in found} <= set(skips)


def test_checkov_fails_a_queue_without_a_key(tmp_path):
    """The pipe can fail: a plan with a queue that has no KMS key fails checkov's SQS check."""
    queue = {"urn": "urn:pulumi:t::maas::aws:sqs/queue:Queue::plain", "type": QUEUE, "name": "plain",
             "parent": None, "custom": True, "provider": None, "protect": False, "dependencies": [],
             "inputs": {"name": "plain", "messageRetentionSeconds": 345600, "sqsManagedSseEnabled": False}}
    write_exports(Plan(project="maas", stack="t", resources=[PlannedResource.from_dict(queue)], outputs={}), tmp_path)
    reports = run_checkov(tmp_path)
    assert ("CKV_AWS_27", "aws_sqs_queue.plain") in failures(reports)


# -- checkov's checks and ours (policies/checkov-map.yaml) ------------------------------------------

INSECURE = ROOT / "tests" / "fixtures" / "insecure"


@dataclass(frozen=True)
class Example:
    """An insecure example planned and exported: its checkov ids -> URNs, the URNs each resource
    is linked to, and the rules that fired on each URN."""

    name: str
    plan: Plan
    judged: bool  # False for corpus cases whose rule has not landed (xfail): checkov may know better

    def urns(self) -> dict[str, str]:
        """checkov's resource id (a Terraform address, ``Kind.namespace.name``) -> URN."""
        found = {}
        aws = [r for r in self.plan.cloud_resources() if terraform_type(r.type)]
        planned = terraform_plan(self.plan)["planned_values"]["root_module"]["resources"]
        found.update({entry["address"]: r.urn for entry, r in zip(planned, aws)})
        for r in self.plan.cloud_resources():
            if r.type.startswith("kubernetes:") and isinstance(r.inputs.get("kind"), str):
                metadata = r.inputs.get("metadata") or {}
                found[f"{r.inputs['kind']}.{metadata.get('namespace') or 'default'}.{metadata.get('name')}"] = r.urn
        return found

    def linked(self, urn: str) -> set[str]:
        """``urn``, what it refers to, what refers to it, and the Namespace object it lives in."""
        resources = self.plan.cloud_resources()
        this = next(r for r in resources if r.urn == urn)
        namespace = (this.inputs.get("metadata") or {}).get("namespace") if isinstance(this.inputs, dict) else None
        return ({urn} | set(this.dependencies) | {r.urn for r in resources if urn in r.dependencies}
                | {r.urn for r in resources if r.inputs.get("kind") == "Namespace"
                   and (r.inputs.get("metadata") or {}).get("name") == namespace})

    def fired(self) -> dict[str, set[str]]:
        """URN -> the rules that reported it (exempted findings included: the rule fired)."""
        found: dict[str, set[str]] = {}
        for finding in [*self.plan.violations, *self.plan.exempted]:
            found.setdefault(finding["urn"], set()).add(finding["policy"])
        return found


def _corpus_programs(platform_outputs: Callable[[str], Path], folder: Path) -> list[Example]:
    """The insecure program cases of tests/policy-corpus, planned as test_policy_corpus plans them."""
    if not (ROOT / "tests" / "test_policy_corpus.py").exists():
        return []
    from test_policy_corpus import load_cases, team_project

    examples = []
    for case in load_cases():
        if case.kind != "program" or case.secure or case.expect_exit is not None:
            continue
        project = team_project(case, folder / case.path.stem)
        plan = plan_project(project, stack=case.environment, platform_outputs=platform_outputs(case.environment))
        examples.append(Example(f"corpus-{case.path.stem}", plan, judged=not case.xfail))
    return examples


@pytest.fixture(scope="module")
def insecure_examples(tmp_path_factory) -> list[Example]:
    folder = tmp_path_factory.mktemp("checkov-insecure")
    outputs: dict[str, Path] = {}

    def platform_outputs(environment: str) -> Path:
        if environment not in outputs:
            outputs[environment] = folder / f"platform-{environment}.json"
            outputs[environment].write_text(json.dumps(plan_project(ROOT, stack=environment).stack_outputs().values,
                                                       default=str))
        return outputs[environment]

    return [Example("insecure", plan_project(INSECURE, stack="prod"), judged=True),
            *_corpus_programs(platform_outputs, folder / "corpus")]


@pytest.fixture(scope="module")
def raised(insecure_examples, unskipped_config, tmp_path_factory) -> list[tuple[str, str, str]]:
    """(example, check id, checkov's resource id) of every check checkov fails on the insecure
    examples without the skips: one checkov run over all their exports, a folder each."""
    scan = tmp_path_factory.mktemp("checkov-insecure-scan")
    for example in insecure_examples:
        exports = tmp_path_factory.mktemp(f"exports-{example.name}")
        write_exports(example.plan, exports)
        (scan / example.name).mkdir()
        (scan / example.name / "tfplan.json").write_text((exports / "tfplan.json").read_text())
        if (exports / "manifests").is_dir():
            shutil.copytree(exports / "manifests", scan / example.name / "manifests")
    command = [str(_checkov_bin()), "--config-file", str(unskipped_config), "-d", ".", "-o", "json"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=scan, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return sorted((f["file_path"].strip("/").split("/")[0], f["check_id"], f["resource"])
                  for r in reports if "check_type" in r for f in r["results"]["failed_checks"])


def unmatched(examples: list[Example], raised: list[tuple[str, str, str]], checks: list[CheckovCheck]) -> list[str]:
    """Where checkov fails a mapped check and none of the check's rules fired on that resource or
    on one linked to it (a bucket's access block, a pod's namespace). A patch (``...Patch``) is
    left out: checkov judges the patch as a whole object, and what it leaves out is the target's,
    which neither checkov nor the plan holds; the rules judge it merged onto its target."""
    by_name = {example.name: example for example in examples}
    urns = {example.name: example.urns() for example in examples}
    fired_on = {example.name: example.fired() for example in examples}
    mapped = {check.id: set(check.rules) for check in checks if check.rules}
    environments = {check.id: check.environments for check in checks}
    missed = []
    for name, check_id, resource in raised:
        example = by_name[name]
        # The examples' stacks are named after their environment (the fixture's prod, the corpus's dev and prod).
        elsewhere = environments.get(check_id) and example.plan.stack not in environments[check_id]
        if check_id not in mapped or not example.judged or elsewhere:
            continue
        urn = urns[name].get(resource)
        if urn is not None and urn.split("::")[-2].endswith("Patch"):
            continue
        if urn is None:
            missed.append(f"{name}: {check_id} on {resource}, which no resource of the plan is")
            continue
        if not any(mapped[check_id] & fired_on[name].get(linked, set()) for linked in example.linked(urn)):
            missed.append(f"{name}: {check_id} fails {resource}; none of {sorted(mapped[check_id])} fired there")
    return missed


def test_the_checkov_map_names_real_rules_and_gives_reasons():
    checks = checkov_checks()
    ids = [check.id for check in checks]
    assert len(ids) == len(set(ids)), "a check is listed twice"
    known = rule_ids()
    for check in checks:
        assert re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check.id), check.id
        assert check.title, f"{check.id}: give checkov's title of the check"
        assert set(check.rules) <= known, f"{check.id}: {sorted(set(check.rules) - known)} are not rules of the catalog"
        for answer in (check.not_adopted, check.to_adopt):
            assert not answer or len(answer.split()) >= 12, f"{check.id}: say why, in a sentence or two"
    # The same reasons as the skip list: a check skipped for the platform's own plans is claimed
    # by a rule only where the rule applies in some environments (CKV_K8S_43: digests in prod).
    skipped = {s["id"] for s in _skips()}
    assert not [c.id for c in checks if c.id in skipped and c.rules and not c.environments]


def test_a_malformed_checkov_map_entry_is_refused(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("checks:\n  - id: CKV_AWS_7\n    title: rotation\n    rules: [MAAS-SEC-010]\n    not_adopted: both\n")
    with pytest.raises(ValueError, match="CKV_AWS_7.*exactly one"):
        checkov_checks(path)
    path.write_text("checks:\n  - id: CKV_AWS_7\n    title: rotation\n")
    with pytest.raises(ValueError, match="exactly one"):
        checkov_checks(path)


def test_policies_md_carries_the_checkov_table():
    checks = checkov_checks()
    text = render(checkov=checks)
    section = text.split("## checkov's checks and ours", 1)[1].split("\n## ", 1)[0]
    for check in checks:
        assert f"| {check.id} |" in section
    assert "[MAAS-SEC-010](#maas-sec-010)" in section and "Not adopted: " in section


def test_every_check_checkov_raises_on_the_insecure_examples_is_answered(raised):
    listed = {check.id for check in checkov_checks()}
    missing = sorted({check_id for _, check_id, _ in raised} - listed)
    assert raised and not missing, f"checkov fails {missing}: add each to {CHECKOV_MAP.name} (rules, not_adopted or to_adopt)"


def test_a_mapped_rule_fires_wherever_checkov_fails_its_check(insecure_examples, raised):
    assert not unmatched(insecure_examples, raised, checkov_checks())


def test_a_wrong_mapping_is_caught(insecure_examples, raised):
    """The proof can fail: rotation (CKV_AWS_7) claimed by the SQS encryption rule."""
    wrong = [CheckovCheck(id="CKV_AWS_7", title="rotation", rules=("MAAS-SEC-003",))]
    assert any("CKV_AWS_7 fails aws_kms_key.orders-key" in line for line in unmatched(insecure_examples, raised, wrong))
    right = [CheckovCheck(id="CKV_AWS_7", title="rotation", rules=("MAAS-SEC-010",))]
    assert not unmatched(insecure_examples, raised, right)
