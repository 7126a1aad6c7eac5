"""What a pricing rule may know about the plan besides its resource's inputs."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator, Optional

from .. import names

if TYPE_CHECKING:  # the pipeline hands the estimate a plan; pricing never makes one
    from ..plan.model import AgentComponent, Plan, PlannedResource
    from .capacity import Packing

LB_CONTROLLER_CHART = "aws-load-balancer-controller"
ALB_ANNOTATION = "alb.ingress.kubernetes.io/"
DEFAULT_AZ_COUNT = 2

_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)([KMGTP]i?)?$")
_BYTES = {None: 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


def gib(quantity: Any) -> float:
    """A Kubernetes storage quantity (``20Gi``, ``50G``, bytes) in GiB, as EBS bills it."""
    if isinstance(quantity, (int, float)) and not isinstance(quantity, bool):
        return float(quantity) / 2**30
    match = _QUANTITY.match(str(quantity).strip())
    if not match:
        raise ValueError(f"'{quantity}' is not a storage quantity like 20Gi")
    return float(match.group(1)) * _BYTES[match.group(2)] / 2**30


class PlanIndex:
    """The plan an estimate prices, with the facts its rules share, computed once per estimate."""

    def __init__(self, plan: Plan, region: str, environment: Optional[str]):
        self.plan = plan
        self.resources = plan.resources
        self.outputs = plan.outputs or {}
        self.region = region
        self.environment = environment
        self.by_urn = plan.by_urn
        self.agents = plan.agents
        # The plan's pods packed onto its nodes (cost/capacity.py); set by the estimate before pricing.
        self.capacity: Optional[Packing] = None

    # -- structure -----------------------------------------------------------------------

    def of_type(self, *types: str) -> list[PlannedResource]:
        return self.plan.of_type(*types)

    def descendants(self, urn: str) -> Iterator[PlannedResource]:
        return self.plan.descendants(urn)

    def agent_of(self, resource: PlannedResource) -> Optional[AgentComponent]:
        """The agent whose component ``resource`` sits below, if any."""
        return self.plan.agent_of(resource)

    # -- facts rules share ---------------------------------------------------------------

    @cached_property
    def az_count(self) -> int:
        zones = self.outputs.get("availability_zones")
        return len(zones) if isinstance(zones, list) and zones else DEFAULT_AZ_COUNT

    @cached_property
    def nat_gateway_count(self) -> int:
        return len(self.of_type(names.EC2_NAT_GATEWAY))

    @cached_property
    def flow_log_groups(self) -> set[str]:
        """Names of the log groups VPC flow logs deliver to (their ingestion is the flow log's)."""
        groups = set()
        for flow in self.of_type(names.EC2_FLOW_LOG):
            destination = str(flow.inputs.get("logDestination") or "")
            if ":log-group:" in destination:
                groups.add(destination.split(":log-group:", 1)[1].removesuffix(":*"))
            name = flow.inputs.get("logGroupName")
            if name:
                groups.add(str(name))
        return groups

    @cached_property
    def lb_controllers(self) -> list[PlannedResource]:
        return [r for r in self.of_type(names.HELM_RELEASE) if chart_name(r.inputs) == LB_CONTROLLER_CHART]

    @cached_property
    def alb_classes(self) -> set[str]:
        classes = {names.INGRESS_CLASS}
        for release in self.lb_controllers:
            value = (release.inputs.get("values") or {}).get("ingressClass")
            if isinstance(value, str):
                classes.add(value)
        return classes

    def is_alb_ingress(self, inputs: dict[str, Any]) -> bool:
        metadata = inputs.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        spec = inputs.get("spec") or {}
        return (spec.get("ingressClassName") in self.alb_classes
                or annotations.get("kubernetes.io/ingress.class") in self.alb_classes
                or any(str(k).startswith(ALB_ANNOTATION) for k in annotations))

    @cached_property
    def alb_groups(self) -> dict[str, bool]:
        """ALBs shared by Ingress group name -> internet-facing, in name order."""
        groups: dict[str, bool] = {}
        for ingress in self.of_type(names.K8S_INGRESS):
            inputs = ingress.inputs
            annotations = (inputs.get("metadata") or {}).get("annotations") or {}
            group = annotations.get(f"{ALB_ANNOTATION}group.name")
            if group and self.is_alb_ingress(inputs):
                public = annotations.get(f"{ALB_ANNOTATION}scheme") == "internet-facing"
                groups[str(group)] = groups.get(str(group), False) or public
        return dict(sorted(groups.items()))

    @cached_property
    def registry_scanning(self) -> Optional[list[tuple[str, str]]]:
        """(repository filter, scan frequency) of every rule of the plan's ENHANCED registry scanning
        configuration; ``[]`` when the registry scans BASIC (free), None when the plan has no
        configuration (a team stack, or a platform that leaves the registry's scanning to the account)."""
        configurations = self.of_type(names.ECR_REGISTRY_SCANNING_CONFIGURATION)
        if not configurations:
            return None
        rules: list[tuple[str, str]] = []
        for configuration in configurations:
            if str(configuration.inputs.get("scanType") or "BASIC") != "ENHANCED":
                continue
            for rule in configuration.inputs.get("rules") or []:
                for repository_filter in rule.get("repositoryFilters") or []:
                    rules.append((str(repository_filter.get("filter") or ""), str(rule.get("scanFrequency") or "")))
        return rules

    def scan_frequencies(self, repository: str) -> Optional[set[str]]:
        """The enhanced scan frequencies (SCAN_ON_PUSH, CONTINUOUS_SCAN) covering ``repository``; None
        when the plan does not say. ECR's WILDCARD filters take ``*`` for any characters."""
        rules = self.registry_scanning
        if rules is None:
            return None
        return {frequency for pattern, frequency in rules if fnmatch.fnmatchcase(repository, pattern)}

    def lifecycle_rules(self, repository: str) -> Optional[list[dict[str, Any]]]:
        """The rules of the lifecycle policy on ``repository``; None when it has none (images never expire)."""
        for policy in self.of_type(names.ECR_LIFECYCLE_POLICY):
            if policy.inputs.get("repository") != repository:
                continue
            document = policy.inputs.get("policy")
            document = json.loads(document) if isinstance(document, str) else document
            return list((document or {}).get("rules") or [])
        return None

    def rds_cluster(self, identifier: Any) -> Optional[PlannedResource]:
        for cluster in self.of_type(names.RDS_CLUSTER):
            if cluster.inputs.get("clusterIdentifier") == identifier:
                return cluster
        return None

    def launch_template_for(self, node_group: PlannedResource) -> Optional[PlannedResource]:
        """The launch template a node group names, or its only sibling launch template."""
        wanted = node_group.inputs.get("launchTemplate") or {}
        if not wanted:
            return None
        templates = self.of_type(names.EC2_LAUNCH_TEMPLATE)
        named = [t for t in templates if wanted.get("name") and t.inputs.get("name") == wanted["name"]]
        if len(named) == 1:
            return named[0]
        siblings = [t for t in templates if t.parent == node_group.parent]
        return siblings[0] if len(siblings) == 1 else None


@dataclass(frozen=True)
class ResourceContext:
    """The resource being priced, the agent it belongs to, and the plan around it."""

    resource: PlannedResource
    plan: PlanIndex
    agent: Optional[AgentComponent]

    @property
    def name(self) -> str:
        return self.resource.name


def chart_name(inputs: dict[str, Any]) -> str:
    chart = str(inputs.get("chart") or "")
    return chart.rsplit("/", 1)[-1]
