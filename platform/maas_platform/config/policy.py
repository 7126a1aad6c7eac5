"""``maas:policy``: how strictly each rule is enforced in a stack, and its exemptions.

Pure configuration: the shape of the key (IDs written as policy IDs, known levels, non-empty
resources and reasons, a date on every exemption and loosening, resource patterns that name
something). Which policies exist, what their default levels are and what a stack may loosen in
its environment is the policy package's business (:mod:`maas_platform.policy.governance` applies
this model, :mod:`maas_platform.policy.gate` checks the IDs against the catalog).
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Literal, Optional, Union

from pydantic import Field, field_validator

from .base import StrictModel

RULE_ID = re.compile(r"^MAAS-[A-Z0-9]+-\d{3}$")
LevelName = Literal["mandatory", "advisory", "disabled"]
# What is left of a pattern once wildcards and separators are taken out: something that names a resource.
_WILDCARDS = re.compile(r"\[[^\]]*\]|[*?]")
_LITERAL = re.compile(r"[A-Za-z0-9]")


def _policy_id(rule_id: str) -> str:
    if not RULE_ID.match(rule_id):
        raise ValueError(f"'{rule_id}' is not a policy ID (MAAS-<AREA>-<NNN>, listed in docs/policies.md)")
    return rule_id


def _date(value: Any) -> Any:
    """A date as YAML writes it (``2027-03-01``, read as a date) or as the Pulumi CLI hands it to a
    program (the string ``"2027-03-01"``)."""
    if isinstance(value, datetime.datetime):
        raise ValueError("write a date without a time, e.g. 2027-03-01")
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a date; write it as YYYY-MM-DD, e.g. 2027-03-01") from None
    return value


def names_something(pattern: str) -> bool:
    """Whether a resource pattern names something: a literal part beyond wildcards, and for a URN
    pattern (``urn:pulumi:<stack>::<project>::<type>::<name>``) a literal type or name, not only a
    stack and project (which would cover every resource of the stack)."""
    if pattern.startswith("urn:"):
        parts = pattern.split("::")
        if len(parts) < 4:
            return False
        return any(_LITERAL.search(_WILDCARDS.sub("", part)) for part in parts[2:])
    return bool(_LITERAL.search(_WILDCARDS.sub("", pattern)))


class LooseningConfig(StrictModel):
    """A level below the policy's default: written with why, and until when."""

    level: LevelName = Field(description="advisory or disabled (below the policy's default level).")
    reason: str = Field(min_length=10, max_length=500, description="Why the policy is loosened; shown with the finding.")
    expires: datetime.date = Field(description="Last day the loosening holds (YYYY-MM-DD, at most a year ahead).")

    _expires = field_validator("expires", mode="before")(lambda cls, value: _date(value))


class ExemptionConfig(StrictModel):
    """One exemption: a policy that does not apply to some resources, why, and until when."""

    policy: str = Field(description="Policy ID, e.g. MAAS-SEC-001 (docs/policies.md).")
    resources: list[str] = Field(
        min_length=1,
        description="Resources it covers: globs over the logical name or the URN, e.g. maas-dev-reports-*. "
                    "Each must name something: '*' or a URN pattern of wildcards only is refused.",
    )
    reason: str = Field(min_length=10, max_length=500, description="Why the policy does not apply; shown with the finding.")
    expires: datetime.date = Field(
        description="Last day the exemption holds (YYYY-MM-DD, at most a year ahead); expired, it exempts "
                    "nothing and is itself a finding (MAAS-POL-003).",
    )

    _policy = field_validator("policy")(lambda cls, value: _policy_id(value))
    _expires = field_validator("expires", mode="before")(lambda cls, value: _date(value))

    @field_validator("resources")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not names_something(pattern):
                raise ValueError(
                    f"'{pattern}' names no resource in particular; write the logical names or URNs it covers, "
                    "e.g. maas-prod-reports-*"
                )
        return value


class PolicyConfig(StrictModel):
    """Policy enforcement for the stack (the same rules as the CrossGuard pack in ``policies/``)."""

    enforcement: dict[str, Union[LevelName, LooseningConfig]] = Field(
        default_factory=dict,
        description="Enforcement level by policy ID. A level at or above the policy's default is written as the "
                    "level (advisory -> mandatory); one below it as {level, reason, expires}. Prod and team stacks "
                    "cannot loosen a mandatory policy: exempt the resources instead.",
    )
    exemptions: list[ExemptionConfig] = Field(
        default_factory=list,
        description="Resources a policy does not apply to, each with its reason and expiry date.",
    )
    min_log_retention_days: Optional[int] = Field(
        None, ge=1, le=3653,
        description="Least retention of every log group (days). Default: dev 7, staging 30, prod 90; "
                    "staging and prod cannot go below their default.",
    )

    @field_validator("enforcement")
    @classmethod
    def _enforcement_ids(cls, value: dict[str, Any]) -> dict[str, Any]:
        for rule_id in value:
            _policy_id(rule_id)
        return value

    def policy_ids(self) -> list[tuple[str, str]]:
        """Every policy ID the configuration names, with where: ``(key, ID)`` (``enforcement.<ID>``,
        ``exemptions[i].policy``)."""
        named = [(f"enforcement.{rule_id}", rule_id) for rule_id in self.enforcement]
        return named + [(f"exemptions[{i}].policy", e.policy) for i, e in enumerate(self.exemptions)]
