"""Every Kubernetes object the plan produces validates against the official schemas."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from conftest import ENVIRONMENTS
from maas_platform.plan.exports import kubernetes_objects, write_exports


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_manifests_validate_for_the_cluster_version(plans, env, tmp_path):
    plan = plans[env]
    version = plan.of_type("aws:eks/cluster:Cluster")[0].inputs["version"]
    written = write_exports(plan, tmp_path)
    manifests = [p for p in written if p.parent.name == "manifests"]
    assert len(manifests) == len(kubernetes_objects(plan)) >= 2
    for path in manifests:
        document = yaml.safe_load(path.read_text())
        if is_custom(document):
            continue  # judged against their add-on's contract below
        kubernetes_validate.validate(document, f"{version}.0", strict=True)


# Custom resources the plan may hold, by the add-on whose CRDs define them.
CUSTOM_API_VERSIONS = {"external-secrets.io/v1", "keda.sh/v1alpha1", "monitoring.coreos.com/v1",
                       "karpenter.sh/v1", "karpenter.k8s.aws/v1", "argoproj.io/v1alpha1"}
CLUSTER_SCOPED = {"ClusterTriggerAuthentication", "NodePool", "EC2NodeClass"}


def is_custom(document) -> bool:
    group = document["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def test_custom_resources_belong_to_installed_add_ons_and_reference_what_exists(dev):
    objects = kubernetes_objects(dev)
    custom = [o for o in objects if is_custom(o)]
    assert custom, "the dev plan's agents sync secrets through External Secrets"
    assert {o["apiVersion"] for o in custom} <= CUSTOM_API_VERSIONS
    stores = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in custom if o["kind"] == "SecretStore"}
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    by_kind_and_name = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}
    assert [o for o in custom if o["kind"] == "Rollout"], "every dev agent's workload is a Rollout"
    for obj in custom:
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"]
            continue
        assert obj["metadata"]["namespace"] in namespaces
        if obj["kind"] == "ExternalSecret":
            store = obj["spec"]["secretStoreRef"]
            assert store["kind"] == "SecretStore", "a namespaced store: an agent never reads through a cluster-wide one"
            assert (obj["metadata"]["namespace"], store["name"]) in stores
            assert obj["spec"]["data"], "an ExternalSecret syncs at least one key"
        if obj["kind"] == "Rollout":
            # The Deployment it takes its pod template from, and the Services it splits traffic over.
            ref = obj["spec"]["workloadRef"]
            assert (ref["kind"], obj["metadata"]["namespace"], ref["name"]) in by_kind_and_name
            canary = obj["spec"]["strategy"]["canary"]
            for key in ("canaryService", "stableService"):
                if key in canary:
                    assert ("Service", obj["metadata"]["namespace"], canary[key]) in by_kind_and_name
            for step in canary.get("steps", []):
                for template in step.get("analysis", {}).get("templates", []):
                    assert ("AnalysisTemplate", obj["metadata"]["namespace"], template["templateName"]) \
                        in by_kind_and_name


def test_validation_catches_a_broken_manifest(dev):
    broken = dict(kubernetes_objects(dev)[0])
    broken["spec"] = {"notAField": True}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.35.0", strict=True)


def test_platform_namespace_enforces_pod_security_restricted(dev):
    (namespace,) = [o for o in kubernetes_objects(dev) if o["kind"] == "Namespace" and o["metadata"]["name"] == "maas-system"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_default_storage_class_is_encrypted_with_the_platform_key(prod):
    (storage,) = [o for o in kubernetes_objects(prod) if o["kind"] == "StorageClass"]
    assert storage["parameters"]["encrypted"] == "true"
    assert storage["parameters"]["kmsKeyId"] == prod.outputs["ebs_key_arn"]
    assert storage["reclaimPolicy"] == "Retain", "prod keeps volumes when a claim is deleted"
