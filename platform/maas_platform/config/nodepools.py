"""Node pools: the capacity Karpenter may launch for the cluster (``maas:cluster.node_pools``).

Managed node groups (``maas:cluster.node_groups``) host only system pods; every other pod runs
on nodes Karpenter launches from these pools. One EC2NodeClass (``maas:cluster.node_class``)
says how a node is built, one NodePool per entry here what it may be
(``components/nodepools.py`` renders them).

Facts about Karpenter v1.12.2 below were checked on 2026-12-02 in aws/karpenter-provider-aws at
tag v1.12.2 (``pkg/apis/crds/karpenter.sh_nodepools.yaml``, ``pkg/providers/instancetype/types.go``,
``pkg/providers/instancetype/zz_generated.vpclimits.go``), in its v1.12 documentation
(``website/content/en/v1.12/concepts/disruption.md`` and ``nodeclasses.md`` on main) and in
kubernetes-sigs/karpenter ``pkg/apis/v1/nodepool.go`` (``Budget.IsActive``).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal, Optional, Protocol, Sequence

from pydantic import AfterValidator, Field, model_validator

from .base import StrictModel

Architecture = Literal["amd64", "arm64"]
CapacityType = Literal["spot", "on-demand"]
ARCHITECTURES: tuple[Architecture, ...] = ("amd64", "arm64")

_POOL_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_FAMILY = re.compile(r"^[a-z][a-z0-9-]*$")
# The CRD's patterns: consolidateAfter and expireAfter take s, m and h (or Never); a budget's
# duration only minutes and hours, as cron has no seconds.
_DURATION = re.compile(r"^([0-9]+(s|m|h))+$")
_BUDGET_DURATION = re.compile(r"^(([0-9]+(h|m))|([0-9]+h[0-9]+m))$")
_BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
_HOUR = re.compile(r"^([01][0-9]|2[0-3]):00$")


def _pool_name(value: str) -> str:
    if len(value) > 40 or not _POOL_NAME.match(value):
        raise ValueError(f"'{value}' must be a DNS label: lowercase letters, digits and '-', starting with a letter, "
                         "at most 40 characters")
    return value


def _family(value: str) -> str:
    if not _FAMILY.match(value):
        raise ValueError(f"'{value}' is not an EC2 instance family (e.g. m7g, c7i, t4g; no size)")
    return value


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"'{value}' is not a duration Karpenter accepts; write e.g. 30s, 5m or 720h")
    return value


def _budget_duration(value: str) -> str:
    if not _BUDGET_DURATION.match(value):
        raise ValueError(f"'{value}' is not a budget duration; write hours and/or minutes, e.g. 8h, 30m or 1h30m")
    return value


def _budget_nodes(value: str) -> str:
    if not _BUDGET_NODES.match(value):
        raise ValueError(f"'{value}' must be a count of nodes ('1') or a percentage ('10%')")
    return value


PoolName = Annotated[str, AfterValidator(_pool_name)]
InstanceFamily = Annotated[str, AfterValidator(_family)]
Duration = Annotated[str, AfterValidator(_duration)]
BudgetDuration = Annotated[str, AfterValidator(_budget_duration)]
BudgetNodes = Annotated[str, AfterValidator(_budget_nodes)]

# -- cron, as Karpenter parses a budget's schedule: robfig/cron/v3 ParseStandard, in UTC --------

_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_CRON_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
                ("month", 1, 12, _MONTHS), ("day of week", 0, 6, _DAYS))


def _cron_value(text: str, low: int, high: int, names: dict[str, int]) -> Optional[int]:
    value = names.get(text.lower()) if not text.isdigit() else int(text)
    return value if value is not None and low <= value <= high else None


def cron_problem(schedule: str) -> Optional[str]:
    """Why Karpenter would refuse ``schedule`` (five fields or a descriptor like @daily), or None."""
    if schedule.startswith("@"):
        return None if schedule in _CRON_DESCRIPTORS else f"is not one of {', '.join(sorted(_CRON_DESCRIPTORS))}"
    fields = schedule.split()
    if len(fields) != 5:
        return "must have five fields: minute hour day-of-month month day-of-week (UTC)"
    for text, (what, low, high, names) in zip(fields, _CRON_FIELDS):
        for part in text.split(","):
            span, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                return f"has a bad step '/{step}' in its {what} field"
            if span in ("*", "?"):
                continue
            first, _, last = span.partition("-")
            start, end = _cron_value(first, low, high, names), _cron_value(last, low, high, names) if last else None
            if start is None or (last and (end is None or end < start)):
                return f"has '{part}' in its {what} field, outside {low}-{high}"
    return None


def _cron(value: str) -> str:
    problem = cron_problem(value)
    if problem:
        raise ValueError(f"'{value}' {problem}")
    return value


Cron = Annotated[str, AfterValidator(_cron)]


class PoolLimits(StrictModel):
    cpu: int = Field(gt=0, description="Most vCPUs all the pool's nodes may have together (NodePool spec.limits.cpu).")
    memory_gib: int = Field(gt=0, description="Most memory, GiB, all the pool's nodes may have together.")


class Consolidation(StrictModel):
    policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = Field(
        "WhenEmptyOrUnderutilized",
        description="WhenEmptyOrUnderutilized (default) also removes or replaces nodes whose pods fit elsewhere more "
                    "cheaply; WhenEmpty removes only nodes without workload pods.")
    after: Duration = Field("1m", description="How long a node must stay consolidatable before Karpenter acts. Default 1m.")


class DisruptionBudget(StrictModel):
    """One NodePool budget: at most ``nodes`` disrupted at once, always or in a window. Karpenter
    applies the most restrictive active budget; budgets limit voluntary disruption (drift,
    emptiness, consolidation), not expiry nor a Spot interruption."""

    nodes: BudgetNodes = Field(description="Most nodes disrupted at once: a count ('1') or a percentage ('10%').")
    schedule: Optional[Cron] = Field(
        None, description="Cron in UTC (five fields or @daily, ...) at which the budget starts to apply; needs duration.")
    duration: Optional[BudgetDuration] = Field(
        None, description="How long the budget applies after each schedule hit, hours and minutes (e.g. 8h).")
    reasons: list[Literal["Underutilized", "Empty", "Drifted"]] = Field(
        default_factory=list, description="Disruption reasons the budget limits; empty: all of them.")

    @model_validator(mode="after")
    def _window(self) -> "DisruptionBudget":
        if (self.schedule is None) != (self.duration is None):
            raise ValueError("schedule: a budget's schedule and duration go together; set both or neither")
        return self


class BusinessHours(StrictModel):
    """Voluntary disruptions only inside a UTC window: outside it a budget of ``nodes: "0"``
    (schedule at the window's end, duration up to its next start) blocks them."""

    days: Literal["mon-fri", "every-day"] = Field("mon-fri", description="Days of the window. Default mon-fri.")
    start: str = Field("09:00", description="Start of the window, UTC, on the hour (HH:00). Default 09:00.")
    end: str = Field("17:00", description="End of the window, UTC, on the hour (HH:00), after start. Default 17:00.")
    nodes: BudgetNodes = Field("10%", description="Most nodes disrupted at once inside the window. Default 10%.")

    @model_validator(mode="after")
    def _hours(self) -> "BusinessHours":
        for key in ("start", "end"):
            if not _HOUR.match(getattr(self, key)):
                raise ValueError(f"{key}: '{getattr(self, key)}' must be an hour of the day in UTC, like 09:00")
        if int(self.end[:2]) <= int(self.start[:2]):
            raise ValueError(f"end: {self.end} must come after start ({self.start}) on the same day")
        return self

    def budgets(self) -> list[DisruptionBudget]:
        """The budgets that keep disruption inside the window: the window's cap, always, and
        ``nodes: "0"`` from each end of the window to the next start (over the weekend for mon-fri)."""
        start, end = int(self.start[:2]), int(self.end[:2])
        closed = 24 - (end - start)
        found = [DisruptionBudget(nodes=self.nodes)]
        if self.days == "every-day":
            found.append(DisruptionBudget(nodes="0", schedule=f"0 {end} * * *", duration=f"{closed}h"))
        else:
            found.append(DisruptionBudget(nodes="0", schedule=f"0 {end} * * mon-thu", duration=f"{closed}h"))
            found.append(DisruptionBudget(nodes="0", schedule=f"0 {end} * * fri", duration=f"{closed + 48}h"))
        return found


class NodePoolConfig(StrictModel):
    name: PoolName = Field(description="NodePool name, unique within the cluster.")
    capacity_types: list[CapacityType] = Field(
        min_length=1, description="spot and/or on-demand. With both, Karpenter launches Spot and falls back to On-Demand.")
    architectures: list[Architecture] = Field(min_length=1, description="amd64 and/or arm64 (Graviton).")
    instance_families: list[InstanceFamily] = Field(
        min_length=1, description="EC2 instance families Karpenter may choose from, e.g. [t4g, t3a, m7g, m7i].")
    max_vcpu: int = Field(ge=1, le=192, description="Largest node of the pool, vCPUs.")
    max_memory_gib: int = Field(ge=1, le=1536, description="Largest node of the pool, GiB of memory.")
    limits: PoolLimits = Field(description="Most CPU and memory the whole pool may hold (at least one largest node).")
    dedicated_to_agents: bool = Field(
        False, description="Taint the pool's nodes maas.dev/dedicated=agents:NoSchedule: only agents' pods run there.")
    consolidation: Consolidation = Field(Consolidation(), description="When Karpenter removes or replaces nodes.")
    budgets: list[DisruptionBudget] = Field(
        default_factory=list, description="Disruption budgets. Default (none): Karpenter's own, 10% of the nodes.")
    business_hours: Optional[BusinessHours] = Field(
        None, description="Voluntary disruptions only inside this UTC window (adds budgets; none outside it).")
    weight: Optional[int] = Field(None, ge=1, le=100, description="Priority among pools that fit a pod; higher first.")
    expire_after: Duration | Literal["Never"] = Field(
        "720h", description="Age at which a node is replaced (fresh AMI, patched kernel). Default 720h (30 days).")

    @model_validator(mode="after")
    def _check(self) -> "NodePoolConfig":
        for key in ("capacity_types", "architectures", "instance_families"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                twice = next(v for v in values if values.count(v) > 1)
                raise ValueError(f"{key}: '{twice}' is listed twice")
        if self.limits.cpu < self.max_vcpu:
            raise ValueError(f"limits.cpu: {self.limits.cpu} is less than one largest node ({self.max_vcpu} vCPUs); "
                             f"raise it to at least {self.max_vcpu}")
        if self.limits.memory_gib < self.max_memory_gib:
            raise ValueError(f"limits.memory_gib: {self.limits.memory_gib} is less than one largest node "
                             f"({self.max_memory_gib} GiB); raise it to at least {self.max_memory_gib}")
        return self

    def all_budgets(self) -> list[DisruptionBudget]:
        """The configured budgets and those of business_hours."""
        return [*self.budgets, *(self.business_hours.budgets() if self.business_hours else [])]

    def summary(self) -> "NodePoolSummary":
        return NodePoolSummary(
            name=self.name, architectures=list(self.architectures), capacity_types=list(self.capacity_types),
            max_vcpu=self.max_vcpu, max_memory_gib=self.max_memory_gib, dedicated=self.dedicated_to_agents,
        )


class NodeClassConfig(StrictModel):
    ami_family: Literal["AL2023", "Bottlerocket"] = Field(
        "AL2023", description="Node OS image, the EKS-optimized AMI of the cluster's version: AL2023 (default) or Bottlerocket.")
    root_volume_gib: int = Field(
        20, ge=20, le=16384,
        description="Encrypted gp3 volume of each node for images and logs (AL2023's root, Bottlerocket's data volume), GiB. "
                    "Default 20.")
    ami_version: str = Field(
        "latest",
        description="Version of the AMI alias: latest (default; a new release drifts nodes onto it within the "
                    "disruption budgets) or a release tag to pin, e.g. v20251120 (AL2023) or v1.50.0 (Bottlerocket).",
    )
    detailed_monitoring: bool = Field(description="EC2 detailed (1-minute) monitoring. Default: off in dev, on elsewhere.")

    @model_validator(mode="after")
    def _version(self) -> "NodeClassConfig":
        form = r"v\d{8}" if self.ami_family == "AL2023" else r"v\d+\.\d+\.\d+"
        example = "v20251120" if self.ami_family == "AL2023" else "v1.50.0"
        if self.ami_version != "latest" and not re.fullmatch(form, self.ami_version):
            raise ValueError(f"ami_version: '{self.ami_version}' is not a {self.ami_family} release; write latest or a tag "
                             f"like {example}")
        return self

    @property
    def ami_alias(self) -> str:
        """The EC2NodeClass amiSelectorTerms alias, family@version (al2023@latest, bottlerocket@v1.50.0)."""
        return f"{self.ami_family.lower()}@{self.ami_version}"


# -- will an agent's pod fit? ---------------------------------------------------------------------


class PoolShape(Protocol):
    """What the fit check reads of a pool: a :class:`NodePoolConfig`'s summary, or a platform
    stack's ``node_pools`` output."""

    name: str
    architectures: Sequence[str]
    capacity_types: Sequence[str]
    max_vcpu: int
    max_memory_gib: int
    dedicated: bool


class NodePoolSummary(StrictModel):
    """A pool as the platform stack exports it (``node_pools``) for team stacks' fit check."""

    name: str
    architectures: list[str]
    capacity_types: list[str]
    max_vcpu: int
    max_memory_gib: int
    dedicated: bool


def max_pods(vcpus: int) -> int:
    """Most pods Karpenter assumes on a node of ``vcpus`` in the families we use (AWS VPC CNI, ENI-limited:
    interfaces x (IPv4 per interface - 1) + 2): 58 up to 8 vCPUs (xlarge, 2xlarge), 234 up to 48
    (4xlarge-12xlarge), 737 above. Worked out from zz_generated.vpclimits.go at v1.12.2 over the
    t3/t3a/t4g/m, c, r 6th-8th generation families; the largest count of a size range is taken, so
    the reserve below is never underestimated."""
    return 58 if vcpus <= 8 else 234 if vcpus <= 48 else 737


def node_allocatable(vcpus: int, memory_gib: int) -> tuple[int, int]:
    """(millicores, MiB) Karpenter counts as allocatable on a node of ``vcpus`` and ``memory_gib``,
    with the defaults of v1.12.2 (``types.go``): memory less the VM overhead (7.5%,
    VM_MEMORY_OVERHEAD_PERCENT) and Graviton's 64 MiB, less kube-reserved (11 MiB per pod + 255 MiB;
    CPU 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest) and the
    hard eviction threshold (memory.available 100Mi). No system-reserved by default."""
    millicores = vcpus * 1000
    reserved_cpu = 0.0
    for start, end, share in ((0, 1000, 0.06), (1000, 2000, 0.01), (2000, 4000, 0.005), (4000, 1 << 31, 0.0025)):
        if millicores >= start:
            reserved_cpu += (min(millicores, end) - start) * share
    capacity_mib = memory_gib * 1024 - 64
    capacity_mib -= math.ceil(capacity_mib * 0.075)
    reserved_mib = 11 * max_pods(vcpus) + 255 + 100
    return millicores - math.ceil(reserved_cpu), capacity_mib - reserved_mib


def _words(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


def fit_problem(
    *, architectures: Sequence[str], critical: bool, cpu_millicores: int, memory_mib: int,
    pools: Sequence[PoolShape], environment: str,
) -> Optional[tuple[str, str]]:
    """Why no pool can run a pod of the agent, as (key, message), or None.

    Pools count when they are untainted or dedicated to agents (agents' pods tolerate that taint),
    share one of the agent's architectures and, for a critical agent in prod, offer On-Demand.
    The pod must fit the allocatable of the largest node such a pool allows (:func:`node_allocatable`).
    """
    usable = [p for p in pools if set(p.architectures) & set(architectures)]
    if not usable:
        offered = sorted({a for p in pools for a in p.architectures})
        missing = " or ".join(architectures)
        return ("architectures", f"{_words(architectures)} — no node pool runs {missing}; add {architectures[0]} to a "
                f"pool's architectures or build the image for {' or '.join(offered) or 'amd64'}")
    if critical and environment == "prod":
        usable = [p for p in usable if "on-demand" in p.capacity_types]
        if not usable:
            return ("critical", f"true — no node pool of {_words(architectures)} offers on-demand capacity; add "
                    "on-demand to a pool's capacity_types or set critical: false")
    largest = max(usable, key=lambda p: node_allocatable(p.max_vcpu, p.max_memory_gib))
    for pool in usable:
        cpu, memory = node_allocatable(pool.max_vcpu, pool.max_memory_gib)
        if cpu_millicores <= cpu and memory_mib <= memory:
            return None
    cpu, memory = node_allocatable(largest.max_vcpu, largest.max_memory_gib)
    return ("resources.requests", f"{cpu_millicores}m CPU and {memory_mib}Mi per pod do not fit the largest node a pool "
            f"allows ('{largest.name}': {largest.max_vcpu} vCPUs, {largest.max_memory_gib} GiB, of which {cpu}m and "
            f"{memory}Mi allocatable); lower the requests or raise a pool's max_vcpu / max_memory_gib")
