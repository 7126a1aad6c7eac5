"""Amazon Bedrock per agent (components/agent/bedrock.py, components/bedrock.py): the profiles,
the role's grant and nothing more, the budget and its hard stop, the guardrail binding and
invocation logging, planned offline from a dev config where research declares one Bedrock model.

The hard stop is evaluated offline: a small evaluator of identity policies (Allow / Deny,
``Action``, ``Resource`` with ``*`` and ``?``, the condition operators the platform writes) decides
every action of the role's policy, and Bedrock's invoke actions, on every resource either
policy names, with and without the stop policy the budget action attaches.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
from typing import Any

import pytest
import yaml

from conftest import ROOT
from maas_platform.components.agent.bedrock import (
    SYSTEM_PROFILE_MODELS, bedrock_budget_name, geography, model_slug, profile_env_name, stop_policy_name,
)
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.iam.actions import BEDROCK_INVOKE
from maas_platform.iam.lint import Allowance, lint, policy_documents, unexplained
from maas_platform.plan import Plan, plan_project

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
AGENT = "research"
SERVICE = f"maas-dev-agent-{AGENT}"
GUARDRAIL = {"pii": {"EMAIL": "ANONYMIZE", "US_SOCIAL_SECURITY_NUMBER": "BLOCK"},
             "denied_topics": [{"name": "Investment advice", "definition": "Recommendations to buy or sell securities.",
                                "examples": ["Should I buy ACME stock?"]}],
             "words": ["project-falcon"], "profanity": True}


def dev_config(**bedrock: Any) -> dict[str, Any]:
    """Pulumi.dev.yaml with research declaring ``llm.bedrock`` (``bedrock``'s keys over one model)."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    for agent in document["config"]["maas:agents"]:
        if agent["name"] == AGENT:
            llm = dict(agent.get("llm") or {})
            llm["bedrock"] = {"models": [MODEL], **bedrock}
            agent["llm"] = llm
    return document


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Plan:
    path = tmp_path_factory.mktemp("bedrock") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(dev_config(guardrail=GUARDRAIL)))
    return plan_project(ROOT, config_file=path)


def of_agent(plan: Plan, type_token: str) -> list:
    return [r for r in plan.of_type(type_token) if r.name.startswith(f"{SERVICE}-")]


def one(plan: Plan, type_token: str, name: str):
    found = [r for r in plan.of_type(type_token) if r.name == name]
    assert len(found) == 1, f"{type_token} {name}: {len(found)}"
    return found[0]


def arn_of(resource) -> str:
    return resource.outputs.get("arn") or resource.inputs.get("arn")


# -- a small offline IAM evaluator ----------------------------------------------------------------

def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, entries in condition.items():
        for key, expected in entries.items():
            actual = context.get(key)
            if actual is None:
                return False
            wanted = _listed(expected)
            if operator in ("StringEquals", "ArnEquals"):
                if actual not in wanted:
                    return False
            elif operator in ("StringLike", "ArnLike"):
                if not any(_matches(w, actual) for w in wanted):
                    return False
            else:
                raise AssertionError(f"the evaluator does not know condition operator {operator}")
    return True


def decide(documents: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> str:
    """Allow, Deny (explicit) or implicit (no statement allows): IAM's identity-policy evaluation."""
    allowed = False
    for document in documents:
        for statement in _listed(document["Statement"]):
            if not any(_matches(a, action) for a in _listed(statement["Action"])):
                continue
            if not any(_matches(r, resource) for r in _listed(statement["Resource"])):
                continue
            if not _condition_holds(statement.get("Condition", {}), context):
                continue
            if statement["Effect"] == "Deny":
                return "Deny"
            allowed = True
    return "Allow" if allowed else "implicit"


def test_the_evaluator_reads_deny_over_allow_and_conditions():
    allow = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
                            "Condition": {"StringEquals": {"k": "v"}}}]}
    deny = {"Statement": {"Effect": "Deny", "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::b/x"}}
    assert decide([allow], "s3:GetObject", "arn:aws:s3:::b/y", {"k": "v"}) == "Allow"
    assert decide([allow], "s3:GetObject", "arn:aws:s3:::b/y", {}) == "implicit"
    assert decide([allow, deny], "s3:GetObject", "arn:aws:s3:::b/x", {"k": "v"}) == "Deny"
    assert decide([allow, deny], "s3:PutObject", "arn:aws:s3:::b/x", {"k": "v"}) == "implicit"


# -- the profile, tagged -------------------------------------------------------------------------

def test_one_application_inference_profile_per_model_tagged_with_the_agents_cost_tags(plan):
    profiles = of_agent(plan, "aws:bedrock/inferenceProfile:InferenceProfile")
    assert len(profiles) == 1
    profile = profiles[0]
    assert profile.name == f"{SERVICE}-bedrock-0"
    tags = profile.inputs["tags"]
    assert {tags["agent"], tags["team"], tags["cost-center"]} == {AGENT, "insights", "cc-2002"}
    # Claude 3.5 Haiku is served through the geography's cross-Region profile: the copy is of it.
    assert MODEL in SYSTEM_PROFILE_MODELS
    assert profile.inputs["modelSource"]["copyFrom"] == \
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{MODEL}"


def test_the_container_is_told_its_profile_arns_and_guardrail(plan):
    deployment = one(plan, "kubernetes:apps/v1:Deployment", f"{SERVICE}-deployment")
    env = {e["name"]: e.get("value") for e in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    profile = arn_of(of_agent(plan, "aws:bedrock/inferenceProfile:InferenceProfile")[0])
    assert env[profile_env_name(MODEL)] == profile
    assert profile_env_name(MODEL) == "MAAS_BEDROCK_PROFILE_ANTHROPIC_CLAUDE_3_5_HAIKU_20241022_V1_0"
    assert json.loads(env["MAAS_BEDROCK_PROFILES"]) == {MODEL: profile}
    assert env["MAAS_BEDROCK_GUARDRAIL_ID"] and env["MAAS_BEDROCK_GUARDRAIL_VERSION"]


# -- the role can invoke nothing else ------------------------------------------------------------

def _role_policy(plan: Plan) -> dict[str, Any]:
    return json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", f"{SERVICE}-access").inputs["policy"])


def _stop_policy(plan: Plan) -> dict[str, Any]:
    return json.loads(one(plan, "aws:iam/policy:Policy", f"{SERVICE}-bedrock-stop").inputs["policy"])


def _context(plan: Plan, profile: str) -> dict[str, str]:
    version = one(plan, "aws:bedrock/guardrailVersion:GuardrailVersion", f"{SERVICE}-bedrock-guardrail-version")
    guardrail = one(plan, "aws:bedrock/guardrail:Guardrail", f"{SERVICE}-bedrock-guardrail")
    identifier = f"{guardrail.outputs['guardrailArn']}:{version.outputs['version']}"
    return {"bedrock:InferenceProfileArn": profile, "bedrock:GuardrailIdentifier": identifier}


def test_the_role_may_invoke_its_model_through_its_profile_with_its_guardrail_and_nothing_else(plan):
    role = _role_policy(plan)
    bedrock = [s for s in role["Statement"] if any(a.startswith("bedrock:") for a in _listed(s["Action"]))]
    actions = {a for s in bedrock for a in _listed(s["Action"])}
    assert actions == {*BEDROCK_INVOKE, "bedrock:ApplyGuardrail"}
    profile = arn_of(of_agent(plan, "aws:bedrock/inferenceProfile:InferenceProfile")[0])
    model = f"arn:aws:bedrock:us-west-2::foundation-model/{MODEL}"
    system = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{MODEL}"
    context = _context(plan, profile)
    for action in BEDROCK_INVOKE:
        assert decide([role], action, profile, context) == "Allow"
        assert decide([role], action, model, context) == "Allow"  # a Region the profile routes to
        assert decide([role], action, system, context) == "Allow"
        # Without the guardrail, or directly (not through its profile): refused.
        assert decide([role], action, profile, {**context, "bedrock:GuardrailIdentifier": "other:1"}) == "implicit"
        assert decide([role], action, model, {k: v for k, v in context.items() if "Inference" not in k}) == "implicit"
        assert decide([role], action, model, {**context, "bedrock:InferenceProfileArn": "arn:aws:bedrock:us-east-1:"
                                               "123456789012:application-inference-profile/other"}) == "implicit"
        # Another model, or another agent's profile: refused.
        assert decide([role], action, "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-v1:0",
                      context) == "implicit"
        assert decide([role], action, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/x",
                      context) == "implicit"
    for action in ("bedrock:CreateInferenceProfile", "bedrock:InvokeAgent", "bedrock:PutModelInvocationLoggingConfiguration"):
        assert decide([role], action, profile, context) == "implicit"


def test_agents_without_bedrock_models_get_no_bedrock_grant(plan):
    for agent in ("triage", "reports"):
        role = json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", f"maas-dev-agent-{agent}-access").inputs["policy"])
        assert not [s for s in role["Statement"] if "bedrock" in json.dumps(s["Action"])]
        assert not of_agent_named(plan, agent)


def of_agent_named(plan: Plan, agent: str) -> list:
    return [r for r in plan.of_type("aws:bedrock/inferenceProfile:InferenceProfile")
            if r.name.startswith(f"maas-dev-agent-{agent}-")]


def test_the_agent_boundary_admits_bedrock_only_through_the_agents_own_profiles(plan):
    boundary = json.loads(one(plan, "aws:iam/policy:Policy", "maas-dev-agent-boundary").inputs["policy"])
    sids = {s.get("Sid"): s for s in boundary["Statement"]}
    assert sids["AgentBedrockProfiles"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/agent": "${aws:PrincipalTag/agent}"}}
    assert "bedrock:InferenceProfileArn" in sids["BedrockModelsThroughProfiles"]["Condition"]["ArnLike"]


# -- the budget, its action and the action's role -------------------------------------------------

def test_the_bedrock_budget_counts_the_agents_bedrock_spend_and_notifies_at_80_100_and_forecast_100(plan):
    budget = one(plan, "aws:budgets/budget:Budget", f"{SERVICE}-bedrock-budget")
    assert budget.inputs["name"] == bedrock_budget_name("maas-dev", AGENT)
    assert budget.inputs["limitAmount"] == "300.00"  # budget.llm_monthly_usd: no llm.bedrock.monthly_usd
    filters = {f["name"]: f["values"] for f in budget.inputs["costFilters"]}
    assert filters == {"Service": ["Amazon Bedrock"], "TagKeyValue": [f"user:agent${AGENT}"]}
    notes = {(n["notificationType"], n["threshold"]) for n in budget.inputs["notifications"]}
    assert notes == {("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0)}


def test_the_budget_action_attaches_the_stop_policy_to_the_agent_role_automatically_at_100(plan):
    action = one(plan, "aws:budgets/budgetAction:BudgetAction", f"{SERVICE}-bedrock-stop-action")
    stop = one(plan, "aws:iam/policy:Policy", f"{SERVICE}-bedrock-stop")
    role = one(plan, "aws:iam/role:Role", f"{SERVICE}-role")
    executor = one(plan, "aws:iam/role:Role", f"{SERVICE}-bedrock-stop-role")
    inputs = action.inputs
    assert (inputs["actionType"], inputs["approvalModel"], inputs["notificationType"]) == \
        ("APPLY_IAM_POLICY", "AUTOMATIC", "ACTUAL")
    assert inputs["actionThreshold"] == {"actionThresholdType": "PERCENTAGE", "actionThresholdValue": 100.0}
    assert inputs["definition"]["iamActionDefinition"] == {"policyArn": arn_of(stop), "roles": [role.inputs["name"]]}
    assert inputs["executionRoleArn"] == arn_of(executor)
    assert stop.inputs["name"] == stop_policy_name("maas-dev", AGENT)
    trust = json.loads(executor.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "budgets.amazonaws.com"}]
    # The executor may attach and detach that one policy to that one role, nothing more.
    executor_policy = json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", f"{SERVICE}-bedrock-stop-role-policy")
                                 .inputs["policy"])
    context = {"iam:PolicyARN": arn_of(stop)}
    for verb in ("iam:AttachRolePolicy", "iam:DetachRolePolicy"):
        assert decide([executor_policy], verb, arn_of(role), context) == "Allow"
        assert decide([executor_policy], verb, arn_of(role), {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}) \
            == "implicit"
        assert decide([executor_policy], verb, "arn:aws:iam::123456789012:role/maas-dev-agent-triage", context) == "implicit"
    assert decide([executor_policy], "iam:PutRolePolicy", arn_of(role), context) == "implicit"
    assert any(arn_of(one(plan, "aws:iam/rolePolicy:RolePolicy", f"{SERVICE}-bedrock-stop-role-policy")) == d or
               d.endswith(f"{SERVICE}-bedrock-stop-role-policy") for d in action.dependencies)


def test_the_hard_stop_denies_exactly_invoking_the_agents_profiles_and_changes_nothing_else(plan):
    """Every action of the role's policy and both invoke actions, on every resource either policy
    names and the models behind the profile: the stop policy turns Allow into Deny exactly for
    the invoke actions on the agent's profile, and leaves every other decision as it was."""
    role, stop = _role_policy(plan), _stop_policy(plan)
    profile = arn_of(of_agent(plan, "aws:bedrock/inferenceProfile:InferenceProfile")[0])
    context = _context(plan, profile)
    actions = {a for s in role["Statement"] + stop["Statement"] for a in _listed(s["Action"])} | set(BEDROCK_INVOKE)
    resources = {r.replace("*", "x") for s in role["Statement"] + stop["Statement"] for r in _listed(s["Resource"])}
    resources |= {profile, f"arn:aws:bedrock:us-west-2::foundation-model/{MODEL}"}
    changed = set()
    for action, resource in itertools.product(sorted(actions), sorted(resources)):
        before, after = decide([role], action, resource, context), decide([role, stop], action, resource, context)
        if before != after:
            assert (before, after) == ("Allow", "Deny"), (action, resource, before, after)
            changed.add((action, resource))
    assert changed == {(action, profile) for action in BEDROCK_INVOKE}
    # A call through the stopped profile is denied whatever the model statement allows.
    assert decide([role, stop], "bedrock:InvokeModel", profile, context) == "Deny"


def test_every_new_policy_passes_the_iam_linter(plan):
    """The agent's grant, the stop policy, the stop role's policy and trust, and the logging role's,
    each linted as tests/test_iam_lint.py lints every plan: findings only where the allow-list
    explains them (parliament's every-resource-type reading of bedrock:InvokeModel)."""
    names_ = (f"{SERVICE}-access", f"{SERVICE}-bedrock-stop", f"{SERVICE}-bedrock-stop-role",
              f"{SERVICE}-bedrock-stop-role-policy", "maas-dev-bedrock-logging-role", "maas-dev-bedrock-logging-role-policy")
    documents = [d for d in policy_documents(plan.resources) if d.origin.split("::", 1)[1] in names_]
    assert {d.origin.split("::", 1)[1] for d in documents} == set(names_)
    results = [lint(d) for d in documents]
    assert [r.document.where for r in results if r.not_evaluable] == []
    allowed = [Allowance.model_validate(e) for e in yaml.safe_load((ROOT / "tests" / "iam-lint-allowlist.yaml").read_text())]
    left, _ = unexplained([f for r in results for f in r.findings], allowed)
    assert [f.describe() for f in left] == []
    # The allowances cover the invoke grant's resource reading and the guardrail condition's operator only.
    grant = [f for r in results for f in r.findings if r.document.origin.endswith(f"{SERVICE}-access")]
    assert grant and {(f.issue, f.action or f.key) for f in grant} <= {
        *(("RESOURCE_MISMATCH", a) for a in BEDROCK_INVOKE), ("MISMATCHED_TYPE_BUT_USABLE", "bedrock:GuardrailIdentifier")}


# -- the guardrail -------------------------------------------------------------------------------

def test_the_guardrail_filters_what_config_says_and_is_bound_by_its_version(plan):
    guardrail = one(plan, "aws:bedrock/guardrail:Guardrail", f"{SERVICE}-bedrock-guardrail")
    inputs = guardrail.inputs
    assert {(e["type"], e["action"]) for e in inputs["sensitiveInformationPolicyConfig"]["piiEntitiesConfigs"]} == \
        {("EMAIL", "ANONYMIZE"), ("US_SOCIAL_SECURITY_NUMBER", "BLOCK")}
    assert [t["type"] for t in inputs["topicPolicyConfig"]["topicsConfigs"]] == ["DENY"]
    assert inputs["wordPolicyConfig"]["managedWordListsConfigs"] == [{"type": "PROFANITY"}]
    assert inputs["tags"]["agent"] == AGENT
    version = one(plan, "aws:bedrock/guardrailVersion:GuardrailVersion", f"{SERVICE}-bedrock-guardrail-version")
    identifier = _context(plan, "")["bedrock:GuardrailIdentifier"]
    assert identifier.endswith(f":{version.outputs['version']}")
    conditions = [s.get("Condition", {}) for s in _role_policy(plan)["Statement"]
                  if set(_listed(s["Action"])) == set(BEDROCK_INVOKE)]
    assert conditions and all(c["StringEquals"]["bedrock:GuardrailIdentifier"] == identifier for c in conditions)


# -- invocation logging ---------------------------------------------------------------------------

def test_invocation_logging_goes_to_an_encrypted_log_group_with_the_environments_retention(plan):
    configuration = plan.of_type("aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration")
    assert len(configuration) == 1
    cloudwatch = configuration[0].inputs["loggingConfig"]["cloudwatchConfig"]
    group = one(plan, "aws:cloudwatch/logGroup:LogGroup", "maas-dev-bedrock-logging-log-group")
    assert cloudwatch["logGroupName"] == group.inputs["name"] == "/aws/bedrock/maas-dev/model-invocations"
    assert group.inputs["retentionInDays"] == 30.0 and group.inputs["kmsKeyId"]
    role = one(plan, "aws:iam/role:Role", "maas-dev-bedrock-logging-role")
    assert cloudwatch["roleArn"] == arn_of(role)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_no_invocation_logging_where_no_agent_calls_bedrock(tmp_path):
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    for agent in document["config"]["maas:agents"]:
        (agent.get("llm") or {}).pop("bedrock", None)
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    plan = plan_project(ROOT, config_file=path)
    assert not plan.of_type("aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration")
    assert not plan.of_type("aws:budgets/budgetAction:BudgetAction")


# -- config ----------------------------------------------------------------------------------------

def _parse(document: dict[str, Any]):
    return parse_platform_config({k.removeprefix("maas:"): v for k, v in document["config"].items()
                                  if k.startswith("maas:")})


def test_a_bedrock_path_without_any_limit_is_a_one_line_config_error(tmp_path):
    document = dev_config()
    for agent in document["config"]["maas:agents"]:
        if agent["name"] == AGENT:
            agent["budget"].pop("llm_monthly_usd")
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError) as error:
        plan_project(ROOT, config_file=path)
    message = str(error.value)
    assert "\n" not in message and "llm.bedrock" in message and "llm_monthly_usd" in message


def test_llm_bedrock_monthly_usd_is_the_budget_limit_when_given(tmp_path):
    from maas_platform.components.agent.bedrock import limit_usd
    from maas_platform.config.agents import AgentSpec
    spec = AgentSpec.model_validate({"name": "a", "team": "t", "cost_center": "c", "image": "r/i:1",
                                     "llm": {"bedrock": {"models": [MODEL], "monthly_usd": 50.0}}}, strict=False)
    assert limit_usd(spec) == 50.0


def test_invocation_log_retention_is_a_cloudwatch_period_with_environment_defaults():
    from maas_platform.config.defaults import ENVIRONMENT_DEFAULTS
    from maas_platform.config.llm import LlmPlatformConfig
    assert [ENVIRONMENT_DEFAULTS[e]["llm"]["log_retention_days"] for e in ("dev", "staging", "prod")] == [30, 90, 365]
    with pytest.raises(ValueError, match="retention period"):
        LlmPlatformConfig(log_retention_days=45)


def test_names_and_geographies():
    assert model_slug(MODEL) == "ANTHROPIC_CLAUDE_3_5_HAIKU_20241022_V1_0"
    assert [geography(r) for r in ("us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1")] == ["us", "eu", "apac", None]


def test_bedrock_runtime_is_an_interface_endpoint_where_endpoints_are_on_and_an_agent_calls_bedrock():
    from maas_platform.components.platform import interface_endpoints
    from maas_platform.config.defaults import ENVIRONMENT_DEFAULTS
    assert ENVIRONMENT_DEFAULTS["dev"]["network"]["interface_endpoints"] == []  # dev: through its NAT gateway
    stacks = {env: {k.removeprefix("maas:"): v for k, v in read_stack_file(ROOT / "stacks" / f"Pulumi.{env}.yaml").items()}
              for env in ("dev", "prod")}
    research = next(a for a in stacks["dev"]["agents"] if a["name"] == AGENT)
    assert research["llm"]["bedrock"]
    # prod as shipped calls no Bedrock: no endpoint to pay for; with a Bedrock agent, one.
    assert "bedrock-runtime" not in interface_endpoints(parse_platform_config(stacks["prod"]))
    prod_research = {**research, "messaging": {k: v for k, v in research["messaging"].items() if k != "scale_to_zero"}}
    with_bedrock = parse_platform_config({**stacks["prod"], "agents": [prod_research], "broker": stacks["dev"]["broker"],
                                          "llm": stacks["dev"]["llm"]})
    assert interface_endpoints(with_bedrock)[-1] == "bedrock-runtime"
    # dev has none at all: its Bedrock calls leave through NAT.
    assert interface_endpoints(parse_platform_config(stacks["dev"])) == []


def test_the_agents_egress_proxy_admits_its_regions_bedrock_runtime_and_nothing_else_of_bedrock(plan):
    """Every HTTPS call of the container goes through its egress proxy (HTTPS_PROXY), the Bedrock
    runtime's too, with or without an interface endpoint: the proxy must admit it."""
    config = one(plan, "kubernetes:core/v1:ConfigMap", f"{SERVICE}-egress-proxy-config")
    text = json.dumps(config.inputs["data"])
    assert "bedrock-runtime.us-east-1.amazonaws.com:443" in text
    assert text.count("bedrock") == 1  # not the control plane (bedrock.<region>), not other Regions
    others = [r for r in plan.of_type("kubernetes:core/v1:ConfigMap")
              if r.name.endswith("-egress-proxy-config") and not r.name.startswith(f"{SERVICE}-")]
    assert others and not any("bedrock" in json.dumps(r.inputs["data"]) for r in others)
