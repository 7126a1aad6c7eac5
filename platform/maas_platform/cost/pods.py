"""The pods a plan runs at rest, read from its resources without any component.

Deployments, StatefulSets and DaemonSets give their pod templates; a ScaledObject's
``minReplicaCount`` or an HPA's ``minReplicas`` replaces its target's replica count (an agent
scaled to zero runs none); Jobs and CronJobs run no pod at rest. An Argo Rollout runs its own
template, or the template of the Deployment its ``workloadRef`` names at the Rollout's replica
count: the Rollout's ReplicaSets run the pods and the controller scales the Deployment down
(``scaleDown``; components/agent/rollout.py). A Helm release and an EKS add-on
are only names to the plan: ``workloads.yaml`` says which pods each pinned chart and each add-on
runs, read from the chart's values at its pinned tag. A pod whose requests cannot be read is
returned with ``unknown`` set, never as zero.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import yaml

from .. import names
from ..config.agents import cpu_millicores, memory_bytes
from .context import chart_name

if TYPE_CHECKING:
    from ..plan.model import Plan, PlannedResource

WORKLOADS_FILE = Path(__file__).with_name("workloads.yaml")
_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet"}


@dataclass(frozen=True)
class Expression:
    """One node selector requirement: ``key`` ``operator`` ``values`` (Kubernetes semantics)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def allows(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.key)
        if self.operator == "In":
            return value is not None and value in self.values
        if self.operator == "NotIn":
            return value is None or value not in self.values
        if self.operator == "Exists":
            return value is not None
        if self.operator == "DoesNotExist":
            return value is None
        if self.operator in ("Gt", "Lt"):
            try:
                number, bound = float(value), float(self.values[0])  # type: ignore[arg-type]
            except (TypeError, ValueError, IndexError):
                return False
            return number > bound if self.operator == "Gt" else number < bound
        return False


@dataclass
class PodSpec:
    """``replicas`` identical pods of one workload, with what decides where they may run."""

    name: str
    urn: str
    agent: Optional[str]
    replicas: int
    cpu: float  # vCPUs requested by one pod
    memory: float  # GiB requested by one pod
    daemon: bool = False
    node_selector: dict[str, str] = field(default_factory=dict)
    terms: list[list[Expression]] = field(default_factory=list)  # required node affinity: any term, all of its expressions
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    one_per_node: bool = False
    best_effort: bool = False
    unknown: Optional[str] = None

    def fits_labels(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k) != str(v) for k, v in self.node_selector.items()):
            return False
        return not self.terms or any(all(e.allows(labels) for e in term) for term in self.terms)

    def tolerates(self, taints: list[dict[str, str]]) -> bool:
        return all(_tolerated(taint, self.tolerations) for taint in taints
                   if taint.get("effect") in ("NoSchedule", "NoExecute"))


def _tolerated(taint: dict[str, str], tolerations: list[dict[str, Any]]) -> bool:
    for toleration in tolerations:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        key = toleration.get("key")
        if toleration.get("operator") == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and str(toleration.get("value", "")) == str(taint.get("value", "")):
            return True
    return False


@lru_cache(maxsize=4)
def load_workloads(path: Path = WORKLOADS_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def requests_of(requests: Any) -> tuple[float, float]:
    """(vCPUs, GiB) of one ``resources.requests`` mapping; raises ValueError on what is not a quantity."""
    if not isinstance(requests, dict):
        return 0.0, 0.0
    cpu = cpu_millicores(str(requests["cpu"])) / 1000 if requests.get("cpu") not in (None, "") else 0.0
    memory = memory_bytes(str(requests["memory"])) / 2**30 if requests.get("memory") not in (None, "") else 0.0
    return cpu, memory


def _terms(affinity: Any) -> list[list[Expression]]:
    node = ((affinity or {}).get("nodeAffinity") or {}) if isinstance(affinity, dict) else {}
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = []
    for term in required.get("nodeSelectorTerms") or []:
        terms.append([Expression(str(e.get("key")), str(e.get("operator")), tuple(str(v) for v in e.get("values") or ()))
                      for e in term.get("matchExpressions") or []])
    return terms


def _template_pod(resource: PlannedResource, replicas: int, agent: Optional[str], daemon: bool) -> PodSpec:
    spec = ((resource.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
    name = f"{resource.type.rsplit(':', 1)[-1]} {resource.name}"
    pod = PodSpec(name=name, urn=resource.urn, agent=agent, replicas=replicas, cpu=0.0, memory=0.0, daemon=daemon,
                  node_selector={str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()},
                  terms=_terms(spec.get("affinity")), tolerations=list(spec.get("tolerations") or []))
    try:
        containers = [requests_of((c.get("resources") or {}).get("requests")) for c in spec.get("containers") or []]
        init = [requests_of((c.get("resources") or {}).get("requests")) for c in spec.get("initContainers") or []]
    except (ValueError, KeyError, AttributeError, TypeError) as error:
        pod.unknown = f"cannot read its containers' requests ({error})"
        return pod
    if not spec.get("containers"):
        pod.unknown = "its pod template has no containers the plan can read"
        return pod
    # The scheduler reserves the larger of the containers' sum and the largest init container.
    pod.cpu = max(sum(c for c, _ in containers), max((c for c, _ in init), default=0.0))
    pod.memory = max(sum(m for _, m in containers), max((m for _, m in init), default=0.0))
    pod.best_effort = pod.cpu == 0 and pod.memory == 0
    return pod


def _lookup(values: Any, path: Optional[str]) -> Any:
    if not path:
        return None
    node = values
    for part in str(path).split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _merge(base: Any, over: Any) -> Any:
    """``over`` merged onto ``base`` as Helm merges values (maps deep, anything else replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return copy.deepcopy(over) if over is not None else base


def _table_pods(entry: dict[str, Any], values: dict[str, Any], resource: PlannedResource, agent: Optional[str],
                label: str) -> list[PodSpec]:
    merged = _merge(copy.deepcopy(entry.get("defaults") or {}), values)
    pods = []
    for item in entry.get("pods") or []:
        if item.get("enabled") and _lookup(merged, item["enabled"]) is False:
            continue
        kind = str(item.get("kind", "Deployment"))
        if item.get("kind_from"):
            kind = _KINDS.get(str(_lookup(merged, item["kind_from"]) or "").lower(), kind)
        daemon = kind == "DaemonSet"
        raw_replicas = item["replicas"] if isinstance(item.get("replicas"), int) else _lookup(merged, item.get("replicas"))
        replicas = 1 if daemon or raw_replicas is None else int(raw_replicas)
        requests = item["requests"] if isinstance(item.get("requests"), dict) else _lookup(merged, item.get("requests"))
        selector = item.get("node_selector")
        selector = selector if isinstance(selector, dict) else _lookup(merged, selector) or {}
        tolerations = item.get("tolerations")
        tolerations = tolerations if isinstance(tolerations, list) else _lookup(merged, tolerations) or []
        pod = PodSpec(name=f"{label}: {item['name']}", urn=resource.urn, agent=agent, replicas=replicas, cpu=0.0,
                      memory=0.0, daemon=daemon, node_selector={str(k): str(v) for k, v in selector.items()},
                      terms=_terms(_lookup(merged, item.get("affinity")) if isinstance(item.get("affinity"), str) else None),
                      tolerations=list(tolerations), one_per_node=bool(item.get("one_per_node")))
        try:
            pod.cpu, pod.memory = requests_of(requests)
        except (ValueError, KeyError, TypeError) as error:
            pod.unknown = f"cannot read its requests ({error})"
        pod.best_effort = pod.unknown is None and pod.cpu == 0 and pod.memory == 0
        pods.append(pod)
    return pods


def plan_pods(plan: Plan) -> list[PodSpec]:
    """Every pod group of ``plan`` at rest, in plan order."""
    table = load_workloads()
    minimums: dict[tuple[str, str], int] = {}
    for scaler in plan.of_type(names.K8S_SCALED_OBJECT, names.K8S_HORIZONTAL_POD_AUTOSCALER):
        spec = scaler.inputs.get("spec") or {}
        target = (spec.get("scaleTargetRef") or {}).get("name")
        namespace = (scaler.inputs.get("metadata") or {}).get("namespace")
        if scaler.type == names.K8S_SCALED_OBJECT:
            minimums[(str(namespace), str(target))] = int(spec.get("minReplicaCount", 0))
        else:
            minimums[(str(namespace), str(target))] = int(spec.get("minReplicas", 1))
    # Deployments a Rollout runs (workloadRef): (namespace, name) -> the Rollout's replicas.
    rolled: dict[tuple[str, str], int] = {}
    for rollout in plan.of_type(names.K8S_ROLLOUT):
        metadata = rollout.inputs.get("metadata") or {}
        spec = rollout.inputs.get("spec") or {}
        reference = spec.get("workloadRef") or {}
        if reference.get("kind") == "Deployment" and reference.get("name"):
            key = (str(metadata.get("namespace")), str(metadata.get("name")))
            rolled[(key[0], str(reference["name"]))] = minimums.get(key, int(spec.get("replicas", 1)))
    pods: list[PodSpec] = []
    for resource in plan.resources:
        agent_component = plan.agent_of(resource)
        agent = agent_component.name if agent_component else None
        if resource.type in (names.K8S_DEPLOYMENT, names.K8S_STATEFUL_SET, names.K8S_ROLLOUT):
            metadata = resource.inputs.get("metadata") or {}
            spec = resource.inputs.get("spec") or {}
            if resource.type == names.K8S_ROLLOUT and not spec.get("template"):
                continue  # its pods are its workloadRef's, counted on that Deployment
            key = (str(metadata.get("namespace")), str(metadata.get("name")))
            replicas = minimums.get(key, int(spec.get("replicas", 1)))
            if resource.type == names.K8S_DEPLOYMENT and key in rolled:
                replicas = rolled[key]
            pods.append(_template_pod(resource, replicas, agent, daemon=False))
        elif resource.type == names.K8S_DAEMON_SET:
            pods.append(_template_pod(resource, 1, agent, daemon=True))
        elif resource.type == names.HELM_RELEASE:
            chart = chart_name(resource.inputs)
            entry = (table.get("charts") or {}).get(chart)
            if entry is None:
                pods.append(PodSpec(name=f"chart {chart}", urn=resource.urn, agent=agent, replicas=1, cpu=0, memory=0,
                                    unknown=f"chart '{chart}' is not in cost/workloads.yaml"))
                continue
            pods += _table_pods(entry, resource.inputs.get("values") or {}, resource, agent, f"chart {chart}")
        elif resource.type == names.EKS_ADDON:
            addon = str(resource.inputs.get("addonName") or "")
            entry = (table.get("addons") or {}).get(addon)
            if entry is None:
                pods.append(PodSpec(name=f"add-on {addon}", urn=resource.urn, agent=agent, replicas=1, cpu=0, memory=0,
                                    unknown=f"EKS add-on '{addon}' is not in cost/workloads.yaml"))
                continue
            pods += _table_pods(entry, {}, resource, agent, f"add-on {addon}")
    return pods
