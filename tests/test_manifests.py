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
    version = plan.of_type("aws:eks/cluster:Cluster")[0]["inputs"]["version"]
    written = write_exports(plan, tmp_path)
    manifests = [p for p in written if p.parent.name == "manifests"]
    assert len(manifests) == len(kubernetes_objects(plan)) >= 2
    for path in manifests:
        document = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(document, f"{version}.0", strict=True)


def test_validation_catches_a_broken_manifest(dev):
    broken = dict(kubernetes_objects(dev)[0])
    broken["spec"] = {"notAField": True}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.35.0", strict=True)


def test_platform_namespace_enforces_pod_security_restricted(dev):
    (namespace,) = [o for o in kubernetes_objects(dev) if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_default_storage_class_is_encrypted_with_the_platform_key(prod):
    (storage,) = [o for o in kubernetes_objects(prod) if o["kind"] == "StorageClass"]
    assert storage["parameters"]["encrypted"] == "true"
    assert storage["parameters"]["kmsKeyId"] == prod.outputs["ebs_key_arn"]
    assert storage["reclaimPolicy"] == "Retain", "prod keeps volumes when a claim is deleted"
