"""The plan gate: every rule over an offline plan, with the stack's ``maas:policy``."""

from __future__ import annotations

from typing import Any, Optional

from ..config.loader import NAMESPACE, validate
from .config import PolicyConfig
from .core import Resource, evaluate


def plan_resources(plan: Any) -> list[Resource]:
    """The plan's custom resources as rules see them."""
    return [
        Resource(type=r["type"], name=r["name"], props=r["inputs"], urn=r["urn"], parent=r.get("parent"),
                 protect=bool(r.get("protect")))
        for r in plan.cloud_resources()
    ]


def policy_config(config: dict[str, Any], source: Optional[str] = None) -> PolicyConfig:
    """``maas:policy`` of a stack config (one-line ConfigError when it is wrong)."""
    return validate(PolicyConfig, config.get(f"{NAMESPACE}:policy") or {}, root=f"{NAMESPACE}:policy", source=source)


def gate(plan: Any, config: dict[str, Any], environment: Optional[str], source: Optional[str] = None
         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(violations, exempted)`` of ``plan`` under the stack config's ``maas:policy``."""
    settings = policy_config(config, source)
    return evaluate(plan_resources(plan), settings.context(environment), settings.settings())
