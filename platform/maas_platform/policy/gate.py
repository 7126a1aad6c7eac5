"""The plan gate: every rule over an offline plan, with the stack's ``maas:policy``.

The gate is where a stack's configuration meets the rules: ``maas:policy`` is validated for
its shape (:mod:`maas_platform.config.policy`), then every policy ID it names is checked against the catalog,
so a misspelt ID stops the plan with the same one-line error as any other configuration
mistake (exit 2), before any rule runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from ..config.loader import NAMESPACE, ConfigError, validate
from .catalog import evaluate, rule_ids
from ..config.policy import PolicyConfig
from .core import Context, Exemption, Resource, Settings

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
                 outputs=dict(r.get("outputs") or {}), remote=bool(r.get("remote")))
        for r in every
        if id(r) in custom or r.get("remote")
    ]


def policy_config(config: dict[str, Any], source: Optional[str] = None) -> PolicyConfig:
    """``maas:policy`` of a stack config (one-line ConfigError when it is wrong)."""
    return validate(PolicyConfig, config.get(ROOT) or {}, root=ROOT, source=source)


def settings_of(policy: PolicyConfig) -> Settings:
    """The engine's enforcement overrides and exemptions from ``maas:policy``."""
    return Settings(
        enforcement=dict(policy.enforcement),
        exemptions=tuple(Exemption(e.policy, tuple(e.resources), e.reason) for e in policy.exemptions),
    )


def context_of(policy: PolicyConfig, environment: Optional[str]) -> Context:
    """The facts rules compare against: the environment and its configured minimums."""
    return Context.for_environment(environment, policy.min_log_retention_days)


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


def gate(plan: Any, config: dict[str, Any], environment: Optional[str], source: Optional[str] = None) -> GateResult:
    """Every rule over ``plan`` under the stack config's ``maas:policy``."""
    policy = checked_policy_config(config, source)
    found = evaluate(plan_resources(plan), context_of(policy, environment), settings_of(policy))
    return GateResult(found.violations, found.exempted, found.not_evaluable)
