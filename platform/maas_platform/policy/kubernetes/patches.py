"""``…Patch`` resources judged as what they make of their target, and MAAS-K8S-033.

A Patch (``kubernetes:apps/v1:DeploymentPatch``) changes an object that exists already by
Server-Side Apply: it names the object and states only the fields it sets (pulumi-kubernetes
v4.32.0, provider/pkg/gen/schema.go, the Patch resources' description: "The name of the resource
must be specified, but all other properties are optional"; read 2026-12-02). What it omits says
nothing about the object, so judging the patch alone would either blame it for every field it
leaves out or let it set anything. :func:`merge_patches`, a step of the catalog's ``PREPARE``,
replaces each patch by the object it produces, under the patch's URN and name (so findings and
exemptions name the patch) with its target's type token:

* the target is in the stack (same API group and kind, same name, same namespace; a patch that
  states none is in ``default``; or the patch's metadata is computed from the target's
  outputs): the patch merged onto the target as declared. The target is still judged as
  declared too;
* the target is not (a chart's object, one the cluster has already): the patch merged onto an
  object of that kind that passes every rule (:func:`baseline`), so a patch is blamed only for
  what it sets: privileged, hostNetwork, a Service type, a Pod Security label.

The merge is Server-Side Apply's: mappings merged key by key, the lists Kubernetes keys by a field
(containers, volumes, env, ports of a container, ...: :data:`LIST_KEYS`) merged entry by entry,
every other list replaced, and a field set to null removed.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Sequence

from ... import names
from ..core import UNKNOWN, Context, NotEvaluable, Outcome, Resource, resource_rule
from .helpers import CONTAINER_LISTS, NAMESPACE_TYPES, POD_ATTRIBUTION_LABELS, group_of, kind_of, pod_spec_paths, \
    template_path

PATCH_TYPE = re.compile(r"^(kubernetes:[^:]+:)(\w+)Patch$")
# List fields merged entry by entry, and the field that keys their entries (the
# x-kubernetes-list-map-keys / patchMergeKey of the Kubernetes API for these fields).
LIST_KEYS: dict[str, str] = {
    **{key: "name" for key in CONTAINER_LISTS},
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}
DEFAULT_NAMESPACE = "default"
# The image of a baseline container: versioned and pinned by digest (MAAS-K8S-011, 012).
BASELINE_IMAGE = "registry.invalid/baseline:1.0.0@sha256:" + "0" * 64


@dataclass(frozen=True)
class PatchedResource(Resource):
    """The object a patch produces (see the module's description): ``patch`` is what the patch
    states, ``target`` the URN of the object it was merged onto, None for the baseline."""

    patch: Mapping[str, Any] = field(default_factory=dict)
    target: Optional[str] = None


# -- the merge -----------------------------------------------------------------------------------

def merge(base: Any, change: Any, key: str = "") -> Any:
    """``change`` applied to ``base`` as Server-Side Apply merges (see the module's description)."""
    if isinstance(base, Mapping) and isinstance(change, Mapping):
        merged = dict(base)
        for name, value in change.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = merge(base.get(name), value, str(name))
        return merged
    if isinstance(base, list) and isinstance(change, list) and key in LIST_KEYS:
        field_ = LIST_KEYS[key]
        if all(isinstance(e, Mapping) and field_ in e for e in (*base, *change)):
            entries = {entry[field_]: entry for entry in base}
            for entry in change:
                entries[entry[field_]] = merge(entries.get(entry[field_]), entry)
            return list(entries.values())
    return copy.deepcopy(change)


# -- the baseline --------------------------------------------------------------------------------

def secure_container(name: str) -> dict[str, Any]:
    """A container that passes every pod rule (MAAS-K8S-001 to 014)."""
    return {
        "name": name,
        "image": BASELINE_IMAGE,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}},
        "readinessProbe": {"tcpSocket": {"port": 8080}},
        "livenessProbe": {"tcpSocket": {"port": 8080}},
        "securityContext": {
            "runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def secure_pod_spec(patched: Any, account: str) -> dict[str, Any]:
    """A pod spec that passes every pod rule, with a secure container for each container the
    patch names (a container the patch adds starts from one too)."""
    spec: dict[str, Any] = {
        "serviceAccountName": account,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    patched = patched if isinstance(patched, Mapping) else {}
    for key in CONTAINER_LISTS:
        entries = patched.get(key)
        named = [e.get("name") for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []
        if named and all(isinstance(n, str) for n in named):
            spec[key] = [secure_container(str(n)) for n in named]
    spec.setdefault("containers", [secure_container("main")])
    return spec


def _set(props: dict[str, Any], path: str, value: Any) -> None:
    """``value`` at the dotted ``path`` of ``props``, creating mappings on the way (not lists)."""
    node = props
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if child is not None:
                return  # through a list or a value: left to the patch
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def baseline(type_token: str, patch: Mapping[str, Any], environment: Optional[str]) -> dict[str, Any]:
    """An object of ``type_token`` that passes every rule, shaped for what ``patch`` sets."""
    kind = type_token.rsplit(":", 1)[-1]
    metadata = patch.get("metadata") if isinstance(patch.get("metadata"), Mapping) else {}
    labels = {names.MANAGED_BY_LABEL: names.MANAGED_BY}
    if environment:
        labels[names.ENVIRONMENT_LABEL] = environment
    if kind == "Namespace":
        labels.update(names.RESTRICTED_NAMESPACE_LABELS)
    props: dict[str, Any] = {"kind": kind, "metadata": {"labels": labels}}
    if kind == "Service":
        props["spec"] = {"type": "ClusterIP"}
    probe = Resource(type=type_token, name="", props=patch)
    account = metadata.get("name") if isinstance(metadata.get("name"), str) else None
    account = account if account and account not in (UNKNOWN, "default") else "patched"
    for path in pod_spec_paths(probe):
        _set(props, path, secure_pod_spec(probe.get(path), account))
    return props


def _attribute_pods(props: dict[str, Any], type_token: str) -> None:
    """Pod templates of a baseline object carry the object's attribution labels where the patch
    sets none (MAAS-TAG-101 compares them)."""
    labels = props.get("metadata", {}).get("labels")
    if not isinstance(labels, Mapping):
        return
    for path in pod_spec_paths(Resource(type=type_token, name="", props=props)):
        around = template_path(path)
        if not around:
            continue
        template = Resource(type=type_token, name="", props=props).get(around)
        if not isinstance(template, dict):
            continue
        meta = template.setdefault("metadata", {})
        if isinstance(meta, dict):
            pod_labels = meta.setdefault("labels", {})
            if isinstance(pod_labels, dict):
                for label in POD_ATTRIBUTION_LABELS:
                    if label in labels and label not in pod_labels:
                        pod_labels[label] = labels[label]


# -- pairing a patch with its target -------------------------------------------------------------

def _name(resource: Resource) -> Any:
    """The object's name: as declared, else as the provider answered it (an auto-named object)."""
    name = resource.get("metadata.name")
    if name is not None:
        return name
    metadata = resource.outputs.get("metadata")
    return metadata.get("name") if isinstance(metadata, Mapping) else None


def _namespace(resource: Resource) -> Any:
    return resource.get("metadata.namespace") or DEFAULT_NAMESPACE


def find_target(patch: Resource, candidates: Sequence[Resource]) -> Optional[Resource]:
    """The object of the stack ``patch`` changes: by the engine's reference (the patch's metadata
    computed from it), else by name and namespace."""
    for candidate in candidates:
        if candidate.urn and candidate.urn in patch.property_dependencies.get("metadata", ()):
            return candidate
    name = _name(patch)
    if not isinstance(name, str) or name == UNKNOWN or _namespace(patch) == UNKNOWN:
        return None
    return next((c for c in candidates if _name(c) == name and _namespace(c) == _namespace(patch)), None)


def _environment(resources: Sequence[Resource]) -> Optional[str]:
    """The environment the stack's objects are labelled with (the most common), if any."""
    found = Counter(r.labels.get(names.ENVIRONMENT_LABEL) for r in resources if r.type.startswith("kubernetes:"))
    found.pop(None, None)
    found.pop(UNKNOWN, None)
    return str(found.most_common(1)[0][0]) if found else None


def merge_patches(resources: Sequence[Resource]) -> list[Resource]:
    """Each patch replaced by the object it produces (a :class:`PatchedResource`); a stack
    without patches is returned as it is."""
    if not any(PATCH_TYPE.match(r.type) for r in resources):
        return list(resources)
    by_kind: dict[tuple[str, str], list[Resource]] = {}
    for resource in resources:
        if resource.type.startswith("kubernetes:") and not PATCH_TYPE.match(resource.type):
            by_kind.setdefault((group_of(resource), kind_of(resource)), []).append(resource)
    environment = _environment(resources)
    judged: list[Resource] = []
    for resource in resources:
        matched = PATCH_TYPE.match(resource.type)
        if matched is None:
            judged.append(resource)
            continue
        type_token = matched.group(1) + matched.group(2)
        kind = matched.group(2)
        probe = Resource(type=type_token, name="", props={})
        target = find_target(resource, by_kind.get((group_of(probe), kind), []))
        if target is not None:
            props = merge(target.props, resource.props)
            type_token = target.type
        else:
            props = merge(baseline(type_token, resource.props, environment), resource.props)
            _attribute_pods(props, type_token)
        props["kind"] = kind
        judged.append(PatchedResource(
            type=type_token, name=resource.name, props=props, urn=resource.urn, parent=resource.parent,
            protect=resource.protect, dependencies=resource.dependencies,
            property_dependencies=resource.property_dependencies, id=resource.id, outputs=resource.outputs,
            remote=resource.remote, patch=resource.props, target=target.urn if target is not None else None,
        ))
    return judged


# -- Pod Security of namespaces the stack does not own -------------------------------------------

@resource_rule(
    "MAAS-K8S-033",
    title="Patches do not lower the Pod Security of a namespace the stack does not own",
    description="A NamespacePatch whose namespace is not one of the stack's sets no "
                "pod-security.kubernetes.io/enforce, audit or warn label to anything but restricted, and removes "
                "none (null). The namespace's own labels are not in the stack, so the patch is the only thing "
                "to judge: lowering enforce on an agent namespace, or on any namespace, lets privileged pods, host "
                "namespaces and hostPath volumes in. A patch of a namespace the stack declares is judged merged "
                "onto it by MAAS-K8S-015, 016 and 024.",
    severity="critical",
    remediation="Leave the Pod Security labels of namespaces the stack does not create alone; create the "
                "namespace in the stack (AgentService for an agent) with the level it needs.",
    types=NAMESPACE_TYPES,
    frameworks={"CIS EKS": ["4.2.1"], "SOC 2": ["CC6.1", "CC8.1"], "NIST 800-53": ["AC-6", "CM-7"]},
)
def patch_keeps_pod_security(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not isinstance(resource, PatchedResource) or resource.target is not None:
        return
    metadata = resource.patch.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    if labels == UNKNOWN:
        yield NotEvaluable("metadata.labels")
        return
    labels = labels if isinstance(labels, Mapping) else {}
    for label, level in names.RESTRICTED_NAMESPACE_LABELS.items():
        if label not in labels:
            continue
        value = labels[label]
        if value == UNKNOWN:
            yield NotEvaluable(f"metadata.labels.{label}")
        elif value is None:
            yield f"the patch removes {label} from namespace {resource.get('metadata.name')}"
        elif value != level:
            yield f"the patch sets {label}: {value} on namespace {resource.get('metadata.name')}, not {level}"
