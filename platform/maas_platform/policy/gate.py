"""The plan gate: every rule over an offline plan, with the stack's ``maas:policy``.

The gate is where a stack's configuration meets the rules: ``maas:policy`` is validated for
its shape (:mod:`maas_platform.config.policy`), then every policy ID it names is checked against the catalog,
so a misspelt ID stops the plan with the same one-line error as any other configuration
mistake (exit 2), before any rule runs. It is then applied under the environment's rules
(:func:`.governance.resolve`: what prod refuses, what has expired, what a team stack may not
loosen), and the governance rules report what was not applied.

A team stack (its config names ``maas:platform_stack``) is gated under its platform's policy,
read from the platform's ``policy`` output, in the platform's environment, whatever its own
``maas:environment`` says; its own ``maas:policy`` only tightens.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional

from pydantic import ValidationError

from ..config.defaults import ENVIRONMENT_DEFAULTS
from ..config.loader import NAMESPACE, ConfigError, validate
from ..config.models import PlatformConfig
from .catalog import evaluate, rule_ids, rules
from ..config.policy import LooseningConfig, PolicyConfig
from .core import DEFAULT_MIN_LOG_RETENTION_DAYS, LEVELS, Context, Exemption, Resource, Settings
from .governance import Resolved, resolve, understated_environment
from .kubernetes.registry import agent_registry
from .secrets import config_credentials

ROOT = f"{NAMESPACE}:policy"
# How a user finds the valid IDs, named in the error.
VALID_IDS = "`maas reference policies` or docs/policies.md lists them"


@dataclass(frozen=True)
class GateResult:
    """What the gate found: ``violations`` and ``exempted`` (``{"policy", "severity", "level",
    "urn", "message"}``, exempted ones with their ``reason``) and ``not_evaluable``
    (``{"policy", "severity", "urn", "message", "property"}``: checks that needed a value known
    only after apply; advisory, they never fail the gate)."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    exempted: list[dict[str, Any]] = field(default_factory=list)
    not_evaluable: list[dict[str, Any]] = field(default_factory=list)

    # ``violations, exempted = gate(...)`` keeps working for callers written before
    # ``not_evaluable`` existed; new callers read the attributes.
    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        yield self.violations
        yield self.exempted


def plan_resources(plan: Any) -> list[Resource]:
    """The plan's custom resources as rules see them, and its multi-language components (whose
    children no rule can see: a rule refuses them). Resources are read by key, as the plan JSON
    writes them (a :class:`~maas_platform.plan.PlannedResource` or its mapping)."""
    every = getattr(plan, "resources", None)
    if every is None:
        every = plan.cloud_resources()
    custom = {id(r) for r in plan.cloud_resources()}
    return [
        Resource(type=r["type"], name=r["name"], props=r["inputs"], urn=r["urn"], parent=r.get("parent"),
                 protect=bool(r.get("protect")), dependencies=tuple(r.get("dependencies") or ()),
                 property_dependencies=dict(r.get("property_dependencies") or {}), id=r.get("id"),
                 outputs=dict(r.get("outputs") or {}), remote=bool(r.get("remote")),
                 written_credentials=tuple(r.get("written_credentials") or ()), hooks=tuple(r.get("hooks") or ()))
        for r in every
        if id(r) in custom or r.get("remote")
    ]


def policy_config(config: dict[str, Any], source: Optional[str] = None) -> PolicyConfig:
    """``maas:policy`` of a stack config (one-line ConfigError when it is wrong). An enforcement
    entry is a level or a loosening: each form's mistakes are named under the entry's own key."""
    raw = config.get(ROOT) or {}
    enforcement = raw.get("enforcement") if isinstance(raw, dict) else None
    for rule_id, entry in (enforcement.items() if isinstance(enforcement, dict) else ()):
        key = f"{ROOT}.enforcement.{rule_id}"
        if isinstance(entry, dict):
            validate(LooseningConfig, entry, root=key, source=source)
        elif entry not in LEVELS:
            raise ConfigError(f"{key}: {entry!r} is not one of {', '.join(LEVELS)}, nor "
                              "{level, reason, expires}", source)
    return validate(PolicyConfig, raw, root=ROOT, source=source)


def settings_of(policy: PolicyConfig) -> Settings:
    """``maas:policy`` as written, as the engine's settings (no environment's rules applied: the
    gate uses :func:`resolved` instead)."""
    return Settings(
        enforcement={rule_id: getattr(entry, "level", entry) for rule_id, entry in policy.enforcement.items()},
        exemptions=tuple(Exemption(e.policy, tuple(e.resources), e.reason, e.expires) for e in policy.exemptions),
    )


def context_of(policy: PolicyConfig, environment: Optional[str]) -> Context:
    """The facts rules compare against, ``maas:policy`` as written (see :func:`settings_of`)."""
    return Context.for_environment(environment, policy.min_log_retention_days)


# -- a team stack's platform ----------------------------------------------------------------------

def platform_environment(outputs: Mapping[str, Any]) -> Optional[str]:
    """The environment a platform stack's outputs name (None when they name none we know)."""
    policy = outputs.get("policy")
    for value in (outputs.get("environment"), policy.get("environment") if isinstance(policy, Mapping) else None):
        if isinstance(value, str) and value in DEFAULT_MIN_LOG_RETENTION_DAYS:
            return value
    return None


def inherited_policy(outputs: Mapping[str, Any], environment: Optional[str], today: datetime.date) -> Resolved:
    """The platform's policy as its own gate applies it, from its ``policy`` output. Outputs
    without one (an older platform, a hand-written outputs file), or with one this version cannot
    read, give the environment's defaults with nothing loosened."""
    exported = outputs.get("policy")
    default = Resolved(min_log_retention_days=DEFAULT_MIN_LOG_RETENTION_DAYS.get(
        environment or "", DEFAULT_MIN_LOG_RETENTION_DAYS["dev"]))
    if not isinstance(exported, Mapping):
        return default
    try:
        policy = PolicyConfig.model_validate({key: exported[key] for key in ("enforcement", "exemptions",
                                                                              "min_log_retention_days")
                                              if exported.get(key) is not None})
    except ValidationError:
        return default
    return resolve(policy, environment, rules(), today, strict=False)


def admin_principals(config: Mapping[str, Any], platform: Optional[Mapping[str, Any]]) -> tuple[str, ...]:
    """The cluster administrators: ``maas:cluster.admin_role_arns``, or for a team stack its
    platform's (the ``policy`` output's ``admin_principals``)."""
    if platform is not None:
        exported = platform.get("policy")
        found = exported.get("admin_principals") if isinstance(exported, Mapping) else None
    else:
        cluster = config.get(f"{NAMESPACE}:cluster")
        if isinstance(cluster, str):
            try:
                cluster = json.loads(cluster)
            except ValueError:
                cluster = None
        found = cluster.get("admin_role_arns") if isinstance(cluster, Mapping) else None
    return tuple(str(p) for p in found if isinstance(p, str)) if isinstance(found, list) else ()


def own_registry(config: Mapping[str, Any], environment: Optional[str], platform: Optional[Mapping[str, Any]],
                 account_id: Optional[str]) -> dict[str, Any]:
    """MAAS-K8S-041's facts: whether agents must run their own repository's images
    (``maas:delivery.require_own_registry``, else the environment's default; a team stack: its
    platform's environment's default, which it cannot loosen) and where those repositories sit
    (None while the account is unknown)."""
    defaults = ENVIRONMENT_DEFAULTS.get(environment or "", ENVIRONMENT_DEFAULTS["dev"])["delivery"]
    delivery = config.get(f"{NAMESPACE}:delivery") if platform is None else None
    if isinstance(delivery, str):
        try:
            delivery = json.loads(delivery)
        except ValueError:
            delivery = None
    chosen = delivery.get("require_own_registry") if isinstance(delivery, Mapping) else None
    required = chosen if isinstance(chosen, bool) else bool(defaults["require_own_registry"])
    if platform is not None:
        region, prefix = platform.get("region"), platform.get("prefix")
    else:
        fields = PlatformConfig.model_fields
        region = config.get(f"{NAMESPACE}:region") or fields["region"].default
        prefix = f"{config.get(f'{NAMESPACE}:name') or fields['name'].default}-{environment}"
    known = all(isinstance(value, str) and value for value in (account_id, region, prefix))
    return {"require_own_registry": required,
            "agent_registry": agent_registry(str(account_id), str(region), str(prefix)) if known else None}


def check_policy_ids(policy: PolicyConfig, source: Optional[str] = None) -> None:
    """A one-line ConfigError naming the first policy ID of ``policy`` that no rule has."""
    known = rule_ids()
    for key, rule_id in policy.policy_ids():
        if rule_id not in known:
            raise ConfigError(f"{ROOT}.{key}: '{rule_id}' is not a known policy ({VALID_IDS})", source)


def checked_policy_config(config: dict[str, Any], source: Optional[str] = None) -> PolicyConfig:
    """:func:`policy_config` whose policy IDs all name rules of the catalog."""
    policy = policy_config(config, source)
    check_policy_ids(policy, source)
    return policy


def resolved(
    config: Mapping[str, Any], environment: Optional[str], source: Optional[str] = None, *,
    today: Optional[datetime.date] = None, platform: Optional[Mapping[str, Any]] = None,
    resources: Optional[list[Resource]] = None,
) -> tuple[Optional[str], Resolved]:
    """The stack's ``maas:policy`` as applied: the environment it is judged in (a team stack's
    platform's, when ``platform``, its outputs, names one) and what holds there on ``today``."""
    today = today or datetime.date.today()
    policy = checked_policy_config(dict(config), source)
    inherited = None
    if platform is not None:
        environment = platform_environment(platform) or environment
        inherited = inherited_policy(platform, environment, today)
    return environment, resolve(policy, environment, rules(), today, resources=resources, inherited=inherited,
                                source=source)


def gate(
    plan: Any, config: dict[str, Any], environment: Optional[str], source: Optional[str] = None, *,
    today: Optional[datetime.date] = None, platform: Optional[Mapping[str, Any]] = None,
    account_id: Optional[str] = None,
) -> GateResult:
    """Every rule over ``plan`` under the stack config's ``maas:policy``, applied on ``today``
    (default: the current date). ``platform``: a team stack's platform outputs, whose policy and
    environment it is gated under. ``account_id``: the account the stack deploys to."""
    resources = plan_resources(plan)
    environment, applied = resolved(config, environment, source, today=today, platform=platform, resources=resources)
    # A credential in plain stack config is a finding of its own (MAAS-SEC-020), like what maas:policy asked for.
    notices = (applied.notices + tuple(config_credentials(config))
               + tuple(understated_environment(getattr(plan, "stack", None), environment)))
    context = Context.for_environment(
        environment, applied.min_log_retention_days, notices=notices, account_id=account_id,
        admin_principals=admin_principals(config, platform), team_stack=platform is not None,
        **own_registry(config, environment, platform, account_id),
    )
    found = evaluate(resources, context, applied.settings)
    return GateResult(found.violations, found.exempted, found.not_evaluable)
