"""The nodes a plan needs: its pods packed onto its node groups and node pools, as Karpenter would.

Managed node groups are fixed: ``desiredSize`` nodes of their instance type, with their labels and
taints; the pods that select and tolerate them go there first, and every DaemonSet that tolerates
a node runs on it. Each Karpenter NodePool may launch the catalog's instance types
(``prices.yaml`` ``instance_specs``) its requirements allow, in the capacity types they allow.
Every other pod goes to the pool of highest weight, then of cheapest fitting type, that it may run
on (node selector, required node affinity, tolerations against the pool's taints); within a pool
and capacity type the pods are packed first-fit decreasing, by the larger of their CPU and memory
shares, onto nodes that each take the cheapest type fitting their pods. Pods that fit nowhere, or
only beyond a pool's limits, are ``pending``.

Facts from aws/karpenter-provider-aws v1.12.2, read 2026-12-02:
* allocatable = capacity - kube-reserved - eviction threshold (pkg/providers/instancetype/types.go):
  kube-reserved memory 11 MiB x max pods + 255 MiB; kube-reserved CPU 6 % of the first core, 1 % of
  the second, 0.5 % of the third and fourth, 0.25 % of the rest; hard eviction memory.available
  100Mi; memory capacity less 64 MiB on arm64 and less ``--vm-memory-overhead-percent`` (default
  0.075, pkg/operator/options/options.go);
* max pods = ENIs x (IPv4 per ENI - 1) + 2 unless the EC2NodeClass sets kubelet.maxPods or
  podsPerCore (types.go ``pods``);
* "If a NodePool is compatible with multiple capacity types, Karpenter will prioritize reserved
  capacity, followed by spot, then finally on-demand" (website/content/en/docs/concepts/nodepools.md),
  and the pool of highest ``spec.weight`` wins among those a pod fits (same page, spec.weight);
* a NodePool without a karpenter.sh/capacity-type requirement is priced on-demand (the conservative
  reading);
* Spot is launched through CreateFleet with the price-capacity-optimized strategy and no maximum price
  (pkg/providers/instance/types.go, pkg/providers/launchtemplate/types.go), so EC2's default maximum,
  the On-Demand price, caps what a Spot node costs: a recorded Spot price above on-demand is priced at
  on-demand. Price-capacity-optimized may also pick a type that is not the cheapest; the packing
  prices the cheapest fitting one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from .. import names
from .context import gib
from .pods import Expression, PodSpec, plan_pods
from .prices import MissingPrice, PriceTable

if TYPE_CHECKING:
    from ..plan.model import Plan, PlannedResource

VM_MEMORY_OVERHEAD = 0.075
EVICTION_MEMORY_MIB = 100
ARM64_RESERVED_MIB = 64
DEFAULT_ROOT_GIB = 20
CAPACITY_ORDER = ("spot", "on-demand")
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def kube_reserved_cpu(vcpu: float) -> float:
    """Karpenter's default kube-reserved CPU, in vCPUs, for a node of ``vcpu`` vCPUs."""
    millis, reserved = vcpu * 1000, 0.0
    for start, end, share in ((0, 1000, 0.06), (1000, 2000, 0.01), (2000, 4000, 0.005), (4000, 1 << 31, 0.0025)):
        if millis >= start:
            reserved += int((min(millis, end) - start) * share)
    return reserved / 1000


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: float
    memory_gib: float
    arch: str
    max_pods: int
    on_demand: float  # USD per hour

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    def labels(self) -> dict[str, str]:
        family = self.family
        digits = "".join(ch for ch in family if ch.isdigit())
        return {
            names.ARCH_LABEL: self.arch,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": self.name,
            "karpenter.k8s.aws/instance-family": family,
            "karpenter.k8s.aws/instance-category": family.rstrip("0123456789").split(digits)[0] if digits else family,
            "karpenter.k8s.aws/instance-generation": digits,
            "karpenter.k8s.aws/instance-cpu": str(int(self.vcpu)),
            "karpenter.k8s.aws/instance-memory": str(int(self.memory_gib * 1024)),
            "karpenter.k8s.aws/instance-size": self.name.split(".", 1)[1],
        }

    def allocatable(self, max_pods: Optional[int] = None) -> tuple[float, float, int]:
        """(vCPUs, GiB, pods) the kubelet offers to pods, before DaemonSets."""
        pods = max_pods or self.max_pods
        memory_mib = self.memory_gib * 1024 - (ARM64_RESERVED_MIB if self.arch == "arm64" else 0)
        memory_mib -= math.ceil(memory_mib * VM_MEMORY_OVERHEAD)
        memory_mib -= 11 * pods + 255 + EVICTION_MEMORY_MIB
        return self.vcpu - kube_reserved_cpu(self.vcpu), memory_mib / 1024, pods


def catalog(table: PriceTable) -> list[InstanceType]:
    """The catalog's instance types priced in the table's region, cheapest first."""
    types = []
    for name, spec in table.instance_specs.items():
        if not {"vcpu", "memory_gib", "arch", "max_pods"} <= set(spec):
            continue
        try:
            price = table.get(f"ec2.instance.{name}").value
        except MissingPrice:
            continue
        types.append(InstanceType(name, float(spec["vcpu"]), float(spec["memory_gib"]), str(spec["arch"]),
                                  int(spec["max_pods"]), price))
    return sorted(types, key=lambda t: (t.on_demand, t.name))


@dataclass(frozen=True)
class Shape:
    """A node a group or pool may hold: instance type, capacity type, labels, taints, free room."""

    type: InstanceType
    capacity: str
    labels: dict[str, str]
    taints: tuple[dict[str, str], ...]
    hourly: float
    cpu: float  # free for non-DaemonSet pods
    memory: float
    pods: int


@dataclass
class Node:
    shapes: list[Shape]
    cpu: float = 0.0
    memory: float = 0.0
    count: int = 0
    groups: set[int] = field(default_factory=set)
    placed: list[tuple[PodSpec, int]] = field(default_factory=list)

    def take(self, pod: PodSpec, room: tuple[float, float] = (math.inf, math.inf)) -> bool:
        """Place one pod of ``pod`` here if some remaining shape holds it, within ``room`` (the vCPUs
        and GiB of node its pool's limits still allow for this node)."""
        if pod.one_per_node and id(pod) in self.groups:
            return False
        fitting = [s for s in self.shapes if s.cpu >= self.cpu + pod.cpu - 1e-9 and s.memory >= self.memory + pod.memory - 1e-9
                   and s.pods >= self.count + 1 and pod.fits_labels(s.labels)
                   and s.type.vcpu <= room[0] + 1e-9 and s.type.memory_gib <= room[1] + 1e-9]
        if not fitting:
            return False
        self.shapes, self.cpu, self.memory, self.count = fitting, self.cpu + pod.cpu, self.memory + pod.memory, self.count + 1
        self.groups.add(id(pod))
        if self.placed and self.placed[-1][0] is pod:
            self.placed[-1] = (pod, self.placed[-1][1] + 1)
        else:
            self.placed.append((pod, 1))
        return True

    @property
    def shape(self) -> Shape:
        return min(self.shapes, key=lambda s: (s.hourly, s.type.name))


@dataclass
class Target:
    """A node group (fixed nodes) or a node pool (nodes launched as needed)."""

    name: str
    kind: str  # node_group | node_pool
    urn: str
    shapes: list[Shape]
    weight: int = 0
    fixed: int = 0  # node groups: nodes that exist whatever the pods
    limits: tuple[Optional[float], Optional[float]] = (None, None)
    volumes: tuple[tuple[float, str], ...] = ((DEFAULT_ROOT_GIB, "gp3"),)  # (GiB, type) of each node's EBS volumes
    monitoring: bool = False
    nodes: list[Node] = field(default_factory=list)
    daemons: dict[str, tuple[float, float, int]] = field(default_factory=dict)


def _daemon_load(daemons: list[PodSpec], labels: dict[str, str], taints: tuple[dict[str, str], ...]) -> tuple[float, float, int]:
    on = [d for d in daemons if d.unknown is None and d.tolerates(list(taints)) and d.fits_labels(labels)]
    return sum(d.cpu for d in on), sum(d.memory for d in on), len(on)


def _shape(itype: InstanceType, capacity: str, labels: dict[str, str], taints: tuple[dict[str, str], ...], hourly: float,
           daemons: list[PodSpec], max_pods: Optional[int]) -> Shape:
    cpu, memory, pods = itype.allocatable(max_pods)
    d_cpu, d_mem, d_pods = _daemon_load(daemons, labels, taints)
    return Shape(itype, capacity, labels, taints, hourly, cpu - d_cpu, memory - d_mem, pods - d_pods)


def _spot_hourly(table: PriceTable, itype: InstanceType) -> float:
    """The type's recorded Spot price capped at on-demand, else on-demand less the fallback discount
    (:meth:`PriceTable.spot_hourly`)."""
    return table.spot_hourly(itype.name, itype.on_demand)[0]


def _quantity_gib(value: Any) -> Optional[float]:
    try:
        return gib(value) if value not in (None, "") else None
    except ValueError:
        return None


def _node_class(plan: Plan, pool: PlannedResource) -> dict[str, Any]:
    ref = (((pool.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeClassRef") or {}
    for node_class in plan.of_type(names.K8S_EC2_NODE_CLASS):
        if ((node_class.inputs.get("metadata") or {}).get("name")) == ref.get("name"):
            return node_class.inputs.get("spec") or {}
    return {}


def pool_target(plan: Plan, pool: PlannedResource, types: list[InstanceType], table: PriceTable,
                daemons: list[PodSpec]) -> Target:
    spec = pool.inputs.get("spec") or {}
    template = (spec.get("template") or {}).get("spec") or {}
    name = str((pool.inputs.get("metadata") or {}).get("name") or pool.name)
    requirements = [Expression(str(r.get("key")), str(r.get("operator")), tuple(str(v) for v in r.get("values") or ()))
                    for r in template.get("requirements") or []]
    extra = {str(k): str(v) for k, v in (((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}).items()}
    taints = tuple({"key": str(t.get("key")), "value": str(t.get("value", "")), "effect": str(t.get("effect"))}
                   for t in template.get("taints") or [])
    if not any(r.key == names.CAPACITY_TYPE_LABEL for r in requirements):
        requirements.append(Expression(names.CAPACITY_TYPE_LABEL, "In", ("on-demand",)))
    node_class = _node_class(plan, pool)
    kubelet = node_class.get("kubelet") or {}
    shapes = []
    for itype in types:
        for capacity in CAPACITY_ORDER:
            labels = {**itype.labels(), **extra, names.CAPACITY_TYPE_LABEL: capacity, names.NODE_POOL_LABEL: name}
            if not all(r.allows(labels) for r in requirements):
                continue
            max_pods = kubelet.get("maxPods")
            if kubelet.get("podsPerCore"):
                max_pods = min(int(kubelet["podsPerCore"]) * int(itype.vcpu), int(max_pods or itype.max_pods))
            hourly = _spot_hourly(table, itype) if capacity == "spot" else itype.on_demand
            shapes.append(_shape(itype, capacity, labels, taints, hourly, daemons, max_pods))
    limits = spec.get("limits") or {}
    volumes = tuple((_quantity_gib((m.get("ebs") or {}).get("volumeSize")) or DEFAULT_ROOT_GIB,
                     str((m.get("ebs") or {}).get("volumeType") or "gp3"))
                    for m in node_class.get("blockDeviceMappings") or [] if m.get("ebs"))
    return Target(name=name, kind="node_pool", urn=pool.urn, shapes=shapes, weight=int(spec.get("weight") or 0),
                  limits=(float(limits["cpu"]) if limits.get("cpu") not in (None, "") else None,
                          _quantity_gib(limits.get("memory"))),
                  volumes=volumes or ((DEFAULT_ROOT_GIB, "gp3"),),
                  monitoring=bool(node_class.get("detailedMonitoring")))


def group_target(group: PlannedResource, shape_of: Any, types: dict[str, InstanceType], daemons: list[PodSpec],
                 table: PriceTable) -> Optional[Target]:
    instance_type, count, _ = shape_of(group)
    itype = types.get(instance_type)
    if itype is None:
        return None
    inputs = group.inputs
    capacity = "spot" if str(inputs.get("capacityType") or "ON_DEMAND").upper() == "SPOT" else "on-demand"
    name = str(inputs.get("nodeGroupName") or group.name)
    labels = {**itype.labels(), **{str(k): str(v) for k, v in (inputs.get("labels") or {}).items()},
              "eks.amazonaws.com/nodegroup": name, "eks.amazonaws.com/capacityType": capacity.upper().replace("-", "_")}
    for key in [k for k in labels if k.startswith("karpenter.")]:
        labels.pop(key)
    taints = tuple({"key": str(t.get("key")), "value": str(t.get("value", "")),
                    "effect": _EFFECTS.get(str(t.get("effect")), str(t.get("effect")))} for t in inputs.get("taints") or [])
    hourly = _spot_hourly(table, itype) if capacity == "spot" else itype.on_demand
    shape = _shape(itype, capacity, labels, taints, hourly, daemons, None)
    target = Target(name=name, kind="node_group", urn=group.urn, shapes=[shape], fixed=count)
    target.nodes = [Node([shape]) for _ in range(count)]
    return target


def _size(pod: PodSpec, reference: tuple[float, float]) -> float:
    return max(pod.cpu / reference[0] if reference[0] else 0, pod.memory / reference[1] if reference[1] else 0)


@dataclass
class Packing:
    targets: list[Target]
    pending: list[dict[str, Any]]
    unknown: list[dict[str, Any]]
    best_effort: list[str]
    daemons: list[PodSpec]
    pods: list[PodSpec]


def pack(plan: Plan, table: PriceTable, shape_of: Any) -> Packing:
    """The plan's pods on its node groups and node pools (``shape_of``: node group -> type, count, template)."""
    pods = plan_pods(plan)
    unknown = [{"pod": p.name, "urn": p.urn, "replicas": p.replicas, "reason": p.unknown} for p in pods if p.unknown]
    known = [p for p in pods if p.unknown is None]
    daemons = [p for p in known if p.daemon]
    workloads = [p for p in known if not p.daemon and p.replicas > 0]
    types = catalog(table)
    by_name = {t.name: t for t in types}
    targets: list[Target] = []
    pending: list[dict[str, Any]] = []
    for group in plan.of_type(names.EKS_NODE_GROUP):
        target = group_target(group, shape_of, by_name, daemons, table)
        if target is None:
            pending.append({"pod": f"node group {group.name}", "replicas": 0, "reason":
                            f"instance type {shape_of(group)[0]} is not in the catalog of prices.yaml"})
            continue
        targets.append(target)
    for pool in plan.of_type(names.K8S_NODE_POOL):
        targets.append(pool_target(plan, pool, types, table, daemons))
    if not targets:
        # A team stack: its pods run on the platform stack's nodes, which that stack's estimate packs.
        return Packing([], [], unknown, sorted({p.name for p in known if p.best_effort}), daemons, known)
    reference = (max((t.vcpu for t in types), default=1.0), max((t.memory_gib for t in types), default=1.0))
    order = sorted(workloads, key=lambda p: -_size(p, reference))
    groups = [t for t in targets if t.kind == "node_group"]
    pools = sorted((t for t in targets if t.kind == "node_pool"), key=lambda t: -t.weight)
    for pod in order:
        left = pod.replicas
        for group in groups:  # existing nodes first, as the scheduler fills them
            for node in group.nodes:
                while left and pod.tolerates(list(node.shapes[0].taints)) and node.take(pod):
                    left -= 1
        if not left:
            continue
        choice = _choose_pool(pod, pools)
        if choice is None:
            pending.append({"pod": pod.name, "urn": pod.urn, "replicas": left,
                            "reason": "no node group or node pool it may run on has room for it (selector, affinity, "
                                      "taints, or larger than every instance type allowed)"})
            continue
        pool, capacity = choice
        shapes = [s for s in pool.shapes if s.capacity == capacity and pod.fits_labels(s.labels)]
        while left:
            if not any(node.take(pod, _room(pool, node)) for node in pool.nodes if node.shapes[0].capacity == capacity):
                node = Node(list(shapes))
                if not node.take(pod, _room(pool, None)):
                    break
                pool.nodes.append(node)
            left -= 1
        if left:
            cpu_limit, memory_limit = pool.limits
            pending.append({"pod": pod.name, "urn": pod.urn, "replicas": left,
                            "reason": f"node pool {pool.name} is at its limits (cpu {cpu_limit:g}, memory "
                                      f"{memory_limit:g} GiB)" if cpu_limit is not None or memory_limit is not None
                            else f"larger than every instance type node pool {pool.name} allows"})
    for pool in pools:
        pending += _within_limits(pool)
    best_effort = sorted({p.name for p in known if p.best_effort})
    return Packing(targets, pending, unknown, best_effort, daemons, known)


def _room(pool: Target, node: Optional[Node]) -> tuple[float, float]:
    """vCPUs and GiB a node of ``pool`` may have within the pool's limits, the other nodes counted
    at their cheapest remaining type (Karpenter refuses a launch that would pass a limit)."""
    cpu_limit, memory_limit = pool.limits
    others = [n for n in pool.nodes if n is not node]
    cpu = math.inf if cpu_limit is None else cpu_limit - sum(n.shape.type.vcpu for n in others)
    memory = math.inf if memory_limit is None else memory_limit - sum(n.shape.type.memory_gib for n in others)
    return cpu, memory


def _choose_pool(pod: PodSpec, pools: list[Target]) -> Optional[tuple[Target, str]]:
    """The pool (highest weight, then cheapest fitting shape) and capacity type (spot first) for ``pod``."""
    best: Optional[tuple[int, int, float, Target, str]] = None
    for pool in pools:
        fitting = [s for s in pool.shapes if pod.tolerates(list(s.taints)) and pod.fits_labels(s.labels)
                   and s.cpu >= pod.cpu and s.memory >= pod.memory and s.pods >= 1]
        if not fitting:
            continue
        capacity = next(c for c in CAPACITY_ORDER if any(s.capacity == c for s in fitting))
        cheapest = min(s.hourly for s in fitting if s.capacity == capacity)
        key = (-pool.weight, CAPACITY_ORDER.index(capacity), cheapest)
        if best is None or key < best[:3]:
            best = (*key, pool, capacity)  # type: ignore[assignment]
    return (best[3], best[4]) if best else None


def _within_limits(pool: Target) -> list[dict[str, Any]]:
    cpu_limit, memory_limit = pool.limits
    used_cpu = used_memory = 0.0
    kept, pending = [], []
    for node in pool.nodes:
        room = [s for s in node.shapes if (cpu_limit is None or used_cpu + s.type.vcpu <= cpu_limit + 1e-9)
                and (memory_limit is None or used_memory + s.type.memory_gib <= memory_limit + 1e-9)]
        if not room:
            pending += [{"pod": pod.name, "urn": pod.urn, "replicas": count,
                         "reason": f"node pool {pool.name} is at its limits (cpu {cpu_limit:g}, memory {memory_limit:g} GiB)"}
                        for pod, count in node.placed]
            continue
        node.shapes = room
        used_cpu += node.shape.type.vcpu
        used_memory += node.shape.type.memory_gib
        kept.append(node)
    pool.nodes = kept
    return pending


# -- what the estimate reports ---------------------------------------------------------------------

def node_lines(target: Target) -> list[tuple[str, str, int, float]]:
    """(instance type, capacity type, count, hourly) of a target's nodes, cheapest first."""
    counts: dict[tuple[str, str, float], int] = {}
    for node in target.nodes:
        shape = node.shape
        key = (shape.type.name, shape.capacity, shape.hourly)
        counts[key] = counts.get(key, 0) + 1
    return [(t, c, n, h) for (t, c, h), n in sorted(counts.items(), key=lambda kv: (kv[0][2], kv[0][0]))]


def describe(target: Target) -> dict[str, Any]:
    lines = node_lines(target)
    pods: dict[str, int] = {}
    cpu = memory = 0.0
    for node in target.nodes:
        for pod, count in node.placed:
            pods[pod.name] = pods.get(pod.name, 0) + count
            cpu += pod.cpu * count
            memory += pod.memory * count
    allocatable_cpu = sum(n.shape.type.allocatable()[0] for n in target.nodes)
    allocatable_memory = sum(n.shape.type.allocatable()[1] for n in target.nodes)
    daemon_cpu = sum(n.shape.type.allocatable()[0] - n.shape.cpu for n in target.nodes)
    daemon_memory = sum(n.shape.type.allocatable()[1] - n.shape.memory for n in target.nodes)
    count = sum(n for _, _, n, _ in lines)
    nodes_text = " + ".join(f"{n} × {t} {c}" for t, c, n, _ in lines) or "no node"
    workload = sum(pods.values())
    if target.kind == "node_group":
        reason = (f"{count} fixed node{'s' if count != 1 else ''} ({nodes_text}, the group's desired size); "
                  f"{workload} pods select and tolerate it")
    elif not target.nodes:
        reason = "no pod at rest needs this pool: no node"
    else:
        reason = (f"{workload} pods need {cpu:.2f} vCPU / {memory:.2f} GiB: {nodes_text} "
                  f"{'is' if count == 1 else 'are'} the cheapest fit")
    return {
        "name": target.name,
        "kind": target.kind,
        "urn": target.urn,
        "nodes": [{"instance_type": t, "capacity_type": c, "count": n, "hourly": round(h, 6)} for t, c, n, h in lines],
        "node_count": count,
        "pods": dict(sorted(pods.items())),
        "cpu": {"requested": round(cpu, 3), "daemonsets": round(daemon_cpu, 3), "allocatable": round(allocatable_cpu, 3)},
        "memory_gib": {"requested": round(memory, 3), "daemonsets": round(daemon_memory, 3),
                       "allocatable": round(allocatable_memory, 3)},
        "reason": reason,
    }


def agent_share(packing: Packing, agent: str) -> tuple[float, list[PodSpec]]:
    """USD per hour of the nodes the agent's pods sit on, each pod's share by the larger of CPU and memory,
    and the agent's workloads that run no pod at rest."""
    hourly = 0.0
    for target in packing.targets:
        for node in target.nodes:
            shape = node.shape
            cpu, memory, _ = shape.type.allocatable()
            for pod, count in node.placed:
                if pod.agent == agent:
                    hourly += count * max(pod.cpu / cpu, pod.memory / memory) * shape.hourly
    idle = [p for p in packing.pods if p.agent == agent and not p.daemon and p.replicas == 0]
    return hourly, idle


def cheapest_share(packing: Packing, pod: PodSpec) -> float:
    """USD per hour of one pod of ``pod`` on the cheapest shape any pool could launch for it alone."""
    pools = [t for t in packing.targets if t.kind == "node_pool"]
    choice = _choose_pool(pod, pools)
    if choice is None:
        return 0.0
    pool, capacity = choice
    shapes = [s for s in pool.shapes if s.capacity == capacity and pod.fits_labels(s.labels)
              and s.cpu >= pod.cpu and s.memory >= pod.memory]
    shape = min(shapes, key=lambda s: s.hourly)
    cpu, memory, _ = shape.type.allocatable()
    return max(pod.cpu / cpu, pod.memory / memory) * shape.hourly
