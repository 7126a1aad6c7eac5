"""The policy engine: rules as plain functions, evaluated over resources as the engine sees them.

A rule is a function registered with :func:`resource_rule` (one resource at a time, for the
resource types it names) or :func:`stack_rule` (all resources of a stack at once), with its
metadata: ID, title, description, severity, default enforcement level, remediation and the
controls it maps to. The same functions run in three places:

* ``maas plan`` evaluates them over the offline plan (:func:`evaluate`) and exits 1 when a
  mandatory rule is violated;
* the CrossGuard pack in ``policies/`` wraps them for ``pulumi preview --policy-pack``;
* ``docs/policies.md`` is generated from their metadata.

A rule sees a :class:`Resource`: the type token, the logical name, the URN and the inputs as
the engine receives them (camelCase; a Kubernetes object's ``metadata``/``spec``), plus a
:class:`Context` with the facts of the stack (environment, configured minimums). A rule
yields one message per problem; a missing property that defaults to an insecure value is a
problem, not a pass.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Optional, Sequence, Union

# How the plan shows a value known only after apply, and a secret (plan.engine's markers);
# the CrossGuard adapter turns the engine's unknowns into the same marker.
from ..markers import SECRET, UNKNOWN_VALUE as UNKNOWN

Severity = Literal["critical", "high", "medium", "low"]
Level = Literal["mandatory", "advisory", "disabled"]
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
LEVELS: tuple[str, ...] = ("mandatory", "advisory", "disabled")
# Framework names as they appear in docs/policies.md.
FRAMEWORKS: tuple[str, ...] = ("CIS AWS", "CIS EKS", "SOC 2", "NIST 800-53", "AWS Well-Architected")
# Tags every taggable AWS resource carries (an agent's resources carry ``agent`` too).
REQUIRED_TAGS: tuple[str, ...] = ("environment", "team", "cost-center", "managed-by")
# Minimum log retention (days) by environment, unless maas:policy.min_log_retention_days says otherwise.
DEFAULT_MIN_LOG_RETENTION_DAYS = {"dev": 7, "staging": 30, "prod": 90}


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    parent: Optional[str] = None
    protect: bool = False

    def get(self, path: str, default: Any = None) -> Any:
        """``props`` at a dotted path (``"spec.template.spec"``); lists are indexed by number."""
        value: Any = self.props
        for part in path.split("."):
            if isinstance(value, Mapping):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return default
            if value is None:
                return default
        return value

    @property
    def tags(self) -> Mapping[str, Any]:
        tags = self.props.get("tags")
        return tags if isinstance(tags, Mapping) else {}

    @property
    def kind(self) -> Optional[str]:
        """The kind of a Kubernetes object (``Deployment``), else None."""
        kind = self.props.get("kind")
        return kind if isinstance(kind, str) else None

    @property
    def labels(self) -> Mapping[str, Any]:
        labels = self.get("metadata.labels")
        return labels if isinstance(labels, Mapping) else {}

    @property
    def namespace(self) -> Optional[str]:
        return self.get("metadata.namespace")


@dataclass(frozen=True)
class Context:
    """Facts of the stack that rules compare against."""

    environment: Optional[str] = None  # dev, staging, prod (None: unknown, treated as not prod)
    min_log_retention_days: int = 7
    required_tags: tuple[str, ...] = REQUIRED_TAGS

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    @classmethod
    def for_environment(cls, environment: Optional[str], min_log_retention_days: Optional[int] = None) -> "Context":
        default = DEFAULT_MIN_LOG_RETENTION_DAYS.get(environment or "", DEFAULT_MIN_LOG_RETENTION_DAYS["dev"])
        return cls(environment=environment, min_log_retention_days=min_log_retention_days or default)


@dataclass(frozen=True)
class Finding:
    """A stack rule's finding: which resource (URN, or the stack's when empty) and what is wrong."""

    urn: str
    message: str


ResourceCheck = Callable[[Resource, Context], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    severity: Severity
    level: Level  # default enforcement
    remediation: str
    frameworks: Mapping[str, tuple[str, ...]]  # framework -> control ids
    check: Union[ResourceCheck, StackCheck] = field(repr=False)
    types: tuple[str, ...] = ()  # resource rules: the type tokens it applies to ("kubernetes:*" globs allowed)
    scope: Literal["resource", "stack"] = "resource"

    def applies_to(self, type_token: str) -> bool:
        return any(fnmatch.fnmatchcase(type_token, pattern) for pattern in self.types)


_RULES: dict[str, Rule] = {}


def _register(rule: Rule) -> None:
    if rule.id in _RULES:
        raise ValueError(f"policy {rule.id} is defined twice")
    if rule.severity not in SEVERITIES or rule.level not in LEVELS:
        raise ValueError(f"policy {rule.id}: severity {rule.severity!r} / level {rule.level!r} unknown")
    unknown = set(rule.frameworks) - set(FRAMEWORKS)
    if unknown:
        raise ValueError(f"policy {rule.id}: unknown frameworks {sorted(unknown)}")
    _RULES[rule.id] = rule


def resource_rule(
    id: str, *, title: str, description: str, severity: Severity, remediation: str,
    types: Sequence[str], frameworks: Mapping[str, Sequence[str]], level: Level = "mandatory",
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register ``check(resource, context) -> messages`` as a rule over ``types``."""

    def register(check: ResourceCheck) -> ResourceCheck:
        _register(Rule(id=id, title=title, description=description, severity=severity, level=level,
                       remediation=remediation, frameworks={k: tuple(v) for k, v in frameworks.items()},
                       check=check, types=tuple(types), scope="resource"))
        return check

    return register


def stack_rule(
    id: str, *, title: str, description: str, severity: Severity, remediation: str,
    frameworks: Mapping[str, Sequence[str]], level: Level = "mandatory",
) -> Callable[[StackCheck], StackCheck]:
    """Register ``check(resources, context) -> findings`` as a rule over the whole stack."""

    def register(check: StackCheck) -> StackCheck:
        _register(Rule(id=id, title=title, description=description, severity=severity, level=level,
                       remediation=remediation, frameworks={k: tuple(v) for k, v in frameworks.items()},
                       check=check, scope="stack"))
        return check

    return register


def rules() -> list[Rule]:
    """Every registered rule, by ID."""
    from . import aws, kubernetes, stack  # noqa: F401  (registering is importing)

    return [_RULES[key] for key in sorted(_RULES)]


def get_rule(rule_id: str) -> Rule:
    rules()
    return _RULES[rule_id]


@dataclass(frozen=True)
class Exemption:
    policy: str
    resources: tuple[str, ...]  # globs over the logical name or the URN
    reason: str

    def covers(self, rule_id: str, resource: Optional[Resource], urn: str) -> bool:
        if self.policy != rule_id:
            return False
        names = [urn] + ([resource.name] if resource is not None else [])
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.resources for name in names)


@dataclass(frozen=True)
class Settings:
    """Enforcement overrides (rule ID -> level) and exemptions: maas:policy of the stack."""

    enforcement: Mapping[str, Level] = field(default_factory=dict)
    exemptions: tuple[Exemption, ...] = ()

    def level(self, rule: Rule) -> Level:
        return self.enforcement.get(rule.id, rule.level)

    def exempt(self, rule: Rule, resource: Optional[Resource], urn: str) -> Optional[Exemption]:
        return next((e for e in self.exemptions if e.covers(rule.id, resource, urn)), None)


def check_resource(rule: Rule, resource: Resource, context: Context) -> list[str]:
    """The messages of one resource rule on one resource (none when it does not apply)."""
    if rule.scope != "resource" or not rule.applies_to(resource.type):
        return []
    return [str(message) for message in rule.check(resource, context)]  # type: ignore[arg-type]


def check_stack(rule: Rule, resources: Sequence[Resource], context: Context) -> list[Finding]:
    if rule.scope != "stack":
        return []
    return list(rule.check(resources, context))  # type: ignore[arg-type]


def evaluate(
    resources: Sequence[Resource], context: Context, settings: Settings = Settings(),
    only: Optional[Iterable[str]] = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every rule over ``resources``: ``(violations, exempted)``, both as
    ``{"policy", "severity", "level", "urn", "message"}`` (exempted ones with their ``reason``),
    sorted by level, severity, policy and URN. Disabled rules do not run."""
    selected = [r for r in rules() if only is None or r.id in set(only)]
    by_urn = {resource.urn: resource for resource in resources}
    violations: list[dict[str, Any]] = []
    exempted: list[dict[str, Any]] = []

    def record(rule: Rule, urn: str, message: str) -> None:
        level = settings.level(rule)
        entry = {"policy": rule.id, "severity": rule.severity, "level": level, "urn": urn, "message": message}
        exemption = settings.exempt(rule, by_urn.get(urn), urn)
        if exemption is not None:
            exempted.append({**entry, "reason": exemption.reason})
        else:
            violations.append(entry)

    for rule in selected:
        if settings.level(rule) == "disabled":
            continue
        if rule.scope == "stack":
            for finding in check_stack(rule, resources, context):
                record(rule, finding.urn, finding.message)
            continue
        for resource in resources:
            for message in check_resource(rule, resource, context):
                record(rule, resource.urn, message)

    def order(entry: dict[str, Any]) -> tuple:
        return (LEVELS.index(entry["level"]), SEVERITIES.index(entry["severity"]), entry["policy"], entry["urn"],
                entry["message"])

    return sorted(violations, key=order), sorted(exempted, key=order)


def iter_containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container of a pod spec: init containers, containers, ephemeral containers."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod_spec.get(key) or []:
            if isinstance(container, Mapping):
                yield container
