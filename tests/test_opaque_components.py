"""MAAS-STK-009: a component whose objects only its provider creates is refused; inline
yaml/v2 manifests and v1 yaml components are expanded, so every rule judges their objects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from maas_platform.policy import get_rule
from maas_platform.policy.catalog import evaluate
from maas_platform.policy.core import UNKNOWN, Context, Resource, check_resource

RULE = get_rule("MAAS-STK-009")
PRIVILEGED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", securityContext: {privileged: true}}]
"""


def component(type_: str, remote: bool = True, **props) -> Resource:
    return Resource(type=type_, name="c", props=props, urn=f"urn:pulumi:dev::p::{type_}::c", remote=remote)


@pytest.mark.parametrize("type_, props, alternative", [
    ("kubernetes:yaml/v2:ConfigFile", {"file": "m.yaml"}, "kubernetes.yaml.ConfigFile"),
    ("kubernetes:yaml/v2:ConfigGroup", {"files": ["m.yaml"]}, "inline the manifests"),
    ("kubernetes:yaml/v2:ConfigGroup", {"yaml": UNKNOWN}, "inline the manifests"),
    ("kubernetes:helm.sh/v4:Chart", {"chart": "nginx"}, "kubernetes.helm.v3.Release"),
    ("kubernetes:kustomize/v2:Directory", {"directory": "./k"}, "kustomize build"),
    ("eks:index:Cluster", {}, "pulumi_aws.eks"),
    ("awsx:ec2:Vpc", {}, "aws.ec2.Vpc"),
    ("acme:index:Anything", {}, "typed resources"),
])
def test_an_opaque_component_is_refused_naming_the_alternative(type_, props, alternative):
    messages = check_resource(RULE, component(type_, **props), Context())
    assert len(messages) == 1 and alternative in messages[0]
    assert RULE.level == "mandatory"


def test_an_opaque_token_is_refused_even_when_not_marked_remote():
    assert check_resource(RULE, component("kubernetes:helm.sh/v4:Chart", remote=False), Context())


@pytest.mark.parametrize("resource", [
    component("kubernetes:yaml/v2:ConfigGroup", yaml=PRIVILEGED),
    component("kubernetes:yaml/v2:ConfigGroup", objs=[{"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": "demo"}}]),
    component("maas:agent:AgentService", remote=False),
    Resource(type="kubernetes:helm.sh/v3:Release", name="r", props={"chart": "x"}),
])
def test_what_the_plan_sees_passes(resource):
    assert check_resource(RULE, resource, Context()) == []


def test_inline_manifests_are_judged_as_objects_of_their_own():
    group = component("kubernetes:yaml/v2:ConfigGroup", yaml=PRIVILEGED)
    found = evaluate([group], Context(), only=["MAAS-K8S-002", "MAAS-STK-009"]).violations
    assert [(v["policy"], v["urn"]) for v in found] == [
        ("MAAS-K8S-002", "urn:pulumi:dev::p::kubernetes:yaml/v2:ConfigGroup$kubernetes:apps/v1:Deployment::c:demo/web")]


# --- through maas plan --------------------------------------------------------------------------

def plan(tmp_path: Path, program: str) -> tuple[subprocess.CompletedProcess, dict]:
    (tmp_path / "Pulumi.yaml").write_text("name: opaque\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  maas:environment: dev\n")
    (tmp_path / "__main__.py").write_text(program)
    (tmp_path / "m.yaml").write_text(PRIVILEGED)
    out = tmp_path / "plan.json"
    result = subprocess.run([sys.executable, "-m", "maas_platform.cli", "plan", "--project-dir", str(tmp_path),
                             "--stack", "dev", "--quiet", "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    return result, (json.loads(out.read_text()) if out.exists() else {})


def test_maas_plan_refuses_provider_side_components(tmp_path):
    result, planned = plan(tmp_path, """
import pulumi_kubernetes as k8s
k8s.yaml.v2.ConfigFile("cf", file="m.yaml")
k8s.helm.v4.Chart("chart", chart="nginx", repository_opts={"repo": "https://charts.bitnami.com/bitnami"})
k8s.kustomize.v2.Directory("kz", directory="./overlay")
""")
    assert result.returncode == 1, result.stderr
    refused = sorted(v["urn"].split("::")[-1] for v in planned["violations"] if v["policy"] == "MAAS-STK-009")
    assert refused == ["cf", "chart", "kz"]
    assert "MAAS-STK-009" in result.stderr


def test_maas_plan_judges_the_objects_of_a_v1_config_file(tmp_path):
    result, planned = plan(tmp_path, 'import pulumi_kubernetes as k8s\nk8s.yaml.ConfigFile("cf", file="m.yaml")\n')
    assert result.returncode == 1, result.stderr
    assert "kubernetes:apps/v1:Deployment" in {r["type"] for r in planned["resources"]}
    assert any(v["policy"] == "MAAS-K8S-002" for v in planned["violations"])
    assert not any(v["policy"] == "MAAS-STK-009" for v in planned["violations"])
