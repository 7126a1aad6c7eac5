"""One tagging mechanism for every taggable AWS resource.

A component passes :func:`tag_transformation` in its ``transformations`` option; Pulumi
runs it (client-side, before registration) for the component's children and their
descendants, so every AWS resource that accepts a ``tags`` map gets the required tags
without any per-resource code. Components further down (an agent, later) add their own
transformation with more keys; the innermost wins for keys it sets, while the
platform's keys are always laid last and cannot be overridden.

Pulumi runs a resource's transformations nearest first: its component's, then each
ancestor's. The platform's owner (:func:`owner_tags`, ``team`` and ``cost-center``) is
therefore laid after an agent's, with ``override=False``: it only fills what no component
closer to the resource set, so an agent's resources keep their team and cost center and
the shared ones get the platform's.

Whether a resource is taggable is read from the provider SDK itself (its constructor
takes a ``tags`` mapping), so a new resource type needs no list update.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Mapping, Optional

import pulumi

from .names import (
    COST_CENTER_LABEL,
    COST_CENTER_TAG,
    ENVIRONMENT_LABEL,
    ENVIRONMENT_TAG,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    MANAGED_BY_TAG,
    PLATFORM_TAG,
    TEAM_LABEL,
    TEAM_TAG,
)


@functools.lru_cache(maxsize=None)
def accepts_tag_map(resource_class: type) -> bool:
    """True when the resource's constructor takes ``tags`` as a string map (not ASG-style tag lists)."""
    init = getattr(resource_class, "_internal_init", None)
    if init is None:
        return False
    parameter = inspect.signature(init).parameters.get("tags")
    return parameter is not None and str(parameter.annotation).startswith("typing.Union[typing.Mapping[str")


def _merge(existing: Optional[Mapping[str, Any]], tags: Mapping[str, str], override: bool) -> dict[str, Any]:
    existing = dict(existing or {})
    return {**existing, **tags} if override else {**tags, **existing}


def tag_transformation(tags: Mapping[str, str], override: bool = True) -> pulumi.ResourceTransformation:
    """A transformation that merges ``tags`` into every taggable AWS resource.

    ``override=True`` makes ``tags`` win over what a resource sets itself (platform keys);
    ``override=False`` only fills keys the resource left empty (defaults like ``Name``).
    """
    frozen = dict(sorted(tags.items()))

    def transform(args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
        if not args.type_.startswith("aws:") or not accepts_tag_map(type(args.resource)):
            return None
        props = dict(args.props)
        current = props.get("tags")
        if isinstance(current, (pulumi.Output,)) or inspect.isawaitable(current):
            props["tags"] = pulumi.Output.from_input(current).apply(lambda t: _merge(t, frozen, override))
        else:
            props["tags"] = _merge(current, frozen, override)
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform


def platform_tags(environment: str, platform: str, extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The tags every resource of an environment carries; platform keys win over ``extra``."""
    return {**dict(extra or {}), ENVIRONMENT_TAG: environment, MANAGED_BY_TAG: MANAGED_BY, PLATFORM_TAG: platform}


def owner_tags(team: str, cost_center: str) -> dict[str, str]:
    """Who pays for a resource: the ``team`` and ``cost-center`` tags budgets and cost reports group by."""
    return {TEAM_TAG: team, COST_CENTER_TAG: cost_center}


def platform_labels(environment: str, team: Optional[str] = None, cost_center: Optional[str] = None) -> dict[str, str]:
    """The labels of the platform's own Kubernetes objects: the ``managed-by`` and
    ``environment`` tags of its AWS resources (and its owner's, when given) as labels, so an
    object found in the cluster traces back to the stack and the team that own it."""
    labels = {MANAGED_BY_LABEL: MANAGED_BY, ENVIRONMENT_LABEL: environment}
    if team:
        labels[TEAM_LABEL] = team
    if cost_center:
        labels[COST_CENTER_LABEL] = cost_center
    return labels
