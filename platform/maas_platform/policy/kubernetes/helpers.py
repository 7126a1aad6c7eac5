"""What the Kubernetes rules (and the stack rules) share: which types are workloads, where a
kind keeps its pod template, the labels of an agent, and :class:`Pod`, a pod spec as a pod
rule reads it."""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from ... import names
from ..core import UNKNOWN, Context, NotEvaluable, Outcome, Resource

# Label of an agent's objects -> the AWS tag it mirrors.
AGENT_LABELS: dict[str, str] = {
    names.AGENT_LABEL: names.AGENT_TAG,
    names.TEAM_LABEL: names.TEAM_TAG,
    names.COST_CENTER_LABEL: names.COST_CENTER_TAG,
    names.ENVIRONMENT_LABEL: names.ENVIRONMENT_TAG,
    names.MANAGED_BY_LABEL: names.MANAGED_BY_TAG,
}
# What an agent's pods must carry for log shipping and cost attribution.
POD_ATTRIBUTION_LABELS: tuple[str, ...] = (names.AGENT_LABEL, names.TEAM_LABEL, names.COST_CENTER_LABEL)
PSS_LEVELS: tuple[str, ...] = ("privileged", "baseline", "restricted")

# -- where the pods are ------------------------------------------------------------------------

# Where a kind keeps its pod spec; any other kind is searched (:func:`pod_spec_paths`). Custom
# resources are keyed by API group and kind: keda.sh ScaledJob's spec.jobTargetRef is a JobSpec
# (kedacore/charts v2.20.2, the chart we pin, keda/templates/crds/crd-scaledjobs.yaml:
# jobTargetRef.template "Describes the pod that will be created when executing a job"), Argo
# Rollouts' Rollout keeps its template at spec.template like a Deployment
# (argoproj.github.io/argo-rollouts/features/helm, "Using Argo Rollouts with Helm"); both read
# 2026-12-02.
POD_SPEC_PATHS: dict[str, str] = {
    "Pod": "spec",
    "PodTemplate": "template.spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "ReplicationController": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}
CUSTOM_POD_SPEC_PATHS: dict[tuple[str, str], str] = {
    ("keda.sh", "ScaledJob"): "spec.jobTargetRef.template.spec",
    ("argoproj.io", "Rollout"): "spec.template.spec",
}
# The built-in groups whose kinds POD_SPEC_PATHS names (core, apps, batch, extensions).
BUILT_IN_GROUPS = frozenset({"core", "apps", "batch", "extensions"})
# Every Kubernetes object: a pod rule judges each one that carries a pod spec, where the kind
# keeps it or wherever it is found (:func:`pod_spec_paths`), and none other.
WORKLOAD_TYPES: tuple[str, ...] = ("kubernetes:*",)
# Controllers that keep their pods running; their containers need probes. A kind found to carry a
# pod spec only by its shape is not assumed to be one (probes are judged where the kind is known).
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"})
LONG_RUNNING_CUSTOM = frozenset({("argoproj.io", "Rollout")})
# Kinds that may reference a workload for their pod template instead of holding one: a Rollout
# with spec.workloadRef (argo-rollouts v1.9.1 docs/migrating.md; "template must be empty for
# workload reference rollout", rollout/templateref.go; read 2026-12-03) has no pod spec of its own.
WORKLOAD_REF_CUSTOM = frozenset({("argoproj.io", "Rollout")})
# How deep under ``spec`` a pod spec of an unknown kind is looked for (a CronJob's is 4 down).
POD_SEARCH_DEPTH = 6
# Keys whose value, when not known yet in an unknown kind, may be the pod template.
_TEMPLATE_KEYS = frozenset({"template", "podTemplate", "podSpec", "jobTemplate"})
NAMESPACE_TYPES: tuple[str, ...] = (names.K8S_NAMESPACE,)
HELM_RELEASE_TYPES: tuple[str, ...] = (names.HELM_RELEASE,)
# Kubernetes types that are not one object's manifest.
_NOT_MANIFESTS = re.compile(r"^kubernetes:(helm\.sh|yaml|kustomize)/|Patch$|List$")
CONTAINER_LISTS: tuple[str, ...] = ("initContainers", "containers", "ephemeralContainers")


def kind_of(resource: Resource) -> str:
    """The kind from the type token (``kubernetes:apps/v1:Deployment`` -> ``Deployment``)."""
    return resource.type.rsplit(":", 1)[-1]


def group_of(resource: Resource) -> str:
    """The API group from the type token (``core`` for the core group)."""
    parts = resource.type.split(":")
    return parts[1].split("/", 1)[0] if len(parts) == 3 else ""


def is_manifest(resource: Resource) -> bool:
    """Whether the resource is one Kubernetes object (not a Helm release, a patch or a list)."""
    return resource.type.startswith("kubernetes:") and not _NOT_MANIFESTS.search(resource.type)


def known(value: Any) -> bool:
    return value != UNKNOWN


def _search(value: Any, path: tuple[str, ...], depth: int, found: list[str]) -> None:
    """Paths (dotted, list entries by number) of the pod specs under ``value``: mappings with a
    ``containers`` list (or one not known yet), and template keys not known yet."""
    if depth > POD_SEARCH_DEPTH:
        return
    if isinstance(value, Mapping):
        containers = value.get("containers")
        if containers == UNKNOWN or (isinstance(containers, list) and any(
                isinstance(c, Mapping) or c == UNKNOWN for c in containers)):
            found.append(".".join(path))
            return
        for key, child in value.items():
            if child == UNKNOWN and key in _TEMPLATE_KEYS:
                found.append(".".join((*path, str(key))))
            elif isinstance(child, (Mapping, list)):
                _search(child, (*path, str(key)), depth + 1, found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, (Mapping, list)):
                _search(child, (*path, str(index)), depth + 1, found)


# Pod spec paths by resource: (the props they were found in, the paths). The gate runs every pod
# rule over every object, so each object is searched once; an entry is used only for the very
# props it was computed from, and the cache is emptied when it grows past a plan's size.
_PATHS_CACHE: dict[int, tuple[Mapping[str, Any], tuple[str, ...]]] = {}
_PATHS_CACHE_LIMIT = 50_000


def pod_spec_paths(resource: Resource) -> tuple[str, ...]:
    """Where the object keeps its pod specs: the path its kind uses (POD_SPEC_PATHS,
    CUSTOM_POD_SPEC_PATHS), else every pod spec found under ``spec`` by its shape (a mapping with
    a ``containers`` list of mappings, at most POD_SEARCH_DEPTH down). None for a Helm release, a
    patch (judged merged onto its target, see :mod:`.patches`) or a type that is no object."""
    if not is_manifest(resource):
        return ()
    cached = _PATHS_CACHE.get(id(resource.props))
    if cached is not None and cached[0] is resource.props:
        return cached[1]
    kind, group = kind_of(resource), group_of(resource)
    known_path = CUSTOM_POD_SPEC_PATHS.get((group, kind)) or (
        POD_SPEC_PATHS.get(kind) if group in BUILT_IN_GROUPS else None)
    if (group, kind) in WORKLOAD_REF_CUSTOM and resource.get("spec.workloadRef") not in (None, UNKNOWN):
        paths: tuple[str, ...] = ()  # its pods are the referenced workload's, judged there
    elif known_path is not None:
        paths = (known_path,)
    else:
        found: list[str] = []
        spec = resource.props.get("spec")
        if spec == UNKNOWN:
            found = []  # an object whose whole spec is not known yet: no rule can say it holds a pod
        else:
            _search(spec, ("spec",), 1, found)
        paths = tuple(found)
    if len(_PATHS_CACHE) >= _PATHS_CACHE_LIMIT:
        _PATHS_CACHE.clear()
    _PATHS_CACHE[id(resource.props)] = (resource.props, paths)
    return paths


def pod_spec_path(resource: Resource) -> Optional[str]:
    """The first pod spec path of the object (:func:`pod_spec_paths`), None when it has none."""
    paths = pod_spec_paths(resource)
    return paths[0] if paths else None


def template_path(path: str) -> str:
    """Where the metadata of the pods of a pod spec at ``path`` sits: the template around it
    (``spec.template``), or the object itself for a Pod (``spec`` -> the object's metadata)."""
    return path[: -len(".spec")] if path.endswith(".spec") else ""


def pod_labels(resource: Resource, path: Optional[str] = None) -> Any:
    """Labels of the pods of the pod spec at ``path`` (default: the first); a Pod's own labels;
    ``"[unknown]"`` when not known yet."""
    path = path or pod_spec_path(resource)
    if path is None:
        return {}
    around = template_path(path)
    labels = resource.get(f"{around}.metadata.labels" if around else "metadata.labels")
    if around and resource.get(around) == UNKNOWN:
        return UNKNOWN
    return labels if isinstance(labels, Mapping) or labels == UNKNOWN else {}


def long_running(resource: Resource) -> Optional[bool]:
    """Controllers that keep pods running, and bare Pods that restart (``restartPolicy`` Always,
    the default); None when a Pod's restart policy is not known yet. Jobs, CronJobs, KEDA
    ScaledJobs, PodTemplates and kinds not known to keep pods running are not."""
    kind = kind_of(resource)
    if kind == "Pod":
        policy = resource.get("spec.restartPolicy", "Always")
        return None if policy == UNKNOWN else policy == "Always"
    if (group_of(resource), kind) in LONG_RUNNING_CUSTOM:
        return True
    return kind in LONG_RUNNING_KINDS and group_of(resource) in BUILT_IN_GROUPS


def name_of(container: Mapping[str, Any]) -> str:
    return str(container.get("name") or "?")


def security_context(container: Mapping[str, Any]) -> Mapping[str, Any]:
    context = container.get("securityContext")
    return context if isinstance(context, Mapping) else {}


class Pod:
    """A workload's pod spec as a pod rule reads it: where it sits (``path``), its containers
    with their property paths, and their settings. The containers, or entries of their lists,
    that are not known yet are noted as not evaluable while a rule walks them (:meth:`containers`),
    so a rule that reads containers reports them, and one that does not is not held up by them."""

    def __init__(self, spec: Mapping[str, Any], path: str):
        self.spec = spec
        self.path = path
        self.unknown: list[NotEvaluable] = []

    def at(self, *parts: str) -> str:
        """A property path under the pod spec (``spec.template.spec.containers[0].image``)."""
        return ".".join((self.path, *parts))

    def get(self, key: str) -> Any:
        return self.spec.get(key)

    def containers(self, lists: Iterable[str] = CONTAINER_LISTS) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(where, container)`` of the given lists (default: init, main and ephemeral
        containers); ``where`` is the container's path in the pod spec (``containers[0]``)."""
        for key in lists:
            entries = self.spec.get(key)
            if entries == UNKNOWN:
                self.unknown.append(NotEvaluable(self.at(key)))
                continue
            for index, container in enumerate(entries or []):
                if container == UNKNOWN:
                    self.unknown.append(NotEvaluable(self.at(f"{key}[{index}]")))
                elif isinstance(container, Mapping):
                    yield f"{key}[{index}]", container

    def setting(self, where: str, container: Mapping[str, Any], key: str, inherit: bool = False) -> tuple[Any, str]:
        """A securityContext setting of a container and its property path. With ``inherit``, the
        pod's setting applies where the container states none (Kubernetes' precedence).
        ``"[unknown]"`` when the setting, or the context holding it, is not known yet."""
        context = container.get("securityContext")
        path = self.at(where, "securityContext")
        if context == UNKNOWN:
            return UNKNOWN, path
        value = security_context(container).get(key)
        if value is not None or not inherit:
            return value, f"{path}.{key}"
        pod_context = self.spec.get("securityContext")
        if pod_context == UNKNOWN:
            return UNKNOWN, self.at("securityContext")
        return (pod_context.get(key) if isinstance(pod_context, Mapping) else None), self.at("securityContext", key)


PodCheck = Callable[[Pod, Resource, Context], Iterable[Outcome]]


def over_pods(check: PodCheck) -> Callable[[Resource, Context], Iterator[Outcome]]:
    """A resource check from a pod check: the workload's pod spec, or the finding that it has
    none; not evaluable when the pod spec (or the template holding it) is not known yet."""

    @functools.wraps(check)
    def run(resource: Resource, context: Context) -> Iterator[Outcome]:
        paths = pod_spec_paths(resource)
        for path in paths:
            unknown = resource.unknown_at(path)
            if unknown is not None:
                yield NotEvaluable(unknown)
                continue
            spec = resource.get(path)
            if not isinstance(spec, Mapping):
                yield f"{kind_of(resource)} has no pod spec at {path}"
                continue
            pod = Pod(spec, path)
            where = f"{path}: " if len(paths) > 1 else ""
            for outcome in check(pod, resource, context):
                yield outcome if isinstance(outcome, NotEvaluable) or not where else where + outcome
            yield from pod.unknown

    return run  # type: ignore[return-value]
