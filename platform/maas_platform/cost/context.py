"""What a pricing rule may know about the plan besides its resource's inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator, Optional

AGENT_COMPONENT = "maas:agent:AgentService"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
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


@dataclass(frozen=True)
class Agent:
    """An ``AgentService`` component: the agent and team its children are tagged with."""

    name: str
    team: str
    urn: str


class PlanIndex:
    """Look-ups over the plan's resources, computed once per estimate."""

    def __init__(self, resources: list[dict[str, Any]], outputs: dict[str, Any], region: str,
                 environment: Optional[str]):
        self.resources = resources
        self.outputs = outputs or {}
        self.region = region
        self.environment = environment
        self.by_urn = {r["urn"]: r for r in resources}
        self.children: dict[str, list[dict[str, Any]]] = {}
        for resource in resources:
            if resource.get("parent"):
                self.children.setdefault(resource["parent"], []).append(resource)
        self.agents = {r["urn"]: self._agent(r) for r in resources if r["type"] == AGENT_COMPONENT}

    # -- structure -----------------------------------------------------------------------

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] in types]

    def descendants(self, urn: str) -> Iterator[dict[str, Any]]:
        for child in self.children.get(urn, []):
            yield child
            yield from self.descendants(child["urn"])

    def agent_of(self, resource: dict[str, Any]) -> Optional[Agent]:
        """The agent whose component ``resource`` sits below, if any."""
        parent = resource.get("parent")
        seen = set()
        while parent and parent not in seen:
            seen.add(parent)
            if parent in self.agents:
                return self.agents[parent]
            parent = (self.by_urn.get(parent) or {}).get("parent")
        return None

    def _agent(self, component: dict[str, Any]) -> Agent:
        name = team = None
        for child in self.descendants(component["urn"]):
            inputs = child.get("inputs") or {}
            tags = inputs.get("tags") if isinstance(inputs.get("tags"), dict) else {}
            metadata = inputs.get("metadata") if isinstance(inputs.get("metadata"), dict) else {}
            labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
            name = name or tags.get("agent") or labels.get("maas.dev/agent")
            team = team or tags.get("team") or labels.get("maas.dev/team")
            if name and team:
                break
        return Agent(name=str(name or component["name"]), team=str(team or "(no team)"), urn=component["urn"])

    # -- facts rules share ---------------------------------------------------------------

    @cached_property
    def az_count(self) -> int:
        zones = self.outputs.get("availability_zones")
        return len(zones) if isinstance(zones, list) and zones else DEFAULT_AZ_COUNT

    @cached_property
    def nat_gateway_count(self) -> int:
        return len(self.of_type("aws:ec2/natGateway:NatGateway"))

    @cached_property
    def flow_log_groups(self) -> set[str]:
        """Names of the log groups VPC flow logs deliver to (their ingestion is the flow log's)."""
        names = set()
        for flow in self.of_type("aws:ec2/flowLog:FlowLog"):
            destination = str((flow.get("inputs") or {}).get("logDestination") or "")
            if ":log-group:" in destination:
                names.add(destination.split(":log-group:", 1)[1].removesuffix(":*"))
            name = (flow.get("inputs") or {}).get("logGroupName")
            if name:
                names.add(str(name))
        return names

    @cached_property
    def lb_controllers(self) -> list[dict[str, Any]]:
        return [r for r in self.of_type(HELM_RELEASE) if chart_name(r.get("inputs") or {}) == LB_CONTROLLER_CHART]

    @cached_property
    def alb_classes(self) -> set[str]:
        classes = {"alb"}
        for release in self.lb_controllers:
            value = ((release.get("inputs") or {}).get("values") or {}).get("ingressClass")
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
        for ingress in self.of_type(INGRESS):
            inputs = ingress.get("inputs") or {}
            annotations = (inputs.get("metadata") or {}).get("annotations") or {}
            group = annotations.get(f"{ALB_ANNOTATION}group.name")
            if group and self.is_alb_ingress(inputs):
                public = annotations.get(f"{ALB_ANNOTATION}scheme") == "internet-facing"
                groups[str(group)] = groups.get(str(group), False) or public
        return dict(sorted(groups.items()))

    def rds_cluster(self, identifier: Any) -> Optional[dict[str, Any]]:
        for cluster in self.of_type("aws:rds/cluster:Cluster"):
            if (cluster.get("inputs") or {}).get("clusterIdentifier") == identifier:
                return cluster
        return None

    def launch_template_for(self, node_group: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The launch template a node group names, or its only sibling launch template."""
        wanted = (node_group.get("inputs") or {}).get("launchTemplate") or {}
        if not wanted:
            return None
        templates = self.of_type("aws:ec2/launchTemplate:LaunchTemplate")
        named = [t for t in templates if wanted.get("name") and (t.get("inputs") or {}).get("name") == wanted["name"]]
        if len(named) == 1:
            return named[0]
        siblings = [t for t in templates if t.get("parent") == node_group.get("parent")]
        return siblings[0] if len(siblings) == 1 else None


@dataclass(frozen=True)
class ResourceContext:
    """The resource being priced, the agent it belongs to, and the plan around it."""

    resource: dict[str, Any]
    plan: PlanIndex
    agent: Optional[Agent]

    @property
    def name(self) -> str:
        return str(self.resource.get("name"))


def chart_name(inputs: dict[str, Any]) -> str:
    chart = str(inputs.get("chart") or "")
    return chart.rsplit("/", 1)[-1]
