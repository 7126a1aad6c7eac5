"""Secrets written where they don't belong, seen where the plan masks them: secret inputs the
program wrote as literals (plan.checked), credentials in plain stack config (MAAS-SEC-020), and
objects the Kubernetes provider names itself."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from maas_platform.plan import plan_project
from maas_platform.plan.checked import autonamed_kubernetes, written_credentials
from maas_platform.policy.secrets import config_credentials
from maas_platform.wire import SECRET_SIG, SIG_KEY

OPENAI = "sk-proj-" + "Q3xv9TgWm2LrZb7KpN4sYd8H"  # shaped like an OpenAI key, never a real one


def _secret(value):
    return {SIG_KEY: SECRET_SIG, "value": value}


def test_a_literal_inside_a_secret_input_is_named_by_path_and_kind_never_by_value():
    found = written_credentials({"stringData": {"api-key": _secret(OPENAI)}, "type": "Opaque"}, frozenset())
    assert found == [{"path": "stringData.api-key", "kind": "an OpenAI API key"}]
    assert OPENAI not in repr(found) and OPENAI[-6:] not in repr(found)


def test_a_secret_computed_by_another_resource_or_from_encrypted_config_passes():
    # A generated password (the input depends on the RandomPassword) and an encrypted config value,
    # which reaches the offline program as "[secret]".
    assert written_credentials({"stringData": _secret({"password": "a1b2c3d4e5f6a7b8c9d0"})},
                               frozenset({"stringData"})) == []
    assert written_credentials({"value": _secret("[secret]")}, frozenset()) == []


def test_a_literal_secret_of_no_known_shape_is_still_written_in_the_program():
    found = written_credentials({"value": _secret("Sup3rS3cret!")}, frozenset())
    assert found == [{"path": "value", "kind": "a value its provider keeps secret"}]


@pytest.mark.parametrize("type_token, metadata, named_by_provider", [
    ("kubernetes:core/v1:ConfigMap", {"namespace": "intake"}, True),
    ("kubernetes:core/v1:ConfigMap", {"name": "settings"}, False),
    ("kubernetes:core/v1:Pod", {"generateName": "job-"}, False),
    ("kubernetes:apps/v1:DeploymentPatch", {}, False),  # a patch names its target
    ("kubernetes:helm.sh/v3:Release", {}, False),
    ("aws:s3/bucketV2:BucketV2", {}, False),
])
def test_which_objects_the_kubernetes_provider_names_itself(type_token, metadata, named_by_provider):
    assert autonamed_kubernetes(type_token, {"metadata": metadata}) is named_by_provider


def test_plain_stack_config_holding_a_credential_is_a_finding_that_never_prints_it():
    config = {
        "maas:environment": "dev",
        "maas:agents": [{"name": "intake", "env": {"MODEL": "gpt-4.1-mini"}}],
        "maas:alerting": {"webhook": f"https://hooks.example.com/x?token={OPENAI}"},
        "maas:openai_key": "[secret]",  # encrypted: passes
    }
    notices = config_credentials(config)
    assert [n.policy for n in notices] == ["MAAS-SEC-020"]
    assert notices[0].message.startswith("maas:alerting.webhook holds an OpenAI API key in plain text")
    assert OPENAI not in notices[0].message


def test_the_shipped_stack_files_hold_no_credential_in_plain_text():
    from maas_platform.plan import load_stack_config

    root = Path(__file__).resolve().parents[1]
    for path in [*sorted((root / "stacks").glob("Pulumi.*.yaml")), root / "stacks/teams/example/Pulumi.dev.yaml"]:
        config, _ = load_stack_config(path)
        assert config_credentials(config) == [], path


def _program(tmp_path: Path, body: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: written\nruntime: python\n")
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  maas:environment: prod\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(body))
    return tmp_path


def test_a_program_writing_an_ssm_password_literally_is_caught_though_the_plan_masks_it(tmp_path):
    program = _program(tmp_path, """
        import pulumi_aws as aws
        aws.ssm.Parameter("db-password", type="String", value="Sup3rS3cret!",
                          tags={"environment": "prod", "team": "t", "cost-center": "c", "managed-by": "pulumi"})
    """)
    plan = plan_project(program, stack="prod")
    parameter = next(r for r in plan.resources if r.type == "aws:ssm/parameter:Parameter")
    assert parameter.inputs["value"] == "[secret]", "the plan masks it"
    assert [v["policy"] for v in plan.violations if v["urn"] == parameter.urn] == ["MAAS-SEC-019"]
    assert "Sup3rS3cret" not in plan.to_json()


def test_a_config_secret_passed_to_the_same_parameter_passes(tmp_path):
    program = _program(tmp_path, """
        import pulumi
        import pulumi_aws as aws
        aws.ssm.Parameter("db-password", type="SecureString", value=pulumi.Config("app").require_secret("password"),
                          tags={"environment": "prod", "team": "t", "cost-center": "c", "managed-by": "pulumi"})
    """)
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n  maas:environment: prod\n  app:password:\n    secure: AAABAKzQ7wEv\n")
    plan = plan_project(program, stack="prod")
    assert [v for v in plan.violations if v["policy"] in ("MAAS-SEC-017", "MAAS-SEC-019")] == []


def test_a_kubernetes_object_without_a_name_is_judged_by_the_name_its_provider_gives_it(tmp_path):
    program = _program(tmp_path, """
        import pulumi_kubernetes as k8s
        ns = k8s.core.v1.Namespace("agents")
        k8s.core.v1.ConfigMap("settings", metadata={"namespace": ns.metadata.name}, data={"LOG_LEVEL": "info"})
    """)
    plan = plan_project(program, stack="prod")
    namespace = next(r for r in plan.resources if r.type == "kubernetes:core/v1:Namespace")
    config_map = next(r for r in plan.resources if r.type == "kubernetes:core/v1:ConfigMap")
    assert namespace.inputs["metadata"]["name"].startswith("agents-")
    assert config_map.inputs["metadata"]["namespace"] == namespace.inputs["metadata"]["name"]
