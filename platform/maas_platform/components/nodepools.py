"""Karpenter's node pools: one EC2NodeClass and one NodePool per configured pool.

Managed node groups keep only system pods (taint CriticalAddonsOnly); everything else runs on
nodes Karpenter launches from the pools rendered here. The objects are karpenter.sh/v1 and
karpenter.k8s.aws/v1 custom resources; their CRDs come from the karpenter-crd chart that
components/karpenter.py installs: give this component a provider and that release in ``wait_for``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence, Union

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from .. import names
from ..config.agents import AgentSpec, cpu_millicores, memory_bytes
from ..config.nodepools import ARCHITECTURES, NodeClassConfig, NodePoolConfig, PoolShape, fit_problem
from ..config.models import PlatformConfig
from .contract import NodePoolOutput
from .base import ComponentArgs, child

NODE_CLASS_NAME = "default"
# Every architecture a node pool may offer: for images built for all of them.
ARCHITECTURES_ANY: tuple[str, ...] = ARCHITECTURES


class NodePoolsArgs(ComponentArgs):
    node_role_name: Optional[Union[str, pulumi.Output[str]]] = Field(
        None, description="IAM role of the nodes Karpenter launches (EC2NodeClass spec.role); Karpenter then "
                          "manages the instance profile. Exactly one of node_role_name and instance_profile.")
    instance_profile: Optional[Union[str, pulumi.Output[str]]] = Field(
        None, description="An existing instance profile for the nodes (EC2NodeClass spec.instanceProfile). "
                          "Exactly one of node_role_name and instance_profile.")
    volumes_key_arn: Union[str, pulumi.Output[str]] = Field(
        description="The platform's EBS key: every node's root volume is encrypted with it.")
    instance_tags: Mapping[str, str] = Field(
        default_factory=dict, description="The platform's tags, put on every instance, volume and ENI Karpenter creates.")
    discovery: Union[str, pulumi.Output[str]] = Field(
        description="Value of the karpenter.sh/discovery tag on the subnets and security groups nodes use "
                    "(the cluster name).")
    node_class: NodeClassConfig = Field(description="How nodes are built (maas:cluster.node_class).")
    pools: Sequence[NodePoolConfig] = Field(min_length=1, description="The pools (maas:cluster.node_pools).")
    labels: Mapping[str, str] = Field(default_factory=dict, description="Labels of the custom resources.")
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list,
        description="What the objects need first: the karpenter-crd release (their CRDs) and the controller's. "
                    "Each object depends on them: a component's depends_on does not order its children.")

    @model_validator(mode="after")
    def _one_identity(self) -> "NodePoolsArgs":
        if (self.node_role_name is None) == (self.instance_profile is None):
            raise ValueError("give exactly one of node_role_name and instance_profile")
        return self


class NodePools(pulumi.ComponentResource):
    """The EC2NodeClass "default" and one NodePool per configured pool."""

    node_class: k8s.apiextensions.CustomResource
    node_pools: dict[str, k8s.apiextensions.CustomResource]

    def __init__(self, name: str, args: NodePoolsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_NODE_POOLS, name, None, opts)
        self.node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": NODE_CLASS_NAME, "labels": dict(args.labels)},
            spec=node_class_spec(args),
            opts=child(self, depends_on=list(args.wait_for)),
        )
        self.node_pools = {}
        for pool in args.pools:
            self.node_pools[pool.name] = k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}",
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata={"name": pool.name, "labels": dict(args.labels)},
                spec=node_pool_spec(pool),
                opts=child(self, depends_on=[self.node_class, *args.wait_for]),
            )
        self.register_outputs({"node_pools": sorted(self.node_pools)})


# Tag keys the EC2NodeClass refuses in spec.tags (CEL rules of the v1.12.2 CRD, checked 2026-12-02 in
# pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml): Karpenter sets them itself and finds its
# nodes by them. A platform tag under one of these keys is left to Karpenter's value.
RESTRICTED_TAG_KEYS = frozenset({"eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim",
                                 "karpenter.k8s.aws/ec2nodeclass"})
RESTRICTED_TAG_PREFIX = "kubernetes.io/cluster"

# Well-known labels a NodePool's requirements may use (v1.12.2 CRD, the karpenter.k8s.aws domain's
# allow-list): instance family, vCPUs and memory (MiB) of the instance type.
INSTANCE_FAMILY_LABEL = "karpenter.k8s.aws/instance-family"
INSTANCE_CPU_LABEL = "karpenter.k8s.aws/instance-cpu"
INSTANCE_MEMORY_LABEL = "karpenter.k8s.aws/instance-memory"
# Bottlerocket boots from a small OS volume and keeps images, logs and the kubelet's root on a
# data volume (Karpenter's default mappings for the family, docs v1.12 nodeclasses.md).
BOTTLEROCKET_OS_VOLUME_GIB = 4


def node_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The platform's tags Karpenter may put on instances, volumes and network interfaces."""
    return {key: value for key, value in sorted(tags.items())
            if key and value and key not in RESTRICTED_TAG_KEYS and not key.startswith(RESTRICTED_TAG_PREFIX)}


def _volume(size_gib: int, key_arn: Union[str, pulumi.Output[str]]) -> dict[str, Any]:
    return {"volumeSize": f"{size_gib}Gi", "volumeType": "gp3", "encrypted": True, "kmsKeyID": key_arn,
            "deleteOnTermination": True}


def node_class_spec(args: NodePoolsArgs) -> dict[str, Any]:
    """The EC2NodeClass "default": every field checked against the v1.12.2 CRD on 2026-12-02.

    - amiSelectorTerms: one alias term (family@version; an alias may not be combined with other
      terms). ``latest`` by default: EKS-optimized AMIs carry the kernel and runtime patches, and
      a new release drifts nodes over within the NodePools' disruption budgets (business hours in
      prod when configured); ``maas:cluster.node_class.ami_version`` pins a release where every
      AMI change must be reviewed first.
    - subnets and security groups by the discovery tag (KARPENTER_DISCOVERY_TAG = the cluster);
    - IMDSv2 only, hop limit 1: a pod cannot reach the node's role through the metadata service;
    - the volume the kubelet uses, gp3 encrypted with the platform's EBS key (``rootVolume``);
    - the platform's tags on every instance, volume and network interface Karpenter launches.
    """
    node_class = args.node_class
    if node_class.ami_family == "Bottlerocket":
        volumes = [
            {"deviceName": "/dev/xvda", "ebs": _volume(BOTTLEROCKET_OS_VOLUME_GIB, args.volumes_key_arn)},
            {"deviceName": "/dev/xvdb", "rootVolume": True,
             "ebs": _volume(node_class.root_volume_gib, args.volumes_key_arn)},
        ]
    else:
        volumes = [{"deviceName": "/dev/xvda", "rootVolume": True,
                    "ebs": _volume(node_class.root_volume_gib, args.volumes_key_arn)}]
    discovery = [{"tags": {names.KARPENTER_DISCOVERY_TAG: args.discovery}}]
    identity = ({"role": args.node_role_name} if args.node_role_name is not None
                else {"instanceProfile": args.instance_profile})
    return {
        **identity,
        "amiSelectorTerms": [{"alias": node_class.ami_alias}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": 1,
                            "httpTokens": "required"},
        "blockDeviceMappings": volumes,
        "detailedMonitoring": node_class.detailed_monitoring,
        "tags": node_tags(args.instance_tags),
    }


def node_pool_spec(pool: NodePoolConfig) -> dict[str, Any]:
    """One NodePool (karpenter.sh/v1), every field checked against the v1.12.2 CRD on 2026-12-02.

    Requirements on the well-known labels: architectures, capacity types, instance families, and
    the largest node as ``Lt`` bounds (vCPUs below max_vcpu + 1, memory below max_memory_gib + 1 GiB
    in MiB; the CRD takes one non-negative integer for Lt). A pool
    dedicated to agents taints its nodes, which agents' pods tolerate. Disruption: the
    consolidation policy and delay, and budgets (business_hours adds a "0" budget outside its window).
    """
    requirements: list[dict[str, Any]] = [
        {"key": names.ARCH_LABEL, "operator": "In", "values": sorted(pool.architectures)},
        {"key": names.CAPACITY_TYPE_LABEL, "operator": "In", "values": sorted(pool.capacity_types)},
        {"key": INSTANCE_FAMILY_LABEL, "operator": "In", "values": list(pool.instance_families)},
        {"key": INSTANCE_CPU_LABEL, "operator": "Lt", "values": [str(pool.max_vcpu + 1)]},
        {"key": INSTANCE_MEMORY_LABEL, "operator": "Lt", "values": [str(pool.max_memory_gib * 1024 + 1)]},
    ]
    template: dict[str, Any] = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS_NAME},
        "requirements": requirements,
        "expireAfter": pool.expire_after,
    }
    if pool.dedicated_to_agents:
        template["taints"] = [{"key": names.DEDICATED_TAINT_KEY, "value": names.DEDICATED_TO_AGENTS,
                               "effect": "NoSchedule"}]
    disruption: dict[str, Any] = {
        "consolidationPolicy": pool.consolidation.policy,
        "consolidateAfter": pool.consolidation.after,
    }
    budgets = pool.all_budgets()
    if budgets:
        disruption["budgets"] = [
            {"nodes": b.nodes,
             **({"schedule": b.schedule, "duration": b.duration} if b.schedule is not None else {}),
             **({"reasons": list(b.reasons)} if b.reasons else {})}
            for b in budgets
        ]
    spec: dict[str, Any] = {
        # Karpenter labels each node with its pool (NODE_POOL_LABEL) itself; the CRD refuses it here.
        "template": {"spec": template},
        "limits": {"cpu": str(pool.limits.cpu), "memory": f"{pool.limits.memory_gib}Gi"},
        "disruption": disruption,
    }
    if pool.weight is not None:
        spec["weight"] = pool.weight
    return spec


def pod_scheduling(architectures: Sequence[str], *, on_demand_only: bool) -> dict[str, Any]:
    """The pod-spec fields that keep a pod on nodes able to run it: a required node affinity on
    the architectures its image is built for (and On-Demand capacity when ``on_demand_only``: a
    critical agent in prod), and a toleration of the taint of pools dedicated to agents."""
    expressions: list[dict[str, Any]] = [{"key": names.ARCH_LABEL, "operator": "In", "values": sorted(architectures)}]
    if on_demand_only:
        expressions.append({"key": names.CAPACITY_TYPE_LABEL, "operator": "In", "values": ["on-demand"]})
    return {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": expressions}],
        }}},
        "tolerations": [{"key": names.DEDICATED_TAINT_KEY, "operator": "Equal", "value": names.DEDICATED_TO_AGENTS,
                         "effect": "NoSchedule"}],
    }


def on_demand_only(critical: bool, environment: str) -> bool:
    """A critical agent runs on On-Demand capacity in prod (the On-Demand floor); elsewhere Spot is fine."""
    return critical and environment == "prod"


def node_pool_outputs(config: PlatformConfig) -> list[NodePoolOutput]:
    """The platform's ``node_pools`` output: what a team stack's fit check reads of each pool."""
    return [NodePoolOutput(**pool.summary().model_dump()) for pool in config.cluster.node_pools]


def agent_fit_problem(spec: AgentSpec, pools: Optional[Sequence[PoolShape]], environment: str) -> Optional[str]:
    """Why no node pool of the environment can run the agent's pods ("<key>: <why>"), or None;
    None too when the pools are not known (a platform stack that exports none)."""
    if pools is None:
        return None
    problem = fit_problem(
        architectures=spec.architectures, critical=spec.critical,
        cpu_millicores=cpu_millicores(spec.resources.requests.cpu),
        memory_mib=math.ceil(memory_bytes(spec.resources.requests.memory) / 2**20),
        pools=pools, environment=environment,
    )
    return f"{problem[0]}: {problem[1]}" if problem else None
