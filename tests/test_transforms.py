"""Transforms the engine runs (``ResourceOptions.transforms``, stack and invoke transforms) are
run by the offline plan too, in the engine's order: the plan records, and every rule judges,
what ``pulumi up`` would deploy. A transform that fails, or sets what the plan cannot honour,
stops the plan as the program's failure (exit 3) at the transform's line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from maas_platform.plan import plan_project
from maas_platform.plan.engine import ProgramFailure
from maas_platform.plan.model import Plan, PlannedResource

HEADER = '''import asyncio
import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
'''

# A Deployment that passes every Kubernetes rule as written.
DEPLOYMENT = '''
CONTAINER = {
    "name": "web", "image": "public.ecr.aws/nginx/nginx@sha256:" + "a" * 64,
    "securityContext": {"privileged": False, "allowPrivilegeEscalation": False, "runAsNonRoot": True,
                        "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"}},
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}},
    "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
}
k8s.apps.v1.Deployment("web", metadata={"namespace": "team-a"}, spec={
    "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}},
                 "spec": {"containers": [CONTAINER], "serviceAccountName": "web",
                          "automountServiceAccountToken": False}}})
'''


def project(tmp_path: Path, body: str) -> Path:
    """A one-file Pulumi project for the prod environment in ``tmp_path``."""
    (tmp_path / "Pulumi.yaml").write_text("name: transformed\nruntime: python\n")
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  maas:environment: prod\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(HEADER + body)
    return tmp_path


def plan(tmp_path: Path, body: str) -> Plan:
    return plan_project(project(tmp_path, body), stack="prod")


def one(result: Plan, type_token: str, name: str) -> PlannedResource:
    [found] = [r for r in result.resources if r.type == type_token and r.name == name]
    return found


def policies(result: Plan, resource: PlannedResource) -> set[str]:
    return {v["policy"] for v in result.violations if v["urn"] == resource.urn and v["level"] == "mandatory"}


def maas(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def line_of(directory: Path, marker: str) -> int:
    lines = (directory / "__main__.py").read_text().splitlines()
    return next(number for number, text in enumerate(lines, 1) if marker in text)


PRIVILEGED = '''
def privileged(args):
    if args.type_ != "kubernetes:apps/v1:Deployment":
        return None
    props = dict(args.props)
    for container in props["spec"]["template"]["spec"]["containers"]:
        container["securityContext"]["privileged"] = True
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)


pulumi.runtime.register_resource_transform(privileged)
'''


def test_a_stack_transform_that_makes_a_container_privileged_is_judged(tmp_path):
    result = plan(tmp_path, PRIVILEGED + DEPLOYMENT)
    deployment = one(result, "kubernetes:apps/v1:Deployment", "web")
    container = deployment.inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["privileged"] is True
    assert "MAAS-K8S-002" in policies(result, deployment)


def test_the_same_deployment_without_the_transform_passes(tmp_path):
    result = plan(tmp_path, DEPLOYMENT)
    assert "MAAS-K8S-002" not in policies(result, one(result, "kubernetes:apps/v1:Deployment", "web"))


COMPONENT_QUEUE = '''
class Inbox(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("team:messaging:Inbox", name, None, opts)
        key = aws.kms.Key(f"{name}-key", enable_key_rotation=True, opts=pulumi.ResourceOptions(parent=self))
        self.queue = aws.sqs.Queue(f"{name}-queue", kms_master_key_id=key.arn,
                                   opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def unencrypted(args):
    if args.type_ == "aws:sqs/queue:Queue":
        props = {k: v for k, v in args.props.items() if k != "kmsMasterKeyId"}
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)


Inbox("orders", opts=pulumi.ResourceOptions(transforms=[unencrypted]))
'''


def test_a_components_transform_that_drops_its_childs_key_is_judged(tmp_path):
    result = plan(tmp_path, COMPONENT_QUEUE)
    queue = one(result, "aws:sqs/queue:Queue", "orders-queue")
    assert "kmsMasterKeyId" not in queue.inputs
    assert "MAAS-SEC-003" in policies(result, queue)


def test_a_transform_that_adds_tags_is_recorded(tmp_path):
    result = plan(tmp_path, '''
def tagged(args):
    if args.custom and args.type_.startswith("aws:"):
        return pulumi.ResourceTransformResult(
            props={**args.props, "tags": {**(args.props.get("tags") or {}), "cost-center": "cc-42"}},
            opts=args.opts)


pulumi.runtime.register_resource_transform(tagged)
aws.sqs.Queue("jobs", tags={"team": "a"})
''')
    assert one(result, "aws:sqs/queue:Queue", "jobs").inputs["tags"] == {"team": "a", "cost-center": "cc-42"}


def test_an_async_transform_is_awaited(tmp_path):
    result = plan(tmp_path, '''
async def later(args):
    await asyncio.sleep(0)
    return pulumi.ResourceTransformResult(props={**args.props, "sqsManagedSseEnabled": False}, opts=args.opts)


aws.sqs.Queue("jobs", opts=pulumi.ResourceOptions(transforms=[later]))
''')
    assert one(result, "aws:sqs/queue:Queue", "jobs").inputs["sqsManagedSseEnabled"] is False


def test_transforms_run_in_the_engines_order_own_then_ancestors_then_stack(tmp_path):
    result = plan(tmp_path, '''
def marking(mark):
    def transform(args):
        if args.custom:
            tags = args.props.get("tags") or {}
            return pulumi.ResourceTransformResult(
                props={**args.props, "tags": {"order": tags.get("order", "") + mark}}, opts=args.opts)
    return transform


pulumi.runtime.register_resource_transform(marking("S"))
outer = pulumi.ComponentResource("team:x:Outer", "outer", None,
                                 pulumi.ResourceOptions(transforms=[marking("G")]))
inner = pulumi.ComponentResource("team:x:Inner", "inner", None,
                                 pulumi.ResourceOptions(parent=outer, transforms=[marking("P")]))
aws.sqs.Queue("jobs", opts=pulumi.ResourceOptions(parent=inner, transforms=[marking("1"), marking("2")]))
pulumi.runtime.register_resource_transform(marking("L"))
aws.sqs.Queue("after", opts=pulumi.ResourceOptions(parent=inner))
''')
    assert one(result, "aws:sqs/queue:Queue", "jobs").inputs["tags"] == {"order": "12PGS"}
    assert one(result, "aws:sqs/queue:Queue", "after").inputs["tags"] == {"order": "PGSL"}


def test_options_a_transform_sets_are_recorded(tmp_path):
    result = plan(tmp_path, '''
def protected(args):
    return pulumi.ResourceTransformResult(
        props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=True)))


def unchanged(args):
    return pulumi.ResourceTransformResult(props=args.props, opts=args.opts)


aws.sqs.Queue("jobs", opts=pulumi.ResourceOptions(transforms=[protected]))
aws.sqs.Queue("plain")
aws.sqs.Queue("kept", opts=pulumi.ResourceOptions(protect=True, aliases=[pulumi.Alias(name="old")],
                                                   transforms=[unchanged]))
''')
    assert one(result, "aws:sqs/queue:Queue", "jobs").protect is True
    assert one(result, "aws:sqs/queue:Queue", "plain").protect is False
    kept = one(result, "aws:sqs/queue:Queue", "kept")
    assert kept.protect is True and kept.aliases == (kept.urn.replace("::kept", "::old"),)


def test_a_transform_that_changes_nothing_keeps_secrets_and_references(tmp_path):
    result = plan(tmp_path, '''
def nothing(args):
    return None


key = aws.kms.Key("key", enable_key_rotation=True)
queue = aws.sqs.Queue("jobs", kms_master_key_id=key.arn, opts=pulumi.ResourceOptions(transforms=[nothing]))
aws.ssm.Parameter("token", type="SecureString", value=pulumi.Output.secret("s3cr3t"),
                  opts=pulumi.ResourceOptions(transforms=[nothing]))
''')
    key, queue = one(result, "aws:kms/key:Key", "key"), one(result, "aws:sqs/queue:Queue", "jobs")
    assert queue.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.urn in queue.dependencies and key.urn in queue.property_dependencies["kmsMasterKeyId"]
    assert "s3cr3t" not in str(one(result, "aws:ssm/parameter:Parameter", "token").inputs)


def test_an_invoke_transform_changes_what_get_policy_document_answers(tmp_path):
    result = plan(tmp_path, '''
def everything(args):
    if args.token == "aws:iam/getPolicyDocument:getPolicyDocument":
        statements = [{**s, "actions": ["*"], "resources": ["*"]} for s in args.args["statements"]]
        return pulumi.InvokeTransformResult(args={**args.args, "statements": statements}, opts=args.opts)


pulumi.runtime.register_invoke_transform(everything)
document = aws.iam.get_policy_document(statements=[{"actions": ["s3:GetObject"],
                                                    "resources": ["arn:aws:s3:::claims/*"]}])
pulumi.export("policy", document.json)
''')
    exported = result.stack_outputs().values["policy"]
    assert '"Action": "*"' in exported and "s3:GetObject" not in exported


RAISING = '''
def broken(args):
    raise KeyError("image")  # the transform's own line


aws.sqs.Queue("jobs", opts=pulumi.ResourceOptions(transforms=[broken]))
'''


def test_a_transform_that_raises_is_the_programs_failure_at_its_line(tmp_path):
    directory = project(tmp_path, RAISING)
    with pytest.raises(ProgramFailure) as failed:
        plan_project(directory, stack="prod")
    assert failed.value.kind == "KeyError"
    assert failed.value.where.endswith(f"__main__.py:{line_of(directory, 'the transform')}")

    result = maas("plan", "--project-dir", str(directory), "--stack", "prod", "--quiet")
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"__main__.py:{line_of(directory, 'the transform')}: KeyError: 'image'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("option", ["version='6.0.0'", "plugin_download_url='https://example.com/provider'",
                                    "hooks=pulumi.ResourceHookBinding(before_create=[HOOK])"])
def test_a_transform_that_changes_the_provider_plugin_or_adds_hooks_is_refused(tmp_path, option):
    directory = project(tmp_path, f'''
HOOK = pulumi.ResourceHook("call-home", lambda args: None)


def elsewhere(args):  # swaps the plugin
    return pulumi.ResourceTransformResult(
        props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions({option})))


aws.sqs.Queue("jobs", opts=pulumi.ResourceOptions(transforms=[elsewhere]))
''')
    with pytest.raises(ProgramFailure) as failed:
        plan_project(directory, stack="prod")
    assert failed.value.where.endswith(f"__main__.py:{line_of(directory, 'swaps the plugin')}")
    assert "aws:sqs/queue:Queue 'jobs'" in failed.value.message
