"""The policy engine: rules as plain functions, evaluated over resources as the engine sees them.

A rule is a function registered with :func:`resource_rule` (one resource at a time, for the
resource types it names) or :func:`stack_rule` (all resources of a stack at once), with its
metadata: ID, title, description, severity, default enforcement level, remediation and the
controls it maps to. Which rules exist is the catalog's business (:mod:`.catalog` imports
the rule modules); this module only runs the rules it is given. The same functions run in
three places:

* ``maas plan`` evaluates them over the offline plan (:mod:`.gate`) and exits 1 when a
  mandatory rule is violated;
* the CrossGuard pack in ``policies/`` wraps them for ``pulumi preview --policy-pack``;
* ``docs/policies.md`` is generated from their metadata.

A rule sees a :class:`Resource`: the type token, the logical name, the URN and the inputs as
the engine receives them (camelCase; a Kubernetes object's ``metadata``/``spec``), plus a
:class:`Context` with the facts of the stack (environment, configured minimums). A check
has three outcomes per resource:

* a message (a resource rule) or a :class:`Finding` (a stack rule): a violation. A missing
  property that defaults to an insecure value is a violation, not a pass;
* :class:`NotEvaluable`: the check needs a value that is not known yet (``"[unknown]"``, an
  output of a resource created in the same update, as ``pulumi preview`` sends it). It is
  neither a pass nor a violation: it is reported, advisory, with the property it needed;
* nothing: the resource passes.
"""

from __future__ import annotations

import datetime
import fnmatch
import functools
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Literal, Optional, Sequence, Union

from .. import names
# How the plan shows a value known only after apply, and a secret (plan.engine's markers);
# the CrossGuard adapter turns the engine's unknowns into the same marker.
from ..markers import SECRET, UNKNOWN_VALUE as UNKNOWN

__all__ = [
    "DEFAULT_MIN_LOG_RETENTION_DAYS", "FRAMEWORKS", "LEVELS", "REQUIRED_TAGS", "SECRET", "SEVERITIES", "UNKNOWN",
    "Assessment", "Context", "Evaluation", "Exemption", "Finding", "NotEvaluable", "Notice", "Outcome", "Resource",
    "ResourceCheck", "Rule", "Settings", "StackCheck", "assess", "check_resource", "check_stack", "evaluate_rules",
    "registered", "resource_rule", "stack_rule",
]

Severity = Literal["critical", "high", "medium", "low"]
Level = Literal["mandatory", "advisory", "disabled"]
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
LEVELS: tuple[str, ...] = ("mandatory", "advisory", "disabled")
# Framework names as they appear in docs/policies.md.
FRAMEWORKS: tuple[str, ...] = ("CIS AWS", "CIS EKS", "SOC 2", "NIST 800-53", "AWS Well-Architected")
# Tags every taggable AWS resource carries (an agent's resources carry ``agent`` too).
REQUIRED_TAGS: tuple[str, ...] = (names.ENVIRONMENT_TAG, names.TEAM_TAG, names.COST_CENTER_TAG, names.MANAGED_BY_TAG)
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
    # What the engine records about references (see :meth:`refers_to`): the URNs this resource
    # depends on, by input where known; its id and what the provider answered beyond its inputs
    # (an ARN, a generated name), empty when not known (a preview's new resources).
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    id: Optional[str] = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    # A multi-language component: its children are created by a provider no rule can see.
    remote: bool = False
    # What the engine saw that the inputs mask: secret inputs whose plain text is a credential the
    # program wrote ({"path", "kind"}, never the value), and the resource hooks bound (run at deploy).
    written_credentials: tuple[Mapping[str, str], ...] = ()
    hooks: tuple[str, ...] = ()

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

    def unknown_at(self, path: str) -> Optional[str]:
        """The first prefix of ``path`` whose value is not known yet (``"spec.template"`` when the
        template is ``"[unknown]"``), or None when every step down is known or absent."""
        value: Any = self.props
        walked: list[str] = []
        for part in path.split("."):
            if value == UNKNOWN:
                return ".".join(walked)
            if isinstance(value, Mapping):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
            walked.append(part)
        return ".".join(walked) if value == UNKNOWN else None

    def identifiers(self) -> frozenset[str]:
        """Every value another resource may name this one by: its id, ARN and physical names,
        whether the program set them or the provider answered them."""
        return self.memo("identifiers", self._identifiers)

    def _identifiers(self) -> frozenset[str]:
        found = {self.id} if self.id else set()
        for source in (self.props, self.outputs):
            for key in ("arn", "id", "name", "bucket", "url", "clusterIdentifier", "identifier"):
                value = source.get(key)
                if isinstance(value, str) and value and value not in (UNKNOWN, SECRET):
                    found.add(value)
        return frozenset(found)

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per resource and ``key``: what rules derive from a resource (its
        identifiers, a JSON document read from an input) does not change while a stack is judged,
        and pairing rules ask it of every resource for every other."""
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def refers_to(self, other: "Resource", prop: str) -> bool:
        """Whether this resource's input ``prop`` names ``other``: by the reference the engine
        records (``prop`` computed from ``other``'s outputs), or by value (``other``'s id, ARN or
        physical name, set or generated). So a program pairs a bucket with its configuration
        with or without explicit names, and a value written out by hand pairs too."""
        deps = self.property_dependencies.get(prop)
        if deps is not None and other.urn in deps:
            return True
        value = self.get(prop)
        return isinstance(value, str) and value in other.identifiers()

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
class Notice:
    """What a stack's ``maas:policy`` asked for and did not get, or what has lapsed (a loosening
    refused in prod, an expired exemption): reported by the governance rule ``policy``
    (:mod:`.governance`), on the stack."""

    policy: str
    message: str


@dataclass(frozen=True)
class Context:
    """Facts of the stack that rules compare against."""

    environment: Optional[str] = None  # dev, staging, prod (None: unknown, treated as not prod)
    min_log_retention_days: int = 7
    required_tags: tuple[str, ...] = REQUIRED_TAGS
    # The account the stack deploys to (None: unknown), and the principals its config names
    # as cluster administrators (maas:cluster.admin_role_arns; a team stack: its platform's).
    account_id: Optional[str] = None
    admin_principals: tuple[str, ...] = ()
    # A team stack (it reads a platform stack): enforcement is the platform's, never looser.
    team_stack: bool = False
    # What the stack's maas:policy asked for that was not applied or has lapsed (the governance rules report them).
    notices: tuple[Notice, ...] = ()
    # Agents run images from their own ECR repository by digest (maas:delivery.require_own_registry,
    # MAAS-K8S-041), and where those repositories sit: <account>.dkr.ecr.<region>.<suffix>/<prefix> (None: unknown).
    require_own_registry: bool = False
    agent_registry: Optional[str] = None

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    def notice_findings(self, policy: str) -> list["Finding"]:
        """The notices for ``policy`` as its findings, on the stack (what a stack rule that judges
        the stack's config, not its resources, reports)."""
        return [Finding("", notice.message) for notice in self.notices if notice.policy == policy]

    @classmethod
    def for_environment(cls, environment: Optional[str], min_log_retention_days: Optional[int] = None,
                        **facts: Any) -> "Context":
        """The context of ``environment``: its default minimum log retention unless
        ``min_log_retention_days`` (already checked against what the environment allows, see
        :func:`.governance.resolve`) says otherwise; ``facts`` fill the other fields."""
        default = DEFAULT_MIN_LOG_RETENTION_DAYS.get(environment or "", DEFAULT_MIN_LOG_RETENTION_DAYS["dev"])
        return cls(environment=environment, min_log_retention_days=min_log_retention_days or default, **facts)


@dataclass(frozen=True)
class Finding:
    """A stack rule's finding: which resource (URN, or the stack's when empty) and what is wrong."""

    urn: str
    message: str


@dataclass(frozen=True)
class NotEvaluable:
    """A check that cannot say pass or fail: it needs ``property``, whose value is not known until
    the update runs. A stack rule names the resource it concerns (``urn``); a resource rule
    leaves it empty, the engine knows which resource it checked."""

    property: str
    urn: str = ""

    @property
    def message(self) -> str:
        return f"not evaluable: {self.property} is known only after apply"

    def at(self, urn: str) -> "NotEvaluable":
        """The same outcome, concerning the resource ``urn`` (stack rules)."""
        return NotEvaluable(self.property, urn)


Outcome = Union[str, NotEvaluable]
ResourceCheck = Callable[["Resource", "Context"], Iterable[Outcome]]
StackCheck = Callable[[Sequence["Resource"], "Context"], Iterable[Union[Finding, NotEvaluable]]]


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
        return _matches(self.types, type_token)


@functools.lru_cache(maxsize=65536)
def _matches(patterns: tuple[str, ...], type_token: str) -> bool:
    """Whether ``type_token`` matches one of ``patterns``: every rule asks it of every resource,
    and a stack has few types, so the answer is kept."""
    return any(fnmatch.fnmatchcase(type_token, pattern) for pattern in patterns)


# -- registration ---------------------------------------------------------------------------

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


def registered() -> list[Rule]:
    """The rules registered so far, by ID: those of the modules imported so far (the catalog
    imports all of them; see :func:`.catalog.rules`)."""
    return [_RULES[key] for key in sorted(_RULES)]


def resource_rule(
    id: str, *, title: str, description: str, severity: Severity, remediation: str,
    types: Sequence[str], frameworks: Mapping[str, Sequence[str]], level: Level = "mandatory",
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register ``check(resource, context) -> outcomes`` as a rule over ``types``."""

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


# -- enforcement settings ---------------------------------------------------------------------

@dataclass(frozen=True)
class Exemption:
    policy: str
    resources: tuple[str, ...]  # globs over the logical name or the URN
    reason: str
    expires: Optional[datetime.date] = None  # last day it holds (None: a caller that checked it already)

    def live(self, today: datetime.date) -> bool:
        """Whether the exemption still holds on ``today``."""
        return self.expires is None or today <= self.expires

    def matches(self, resource: Resource) -> bool:
        """Whether a pattern of the exemption names ``resource`` (by logical name or URN), whatever the policy."""
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.resources for name in (resource.urn, resource.name))

    def covers(self, rule_id: str, resource: Optional[Resource], urn: str) -> bool:
        if self.policy != rule_id:
            return False
        names_ = [urn] + ([resource.name] if resource is not None else [])
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.resources for name in names_)


@dataclass(frozen=True)
class Settings:
    """Enforcement overrides (rule ID -> level) and exemptions: maas:policy of the stack, as
    :func:`.governance.resolve` applies it (what the environment refuses and what has expired left out)."""

    enforcement: Mapping[str, Level] = field(default_factory=dict)
    exemptions: tuple[Exemption, ...] = ()
    # Why a rule runs below its default level, and until when (rule ID -> text): a rule disabled
    # so still runs, and what it finds is listed as exempted with this reason, not hidden.
    loosened: Mapping[str, str] = field(default_factory=dict)

    def level(self, rule: Rule) -> Level:
        return self.enforcement.get(rule.id, rule.level)

    def exempt(self, rule: Rule, resource: Optional[Resource], urn: str) -> Optional[Exemption]:
        return next((e for e in self.exemptions if e.covers(rule.id, resource, urn)), None)


# -- running rules ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Assessment:
    """One rule over some resources: its violations, and what it could not evaluate (each
    resource and property once), both by resource."""

    findings: tuple[Finding, ...] = ()
    not_evaluable: tuple[NotEvaluable, ...] = ()


def assess(rule: Rule, resources: Sequence[Resource], context: Context,
           by_type: Optional[Mapping[str, Sequence[Resource]]] = None) -> Assessment:
    """``rule`` over ``resources``: a resource rule on each resource it applies to, a stack rule once.
    ``by_type``: the same resources grouped by type token, when the caller has them (each rule
    then asks about each type once, not about each resource)."""
    findings: list[Finding] = []
    unknown: list[NotEvaluable] = []
    if rule.scope == "stack":
        for outcome in rule.check(resources, context):  # type: ignore[arg-type]
            (unknown if isinstance(outcome, NotEvaluable) else findings).append(outcome)  # type: ignore[arg-type]
        return Assessment(tuple(findings), tuple(dict.fromkeys(unknown)))
    groups = by_type if by_type is not None else _by_type(resources)
    for resource in (r for type_token, group in groups.items() if rule.applies_to(type_token) for r in group):
        for outcome in rule.check(resource, context):  # type: ignore[arg-type]
            if isinstance(outcome, NotEvaluable):
                unknown.append(outcome.at(resource.urn))
            else:
                findings.append(Finding(resource.urn, str(outcome)))
    return Assessment(tuple(findings), tuple(dict.fromkeys(unknown)))


def _by_type(resources: Sequence[Resource]) -> dict[str, list[Resource]]:
    groups: dict[str, list[Resource]] = {}
    for resource in resources:
        groups.setdefault(resource.type, []).append(resource)
    return groups


def check_resource(rule: Rule, resource: Resource, context: Context) -> list[str]:
    """The violation messages of one resource rule on one resource (none when it does not apply)."""
    if rule.scope != "resource":
        return []
    return [finding.message for finding in assess(rule, [resource], context).findings]


def check_stack(rule: Rule, resources: Sequence[Resource], context: Context) -> list[Finding]:
    """The violations of one stack rule."""
    if rule.scope != "stack":
        return []
    return list(assess(rule, resources, context).findings)


@dataclass(frozen=True)
class Evaluation:
    """Every finding of an evaluation, as plain entries (the plan JSON's form).

    ``violations`` and ``exempted`` are ``{"policy", "severity", "level", "urn", "message"}``
    (exempted ones with their ``reason``); ``not_evaluable`` are ``{"policy", "severity",
    "urn", "message", "property"}``: advisory, never failing the gate."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    exempted: list[dict[str, Any]] = field(default_factory=list)
    not_evaluable: list[dict[str, Any]] = field(default_factory=list)


def _order(entry: Mapping[str, Any]) -> tuple:
    return (LEVELS.index(entry.get("level", "advisory")), SEVERITIES.index(entry["severity"]), entry["policy"],
            entry["urn"], entry["message"])


def evaluate_rules(
    selected: Iterable[Rule], resources: Sequence[Resource], context: Context, settings: Settings = Settings(),
) -> Evaluation:
    """``selected`` over ``resources`` under ``settings``, each list sorted by level, severity,
    policy and URN. Disabled rules do not run, unless ``settings`` says why they were loosened:
    then their findings are listed as exempted, with that reason. An exempted resource is not
    reported as not evaluable either (the rule does not apply to it)."""
    by_urn = {resource.urn: resource for resource in resources}
    groups = _by_type(resources)
    violations: list[dict[str, Any]] = []
    exempted: list[dict[str, Any]] = []
    not_evaluable: list[dict[str, Any]] = []
    for rule in selected:
        level = settings.level(rule)
        if level == "disabled":
            if rule.id in settings.loosened:
                exempted += [{"policy": rule.id, "severity": rule.severity, "level": level, "urn": finding.urn,
                              "message": finding.message, "reason": f"disabled: {settings.loosened[rule.id]}"}
                             for finding in assess(rule, resources, context, groups).findings]
            continue
        outcome = assess(rule, resources, context, groups)
        for finding in outcome.findings:
            entry = {"policy": rule.id, "severity": rule.severity, "level": level, "urn": finding.urn,
                     "message": finding.message}
            exemption = settings.exempt(rule, by_urn.get(finding.urn), finding.urn)
            if exemption is not None:
                exempted.append({**entry, "reason": exemption.reason})
            else:
                violations.append(entry)
        for unknown in outcome.not_evaluable:
            if settings.exempt(rule, by_urn.get(unknown.urn), unknown.urn) is None:
                not_evaluable.append({"policy": rule.id, "severity": rule.severity, "urn": unknown.urn,
                                      "message": unknown.message, "property": unknown.property})
    return Evaluation(sorted(violations, key=_order), sorted(exempted, key=_order), sorted(not_evaluable, key=_order))
