"""Rules that pair resources pair them by reference, with or without physical names.

A bucket and its public access block, encryption and policy; a queue and its dead-letter queue,
queue policy or RedrivePolicy; a database and its parameter group; a VPC and its flow log,
default group and endpoints: the configuring resource names the other by an input, usually
computed from the other's outputs (``bucket=data.id``). A program that lets Pulumi name its
resources (the ordinary way) must pass as one that writes names out; a value known only
after apply is paired by the engine's record of what it was computed from
(``property_dependencies``); with neither, the pairing is not evaluable, never a pass or a
failure.

The programs are ``tests/fixtures/pairing`` (secure, auto-named), planned for real, with
explicit names and with one control broken at a time; and the same stack through the
CrossGuard pack, as ``pulumi preview`` sends it after deployment and before the first one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest
from pulumi.runtime.proto import analyzer_pb2 as proto

from conftest import ROOT
from maas_platform.plan import Plan, plan_project
from maas_platform.policy import Context, Resource, evaluate
from maas_platform.policy.aws.helpers import pairing, reference
from test_policy_pack import Analysis, _resource_fields, collector, configure, pack  # noqa: F401 (a fixture)

PAIRING = ROOT / "tests" / "fixtures" / "pairing"
DEV = Context.for_environment("dev")
U = "[unknown]"

BUCKET = "aws:s3/bucketV2:BucketV2"
BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE = "aws:sqs/redrivePolicy:RedrivePolicy"
CLUSTER = "aws:rds/cluster:Cluster"
GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"

SETTINGS = {k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"
DENY_HTTP = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::p::{type_}::{name}"


def made(type_: str, name: str, props: Optional[dict[str, Any]] = None, *, id: Optional[str] = None,
         outputs: Optional[dict[str, Any]] = None, deps: Optional[dict[str, list[str]]] = None) -> Resource:
    """A resource as the plan records it: inputs, the id and outputs the cloud answered, and the
    URNs each input was computed from."""
    return Resource(type=type_, name=name, props=props or {}, urn=urn(type_, name), parent=None, id=id,
                    outputs=outputs or {}, property_dependencies={k: tuple(v) for k, v in (deps or {}).items()})


def auto_bucket(name: str = "data") -> Resource:
    """A bucket Pulumi named: no ``bucket`` input, the generated name in its id and outputs."""
    physical = f"{name}-1a2b3c4"
    return made(BUCKET, name, id=physical, outputs={"bucket": physical, "arn": f"arn:aws:s3:::{physical}"})


def auto_queue(name: str, **props: Any) -> Resource:
    physical = f"{name}-5d6e7f8"
    url = f"https://sqs.eu-west-1.amazonaws.com/123456789012/{physical}"
    return made(QUEUE, name, props, id=url, outputs={"name": physical, "url": url,
                                                      "arn": f"arn:aws:sqs:eu-west-1:123456789012:{physical}"})


def mandatory(rule_id: str, resources: list[Resource], context: Context = DEV) -> list[str]:
    return [v["message"] for v in evaluate(resources, context, only=[rule_id]).violations]


def not_evaluable(rule_id: str, resources: list[Resource], context: Context = DEV) -> list[tuple[str, str]]:
    return [(e["urn"], e["property"]) for e in evaluate(resources, context, only=[rule_id]).not_evaluable]


# -- the pairing itself ----------------------------------------------------------------------------

def test_a_known_value_names_the_resource_whose_id_arn_url_or_generated_name_it_holds():
    bucket, queue = auto_bucket(), auto_queue("orders")
    assert pairing(made(BLOCK, "b", {"bucket": bucket.id}), "bucket", bucket) is True
    assert pairing(made(BLOCK, "b", {"bucket": "another-bucket"}), "bucket", bucket) is False
    assert pairing(made(QUEUE_POLICY, "p", {"queueUrl": queue.id}), "queueUrl", queue) is True
    # A name written out by hand, at the end of a URL or ARN, names the queue of that name.
    named = made(QUEUE, "q", {"name": "orders"})
    assert pairing(made(QUEUE_POLICY, "p", {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/1/orders"}),
                   "queueUrl", named) is True
    assert pairing(made(BLOCK, "b"), "bucket", bucket) is False  # names nothing


def test_a_value_inside_a_json_input_is_read_through_the_document():
    dlq = auto_queue("dlq")
    source = made(QUEUE, "q", {"redrivePolicy": json.dumps({"deadLetterTargetArn": dlq.outputs["arn"],
                                                           "maxReceiveCount": 5})})
    assert reference(source, "redrivePolicy.deadLetterTargetArn") == dlq.outputs["arn"]
    assert pairing(source, "redrivePolicy.deadLetterTargetArn", dlq) is True
    assert reference(made(QUEUE, "q", {"redrivePolicy": U}), "redrivePolicy.deadLetterTargetArn") == U


def test_a_value_not_known_yet_is_paired_by_what_the_engine_recorded_it_was_computed_from():
    bucket, other = auto_bucket("data"), auto_bucket("logs")
    block = made(BLOCK, "b", {"bucket": U}, deps={"bucket": [bucket.urn]})
    assert pairing(block, "bucket", bucket) is True
    assert pairing(block, "bucket", other) is False
    # Nothing recorded: which bucket it names is not known.
    assert pairing(made(BLOCK, "b", {"bucket": U}), "bucket", bucket) is None
    # Computed from two buckets: either may be the one.
    assert pairing(made(BLOCK, "b", {"bucket": U}, deps={"bucket": [bucket.urn, other.urn]}), "bucket", bucket) is None
    # The JSON input's reference is the whole input's.
    dlq = auto_queue("dlq")
    source = made(QUEUE, "q", {"redrivePolicy": U}, deps={"redrivePolicy": [dlq.urn]})
    assert pairing(source, "redrivePolicy.deadLetterTargetArn", dlq) is True


# -- the rules, on auto-named resources --------------------------------------------------------------

def secure_bucket(bucket: Resource, target: Any, deps: Optional[dict[str, list[str]]] = None) -> list[Resource]:
    """The block, encryption and TLS-only policy of ``bucket``, naming it by ``target``."""
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}}]
    return [bucket, made(BLOCK, f"{bucket.name}-block", {"bucket": target, **SETTINGS}, deps=deps),
            made(SSE, f"{bucket.name}-sse", {"bucket": target, "rules": rules}, deps=deps),
            made(BUCKET_POLICY, f"{bucket.name}-policy", {"bucket": target, "policy": DENY_HTTP}, deps=deps)]


@pytest.mark.parametrize("rule_id", ["MAAS-NET-003", "MAAS-SEC-005", "MAAS-SEC-012"])
def test_an_auto_named_bucket_is_paired_with_its_configuration(rule_id):
    bucket = auto_bucket()
    planned = secure_bucket(bucket, bucket.id)
    assert mandatory(rule_id, planned) == []
    previewed = secure_bucket(bucket, U, {"bucket": [bucket.urn]})
    assert mandatory(rule_id, previewed) == [] and not_evaluable(rule_id, previewed) == []
    # Configuring another bucket: this one has none.
    other = auto_bucket("logs")
    assert mandatory(rule_id, [*secure_bucket(other, other.id)[1:], bucket, other])
    # Which bucket they configure is not known: not evaluable, neither a pass nor a failure.
    unknown = secure_bucket(bucket, U)
    assert mandatory(rule_id, unknown) == [] and not_evaluable(rule_id, unknown)


def test_an_auto_named_queue_is_paired_with_its_dead_letter_queue_and_policy():
    dlq = auto_queue("orders-dlq", messageRetentionSeconds=1209600)
    inline = json.dumps({"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 5})
    queue = auto_queue("orders", redrivePolicy=inline)
    policies = [made(QUEUE_POLICY, f"{q.name}-policy", {"queueUrl": q.id, "policy": DENY_HTTP}) for q in (queue, dlq)]
    for rule_id in ("MAAS-REL-005", "MAAS-REL-006", "MAAS-SEC-013"):
        assert mandatory(rule_id, [queue, dlq, *policies]) == [], rule_id
    # The redrive policy as a resource of its own, named by the queue's URL.
    bare = auto_queue("events")
    events_dlq = auto_queue("events-dlq", messageRetentionSeconds=60)
    resource = made(REDRIVE, "events-redrive", {"queueUrl": bare.id, "redrivePolicy": json.dumps(
        {"deadLetterTargetArn": events_dlq.outputs["arn"], "maxReceiveCount": 5})})
    assert mandatory("MAAS-REL-005", [bare, events_dlq, resource]) == []
    assert mandatory("MAAS-REL-006", [bare, events_dlq, resource]) == [
        "keeps messages 60s, less than its source queue events (345600s)"]
    # Attached to another queue, it leaves this one without a dead-letter queue.
    elsewhere = made(REDRIVE, "events-redrive", {**resource.props, "queueUrl": queue.id})
    assert [m for m in mandatory("MAAS-REL-005", [queue, dlq, bare, events_dlq, elsewhere])] == [
        "no redrivePolicy (inline or an aws.sqs.RedrivePolicy) and no queue uses it as its dead-letter queue"]


def test_a_redrive_policy_not_known_yet_pairs_by_its_reference():
    dlq = auto_queue("dlq", messageRetentionSeconds=1209600)
    queue = auto_queue("q", redrivePolicy=U)
    previewed = Resource(**{**queue.__dict__, "property_dependencies": {"redrivePolicy": (dlq.urn,)}})
    # The DLQ is known to be one; the source's own policy waits for its value.
    assert mandatory("MAAS-REL-005", [previewed, dlq]) == []
    assert not_evaluable("MAAS-REL-005", [previewed, dlq]) == [(queue.urn, "redrivePolicy")]
    # Retention compares the paired queues without the policy's value.
    assert mandatory("MAAS-REL-006", [previewed, dlq]) == [] and not_evaluable("MAAS-REL-006", [previewed, dlq]) == []
    # Without a reference, the DLQ is not evaluable rather than in violation.
    assert mandatory("MAAS-REL-005", [queue, dlq]) == []
    assert (queue.urn, "redrivePolicy") in not_evaluable("MAAS-REL-005", [queue, dlq])


def test_an_auto_named_parameter_group_is_the_one_the_database_names():
    group = made(GROUP, "db-params", {"parameters": [{"name": "rds.force_ssl", "value": "1"}]},
                 id="db-params-9a8b7c6", outputs={"name": "db-params-9a8b7c6"})
    weak = made(GROUP, "reporting", {"parameters": [{"name": "log_min_duration_statement", "value": "500"}]},
                id="reporting-1f2e3d4", outputs={"name": "reporting-1f2e3d4"})
    db = made(CLUSTER, "db", {"engine": "aurora-postgresql", "dbClusterParameterGroupName": "db-params-9a8b7c6"})
    assert mandatory("MAAS-SEC-014", [db, group, weak]) == []
    on_weak = made(CLUSTER, "db", {**db.props, "dbClusterParameterGroupName": "reporting-1f2e3d4"})
    assert mandatory("MAAS-SEC-014", [on_weak, group, weak]) == [
        "parameter group reporting-1f2e3d4 sets rds.force_ssl = nothing; it must be 1"]
    previewed = made(CLUSTER, "db", {**db.props, "dbClusterParameterGroupName": U},
                     deps={"dbClusterParameterGroupName": [group.urn]})
    assert mandatory("MAAS-SEC-014", [previewed, group, weak]) == []
    assert not_evaluable("MAAS-SEC-014", [previewed, group, weak]) == []


def test_a_vpc_is_paired_with_its_flow_log_by_id_or_reference_not_by_component():
    vpc = made(VPC, "network", {"cidrBlock": "10.0.0.0/16"}, id="vpc-0123")
    log = {"trafficType": "ALL", "logDestination": "arn:aws:s3:::flow-logs"}
    assert mandatory("MAAS-NET-007", [vpc, made(FLOW_LOG, "fl", {"vpcId": "vpc-0123", **log})]) == []
    assert mandatory("MAAS-NET-007", [vpc, made(FLOW_LOG, "fl", {"vpcId": U, **log}, deps={"vpcId": [vpc.urn]})]) == []
    assert mandatory("MAAS-NET-007", [vpc, made(FLOW_LOG, "fl", {"vpcId": "vpc-0999", **log})])
    assert not_evaluable("MAAS-NET-007", [vpc, made(FLOW_LOG, "fl", {"vpcId": U, **log})]) == [
        (urn(FLOW_LOG, "fl"), "vpcId")]


# -- real programs -----------------------------------------------------------------------------------

BREAKS = {
    "public-access-block": {("MAAS-NET-003", "data")},
    "dead-letter-queue": {("MAAS-REL-005", "events")},
    "parameter-group": {("MAAS-SEC-014", "db")},
}


def plan_variant(tmp: Path, explicit: bool, breaks: str = "") -> Plan:
    config = {"maas:environment": "prod", "aws:region": "eu-west-1", "pairing:explicit_names": explicit}
    if breaks:
        config["pairing:breaks"] = breaks
    path = tmp / "Pulumi.prod.yaml"
    path.write_text(json.dumps({"config": config}))
    return plan_project(PAIRING, config_file=path)


def mandatory_findings(plan: Plan) -> set[tuple[str, str]]:
    return {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in plan.violations if v["level"] == "mandatory"}


@pytest.fixture(scope="module")
def secure(tmp_path_factory) -> dict[bool, Plan]:
    return {explicit: plan_variant(tmp_path_factory.mktemp(f"secure-{explicit}"), explicit) for explicit in (False, True)}


@pytest.mark.parametrize("explicit", [False, True], ids=["auto-named", "explicit-names"])
def test_a_secure_program_passes_with_or_without_physical_names(secure, explicit):
    plan = secure[explicit]
    assert mandatory_findings(plan) == set()
    bucket = next(r for r in plan.resources if r.name == "data")
    assert ("bucket" in bucket.inputs) is explicit, "the program names its resources only when asked to"
    assert bucket.id == (bucket.inputs.get("bucket") or bucket.outputs.get("bucket")), "a bucket's id is its name"


@pytest.mark.parametrize("explicit", [False, True], ids=["auto-named", "explicit-names"])
@pytest.mark.parametrize("breaks", sorted(BREAKS))
def test_a_broken_control_still_fails_with_or_without_physical_names(tmp_path, explicit, breaks):
    assert mandatory_findings(plan_variant(tmp_path, explicit, breaks)) == BREAKS[breaks]


# -- the same stack through the CrossGuard pack --------------------------------------------------------

def _stack_request(plan: Plan, preview: bool) -> proto.AnalyzeStackRequest:
    """The stack as ``pulumi preview`` sends it to the pack: each resource's outputs (its inputs,
    id and what the provider answered) and the URNs each input was computed from. ``preview``:
    before the first deployment, every input computed from another resource is not known yet
    and nothing has an id."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    resources = []
    for resource in plan.resources:
        if not resource.custom:
            continue
        properties = dict(resource.inputs)
        if preview:
            properties.update({key: UNKNOWN_STRING_VALUE for key in resource.property_dependencies})
        else:
            properties.update({**resource.outputs, **({"id": resource.id} if resource.id else {})})
        fields = _resource_fields({**resource.to_dict(), "inputs": properties})
        dependencies = {key: proto.AnalyzerPropertyDependencies(urns=list(urns))
                        for key, urns in resource.property_dependencies.items()}
        resources.append(proto.AnalyzerResource(dependencies=list(resource.dependencies),
                                                propertyDependencies=dependencies, **fields))
    return proto.AnalyzeStackRequest(resources=resources)


def pack_findings(pack, plan: Plan, preview: bool) -> Analysis:  # noqa: F811 (the fixture's value)
    configure(pack.servicer, {})
    analysis = Analysis()
    collector(analysis)(pack.servicer.AnalyzeStack(_stack_request(plan, preview), None), None)
    return analysis


PAIRING_RULES = {"MAAS-NET-003", "MAAS-NET-006", "MAAS-NET-007", "MAAS-NET-009", "MAAS-SEC-005", "MAAS-SEC-012",
                 "MAAS-SEC-013", "MAAS-SEC-014", "MAAS-REL-005", "MAAS-REL-006", "MAAS-REL-008"}


@pytest.mark.parametrize("preview", [False, True], ids=["deployed", "first-preview"])
def test_the_pack_pairs_an_auto_named_stack_as_the_gate_does(pack, secure, tmp_path, preview):  # noqa: F811
    found = pack_findings(pack, secure[False], preview)
    assert [key for key in found.findings if key[0] in PAIRING_RULES] == []
    if preview:
        # Paired by reference: only the values themselves wait for the deployment, never the pairing.
        assert not [key for key in found.not_evaluable if key[0] in PAIRING_RULES
                    and key[3].split(": ", 1)[1].split(" ")[0] in ("bucket", "queueUrl", "arn", "vpcId")]
    broken = pack_findings(pack, plan_variant(tmp_path, False, "public-access-block"), preview)
    assert {(key[0], key[1].rsplit("::", 1)[-1]) for key in broken.findings if key[0] in PAIRING_RULES} == {
        ("MAAS-NET-003", "data")}


def test_an_autoscaler_aimed_at_a_workload_pulumi_named_is_paired_by_reference():
    """MAAS-STK-005 pairs an autoscaler with its workload by kind and name; a name Pulumi generates
    is not known before the workload exists, so the engine's record pairs them."""
    from test_policy_stack import agent_namespace, deployment, hpa

    workload = deployment()
    aimed = hpa(scaleTargetRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": U})
    previewed = Resource(**{**aimed.__dict__, "property_dependencies": {"spec": (workload.urn,)}})
    stack = [agent_namespace(), workload, previewed]
    assert mandatory("MAAS-STK-005", stack) == [] and not_evaluable("MAAS-STK-005", stack) == []
    # Without the record the autoscaler may aim at it or not: not evaluable, never a pass or a failure.
    unpaired = [agent_namespace(), workload, aimed]
    assert mandatory("MAAS-STK-005", unpaired) == [] and not_evaluable("MAAS-STK-005", unpaired)
    # Computed from another workload: this one has none.
    other = Resource(**{**aimed.__dict__, "property_dependencies": {"spec": (workload.urn.replace("triage", "x"),)}})
    assert mandatory("MAAS-STK-005", [agent_namespace(), workload, other])
