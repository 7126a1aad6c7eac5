"""MAAS-TAG-0xx: cost attribution and ownership of AWS resources (the Kubernetes labels that
mirror these tags are MAAS-TAG-1xx, in :mod:`..kubernetes` and :mod:`..stack`)."""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Iterable, Mapping, Optional

from ..core import Context, NotEvaluable, Outcome, Resource, resource_rule
from .helpers import is_set, is_unknown


@functools.lru_cache(maxsize=None)
def sdk_class(type_token: str) -> Optional[type]:
    """The pulumi_aws class of a type token (``aws:eks/cluster:Cluster`` -> ``pulumi_aws.eks.Cluster``).

    The service package is imported as a whole, then asked for the class: importing the
    class's own module first leaves the lazily loaded package without its members, which
    breaks any Pulumi program that runs later in the same process."""
    try:
        package, module, name = type_token.split(":")
    except ValueError:
        return None
    if package != "aws":
        return None
    service = module.split("/")[0]
    try:
        found = getattr(importlib.import_module("pulumi_aws" if service == "index" else f"pulumi_aws.{service}"), name, None)
    except ImportError:
        return None
    return found if inspect.isclass(found) else None


@functools.lru_cache(maxsize=None)
def is_taggable(type_token: str) -> bool:
    """Whether the provider SDK gives the type a ``tags`` map (the test the tag transformation uses)."""
    from ...tagging import accepts_tag_map  # imports the Pulumi SDK: only when a rule asks

    cls = sdk_class(type_token)
    return cls is not None and accepts_tag_map(cls)


@resource_rule(
    "MAAS-TAG-001",
    title="Taggable AWS resources carry the required tags",
    description="Every AWS resource whose type takes a tags map (read from the provider SDK, as the tag "
                "transformation does) carries the stack's required tags (environment, team, cost-center, "
                "managed-by) with non-empty values; budgets and cost reports group by them.",
    severity="low",
    remediation="Set the missing keys through the component's tag transformation (maas:tags for platform-wide "
                "keys; an agent's team and cost_center for its resources).",
    types=["aws:*"],
    frameworks={"NIST 800-53": ["CM-8"], "SOC 2": ["CC6.1"]},
)
def required_tags(resource: Resource, context: Context) -> Iterable[Outcome]:
    if not is_taggable(resource.type):
        return
    tags = resource.props.get("tags")
    if is_unknown(tags):
        yield NotEvaluable("tags")
        return
    tags = tags if isinstance(tags, Mapping) else {}
    missing = [key for key in context.required_tags if not is_set(tags.get(key))]
    if missing:
        yield f"missing tags: {', '.join(missing)}"
