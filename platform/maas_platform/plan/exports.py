"""Files written by ``maas plan --out DIR``: the plan and every Kubernetes object as YAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from . import Plan

# Inputs the Kubernetes SDK sends that are not part of the object.
_NOT_IN_MANIFEST = {"__meta"}


def kubernetes_objects(plan: Plan) -> list[dict[str, Any]]:
    """Every Kubernetes object in the plan, as the manifest the provider would apply."""
    objects = []
    for resource in plan.cloud_resources():
        if not resource["type"].startswith("kubernetes:") or resource["type"].startswith("kubernetes:helm"):
            continue
        inputs = {k: v for k, v in resource["inputs"].items() if k not in _NOT_IN_MANIFEST}
        if "apiVersion" not in inputs or "kind" not in inputs:
            continue
        head = {"apiVersion": inputs.pop("apiVersion"), "kind": inputs.pop("kind"), "metadata": inputs.pop("metadata", {})}
        objects.append({**head, **inputs})
    return objects


def manifest_filename(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    parts = [obj["kind"], metadata.get("namespace") or "cluster", metadata.get("name") or "unnamed"]
    return re.sub(r"[^a-z0-9.-]+", "-", "_".join(parts).lower().replace("_", "--")) + ".yaml"


def write_exports(plan: Plan, out: Path) -> list[Path]:
    """Write ``plan.json`` and ``manifests/*.yaml`` under ``out``; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "plan.json"]
    written[0].write_text(plan.to_json())
    manifests = out / "manifests"
    manifests.mkdir(exist_ok=True)
    for stale in manifests.glob("*.yaml"):
        stale.unlink()
    for obj in kubernetes_objects(plan):
        path = manifests / manifest_filename(obj)
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        written.append(path)
    return written
