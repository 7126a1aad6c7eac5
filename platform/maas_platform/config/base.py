"""The base of every config model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every config model: frozen, strict types, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")
