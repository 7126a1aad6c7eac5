"""MAAS-K8S-037 to 039 and MAAS-REL-012 to 014: the nodes the cluster can start, and whether the
stack's pods can run on them.

Karpenter launches nodes from NodePools (karpenter.sh/v1) built by an EC2NodeClass
(karpenter.k8s.aws/v1); the managed node groups (aws:eks/nodeGroup) keep the system pods. The
rules hold a NodePool to a bound on its total size (037) and to a way of giving nodes back
(REL-012); an EC2NodeClass to nodes whose instance credentials pods cannot reach and which stay
off the internet (038), with volumes under the platform's key and no credential in their user
data (039); and the stack as a whole to pods that fit some capacity it declares (REL-013) and to
capacity declared once, by the platform (REL-014).

What the rules rely on, read on 2026-12-02 in aws/karpenter-provider-aws at tag v1.12.2 (the
chart we pin; CRDs in pkg/apis/crds/, docs in website/content/en/docs/concepts/):

* EC2NodeClass ``spec.metadataOptions`` defaults, in the CRD and in nodeclasses.md
  "spec.metadataOptions", to httpEndpoint enabled, httpTokens required and
  httpPutResponseHopLimit 1, and each field left out of a given metadataOptions defaults the same
  way: a missing field is the secure value, not a violation.
* ``spec.blockDeviceMappings`` left out takes the AMI family's defaults, ``encrypted: true``
  without a kmsKeyID (AL2, AL2023, Bottlerocket, Windows), i.e. the account's AWS-managed EBS key,
  and none at all for Custom (nodeclasses.md "spec.blockDeviceMappings"). MAAS-SEC-009 holds
  launch templates to a customer-managed key; 039 holds node classes to the same.
* ``spec.associatePublicIPAddress`` left out follows the subnet's MapPublicIpOnLaunch
  (nodeclasses.md "spec.associatePublicIPAddress"); only ``true`` is refused, since the subnets a
  class selects are the platform's private subnets (the discovery tag).
* Subnet and security group selector terms: the CRD refuses an empty list and a term with none of
  id / tags (/ name), but ``tags: {}`` passes it (has(x.tags) is true), and the providers then
  build an empty filter set for that term (pkg/providers/subnet/subnet.go and
  pkg/providers/securitygroup/securitygroup.go, getFilterSets): DescribeSubnets /
  DescribeSecurityGroups with no filter, every subnet or group of the region, any VPC. A tag value
  ``*`` selects by the key alone (tag-key filter), which still names something.
* NodePool ``spec.limits`` left out means no limit but the account's quotas (nodepools.md
  "spec.limits"); a pool with ``spec.replicas`` (static) admits only ``limits.nodes``.
* ``spec.disruption.consolidationPolicy`` defaults to WhenEmptyOrUnderutilized,
  ``consolidateAfter`` is required (``Never`` turns consolidation off) and budgets default to one
  of 10% (CRD). Budgets apply to the reasons Underutilized, Empty and Drifted (all when none named).
* Scheduling (scheduling.md "Well-Known Labels", "User-Defined Labels"; nodepools.md
  "spec.template.spec.requirements"): a well-known label a pool does not constrain may take any
  value the cloud offers; a label that is neither well-known nor defined by the pool's
  requirements or template labels is never put on a node, so a pod that selects it stays pending.
  ``startupTaints`` are ignored for provisioning; ``taints`` are not.

Managed node groups (EKS API reference, Nodegroup, read 2026-12-02): amiType names the
architecture (``*_ARM_64*`` arm64, the others x86_64; CUSTOM or unset: not known here),
capacityType is ON_DEMAND (the default), SPOT or CAPACITY_BLOCK, taint effects are NO_SCHEDULE,
NO_EXECUTE and PREFER_NO_SCHEDULE. Their nodes carry the group's labels and the Kubernetes
well-known ones, never Karpenter's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from ... import names
from ...credentials import decoded, scan_document
from ..aws.helpers import customer_key_problem
from ..core import SECRET, UNKNOWN, Context, Finding, NotEvaluable, Outcome, Resource, resource_rule, stack_rule
from .helpers import CONTAINER_LISTS, is_manifest, kind_of, pod_spec_paths

NODE_POOL_TYPES: tuple[str, ...] = (names.K8S_NODE_POOL,)
NODE_CLASS_TYPES: tuple[str, ...] = (names.K8S_EC2_NODE_CLASS,)
# What declares nodes: a team stack declares none of them (MAAS-REL-014).
CAPACITY_TYPES: tuple[str, ...] = (names.K8S_NODE_POOL, names.K8S_EC2_NODE_CLASS, names.EKS_NODE_GROUP)
# The well-known labels of instance size Karpenter constrains (scheduling.md, v1.12.2).
INSTANCE_CPU = "karpenter.k8s.aws/instance-cpu"  # vCPUs
INSTANCE_MEMORY = "karpenter.k8s.aws/instance-memory"  # MiB
# Labels every Karpenter node carries whatever its pool says (scheduling.md "Well-Known Labels",
# v1.12.2, and the deprecated ones it translates): a pool that does not constrain one may take any
# value. Every karpenter.k8s.aws/ label of the table is well-known, so the domain is listed instead.
KARPENTER_WELL_KNOWN = frozenset({
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "topology.k8s.aws/zone-id",
    "node.kubernetes.io/instance-type", "node.kubernetes.io/windows-build", "kubernetes.io/os", names.ARCH_LABEL,
    "kubernetes.io/hostname", names.CAPACITY_TYPE_LABEL, names.NODE_POOL_LABEL,
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region", "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type",
})
KARPENTER_WELL_KNOWN_DOMAINS = ("karpenter.k8s.aws/",)
# Labels the kubelet and the cloud put on every node, a managed node group's too (the architecture
# is read from the group's amiType where it names one).
NODE_WELL_KNOWN = frozenset({
    names.ARCH_LABEL, "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "topology.k8s.aws/zone-id",
    "node.kubernetes.io/instance-type", "kubernetes.io/os", "kubernetes.io/hostname", "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
})
# The EKS label of a managed node's capacity type (EKS user guide, managed node groups).
EKS_CAPACITY_LABEL = "eks.amazonaws.com/capacityType"
EKS_NODE_GROUP_LABEL = "eks.amazonaws.com/nodegroup"
# Taint effects that keep a pod off a node that does not tolerate them (PreferNoSchedule does not).
BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
_EKS_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
_EKS_CAPACITY = {"ON_DEMAND": "on-demand", "SPOT": "spot", "CAPACITY_BLOCK": "reserved"}
DISRUPTION_REASONS = frozenset({"Underutilized", "Empty", "Drifted"})
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": Decimal("0.001")}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([KMGTPE]i|[kMGTPEm]?)$")
_NODE_FRAMEWORKS = {"CIS EKS": ["5.4.2"], "NIST 800-53": ["SC-7", "AC-6"], "SOC 2": ["CC6.1", "CC6.6"]}


def quantity(value: Any) -> Optional[Decimal]:
    """A Kubernetes quantity (``250m``, ``2``, ``512Mi``, ``1e3``) as a number of base units
    (cores, bytes); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * Decimal(_UNITS[match.group(2)])
    except InvalidOperation:
        return None


def _name(resource: Resource) -> str:
    return str(resource.get("metadata.name") or resource.name)


# -- NodePool ------------------------------------------------------------------------------------

@resource_rule(
    "MAAS-K8S-037",
    title="NodePools bound their total CPU and memory",
    description="Every NodePool sets spec.limits.cpu and spec.limits.memory. Without them Karpenter launches nodes "
                "until the account's EC2 quotas stop it: a scaling loop, a flood of messages or a pod that cannot "
                "schedule becomes a cost incident. A static pool (spec.replicas) is bounded by its replicas.",
    severity="high",
    remediation="Set spec.limits {cpu, memory} on the pool (maas:cluster.node_pools[].limits), at most what the "
                "environment's budget pays for.",
    types=NODE_POOL_TYPES,
    frameworks={"NIST 800-53": ["SC-5", "SC-6"], "SOC 2": ["A1.1"], "AWS Well-Architected": ["COST02-BP05"]},
)
def node_pool_limits(resource: Resource, context: Context) -> Iterator[Outcome]:
    for path in ("spec", "spec.replicas", "spec.limits"):
        if resource.get(path) == UNKNOWN:
            yield NotEvaluable(path)
            return
    if resource.get("spec.replicas") is not None:
        return
    limits = resource.get("spec.limits")
    limits = limits if isinstance(limits, Mapping) else {}
    for key in ("cpu", "memory"):
        value = limits.get(key)
        if value == UNKNOWN:
            yield NotEvaluable(f"spec.limits.{key}")
        elif value is None:
            yield f"NodePool {_name(resource)} sets no spec.limits.{key}: it grows until the account's quotas stop it"
        elif quantity(value) is None or quantity(value) <= 0:  # type: ignore[operator]
            yield f"NodePool {_name(resource)}: spec.limits.{key} {value!r} is not a positive quantity"


def _always_active(budget: Mapping[str, Any]) -> bool:
    return budget.get("schedule") is None


@resource_rule(
    "MAAS-REL-012",
    title="NodePools give back empty and drifted nodes",
    description="A NodePool consolidates (spec.disruption.consolidateAfter is not Never; consolidationPolicy "
                "defaults to WhenEmptyOrUnderutilized) and no always-active budget (one without a schedule) allows "
                "0 nodes for every reason. Otherwise nodes that emptied after a burst are paid for until someone "
                "deletes them, and drifted nodes (a new AMI with security fixes, a changed node class) are never "
                "replaced. A budget of 0 nodes with a schedule and a duration (outside business hours) is fine.",
    severity="medium",
    remediation="Set spec.disruption.consolidateAfter to a duration (e.g. 1m) and keep budgets that allow at least "
                "one node, or limit the 0-node budget to a schedule and a duration.",
    types=NODE_POOL_TYPES,
    frameworks={"NIST 800-53": ["SI-2", "CM-3"], "SOC 2": ["CC7.1"], "AWS Well-Architected": ["COST09-BP03"]},
)
def node_pool_disruption(resource: Resource, context: Context) -> Iterator[Outcome]:
    for path in ("spec", "spec.replicas", "spec.disruption"):
        if resource.get(path) == UNKNOWN:
            yield NotEvaluable(path)
            return
    if resource.get("spec.replicas") is not None:
        return  # a static pool is not consolidated; drift still replaces its nodes
    disruption = resource.get("spec.disruption")
    disruption = disruption if isinstance(disruption, Mapping) else {}
    after = disruption.get("consolidateAfter")
    if after == UNKNOWN:
        yield NotEvaluable("spec.disruption.consolidateAfter")
    elif after == "Never":
        yield f"NodePool {_name(resource)}: consolidateAfter Never keeps every node it launches, empty or not"
    budgets = disruption.get("budgets")
    if budgets == UNKNOWN:
        yield NotEvaluable("spec.disruption.budgets")
        return
    for index, budget in enumerate(budgets if isinstance(budgets, list) else []):
        if budget == UNKNOWN:
            yield NotEvaluable(f"spec.disruption.budgets[{index}]")
            continue
        if not isinstance(budget, Mapping):
            continue
        nodes, reasons = budget.get("nodes"), budget.get("reasons")
        if UNKNOWN in (nodes, reasons, budget.get("schedule")):
            yield NotEvaluable(f"spec.disruption.budgets[{index}]")
            continue
        covered = set(reasons) if isinstance(reasons, list) and reasons else set(DISRUPTION_REASONS)
        if _always_active(budget) and str(nodes).strip() in ("0", "0%") and covered >= DISRUPTION_REASONS:
            yield (f"NodePool {_name(resource)}: budgets[{index}] allows 0 nodes at all times for every reason: no "
                   "node is ever consolidated or replaced after drift")


# -- EC2NodeClass --------------------------------------------------------------------------------

def _selector_problems(resource: Resource, key: str, fields: tuple[str, ...], what: str) -> Iterator[Outcome]:
    terms = resource.get(f"spec.{key}")
    if terms == UNKNOWN:
        yield NotEvaluable(f"spec.{key}")
        return
    if not isinstance(terms, list) or not terms:
        yield f"spec.{key} is empty: the node class selects no {what}, or (once defaulted) every one of the region"
        return
    for index, term in enumerate(terms):
        if term == UNKNOWN:
            yield NotEvaluable(f"spec.{key}[{index}]")
            continue
        term = term if isinstance(term, Mapping) else {}
        named = [f for f in fields if f != "tags" and term.get(f) not in (None, "")]
        tags = term.get("tags")
        if tags == UNKNOWN:
            yield NotEvaluable(f"spec.{key}[{index}].tags")
        elif not named and not (isinstance(tags, Mapping) and tags):
            yield (f"spec.{key}[{index}] names no {' or '.join(fields)}: Karpenter looks it up with no filter and "
                   f"uses every {what} of the region, in any VPC")


@resource_rule(
    "MAAS-K8S-038",
    title="Karpenter nodes keep the instance's credentials from pods and stay off the internet",
    description="An EC2NodeClass requires IMDSv2 (metadataOptions.httpTokens required) with a response hop limit "
                "of 1, so a pod (one hop further, in its own network namespace) cannot read the node role's "
                "credentials; never sets associatePublicIPAddress: true; and selects subnets and security groups by "
                "something (each selector term names an id, a name or at least one tag: an empty term selects "
                "every subnet or group of the region). Left out, the metadata options default to required and 1.",
    severity="high",
    remediation="Leave spec.metadataOptions out (or set httpTokens: required, httpPutResponseHopLimit: 1), drop "
                "associatePublicIPAddress, and select subnets and security groups by the karpenter.sh/discovery tag "
                "(value: the cluster name).",
    types=NODE_CLASS_TYPES,
    frameworks=_NODE_FRAMEWORKS,
)
def node_class_exposure(resource: Resource, context: Context) -> Iterator[Outcome]:
    if resource.get("spec") == UNKNOWN:
        yield NotEvaluable("spec")
        return
    options = resource.get("spec.metadataOptions")
    if options == UNKNOWN:
        yield NotEvaluable("spec.metadataOptions")
    elif isinstance(options, Mapping):
        tokens, hops, endpoint = (options.get("httpTokens"), options.get("httpPutResponseHopLimit"),
                                  options.get("httpEndpoint"))
        if endpoint == "disabled":
            pass  # no metadata service at all: nothing to reach
        elif tokens == UNKNOWN or hops == UNKNOWN:
            yield NotEvaluable("spec.metadataOptions")
        else:
            if tokens not in (None, "required"):
                yield f"metadataOptions.httpTokens is {tokens!r}: IMDSv1 hands the node role's credentials to any GET"
            if hops is not None and quantity(hops) != 1:
                yield (f"metadataOptions.httpPutResponseHopLimit is {hops}: pods can reach the node's instance "
                       "metadata and its role's credentials (keep it 1)")
    public = resource.get("spec.associatePublicIPAddress")
    if public == UNKNOWN:
        yield NotEvaluable("spec.associatePublicIPAddress")
    elif public is True or (isinstance(public, str) and public.lower() == "true"):
        yield "associatePublicIPAddress is true: every node gets a public address"
    yield from _selector_problems(resource, "subnetSelectorTerms", ("id", "tags"), "subnet")
    yield from _selector_problems(resource, "securityGroupSelectorTerms", ("id", "name", "tags"), "security group")


@resource_rule(
    "MAAS-K8S-039",
    title="Karpenter nodes' volumes use the platform's key and their user data holds no credential",
    description="An EC2NodeClass maps its volumes (blockDeviceMappings; left out, the AMI family's defaults use "
                "the account's AWS-managed key, and Custom none) and every one is encrypted with a "
                "customer-managed KMS key (ebs.encrypted true and ebs.kmsKeyID), as MAAS-SEC-009 asks of launch "
                "templates; and its userData, which anyone who may describe the instance or the node class reads, "
                "holds no credential (the detectors of MAAS-SEC-019).",
    severity="high",
    remediation="Map the root volume: blockDeviceMappings [{deviceName: /dev/xvda, rootVolume: true, ebs: "
                "{encrypted: true, kmsKeyID: <platform EBS key ARN>, ...}}]; read secrets at boot through the node "
                "role, never write them into userData.",
    types=NODE_CLASS_TYPES,
    frameworks={"NIST 800-53": ["SC-28", "SC-12", "IA-5(7)"], "SOC 2": ["CC6.1", "CC6.7"], "CIS AWS": ["2.2.1"]},
)
def node_class_confidential(resource: Resource, context: Context) -> Iterator[Outcome]:
    if resource.get("spec") == UNKNOWN:
        yield NotEvaluable("spec")
        return
    mappings = resource.get("spec.blockDeviceMappings")
    if mappings == UNKNOWN:
        yield NotEvaluable("spec.blockDeviceMappings")
    elif not isinstance(mappings, list) or not mappings:
        yield ("no blockDeviceMappings: the AMI family's default volumes use the account's AWS-managed key (Custom: "
               "the AMI's), not the platform's")
    else:
        for index, mapping_ in enumerate(mappings):
            path = f"spec.blockDeviceMappings[{index}]"
            ebs = mapping_.get("ebs") if isinstance(mapping_, Mapping) else mapping_
            if mapping_ == UNKNOWN or ebs == UNKNOWN:
                yield NotEvaluable(path if mapping_ == UNKNOWN else f"{path}.ebs")
                continue
            ebs = ebs if isinstance(ebs, Mapping) else {}
            encrypted = ebs.get("encrypted")
            if encrypted == UNKNOWN:
                yield NotEvaluable(f"{path}.ebs.encrypted")
            elif encrypted is not True and str(encrypted).lower() != "true":
                yield f"blockDeviceMappings[{index}] is not encrypted (ebs.encrypted is not true)"
                continue
            problem = customer_key_problem(ebs.get("kmsKeyID"), f"blockDeviceMappings[{index}].ebs.kmsKeyID",
                                           f"{path}.ebs.kmsKeyID")
            if problem is not None:
                yield problem
    user_data = resource.get("spec.userData")
    if user_data == UNKNOWN:
        yield NotEvaluable("spec.userData")
    elif isinstance(user_data, str) and user_data != SECRET:
        text = (decoded(user_data) or user_data).rstrip("\n") + "\n"
        for match in scan_document(text):
            yield f"spec.userData holds {match.description}; read it at boot through the node role instead"


# -- what the stack's pods can run on ------------------------------------------------------------

# A label's values on the nodes of one capacity: a finite set, every value but some (``excluded``),
# or no label at all (``absent``).
@dataclass(frozen=True)
class Domain:
    values: Optional[frozenset[str]] = None  # None: any value but ``excluded``
    excluded: frozenset[str] = frozenset()
    absent: bool = False
    low: Optional[Decimal] = None  # numeric bounds (Gt/Lt requirements), exclusive
    high: Optional[Decimal] = None

    def admits(self, value: str) -> bool:
        if self.absent:
            return False
        if self.values is not None:
            return value in self.values
        if value in self.excluded:
            return False
        number = quantity(value)
        if (self.low is not None or self.high is not None) and number is None:
            return False
        return (self.low is None or number > self.low) and (self.high is None or number < self.high)  # type: ignore[operator]


ANY, ABSENT = Domain(), Domain(absent=True)


def satisfiable(domain: Domain, operator: str, values: Sequence[str]) -> bool:
    """Whether a node whose label takes a value of ``domain`` can match the expression."""
    if operator == "In":
        return any(domain.admits(v) for v in values)
    if operator == "NotIn":
        return domain.absent or domain.values is None or bool(domain.values - set(values))
    if operator == "Exists":
        return not domain.absent
    if operator == "DoesNotExist":
        return domain.absent
    if operator in ("Gt", "Lt") and values:
        bound = quantity(values[0])
        if domain.absent or bound is None:
            return False
        if domain.values is not None:
            return any((quantity(v) or 0) > bound if operator == "Gt" else (quantity(v) or 0) < bound
                       for v in domain.values if quantity(v) is not None)
        return (domain.high is None or domain.high - 1 > bound) if operator == "Gt" else \
            (domain.low is None or domain.low + 1 < bound)
    return True


@dataclass(frozen=True)
class Capacity:
    """The nodes one NodePool or managed node group can start: the domain of each label they carry,
    their taints, the largest instance (vCPU, MiB; None: no bound), and how an unlisted label reads."""

    urn: str
    what: str
    domains: Mapping[str, Domain]
    taints: tuple[Mapping[str, Any], ...]
    max_cpu: Optional[Decimal] = None
    max_mib: Optional[Decimal] = None
    karpenter: bool = True

    def domain(self, key: str) -> Domain:
        if key in self.domains:
            return self.domains[key]
        known = KARPENTER_WELL_KNOWN if self.karpenter else NODE_WELL_KNOWN
        if key in known or (self.karpenter and key.startswith(KARPENTER_WELL_KNOWN_DOMAINS)):
            return ANY
        return ABSENT


def _requirement_domain(requirement: Mapping[str, Any]) -> Domain:
    operator, values = requirement.get("operator"), [str(v) for v in requirement.get("values") or []]
    if operator == "In":
        return Domain(values=frozenset(values))
    if operator == "NotIn":
        return Domain(excluded=frozenset(values))
    if operator == "DoesNotExist":
        return ABSENT
    bound = quantity(values[0]) if values else None
    if operator in ("Gt", "Gte") and bound is not None:
        return Domain(low=bound - (1 if operator == "Gte" else 0))
    if operator in ("Lt", "Lte") and bound is not None:
        return Domain(high=bound + (1 if operator == "Lte" else 0))
    return ANY


def _largest(domain: Domain) -> Optional[Decimal]:
    """The largest whole value a size label may take on the pool's nodes (None: no bound)."""
    if domain.values is not None:
        numbers = [quantity(v) for v in domain.values]
        return max((n for n in numbers if n is not None), default=None)
    return None if domain.high is None else domain.high - 1


def node_pool_capacity(resource: Resource) -> Union[Capacity, NotEvaluable]:
    template = resource.get("spec.template.spec")
    labels = resource.get("spec.template.metadata.labels")
    if resource.unknown_at("spec.template.spec.requirements") or resource.unknown_at("spec.template.spec.taints") \
            or resource.unknown_at("spec.template.metadata.labels"):
        return NotEvaluable("spec.template", resource.urn)
    template = template if isinstance(template, Mapping) else {}
    domains: dict[str, Domain] = {}
    for requirement in template.get("requirements") or []:
        if requirement == UNKNOWN or not isinstance(requirement, Mapping) or UNKNOWN in (
                requirement.get("key"), requirement.get("operator"), requirement.get("values")) or \
                UNKNOWN in (requirement.get("values") or []):
            return NotEvaluable("spec.template.spec.requirements", resource.urn)
        domains[str(requirement.get("key"))] = _requirement_domain(requirement)
    for key, value in (labels.items() if isinstance(labels, Mapping) else ()):
        if value == UNKNOWN:
            return NotEvaluable(f"spec.template.metadata.labels.{key}", resource.urn)
        domains[str(key)] = Domain(values=frozenset({str(value)}))
    pool = _name(resource)
    domains[names.NODE_POOL_LABEL] = Domain(values=frozenset({pool}))
    taints = tuple(t for t in template.get("taints") or [] if isinstance(t, Mapping))
    return Capacity(resource.urn, f"NodePool {pool}", domains, taints,
                    max_cpu=_largest(domains.get(INSTANCE_CPU, ANY)), max_mib=_largest(domains.get(INSTANCE_MEMORY, ANY)))


def node_group_capacity(resource: Resource) -> Union[Capacity, NotEvaluable]:
    props = resource.props
    for key in ("amiType", "capacityType", "labels", "taints"):
        if props.get(key) == UNKNOWN:
            return NotEvaluable(key, resource.urn)
    domains: dict[str, Domain] = {}
    ami = props.get("amiType")
    if isinstance(ami, str) and ami != "CUSTOM":
        domains[names.ARCH_LABEL] = Domain(values=frozenset({"arm64" if "ARM_64" in ami else "amd64"}))
    capacity = str(props.get("capacityType") or "ON_DEMAND")
    domains[EKS_CAPACITY_LABEL] = Domain(values=frozenset({capacity}))
    domains[names.CAPACITY_TYPE_LABEL] = ABSENT  # Karpenter's label: never on a managed node
    domains[EKS_NODE_GROUP_LABEL] = ANY
    labels = props.get("labels")
    for key, value in (labels.items() if isinstance(labels, Mapping) else ()):
        if value == UNKNOWN:
            return NotEvaluable(f"labels.{key}", resource.urn)
        domains[str(key)] = Domain(values=frozenset({str(value)}))
    taints = []
    for taint in props.get("taints") or []:
        if isinstance(taint, Mapping):
            effect = _EKS_EFFECTS.get(str(taint.get("effect")), str(taint.get("effect")))
            taints.append({"key": taint.get("key"), "value": taint.get("value"), "effect": effect})
    group = str(props.get("nodeGroupName") or resource.name)
    return Capacity(resource.urn, f"node group {group}", domains, tuple(taints), karpenter=False)


def capacities(resources: Sequence[Resource]) -> list[Union[Capacity, NotEvaluable]]:
    """Every capacity the stack declares (NodePools, managed node groups)."""
    found: list[Union[Capacity, NotEvaluable]] = []
    for resource in resources:
        if resource.type == names.K8S_NODE_POOL:
            found.append(node_pool_capacity(resource))
        elif resource.type == names.EKS_NODE_GROUP:
            found.append(node_group_capacity(resource))
    return found


def tolerates(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' rule: same effect (or none named), same key (or none with Exists), and the same
    value unless the operator is Exists."""
    for toleration in tolerations:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key, operator = toleration.get("key"), toleration.get("operator") or "Equal"
        if not key:
            if operator == "Exists":
                return True
            continue
        if key != taint.get("key"):
            continue
        if operator == "Exists" or str(toleration.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


@dataclass(frozen=True)
class Placement:
    """What a pod asks of its node: label constraints (terms ORed, expressions ANDed), tolerations
    and its requests (cores, bytes)."""

    terms: tuple[tuple[tuple[str, str, tuple[str, ...]], ...], ...]
    tolerations: tuple[Mapping[str, Any], ...]
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)
    unknown: tuple[str, ...] = field(default=())


def _requests(spec: Mapping[str, Any], path: str, unknown: list[str]) -> tuple[Decimal, Decimal]:
    """The pod's effective requests: its containers' (and restartable init containers') sum, or the
    largest init container's when larger; a container's request defaults to its limit."""

    def one(container: Mapping[str, Any], where: str) -> tuple[Decimal, Decimal]:
        resources = container.get("resources")
        if resources == UNKNOWN:
            unknown.append(f"{where}.resources")
            return Decimal(0), Decimal(0)
        resources = resources if isinstance(resources, Mapping) else {}
        out = []
        for key in ("cpu", "memory"):
            requests, limits = resources.get("requests"), resources.get("limits")
            value = (requests.get(key) if isinstance(requests, Mapping) else None)
            if value is None:
                value = limits.get(key) if isinstance(limits, Mapping) else None
            if UNKNOWN in (value, requests, limits):
                unknown.append(f"{where}.resources")
            out.append(quantity(value) or Decimal(0))
        return out[0], out[1]

    cpu = memory = Decimal(0)
    init_cpu = init_memory = Decimal(0)
    for key in CONTAINER_LISTS[:2]:
        entries = spec.get(key)
        if entries == UNKNOWN:
            unknown.append(f"{path}.{key}")
            continue
        for index, container in enumerate(entries or []):
            if not isinstance(container, Mapping):
                if container == UNKNOWN:
                    unknown.append(f"{path}.{key}[{index}]")
                continue
            c, m = one(container, f"{path}.{key}[{index}]")
            if key == "containers" or container.get("restartPolicy") == "Always":
                cpu, memory = cpu + c, memory + m
            else:
                init_cpu, init_memory = max(init_cpu, c), max(init_memory, m)
    return max(cpu, init_cpu), max(memory, init_memory)


def placement(spec: Mapping[str, Any], path: str) -> Placement:
    unknown: list[str] = []
    selector = spec.get("nodeSelector")
    base: list[tuple[str, str, tuple[str, ...]]] = []
    if selector == UNKNOWN:
        unknown.append(f"{path}.nodeSelector")
    for key, value in (selector.items() if isinstance(selector, Mapping) else ()):
        if value == UNKNOWN:
            unknown.append(f"{path}.nodeSelector.{key}")
        base.append((str(key), "In", (str(value),)))
    affinity_path = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
    terms_value: Any = spec
    for part in affinity_path.split("."):
        terms_value = terms_value.get(part) if isinstance(terms_value, Mapping) else None
        if terms_value == UNKNOWN:
            unknown.append(f"{path}.affinity")
            terms_value = None
            break
    terms: list[tuple[tuple[str, str, tuple[str, ...]], ...]] = []
    for term in terms_value if isinstance(terms_value, list) else []:
        expressions = term.get("matchExpressions") if isinstance(term, Mapping) else None
        if term == UNKNOWN or expressions == UNKNOWN:
            unknown.append(f"{path}.affinity")
            continue
        parsed = []
        for expression in expressions or []:
            if not isinstance(expression, Mapping) or UNKNOWN in (
                    expression.get("key"), expression.get("operator"), expression.get("values")):
                unknown.append(f"{path}.affinity")
                continue
            parsed.append((str(expression.get("key")), str(expression.get("operator")),
                           tuple(str(v) for v in expression.get("values") or [])))
        terms.append(tuple(base + parsed))
    tolerations = spec.get("tolerations")
    if tolerations == UNKNOWN or (isinstance(tolerations, list) and UNKNOWN in tolerations):
        unknown.append(f"{path}.tolerations")
    cpu, memory = _requests(spec, path, unknown)
    return Placement(tuple(terms) if terms else (tuple(base),),
                     tuple(t for t in tolerations or [] if isinstance(t, Mapping)) if isinstance(tolerations, list)
                     else (), cpu, memory, tuple(unknown))


def misfit(pod: Placement, capacity: Capacity) -> Optional[str]:
    """Why the pod cannot run on the capacity's nodes (None when it can)."""
    reasons = []
    for term in pod.terms:
        blocked = [f"{key} {operator} {list(values)}" if operator in ("In", "NotIn", "Gt", "Lt") else f"{key} {operator}"
                   for key, operator, values in term if not satisfiable(capacity.domain(key), operator, values)]
        if not blocked:
            break
        reasons.append(", ".join(blocked))
    else:
        return "its node selection (" + "; or ".join(reasons) + ") matches none of its nodes"
    untolerated = [f"{t.get('key')}={t.get('value') or ''}:{t.get('effect')}" for t in capacity.taints
                   if t.get("effect") in BLOCKING_EFFECTS and not tolerates(pod.tolerations, t)]
    if untolerated:
        return f"it does not tolerate the taint {', '.join(untolerated)}"
    if capacity.max_cpu is not None and pod.cpu > capacity.max_cpu:
        return f"it requests {pod.cpu.normalize():f} CPU and the largest node has {capacity.max_cpu.normalize():f}"
    if capacity.max_mib is not None and pod.memory > capacity.max_mib * 2**20:
        return (f"it requests {(pod.memory / 2**20).quantize(Decimal(1))}Mi and the largest node has "
                f"{capacity.max_mib.normalize():f}Mi")
    return None


@stack_rule(
    "MAAS-REL-013",
    title="Every pod of the plan fits some node the cluster can start",
    description="In a stack that declares node capacity (Karpenter NodePools, managed node groups), each pod "
                "template of every workload (any kind that carries one) can be placed on the nodes of at least one "
                "of them: its nodeSelector and required node affinity (kubernetes.io/arch, "
                "karpenter.sh/capacity-type and any other label) are satisfiable by the pool's requirements and "
                "labels (or the node group's AMI architecture, capacity type and labels), it tolerates the taints "
                "they carry, and its requests fit the largest instance the pool allows (instance-cpu and "
                "instance-memory bounds; none: no bound). A pod that fits nowhere stays Pending and its agent "
                "never starts. A stack without capacity (a team stack) is not judged.",
    severity="high",
    remediation="Give the pod the architectures, capacity types and tolerations a pool offers (an agent's "
                "architectures: and critical:), lower its requests, or add a pool (maas:cluster.node_pools) "
                "that serves it.",
    frameworks={"NIST 800-53": ["CP-10", "SC-6"], "SOC 2": ["A1.1"], "AWS Well-Architected": ["REL07-BP01"]},
)
def pods_fit(resources: Sequence[Resource], context: Context) -> Iterator[Union[Finding, NotEvaluable]]:
    offered = capacities(resources)
    if not offered:
        return
    known = [c for c in offered if isinstance(c, Capacity)]
    pending = [c for c in offered if isinstance(c, NotEvaluable)]
    for resource in resources:
        if not is_manifest(resource) or kind_of(resource) == "PodTemplate":
            continue
        for path in pod_spec_paths(resource):
            unknown = resource.unknown_at(path)
            spec = resource.get(path)
            if unknown is not None or not isinstance(spec, Mapping):
                if unknown is not None:
                    yield NotEvaluable(unknown, resource.urn)
                continue
            pod = placement(spec, path)
            reasons = {c.what: misfit(pod, c) for c in known}
            if any(reason is None for reason in reasons.values()):
                continue
            if pod.unknown or pending:
                yield from (NotEvaluable(p, resource.urn) for p in pod.unknown)
                yield from pending
                continue
            why = "; ".join(f"{what}: {reason}" for what, reason in sorted(reasons.items()))
            yield Finding(resource.urn, f"{kind_of(resource)} {_name(resource)} ({path}) fits no node capacity: {why}")


@stack_rule(
    "MAAS-REL-014",
    title="Node capacity is the platform's, and every NodePool names its EC2NodeClass",
    description="A team stack declares no NodePool, EC2NodeClass or node group: the team's deploy identity holds "
                "no RBAC on cluster-scoped objects (components/teams.py), so the update would fail at the cluster, "
                "and capacity is sized and paid for by the platform (maas:cluster.node_pools). In the platform, "
                "every NodePool's spec.template.spec.nodeClassRef names an EC2NodeClass the stack declares "
                "(group karpenter.k8s.aws): a pool whose class does not exist never becomes ready and launches "
                "nothing.",
    severity="high",
    remediation="Ask the platform for the capacity (maas:cluster.node_pools) instead of declaring it in a team "
                "stack; point nodeClassRef at the platform's EC2NodeClass {group: karpenter.k8s.aws, kind: "
                "EC2NodeClass, name: default}.",
    frameworks={"NIST 800-53": ["CM-2", "AC-6"], "SOC 2": ["CC8.1"], "AWS Well-Architected": ["REL01-BP04"]},
)
def capacity_declared_once(resources: Sequence[Resource], context: Context) -> Iterator[Union[Finding, NotEvaluable]]:
    declared = [r for r in resources if r.type in CAPACITY_TYPES]
    if context.team_stack:
        for resource in declared:
            yield Finding(resource.urn, f"a team stack declares {kind_of(resource)} {_name(resource)}: node capacity "
                                        "is the platform's (maas:cluster.node_pools)")
        return
    classes = {r.get("metadata.name") for r in resources if r.type == names.K8S_EC2_NODE_CLASS}
    for pool in (r for r in declared if r.type == names.K8S_NODE_POOL):
        ref = pool.get("spec.template.spec.nodeClassRef")
        unknown = pool.unknown_at("spec.template.spec.nodeClassRef.name") or (
            "spec.template.spec.nodeClassRef" if ref == UNKNOWN else None)
        if unknown:
            yield NotEvaluable(unknown, pool.urn)
            continue
        ref = ref if isinstance(ref, Mapping) else {}
        if UNKNOWN in classes and ref.get("name") not in classes:
            yield NotEvaluable("spec.template.spec.nodeClassRef.name", pool.urn)
        elif ref.get("group") != "karpenter.k8s.aws" or ref.get("kind") != "EC2NodeClass" \
                or ref.get("name") not in classes:
            yield Finding(pool.urn, f"NodePool {_name(pool)}: nodeClassRef {dict(ref) or 'is missing'} names no "
                                    "EC2NodeClass of the stack; the pool launches nothing")


__all__ = ["Capacity", "Domain", "Placement", "capacities", "misfit", "placement", "quantity", "satisfiable",
           "tolerates"]
