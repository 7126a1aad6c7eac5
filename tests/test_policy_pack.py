"""The CrossGuard pack enforces what the plan gate enforces, without the Pulumi CLI.

``policies/__main__.py`` is run as the CLI runs it, except that ``PolicyPack`` finds a stand-in
for gRPC: the analyzer servicer it would serve is captured and driven with the protobuf
requests the engine sends (``Configure`` with the ``--policy-pack-config``, ``Analyze`` per
resource with its inputs, ``AnalyzeStack`` with every resource), built from offline plans.
Its diagnostics must equal the gate's violations: same rules, resources, levels and messages.
A preview sends values not known yet; what a rule cannot evaluate for that reason comes back as
an advisory diagnostic of the rule's not-evaluable policy, never as a pass.
"""

from __future__ import annotations

import io
import re
import runpy
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pulumi_policy.policy as sdk
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto

from conftest import ENVIRONMENTS, ROOT
from maas_platform.plan import Plan, PlannedResource, load_stack_config, plan_project
from maas_platform.policy import rules
from maas_platform.policy import evaluate
from maas_platform.config.policy import PolicyConfig
from maas_platform.policy.core import Context
from maas_platform.policy.crossguard import ENVIRONMENTS as PACK_ENVIRONMENTS
from maas_platform.policy.crossguard import (
    NOT_EVALUABLE_REMEDIATION, PACK_NAME, not_evaluable_name, plain, policy_name, policy_pack_config,
)
from maas_platform.policy.gate import context_of, plan_resources, settings_of

INSECURE = ROOT / "tests" / "fixtures" / "insecure"
PACK_MAIN = ROOT / "policies" / "__main__.py"
# An expiry date every exemption and loosening needs, within the year ahead whenever the tests run.
EXPIRES = (__import__("datetime").date.today() + __import__("datetime").timedelta(days=90)).isoformat()


def loosened(level: str, reason: str = "accepted by security in SEC-1") -> dict:
    return {"level": level, "reason": reason, "expires": EXPIRES}


LEVEL_NAMES = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.DISABLED: "disabled"}


# -- the pack, served to a stand-in ------------------------------------------------------------

class _NoServer:
    """What ``grpc.server(...)`` returns to the pack here: it binds nothing and starts nothing."""

    def add_insecure_port(self, address: str) -> int:
        assert address == "127.0.0.1:0"
        return 0

    def start(self) -> None:
        pass

    def stop(self, grace: Optional[float]) -> None:
        pass


def _interrupt(seconds: float) -> None:
    raise KeyboardInterrupt  # how PolicyPack's serving loop ends


@pytest.fixture(scope="module")
def pack() -> SimpleNamespace:
    """``policies/__main__.py`` run as a script; its analyzer servicer and what it printed."""
    captured: dict[str, Any] = {}
    stdout = io.BytesIO()

    def register(servicer: Any, server: Any) -> None:
        captured["servicer"] = servicer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sdk, "grpc", SimpleNamespace(server=lambda *args, **kwargs: _NoServer()))
        patch.setattr(sdk, "analyzer_pb2_grpc", SimpleNamespace(add_AnalyzerServicer_to_server=register))
        patch.setattr(sdk, "time", SimpleNamespace(sleep=_interrupt))
        patch.setattr(sdk, "sys", SimpleNamespace(stdout=SimpleNamespace(buffer=stdout)))
        runpy.run_path(str(PACK_MAIN), run_name="__main__")
    return SimpleNamespace(servicer=captured["servicer"], announced=stdout.getvalue().decode())


@pytest.fixture(scope="module")
def insecure() -> Plan:
    return plan_project(INSECURE, stack="prod")


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def _resource_fields(resource: dict[str, Any]) -> dict[str, Any]:
    """The fields the engine fills for one resource: custom resources have a provider, components do not."""
    fields: dict[str, Any] = {
        "type": resource["type"], "name": resource["name"], "urn": resource["urn"],
        "properties": _struct(resource["inputs"]),
        "options": proto.AnalyzerResourceOptions(protect=bool(resource.get("protect")), parent=resource["parent"] or ""),
    }
    if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
        package = resource["type"].split(":", 1)[0]
        fields["provider"] = proto.AnalyzerProviderResource(
            type=f"pulumi:providers:{package}", name="default", urn=f"urn:pulumi:stack::project::pulumi:providers:{package}::default",
            properties=_struct({}),
        )
    return fields


def _stack_request(plan: Plan) -> proto.AnalyzeStackRequest:
    """The stack as the engine sends it: every resource (components too), the stack resource itself."""
    stack_urn = f"urn:pulumi:{plan.stack}::{plan.project}::pulumi:pulumi:Stack::{plan.project}-{plan.stack}"
    resources = [proto.AnalyzerResource(type="pulumi:pulumi:Stack", name=f"{plan.project}-{plan.stack}", urn=stack_urn,
                                        properties=_struct({}))]
    for resource in plan.resources:
        # A resource's outputs: its inputs, id and what the provider answered; and what each input came from.
        outputs = {**resource["inputs"], **resource["outputs"], **({"id": resource["id"]} if resource["id"] else {})}
        resources.append(proto.AnalyzerResource(
            parent=resource["parent"] or "", dependencies=resource["dependencies"],
            propertyDependencies={key: proto.AnalyzerPropertyDependencies(urns=list(urns))
                                  for key, urns in resource["property_dependencies"].items()},
            **_resource_fields({**resource.to_dict(), "inputs": outputs}),
        ))
    return proto.AnalyzeStackRequest(resources=resources)


def configure(servicer: Any, pack_config: dict[str, Any]) -> None:
    """``Configure`` as the CLI sends a ``--policy-pack-config`` file: per policy, level and properties."""
    request = proto.ConfigureAnalyzerRequest()
    for name, entry in pack_config.items():
        properties = {key: value for key, value in entry.items() if key != "enforcementLevel"}
        level = getattr(proto, entry["enforcementLevel"].upper())
        request.policyConfig[name].CopyFrom(proto.PolicyConfig(enforcementLevel=level, properties=_struct(properties)))
    servicer.Configure(request, None)


@dataclass
class Analysis:
    """What the pack reported: ``findings`` as ``(rule ID, URN, level, message)``, ``not_evaluable``
    (the rules' not-evaluable policies) likewise, and ``not_applicable`` as ``(rule ID, URN, reason)``."""

    findings: Counter = field(default_factory=Counter)
    not_evaluable: Counter = field(default_factory=Counter)
    not_applicable: list[tuple[str, str, str]] = field(default_factory=list)


def collector(analysis: Analysis) -> Any:
    """Reads one Analyze/AnalyzeStack response into ``analysis``."""
    rules_by_policy = {policy_name(rule.id): rule for rule in rules()}
    rules_by_policy.update({not_evaluable_name(rule.id): rule for rule in rules()})

    def collect(response: Any, urn: Optional[str]) -> None:
        for diagnostic in response.diagnostics:
            rule = rules_by_policy[diagnostic.policyName]
            assert diagnostic.policyPackName == PACK_NAME
            prefix = f"{rule.title}\n"
            assert diagnostic.message.startswith(prefix), diagnostic.message
            unknown = diagnostic.policyName == not_evaluable_name(rule.id)
            (analysis.not_evaluable if unknown else analysis.findings)[(
                rule.id, urn or diagnostic.urn, LEVEL_NAMES[diagnostic.enforcementLevel],
                diagnostic.message[len(prefix):])] += 1
        for entry in response.not_applicable:
            analysis.not_applicable.append((rules_by_policy[entry.policy_name].id, urn or "", entry.reason))

    return collect


def analyze(servicer: Any, plan: Plan) -> Analysis:
    """Every resource and the stack through the pack."""
    analysis = Analysis()
    collect = collector(analysis)
    for resource in plan.resources:
        collect(servicer.Analyze(proto.AnalyzeRequest(**_resource_fields(resource)), None), resource["urn"])
    collect(servicer.AnalyzeStack(_stack_request(plan), None), None)
    return analysis


def gate_findings(violations: list[dict[str, Any]]) -> Counter:
    return Counter((v["policy"], v["urn"], v["level"], v["message"]) for v in violations)


def stack_config(plan_dir: Path, stack: str) -> dict[str, Any]:
    config, _ = load_stack_config(plan_dir / f"Pulumi.{stack}.yaml")
    return config


# -- the pack itself ---------------------------------------------------------------------------

def test_the_pack_announces_its_port_and_serves_a_policy_and_a_not_evaluable_policy_per_rule(pack):
    assert pack.announced == "0\n", "PolicyPack prints the port it serves on for the CLI"
    info = pack.servicer.GetAnalyzerInfo(empty_pb2.Empty(), None)
    assert info.name == PACK_NAME and info.supportsConfig
    by_name = {policy.name: policy for policy in info.policies}
    registered = rules()
    assert registered, "no rules registered"
    assert set(by_name) == {policy_name(rule.id) for rule in registered} | {
        not_evaluable_name(rule.id) for rule in registered}
    for rule in registered:
        policy, unknown = by_name[policy_name(rule.id)], by_name[not_evaluable_name(rule.id)]
        assert policy.description == rule.title and policy.remediation_steps == rule.remediation
        assert LEVEL_NAMES[policy.enforcementLevel] == rule.level
        assert unknown.description == rule.title and unknown.remediation_steps == NOT_EVALUABLE_REMEDIATION
        assert LEVEL_NAMES[unknown.enforcementLevel] == "advisory", "what a rule cannot see must never block"
        for served in (policy, unknown):
            assert proto.PolicySeverity.Name(served.severity) == f"POLICY_SEVERITY_{rule.severity.upper()}"
            expected_type = "POLICY_TYPE_STACK" if rule.scope == "stack" else "POLICY_TYPE_RESOURCE"
            assert proto.PolicyType.Name(served.policy_type) == expected_type
            assert set(served.configSchema.properties) == {"environment", "min_log_retention_days", "exemptions", "notices",
                                                             "require_own_registry", "agent_registry"}
            assert not served.configSchema.required, "a pack without --policy-pack-config must still run"


def test_the_config_schema_names_every_environment():
    assert set(PACK_ENVIRONMENTS) == set(ENVIRONMENTS)


# -- parity with the plan gate -------------------------------------------------------------------

def test_the_insecure_example_breaks_the_same_rules_in_the_pack_as_in_the_gate(pack, insecure):
    config = stack_config(INSECURE, "prod")
    configure(pack.servicer, policy_pack_config(config, "prod"))
    analysis = analyze(pack.servicer, insecure)
    findings = analysis.findings
    expected = gate_findings(insecure.violations)
    assert expected, "the insecure example breaks no rule"
    assert findings == expected
    assert analysis.not_evaluable == Counter(), "an offline plan knows every value"
    mandatory = {rule_id for rule_id, _, level, _ in findings if level == "mandatory"}
    assert mandatory == {v["policy"] for v in insecure.violations if v["level"] == "mandatory"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_shipped_environments_give_the_same_findings_in_the_pack_as_in_the_gate(pack, plans, env):
    plan = plans[env]
    configure(pack.servicer, policy_pack_config(stack_config(ROOT / "stacks", env), env))
    analysis = analyze(pack.servicer, plan)
    assert analysis.findings == gate_findings(plan.violations)
    assert analysis.not_evaluable == Counter()


def test_without_a_config_the_pack_runs_the_default_levels(pack, insecure):
    configure(pack.servicer, {})
    findings = analyze(pack.servicer, insecure).findings
    expected = evaluate(plan_resources(insecure), Context.for_environment(None)).violations
    assert findings == gate_findings(expected)


def _overrides(violations: list[dict[str, Any]]) -> tuple[str, str, tuple[str, str]]:
    """Three rules the example breaks (one to make advisory, one to disable, one to exempt on one
    resource), chosen from what the gate reports so the test follows the rules as they grow."""
    broken = sorted({v["policy"] for v in violations if v["level"] == "mandatory"})
    assert len(broken) >= 3, f"the insecure example should break at least three mandatory rules, breaks {broken}"
    exempt_rule = broken[2]
    exempt_urn = next(v["urn"] for v in violations if v["policy"] == exempt_rule and v["urn"])
    return broken[0], broken[1], (exempt_rule, exempt_urn)


def test_enforcement_overrides_and_exemptions_in_the_pack_config_take_effect(pack, insecure):
    advisory, disabled, (exempt_rule, exempt_urn) = _overrides(insecure.violations)
    exempt_name = exempt_urn.split("::")[-1]
    # Staging: prod keeps mandatory rules mandatory whatever maas:policy says (test_policy_governance.py).
    config = dict(stack_config(INSECURE, "prod"))
    config["maas:policy"] = {
        "enforcement": {advisory: loosened("advisory"), disabled: loosened("disabled")},
        "exemptions": [{"policy": exempt_rule, "resources": [exempt_name], "reason": "accepted by security in SEC-1",
                        "expires": EXPIRES}],
    }
    configure(pack.servicer, policy_pack_config(config, "staging"))
    analysis = analyze(pack.servicer, insecure)
    findings, not_applicable = analysis.findings, analysis.not_applicable

    policy = PolicyConfig.model_validate(config["maas:policy"])
    found = evaluate(plan_resources(insecure), context_of(policy, "staging"), settings_of(policy))
    violations, exempted = found.violations, found.exempted
    assert findings == gate_findings(violations)
    assert {f[2] for f in findings if f[0] == advisory} == {"advisory"}
    assert not [f for f in findings if f[0] == disabled]
    assert not [f for f in findings if f[0] == exempt_rule and f[1] == exempt_urn]
    assert (exempt_rule, exempt_urn, "exempted: accepted by security in SEC-1") in not_applicable
    assert {(e["policy"], e["urn"]) for e in exempted} == {(exempt_rule, exempt_urn)}


def test_a_stack_rule_exemption_drops_only_that_finding(pack, insecure):
    """Exemptions of stack rules cannot mark the policy not applicable (that would silence the whole
    stack): the pack drops the covered findings only, as the gate does."""
    stack_rules = {rule.id for rule in rules() if rule.scope == "stack"}
    targets = sorted({(v["policy"], v["urn"]) for v in insecure.violations if v["policy"] in stack_rules and v["urn"]})
    assert len(targets) >= 2, "the insecure example should break at least two stack rules"
    (exempt_rule, exempt_urn), (other_rule, other_urn) = targets[0], next(t for t in targets if t[0] != targets[0][0])
    config = dict(stack_config(INSECURE, "prod"))
    config["maas:policy"] = {"exemptions": [{"policy": exempt_rule, "resources": [exempt_urn],
                                             "reason": "accepted by security in SEC-2", "expires": EXPIRES}]}
    configure(pack.servicer, policy_pack_config(config, "prod"))
    analysis = analyze(pack.servicer, insecure)
    findings, not_applicable = analysis.findings, analysis.not_applicable
    policy = PolicyConfig.model_validate(config["maas:policy"])
    violations = evaluate(plan_resources(insecure), context_of(policy, "prod"), settings_of(policy)).violations
    assert findings == gate_findings(violations)
    assert not [f for f in findings if (f[0], f[1]) == (exempt_rule, exempt_urn)]
    assert [f for f in findings if (f[0], f[1]) == (other_rule, other_urn)], "another stack rule's finding went too"
    assert not [n for n in not_applicable if n[0] == exempt_rule]


def test_the_environment_comes_from_the_stack_config_when_the_pack_config_names_none(pack, insecure, monkeypatch):
    """The CLI passes the stack's config to the pack as PULUMI_CONFIG; without a pack config the
    environment is read from maas:environment there."""
    from pulumi.runtime import config as runtime_config

    prod_gate = evaluate(plan_resources(insecure), Context.for_environment("prod")).violations
    dev_gate = evaluate(plan_resources(insecure), Context.for_environment("dev")).violations
    assert gate_findings(prod_gate) != gate_findings(dev_gate), "no rule of the example depends on the environment"
    saved = dict(runtime_config.CONFIG.get())
    try:
        for environment, expected in (("prod", prod_gate), ("dev", dev_gate)):
            monkeypatch.setenv("PULUMI_CONFIG", f'{{"maas:environment": "{environment}"}}')
            configure(pack.servicer, {})
            findings = analyze(pack.servicer, insecure).findings
            assert findings == gate_findings(expected), environment
    finally:
        runtime_config.CONFIG.get().clear()
        runtime_config.CONFIG.get().update(saved)


# -- values a preview does not know yet -------------------------------------------------------

def _previewed(type_token: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A resource as the engine sends it during ``pulumi preview`` of its first creation: an input
    that is an output of a resource created in the same update is the unknown sentinel."""
    return {"type": type_token, "name": name, "urn": f"urn:pulumi:prod::shop::{type_token}::{name}", "inputs": inputs,
            "custom": True, "parent": "", "protect": False}


def _key_not_known_yet():
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    return UNKNOWN_STRING_VALUE


def test_a_key_unknown_in_preview_is_reported_not_evaluable_and_never_passes_silently(pack):
    """``kms_master_key_id=key.arn`` of a key created in the same update: the engine sends the unknown
    sentinel. The queue must not pass MAAS-SEC-003 silently: the rule's not-evaluable policy says so,
    advisory, naming the property, while the rule's own policy reports nothing."""
    configure(pack.servicer, {})
    tags = {"environment": "prod", "team": "shop", "cost-center": "cc-1", "managed-by": "pulumi"}
    queue = _previewed("aws:sqs/queue:Queue", "orders", {"name": "orders", "kmsMasterKeyId": _key_not_known_yet(),
                                                          "tags": tags})
    response = pack.servicer.Analyze(proto.AnalyzeRequest(**_resource_fields(queue)), None)
    reported = [(d.policyName, LEVEL_NAMES[d.enforcementLevel], d.message.split("\n", 1)[1])
                for d in response.diagnostics if d.policyName.startswith(policy_name("MAAS-SEC-003"))]
    assert reported == [(not_evaluable_name("MAAS-SEC-003"), "advisory",
                         "not evaluable: kmsMasterKeyId is known only after apply")]
    # The gate says the same of the same resource.
    resource = plan_resources(Plan(project="p", stack="prod", outputs={}, resources=[PlannedResource(
        urn=queue["urn"], type=queue["type"], name=queue["name"], parent=None, dependencies=(),
        inputs=plain(queue["inputs"]), custom=True, provider=None, protect=False)]))
    gate = evaluate(resource, Context.for_environment(None), only=["MAAS-SEC-003"])
    assert gate.violations == [] and [(e["urn"], e["property"]) for e in gate.not_evaluable] == [
        (queue["urn"], "kmsMasterKeyId")]
    # A key that is known is judged as before.
    managed = {**queue, "inputs": {**queue["inputs"], "kmsMasterKeyId": "alias/aws/sqs"}}
    response = pack.servicer.Analyze(proto.AnalyzeRequest(**_resource_fields(managed)), None)
    assert [(d.policyName, LEVEL_NAMES[d.enforcementLevel]) for d in response.diagnostics
            if d.policyName.startswith(policy_name("MAAS-SEC-003"))] == [(policy_name("MAAS-SEC-003"), "mandatory")]


def test_a_stack_rule_reports_the_resource_whose_value_a_preview_does_not_know(pack):
    configure(pack.servicer, {})
    bucket = _previewed("aws:s3/bucketV2:BucketV2", "assets", {"bucket": "shop-assets"})
    encryption = _previewed(
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "assets-sse",
        {"bucket": "shop-assets", "rules": [{"applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms", "kmsMasterKeyId": _key_not_known_yet()}}]})
    request = proto.AnalyzeStackRequest(resources=[proto.AnalyzerResource(**_resource_fields(r)) for r in (bucket, encryption)])
    analysis = Analysis()
    collector(analysis)(pack.servicer.AnalyzeStack(request, None), None)
    assert [key for key in analysis.not_evaluable if key[0] == "MAAS-SEC-005"] == [(
        "MAAS-SEC-005", encryption["urn"], "advisory",
        "not evaluable: rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId is known only after apply")]
    assert not [key for key in analysis.findings if key[0] == "MAAS-SEC-005"]


# -- the policy pack config ----------------------------------------------------------------------

def test_the_pack_config_carries_levels_environment_retention_and_exemptions():
    registered = rules()
    first = registered[0].id
    config = {
        "maas:environment": "staging",
        "maas:policy": {
            "enforcement": {first: loosened("disabled")},
            "exemptions": [{"policy": first, "resources": ["maas-staging-x-*"], "reason": "reviewed in SEC-3 ok",
                            "expires": EXPIRES}],
            "min_log_retention_days": 45,
        },
    }
    rendered = policy_pack_config(config)
    assert set(rendered) == {policy_name(rule.id) for rule in registered} | {
        not_evaluable_name(rule.id) for rule in registered}
    first_entry = {
        "enforcementLevel": "disabled", "environment": "staging", "min_log_retention_days": 45,
        "require_own_registry": False,
        "exemptions": [{"resources": ["maas-staging-x-*"], "reason": "reviewed in SEC-3 ok", "expires": EXPIRES}],
    }
    assert rendered[policy_name(first)] == first_entry
    assert rendered[not_evaluable_name(first)] == first_entry, "a disabled rule's not-evaluable policy is off too"
    for rule in registered[1:]:
        entry = {"enforcementLevel": rule.level, "environment": "staging", "min_log_retention_days": 45,
                 "require_own_registry": False}
        assert rendered[policy_name(rule.id)] == entry
        assert rendered[not_evaluable_name(rule.id)] == {**entry, "enforcementLevel": "advisory"}
    # The environment given wins over the file's, and the retention default follows it.
    prod = policy_pack_config({"maas:environment": "staging"}, "prod")
    assert {entry["environment"] for entry in prod.values()} == {"prod"}
    assert {entry["min_log_retention_days"] for entry in prod.values()} == {90}


def test_the_pack_requires_own_registry_images_where_the_plan_gate_does():
    """MAAS-K8S-041 reads two facts of the stack; the pack gets them from its config as the gate
    gets them from the stack, or `pulumi up` would admit what `maas plan` refuses."""
    from maas_platform.policy.crossguard import context_of as pack_context

    prod = policy_pack_config({"maas:environment": "prod", "maas:account_id": "111122223333",
                               "maas:region": "eu-west-1"}, "prod")
    entry = prod[policy_name("MAAS-K8S-041")]
    assert entry["require_own_registry"] is True
    assert entry["agent_registry"] == "111122223333.dkr.ecr.eu-west-1.amazonaws.com/maas-prod"
    context = pack_context(entry)
    assert context.require_own_registry and context.agent_registry == entry["agent_registry"]
    dev = policy_pack_config({"maas:environment": "dev", "maas:account_id": "111122223333"}, "dev")
    assert pack_context(dev[policy_name("MAAS-K8S-041")]).require_own_registry is False


def test_a_wrong_maas_policy_is_the_plans_one_line_error():
    from maas_platform.config.loader import ConfigError

    with pytest.raises(ConfigError) as error:
        policy_pack_config({"maas:policy": {"enforcement": {"MAAS-NOPE-999": "advisory"}}}, "dev", "stacks/Pulumi.dev.yaml")
    assert "maas:policy.enforcement" in str(error.value) and "stacks/Pulumi.dev.yaml" in str(error.value)
    assert "\n" not in str(error.value)


# -- what a rule sees ----------------------------------------------------------------------------

def test_engine_values_reach_rules_as_the_plan_records_them():
    from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

    props = unknown_checking_proxy({
        "retentionInDays": 30.0, "ratio": 0.5, "kmsKeyId": UNKNOWN_STRING_VALUE,
        "tags": {"team": "a"}, "rules": [{"enabled": UNKNOWN_BOOLEAN_VALUE}, {"port": 443.0}],
    })
    seen = plain(props)
    assert seen == {"retentionInDays": 30, "ratio": 0.5, "kmsKeyId": "[unknown]", "tags": {"team": "a"},
                    "rules": [{"enabled": "[unknown]"}, {"port": 443}]}
    assert type(seen) is dict and type(seen["rules"]) is list and type(seen["retentionInDays"]) is int


# -- the pack's project files --------------------------------------------------------------------

def test_the_pack_is_a_python_policy_project_with_its_own_virtualenv():
    import yaml

    project = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == "venv"
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(project["version"]))


def test_the_pack_requirements_install_this_project_and_the_tested_sdk():
    """pip resolves a requirement's relative path against its working directory, the pack's
    directory when the Pulumi CLI installs the pack: ``..`` must be this repository."""
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "policies" / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    local = [line.split(None, 1)[1] for line in lines if line.startswith("-e ")]
    assert len(local) == 1
    target = (ROOT / "policies" / local[0]).resolve()
    assert target == ROOT.resolve()
    pyproject = (target / "pyproject.toml").read_text()  # tomllib needs Python 3.11; the project supports 3.10
    assert re.search(r'^name = "maas-platform"$', pyproject, re.M)
    sdk_requirement = next(line for line in lines if line.startswith("pulumi-policy"))
    dev_extra = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    assert f'"{sdk_requirement}"' in dev_extra, "the pack must pin the pulumi-policy the tests run"


def test_maas_policy_config_prints_the_pack_config_of_a_stack(tmp_path):
    """`maas policy-config` is what the preview workflow hands to `--policy-pack-config`."""
    import json
    import subprocess
    import sys

    stack_file = tmp_path / "Pulumi.sandbox.yaml"
    stack_file.write_text(
        "config:\n  maas:environment: staging\n  maas:policy:\n"
        f"    enforcement: {{MAAS-K8S-012: {{level: disabled, reason: replaced in the next release, expires: {EXPIRES}}}}}\n"
        "    exemptions:\n      - {policy: MAAS-NET-001, resources: [maas-sandbox-cluster], reason: reached from the office VPN only,"
        f" expires: {EXPIRES}}}\n"
    )
    run = subprocess.run([sys.executable, "-m", "maas_platform.cli", "policy-config", "--config-file", str(stack_file)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert set(document) == {policy_name(rule.id) for rule in rules()} | {not_evaluable_name(r.id) for r in rules()}
    assert document["maas-k8s-012"]["enforcementLevel"] == "disabled"
    assert document["maas-net-001"]["environment"] == "staging"
    assert "reached from the office VPN only" in json.dumps(document["maas-net-001"])

    stack_file.write_text("config:\n  maas:environment: staging\n  maas:policy:\n    enforcement: {MAAS-NOPE-001: advisory}\n")
    run = subprocess.run([sys.executable, "-m", "maas_platform.cli", "policy-config", "--config-file", str(stack_file)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "maas:policy.enforcement" in run.stderr and "MAAS-NOPE-001" in run.stderr
