"""Compliance as code: the platform's policy rules (see :mod:`.core`), the plan gate and ``maas:policy``."""

from .core import (
    Context, Exemption, Finding, Resource, Rule, Settings, check_resource, check_stack, evaluate, get_rule,
    resource_rule, rules, stack_rule,
)

__all__ = [
    "Context", "Exemption", "Finding", "Resource", "Rule", "Settings", "check_resource", "check_stack", "evaluate",
    "get_rule", "resource_rule", "rules", "stack_rule",
]
