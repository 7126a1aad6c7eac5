"""The base of every config model, and the value types models of several modules share."""

from __future__ import annotations

from typing import Annotated, Optional, Sequence

from pydantic import AfterValidator, BaseModel, ConfigDict

from .defaults import LOG_RETENTION_DAYS


def first_repeated(values: Sequence[str]) -> Optional[str]:
    """The first value, in sort order, listed more than once, or None: what a list's "listed twice"
    error names."""
    repeated = sorted({v for v in values if values.count(v) > 1})
    return repeated[0] if repeated else None


class StrictModel(BaseModel):
    """Base for every config model: frozen, strict types, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ValueError(f"{value} is not a CloudWatch Logs retention period; use one of {allowed}")
    return value


# A retention CloudWatch Logs accepts (days).
RetentionDays = Annotated[int, AfterValidator(_retention)]
