"""MAAS-STK-009 and 010: no component whose objects the gate cannot see, no code or template run unseen at deploy time.

A multi-language component (``RegisterResourceRequest.remote``) is built by its provider
plugin: under ``pulumi up`` the plugin registers its children, under the offline plan and in
a CrossGuard preview of new resources nothing does, so whatever it deploys passes every rule
unseen. The Kubernetes provider's ``yaml/v2`` ConfigGroup and ConfigFile, ``helm.sh/v4`` Chart
and ``kustomize/v2`` Directory are such components (pulumi-kubernetes 4.x registers them with
``remote=True``, checked 2026-12-02 with a program under the mock monitor), as are every
``eks:*`` (pulumi-eks) and ``awsx:*`` component.

One of them is seen after all: a ``yaml/v2:ConfigGroup`` whose manifests are inline (its
``yaml`` text or its ``objs``, every value known, no ``files``). :func:`expand_inline_manifests`
(a step of :data:`~.catalog.PREPARE`) adds its objects as resources of their own type under
it, so every Kubernetes rule judges them, and the rule lets it pass. Files are not read: a
rule sees only what the engine recorded.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional, Sequence

import yaml

from .core import UNKNOWN, Context, Outcome, Resource, resource_rule

CONFIG_GROUP_V2 = "kubernetes:yaml/v2:ConfigGroup"
CONFIG_FILE_V2 = "kubernetes:yaml/v2:ConfigFile"
CHART_V4 = "kubernetes:helm.sh/v4:Chart"
KUSTOMIZE_V2 = "kubernetes:kustomize/v2:Directory"
KUSTOMIZE_V1 = "kubernetes:kustomize:Directory"

_TYPED = "typed resources (kubernetes.core.v1.*, kubernetes.apps.v1.*, ...)"
_YAML_V1 = "kubernetes.yaml.ConfigFile or ConfigGroup (v1), whose objects the plan registers and judges"
# What to use instead, by type token (a glob for whole packages).
ALTERNATIVES: dict[str, str] = {
    CONFIG_GROUP_V2: f"inline the manifests (yaml= text or objs=, no files=), or use {_YAML_V1}, or {_TYPED}",
    CONFIG_FILE_V2: f"use {_YAML_V1}, an inline yaml/v2 ConfigGroup, or {_TYPED}",
    CHART_V4: "deploy the chart with kubernetes.helm.v3.Release, whose chart, version and values every rule reads",
    KUSTOMIZE_V2: f"render the overlay (kustomize build) into {_YAML_V1}, or use {_TYPED}",
    KUSTOMIZE_V1: f"render the overlay (kustomize build) into {_YAML_V1}, or use {_TYPED}",
    "eks:*": "build the cluster with pulumi_aws.eks (Cluster, NodeGroup, Addon, AccessEntry), as the platform does",
    "awsx:*": "use the pulumi_aws resources it wraps (aws.ec2.Vpc, Subnet, NatGateway; aws.ecs.*; aws.lb.*)",
}
OPAQUE_TYPES: tuple[str, ...] = tuple(ALTERNATIVES)


def _alternative(type_token: str) -> str:
    package = type_token.split(":", 1)[0]
    return ALTERNATIVES.get(type_token) or ALTERNATIVES.get(f"{package}:*") or (
        f"use the typed resources of the providers it wraps ({_TYPED} or pulumi_aws resources)")


def _known(value: Any) -> bool:
    if value == UNKNOWN:
        return False
    if isinstance(value, Mapping):
        return all(_known(v) for v in value.values())
    if isinstance(value, list):
        return all(_known(v) for v in value)
    return True


def inline_objects(resource: Resource) -> Optional[list[Mapping[str, Any]]]:
    """The Kubernetes objects of a ``yaml/v2:ConfigGroup`` whose manifests are all inline and
    known, else None (files, values known only after apply, YAML that does not parse)."""
    if resource.type != CONFIG_GROUP_V2 or resource.props.get("files"):
        return None
    texts = resource.props.get("yaml")
    texts = [texts] if isinstance(texts, str) else (texts or [])
    objs = resource.props.get("objs") or []
    if not _known(texts) or not _known(objs) or not isinstance(objs, list):
        return None
    found: list[Any] = list(objs)
    for text in texts:
        try:
            found.extend(document for document in yaml.safe_load_all(str(text)) if document is not None)
        except yaml.YAMLError:
            return None
    objects: list[Mapping[str, Any]] = []
    for item in found:
        if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
            return None
        if item["kind"].endswith("List") and isinstance(item.get("items"), list):
            objects.extend(i for i in item["items"] if isinstance(i, Mapping))
        else:
            objects.append(item)
    return objects


def _type_of(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "v1")
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{obj['kind']}"


def expand_inline_manifests(resources: Sequence[Resource]) -> list[Resource]:
    """``resources`` with the objects of every inline ``yaml/v2:ConfigGroup`` added as resources
    of their own type, children of the group (a PREPARE step)."""
    judged = list(resources)
    for group in resources:
        objects = inline_objects(group)
        if not objects:
            continue
        head, qualified = "::".join(group.urn.split("::")[:2]), group.urn.split("::")[2] if group.urn else group.type
        for obj in objects:
            metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
            scope = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
            name = f"{group.name}:{scope}{metadata.get('name') or '?'}"
            type_ = _type_of(obj)
            judged.append(Resource(type=type_, name=name, props=dict(obj), urn=f"{head}::{qualified}${type_}::{name}",
                                   parent=group.urn or None))
    return judged


@resource_rule(
    "MAAS-STK-009",
    title="No component whose objects the gate cannot see",
    description="A multi-language component (yaml/v2 ConfigGroup and ConfigFile, helm.sh/v4 Chart, kustomize "
                "Directory, pulumi-eks, awsx, any remote component) is expanded by its provider plugin at deploy "
                "time; offline and in a preview nothing registers its children, so every object it deploys would "
                "pass every rule unseen. Such a component is refused, except a yaml/v2 ConfigGroup whose manifests "
                "are inline and known: its objects are judged as resources of their own.",
    severity="high",
    remediation="Use what the plan sees: kubernetes.helm.v3.Release for charts; kubernetes.yaml.ConfigFile / "
                "ConfigGroup (v1) or an inline yaml/v2 ConfigGroup for manifests; typed Kubernetes resources; "
                "pulumi_aws resources instead of pulumi-eks and awsx components.",
    types=("*",),
    frameworks={"SOC 2": ["CC8.1"], "NIST 800-53": ["CM-3", "CM-7"]},
)
def opaque_component(resource: Resource, context: Context) -> Iterator[Outcome]:
    opaque = resource.remote or any(
        resource.type == token or (token.endswith(":*") and resource.type.startswith(token[:-1]))
        for token in OPAQUE_TYPES)
    if not opaque or inline_objects(resource) is not None:
        return
    kind = "multi-language component" if resource.remote else "component"
    yield (f"{resource.type} is a {kind} whose objects only its provider creates, at deploy time: no rule sees "
           f"them; {_alternative(resource.type)}")


# Resources that run code or deploy a template at deploy time, by type token (a trailing ``*``
# is a prefix), and what to use instead. pulumi-command's tokens (``command:local:Command``,
# ``command:remote:Command``, ``command:remote:CopyToRemote``) and the dynamic providers'
# (``pulumi-python:<module>:<Resource>``: pulumi/dynamic/dynamic.py registers
# ``f"pulumi-python:{self._resource_type_name}"``, default ``dynamic:Resource``) read from the
# SDKs on 2026-12-02; the AWS tokens from pulumi_aws 7.51.1's modules.
_TEMPLATES = "declare the resources in the program (pulumi_aws, pulumi_kubernetes), where every rule judges them"
DEPLOY_TIME_CODE: dict[str, str] = {
    "command:*": "do the work in the program or in CI before `pulumi up`, and declare what it creates as resources",
    "pulumi-python:*": "use the provider's typed resources; a dynamic provider's create and update are code no rule reads",
    "pulumi-nodejs:*": "use the provider's typed resources; a dynamic provider's create and update are code no rule reads",
    "aws:cloudformation/stack:Stack": _TEMPLATES,
    "aws:cloudformation/stackSet:StackSet": _TEMPLATES,
    "aws:cloudformation/stackSetInstance:StackSetInstance": _TEMPLATES,
    "aws:cloudformation/stackInstances:StackInstances": _TEMPLATES,
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": _TEMPLATES,
    "aws:lambda/invocation:Invocation": "declare what the function would create as resources of the program",
}


def _deploy_time(type_token: str) -> Optional[str]:
    for token, alternative in DEPLOY_TIME_CODE.items():
        if type_token == token or (token.endswith("*") and type_token.startswith(token[:-1])):
            return alternative
    return None


@resource_rule(
    "MAAS-STK-010",
    title="No code or template that runs unseen at deploy time",
    description="A resource whose effect is code run at deploy time (pulumi-command's commands, dynamic providers, "
                "a Lambda invocation, resource hooks bound with ResourceOptions.hooks) or a template deployed as one "
                "resource (CloudFormation stacks, stack sets, Serverless Application Repository stacks) can create "
                "anything, with the deploying identity's rights; no rule sees what, offline or in a preview.",
    severity="high",
    remediation="Declare what the code or template creates as resources of the program (pulumi_aws, "
                "pulumi_kubernetes, helm.v3.Release), and run other work in CI before `pulumi up`; drop resource hooks.",
    types=("*",),
    frameworks={"SOC 2": ["CC8.1"], "NIST 800-53": ["CM-3", "CM-7"]},
)
def deploy_time_code(resource: Resource, context: Context) -> Iterator[Outcome]:
    alternative = _deploy_time(resource.type)
    if alternative is not None:
        yield f"{resource.type} runs code or deploys a template at deploy time that no rule sees; {alternative}"
    if resource.hooks:
        yield (f"binds resource hooks ({', '.join(resource.hooks)}): code the program runs at deploy time, which no "
               "rule sees; do that work in CI before `pulumi up`, or as resources of the program")
