"""Rules over a whole stack: what every agent must have around its workload.

**An agent** is recognised by its namespace: a ``kubernetes:core/v1:Namespace`` labelled
``maas.dev/agent``, whose value names the agent and whose ``metadata.name`` is where the
agent's Kubernetes objects live. That is the contract of
:class:`~maas_platform.components.agent.AgentService`, the one way the platform and team
stacks deploy an agent. The agent's workloads are the Deployments and StatefulSets in that
namespace; its AWS resources are those tagged ``agent: <name>``. Objects labelled for an
agent outside its namespace, or unlabelled objects inside it, are findings of MAAS-TAG-103,
so nothing of an agent escapes these rules by living elsewhere.

Per agent the stack must hold:

* a PodDisruptionBudget selecting the pods of each of its workloads (MAAS-STK-001);
* a default-deny NetworkPolicy for ingress and egress over all its pods (MAAS-STK-002);
* a ResourceQuota bounding CPU and memory (MAAS-STK-003) and a LimitRange giving every
  container default requests and a memory limit (MAAS-STK-004);
* an autoscaler, HorizontalPodAutoscaler or KEDA ScaledObject, for each Deployment or StatefulSet (MAAS-STK-005);
* a monthly AWS Budget filtered on its ``agent`` cost-allocation tag that notifies someone (MAAS-STK-006);
* SLO burn-rate alerts in a PrometheusRule of its namespace (MAAS-STK-007) and an alert on
  its LLM spend: the gateway's or the agent-reported counter, or a Bedrock budget (MAAS-STK-008).

The two cost rules map to the cost controls of the AWS Well-Architected Framework (COST02-BP05,
implement cost controls): the security frameworks do not cover spend. Rules build one index
of the stack per call, so a stack of hundreds of agents is checked in time linear in its
resources. Findings name the resource to fix (the workload, or the agent's Namespace when
something is missing altogether), so an exemption can target it.

These rules look for something an agent must have. When they do not find it but an object
that could be it is not known yet (its namespace, its selector, its rules), the agent is
not evaluable, on the properties that were not known, rather than in violation.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from .. import names
from ..names import AGENT_LABEL
from .core import UNKNOWN, Context, Finding, NotEvaluable, Resource, stack_rule
from .kubernetes.helpers import group_of, is_manifest, kind_of, known

WORKLOAD_KINDS: tuple[str, ...] = ("Deployment", "StatefulSet")
_WORKLOAD_TYPES = frozenset(f"kubernetes:apps/v1:{kind}" for kind in WORKLOAD_KINDS)
# The AWS tags of an agent's resources and the namespace labels they must equal.
TAG_OF_LABEL: dict[str, str] = {
    names.TEAM_LABEL: names.TEAM_TAG, names.COST_CENTER_LABEL: names.COST_CENTER_TAG,
    names.ENVIRONMENT_LABEL: names.ENVIRONMENT_TAG,
}
# ``user:agent$<name>``: a cost-allocation tag as budgets' TagKeyValue filters name it.
_AGENT_TAG_FILTER = re.compile(r"^(?:user:)?agent\$(?P<agent>.+)$")
# Multi-window burn-rate alerts read error ratios recorded per window: Sloth's
# ``slo:sli_error:ratio_rate1h`` (the platform's) or Pyrra's ``<name>:burnrate1h``.
_BURN_SERIES = re.compile(r"(?:slo:sli_error:ratio_rate|:burnrate)(\d+[smhdwy])")
PAGING_SEVERITIES = frozenset({"page", "critical"})
LLM_COST_METRIC = "agent_llm_cost_usd_total"
LLM_SPEND_METRICS = (LLM_COST_METRIC, names.LLM_GATEWAY_SPEND_METRIC)
BEDROCK_SERVICE = "Amazon Bedrock"
# Quota keys that bound what the agent may request, and the LimitRange defaults every container gets.
QUOTA_KEYS: dict[str, tuple[str, ...]] = {
    "CPU requests": ("requests.cpu", "cpu"),
    "memory requests": ("requests.memory", "memory"),
    "memory limits": ("limits.memory",),
}
LIMIT_RANGE_DEFAULTS: tuple[tuple[str, str], ...] = (("defaultRequest", "cpu"), ("defaultRequest", "memory"),
                                                     ("default", "memory"))


@dataclass(frozen=True)
class Agent:
    """An agent as recognised from its Namespace."""

    name: str
    namespace: Optional[str]
    resource: Resource

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def unknown(self) -> Optional[NotEvaluable]:
        """Not evaluable when the namespace's name, where the agent's objects live, is not known yet."""
        return NotEvaluable("metadata.name", self.urn) if self.resource.get("metadata.name") == UNKNOWN else None


def is_kind(resource: Resource, group: str, kind: str) -> bool:
    return resource.type.startswith("kubernetes:") and group_of(resource) == group and kind_of(resource) == kind


def agents(resources: Iterable[Resource]) -> list[Agent]:
    """Every agent of the stack: a Namespace labelled ``maas.dev/agent``."""
    found = []
    for resource in resources:
        if is_kind(resource, "core", "Namespace") and resource.labels.get(AGENT_LABEL):
            name = resource.get("metadata.name")
            found.append(Agent(str(resource.labels[AGENT_LABEL]), name if isinstance(name, str) else None, resource))
    return sorted(found, key=lambda a: (a.name, a.urn))


class Objects:
    """The stack's Kubernetes objects by namespace and kind, built once per rule run."""

    def __init__(self, resources: Iterable[Resource]):
        self._index: dict[tuple[Optional[str], str, str], list[Resource]] = defaultdict(list)
        for resource in resources:
            if is_manifest(resource):
                self._index[(resource.namespace, group_of(resource), kind_of(resource))].append(resource)

    def get(self, namespace: Optional[str], group: str, kind: str) -> list[Resource]:
        if namespace is None or namespace == UNKNOWN:
            return []
        return self._index.get((namespace, group, kind), [])

    def undecided(self, group: str, kind: str) -> list[NotEvaluable]:
        """Objects of a kind whose namespace is not known yet: any agent's namespace may be theirs."""
        return [NotEvaluable("metadata.namespace", r.urn) for r in self._index.get((UNKNOWN, group, kind), [])]

    def workloads(self, namespace: Optional[str]) -> list[Resource]:
        return [w for kind in WORKLOAD_KINDS for w in self.get(namespace, "apps", kind)]


def first_unknown(value: Any, path: str) -> Optional[str]:
    """The path of the first value not known yet at or under ``value`` (``path`` names it)."""
    if value == UNKNOWN:
        return path
    if isinstance(value, Mapping):
        items: Iterable[tuple[str, Any]] = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    return next((found for sub, v in items if (found := first_unknown(v, sub)) is not None), None)


def unknowns(resources: Iterable[Resource], *paths: str, deep: bool = True) -> list[NotEvaluable]:
    """What these resources hold at ``paths`` (and, ``deep``, anywhere under them) that is not known yet."""
    found = []
    for resource in resources:
        for path in paths:
            where = resource.unknown_at(path) or (first_unknown(resource.get(path), path) if deep else None)
            if where is not None:
                found.append(NotEvaluable(where, resource.urn))
    return found


def unless_unknown(finding: Finding, blockers: Sequence[NotEvaluable]) -> list[Union[Finding, NotEvaluable]]:
    """``finding``, unless something not known yet could be what is missing: then that is not evaluable."""
    return list(blockers) or [finding]


Outcomes = Iterator[Union[Finding, NotEvaluable]]


def describe(resource: Resource) -> str:
    return f"{kind_of(resource)} {resource.namespace or '-'}/{resource.get('metadata.name') or resource.name}"


def selects(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a label selector (``matchLabels`` and ``matchExpressions``) selects ``labels``.

    ``{}`` selects everything; a missing selector is handled by the caller (its meaning depends on the kind).
    """
    if not isinstance(selector, Mapping):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        return False  # not known yet: it selects nothing known
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        if not isinstance(expression, Mapping) or not _matches(expression, labels):
            return False
    return True


def _matches(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def empty_selector(selector: Any) -> bool:
    return isinstance(selector, Mapping) and not selector.get("matchLabels") and not selector.get("matchExpressions")


def template_labels(workload: Resource) -> Mapping[str, Any]:
    labels = workload.get("spec.template.metadata.labels")
    return labels if isinstance(labels, Mapping) else {}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- availability --------------------------------------------------------------------------------

def _pdb_selects(pdb: Resource, pod_labels: Mapping[str, Any]) -> bool:
    selector = pdb.get("spec.selector")
    if selector is None:
        return False  # a null selector selects no pod
    if empty_selector(selector):
        return not pdb.type.startswith("kubernetes:policy/v1beta1:")  # v1beta1: {} selects none; v1: all
    return selects(selector, pod_labels)


def _pdb_problem(pdb: Resource) -> Union[str, NotEvaluable, None]:
    """Why a PDB that selects the pods still protects none of them, or None."""
    minimum, maximum = pdb.get("spec.minAvailable"), pdb.get("spec.maxUnavailable")
    unknown = unknowns([pdb], "spec.minAvailable", "spec.maxUnavailable", deep=False)
    if unknown:
        return unknown[0]
    if minimum is None and maximum is None:
        return f"{describe(pdb)} states neither minAvailable nor maxUnavailable"
    if minimum in (0, "0%"):
        return f"{describe(pdb)} has minAvailable {minimum}: every pod may be evicted at once"
    if maximum == "100%":
        return f"{describe(pdb)} has maxUnavailable 100%: every pod may be evicted at once"
    return None


@stack_rule(
    "MAAS-STK-001",
    title="A PodDisruptionBudget covers each agent workload",
    description="Each Deployment and StatefulSet of an agent is selected by a PodDisruptionBudget in its namespace "
                "that bounds how many of its pods a voluntary disruption (node drain, upgrade, consolidation) "
                "may evict at once. Without one a node-group upgrade can take every replica down together.",
    severity="medium",
    remediation="Add a policy/v1 PodDisruptionBudget in the agent's namespace whose selector matches the pod "
                "template labels, with maxUnavailable: 1 (or a minAvailable below the replica count).",
    frameworks={"SOC 2": ["A1.1"]},
)
def disruption_budget(resources: Sequence[Resource], context: Context) -> Outcomes:
    objects = Objects(resources)
    for agent in agents(resources):
        if agent.unknown:
            yield agent.unknown
            continue
        workloads = objects.workloads(agent.namespace)
        if not workloads:
            yield from unless_unknown(
                Finding(agent.urn, f"agent {agent.name} has no Deployment or StatefulSet in namespace "
                                   f"{agent.namespace} for a PodDisruptionBudget to cover"),
                undecided_workloads(objects))
        budgets = objects.get(agent.namespace, "policy", "PodDisruptionBudget")
        unsure = objects.undecided("policy", "PodDisruptionBudget") + unknowns(budgets, "spec.selector")
        for workload in workloads:
            blockers = unknowns([workload], "spec.template.metadata.labels") + unsure
            covering = [pdb for pdb in budgets if _pdb_selects(pdb, template_labels(workload))]
            problems = [_pdb_problem(pdb) for pdb in covering]
            if not covering:
                yield from unless_unknown(Finding(workload.urn, f"agent {agent.name}: {describe(workload)} is "
                                                                "selected by no PodDisruptionBudget"), blockers)
            elif all(problems):
                blockers += [p for p in problems if isinstance(p, NotEvaluable)]
                found = "; ".join(p for p in problems if isinstance(p, str))
                yield from unless_unknown(Finding(workload.urn, f"agent {agent.name}: {found}"), blockers)


def undecided_workloads(objects: Objects) -> list[NotEvaluable]:
    return [u for kind in WORKLOAD_KINDS for u in objects.undecided("apps", kind)]


# -- isolation and bounds ----------------------------------------------------------------------

def _denies(policy: Resource, direction: str) -> bool:
    """Whether a NetworkPolicy denies all of ``direction`` (Ingress/Egress) for every pod of its namespace."""
    spec = policy.get("spec") or {}
    if not isinstance(spec, Mapping) or not empty_selector(spec.get("podSelector")):
        return False
    types = spec.get("policyTypes")
    if types is None:  # Kubernetes' default: Ingress, plus Egress when egress rules are given
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    return direction in types and not spec.get(direction.lower())


@stack_rule(
    "MAAS-STK-002",
    title="Each agent namespace denies all traffic by default",
    description="Each agent namespace holds a NetworkPolicy with an empty podSelector that denies ingress and "
                "egress (policyTypes Ingress and Egress, no rules), so that only what further policies allow "
                "reaches or leaves the agent's pods. Without it every pod of the cluster may reach them, and "
                "they may reach anything, the instance metadata included.",
    severity="high",
    remediation="Add a NetworkPolicy in the namespace with podSelector: {} and policyTypes: [Ingress, Egress] and "
                "no ingress or egress rules; allow what the agent needs in further policies.",
    frameworks={"CIS EKS": ["4.3.2", "5.4.4"], "SOC 2": ["CC6.1", "CC6.6"], "NIST 800-53": ["AC-4", "SC-7"]},
)
def default_deny(resources: Sequence[Resource], context: Context) -> Outcomes:
    objects = Objects(resources)
    for agent in agents(resources):
        if agent.unknown:
            yield agent.unknown
            continue
        policies = objects.get(agent.namespace, "networking.k8s.io", "NetworkPolicy")
        missing = [d.lower() for d in ("Ingress", "Egress") if not any(_denies(p, d) for p in policies)]
        if missing:
            blockers = objects.undecided("networking.k8s.io", "NetworkPolicy") + unknowns(policies, "spec")
            yield from unless_unknown(Finding(
                agent.urn, f"agent {agent.name}: no NetworkPolicy in namespace {agent.namespace} denies all "
                           f"{' and '.join(missing)} (podSelector {{}}, policyTypes listing it, no rules)"), blockers)


def _quota_problems(quota: Resource) -> list[str]:
    hard = quota.get("spec.hard")
    hard = hard if isinstance(hard, Mapping) else {}
    missing = [what for what, keys in QUOTA_KEYS.items() if not any(hard.get(k) not in (None, "") for k in keys)]
    problems = [f"bounds no {', '.join(missing)}"] if missing else []
    if quota.get("spec.scopes") or quota.get("spec.scopeSelector"):
        problems.append("is scoped to some pods only")
    return problems


@stack_rule(
    "MAAS-STK-003",
    title="Each agent namespace has a ResourceQuota on CPU and memory",
    description="Each agent namespace holds an unscoped ResourceQuota whose hard limits bound CPU requests, "
                "memory requests and memory limits, so that one agent (a runaway autoscaler, a leak) cannot take "
                "the cluster's capacity from the others.",
    severity="medium",
    remediation="Add a ResourceQuota in the namespace with spec.hard requests.cpu, requests.memory and "
                "limits.memory sized for the agent's maximum replicas plus a rollout's surge.",
    frameworks={"SOC 2": ["A1.1"], "NIST 800-53": ["SC-6"]},
)
def resource_quota(resources: Sequence[Resource], context: Context) -> Outcomes:
    objects = Objects(resources)
    for agent in agents(resources):
        if agent.unknown:
            yield agent.unknown
            continue
        quotas = objects.get(agent.namespace, "core", "ResourceQuota")
        problems = {describe(q): _quota_problems(q) for q in quotas}
        blockers = objects.undecided("core", "ResourceQuota")
        if not quotas:
            yield from unless_unknown(
                Finding(agent.urn, f"agent {agent.name}: namespace {agent.namespace} has no ResourceQuota"), blockers)
        elif all(problems.values()):
            blockers += unknowns(quotas, "spec.hard", "spec.scopes", "spec.scopeSelector", deep=False)
            detail = "; ".join(f"{name} {' and '.join(p)}" for name, p in problems.items())
            yield from unless_unknown(
                Finding(agent.urn, f"agent {agent.name}: no ResourceQuota bounds the namespace: {detail}"), blockers)


def _limit_range_missing(limit_range: Resource) -> list[str]:
    containers = [item for item in limit_range.get("spec.limits") or []
                  if isinstance(item, Mapping) and item.get("type") == "Container"]
    return [f"{section}.{resource}" for section, resource in LIMIT_RANGE_DEFAULTS
            if not any(_mapping(item.get(section)).get(resource) not in (None, "") for item in containers)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@stack_rule(
    "MAAS-STK-004",
    title="Each agent namespace has a LimitRange with container defaults",
    description="Each agent namespace holds a LimitRange whose Container limits give a default CPU and memory "
                "request and a default memory limit, so a container created without them (a debug pod, a job "
                "someone applies by hand) is still scheduled by what it uses and bounded in memory.",
    severity="medium",
    remediation="Add a LimitRange in the namespace with a limit of type Container stating defaultRequest.cpu, "
                "defaultRequest.memory and default.memory (and max).",
    frameworks={"SOC 2": ["A1.1"], "NIST 800-53": ["SC-6"]},
)
def limit_range(resources: Sequence[Resource], context: Context) -> Outcomes:
    objects = Objects(resources)
    for agent in agents(resources):
        if agent.unknown:
            yield agent.unknown
            continue
        ranges = objects.get(agent.namespace, "core", "LimitRange")
        missing = {describe(r): _limit_range_missing(r) for r in ranges}
        blockers = objects.undecided("core", "LimitRange")
        if not ranges:
            yield from unless_unknown(
                Finding(agent.urn, f"agent {agent.name}: namespace {agent.namespace} has no LimitRange"), blockers)
        elif all(missing.values()):
            detail = "; ".join(f"{name} lacks Container {', '.join(m)}" for name, m in missing.items())
            yield from unless_unknown(
                Finding(agent.urn, f"agent {agent.name}: no LimitRange gives container defaults: {detail}"),
                blockers + unknowns(ranges, "spec.limits"))


def _autoscaler_target(autoscaler: Resource, keda: bool) -> tuple[str, Any]:
    kind = autoscaler.get("spec.scaleTargetRef.kind", "Deployment" if keda else None)
    return str(kind), autoscaler.get("spec.scaleTargetRef.name")


def _aims_at(autoscaler: Resource, keda: bool, workload: Resource) -> bool:
    """Whether the autoscaler's scaleTargetRef names ``workload``: by kind and name, or, when the
    name is not known yet (a name Pulumi generates), by the engine's record that the autoscaler's
    spec was computed from that workload and no other."""
    kind, name = _autoscaler_target(autoscaler, keda)
    if kind != UNKNOWN and kind != kind_of(workload):
        return False
    if name != UNKNOWN and kind != UNKNOWN:
        return name == workload.get("metadata.name")
    return _computed_from(autoscaler) == [workload.urn]


def _rollouts_of(objects: "Objects", namespace: Optional[str], workload: Resource) -> list[Resource]:
    """Argo Rollouts that run ``workload``'s pods: their ``spec.workloadRef`` names it (argo-rollouts
    v1.9.1 docs/migrating.md, read 2026-12-03). An autoscaler of such a Rollout scales the workload's
    pods, the Rollout having the scale subresource (docs/features/hpa-support.md)."""
    return [r for r in objects.get(namespace, "argoproj.io", "Rollout")
            if r.get("spec.workloadRef.kind") == kind_of(workload)
            and r.get("spec.workloadRef.name") == workload.get("metadata.name")]


def _computed_from(autoscaler: Resource) -> list[str]:
    """The workloads (URNs) the engine recorded the autoscaler's spec was computed from."""
    sources = autoscaler.property_dependencies.get("spec", ())
    return [urn for urn in sources if urn.split("::")[2].rsplit("$", 1)[-1] in _WORKLOAD_TYPES]


def _autoscaler_problem(autoscaler: Resource, keda: bool) -> Union[str, NotEvaluable, None]:
    """Why an autoscaler aimed at the workload does not scale it, or None."""
    bounds = ("spec.minReplicaCount", "spec.maxReplicaCount") if keda else ("spec.minReplicas", "spec.maxReplicas")
    unknown = unknowns([autoscaler], *bounds, deep=False)
    if unknown:
        return unknown[0]
    if keda:
        if not autoscaler.get("spec.triggers"):
            return f"{describe(autoscaler)} has no triggers"
        low, high = autoscaler.get("spec.minReplicaCount", 0), autoscaler.get("spec.maxReplicaCount", 100)
    else:
        low, high = autoscaler.get("spec.minReplicas", 1), autoscaler.get("spec.maxReplicas")
        if high is None:
            return f"{describe(autoscaler)} states no maxReplicas"
    if _number(low) and _number(high) and high <= low:
        return f"{describe(autoscaler)} cannot scale (min {low}, max {high})"
    return None


@stack_rule(
    "MAAS-STK-005",
    title="Each agent workload has an autoscaler",
    description="Each Deployment and StatefulSet of an agent is the scale target of a HorizontalPodAutoscaler or a "
                "KEDA ScaledObject in its namespace whose maximum exceeds its minimum (or, for a canary agent, the "
                "Rollout that runs it from the Deployment is), so the agent follows its load (CPU, inbox depth) "
                "instead of a fixed replica count.",
    severity="medium",
    remediation="Add a HorizontalPodAutoscaler (autoscaling/v2) or a KEDA ScaledObject whose scaleTargetRef names "
                "the workload, with maxReplicas above minReplicas.",
    frameworks={"SOC 2": ["A1.1"]},
)
def autoscaler(resources: Sequence[Resource], context: Context) -> Outcomes:
    objects = Objects(resources)
    for agent in agents(resources):
        if agent.unknown:
            yield agent.unknown
            continue
        workloads = objects.workloads(agent.namespace)
        if not workloads:
            yield from unless_unknown(
                Finding(agent.urn, f"agent {agent.name} has no Deployment or StatefulSet in namespace "
                                   f"{agent.namespace} to autoscale"),
                undecided_workloads(objects))
        scalers = [(s, False) for s in objects.get(agent.namespace, "autoscaling", "HorizontalPodAutoscaler")]
        scalers += [(s, True) for s in objects.get(agent.namespace, "keda.sh", "ScaledObject")]
        unsure = objects.undecided("autoscaling", "HorizontalPodAutoscaler") + objects.undecided("keda.sh", "ScaledObject")
        # A target not known yet is undecided, unless the engine recorded the one workload it came from.
        unsure += unknowns([s for s, _ in scalers if len(_computed_from(s)) != 1], "spec.scaleTargetRef")
        for workload in workloads:
            blockers = unknowns([workload], "metadata.name") + unsure
            targets = [workload, *_rollouts_of(objects, agent.namespace, workload)]
            aimed = [(s, keda) for s, keda in scalers if any(_aims_at(s, keda, t) for t in targets)]
            problems = [_autoscaler_problem(s, keda) for s, keda in aimed]
            if not aimed:
                yield from unless_unknown(Finding(workload.urn, f"agent {agent.name}: {describe(workload)} is the "
                                                                "target of no HorizontalPodAutoscaler or ScaledObject"),
                                          blockers)
            elif all(problems):
                blockers += [p for p in problems if isinstance(p, NotEvaluable)]
                found = "; ".join(p for p in problems if isinstance(p, str))
                yield from unless_unknown(Finding(workload.urn, f"agent {agent.name}: {found}"), blockers)


# -- cost ------------------------------------------------------------------------------------------

def budget_agents(budget: Resource) -> set[str]:
    """The agents a budget is filtered on: TagKeyValue ``user:agent$<name>`` cost filters, or a
    filter expression on the ``agent`` tag (at its root or in an AND)."""
    found: set[str] = set()
    for item in budget.get("costFilters") or []:
        if isinstance(item, Mapping) and item.get("name") == "TagKeyValue":
            for value in item.get("values") or []:
                match = _AGENT_TAG_FILTER.match(str(value))
                if match:
                    found.add(match.group("agent"))
    expression = budget.get("filterExpression")
    if isinstance(expression, Mapping):
        operands = [expression] + [e for e in expression.get("ands") or [] if isinstance(e, Mapping)]
        for operand in operands:
            tags = operand.get("tags")
            if isinstance(tags, Mapping) and str(tags.get("key", "")).removeprefix("user:") == names.AGENT_TAG:
                values = tags.get("values")
                if isinstance(values, list):
                    found.update(str(v) for v in values if known(v))
    return found


def _notifies(budget: Resource) -> bool:
    return any(
        isinstance(n, Mapping) and (n.get("subscriberSnsTopicArns") or n.get("subscriberEmailAddresses"))
        for n in budget.get("notifications") or []
    )


def _budget_problem(budget: Resource) -> Union[str, NotEvaluable, None]:
    name = budget.get("name") or budget.name
    kind = budget.get("budgetType")
    if kind == UNKNOWN:
        return NotEvaluable("budgetType", budget.urn)
    if kind != "COST":
        return f"budget {name} is not a COST budget"
    if not _notifies(budget):
        unknown = unknowns([budget], "notifications")
        return unknown[0] if unknown else f"budget {name} notifies nobody"
    return None


@stack_rule(
    "MAAS-STK-006",
    title="Each agent has an AWS Budget on its agent tag",
    description="Each agent has an AWS Budget of type COST filtered on its agent cost-allocation tag "
                "(user:agent$<name>) that notifies an SNS topic or an e-mail address, so its AWS spend is "
                "watched on its own and a runaway agent is noticed before the environment's budget is.",
    severity="medium",
    remediation="Set budget.monthly_usd on the agent (maas:agents) so the platform creates its budget, or add an "
                "aws.budgets.Budget with cost_filters [{name: TagKeyValue, values: [user:agent$<name>]}] and a "
                "notification to the alert topic.",
    frameworks={"AWS Well-Architected": ["COST02-BP05"]},
)
def agent_budget(resources: Sequence[Resource], context: Context) -> Outcomes:
    watching: dict[str, list[Resource]] = defaultdict(list)
    budgets = [r for r in resources if r.type == names.BUDGETS_BUDGET]
    for budget in budgets:
        for name in budget_agents(budget):
            watching[name].append(budget)
    # Budgets whose filters are not known yet may watch any agent.
    unsure = unknowns(budgets, "costFilters", "filterExpression")
    for agent in agents(resources):
        if agent.name == UNKNOWN:
            yield NotEvaluable(f"metadata.labels.{AGENT_LABEL}", agent.urn)
            continue
        watched = watching.get(agent.name, [])
        if not watched:
            yield from unless_unknown(Finding(agent.urn, f"agent {agent.name} has no AWS Budget filtered on its tag "
                                                         f"(user:agent${agent.name})"), unsure)
            continue
        problems = [_budget_problem(budget) for budget in watched]
        if all(problems):
            found = "; ".join(p for p in problems if isinstance(p, str))
            yield from unless_unknown(Finding(agent.urn, f"agent {agent.name}: {found}"),
                                      unsure + [p for p in problems if isinstance(p, NotEvaluable)])


# -- alerts --------------------------------------------------------------------------------------

def alerting_rules(objects: Objects, namespace: Optional[str]) -> list[Mapping[str, Any]]:
    """The alerting rules of every PrometheusRule in a namespace."""
    found = []
    for rule_object in objects.get(namespace, "monitoring.coreos.com", "PrometheusRule"):
        for group in rule_object.get("spec.groups") or []:
            for rule in (group.get("rules") or []) if isinstance(group, Mapping) else []:
                if isinstance(rule, Mapping) and rule.get("alert"):
                    found.append(rule)
    return found


def burn_windows(rule: Mapping[str, Any]) -> set[str]:
    """The windows of the recorded error ratios an alert's expression reads."""
    return set(_BURN_SERIES.findall(str(rule.get("expr") or "")))


def severity_of(rule: Mapping[str, Any]) -> Optional[str]:
    labels = rule.get("labels")
    return labels.get("severity") if isinstance(labels, Mapping) else None


def unknown_rules(objects: Objects, namespace: Optional[str]) -> list[NotEvaluable]:
    """PrometheusRules that may hold the alert sought: in the namespace with rules not known
    yet, or anywhere with a namespace not known yet."""
    rule_objects = objects.get(namespace, "monitoring.coreos.com", "PrometheusRule")
    return objects.undecided("monitoring.coreos.com", "PrometheusRule") + unknowns(rule_objects, "spec.groups")


@stack_rule(
    "MAAS-STK-007",
    title="Each agent has SLO burn-rate alerts that page",
    description="Each agent's namespace holds a PrometheusRule with multi-window burn-rate alerts: alerting rules "
                "that read the SLO error ratio over a long and a short window (slo:sli_error:ratio_rate<window>), "
                "at least one of which pages (severity page or critical). They fire while the error budget burns "
                "too fast and stop soon after it no longer does.",
    severity="medium",
    remediation="Declare the agent's slos (maas:agents[].slos) so the platform renders its PrometheusRule, or add "
                "burn-rate alerts in a PrometheusRule of the agent's namespace.",
    frameworks={"SOC 2": ["CC7.2"]},
)
def slo_alerts(resources: Sequence[Resource], context: Context) -> Outcomes:
    objects = Objects(resources)
    for agent in agents(resources):
        if agent.unknown:
            yield agent.unknown
            continue
        burn = [rule for rule in alerting_rules(objects, agent.namespace) if len(burn_windows(rule)) >= 2]
        if not burn:
            yield from unless_unknown(Finding(agent.urn, f"agent {agent.name}: no PrometheusRule in namespace "
                                                         f"{agent.namespace} has a multi-window burn-rate alert"),
                                      unknown_rules(objects, agent.namespace))
        elif not any(severity_of(rule) in PAGING_SEVERITIES for rule in burn):
            yield from unless_unknown(Finding(agent.urn, f"agent {agent.name}: none of its {len(burn)} burn-rate "
                                                         "alerts pages (severity page or critical)"),
                                      unknown_rules(objects, agent.namespace))


@stack_rule(
    "MAAS-STK-008",
    title="Each agent has an alert on its LLM spend",
    description=f"Each agent's namespace holds a PrometheusRule with an alert on its LLM spend — the LLM gateway's "
                f"{names.LLM_GATEWAY_SPEND_METRIC} or the agent-reported {LLM_COST_METRIC} — or its Bedrock spend "
                "has an AWS Budget (Service Amazon Bedrock, its agent tag) that notifies: an agent stuck in a loop "
                "can spend a month's money in a day.",
    severity="medium",
    remediation="Declare the agent's models in llm (bedrock or gateway) with a limit, or set budget.llm_monthly_usd, "
                f"so the platform renders its LLM budget alerts; or add an alerting rule on {LLM_COST_METRIC} in a "
                "PrometheusRule of the agent's namespace.",
    frameworks={"AWS Well-Architected": ["COST02-BP05"]},
)
def llm_spend_alert(resources: Sequence[Resource], context: Context) -> Outcomes:
    objects = Objects(resources)
    bedrock_watched = {name for budget in resources if budget.type == names.BUDGETS_BUDGET and _bedrock_budget(budget)
                       for name in budget_agents(budget)}
    for agent in agents(resources):
        if agent.unknown:
            yield agent.unknown
            continue
        if agent.name in bedrock_watched:
            continue
        if not any(metric in str(rule.get("expr") or "") for metric in LLM_SPEND_METRICS
                   for rule in alerting_rules(objects, agent.namespace)):
            yield from unless_unknown(Finding(agent.urn, f"agent {agent.name}: no alert in namespace "
                                                         f"{agent.namespace} watches {LLM_COST_METRIC} or "
                                                         f"{names.LLM_GATEWAY_SPEND_METRIC}, and no Bedrock budget"),
                                      unknown_rules(objects, agent.namespace))


def _bedrock_budget(budget: Resource) -> bool:
    """A budget filtered on the Amazon Bedrock service that notifies someone."""
    services = [v for item in budget.get("costFilters") or [] if isinstance(item, Mapping) and item.get("name") == "Service"
                for v in item.get("values") or []]
    notified = any(isinstance(n, Mapping) and (n.get("subscriberSnsTopicArns") or n.get("subscriberEmailAddresses"))
                   for n in budget.get("notifications") or [])
    return BEDROCK_SERVICE in services and notified


# -- labels and tags agree -----------------------------------------------------------------------

def _disagreements(expected: Resource, found: Resource, keys: Mapping[str, str], where: str,
                   extra: Optional[Mapping[str, Any]] = None) -> tuple[list[str], list[NotEvaluable]]:
    """``key is 'x', not 'y'`` for each key (``label -> key``) whose value is present on both sides,
    known, and different: the namespace's labels (and ``extra``) against ``found`` at ``where``
    (its labels or its tags); and what is present on either side but not known yet. A missing
    label is MAAS-TAG-101's finding and a missing tag the AWS tag rule's, not this rule's."""
    wanted = {**expected.labels, **(extra or {})}
    have_all = found.get(where)
    have_all = have_all if isinstance(have_all, Mapping) else {}
    problems, unknown = [], []
    for label, key in keys.items():
        want, have = wanted.get(label), have_all.get(key)
        if want is None or have is None:
            continue
        if not known(have):
            unknown.append(NotEvaluable(f"{where}.{key}", found.urn))
        elif not known(want):
            unknown.append(NotEvaluable(f"metadata.labels.{label}", expected.urn))
        elif have != want:
            problems.append(f"{key} is '{have}', not '{want}'")
    return problems, unknown


@stack_rule(
    "MAAS-TAG-103",
    title="An agent's labels and AWS tags agree with its namespace",
    description="Every Kubernetes object in an agent's namespace is labelled maas.dev/agent with that agent, and "
                "its maas.dev/team, maas.dev/cost-center and maas.dev/environment equal its namespace's; no object "
                "labelled for an agent lives outside that agent's namespace; and every AWS resource tagged with "
                "the agent has the team, cost-center and environment of those labels. Cluster and AWS spend then "
                "add up per agent and per team in one cost report.",
    severity="medium",
    remediation="Create the agent's objects through AgentService (one source for its labels and tags), or give "
                "the object the labels, or the AWS resource the tags, of the agent's namespace.",
    frameworks={"NIST 800-53": ["CM-8"]},
)
def labels_agree(resources: Sequence[Resource], context: Context) -> Outcomes:
    listed = agents(resources)
    yield from (agent.unknown for agent in listed if agent.unknown)
    by_namespace = {agent.namespace: agent for agent in listed if agent.namespace and not agent.unknown}
    # An agent whose namespace is not known yet is still the home of what is labelled for it.
    by_name = {agent.name: agent for agent in listed if agent.namespace or agent.unknown}
    for resource in resources:
        if is_manifest(resource) and not is_kind(resource, "core", "Namespace"):
            yield from _object_agrees(resource, by_namespace, by_name)
        elif resource.type.startswith("aws:") and by_name:
            yield from _tags_agree(resource, by_name)


def _tags_agree(resource: Resource, by_name: Mapping[str, Agent]) -> Outcomes:
    tags = resource.props.get("tags")
    if tags == UNKNOWN or resource.tags.get(names.AGENT_TAG) == UNKNOWN:
        yield NotEvaluable("tags" if tags == UNKNOWN else f"tags.{names.AGENT_TAG}", resource.urn)
        return
    agent = by_name.get(str(resource.tags.get(names.AGENT_TAG)))
    if agent is None:
        return
    problems, unknown = _disagreements(agent.resource, resource, TAG_OF_LABEL, "tags")
    yield from unknown
    if problems:
        yield Finding(resource.urn, f"tagged for agent {agent.name} but tag {'; tag '.join(problems)} "
                                    f"(labels of namespace {agent.namespace})")


def _object_agrees(resource: Resource, by_namespace: Mapping[str, Agent], by_name: Mapping[str, Agent]) -> Outcomes:
    if resource.get("metadata.labels") == UNKNOWN:
        yield NotEvaluable("metadata.labels", resource.urn)
        return
    labelled = resource.labels.get(AGENT_LABEL)
    if resource.namespace == UNKNOWN:
        if labelled or by_namespace:  # its home, or whether it sits unlabelled in an agent's, is not known yet
            yield NotEvaluable("metadata.namespace", resource.urn)
        return
    agent = by_namespace.get(resource.namespace) if resource.namespace else None
    if agent is not None:
        if not labelled:
            yield Finding(resource.urn, f"{describe(resource)} is in agent {agent.name}'s namespace without the "
                                        f"{AGENT_LABEL} label")
            return
        problems, unknown = _disagreements(agent.resource, resource, {AGENT_LABEL: AGENT_LABEL, **{k: k for k in TAG_OF_LABEL}},
                                           "metadata.labels", {AGENT_LABEL: agent.name})
        yield from unknown
        if problems:
            yield Finding(resource.urn, f"{describe(resource)} in agent {agent.name}'s namespace: label "
                                        f"{'; label '.join(problems)}")
    elif labelled == UNKNOWN:
        yield NotEvaluable(f"metadata.labels.{AGENT_LABEL}", resource.urn)
    elif labelled:
        home = by_name.get(str(labelled))
        if home is not None and home.unknown:
            yield home.unknown  # its home may be where it is
            return
        where = f"namespace {home.namespace}" if home else "no namespace in this stack"
        yield Finding(resource.urn, f"{describe(resource)} is labelled for agent {labelled}, whose home is {where}")
