"""``maas:policy``: how strictly each rule is enforced in a stack, and its exemptions."""

from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import Field, field_validator

from ..config.base import StrictModel
from .core import Context, Exemption, Settings

_RULE_ID = re.compile(r"^MAAS-[A-Z0-9]+-\d{3}$")


def _known(rule_id: str) -> str:
    from .core import rules

    if not _RULE_ID.match(rule_id):
        raise ValueError(f"'{rule_id}' is not a policy ID (MAAS-<AREA>-<NNN>, listed in docs/policies.md)")
    if rule_id not in {rule.id for rule in rules()}:
        raise ValueError(f"'{rule_id}' is not a known policy (docs/policies.md lists them)")
    return rule_id


class ExemptionConfig(StrictModel):
    """One exemption: a policy that does not apply to some resources, and why."""

    policy: str = Field(description="Policy ID, e.g. MAAS-SEC-001 (docs/policies.md).")
    resources: list[str] = Field(
        min_length=1,
        description="Resources it covers: globs over the logical name or the URN, e.g. maas-dev-reports-*.",
    )
    reason: str = Field(min_length=10, max_length=500, description="Why the policy does not apply; shown with the finding.")

    _policy = field_validator("policy")(lambda cls, value: _known(value))


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
            _known(rule_id)
        return value

    def settings(self) -> Settings:
        return Settings(
            enforcement=dict(self.enforcement),
            exemptions=tuple(Exemption(e.policy, tuple(e.resources), e.reason) for e in self.exemptions),
        )

    def context(self, environment: Optional[str]) -> Context:
        return Context.for_environment(environment, self.min_log_retention_days)
