"""What a change does: two plans compared resource by resource, agent by agent.

:func:`diff_plans` reads two :class:`~maas_platform.plan.model.Plan` records (as ``maas plan
--json`` writes them) and returns a :class:`PlanDiff`: the resources created, updated, replaced
and deleted (by URN; a resource whose new URN lists the old one in its ``aliases`` is moved,
not replaced), each changed input as a property path with its old and new value, the cost
delta per agent and team, the policy findings the change adds or clears, and the findings
of the change itself (:data:`REMOVED_WITHOUT_RETIRING`).

Values are shown as the plan holds them, and the plan already masks secret inputs
(``"[secret]"``); inputs whose name says they carry a credential are masked here as well, so
no output format of a diff can print a secret. Two masked values compare equal: a rotated
secret value is not a change a plan can see.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Iterator, Mapping, Optional

from ... import names
from ...markers import SECRET
from ..model import Plan, PlannedResource
from .stateful import STATEFUL, is_stateful, replaced_by

SCHEMA = "maas-diff/1"
# Lifecycle states of an agent in a plan's ``agents`` output (a missing one is active).
ACTIVE, DELETABLE = names.AGENT_LIFECYCLE_ACTIVE, names.AGENT_LIFECYCLE_DELETABLE
# Environments where the change findings are mandatory.
GATED_ENVIRONMENTS = frozenset({"staging", "prod"})
PLATFORM = "(platform)"
# Input names whose value is a credential even when the program did not mark it secret.
_SENSITIVE = re.compile(r"(?i)(password|passphrase|secret_?string|secret_?binary|private_?key|token|credentials?)$")
# Kubernetes kinds whose ``data``/``stringData`` hold secret values.
_SECRET_KINDS = frozenset({names.K8S_SECRET})


@dataclass(frozen=True)
class DiffRule:
    """A check made on a change (two plans), not on one plan: its metadata, as a policy rule's."""

    id: str
    title: str
    severity: str
    remediation: str


REMOVED_WITHOUT_RETIRING = DiffRule(
    id="MAAS-DIFF-001",
    title="An agent is removed from config without being retired first",
    severity="high",
    remediation="Put the agent back with `retired: true` and `retired_on` (its data stays, protected, for the "
                "retention period), then `delete_data: true` once retention has passed, then remove it "
                "(docs/review.md).",
)
DIFF_RULES: tuple[DiffRule, ...] = (REMOVED_WITHOUT_RETIRING,)


class DiffError(ValueError):
    """Two plans that cannot be compared (the message is one line: what and the fix)."""


@dataclass(frozen=True)
class Change:
    """One input that changed: its property path (``spec.template.spec.containers[0].image``)."""

    path: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class ResourceChange:
    """What the change does to one resource.

    ``action`` is ``create``, ``update``, ``replace`` or ``delete``; ``replace_on`` the changed
    inputs that make the provider replace it (:mod:`.stateful`); ``loud`` says why a reviewer
    must look (data lost or at risk), empty when nothing is.
    """

    urn: str
    type: str
    name: str
    action: str
    agent: Optional[str]
    team: Optional[str]
    component: str
    stateful: bool
    protected: bool
    changes: tuple[Change, ...] = ()
    replace_on: tuple[str, ...] = ()
    moved_from: Optional[str] = None
    loud: str = ""

    def to_dict(self) -> dict[str, Any]:
        document = {
            "urn": self.urn, "type": self.type, "name": self.name, "action": self.action,
            "agent": self.agent, "team": self.team, "component": self.component,
            "stateful": self.stateful, "protected": self.protected,
            "changes": [c.to_dict() for c in self.changes], "replace_on": list(self.replace_on),
            "loud": self.loud or None,
        }
        if self.moved_from:
            document["moved_from"] = self.moved_from
        return document


@dataclass(frozen=True)
class Finding:
    """A finding of the change: a :class:`DiffRule` broken, at a level set by the environment."""

    rule: DiffRule
    level: str  # mandatory | advisory
    agent: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.rule.id, "title": self.rule.title, "severity": self.rule.severity,
                "level": self.level, "agent": self.agent, "message": self.message,
                "remediation": self.rule.remediation}


@dataclass(frozen=True)
class AgentSummary:
    """An agent as the change sees it: ``added``, ``removed``, ``changed`` or ``unchanged``."""

    name: str
    team: Optional[str]
    status: str
    lifecycle: tuple[Optional[str], Optional[str]]  # base, new (None: not in that plan)
    cost: tuple[Optional[float], Optional[float]]  # monthly, base and new

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.name, "team": self.team, "status": self.status,
                "lifecycle": {"base": self.lifecycle[0], "new": self.lifecycle[1]},
                "monthly": _delta(*self.cost)}


@dataclass(frozen=True)
class PlanDiff:
    """The change from ``base`` to ``new``: see the module's docstring; JSON in :meth:`to_dict`."""

    base: Mapping[str, Any]  # project, stack, environment
    new: Mapping[str, Any]
    resources: tuple[ResourceChange, ...]
    agents: tuple[AgentSummary, ...]
    cost: Mapping[str, Any]
    policy_added: tuple[Mapping[str, Any], ...]
    policy_cleared: tuple[Mapping[str, Any], ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    unchanged: int = 0

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "mandatory"]

    @property
    def loud(self) -> list[ResourceChange]:
        """Resources whose data is lost or at risk: stateful replacements and deletions, and what
        replaces them."""
        return [r for r in self.resources if r.loud]

    def counts(self) -> dict[str, int]:
        counted = {action: 0 for action in ("create", "update", "replace", "delete")}
        for resource in self.resources:
            counted[resource.action] += 1
        return {**counted, "unchanged": self.unchanged}

    def by_agent(self) -> dict[str, dict[str, list[ResourceChange]]]:
        """Agent (or ``(platform)``) -> component -> its resource changes, agents first by name."""
        grouped: dict[str, dict[str, list[ResourceChange]]] = {}
        for resource in self.resources:
            grouped.setdefault(resource.agent or PLATFORM, {}).setdefault(resource.component, []).append(resource)
        return dict(sorted(grouped.items(), key=lambda item: (item[0] == PLATFORM, item[0])))

    def empty(self) -> bool:
        return not (self.resources or self.policy_added or self.policy_cleared or self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "base": dict(self.base),
            "new": dict(self.new),
            "notes": list(self.notes),
            "summary": {**self.counts(), "loud": len(self.loud), "mandatory": len(self.mandatory)},
            "findings": [f.to_dict() for f in self.findings],
            "agents": [a.to_dict() for a in self.agents],
            "resources": [r.to_dict() for r in self.resources],
            "cost": dict(self.cost),
            "policy": {"added": list(self.policy_added), "cleared": list(self.policy_cleared)},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


# -- comparing ------------------------------------------------------------------------------------

def diff_plans(base: Plan, new: Plan) -> PlanDiff:
    """The change from ``base`` to ``new``.

    Plans of two projects (the platform and a team stack) are not two versions of one thing:
    :class:`DiffError`. Two stacks of one project (dev against staging) compare, with a note.
    """
    if base.project != new.project:
        raise DiffError(f"the plans are of two projects, {base.project!r} and {new.project!r}: "
                        "compare two plans of the same project (maas plan --json of each commit)")
    notes = []
    same_stack = base.stack == new.stack
    if not same_stack:
        notes.append(f"comparing stack {base.stack} with stack {new.stack}: every difference between the two "
                     f"environments shows as a change, and no agent counts as removed ({REMOVED_WITHOUT_RETIRING.id} "
                     "judges two plans of one stack)")
    base_ctx, new_ctx = _Side(base), _Side(new)
    resources, unchanged = _resources(base_ctx, new_ctx)
    resources = _mark_loud(resources)
    agents = _agents(base_ctx, new_ctx, resources)
    environment = base_ctx.environment
    return PlanDiff(
        base={"project": base.project, "stack": base.stack, "environment": environment},
        new={"project": new.project, "stack": new.stack, "environment": new_ctx.environment},
        resources=tuple(resources),
        agents=tuple(agents),
        cost=_cost(base, new),
        policy_added=tuple(_policy(new, base)),
        policy_cleared=tuple(_policy(base, new)),
        findings=tuple(_removed_without_retiring(base_ctx, new_ctx, environment)) if same_stack else (),
        notes=tuple(notes),
        unchanged=unchanged,
    )


class _Side:
    """One plan and what the diff asks of it: agents, their lifecycle, components."""

    def __init__(self, plan: Plan):
        self.plan = plan
        outputs = plan.outputs or {}
        # A team stack exports no environment: its stack name is the environment it deploys to.
        environment = outputs.get("environment")
        self.environment = str(environment) if isinstance(environment, str) and environment else plan.stack
        exported = outputs.get("agents")
        self.exported: dict[str, Mapping[str, Any]] = (
            {str(k): (v if isinstance(v, Mapping) else {}) for k, v in exported.items()}
            if isinstance(exported, Mapping) else {}
        )
        self.components = {a.name: a for a in plan.agents.values()}

    def agent_names(self) -> set[str]:
        return set(self.exported) or set(self.components)

    def lifecycle(self, agent: str) -> Optional[str]:
        if agent not in self.agent_names():
            return None
        return str(self.exported.get(agent, {}).get("lifecycle") or ACTIVE)

    def team(self, agent: str) -> Optional[str]:
        component = self.components.get(agent)
        if component is not None:
            return component.team
        by_agent = (self.plan.cost or {}).get("by_agent") or {}
        return (by_agent.get(agent) or {}).get("team")

    def owner(self, resource: PlannedResource) -> tuple[Optional[str], Optional[str]]:
        """The agent and team a resource belongs to: the AgentService above it, else its tags/labels."""
        component = self.plan.agent_of(resource)
        if component is not None:
            return component.name, component.team
        inputs = resource.inputs or {}
        tags = inputs.get("tags") if isinstance(inputs.get("tags"), Mapping) else {}
        metadata = inputs.get("metadata") if isinstance(inputs.get("metadata"), Mapping) else {}
        labels = metadata.get("labels") if isinstance(metadata.get("labels"), Mapping) else {}
        agent = tags.get(names.AGENT_TAG) or labels.get(names.AGENT_LABEL)
        team = tags.get(names.TEAM_TAG) or labels.get(names.TEAM_LABEL)
        return (str(agent), str(team) if team else None) if agent else (None, None)

    def component(self, resource: PlannedResource) -> str:
        """The component a resource sits in: the nearest one below an agent (``AgentIdentity``),
        else the platform's part (``maas:network:Network``)."""
        by_urn = self.plan.by_urn
        parent = by_urn.get(resource.parent or "")
        if parent is not None and self.plan.agent_of(resource) is not None:
            return parent.type.rsplit(":", 1)[-1]
        return self.plan.component_of(resource)


def _resources(base: _Side, new: _Side) -> tuple[list[ResourceChange], int]:
    before = {r.urn: r for r in base.plan.resources if _compared(r)}
    after = {r.urn: r for r in new.plan.resources if _compared(r)}
    # A new URN that names an old one among its aliases is that resource moved, not a replacement.
    moved = {alias: r.urn for r in after.values() for alias in r.aliases if alias in before and alias not in after}
    changes: list[ResourceChange] = []
    unchanged = 0
    for urn, resource in after.items():
        old_urn = urn if urn in before else next((a for a in resource.aliases if moved.get(a) == urn), None)
        if old_urn is None:
            changes.append(_record(new, resource, "create"))
            continue
        old = before[old_urn]
        paths = list(_changed(old.inputs, resource.inputs, sensitive=_secret_kind(resource)))
        if old.protect != resource.protect:
            paths.append(Change("(protect)", old.protect, resource.protect))
        if not paths and old_urn == urn:
            unchanged += 1
            continue
        replace_on = tuple(replaced_by(resource.type, [c.path for c in paths]))
        changes.append(_record(new, resource, "replace" if replace_on else "update", changes=tuple(paths),
                               replace_on=replace_on, moved_from=None if old_urn == urn else old_urn,
                               protected=old.protect))
    for urn, resource in before.items():
        if urn not in after and urn not in moved:
            changes.append(_record(base, resource, "delete", protected=resource.protect))
    order = {"delete": 0, "replace": 1, "create": 2, "update": 3}
    changes.sort(key=lambda c: (c.agent or "~", c.component, order[c.action], c.type, c.name))
    return changes, unchanged


def _compared(resource: PlannedResource) -> bool:
    """Cloud resources: components and providers are how the program is organised, not what it deploys."""
    return resource.custom and not resource.is_provider


def _record(side: _Side, resource: PlannedResource, action: str, *, changes: tuple[Change, ...] = (),
            replace_on: tuple[str, ...] = (), moved_from: Optional[str] = None,
            protected: Optional[bool] = None) -> ResourceChange:
    agent, team = side.owner(resource)
    return ResourceChange(
        urn=resource.urn, type=resource.type, name=resource.name, action=action, agent=agent, team=team,
        component=side.component(resource), stateful=is_stateful(resource.type),
        protected=resource.protect if protected is None else protected,
        changes=changes, replace_on=replace_on, moved_from=moved_from,
    )


def _mark_loud(changes: list[ResourceChange]) -> list[ResourceChange]:
    """Say why each stateful replacement or deletion matters, and flag what is created in the same
    agent to take its place (a datastore kind changed: the new one starts empty).

    A protected resource is never deleted: "it will be an error to do a Pulumi deployment which
    tries to delete a protected resource for any reason", a replacement included; it must be
    unprotected by an update first (pulumi.com/docs/iac/concepts/resources/options/protect,
    checked 2026-12-03).
    """
    losing = {c.agent for c in changes if c.stateful and c.action in ("delete", "replace")}
    marked = []
    for change in changes:
        reason = ""
        holds = STATEFUL[change.type].holds if change.stateful else ""
        if change.stateful and change.action == "delete":
            reason = f"DELETED with {holds}"
            if change.protected:
                reason += "; it is protected, so `pulumi up` refuses to delete it (the update fails)"
        elif change.stateful and change.action == "replace":
            reason = f"REPLACED ({', '.join(change.replace_on)} changed): a new one, without the old one's {holds}"
            if change.protected:
                reason += "; it is protected, so `pulumi up` refuses to replace it (the update fails)"
        elif change.stateful and change.action == "create" and change.agent in losing:
            reason = "CREATED empty, in place of a stateful resource this change deletes: copy the data first"
        elif change.stateful and change.action == "update" and any(c.path == "(protect)" and c.old and not c.new
                                                                   for c in change.changes):
            reason = "protection removed: the next change that drops it deletes it"
        marked.append(replace(change, loud=reason))
    return marked


def _agents(base: _Side, new: _Side, changes: list[ResourceChange]) -> list[AgentSummary]:
    touched = {c.agent for c in changes if c.agent}
    base_cost = ((base.plan.cost or {}).get("by_agent") or {})
    new_cost = ((new.plan.cost or {}).get("by_agent") or {})
    summaries = []
    for name in sorted(base.agent_names() | new.agent_names()):
        in_base, in_new = name in base.agent_names(), name in new.agent_names()
        status = "added" if not in_base else "removed" if not in_new else "changed" if name in touched else "unchanged"
        lifecycle = (base.lifecycle(name), new.lifecycle(name))
        if status == "unchanged" and lifecycle[0] != lifecycle[1]:
            status = "changed"
        cost = ((base_cost.get(name) or {}).get("monthly"), (new_cost.get(name) or {}).get("monthly"))
        summaries.append(AgentSummary(name, new.team(name) or base.team(name), status, lifecycle, cost))
    return summaries


def _removed_without_retiring(base: _Side, new: _Side, environment: str) -> Iterator[Finding]:
    """MAAS-DIFF-001: an agent of BASE that NEW no longer has, and whose BASE lifecycle is not
    ``deletable``: its datastore, key and secrets go with it (or, protected, fail the update)."""
    level = "mandatory" if environment in GATED_ENVIRONMENTS else "advisory"
    for name in sorted(base.agent_names() - new.agent_names()):
        lifecycle = base.lifecycle(name) or ACTIVE
        if lifecycle == DELETABLE:
            continue
        state = "active" if lifecycle == ACTIVE else f"{lifecycle}, without delete_data"
        yield Finding(REMOVED_WITHOUT_RETIRING, level, name,
                      f"agent {name} ({state} in {base.plan.stack}) is removed from config: its datastore, key "
                      "and secrets would be deleted with it; retire it first (retired: true)")


def _cost(base: Plan, new: Plan) -> dict[str, Any]:
    old, now = base.cost or {}, new.cost or {}

    def table(key: str) -> dict[str, Any]:
        before, after = old.get(key) or {}, now.get(key) or {}
        return {name: _delta((before.get(name) or {}).get("monthly"), (after.get(name) or {}).get("monthly"))
                for name in sorted(set(before) | set(after))}

    return {
        "currency": now.get("currency") or old.get("currency") or "USD",
        "total": _delta(old.get("monthly_total"), now.get("monthly_total")),
        "agents": table("by_agent"),
        "teams": table("by_team"),
    }


def _delta(before: Optional[float], after: Optional[float]) -> dict[str, Optional[float]]:
    delta = round((after or 0.0) - (before or 0.0), 2) if before is not None or after is not None else None
    return {"base": before, "new": after, "delta": delta}


def _policy(present: Plan, absent: Plan) -> list[dict[str, Any]]:
    """The findings of ``present`` that ``absent`` does not have, by rule and resource."""
    seen = {(v.get("policy"), v.get("urn")) for v in absent.violations}
    return [{key: v.get(key) for key in ("policy", "severity", "level", "urn", "message")}
            for v in present.violations if (v.get("policy"), v.get("urn")) not in seen]


# -- input paths ----------------------------------------------------------------------------------

def _secret_kind(resource: PlannedResource) -> bool:
    """A Kubernetes Secret (by type, or a manifest of kind Secret): its data is masked whatever its name."""
    return resource.type in _SECRET_KINDS or (resource.inputs or {}).get("kind") == "Secret"


def _changed(old: Any, new: Any, path: str = "", *, sensitive: bool = False) -> Iterator[Change]:
    """The leaves that differ between two input values, as property paths; secrets masked."""
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    masked = sensitive and key in ("data", "stringData") or bool(path and _SENSITIVE.search(key))
    old, new = _json_string(old), _json_string(new)
    if old == new:
        return
    if masked or old == SECRET or new == SECRET:
        # A secret's value never shows; that it changed, appeared or went does.
        yield Change(path or "(inputs)", _mask(old), _mask(new))
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for name in sorted(set(old) | set(new), key=str):
            yield from _changed(old.get(name), new.get(name), f"{path}.{name}" if path else str(name),
                                sensitive=sensitive)
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _identity(old, new)
        if key is not None:  # policy statements by Sid, containers by name: one statement added is one path
            before, after = ({item[key]: item for item in side} for side in (old, new))
            for name in sorted(set(before) | set(after), key=str):
                yield from _changed(before.get(name), after.get(name), f"{path}[{key}={name}]", sensitive=sensitive)
            return
        if len(old) == len(new):
            for index, (a, b) in enumerate(zip(old, new)):
                yield from _changed(a, b, f"{path}[{index}]", sensitive=sensitive)
            return
    yield Change(path or "(inputs)", _redact(old, sensitive), _redact(new, sensitive))


def _identity(old: list, new: list) -> Optional[str]:
    """The key that names each item of both lists (``Sid``, ``name``), when every item has a
    distinct one: items are then matched by it, not by position."""
    for key in ("Sid", "name"):
        for items in (old, new):
            if not all(isinstance(item, Mapping) and isinstance(item.get(key), str) for item in items):
                break
            if len({item[key] for item in items}) != len(items):
                break
        else:
            if old and new:
                return key
    return None


def _redact(value: Any, sensitive: bool) -> Any:
    """A whole value shown (a map that appeared, a list that grew) with what sits under a
    credential's name masked, as :func:`_changed` masks it leaf by leaf."""
    if isinstance(value, Mapping):
        return {k: SECRET if _SENSITIVE.search(str(k)) or (sensitive and k in ("data", "stringData"))
                else _redact(v, sensitive) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, sensitive) for v in value]
    return value


def _json_string(value: Any) -> Any:
    """A JSON document held in a string (an IAM policy) compared as the document it is."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _mask(value: Any) -> Any:
    return None if value is None else SECRET
