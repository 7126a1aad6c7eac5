"""Governance: what a stack's ``maas:policy`` may weaken, and the rules that report what it tried.

A stack's ``maas:policy`` (:mod:`maas_platform.config.policy`) is not applied as written:
:func:`resolve` applies it under the environment's rules, and what it refuses or what has lapsed
becomes a :class:`~.core.Notice` that a rule of this module reports (on the stack, no URN):

* a level at or above the policy's default (advisory -> mandatory) always applies. A level
  below it is a *loosening*: it needs a reason and an expiry (``{level, reason, expires}``;
  a bare level string is a configuration error, exit 2) and holds until that date, at most a
  year ahead. In prod, a mandatory policy is never loosened, by level or by an exemption that
  covers every resource the policy applies to: it stays mandatory and MAAS-POL-001 names the
  key. Staging may loosen (with reason and expiry), as dev may: only prod deploys what
  customers use, and a staging loosening cannot reach prod, whose own config is gated here;
* ``min_log_retention_days`` below the environment's default holds in dev only. Staging and
  prod keep their floor (MAAS-POL-002): logs deleted early cannot be brought back by raising
  the floor later, and staging's logs are the evidence of the release rehearsal a prod change
  is judged by, so the loss is permanent where a loosened level is not;
* an exemption or loosening past its expiry date no longer applies and is itself a finding
  (MAAS-POL-003); an exemption that covers no resource of the plan is stale (MAAS-POL-004, advisory);
* a team stack (``maas:platform_stack``) inherits its platform's policy, resolved in the
  platform's environment; its own ``maas:policy`` may tighten it and nothing else: a
  loosening, an exemption or a lower floor is not applied and is a finding in every
  environment (MAAS-POL-005). Exemptions for a team's resources belong in the platform stack's
  ``maas:policy``, where the platform team reviews them.

The MAAS-POL rules themselves cannot be loosened or exempted (a configuration error): they
judge ``maas:policy``, so a stack that could silence them could weaken anything unseen.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..config.loader import NAMESPACE, ConfigError
from ..config.policy import LooseningConfig, PolicyConfig
from .core import (
    DEFAULT_MIN_LOG_RETENTION_DAYS, Context, Exemption, Finding, Level, Notice, Resource, Rule, Settings, stack_rule,
)

ROOT = f"{NAMESPACE}:policy"
AREA = "MAAS-POL-"
LOOSENED_IN_PROD = "MAAS-POL-001"
FLOOR_LOWERED = "MAAS-POL-002"
EXPIRED = "MAAS-POL-003"
STALE = "MAAS-POL-004"
TEAM_LOOSENED = "MAAS-POL-005"
# How far ahead an exemption or a loosening may run: a year, so each is reviewed at least yearly.
HORIZON = datetime.timedelta(days=366)
# Where a level may not fall below a mandatory default, and where the log retention floor holds.
LEVELS_HOLD_IN: frozenset[str] = frozenset({"prod"})
FLOOR_HOLDS_IN: frozenset[str] = frozenset({"staging", "prod"})
RANK: Mapping[str, int] = {"disabled": 0, "advisory": 1, "mandatory": 2}
EXEMPT_INSTEAD = "exempt the resources instead (maas:policy.exemptions: policy, resources, reason, expires)"
ASK_PLATFORM = "ask the platform team for an exemption in the platform stack's maas:policy"


@dataclass(frozen=True)
class Resolved:
    """``maas:policy`` as applied: the engine's settings, the log retention floor, and the notices
    of what was not applied or has lapsed."""

    settings: Settings = field(default_factory=Settings)
    min_log_retention_days: int = DEFAULT_MIN_LOG_RETENTION_DAYS["dev"]
    notices: tuple[Notice, ...] = ()


def _patterns(exemption: Any) -> str:
    return ", ".join(exemption.resources)


def _level_of(entry: Any) -> Level:
    return entry.level if isinstance(entry, LooseningConfig) else entry


def resolve(
    policy: PolicyConfig, environment: Optional[str], rules: Sequence[Rule], today: datetime.date, *,
    resources: Optional[Sequence[Resource]] = None, inherited: Optional[Resolved] = None,
    source: Optional[str] = None, strict: bool = True,
) -> Resolved:
    """``policy`` applied in ``environment`` on ``today`` (see the module docstring).

    ``inherited``: the platform's resolved policy, for a team stack (its own policy then only
    tightens). ``resources``: the plan's, to find exemptions that cover nothing or everything.
    ``strict``: mistakes are one-line ConfigErrors (a stack's own config); otherwise entries that
    would be one are dropped (a platform policy read from outputs, maybe written by hand).
    """
    by_id = {rule.id: rule for rule in rules}
    team = inherited is not None
    notices: list[Notice] = []

    def refuse(message: str) -> bool:
        if strict:
            raise ConfigError(message, source)
        return False

    def in_horizon(key: str, expires: datetime.date) -> bool:
        if expires > today + HORIZON:
            return refuse(f"{ROOT}.{key}.expires: {expires} is more than a year ahead; "
                          f"expire it by {today + HORIZON} and renew it after review")
        return True

    # -- levels
    levels: dict[str, Level] = dict(inherited.settings.enforcement) if team else {}
    loosened: dict[str, str] = dict(inherited.settings.loosened) if team else {}
    for rule_id, entry in policy.enforcement.items():
        rule = by_id.get(rule_id)
        if rule is None:
            continue  # unknown IDs are the gate's error (check_policy_ids)
        key = f"enforcement.{rule_id}"
        default = levels.get(rule_id, rule.level)
        wanted = _level_of(entry)
        if RANK[wanted] >= RANK[default]:
            levels[rule_id] = wanted
            loosened.pop(rule_id, None)
            continue
        if rule_id.startswith(AREA):
            refuse(f"{ROOT}.{key}: {rule_id} judges maas:policy itself; it cannot be loosened")
            continue
        if not isinstance(entry, LooseningConfig):
            refuse(f"{ROOT}.{key}: '{wanted}' is below the policy's default ({default}); write "
                   f"{{level: {wanted}, reason: <why, 10+ characters>, expires: YYYY-MM-DD}}")
            continue
        if not in_horizon(key, entry.expires):
            continue
        if team:
            notices.append(Notice(TEAM_LOOSENED, f"{ROOT}.{key}: a team stack cannot loosen {rule_id} ({default} "
                                                 f"under its platform's policy) to {wanted}; not applied, {ASK_PLATFORM}"))
        elif entry.expires < today:
            notices.append(Notice(EXPIRED, f"{ROOT}.{key}: {wanted} until {entry.expires} has expired; {rule_id} "
                                           f"is {default} again. Remove the entry, or renew its expires after review"))
        elif environment in LEVELS_HOLD_IN and default == "mandatory":
            notices.append(Notice(LOOSENED_IN_PROD, f"{ROOT}.{key}: {wanted} not applied, {rule_id} stays mandatory "
                                                    f"in {environment}; {EXEMPT_INSTEAD}"))
        else:
            levels[rule_id] = wanted
            loosened[rule_id] = f"{entry.reason} (until {entry.expires})"

    # -- exemptions
    exemptions: list[Exemption] = [e for e in inherited.settings.exemptions if e.live(today)] if team else []
    for i, config in enumerate(policy.exemptions):
        key = f"exemptions[{i}]"
        rule = by_id.get(config.policy)
        if rule is None:
            continue
        what = f"{ROOT}.{key} ({config.policy} on {_patterns(config)})"
        if config.policy.startswith(AREA):
            refuse(f"{ROOT}.{key}.policy: {config.policy} judges maas:policy itself; it cannot be exempted")
            continue
        if not in_horizon(key, config.expires):
            continue
        exemption = Exemption(config.policy, tuple(config.resources), config.reason, config.expires)
        if team:
            notices.append(Notice(TEAM_LOOSENED, f"{what}: a team stack cannot exempt resources; not applied, {ASK_PLATFORM}"))
            continue
        if not exemption.live(today):
            notices.append(Notice(EXPIRED, f"{what}: expired on {config.expires} and exempts nothing; remove it, "
                                           "or renew its expires after review"))
            continue
        if resources is not None:
            judged = [r for r in resources if rule.scope == "stack" or rule.applies_to(r.type)]
            covered = [r for r in resources if exemption.matches(r)]
            if (environment in LEVELS_HOLD_IN and levels.get(rule.id, rule.level) == "mandatory" and len(judged) > 1
                    and all(exemption.matches(r) for r in judged)):
                notices.append(Notice(LOOSENED_IN_PROD, f"{what}: covers every resource {rule.id} applies to "
                                                        f"({len(judged)}), which disables a mandatory policy in "
                                                        f"{environment}; not applied. Name the resources it is for"))
                continue
            if not covered:
                notices.append(Notice(STALE, f"{what}: covers no resource of this stack; remove it"))
        exemptions.append(exemption)

    # -- the log retention floor
    default_days = DEFAULT_MIN_LOG_RETENTION_DAYS.get(environment or "", DEFAULT_MIN_LOG_RETENTION_DAYS["dev"])
    floor = inherited.min_log_retention_days if team else default_days
    if environment in FLOOR_HOLDS_IN:
        floor = max(floor, default_days)
    own = policy.min_log_retention_days
    if own is not None and own >= floor:
        floor = own
    elif own is not None and team:
        notices.append(Notice(TEAM_LOOSENED, f"{ROOT}.min_log_retention_days: {own} is below the platform's {floor} "
                                             f"days; a team stack cannot lower it, log groups are checked against {floor}"))
    elif own is not None and environment in FLOOR_HOLDS_IN:
        notices.append(Notice(FLOOR_LOWERED, f"{ROOT}.min_log_retention_days: {own} is below {environment}'s floor "
                                             f"of {floor} days; not applied, log groups are checked against {floor}. "
                                             f"Exempt a log group instead, with reason and expiry"))
    elif own is not None:
        floor = own

    return Resolved(Settings(enforcement=levels, exemptions=tuple(exemptions), loosened=loosened), floor,
                    tuple(notices))


def context_of(resolved: Resolved, environment: Optional[str], **facts: Any) -> Context:
    """The rules' context under ``resolved``: the floor it holds and its notices."""
    return Context.for_environment(environment, resolved.min_log_retention_days, notices=resolved.notices, **facts)


# -- the rules ------------------------------------------------------------------------------------

def _report(rule_id: str, context: Context) -> Iterable[Finding]:
    return context.notice_findings(rule_id)


_FRAMEWORKS = {"NIST 800-53": ["CM-3", "CM-6"], "SOC 2": ["CC8.1"]}


@stack_rule(
    LOOSENED_IN_PROD,
    title="A mandatory policy is not loosened in prod",
    description="In prod, maas:policy cannot lower a mandatory policy's level, nor exempt every resource it "
                "applies to: the entry is not applied (the policy stays mandatory) and this finding names the key.",
    severity="high",
    remediation="Remove the entry from maas:policy.enforcement, or narrow the exemption, and exempt only the "
                "resources that need it: maas:policy.exemptions with policy, resources, reason and expires.",
    frameworks=_FRAMEWORKS,
)
def loosened_in_prod(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    return _report(LOOSENED_IN_PROD, context)


@stack_rule(
    FLOOR_LOWERED,
    title="The minimum log retention is not lowered in staging or prod",
    description="maas:policy.min_log_retention_days below the environment's default (staging 30, prod 90 days) "
                "is not applied: log groups are checked against the default, and this finding names the key.",
    severity="medium",
    remediation="Remove maas:policy.min_log_retention_days or set it at or above the environment's default; "
                "exempt a log group that must keep less, with reason and expiry, in maas:policy.exemptions.",
    frameworks={"NIST 800-53": ["AU-11", "CM-6"], "SOC 2": ["CC7.2", "CC8.1"]},
)
def floor_lowered(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    return _report(FLOOR_LOWERED, context)


@stack_rule(
    EXPIRED,
    title="No exemption or loosening has expired",
    description="An exemption or a loosened level past its expires date no longer applies: the policy judges "
                "those resources again at its level, and this finding names the entry, its policy, its resources "
                "and the date.",
    severity="high",
    remediation="Fix what the policy reports and remove the entry, or, after review, renew it with a new "
                "expires date at most a year ahead.",
    frameworks=_FRAMEWORKS,
)
def expired(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    return _report(EXPIRED, context)


@stack_rule(
    STALE,
    title="Every exemption covers a resource of the stack",
    description="An exemption whose resource patterns match no resource of the plan exempts nothing today, "
                "and would silently exempt whatever later takes that name.",
    severity="low",
    level="advisory",
    remediation="Remove the exemption from maas:policy.exemptions, or correct its resource patterns to the "
                "logical names or URNs it is meant for.",
    frameworks=_FRAMEWORKS,
)
def stale(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    return _report(STALE, context)


@stack_rule(
    TEAM_LOOSENED,
    title="A team stack does not loosen its platform's policy",
    description="A team stack's enforcement is its platform stack's (read from the platform's policy output, in "
                "the platform's environment). Its own maas:policy may tighten it; a loosened level, an exemption or "
                "a lower minimum log retention is not applied, in every environment, and is this finding.",
    severity="high",
    remediation="Remove the entry from the team stack's maas:policy; ask the platform team to add the exemption, "
                "with reason and expiry, to the platform stack's maas:policy.",
    frameworks=_FRAMEWORKS,
)
def team_loosened(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    return _report(TEAM_LOOSENED, context)


# -- the environment a stack claims ----------------------------------------------------------------

ENVIRONMENT_UNDERSTATED = "MAAS-POL-006"
# Words of a stack's name that say which environment it is (``prod``, ``acme-prod-eu``, ``stg``).
_NAMED_ENVIRONMENTS: Mapping[str, str] = {"prod": "prod", "production": "prod", "prd": "prod", "live": "prod",
                                          "staging": "staging", "stage": "staging", "stg": "staging"}
_STRICTNESS: Mapping[str, int] = {"dev": 0, "staging": 1, "prod": 2}


def understated_environment(stack: Optional[str], environment: Optional[str]) -> list[Notice]:
    """A notice when the stack's name says a stricter environment than the one it is judged in
    (a stack ``prod`` whose ``maas:environment`` is ``dev``): the prod-only rules would not run."""
    if not stack:
        return []
    words = [word for word in re.split(r"[^a-z0-9]+", stack.lower()) if word]
    named = max((_NAMED_ENVIRONMENTS[w] for w in words if w in _NAMED_ENVIRONMENTS),
                key=lambda e: _STRICTNESS[e], default=None)
    if named is None or _STRICTNESS.get(environment or "dev", 0) >= _STRICTNESS[named]:
        return []
    return [Notice(ENVIRONMENT_UNDERSTATED,
                   f"stack '{stack}' is named as {named} but is judged as {environment or 'no environment'} "
                   f"(maas:environment, or its platform's): {named}'s rules do not run; set maas:environment: "
                   f"{named}, or rename the stack")]


@stack_rule(
    ENVIRONMENT_UNDERSTATED,
    title="A stack is judged in the environment its name says",
    description="Rules that hold only in prod (or staging) run by the environment a stack is judged in: its "
                "maas:environment, or a team stack's platform's. A stack whose name says prod (prod, prd, "
                "production, live) or staging (staging, stage, stg) but that is judged as a less strict "
                "environment would deploy there without those rules.",
    severity="high",
    remediation="Set maas:environment to the environment the stack's name says (a team stack: read the platform "
                "stack of that environment), or rename the stack.",
    frameworks=_FRAMEWORKS,
)
def environment_understated(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    return _report(ENVIRONMENT_UNDERSTATED, context)
