"""Compliance as code: the engine (:mod:`.core`), the platform's rules (:mod:`.catalog`), the
plan gate (:mod:`.gate`) and ``maas:policy`` (:mod:`.config`)."""

from .catalog import evaluate, get_rule, rules
from .core import (
    Context, Evaluation, Exemption, Finding, NotEvaluable, Resource, Rule, Settings, assess, check_resource,
    check_stack, resource_rule, stack_rule,
)

__all__ = [
    "Context", "Evaluation", "Exemption", "Finding", "NotEvaluable", "Resource", "Rule", "Settings", "assess",
    "check_resource", "check_stack", "evaluate", "get_rule", "resource_rule", "rules", "stack_rule",
]
