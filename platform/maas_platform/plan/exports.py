"""Files written by ``maas plan --out DIR``: the plan, its AWS resources as a Terraform plan
(``tfplan.json``, for checkov) and every Kubernetes object as YAML."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from .model import Plan
from .tfplan import terraform_plan

# Inputs the Kubernetes SDK sends that are not part of the object.
_NOT_IN_MANIFEST = {"__meta"}


def kubernetes_objects(plan: Plan) -> list[dict[str, Any]]:
    """Every Kubernetes object in the plan, as the manifest the provider would apply."""
    objects = []
    for resource in plan.cloud_resources():
        if not resource.type.startswith("kubernetes:") or resource.type.startswith("kubernetes:helm"):
            continue
        inputs = {k: v for k, v in resource.inputs.items() if k not in _NOT_IN_MANIFEST}
        if "apiVersion" not in inputs or "kind" not in inputs:
            continue
        head = {"apiVersion": inputs.pop("apiVersion"), "kind": inputs.pop("kind"), "metadata": inputs.pop("metadata", {})}
        objects.append({**head, **inputs})
    return objects


def manifest_filename(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    parts = [obj["kind"], metadata.get("namespace") or "cluster", metadata.get("name") or "unnamed"]
    return re.sub(r"[^a-z0-9.-]+", "-", "_".join(parts).lower().replace("_", "--")) + ".yaml"


def rule_files(plan: Plan) -> dict[str, dict[str, Any]]:
    """Each PrometheusRule's groups in promtool's plain ``groups:`` form, by namespace."""
    files: dict[str, dict[str, Any]] = {}
    for obj in kubernetes_objects(plan):
        if obj["kind"] == "PrometheusRule":
            namespace = (obj.get("metadata") or {}).get("namespace") or "cluster"
            files.setdefault(namespace, {"groups": []})["groups"] += obj["spec"]["groups"]
    return files


def openslo_documents(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """OpenSLO documents of every agent and every flow, from the plan's ``agents`` and ``flows``
    outputs, by agent name and ``flow <name>``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for output, key in (("agents", "{}"), ("flows", "flow {}")):
        records = plan.outputs.get(output)
        if isinstance(records, dict):
            found.update({key.format(name): list(record.get("slos") or [])
                          for name, record in sorted(records.items()) if isinstance(record, dict)})
    return found


def _write_dir(directory: Path, files: dict[str, str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.yaml"):
        stale.unlink()
    written = []
    for name, text in sorted(files.items()):
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def write_exports(plan: Plan, out: Path) -> list[Path]:
    """Write ``plan.json``, ``tfplan.json``, ``manifests/*.yaml``, ``rules/<agent>.yaml`` and
    ``openslo/*.yaml`` under ``out``; return the files written (plan.json first, tfplan.json
    second, then the manifests)."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "plan.json", out / "tfplan.json"]
    written[0].write_text(plan.to_json())
    written[1].write_text(json.dumps(terraform_plan(plan), indent=2) + "\n")
    manifests = out / "manifests"
    manifests.mkdir(exist_ok=True)
    for stale in manifests.glob("*.yaml"):
        stale.unlink()
    for obj in kubernetes_objects(plan):
        path = manifests / manifest_filename(obj)
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        written.append(path)
    rules = {f"{namespace}.yaml": yaml.safe_dump(groups, sort_keys=False) for namespace, groups in rule_files(plan).items()}
    written += _write_dir(out / "rules", rules)
    slos = {
        f"{doc['metadata']['name']}.yaml": yaml.safe_dump(doc, sort_keys=False)
        for docs in openslo_documents(plan).values() for doc in docs
    }
    written += _write_dir(out / "openslo", slos)
    return written
