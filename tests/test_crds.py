"""Every custom resource the plans write validates against the CRD schema of the operator we pin.

Core objects are judged by ``kubernetes-validate --strict`` in test_manifests.py. Custom
resources (ServiceMonitor, PrometheusRule, Probe, ScaledObject, ClusterTriggerAuthentication,
ExternalSecret, SecretStore, ...) are collected from every ``kubernetes:*`` resource of the dev,
staging, prod and example team plans and judged against the schema package of their API group
(tests/crd_models.py), unknown fields failing. The schema packages come from PyPI and npm, and
their operator release must be the one the chart pins ship.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest

import crd_models
from conftest import ENVIRONMENTS, ROOT
from crd_models import ALLOWED_GAPS, CATALOG, PLATFORM_API_VERSIONS, normalized
from maas_platform.components.addons import EXTERNAL_SECRETS_CHART, KEDA_CHART
from maas_platform.components.karpenter import KARPENTER_CRD_CHART
from maas_platform.components.observability.charts import KUBE_PROMETHEUS_STACK_CHART
from maas_platform.components.rollouts import ARGO_ROLLOUTS_CHART
from maas_platform.components.signatures import KYVERNO_CHART
from maas_platform.components.workloads import Chart
from maas_platform.plan import Plan, plan_project
from maas_platform.plan.exports import kubernetes_objects
from test_manifests import is_custom

TEAM = ROOT / "stacks" / "teams" / "example"
PLANS = (*ENVIRONMENTS, "team")

# The chart whose app_version is the release of the operator that serves each API group.
OPERATOR_CHARTS: dict[str, Chart] = {
    "monitoring.coreos.com": KUBE_PROMETHEUS_STACK_CHART,  # its appVersion is prometheus-operator's
    "keda.sh": KEDA_CHART,
    "external-secrets.io": EXTERNAL_SECRETS_CHART,
    "karpenter.sh": KARPENTER_CRD_CHART,
    "karpenter.k8s.aws": KARPENTER_CRD_CHART,
    "argoproj.io": ARGO_ROLLOUTS_CHART,  # its appVersion v1.9.0: the CRDs it installs
    "policies.kyverno.io": KYVERNO_CHART,  # the agents' ImageValidatingPolicies
}


@pytest.fixture(scope="session")
def schema_packages() -> Path:
    return crd_models.install()


@pytest.fixture(scope="module")
def all_plans(plans) -> dict[str, Plan]:
    return {**plans, "team": plan_project(TEAM, stack="dev")}


@pytest.fixture(scope="module")
def kubernetes_version(plans) -> str:
    """The platform's cluster version; the team stack deploys onto the dev cluster."""
    return f"{plans['dev'].of_type('aws:eks/cluster:Cluster')[0].inputs['version']}.0"


def object_id(plan: str, obj: dict) -> str:
    metadata = obj.get("metadata") or {}
    return f"{plan}: {obj['kind']} {metadata.get('namespace') or '-'}/{metadata.get('name')}"


@pytest.fixture(scope="module")
def custom_resources(all_plans) -> dict[str, dict[str, dict]]:
    """Each plan's custom resources by id."""
    return {
        name: {object_id(name, o): o for o in kubernetes_objects(plan) if is_custom(o)}
        for name, plan in all_plans.items()
    }


@pytest.fixture(scope="module")
def verdicts(schema_packages, custom_resources, kubernetes_version) -> dict[str, list[tuple[str, str]]]:
    """Findings of every plan's custom resources, judged in one pass."""
    everything = {i: o for objects in custom_resources.values() for i, o in objects.items()}
    return crd_models.judge(everything, kubernetes_version)


# --- the plans' custom resources ---------------------------------------------------------------

@pytest.mark.parametrize("plan", PLANS)
def test_every_custom_resource_validates_against_its_operator_schema(plan, custom_resources, verdicts):
    objects = custom_resources[plan]
    assert objects, f"the {plan} plan writes custom resources (at least the agents' secret sync)"
    problems = [f"{i}: {path or '(object)'}: {message}" for i in objects for path, message in verdicts[i]]
    assert not problems, "\n".join(problems)


def test_custom_resources_are_counted_per_plan_and_kind(custom_resources):
    """The numbers judged, by plan and kind; every plan has its secret sync and KEDA's auth."""
    counts = {plan: Counter(o["kind"] for o in objects.values()) for plan, objects in custom_resources.items()}
    for plan in ENVIRONMENTS:
        assert counts[plan]["ExternalSecret"] >= 1 and counts[plan]["SecretStore"] >= 1, counts[plan]
        assert counts[plan]["ClusterTriggerAuthentication"] == 1, counts[plan]
    assert {"ScaledObject", "ServiceMonitor", "PrometheusRule", "Probe"} <= set(counts["dev"]) & set(counts["team"])


def test_custom_resources_use_only_the_api_versions_whose_schemas_are_prepared(custom_resources):
    used = {o["apiVersion"] for objects in custom_resources.values() for o in objects.values()}
    assert used == set(PLATFORM_API_VERSIONS), "update crd_models.PLATFORM_API_VERSIONS (and CATALOG for a new group)"
    assert {crd_models.group_of(v) for v in used} <= set(CATALOG)


# --- the schema packages and the pinned operators ----------------------------------------------

@pytest.mark.parametrize("group", sorted(CATALOG))
def test_schema_package_is_installed_at_its_recorded_version(group, schema_packages):
    package = CATALOG[group]
    assert crd_models.installed_version(package) == package.version
    sources = crd_models.SOURCES
    if package.registry == "pypi":
        assert f"{package.name}=={package.version} " in (sources / "requirements.txt").read_text()
    else:
        assert json.loads((sources / "package.json").read_text())["dependencies"][package.name] == package.version
    if package.name.startswith("cloudcoil-models-"):
        # cloudcoil versions are <upstream major.minor.patch>.<packaging> (VERSIONING.md).
        assert package.version.rsplit(".", 1)[0] == package.upstream


@pytest.mark.parametrize("group", sorted(OPERATOR_CHARTS))
def test_pinned_operator_is_the_release_the_schema_package_was_generated_from(group):
    package, chart = CATALOG[group], OPERATOR_CHARTS[group]
    pinned, upstream = normalized(chart.app_version), normalized(package.upstream)
    allowed = ALLOWED_GAPS.get(group)
    if pinned == upstream:
        assert allowed is None, f"{group}: the allowed gap {allowed[:2]} is closed; remove it from ALLOWED_GAPS"
        return
    assert allowed is not None and allowed[:2] == (pinned, upstream), (
        f"{group}: chart {chart.name} {chart.version} pins operator {chart.app_version}, but {package.name} "
        f"{package.version} carries the CRDs of {package.upstream}: pin the operator the schemas come from, move "
        f"the schema package to the pinned release, or record the gap with a reason in crd_models.ALLOWED_GAPS"
    )
    assert len(allowed[2]) > 40, "an allowed gap says why"


def test_every_allowed_gap_belongs_to_a_cataloged_group():
    assert set(ALLOWED_GAPS) <= set(OPERATOR_CHARTS)


# --- the judge fails on broken objects, naming the path -----------------------------------------

SERVICE_MONITOR = {
    "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
    "metadata": {"name": "a", "namespace": "a", "labels": {"team": "t"}},
    "spec": {
        "selector": {"matchLabels": {"app": "a"}},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
    },
}
SCALED_OBJECT = {
    "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
    "metadata": {"name": "a", "namespace": "a"},
    "spec": {
        "scaleTargetRef": {"name": "a"},
        "minReplicaCount": 1, "maxReplicaCount": 3,
        "triggers": [{"type": "aws-sqs-queue", "metadata": {"queueLength": "5"},
                      "authenticationRef": {"name": "keda-aws", "kind": "ClusterTriggerAuthentication"}}],
    },
}
EXTERNAL_SECRET = {
    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
    "metadata": {"name": "a", "namespace": "a"},
    "spec": {
        "secretStoreRef": {"kind": "SecretStore", "name": "store"},
        "target": {"name": "a", "creationPolicy": "Owner"},
        "data": [{"secretKey": "KEY", "remoteRef": {"key": "path/to/secret"}}],
    },
}
EC2_NODE_CLASS = {
    "apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
    "metadata": {"name": "default"},
    "spec": {
        "role": "maas-dev-karpenter-node",
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}],
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    },
}
VALID = {"ServiceMonitor": SERVICE_MONITOR, "ScaledObject": SCALED_OBJECT, "ExternalSecret": EXTERNAL_SECRET,
         "EC2NodeClass": EC2_NODE_CLASS}


def _set(obj: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(obj)
    *parents, last = path
    target = changed
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return changed


_DELETE = object()

# (kind, what, path changed, new value, the path a finding must name)
BROKEN = [
    ("ServiceMonitor", "misspelled", ("spec", "endpoints", 0, "scrapeTimout"), "10s", "spec.endpoints[0].scrapeTimout"),
    ("ServiceMonitor", "wrong type", ("spec", "endpoints"), {"port": "http"}, "spec.endpoints"),
    ("ServiceMonitor", "missing required", ("spec", "selector"), _DELETE, "spec.selector"),
    ("ServiceMonitor", "not in the enum", ("spec", "endpoints", 0, "scheme"), "ftp", "spec.endpoints[0].scheme"),
    ("ServiceMonitor", "misspelled metadata", ("metadata", "label"), {"a": "b"}, "metadata.label"),
    ("ScaledObject", "misspelled", ("spec", "triggers", 0, "authenticationRef", "knd"), "X",
     "spec.triggers[0].authenticationRef.knd"),
    ("ScaledObject", "wrong type", ("spec", "minReplicaCount"), "1", "spec.minReplicaCount"),
    ("ScaledObject", "missing required", ("spec", "triggers", 0, "type"), _DELETE, "spec.triggers[0].type"),
    ("ScaledObject", "below the minimum", ("spec", "minReplicaCount"), -1, "spec.minReplicaCount"),
    ("ExternalSecret", "misspelled", ("spec", "data", 0, "remoteRef", "kee"), "x", "spec.data[0].remoteRef.kee"),
    ("ExternalSecret", "wrong type", ("spec", "target", "name"), 7, "spec.target.name"),
    ("ExternalSecret", "missing required", ("spec", "data", 0, "secretKey"), _DELETE, "spec.data[0].secretKey"),
    ("ExternalSecret", "not in the enum", ("spec", "target", "creationPolicy"), "owner", "spec.target.creationPolicy"),
    ("ExternalSecret", "misspelled metadata", ("metadata", "namespac"), "a", "metadata.namespac"),
    ("EC2NodeClass", "misspelled", ("spec", "metadataOptions", "httpPutResponseHopLimt"), 1,
     "spec.metadataOptions.httpPutResponseHopLimt"),
    ("EC2NodeClass", "not in the enum", ("spec", "metadataOptions", "httpTokens"), "always",
     "spec.metadataOptions.httpTokens"),
]


@pytest.fixture(scope="module")
def hand_written_verdicts(schema_packages, kubernetes_version) -> dict[str, list[tuple[str, str]]]:
    objects = {f"valid {kind}": obj for kind, obj in VALID.items()}
    for kind, what, path, value, _ in BROKEN:
        objects[f"{kind} {what}"] = _set(VALID[kind], path, value)
    objects["unknown group"] = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    objects["unknown kind"] = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledWidget", "metadata": {"name": "w"}}
    return crd_models.judge(objects, kubernetes_version)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_hand_written_objects_are_valid_as_written(kind, hand_written_verdicts):
    assert hand_written_verdicts[f"valid {kind}"] == []


@pytest.mark.parametrize("kind, what, changed, value, path", BROKEN, ids=[f"{b[0]}-{b[1]}" for b in BROKEN])
def test_a_broken_custom_resource_is_rejected_naming_the_path(kind, what, changed, value, path, hand_written_verdicts):
    findings = hand_written_verdicts[f"{kind} {what}"]
    assert path in {p for p, _ in findings}, findings


def test_a_kind_or_group_without_a_schema_is_a_finding_not_a_pass(hand_written_verdicts):
    assert any("no schema package for API group 'example.com'" in m for _, m in hand_written_verdicts["unknown group"])
    assert any("has no keda.sh/v1alpha1 ScaledWidget" in m for _, m in hand_written_verdicts["unknown kind"])


# --- reading the cloudcoil models as JSON Schema ----------------------------------------------

GENERATED = '''
class Mode(RootModel[str]):
    root: Annotated[str, Field(pattern="^(a|b)$")]


class Thing(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None


class WidgetSpec(BaseModel):
    class Builder(BaseModelBuilder):
        def replicas(self, value: int | None, /) -> Self: ...

    replicas: Annotated[int | None, Field(alias="replicaCount", ge=1, le=5)] = None
    "Documentation strings are not fields."
    mode: Mode
    policy: Literal["Always", "Never"] | None = None
    items: Annotated[list[str], Field(min_length=1)]
    labels: dict[str, str] | None = None
    thing: Thing | None = None
'''


def test_generated_models_become_a_schema_that_forbids_unknown_fields():
    definitions = crd_models._module_schemas(GENERATED)
    schema = {"$defs": definitions, "$ref": "#/$defs/WidgetSpec"}
    valid = {"replicaCount": 2, "mode": "a", "policy": "Never", "items": ["x"], "labels": {"k": "v"},
             "thing": {"name": "n", "open": True}}
    assert crd_models.schema_findings(valid, schema) == []
    findings = dict(crd_models.schema_findings(
        {"replicas": 2, "mode": "c", "policy": "Sometimes", "items": [], "labels": {"k": 1}}, schema
    ))
    assert findings["replicas"] == "unknown field 'replicas'"  # the JSON name is the alias
    assert "does not match" in findings["mode"]
    assert "is not one of" in findings["policy"]
    assert "should be non-empty" in findings["items"] or "too short" in findings["items"]
    assert "is not of type 'string'" in findings["labels.k"]
    assert dict(crd_models.schema_findings({"mode": "a", "items": ["x"], "replicaCount": 9}, schema)) == {
        "replicaCount": "9 is greater than the maximum of 5"
    }


def test_an_unrecognised_construct_in_a_schema_package_fails_loudly():
    with pytest.raises(ValueError, match="unrecognised annotation"):
        crd_models._module_schemas("class A(BaseModel):\n    x: frozenset[str]\n")
    with pytest.raises(ValueError, match="unrecognised Field argument"):
        crd_models._module_schemas("class A(BaseModel):\n    x: Annotated[str, Field(multiple_of=2)]\n")
