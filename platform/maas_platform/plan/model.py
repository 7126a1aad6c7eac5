"""The plan's data: what an offline plan found, as typed records.

A :class:`Plan` is what ``maas plan --json`` writes and what every reader of a plan works
on: the cost estimate, the policy gate, the exports, the HTML report and ``maas verify``.
None of them runs a program; :mod:`.pipeline` does (program -> gate -> cost) and hands them
this record. The module needs no SDK runtime, so a plan file can be read anywhere.

The JSON is a contract (``docs/architecture.md``): :meth:`Plan.to_json` writes the same
bytes for the same plan, and :meth:`Plan.from_dict` reads it back.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional

from .. import names
from ..wire import unwrap


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registers, as the engine received it.

    ``inputs`` are camelCase, as the engine sees them, with secrets masked; ``parent``,
    ``dependencies`` and ``provider`` are URNs; ``aliases`` are the URNs it had before
    (``ResourceOptions.aliases``), which ``pulumi up`` moves to it instead of replacing it.
    ``property_dependencies`` are the URNs each input was computed from, as the engine
    records them (``{"bucket": [<bucket's URN>]}``); ``id`` is the id the fake cloud answered,
    and ``outputs`` what it answered beyond the inputs (an ARN, an auto-generated name): the
    references rules pair resources by. ``remote`` marks a multi-language component, whose
    children are created by a provider the offline plan cannot run.
    """

    urn: str
    type: str
    name: str
    parent: Optional[str]
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    custom: bool
    provider: Optional[str]
    protect: bool
    aliases: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    id: Optional[str] = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    remote: bool = False
    # Secret inputs whose plain text is a credential the program wrote ({"path", "kind"}: never the
    # value), and the resource hooks it binds (plan.checked).
    written_credentials: tuple[Mapping[str, str], ...] = ()
    hooks: tuple[str, ...] = ()

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    def to_dict(self) -> dict[str, Any]:
        """The resource in the plan JSON (``aliases`` only when it has some)."""
        document = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
            "custom": self.custom,
            "provider": self.provider,
            "protect": self.protect,
        }
        if self.aliases:
            document["aliases"] = list(self.aliases)
        if self.property_dependencies:
            document["property_dependencies"] = {k: list(v) for k, v in sorted(self.property_dependencies.items())}
        if self.id is not None:
            document["id"] = self.id
        if self.outputs:
            document["outputs"] = dict(self.outputs)
        if self.remote:
            document["remote"] = True
        if self.written_credentials:
            document["written_credentials"] = [dict(entry) for entry in self.written_credentials]
        if self.hooks:
            document["hooks"] = list(self.hooks)
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> "PlannedResource":
        """A resource of the plan JSON; keys a hand-written plan leaves out take their defaults."""
        return cls(
            urn=str(document["urn"]),
            type=str(document["type"]),
            name=str(document.get("name") or ""),
            parent=document.get("parent") or None,
            dependencies=tuple(document.get("dependencies") or ()),
            inputs=dict(document.get("inputs") or {}),
            custom=bool(document.get("custom", True)),
            provider=document.get("provider"),
            protect=bool(document.get("protect", False)),
            aliases=tuple(document.get("aliases") or ()),
            property_dependencies={str(k): tuple(v) for k, v in (document.get("property_dependencies") or {}).items()},
            id=document.get("id"),
            outputs=dict(document.get("outputs") or {}),
            remote=bool(document.get("remote", False)),
            written_credentials=tuple(dict(e) for e in document.get("written_credentials") or ()),
            hooks=tuple(document.get("hooks") or ()),
        )

    # Read as the JSON mapping it is written as: the policy gate's ``plan_resources`` and
    # tests index resources by key (``r["type"]``, ``r.get("parent")``).
    def __getitem__(self, key: str) -> Any:
        if key not in _RESOURCE_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in _RESOURCE_FIELDS else default


_RESOURCE_FIELDS = frozenset(PlannedResource.__dataclass_fields__)


@dataclass(frozen=True)
class StackOutputs:
    """The outputs of a stack as another stack's ``StackReference`` reads them.

    ``values`` are plain JSON values (secrets unwrapped); ``secret_names`` are the outputs
    the program must see as secret; ``source`` says where the values came from (for messages).
    """

    values: Mapping[str, Any]
    secret_names: frozenset[str] = frozenset()
    source: str = ""


@dataclass(frozen=True)
class AgentComponent:
    """An ``AgentService`` component of the plan: the agent and team its resources are tagged with."""

    name: str
    team: str
    urn: str


@dataclass(frozen=True)
class Plan:
    """An offline plan: the resources, the stack outputs, the policy findings and the estimate.

    ``violations`` and ``exempted`` are the policy gate's findings, ``not_evaluable`` the
    checks a rule could not make because a value is known only after apply (advisory);
    each is a list of ``{"policy", "severity", "level", "urn", "message"}``.
    """

    project: str
    stack: str
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    violations: list[dict[str, Any]] = field(default_factory=list)
    exempted: list[dict[str, Any]] = field(default_factory=list)  # findings an exemption covers, with its reason
    not_evaluable: list[dict[str, Any]] = field(default_factory=list)
    cost: Optional[dict[str, Any]] = None
    # Not part of the JSON contract: the stack outputs unmasked (wire form), the stacks the
    # program read through a StackReference (name -> where their outputs came from), and
    # what the program logged as a warning.
    raw_outputs: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    stack_references: dict[str, str] = field(default_factory=dict, compare=False)
    warnings: list[str] = field(default_factory=list, compare=False)

    # -- the JSON contract ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.to_dict() for r in self.resources],
            "outputs": self.outputs,
            "violations": self.violations,
            "exempted": self.exempted,
        }
        if self.not_evaluable:  # only when a rule met a value it cannot see, so other plans read as before
            document["not_evaluable"] = self.not_evaluable
        document["cost"] = self.cost
        return document

    def to_json(self) -> str:
        """Deterministic JSON: the same config gives a byte-identical file."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> "Plan":
        """A plan as :meth:`to_dict` (``maas plan --json``) writes it."""
        return cls(
            project=str(document.get("project") or ""),
            stack=str(document.get("stack") or ""),
            resources=[PlannedResource.from_dict(r) for r in document.get("resources") or []],
            outputs=dict(document.get("outputs") or {}),
            violations=list(document.get("violations") or []),
            exempted=list(document.get("exempted") or []),
            not_evaluable=list(document.get("not_evaluable") or []),
            cost=document.get("cost"),
        )

    def stack_outputs(self, source: str = "") -> StackOutputs:
        """This plan's outputs as another stack's ``StackReference`` would read them."""
        values, secrets = {}, set()
        for name, wire in self.raw_outputs.items():
            values[name], secret = unwrap(wire)
            if secret:
                secrets.add(name)
        return StackOutputs(values=values, secret_names=frozenset(secrets), source=source)

    # -- queries ----------------------------------------------------------------------------

    def of_type(self, *type_tokens: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type in type_tokens]

    def get(self, urn: str) -> PlannedResource:
        try:
            return self.by_urn[urn]
        except KeyError:
            raise KeyError(urn) from None

    def cloud_resources(self) -> list[PlannedResource]:
        """Resources a provider creates (components and providers excluded)."""
        return [r for r in self.resources if r.custom and not r.is_provider]

    @functools.cached_property
    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    @functools.cached_property
    def children(self) -> dict[str, list[PlannedResource]]:
        """Parent URN -> the resources registered below it, in plan order."""
        found: dict[str, list[PlannedResource]] = {}
        for resource in self.resources:
            if resource.parent:
                found.setdefault(resource.parent, []).append(resource)
        return found

    def descendants(self, urn: str) -> Iterator[PlannedResource]:
        """Everything below ``urn``, depth first."""
        for child in self.children.get(urn, []):
            yield child
            yield from self.descendants(child.urn)

    @functools.cached_property
    def _siblings(self) -> Counter:
        """How many resources share a (type, parent): components of a kind that repeats."""
        return Counter((r.type, r.parent) for r in self.resources)

    def component_of(self, resource: PlannedResource) -> str:
        """The top-most component below the stack that owns ``resource``, as ``type name``."""
        by_urn = self.by_urn
        chain = [resource]
        while chain[-1].parent in by_urn:
            chain.append(by_urn[chain[-1].parent])
        components = [r for r in chain if not r.custom]
        if len(components) >= 2 and components[-1].type == names.MAAS_PLATFORM:  # name the platform's part
            owner = components[-2]
        elif components:
            owner = components[-1]
        else:
            return "(stack)"
        # Components of a kind that repeats (agents) are told apart by name.
        repeated = self._siblings[(owner.type, owner.parent)] > 1
        return f"{owner.type} {owner.name}" if repeated else owner.type

    def summary(self) -> dict[str, Counter]:
        """Resource counts: component -> type -> count."""
        table: dict[str, Counter] = {}
        for resource in self.cloud_resources():
            table.setdefault(self.component_of(resource), Counter())[resource.type] += 1
        return table

    # -- agents -----------------------------------------------------------------------------

    @functools.cached_property
    def agents(self) -> dict[str, AgentComponent]:
        """``AgentService`` component URN -> the agent, named by the tags or labels of what it owns."""
        return {r.urn: self._agent(r) for r in self.resources if r.type == names.MAAS_AGENT_SERVICE}

    def agent_of(self, resource: PlannedResource) -> Optional[AgentComponent]:
        """The agent whose component ``resource`` sits below, if any."""
        parent, seen = resource.parent, set()
        while parent and parent not in seen:
            seen.add(parent)
            if parent in self.agents:
                return self.agents[parent]
            above = self.by_urn.get(parent)
            parent = above.parent if above else None
        return None

    def _agent(self, component: PlannedResource) -> AgentComponent:
        name = team = None
        for child in self.descendants(component.urn):
            inputs = child.inputs or {}
            tags = inputs.get("tags") if isinstance(inputs.get("tags"), dict) else {}
            metadata = inputs.get("metadata") if isinstance(inputs.get("metadata"), dict) else {}
            labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
            name = name or tags.get(names.AGENT_TAG) or labels.get(names.AGENT_LABEL)
            team = team or tags.get(names.TEAM_TAG) or labels.get(names.TEAM_LABEL)
            if name and team:
                break
        return AgentComponent(name=str(name or component.name), team=str(team or "(no team)"), urn=component.urn)
