"""``maas:policy``: how strictly each rule is enforced in a stack, and its exemptions.

Pure configuration: the shape of the key (IDs written as policy IDs, known levels, non-empty
resources and reasons). Which policies exist, and what the settings mean to the rules, is the
policy package's business (:mod:`maas_platform.policy.gate` checks the IDs against the
catalog and turns this model into the engine's settings).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import Field, field_validator

from .base import StrictModel

RULE_ID = re.compile(r"^MAAS-[A-Z0-9]+-\d{3}$")


def _policy_id(rule_id: str) -> str:
    if not RULE_ID.match(rule_id):
        raise ValueError(f"'{rule_id}' is not a policy ID (MAAS-<AREA>-<NNN>, listed in docs/policies.md)")
    return rule_id


class ExemptionConfig(StrictModel):
    """One exemption: a policy that does not apply to some resources, and why."""

    policy: str = Field(description="Policy ID, e.g. MAAS-SEC-001 (docs/policies.md).")
    resources: list[str] = Field(
        min_length=1,
        description="Resources it covers: globs over the logical name or the URN, e.g. maas-dev-reports-*.",
    )
    reason: str = Field(min_length=10, max_length=500, description="Why the policy does not apply; shown with the finding.")

    _policy = field_validator("policy")(lambda cls, value: _policy_id(value))


class PolicyConfig(StrictModel):
    """Policy enforcement for the stack (the same rules as the CrossGuard pack in ``policies/``)."""

    enforcement: dict[str, Literal["mandatory", "advisory", "disabled"]] = Field(
        default_factory=dict,
        description="Enforcement level by policy ID, over the policy's default: mandatory, advisory or disabled.",
    )
    exemptions: list[ExemptionConfig] = Field(
        default_factory=list, description="Resources a policy does not apply to, each with its reason.",
    )
    min_log_retention_days: Optional[int] = Field(
        None, ge=1, le=3653,
        description="Least retention of every log group (days). Default: dev 7, staging 30, prod 90.",
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
