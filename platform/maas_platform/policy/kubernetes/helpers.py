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

POD_SPEC_PATHS: dict[str, str] = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "ReplicationController": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}
# Type patterns (every API version of a kind), not tokens: the rules apply to all of them.
WORKLOAD_TYPES: tuple[str, ...] = (
    names.K8S_POD,
    names.K8S_REPLICATION_CONTROLLER,
    "kubernetes:apps/*:Deployment",
    "kubernetes:apps/*:StatefulSet",
    "kubernetes:apps/*:DaemonSet",
    "kubernetes:apps/*:ReplicaSet",
    "kubernetes:extensions/*:Deployment",
    "kubernetes:extensions/*:DaemonSet",
    "kubernetes:extensions/*:ReplicaSet",
    "kubernetes:batch/*:Job",
    "kubernetes:batch/*:CronJob",
)
# Controllers that keep their pods running; their containers need probes.
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"})
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


def pod_spec_path(resource: Resource) -> Optional[str]:
    return POD_SPEC_PATHS.get(kind_of(resource))


def pod_labels(resource: Resource) -> Any:
    """Labels of the pods a workload creates (a Pod's own labels); ``"[unknown]"`` when not known yet."""
    path = pod_spec_path(resource)
    if path is None:
        return {}
    labels = resource.get(path.rsplit(".spec", 1)[0] + ".metadata.labels") if path != "spec" else resource.get(
        "metadata.labels")
    return labels if isinstance(labels, Mapping) or labels == UNKNOWN else {}


def long_running(resource: Resource) -> Optional[bool]:
    """Controllers that keep pods running, and bare Pods that restart (``restartPolicy`` Always,
    the default); None when a Pod's restart policy is not known yet."""
    kind = kind_of(resource)
    if kind == "Pod":
        policy = resource.get("spec.restartPolicy", "Always")
        return None if policy == UNKNOWN else policy == "Always"
    return kind in LONG_RUNNING_KINDS


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
        path = pod_spec_path(resource)
        if path is None:
            return
        unknown = resource.unknown_at(path)
        if unknown is not None:
            yield NotEvaluable(unknown)
            return
        spec = resource.get(path)
        if not isinstance(spec, Mapping):
            yield f"{kind_of(resource)} has no pod spec at {path}"
            return
        pod = Pod(spec, path)
        yield from check(pod, resource, context)
        yield from pod.unknown

    return run  # type: ignore[return-value]
