"""MAAS-K8S-030 to 032: what a role binding grants, to whom, and what aggregated ClusterRoles add.

A binding is judged by the role it names. The built-in ones by name: ``cluster-admin`` is every
right on every object, anywhere; ``admin`` and ``edit`` bound cluster-wide are every namespace's
Secrets, workloads and (admin) RoleBindings. A Role or ClusterRole of the stack by its rules:
:func:`resolve_bindings`, a step of the catalog's ``PREPARE``, gives each binding the rules of
the role it names (a :class:`ResolvedBinding`), those of every ClusterRole an ``aggregationRule``
selects included. A role the stack does not declare (a chart's) is judged by its name only.

What a rule grants that no binding may: any ``*`` (verbs, resources, API groups, non-resource
URLs), the verbs that hand out more rights than the holder has (``escalate``, ``bind``: each
allowed only on named roles of the stack that grant nothing of this list; ``impersonate``:
never), and, bound cluster-wide, reading Secrets (``get``, ``list``, ``watch``) in every
namespace. Verbs, and the roles an aggregationRule gathers by the
``rbac.authorization.k8s.io/aggregate-to-<role>`` labels, as in Kubernetes' "Using RBAC
Authorization" (kubernetes.io/docs/reference/access-authn-authz/rbac: "Privilege escalation
prevention and bootstrapping", "Aggregated ClusterRoles", "Default roles and role bindings").
Checked 2026-12-02 against the sources that page rests on: the aggregation controller and its
labels (kubernetes/kubernetes PR 54005, whose default ``admin``/``edit``/``view`` roles select
``rbac.authorization.k8s.io/aggregate-to-<role>: "true"``), the page's own section on
aggregation (kubernetes/website PR 6474), and the CIS control "Limit use of the Bind,
Impersonate and Escalate permissions" (4.1.7 of the CIS GKE Benchmark v2.0.0) (escalate: create or update roles beyond one's own
rights; bind: bind roles beyond them; impersonate: act as another user, group or account).

The platform's own RBAC passes: each team's ClusterRole may ``bind`` exactly its
``agent-objects`` ClusterRole, which is in the same stack and grants nothing of the list above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Sequence

from ... import names
from ..core import UNKNOWN, Context, NotEvaluable, Outcome, Resource, resource_rule
from .helpers import kind_of

RBAC = "rbac.authorization.k8s.io"
BINDING_TYPES: tuple[str, ...] = (f"kubernetes:{RBAC}/*:RoleBinding", f"kubernetes:{RBAC}/*:ClusterRoleBinding")
CLUSTER_ROLE_TYPES: tuple[str, ...] = (f"kubernetes:{RBAC}/*:ClusterRole",)
ROLE_TYPES: tuple[str, ...] = (*CLUSTER_ROLE_TYPES, f"kubernetes:{RBAC}/*:Role")
# Built-in ClusterRoles that no binding names: anywhere, or cluster-wide.
NEVER_BOUND: frozenset[str] = frozenset({"cluster-admin"})
NOT_CLUSTER_WIDE: frozenset[str] = frozenset({"admin", "edit"})
ESCALATING_VERBS: frozenset[str] = frozenset({"escalate", "bind", "impersonate"})
READ_VERBS: frozenset[str] = frozenset({"get", "list", "watch"})
AGGREGATE_LABEL = f"{RBAC}/aggregate-to-"
# Who everyone is: a binding to one of them grants its role to every caller (or every pod).
EVERYONE: frozenset[str] = frozenset({"system:anonymous", "system:unauthenticated", "system:authenticated"})


@dataclass(frozen=True)
class ResolvedBinding(Resource):
    """A binding with the rules of the role it names (None: the role is not in the stack) and the
    rules of every ClusterRole of the stack by name (what ``bind``/``escalate`` on a named role
    hands out); ``aggregates`` are the built-in roles an aggregationRule of it gathers."""

    role_rules: Optional[tuple[Any, ...]] = None
    cluster_roles: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    aggregates: tuple[str, ...] = ()


def _rules(role: Resource) -> tuple[Any, ...]:
    rules = role.get("rules")
    return tuple(rules) if isinstance(rules, list) else ((UNKNOWN,) if rules == UNKNOWN else ())


def _selected(role: Resource, cluster_roles: Sequence[Resource]) -> tuple[list[Resource], list[str]]:
    """The ClusterRoles of the stack an aggregationRule selects (matchLabels), and the built-in
    roles whose aggregate-to label it selects."""
    selectors = role.get("aggregationRule.clusterRoleSelectors")
    chosen: list[Resource] = []
    built_in: list[str] = []
    for selector in selectors if isinstance(selectors, list) else []:
        labels = selector.get("matchLabels") if isinstance(selector, Mapping) else None
        if not isinstance(labels, Mapping) or not labels:
            continue
        built_in += [key[len(AGGREGATE_LABEL):] for key, value in labels.items()
                     if str(key).startswith(AGGREGATE_LABEL) and value == "true"]
        chosen += [other for other in cluster_roles if other is not role and all(
            other.labels.get(key) == value for key, value in labels.items())]
    return chosen, built_in


def resolve_bindings(resources: Sequence[Resource]) -> list[Resource]:
    """Each RoleBinding and ClusterRoleBinding replaced by a :class:`ResolvedBinding`."""
    kinds = {"RoleBinding", "ClusterRoleBinding"}
    if not any(r.type.startswith(f"kubernetes:{RBAC}/") and kind_of(r) in kinds for r in resources):
        return list(resources)
    cluster_roles = [r for r in resources if r.type.startswith(f"kubernetes:{RBAC}/") and kind_of(r) == "ClusterRole"]
    roles = {(r.namespace, r.get("metadata.name")): r for r in resources
             if r.type.startswith(f"kubernetes:{RBAC}/") and kind_of(r) == "Role"}
    by_name = {r.get("metadata.name"): r for r in cluster_roles if isinstance(r.get("metadata.name"), str)}
    rules_by_name: dict[str, tuple[Any, ...]] = {}
    aggregates_by_name: dict[str, tuple[str, ...]] = {}
    for name, role in by_name.items():
        chosen, built_in = _selected(role, cluster_roles)
        rules_by_name[name] = _rules(role) + tuple(rule for other in chosen for rule in _rules(other))
        aggregates_by_name[name] = tuple(built_in)
    judged: list[Resource] = []
    for resource in resources:
        if not (resource.type.startswith(f"kubernetes:{RBAC}/") and kind_of(resource) in kinds):
            judged.append(resource)
            continue
        ref = resource.get("roleRef")
        ref = ref if isinstance(ref, Mapping) else {}
        role_rules: Optional[tuple[Any, ...]] = None
        aggregates: tuple[str, ...] = ()
        if ref.get("kind") == "ClusterRole" and ref.get("name") in rules_by_name:
            role_rules, aggregates = rules_by_name[ref["name"]], aggregates_by_name[ref["name"]]
        elif ref.get("kind") == "Role" and (resource.namespace, ref.get("name")) in roles:
            role_rules = _rules(roles[(resource.namespace, ref.get("name"))])
        judged.append(ResolvedBinding(
            type=resource.type, name=resource.name, props=resource.props, urn=resource.urn, parent=resource.parent,
            protect=resource.protect, dependencies=resource.dependencies,
            property_dependencies=resource.property_dependencies, id=resource.id, outputs=resource.outputs,
            remote=resource.remote, role_rules=role_rules, cluster_roles=rules_by_name, aggregates=aggregates,
        ))
    return judged


# -- what a rule grants ----------------------------------------------------------------------------

def _strings(rule: Mapping[str, Any], key: str) -> list[str]:
    values = rule.get(key)
    return [str(v) for v in values] if isinstance(values, list) else []


def grants(rule: Any, cluster_wide: bool, cluster_roles: Mapping[str, tuple[Any, ...]], depth: int = 0) -> list[str]:
    """What of one policy rule no binding may grant (see the module's description)."""
    if not isinstance(rule, Mapping):
        return []
    verbs, groups = _strings(rule, "verbs"), _strings(rule, "apiGroups")
    resources, named = _strings(rule, "resources"), _strings(rule, "resourceNames")
    found = [f"'*' in {key}" for key in ("verbs", "apiGroups", "resources", "nonResourceURLs")
             if "*" in _strings(rule, key)]
    for verb in sorted(ESCALATING_VERBS & set(verbs)):
        if verb == "impersonate":
            found.append(f"{verb} on {', '.join(named or resources) or '(nothing named)'}")
        elif not named:
            found.append(f"{verb} on every {', '.join(resources) or 'role'}")
        else:
            for name in named:
                inner = cluster_roles.get(name)
                if inner is None:
                    found.append(f"{verb} on role {name}, which the stack does not declare")
                elif depth < 3 and any(grants(r, cluster_wide, cluster_roles, depth + 1) for r in inner):
                    found.append(f"{verb} on role {name}, which grants more")
    if cluster_wide and READ_VERBS & set(verbs) and "secrets" in resources and (not groups or "" in groups) \
            and not named:
        found.append("reading Secrets in every namespace")
    return found


def subjects(resource: Resource) -> str:
    """Who a binding binds, named for a finding (team groups and agent service accounts said so)."""
    described = []
    entries = resource.get("subjects")
    for subject in entries if isinstance(entries, list) else []:
        if not isinstance(subject, Mapping):
            continue
        kind, name = subject.get("kind"), str(subject.get("name"))
        if kind == "Group" and name.startswith(names.TEAM_GROUP_PREFIX):
            described.append(f"team group {name}")
        elif kind == "ServiceAccount":
            described.append(f"service account {subject.get('namespace') or resource.namespace}/{name}")
        else:
            described.append(f"{kind} {name}")
    return ", ".join(described) or "no subject"


def _unknown(resource: Resource) -> Optional[str]:
    for path in ("roleRef", "subjects"):
        if resource.unknown_at(path) is not None:
            return str(resource.unknown_at(path))
    if UNKNOWN in repr(resource.get("roleRef")):
        return "roleRef"
    return None


@resource_rule(
    "MAAS-K8S-030",
    title="Bindings grant no cluster-admin, wildcard or escalating rights",
    description="No RoleBinding or ClusterRoleBinding names cluster-admin, nor admin or edit cluster-wide, nor a "
                "role of the stack (or a ClusterRole its aggregationRule gathers) whose rules grant '*' verbs, "
                "resources, API groups or non-resource URLs, escalate or bind on roles that are not the stack's "
                "own narrow ones, impersonate, or (cluster-wide) reading Secrets in every namespace. Each is "
                "the whole cluster to whoever is bound, above all a team's deploy group or an agent's service "
                "account.",
    severity="critical",
    remediation="Bind a Role of the namespace that names the verbs and resources the subject uses (as "
                "AgentService and the team roles of maas:teams do); bind admin or edit only in a RoleBinding.",
    types=BINDING_TYPES,
    frameworks={"CIS EKS": ["4.1.1", "4.1.3", "4.1.8"], "SOC 2": ["CC6.1", "CC6.3"], "NIST 800-53": ["AC-6"]},
)
def binding_grants_bounded(resource: Resource, context: Context) -> Iterator[Outcome]:
    unknown = _unknown(resource)
    if unknown is not None:
        yield NotEvaluable(unknown)
        return
    ref = resource.get("roleRef")
    ref = ref if isinstance(ref, Mapping) else {}
    role, who = str(ref.get("name")), subjects(resource)
    cluster_wide = kind_of(resource) == "ClusterRoleBinding"
    if ref.get("kind") == "ClusterRole" and role in NEVER_BOUND:
        yield f"binds {role} to {who}"
        return
    if ref.get("kind") == "ClusterRole" and role in NOT_CLUSTER_WIDE and cluster_wide:
        yield f"binds {role} cluster-wide to {who}"
        return
    if not isinstance(resource, ResolvedBinding) or resource.role_rules is None:
        return
    for built_in in resource.aggregates:
        if built_in in NEVER_BOUND or (built_in in NOT_CLUSTER_WIDE and cluster_wide):
            yield f"{ref.get('kind')} {role} aggregates the rules of {built_in}, bound to {who}"
    if UNKNOWN in resource.role_rules:
        yield NotEvaluable("roleRef (the role's rules)")
        return
    for index, rule in enumerate(resource.role_rules):
        for grant in grants(rule, cluster_wide, resource.cluster_roles):
            yield f"{ref.get('kind')} {role} rules[{index}] grants {grant} to {who}"


@resource_rule(
    "MAAS-K8S-031",
    title="No binding to anonymous, unauthenticated or all authenticated users",
    description="No RoleBinding or ClusterRoleBinding names the group system:anonymous, system:unauthenticated or "
                "system:authenticated, nor the user system:anonymous: whatever the role, it is then granted to "
                "every caller of the API server (or every identity the cluster knows, every pod's service account "
                "among them).",
    severity="critical",
    remediation="Bind the role to the service account, team group or user that needs it.",
    types=BINDING_TYPES,
    frameworks={"CIS EKS": ["4.1.1"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-3", "AC-14"]},
)
def no_binding_to_everyone(resource: Resource, context: Context) -> Iterator[Outcome]:
    entries = resource.get("subjects")
    if entries == UNKNOWN:
        yield NotEvaluable("subjects")
        return
    for index, subject in enumerate(entries if isinstance(entries, list) else []):
        if subject == UNKNOWN or (isinstance(subject, Mapping) and subject.get("name") == UNKNOWN):
            yield NotEvaluable(f"subjects[{index}]")
        elif isinstance(subject, Mapping) and subject.get("kind") in ("Group", "User") \
                and subject.get("name") in EVERYONE:
            yield f"subjects[{index}] is {subject.get('kind')} {subject.get('name')}"


@resource_rule(
    "MAAS-K8S-032",
    title="Aggregated ClusterRoles add no wildcard, escalating or Secret-reading rules to built-in roles",
    description="A ClusterRole labelled rbac.authorization.k8s.io/aggregate-to-admin, -edit or -view adds its rules "
                "to that built-in role, and so to everyone bound to it in any namespace. Its rules grant no '*', "
                "no escalate, bind or impersonate, and (aggregate-to-view, which Kubernetes keeps free of "
                "Secrets) no reading of Secrets.",
    severity="high",
    remediation="Name the verbs and resources of the custom resources the role adds (get, list, watch on "
                "<group>/<resources>), or bind a role of its own instead of aggregating.",
    types=CLUSTER_ROLE_TYPES,
    frameworks={"CIS EKS": ["4.1.3"], "SOC 2": ["CC6.3"], "NIST 800-53": ["AC-6"]},
)
def aggregated_roles_bounded(resource: Resource, context: Context) -> Iterator[Outcome]:
    labels = resource.get("metadata.labels")
    if labels == UNKNOWN:
        yield NotEvaluable("metadata.labels")
        return
    targets = sorted(str(k)[len(AGGREGATE_LABEL):] for k, v in resource.labels.items()
                     if str(k).startswith(AGGREGATE_LABEL) and v != "false")
    if not targets:
        return
    rules = resource.get("rules")
    if rules == UNKNOWN:
        yield NotEvaluable("rules")
        return
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if rule == UNKNOWN:
            yield NotEvaluable(f"rules[{index}]")
            continue
        # Secrets: only a view role must not read them (admin and edit already do).
        for grant in grants(rule, "view" in targets, {}):
            if grant != "reading Secrets in every namespace" or "view" in targets:
                yield f"rules[{index}] adds {grant} to {', '.join(targets)}"
