"""The plan gate (``maas_platform.policy.gate``): ``maas:policy`` checked against the catalog where
the rules run, its result with the not-evaluable outcome, and the engine kept apart from the
rule modules it runs."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
import yaml

from conftest import ENVIRONMENTS, ROOT
from maas_platform.config.loader import ConfigError
from maas_platform.plan import plan_project
from maas_platform.policy import Context, Resource, Settings, evaluate, rules
from maas_platform.config.policy import PolicyConfig
from maas_platform.policy.core import Exemption
from maas_platform.policy.gate import GateResult, checked_policy_config, gate, plan_resources

POLICY = ROOT / "platform" / "maas_platform" / "policy"
SOURCE = "stacks/Pulumi.dev.yaml"
U = "[unknown]"


# -- maas:policy: its shape in the config, its IDs in the gate -------------------------------------

def test_config_validation_checks_the_shape_only():
    """A well-formed ID that no rule has is the gate's to refuse, not the config model's."""
    policy = PolicyConfig.model_validate({
        "enforcement": {"MAAS-NOPE-999": "advisory"},
        "exemptions": [{"policy": "MAAS-NOPE-001", "resources": ["x"], "reason": "reviewed in SEC-9", "expires": "2027-03-01"}],
    })
    assert policy.policy_ids() == [("enforcement.MAAS-NOPE-999", "MAAS-NOPE-999"),
                                   ("exemptions[0].policy", "MAAS-NOPE-001")]
    for wrong in ({"enforcement": {"nope": "advisory"}}, {"enforcement": {"MAAS-SEC-001": "sometimes"}},
                  {"exemptions": [{"policy": "MAAS-SEC-001", "resources": [], "reason": "reviewed in SEC-9", "expires": "2027-03-01"}]},
                  {"exemptions": [{"policy": "MAAS-SEC-001", "resources": ["x"], "reason": "short"}]}):
        with pytest.raises(ValueError):
            PolicyConfig.model_validate(wrong)


@pytest.mark.parametrize("policy, key", [
    ({"enforcement": {"MAAS-SEC-001": "advisory", "MAAS-NOPE-999": "advisory"}}, "maas:policy.enforcement.MAAS-NOPE-999"),
    ({"exemptions": [
        {"policy": "MAAS-SEC-001", "resources": ["x"], "reason": "reviewed in SEC-9", "expires": "2027-03-01"},
        {"policy": "MAAS-NOPE-001", "resources": ["x"], "reason": "reviewed in SEC-9", "expires": "2027-03-01"},
    ]}, "maas:policy.exemptions[1].policy"),
])
def test_the_gate_refuses_an_unknown_policy_id_in_one_line_naming_the_key(policy, key):
    with pytest.raises(ConfigError) as error:
        checked_policy_config({"maas:policy": policy}, SOURCE)
    message = str(error.value)
    assert message.startswith(f"{key}: ") and "is not a known policy" in message
    assert "maas reference policies" in message and "docs/policies.md" in message and SOURCE in message
    assert "\n" not in message


def test_a_plan_whose_maas_policy_names_an_unknown_rule_stops_before_any_rule_runs(tmp_path):
    stack = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging.yaml").read_text())
    stack["config"]["maas:policy"] = {"enforcement": {"MAAS-NOPE-999": "disabled"}}
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(yaml.safe_dump(stack))
    with pytest.raises(ConfigError) as error:
        plan_project(ROOT, config_file=path)
    assert str(error.value).startswith("maas:policy.enforcement.MAAS-NOPE-999: 'MAAS-NOPE-999' is not a known policy")


# -- the result --------------------------------------------------------------------------------

class _Plan:
    def __init__(self, resources: list[dict]):
        self._resources = resources

    def cloud_resources(self) -> list[dict]:
        return self._resources


def _queue(name: str, **inputs) -> dict:
    return {"type": "aws:sqs/queue:Queue", "name": name, "urn": f"urn:pulumi:dev::p::aws:sqs/queue:Queue::{name}",
            "inputs": {"name": name, **inputs}, "parent": None, "protect": False}


def test_the_gate_result_lists_what_could_not_be_evaluated_and_still_unpacks_in_two():
    plan = _Plan([_queue("orders", kmsMasterKeyId=U), _queue("plain")])
    result = gate(plan, {}, "dev")
    assert isinstance(result, GateResult) and dataclasses.is_dataclass(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.violations = []  # type: ignore[misc]
    unknown = [e for e in result.not_evaluable if e["policy"] == "MAAS-SEC-003"]
    assert unknown == [{"policy": "MAAS-SEC-003", "severity": "high", "urn": plan._resources[0]["urn"],
                        "message": "not evaluable: kmsMasterKeyId is known only after apply",
                        "property": "kmsMasterKeyId"}]
    sec_003 = [v for v in result.violations if v["policy"] == "MAAS-SEC-003"]
    assert [v["urn"] for v in sec_003] == [plan._resources[1]["urn"]], "only the queue without a key violates"
    violations, exempted = result
    assert violations is result.violations and exempted is result.exempted


def test_not_evaluable_is_advisory_and_follows_enforcement_and_exemptions():
    queue = Resource(type="aws:sqs/queue:Queue", name="orders", props={"kmsMasterKeyId": U}, urn="urn:orders")
    context = Context.for_environment("prod")
    assert evaluate([queue], context, only=["MAAS-SEC-003"]).not_evaluable
    disabled = Settings(enforcement={"MAAS-SEC-003": "disabled"})
    assert evaluate([queue], context, disabled, only=["MAAS-SEC-003"]).not_evaluable == []
    exempt = Settings(exemptions=(Exemption("MAAS-SEC-003", ("orders",), "reviewed in SEC-9"),))
    assert evaluate([queue], context, exempt, only=["MAAS-SEC-003"]).not_evaluable == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_an_offline_plan_knows_every_value_so_nothing_is_not_evaluable(plans, env):
    found = evaluate(plan_resources(plans[env]), Context.for_environment(env))
    assert found.not_evaluable == []


# -- the engine and its catalog --------------------------------------------------------------------

def _imports(path: Path) -> set[str]:
    """The modules a file imports (relative imports as written: ``.catalog``, ``..markers``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.update({base} if node.module else {f"{base}{alias.name}" for alias in node.names})
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_engine_imports_no_rule_module_and_the_catalog_lists_every_one():
    assert _imports(POLICY / "core.py") <= {"__future__", "collections.abc", "datetime", "fnmatch", "functools", "dataclasses",
                                          "typing", "..names", "..markers"}
    from maas_platform.policy.catalog import MODULES

    modules = {rule.check.__module__ for rule in rules()}
    # Every listed module contributes rules, and every rule comes from a listed module.
    assert modules == {module.__name__ for module in MODULES}
    assert {f"maas_platform.policy.{name}" for name in (
        "aws.encryption", "aws.exposure", "aws.iam", "aws.logs", "aws.recovery", "aws.tags", "kubernetes.pods",
        "kubernetes.objects", "kubernetes.tenancy", "stack", "governance")} <= modules
    assert {".stack", ".aws", ".kubernetes"} <= _imports(POLICY / "catalog.py")


def test_rule_modules_read_shared_names_from_the_names_module():
    """Type tokens and label keys that several modules use are declared in maas_platform.names only."""
    for path in POLICY.rglob("*.py"):
        source = path.read_text()
        for literal in ('"aws:sqs/queue:Queue"', '"maas.dev/agent"', '"pods.eks.amazonaws.com"',
                        '"pod-security.kubernetes.io/enforce"', '"aws:budgets/budget:Budget"'):
            assert literal not in source, f"{path.relative_to(ROOT)} declares {literal}"


def test_the_policy_config_imports_first_in_a_fresh_interpreter():
    """``PlatformConfig`` holds a ``PolicyConfig``: importing the policy config first must not
    run the config package half-way into a circular import."""
    import subprocess
    import sys

    for module in ("maas_platform.config.policy", "maas_platform.policy.gate", "maas_platform.policy"):
        run = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr


def test_the_policy_config_is_as_strict_as_every_config_model():
    from maas_platform.config.base import StrictModel

    assert issubclass(PolicyConfig, StrictModel) and PolicyConfig.model_config["extra"] == "forbid"
