"""The CrossGuard pack's policies, built from the same rules as the plan gate.

``pulumi preview --policy-pack policies`` runs ``policies/__main__.py``, which hands
:func:`policies` to ``pulumi_policy.PolicyPack``. Each rule of :func:`~.catalog.rules` becomes
one CrossGuard policy named by its lowercased ID (``MAAS-SEC-001`` -> ``maas-sec-001``):

* a resource rule becomes a ``ResourceValidationPolicy`` whose ``validate`` turns the engine's
  ``ResourceValidationArgs`` into a :class:`~.core.Resource` and runs the rule on it
  (:func:`~.core.assess`);
* a stack rule becomes a ``StackValidationPolicy`` over ``args.resources``.

A check that needs a value not known during the preview (:class:`~.core.NotEvaluable`) is
neither a pass nor a violation of the rule's policy. A policy reports every violation at
its one enforcement level, so each rule has a second, advisory policy,
``<name>-not-evaluable``, that reports exactly those outcomes, as violations whose message
starts with ``not evaluable:`` and names the property: the preview shows them, and they
never block it.

What a rule sees is what it sees under ``maas plan``. ``pulumi_policy`` 1.21 builds ``args.props``
in ``_PolicyAnalyzerServicer.Analyze`` with ``deserialize_properties(MessageToDict(request.properties))``:
the property names are the engine's own (the camelCase schema names the SDK registered, as the
mock engine records them for the plan), numbers are floats and values not known during a
preview are sentinel strings, all wrapped in read-only proxies that raise on unknowns. They are
turned into plain data the way the plan records inputs (:func:`plain`): integral floats become
ints and unknowns ``"[unknown]"``. (Secrets reach ``Analyze`` unwrapped, where the plan shows
``"[secret]"``: a rule must not depend on a secret's value.) ``Analyze`` receives a resource's inputs;
``AnalyzeStack`` receives every resource's outputs (a superset of its inputs for the AWS and
Kubernetes providers), components and the stack itself included.

The stack's ``maas:policy`` reaches the pack through the policy pack config
(``--policy-pack-config FILE``), rendered by :func:`policy_pack_config` as the plan gate applies
it (:func:`.governance.resolve`: nothing loosened that the environment refuses, a team stack
under its platform's policy): per policy its effective enforcement level, the ``environment``,
``min_log_retention_days``, its ``exemptions`` (each with its expiry date: past it, the pack no
longer exempts) and, for a governance rule, the ``notices`` it reports.
Every policy declares these in its config schema, and ``validate`` reads them back with
``args.get_config()``. Without a config file the environment is taken from the stack's own
``maas:environment`` when the CLI passes the stack config to the pack (``PULUMI_CONFIG``).
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Mapping, Optional, Sequence

from pulumi_policy import (
    EnforcementLevel, Policy, PolicyConfigSchema, PolicyResource, ReportViolation, ResourceValidationArgs,
    ResourceValidationPolicy, Severity, StackValidationArgs, StackValidationPolicy,
)
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy import proxy as _proxy

from ..config.loader import NAMESPACE
from ..wire import UNKNOWN, clean
from .catalog import prepared, rules
from .core import DEFAULT_MIN_LOG_RETENTION_DAYS, Assessment, Context, Exemption, Notice, Resource, Rule, assess
from . import gate

PACK_NAME = "maas-platform"
PACK_DESCRIPTION = (
    "MAaaS platform controls (docs/policies.md): the same rules as the policy gate of `maas plan`."
)
ENVIRONMENTS: tuple[str, ...] = tuple(DEFAULT_MIN_LOG_RETENTION_DAYS)

_UNKNOWNS = frozenset({
    _proxy.UNKNOWN_BOOLEAN_VALUE, _proxy.UNKNOWN_NUMBER_VALUE, _proxy.UNKNOWN_STRING_VALUE, _proxy.UNKNOWN_ARRAY_VALUE,
    _proxy.UNKNOWN_ASSET_VALUE, _proxy.UNKNOWN_ARCHIVE_VALUE, _proxy.UNKNOWN_OBJECT_VALUE,
})

# The policy config every policy accepts: the facts of the stack the rules compare against,
# and the resources exempted from this policy. Nothing is required, so a pack run without
# --policy-pack-config still works (environment unknown: treated as not prod).
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {
            "type": "string",
            "enum": list(ENVIRONMENTS),
            "description": "maas:environment of the stack; prod-only checks run only in prod.",
        },
        "min_log_retention_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 3653,
            "description": "Least retention of every log group (days); maas:policy.min_log_retention_days.",
        },
        "exemptions": {
            "type": "array",
            "description": "Resources this policy does not apply to (maas:policy.exemptions of this policy).",
            "items": {
                "type": "object",
                "properties": {
                    "resources": {
                        "type": "array", "minItems": 1, "items": {"type": "string"},
                        "description": "Globs over the logical name or the URN.",
                    },
                    "reason": {"type": "string", "minLength": 10, "maxLength": 500},
                    "expires": {"type": "string", "format": "date", "description": "Last day it holds (YYYY-MM-DD)."},
                },
                "required": ["resources", "reason", "expires"],
                "additionalProperties": False,
            },
        },
        "require_own_registry": {
            "type": "boolean",
            "description": "Agents run images from their own repository by digest (maas:delivery.require_own_registry; MAAS-K8S-041).",
        },
        "agent_registry": {
            "type": "string",
            "description": "Where the agents' repositories are: <account>.dkr.ecr.<region>.<suffix>/<prefix> (MAAS-K8S-041).",
        },
        "notices": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What maas:policy asked for and did not get (governance rules MAAS-POL-*: they report each).",
        },
    },
)

_LEVELS: dict[str, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
    "disabled": EnforcementLevel.DISABLED,
}
_SEVERITIES: dict[str, Severity] = {
    "critical": Severity.CRITICAL, "high": Severity.HIGH, "medium": Severity.MEDIUM, "low": Severity.LOW,
}


NOT_EVALUABLE = "-not-evaluable"
# What the not-evaluable policies ask of the reader: nothing to change, only to look again.
NOT_EVALUABLE_REMEDIATION = (
    "Nothing to fix yet: the value is known once the resource it comes from exists, and the next preview "
    "evaluates it. Until then the rule has not checked this resource."
)


def policy_name(rule_id: str) -> str:
    """The CrossGuard policy name of a rule: its ID lowercased (policy names are conventionally lowercase)."""
    return rule_id.lower()


def not_evaluable_name(rule_id: str) -> str:
    """The name of the advisory policy that reports where the rule could not be evaluated."""
    return policy_name(rule_id) + NOT_EVALUABLE


# -- what the engine sends -> what a rule sees ------------------------------------------------

def plain(value: Any) -> Any:
    """Engine values as the plan records them (:func:`~maas_platform.plan.engine.clean`): plain
    dicts and lists, integral floats as ints, secrets ``"[secret]"``, values not known yet
    ``"[unknown]"``. Rules then behave the same under both engines."""
    return clean(_one_unknown(serialize_properties(value) if isinstance(value, Mapping) else value))


def _one_unknown(value: Any) -> Any:
    """The typed unknown sentinels of a preview (boolean, number, ...) as the one the plan knows."""
    if isinstance(value, Mapping):
        return {str(k): _one_unknown(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_one_unknown(v) for v in value]
    if isinstance(value, str) and value in _UNKNOWNS:
        return UNKNOWN
    return value


def _stack_config_environment() -> Optional[str]:
    """``maas:environment`` of the stack, when the CLI passes the stack config to the pack."""
    from pulumi.runtime.config import get_config_env

    try:
        value = get_config_env().get(f"{NAMESPACE}:environment")
    except ValueError:  # PULUMI_CONFIG that is not JSON: no stack config to read
        return None
    return value if isinstance(value, str) and value in ENVIRONMENTS else None


def context_of(config: Mapping[str, Any], rule: Optional[Rule] = None) -> Context:
    """The rules' :class:`Context` from a policy's config (see :data:`CONFIG_SCHEMA`); the notices
    are ``rule``'s."""
    environment = config.get("environment")
    if not isinstance(environment, str):
        environment = _stack_config_environment()
    days = config.get("min_log_retention_days")
    notices = tuple(Notice(rule.id, str(message)) for message in config.get("notices") or []) if rule else ()
    registry = config.get("agent_registry")
    return Context.for_environment(environment, int(days) if isinstance(days, (int, float)) else None, notices=notices,
                                   require_own_registry=config.get("require_own_registry") is True,
                                   agent_registry=registry if isinstance(registry, str) else None)


def exemptions_of(rule: Rule, config: Mapping[str, Any], today: Optional[datetime.date] = None) -> tuple[Exemption, ...]:
    """The exemptions of ``rule`` in a policy's config that still hold ``today`` (default: the
    current date): a config file rendered before an expiry stops exempting on that date."""
    today = today or datetime.date.today()
    found = []
    for entry in config.get("exemptions") or []:
        if isinstance(entry, Mapping):
            resources = tuple(str(pattern) for pattern in entry.get("resources") or [])
            try:
                expires = datetime.date.fromisoformat(str(entry.get("expires")))
            except ValueError:
                continue  # no date it holds until: it exempts nothing
            exemption = Exemption(rule.id, resources, str(entry.get("reason") or ""), expires)
            if exemption.live(today):
                found.append(exemption)
    return tuple(found)


def _covering(exemptions: Sequence[Exemption], rule: Rule, resource: Optional[Resource], urn: str) -> Optional[Exemption]:
    return next((e for e in exemptions if e.covers(rule.id, resource, urn)), None)


def _stack_resource(resource: PolicyResource) -> Resource:
    """A stack resource as rules see it: its outputs as ``props`` (a superset of its inputs) and
    the references the engine recorded, which rules pair resources by (:meth:`Resource.refers_to`)."""
    parent = resource.parent.urn if resource.parent is not None else resource.opts.parent
    props = plain(resource.props)
    resource_id = props.get("id")
    return Resource(type=resource.resource_type, name=resource.name, props=props, urn=resource.urn,
                    parent=parent, protect=bool(resource.opts.protect),
                    dependencies=tuple(d.urn for d in resource.dependencies or ()),
                    property_dependencies={key: tuple(d.urn for d in deps)
                                           for key, deps in (resource.property_dependencies or {}).items()},
                    id=resource_id if isinstance(resource_id, str) and resource_id != UNKNOWN else None)


def is_cloud_resource(resource: PolicyResource) -> bool:
    """Whether a stack resource is one a provider creates, as the plan gate's ``cloud_resources``:
    the engine sends components (and the stack itself) too, and only custom resources have a provider."""
    return resource.provider is not None and not resource.resource_type.startswith("pulumi:providers:")


# -- policies ---------------------------------------------------------------------------------

def _metadata(rule: Rule, unknown: bool = False) -> dict[str, Any]:
    """The policy's metadata: the rule's, or (``unknown``) that of its advisory not-evaluable policy."""
    tags = sorted({f"{framework} {control}" for framework, controls in rule.frameworks.items() for control in controls})
    return {
        "name": not_evaluable_name(rule.id) if unknown else policy_name(rule.id),
        "description": rule.title,
        "enforcement_level": EnforcementLevel.ADVISORY if unknown else _LEVELS[rule.level],
        "config_schema": CONFIG_SCHEMA,
        "display_name": f"{rule.id} (not evaluable)" if unknown else rule.id,
        "severity": _SEVERITIES[rule.severity],
        "tags": tags,
        "remediation_steps": NOT_EVALUABLE_REMEDIATION if unknown else rule.remediation,
    }


def _report(outcome: Assessment, unknown: bool, report: Callable[[str, str], None],
            exempt: Callable[[str], bool] = lambda urn: False) -> None:
    """The rule's violations, or (``unknown``) what it could not evaluate, on resources not
    exempted: ``report(message, urn)``."""
    entries = outcome.not_evaluable if unknown else outcome.findings
    for entry in entries:
        if not exempt(entry.urn):
            report(entry.message, entry.urn)


def resource_policy(rule: Rule, unknown: bool = False) -> ResourceValidationPolicy:
    """``rule`` (a resource rule) as a CrossGuard resource policy; with ``unknown``, its
    not-evaluable policy."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        config = args.get_config()
        resource = Resource(type=args.resource_type, name=args.name, props=plain(args.props), urn=args.urn,
                            parent=args.opts.parent if args.opts else None,
                            protect=bool(args.opts.protect) if args.opts else False)
        exemption = _covering(exemptions_of(rule, config), rule, resource, args.urn)
        if exemption is not None:
            if unknown:
                return  # the rule's own policy reports the resource not applicable
            args.not_applicable(f"exempted: {exemption.reason}")
        # A resource policy's findings are the validated resource's: they name no URN.
        _report(assess(rule, [resource], context_of(config, rule)), unknown,
                lambda message, urn: report_violation(message, None))

    return ResourceValidationPolicy(validate=validate, **_metadata(rule, unknown))


def stack_policy(rule: Rule, unknown: bool = False) -> StackValidationPolicy:
    """``rule`` (a stack rule) as a CrossGuard stack policy over the stack's cloud resources; with
    ``unknown``, its not-evaluable policy."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = args.get_config()
        resources = [_stack_resource(r) for r in args.resources if is_cloud_resource(r)]
        by_urn = {resource.urn: resource for resource in resources}
        exemptions = exemptions_of(rule, config)
        _report(assess(rule, prepared(resources), context_of(config, rule)), unknown,
                lambda message, urn: report_violation(message, urn or None),
                lambda urn: _covering(exemptions, rule, by_urn.get(urn), urn) is not None)

    return StackValidationPolicy(validate=validate, **_metadata(rule, unknown))


def policies(selected: Optional[Sequence[Rule]] = None) -> list[Policy]:
    """Two CrossGuard policies per rule (every rule of the catalog unless ``selected``), by ID:
    the rule's, and its advisory not-evaluable policy."""
    made: list[Policy] = []
    for rule in (rules() if selected is None else selected):
        build = resource_policy if rule.scope == "resource" else stack_policy
        made += [build(rule), build(rule, unknown=True)]
    return made


def pack_arguments() -> dict[str, Any]:
    """The keyword arguments of the ``PolicyPack`` that ``policies/__main__.py`` builds."""
    return {
        "name": PACK_NAME,
        "description": PACK_DESCRIPTION,
        "policies": policies(),
        # Every policy states its own level, so this pack-wide default applies to none of them.
        "enforcement_level": EnforcementLevel.MANDATORY,
    }


# -- --policy-pack-config ---------------------------------------------------------------------

def policy_pack_config(
    config: Mapping[str, Any], environment: Optional[str] = None, source: Optional[str] = None, *,
    today: Optional[datetime.date] = None, platform: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """The ``--policy-pack-config`` JSON (as a dict) for a stack, from its ``maas:policy``.

    ``config`` is the stack's config as :func:`~maas_platform.plan.load_stack_config` reads it
    (``maas:policy``, ``maas:environment`` ...); ``environment`` defaults to ``maas:environment``.
    Every policy gets its effective enforcement level, the environment and the minimum log
    retention, as :func:`.gate.resolved` applies ``maas:policy`` on ``today`` (a team stack's
    under ``platform``, its platform's outputs), so the pack enforces exactly what ``maas plan``
    enforces for that stack; a policy with exemptions also gets them, a governance rule the
    notices it reports. A rule's not-evaluable policy gets the same, advisory unless the rule is
    disabled. A wrong ``maas:policy`` (an unknown policy ID included) raises the plan's one-line
    ConfigError (naming ``source``, the stack file, when given).
    """
    if environment is None:
        value = config.get(f"{NAMESPACE}:environment")
        environment = value if isinstance(value, str) else None
    environment, applied = gate.resolved(config, environment, source, today=today, platform=platform)
    settings = applied.settings
    # MAAS-K8S-041's facts, as the plan gate has them: without them the pack would never require them.
    account = (platform or {}).get("account_id") or config.get(f"{NAMESPACE}:account_id")
    registry = gate.own_registry(config, environment, platform, account if isinstance(account, str) else None)
    rendered: dict[str, Any] = {}
    for rule in rules():
        entry: dict[str, Any] = {"enforcementLevel": settings.level(rule)}
        if environment is not None:
            entry["environment"] = environment
        entry["min_log_retention_days"] = applied.min_log_retention_days
        entry["require_own_registry"] = registry["require_own_registry"]
        if registry["agent_registry"] is not None:
            entry["agent_registry"] = registry["agent_registry"]
        exemptions = [{"resources": list(e.resources), "reason": e.reason,
                       **({"expires": e.expires.isoformat()} if e.expires else {})}
                      for e in settings.exemptions if e.policy == rule.id]
        if exemptions:
            entry["exemptions"] = exemptions
        notices = [notice.message for notice in applied.notices if notice.policy == rule.id]
        if notices:
            entry["notices"] = notices
        rendered[policy_name(rule.id)] = entry
        level = "disabled" if entry["enforcementLevel"] == "disabled" else "advisory"
        rendered[not_evaluable_name(rule.id)] = {**entry, "enforcementLevel": level}
    return rendered


# How to write a stack's --policy-pack-config file (docs/policies.md, .github/workflows/preview.yml).
CONFIG_COMMAND = "maas policy-config --stack <stack> --out policy-config.<stack>.json"
