"""Karpenter's controller side in the plans: its policy's scoping, the interruption queue and its
rules, the nodes' identity, and the two releases."""

from __future__ import annotations

import json

import pytest

from conftest import ENVIRONMENTS, as_list, named, statements
from maas_platform import names
from maas_platform.components.karpenter import INTERRUPTION_EVENTS, KARPENTER_CHART, KARPENTER_CRD_CHART

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MUTATING_PREFIXES = ("Create", "Delete", "Terminate", "Run", "Pass", "Add", "Remove", "Tag")


def controller_statements(plan, env):
    return statements(named(plan, ROLE_POLICY, f"maas-{env}-karpenter-controller-policy").inputs["policy"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_mutating_action_on_every_resource_and_every_launch_is_cluster_tagged(plans, env):
    for statement in controller_statements(plans[env], env):
        actions = as_list(statement["Action"])
        mutating = [a for a in actions if a.split(":")[1].startswith(MUTATING_PREFIXES)]
        if mutating:
            assert "*" not in as_list(statement["Resource"]), statement["Sid"]
        if set(actions) & {"ec2:CreateLaunchTemplate", "ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}:
            keys = {k for condition in statement["Condition"].values() for k in condition}
            assert any(k.endswith(f"kubernetes.io/cluster/maas-{env}") for k in keys), statement["Sid"]
            assert any(k.endswith(names.NODE_POOL_LABEL) for k in keys), statement["Sid"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pass_role_only_on_the_node_role_to_ec2_and_no_instance_profile_writes(plans, env):
    found = controller_statements(plans[env], env)
    [passing] = [s for s in found if "iam:PassRole" in as_list(s["Action"])]
    assert as_list(passing["Resource"]) == [f"arn:aws:iam::123456789012:role/maas-{env}-karpenter-node"] or all(
        r.endswith(f"maas-{env}-karpenter-node") for r in as_list(passing["Resource"]))
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    actions = {a for s in found for a in as_list(s["Action"])}
    assert not actions & {"iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile",
                          "iam:TagInstanceProfile", "iam:RemoveRoleFromInstanceProfile"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_queue_takes_only_tls_and_only_this_stacks_rules(plans, env):
    plan = plans[env]
    policy = statements(named(plan, names.SQS_QUEUE_POLICY, f"maas-{env}-karpenter-interruption-queue-policy")
                        .inputs["policy"])
    [deny] = [s for s in policy if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}} or deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}
    allows = [s for s in policy if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "events.amazonaws.com"}]
    sources = set(as_list(allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"]))
    assert sources == {f"arn:aws:events:{a.split(':')[3]}:{a.split(':')[4]}:rule/maas-{env}-karpenter-{event}"
                       for a in [next(iter(sources))] for event in INTERRUPTION_EVENTS}
    queue = named(plan, names.SQS_QUEUE, f"maas-{env}-karpenter-interruption-queue").inputs
    assert queue["messageRetentionSeconds"] == 300 and queue["kmsMasterKeyId"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_rule_has_upstreams_pattern_and_targets_the_queue(plans, env):
    plan = plans[env]
    for event, pattern in INTERRUPTION_EVENTS.items():
        rule = named(plan, names.CLOUDWATCH_EVENT_RULE, f"maas-{env}-karpenter-{event}-rule").inputs
        assert json.loads(rule["eventPattern"]) == pattern
        target = named(plan, names.CLOUDWATCH_EVENT_TARGET, f"maas-{env}-karpenter-{event}-target").inputs
        assert target["targetId"] == "KarpenterInterruptionQueueTarget"
    assert {p["detail-type"][0] for p in INTERRUPTION_EVENTS.values()} >= {
        "EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification", "AWS Health Event"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_nodes_role_has_an_ec2_linux_access_entry(plans, env):
    entry = named(plans[env], names.EKS_ACCESS_ENTRY, f"maas-{env}-karpenter-node-access").inputs
    assert entry["type"] == "EC2_LINUX"


@pytest.mark.parametrize("env, replicas", [("dev", 1), ("staging", 1), ("prod", 2)])
def test_the_releases_values_and_replicas(plans, env, replicas):
    plan = plans[env]
    crds = named(plan, names.HELM_RELEASE, f"maas-{env}-karpenter-crds").inputs
    assert crds["chart"] == f"{KARPENTER_CRD_CHART.repo}/karpenter-crd" and crds["version"] == "1.12.2"
    release = named(plan, names.HELM_RELEASE, f"maas-{env}-karpenter-controller-release").inputs
    assert release["chart"] == f"{KARPENTER_CHART.repo}/karpenter" and release["skipCrds"] is True
    values = release["values"]
    assert values["replicas"] == replicas
    assert values["settings"]["clusterName"] == f"maas-{env}"
    assert values["settings"]["interruptionQueue"] == f"maas-{env}-karpenter-interruption"
    assert values["serviceAccount"]["name"] == "karpenter"
    assert values["podDisruptionBudget"]["maxUnavailable"] == 1
    assert values["tolerations"] == [{"key": names.SYSTEM_TAINT_KEY, "operator": "Exists"}]
    assert names.NODE_GROUP_LABEL in values["nodeSelector"]
    association = [r for r in plan.of_type(names.EKS_POD_IDENTITY_ASSOCIATION)
                   if r.name == f"maas-{env}-karpenter-controller-identity"]
    assert association and association[0].inputs["serviceAccount"] == "karpenter"
