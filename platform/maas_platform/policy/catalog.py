"""The platform's rules: every rule module, listed.

A rule module registers its rules with :func:`~.core.resource_rule` and
:func:`~.core.stack_rule` when it is imported; this module imports each of them by name (as
a cdk-nag pack lists its rules), so which rules exist is read here and nowhere else. The
engine (:mod:`.core`) knows nothing of them, and the gate, the CrossGuard pack and the
control table (:mod:`.gate`, :mod:`.crossguard`, :mod:`.reference`) ask this module.
"""

from __future__ import annotations

from types import ModuleType
from typing import Callable, Iterable, Optional, Sequence

from . import components, governance, secrets, stack
from .aws import edge, encryption, exposure, iam, identity, logs, recovery, tags
from .kubernetes import capacity, golden, ingress, objects, patches, pods, rbac, registry, tenancy
from .core import Context, Evaluation, Resource, Rule, Settings, evaluate_rules, registered

# Every rule module; a rule registered anywhere else is not one of the platform's.
MODULES: tuple[ModuleType, ...] = (encryption, exposure, edge, iam, identity, logs, recovery, tags, pods, objects,
                                   tenancy, golden, registry, ingress, capacity,
                                   rbac, patches, stack,
                                   governance, secrets, components)
_MODULE_NAMES = frozenset(module.__name__ for module in MODULES)


# What the engine registered -> what the rules judge, step by step: each step takes the stack's
# resources and returns them with some replaced or added (an object a patch changes, judged as
# merged onto its target; the manifests a component holds inline).
PREPARE: tuple[Callable[[Sequence[Resource]], list[Resource]], ...] = (
    components.expand_inline_manifests, patches.merge_patches, rbac.resolve_bindings)


def prepared(resources: Sequence[Resource]) -> list[Resource]:
    """``resources`` as the rules judge them (every step of :data:`PREPARE`, in order)."""
    judged = list(resources)
    for step in PREPARE:
        judged = step(judged)
    return judged


def rules() -> list[Rule]:
    """Every rule of the platform, by ID."""
    return [rule for rule in registered() if rule.check.__module__ in _MODULE_NAMES]


def get_rule(rule_id: str) -> Rule:
    """The rule ``rule_id`` (KeyError when there is none)."""
    found = {rule.id: rule for rule in rules()}
    return found[rule_id]


def rule_ids() -> frozenset[str]:
    return frozenset(rule.id for rule in rules())


def evaluate(
    resources: Sequence[Resource], context: Context, settings: Settings = Settings(),
    only: Optional[Iterable[str]] = None,
) -> Evaluation:
    """Every rule (or those of ``only``) over ``resources``: violations, exempted findings and
    the checks that needed a value not known yet (see :func:`~.core.evaluate_rules`)."""
    wanted = None if only is None else set(only)
    return evaluate_rules([r for r in rules() if wanted is None or r.id in wanted], prepared(resources), context,
                          settings)
