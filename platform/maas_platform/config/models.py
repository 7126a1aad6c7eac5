"""Typed platform configuration.

``PlatformConfig`` is the whole ``maas:`` namespace of a stack config. Every model is
frozen, strict (a ``"3"`` is not a number) and forbids unknown keys, so a typo fails
before anything is registered. Environment-dependent defaults come from
:mod:`maas_platform.config.defaults`, never from branches in these models.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, model_validator

from .llm import LlmPlatformConfig, gateway_database_problem, gateway_problem
from .agents import KEY_ARN, KEY_ARN_FORM, AgentSpec, Image, cpu_millicores, deletion_problem, memory_bytes, name_limits
from .nodepools import NodeClassConfig, NodePoolConfig, fit_problem
from .base import RetentionDays, StrictModel
from .delivery import DeliveryConfig
from .flows import FlowSpec, flows_problem

from .policy import PolicyConfig
from .teams import TeamConfig, team_problem
from .defaults import DEFAULT_KUBERNETES_VERSION, tier, with_environment_defaults

Environment = Literal["dev", "staging", "prod"]

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_K8S_VERSION = re.compile(r"^1\.(\d+)$")


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid CIDR block ({exc})") from None
    return str(network)


def _vpc_cidr(value: str) -> str:
    network = ipaddress.ip_network(_cidr(value))
    if network.version != 4 or not network.is_private:
        raise ValueError(f"'{value}' must be a private IPv4 range (RFC 1918), e.g. 10.20.0.0/16")
    if not 16 <= network.prefixlen <= 22:
        raise ValueError(f"'{value}' must have a prefix between /16 and /22 (EKS needs room for pod IPs)")
    return value


def _dns_label(value: str) -> str:
    if len(value) > 40 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"'{value}' must be a DNS label: lowercase letters, digits and '-', "
            "starting with a letter, at most 40 characters"
        )
    return value


def _account_id(value: str) -> str:
    if not re.match(r"^\d{12}$", value):
        raise ValueError(f"'{value}' is not a 12-digit AWS account id; write it quoted, e.g. \"111122223333\"")
    return value


def _email(value: str) -> str:
    if not re.match(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", value, re.I):
        raise ValueError(f"'{value}' is not an email address")
    return value


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"'{value}' is not an AWS region name (e.g. us-east-1)")
    return value


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.match(value):
        raise ValueError(f"'{value}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    return value


def _k8s_version(value: str) -> str:
    match = _K8S_VERSION.match(value)
    if not match or not 29 <= int(match.group(1)) <= 37:
        raise ValueError(f"'{value}' is not a Kubernetes minor version EKS offers; use e.g. '{DEFAULT_KUBERNETES_VERSION}'")
    return value


def _instance_type(value: str) -> str:
    if not _INSTANCE_TYPE.match(value):
        raise ValueError(f"'{value}' is not an EC2 instance type (e.g. m6i.large)")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
VpcCidr = Annotated[str, AfterValidator(_vpc_cidr)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Region = Annotated[str, AfterValidator(_region)]
AccountId = Annotated[str, AfterValidator(_account_id)]
EmailAddress = Annotated[str, AfterValidator(_email)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
KubernetesVersion = Annotated[str, AfterValidator(_k8s_version)]
InstanceType = Annotated[str, AfterValidator(_instance_type)]


def _aws_id(prefix: str, what: str) -> AfterValidator:
    """A validator of an EC2 id (``<prefix>-`` and 8 or 17 hex digits), naming the expected form."""
    pattern = re.compile(rf"{prefix}-[0-9a-f]{{8}}([0-9a-f]{{9}})?")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"'{value}' is not {what} id like {prefix}-0123456789abcdef0")
        return value

    return AfterValidator(check)


def _key_arn(value: str) -> str:
    if not KEY_ARN.match(value):
        raise ValueError(f"'{value}' is not a KMS key ARN; expected {KEY_ARN_FORM} (an alias ARN does not work in a policy)")
    return value


VpcId = Annotated[str, _aws_id("vpc", "a VPC")]
SubnetId = Annotated[str, _aws_id("subnet", "a subnet")]
RouteTableId = Annotated[str, _aws_id("rtb", "a route table")]
KeyArn = Annotated[str, AfterValidator(_key_arn)]


class ExistingNetwork(StrictModel):
    """A VPC the platform does not own: it creates no VPC, subnets, NAT or route tables there,
    only the flow log and the endpoints it is asked for."""

    vpc_id: VpcId = Field(description="The VPC's id. Its CIDR is maas:network.cidr.")
    private_subnet_ids: list[SubnetId] = Field(
        min_length=2, max_length=3,
        description="Private subnets with a route to the internet (NAT), one per zone of network.availability_zones, "
                    "in the same order. The cluster, nodes and agents' databases live here.",
    )
    public_subnet_ids: list[SubnetId] = Field(
        default_factory=list,
        description="Public subnets, for internet-facing load balancers. Default: none (no public agent then). "
                    "Load balancers find subnets by their kubernetes.io/role/elb and internal-elb tags: set them.",
    )
    private_route_table_ids: list[RouteTableId] = Field(
        default_factory=list,
        description="Route tables of the private subnets. When given, the S3 and DynamoDB gateway endpoints are "
                    "added to them. Default: none (the VPC's owner provides those endpoints).",
    )
    flow_logs: bool = Field(
        True, description="Add a VPC flow log to the platform's log group. Turn off when the VPC already has one.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> "ExistingNetwork":
        for field in ("private_subnet_ids", "public_subnet_ids", "private_route_table_ids"):
            values = getattr(self, field)
            if len(set(values)) != len(values):
                raise ValueError(f"{field}: each id may be listed once")
        return self


class NetworkConfig(StrictModel):
    existing: Optional[ExistingNetwork] = Field(
        None,
        description="Bring your own VPC: its id and private subnets. Default: the platform creates the VPC. "
                    "Needs availability_zones (the subnets' zones, in order).",
    )
    cidr: VpcCidr = Field(description="VPC CIDR, a private /16 to /22. Default per environment (dev 10.20.0.0/16).")
    az_count: int = Field(ge=2, le=3, description="Availability zones to span: 2 or 3. Default: dev 2, staging/prod 3.")
    availability_zones: list[str] = Field(
        default_factory=list,
        description="Explicit AZ names (e.g. to avoid a zone EKS does not serve); default: the region's first az_count zones.",
    )
    nat_gateways: Literal["single", "per_az"] = Field(
        description="'single' NAT gateway (cheap, one AZ failure cuts egress) or one 'per_az'. Default: prod per_az."
    )
    interface_endpoints: list[str] = Field(
        description="AWS services reached through interface VPC endpoints (e.g. sts, ecr.api). Default: none in dev, the full set elsewhere."
    )
    flow_log_retention_days: RetentionDays = Field(description="Retention of the VPC flow log group. Default: dev 30, prod 365.")

    @model_validator(mode="after")
    def _endpoints_known(self) -> "NetworkConfig":
        for service in self.interface_endpoints:
            if not re.match(r"^[a-z0-9-]+(\.[a-z0-9-]+)?$", service):
                raise ValueError(f"interface_endpoints: '{service}' is not a service name like 'ecr.api' or 'sts'")
        if len(set(self.interface_endpoints)) != len(self.interface_endpoints):
            raise ValueError("interface_endpoints: each service may be listed once")
        existing = self.existing
        if existing is not None:
            if len(self.availability_zones) != len(existing.private_subnet_ids):
                raise ValueError(
                    f"availability_zones: with existing.private_subnet_ids, list the {len(existing.private_subnet_ids)} "
                    "subnets' zones in the same order"
                )
            if existing.public_subnet_ids and len(existing.public_subnet_ids) != len(existing.private_subnet_ids):
                raise ValueError("existing.public_subnet_ids: give one per zone, like private_subnet_ids, or none")
        return self


class ExistingKeys(StrictModel):
    """Keys the platform uses instead of creating its own, per purpose (ARNs, not aliases)."""

    eks: Optional[KeyArn] = Field(None, description="Envelope encryption of Kubernetes secrets. Default: a platform key.")
    logs: Optional[KeyArn] = Field(
        None, description="CloudWatch log groups (flow logs, control plane, agents). Its policy must let "
                          "logs.<region>.amazonaws.com use it. Default: a platform key.",
    )
    ebs: Optional[KeyArn] = Field(
        None, description="EBS volumes of nodes and persistent volumes. Its policy must let the Auto Scaling "
                          "service-linked role use it and create grants. Default: a platform key.",
    )


class EncryptionConfig(StrictModel):
    key_deletion_window_days: int = Field(
        ge=7, le=30, description="Waiting period before a scheduled KMS key deletion. Default: dev 7, prod 30."
    )
    existing_keys: ExistingKeys = Field(
        ExistingKeys(), description="Bring your own KMS key per purpose (eks, logs, ebs). Default: the platform creates each.",
    )


class Taint(StrictModel):
    key: str = Field(description="Taint key, e.g. dedicated.")
    value: str = Field("", description="Taint value.")
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(description="What the taint does to pods without a toleration.")


class NodeGroupConfig(StrictModel):
    name: DnsLabel = Field(description="Node group name, unique within the cluster.")
    instance_types: list[InstanceType] = Field(min_length=1, description="EC2 instance types, first preferred.")
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field("ON_DEMAND", description="ON_DEMAND (default) or SPOT.")
    min_size: int = Field(ge=0, le=450, description="Fewest nodes (prod: at least one per AZ).")
    desired_size: int = Field(ge=0, le=450, description="Nodes at creation; the cluster's scaling owns it afterwards.")
    max_size: int = Field(ge=1, le=450, description="Most nodes.")
    disk_size_gib: int = Field(40, ge=20, le=16384, description="Encrypted gp3 root volume size. Default 40.")
    labels: dict[str, str] = Field(default_factory=dict, description="Kubernetes node labels.")
    taints: list[Taint] = Field(default_factory=list, description="Kubernetes taints on the group's nodes.")
    detailed_monitoring: bool = Field(True, description="EC2 detailed (1-minute) monitoring of the group's instances. Default on.")

    @model_validator(mode="after")
    def _sizes(self) -> "NodeGroupConfig":
        if self.min_size > self.max_size:
            raise ValueError(f"min_size: {self.min_size} must not exceed max_size ({self.max_size})")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"desired_size: {self.desired_size} must lie between min_size ({self.min_size}) and max_size ({self.max_size})"
            )
        return self


class ClusterConfig(StrictModel):
    name: Optional[DnsLabel] = Field(None, description="EKS cluster name. Default: maas-<environment>.")
    kubernetes_version: KubernetesVersion = Field(DEFAULT_KUBERNETES_VERSION, description="EKS Kubernetes minor version.")
    support_type: Literal["STANDARD", "EXTENDED"] = Field(
        "STANDARD", description="STANDARD (default) upgrades at end of standard support; EXTENDED pays to stay."
    )
    endpoint_public_access: bool = Field(False, description="Expose the API endpoint publicly. Off by default.")
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list, description="CIDRs allowed to reach a public endpoint; required when endpoint_public_access is on."
    )
    admin_role_arns: list[RoleArn] = Field(
        default_factory=list, description="IAM roles granted cluster-admin through access entries. The creator gets no implicit admin."
    )
    irsa: bool = Field(
        False,
        description="Let this stack's agents use IRSA (identity: irsa) for their pods; Pod Identity is the default. "
                    "The cluster's IAM OIDC provider exists either way: secret sync exchanges tokens through it.",
    )
    log_retention_days: RetentionDays = Field(description="Control-plane log retention. Default: dev 30, prod 365.")
    node_groups: list[NodeGroupConfig] = Field(
        min_length=1,
        description="Managed node groups, for system pods only (Karpenter's controller, CoreDNS): tainted "
                    "CriticalAddonsOnly=true:NoSchedule. Everything else runs on node_pools.",
    )
    node_pools: list[NodePoolConfig] = Field(
        min_length=1,
        description="Karpenter node pools where agents and add-ons run. Default: dev and staging one pool 'general' "
                    "(Spot and On-Demand, arm64 and amd64); prod 'platform' (On-Demand) and 'agents' (dedicated to agents).",
    )
    node_class: NodeClassConfig = Field(description="How Karpenter builds nodes: AMI family, volume, monitoring.")
    addon_versions: dict[str, str] = Field(
        default_factory=dict,
        description="Pinned EKS add-on versions by add-on name; unpinned add-ons take EKS's default for the cluster version.",
    )

    @model_validator(mode="after")
    def _endpoint(self) -> "ClusterConfig":
        if self.endpoint_public_access:
            if not self.public_access_cidrs:
                raise ValueError(
                    "public_access_cidrs: a public endpoint needs an explicit CIDR allow-list "
                    "(or set endpoint_public_access: false)"
                )
            if any(ipaddress.ip_network(c).prefixlen == 0 for c in self.public_access_cidrs):
                raise ValueError("public_access_cidrs: 0.0.0.0/0 opens the API to the internet; list your own CIDRs")
        elif self.public_access_cidrs:
            raise ValueError("public_access_cidrs: only meaningful with endpoint_public_access: true")
        names = [g.name for g in self.node_groups]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"node_groups: duplicate name '{duplicates[0]}'")
        pools = [p.name for p in self.node_pools]
        twice = sorted({n for n in pools if pools.count(n) > 1})
        if twice:
            raise ValueError(f"node_pools: duplicate name '{twice[0]}'; give each pool its own")
        unknown = sorted(set(self.addon_versions) - set(CORE_ADDONS))
        if unknown:
            raise ValueError(f"addon_versions: '{unknown[0]}' is not one of {', '.join(CORE_ADDONS)}")
        return self


CORE_ADDONS = ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver")


class ReceiverConfig(StrictModel):
    """An alert receiver next to the platform alert topic. Its URL or key is never in config:
    the platform creates the Secrets Manager secret ``<prefix>/observability/receivers/<name>``
    for you to put it in."""

    name: DnsLabel = Field(description="Receiver name, unique.")
    kind: Literal["slack", "pagerduty", "webhook"] = Field(description="slack (webhook URL), pagerduty (routing key) or webhook (URL).")
    severity: Literal["page", "ticket", "all"] = Field("all", description="Which alerts it receives.")
    channel: Optional[str] = Field(None, pattern=r"^#?[a-z0-9_-]{1,80}$", description="Slack channel (slack only).")

    @model_validator(mode="after")
    def _channel(self) -> "ReceiverConfig":
        if self.channel and self.kind != "slack":
            raise ValueError("channel: only slack receivers have a channel")
        return self


class ObservabilityConfig(StrictModel):
    """Observability stack settings; the add-ons and SLO rules read these."""

    @model_validator(mode="after")
    def _unique_receivers(self) -> "ObservabilityConfig":
        names = [r.name for r in self.receivers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"receivers: '{repeated[0]}' is declared twice")
        return self

    alert_emails: list[EmailAddress] = Field(default_factory=list, description="Addresses subscribed to the platform alert topic.")
    prometheus_retention_days: int = Field(ge=1, le=365, description="How long Prometheus keeps metrics. Default: dev 7, prod 30.")
    prometheus_volume_gib: int = Field(ge=10, le=16384, description="Encrypted volume of Prometheus. Default: dev 20, prod 100.")
    agent_log_retention_days: RetentionDays = Field(
        description="Retention of the agents' container log groups. Default: dev 14, prod 90."
    )
    receivers: list[ReceiverConfig] = Field(
        default_factory=list, description="Extra alert receivers (Slack, PagerDuty, webhook); secrets by reference only."
    )
    trace_sample_ratio: float = Field(
        0.1, ge=0, le=1, description="Share of new traces the agents sample (parent-based: a sampled caller keeps its trace)."
    )


class TopicConfig(StrictModel):
    """A topic agents publish to and subscribe to."""

    name: DnsLabel = Field(description="Topic name, unique in the environment.")
    description: str = Field("", max_length=256, description="What the messages on it mean.")
    ordered: bool = Field(
        False, description="FIFO: ordered, exactly-once delivery per message group (sns-sqs only; subscribers get FIFO inboxes)."
    )
    team_publishers: list[DnsLabel] = Field(
        default_factory=list, description="Agents of team stacks that may publish to it (this stack's agents declare their own)."
    )
    publisher_teams: list[DnsLabel] = Field(
        default_factory=list,
        description="Teams whose team-stack agents may publish to it without a change here per agent: any role "
                    "<prefix>-agent-* tagged team=<team> (sns-sqs only; a team's deploy role tags only its own agents).",
    )


class RabbitMQConfig(StrictModel):
    """Amazon MQ for RabbitMQ, when ``backend: rabbitmq``."""

    instance_type: str = Field("mq.m7g.medium", pattern=r"^mq\.[a-z0-9]+\.[a-z0-9]+$", description="Broker instance type.")
    engine_version: str = Field("3.13", pattern=r"^\d+\.\d+(\.\d+)?$", description="RabbitMQ engine version.")
    deployment: Optional[Literal["single", "cluster"]] = Field(
        None, description="single instance or a 3-node cluster across AZs. Default: cluster in prod, single elsewhere."
    )


class BrokerConfig(StrictModel):
    """Messaging backbone between agents."""

    backend: Literal["sns-sqs", "rabbitmq", "msk-serverless"] = Field(
        "sns-sqs", description="sns-sqs (default): SNS topics, SQS inboxes; rabbitmq: Amazon MQ; msk-serverless: Kafka with IAM auth."
    )
    topics: list[TopicConfig] = Field(default_factory=list, description="Topics declared once for the environment.")
    max_receive_count: int = Field(
        5, ge=1, le=1000, description="Receives before a message moves from an inbox to its dead-letter queue."
    )
    visibility_timeout_seconds: int = Field(
        60, ge=0, le=43_200, description="How long a received message stays hidden from other consumers."
    )
    inbox_retention_days: int = Field(4, ge=1, le=14, description="How long an unconsumed message stays in an inbox.")
    dlq_retention_days: int = Field(14, ge=1, le=14, description="How long a dead letter is kept; longer than the inbox's.")
    max_message_age_seconds: int = Field(
        900, ge=60, le=1_209_600, description="Alarm when the oldest inbox message is older than this."
    )
    operator_role_arns: list[RoleArn] = Field(
        default_factory=list,
        description="Roles that may assume the messaging operator role (DLQ inspection and redrive). Default: cluster.admin_role_arns.",
    )
    rabbitmq: RabbitMQConfig = Field(RabbitMQConfig(), description="Settings of the rabbitmq backend.")

    @model_validator(mode="after")
    def _consistent(self) -> "BrokerConfig":
        names = [t.name for t in self.topics]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"topics: '{repeated[0]}' is declared twice")
        if self.dlq_retention_days <= self.inbox_retention_days:
            raise ValueError(
                f"dlq_retention_days: {self.dlq_retention_days} must exceed inbox_retention_days ({self.inbox_retention_days}), "
                "or dead letters expire before anyone looks"
            )
        if self.backend != "sns-sqs":
            ordered = [t.name for t in self.topics if t.ordered]
            if ordered:
                raise ValueError(f"topics: '{ordered[0]}' is ordered; ordered (FIFO) topics need backend sns-sqs")
            teams = [t.name for t in self.topics if t.publisher_teams]
            if teams:
                raise ValueError(f"topics: '{teams[0]}' has publisher_teams; only sns-sqs topics have a policy to admit them")
        return self

    def topic(self, name: str) -> Optional[TopicConfig]:
        return next((t for t in self.topics if t.name == name), None)


class BudgetThreshold(StrictModel):
    percent: float = Field(gt=0, le=1000, description="Percent of the limit.")
    kind: Literal["actual", "forecast"] = Field(description="actual spend, or the month's forecast.")


class BudgetsConfig(StrictModel):
    """Cost guard rails: monthly AWS Budgets per environment, team and agent (agents' own
    limits are their ``budget.monthly_usd``)."""

    monthly_limit_usd: Optional[float] = Field(None, gt=0, description="Monthly budget for the environment (USD).")
    teams: dict[str, float] = Field(default_factory=dict, description="Monthly budget per team (USD), by team name.")
    thresholds: list[BudgetThreshold] = Field(
        default_factory=lambda: [BudgetThreshold(percent=80, kind="actual"), BudgetThreshold(percent=100, kind="actual"),
                                 BudgetThreshold(percent=100, kind="forecast")],
        min_length=1,
        description="When a budget notifies. Default: actual 80% and 100%, forecast 100%.",
    )
    activate_cost_allocation_tags: bool = Field(
        False,
        description="Activate the platform's tag keys for cost allocation from this stack: only in the payer account, "
                    "once billing lists the keys (up to 24 h after first use). Kept active on destroy. Default: off; "
                    "activate them once per payer account instead (docs/cost.md).",
    )

    @model_validator(mode="after")
    def _positive(self) -> "BudgetsConfig":
        for team, limit in self.teams.items():
            if limit <= 0:
                raise ValueError(f"teams.{team}: {limit} must be a positive amount of USD")
        return self


class RetirementConfig(StrictModel):
    """What happens to a retired agent's data (``retired: true``, docs/agents.md#retiring-an-agent)."""

    retention_days: int = Field(
        ge=1, le=3650,
        description="Days a retired agent's datastore, key, secrets and log groups are kept, protected, after its "
                    "retired_on before delete_data is accepted. Default: dev 7, staging 30, prod 90.",
    )


class PlatformConfig(StrictModel):
    """The ``maas:`` namespace of a stack config."""

    environment: Environment = Field(description="Environment tier: dev, staging or prod. Drives every default.")
    region: Region = Field("us-east-1", description="AWS region of the environment.")
    account_id: Optional[AccountId] = Field(
        None, description="The only AWS account this stack may touch, 12 digits quoted (recommended for prod)."
    )
    name: DnsLabel = Field("maas", description="Prefix of every physical name (e.g. maas-dev).")
    team: DnsLabel = Field(
        "platform", description="Team owning the shared platform resources (tag `team`); agents' resources carry their own.",
    )
    cost_center: str = Field(
        "platform", pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
        description="Cost center of the shared platform resources (tag `cost-center`); agents' resources carry their own.",
    )
    protect_stateful: bool = Field(description="Protect keys, log groups and the cluster from deletion. Default: prod only.")
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags on every taggable AWS resource.")
    network: NetworkConfig = Field(description="VPC, subnets, NAT and endpoints.")
    encryption: EncryptionConfig = Field(description="Platform KMS keys.")
    cluster: ClusterConfig = Field(description="The EKS cluster and its node groups.")
    observability: ObservabilityConfig = Field(description="Alerting and the observability stack.")
    broker: BrokerConfig = Field(BrokerConfig(), description="Messaging between agents.")
    budgets: BudgetsConfig = Field(BudgetsConfig(), description="Cost guard rails.")
    policy: PolicyConfig = Field(
        PolicyConfig(), description="Policy enforcement levels and exemptions of the plan gate and the CrossGuard pack (docs/policies.md).",
    )
    agents: list[AgentSpec] = Field(
        default_factory=list, description="Agents this stack deploys, each its own bounded context (see docs/onboarding-an-agent.md)."
    )
    teams: list[TeamConfig] = Field(
        default_factory=list,
        description="Teams whose own stacks deploy agents here, each with a deploy role scoped to its agents (docs/teams.md).",
    )
    flows: list[FlowSpec] = Field(
        default_factory=list,
        description="Flows: requests that cross agents of this stack through topics, with end-to-end availability and "
                    "latency objectives (docs/slos.md). Default: none.",
    )
    delivery: DeliveryConfig = Field(
        description="Agents' registries, CI roles and rollouts: the GitHub OIDC provider, signature and own-registry "
                    "enforcement (prod), image scanning (docs/delivery.md).")
    retirement: RetirementConfig = Field(description="Retention of retired agents' data.")
    probe_image: Image = Field(
        "ghcr.io/acme/maas-probe:0.1.0",
        description="The image golden-set probes run (maas-probe, built from images/probe/Dockerfile on each release "
                    "tag); team stacks get it from this stack's outputs. Pinned by an immutable tag or a digest (prod: "
                    "a digest, MAAS-K8S-012). Default: this release's tag.")
    llm: LlmPlatformConfig = Field(
        LlmPlatformConfig(), description="Bedrock invocation logging and the LLM gateway's providers (docs/llm-access.md).")

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any) -> Any:
        return with_environment_defaults(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _environment_rules(self) -> "PlatformConfig":
        if self.environment == "prod":
            if self.network.az_count < 3:
                raise ValueError(f"network.az_count: prod needs 3 availability zones, got {self.network.az_count}")
            if self.network.nat_gateways != "per_az" and self.network.existing is None:
                raise ValueError("network.nat_gateways: prod needs 'per_az' so one AZ failure does not cut egress")
            if not self.protect_stateful:
                raise ValueError("protect_stateful: prod keeps stateful resources protected; it cannot be false")
            for rule in ("require_signatures", "require_own_registry"):
                if not getattr(self.delivery, rule):
                    raise ValueError(f"delivery.{rule}: prod runs only its agents' own signed images; it cannot be false")
            for group in self.cluster.node_groups:
                if group.min_size < self.network.az_count:
                    raise ValueError(
                        f"cluster.node_groups[{self.cluster.node_groups.index(group)}].min_size: prod needs at least "
                        f"one node per AZ ({self.network.az_count}), got {group.min_size}"
                    )
            system = self.cluster.node_groups[0]
            if system.capacity_type == "SPOT":
                raise ValueError(
                    "cluster.node_groups[0].capacity_type: prod keeps the system node group ON_DEMAND; on Spot an "
                    "interruption takes Karpenter, CoreDNS and the controllers with it"
                )
        zones = self.network.availability_zones
        if zones:
            if len(zones) != self.network.az_count or len(set(zones)) != len(zones):
                raise ValueError(
                    f"network.availability_zones: list {self.network.az_count} distinct zones to match az_count, "
                    f"got {len(set(zones))} distinct of {len(zones)}"
                )
            foreign = [z for z in zones if not re.match(rf"^{re.escape(self.region)}[a-z]$", z)]
            if foreign:
                raise ValueError(f"network.availability_zones: '{foreign[0]}' is not a zone of region {self.region}")
        for purpose in ("eks", "logs", "ebs"):
            arn = getattr(self.encryption.existing_keys, purpose)
            if arn is not None:
                region, account = arn.split(":")[3:5]
                if region != self.region:
                    raise ValueError(
                        f"encryption.existing_keys.{purpose}: the key is in {region}; the environment is in {self.region}"
                    )
                if self.account_id is not None and account != self.account_id:
                    raise ValueError(
                        f"encryption.existing_keys.{purpose}: the key is in account {account}, not {self.account_id}"
                    )
        if not self.cluster.admin_role_arns:
            raise ValueError(
                "cluster.admin_role_arns: list at least the IAM role that runs `pulumi up`; "
                "the cluster creator gets no implicit admin"
            )
        problem = gateway_database_problem(self.llm, self.environment)
        if problem:
            raise ValueError(problem)
        seen: set[str] = set()
        for index, agent in enumerate(self.agents):
            if agent.name in seen:
                raise ValueError(f"agents[{index}].name: duplicate agent name '{agent.name}'; each agent needs its own")
            seen.add(agent.name)
            if agent.identity == "irsa" and not self.cluster.irsa:
                raise ValueError(f"agents[{index}].identity: IRSA is off for this cluster's agents; set cluster.irsa: true "
                                 "or use identity: pod-identity")
            problem = name_limits(self.prefix, agent.name)
            if problem:
                raise ValueError(f"agents[{index}].name: '{agent.name}' {problem}")
            problem = deletion_problem(agent, self.retirement.retention_days)
            if problem:
                raise ValueError(f"agents[{index}].{problem}")
            problem = gateway_problem(agent, self.llm, tier(self.environment).ha_replicas)
            if problem:
                raise ValueError(f"agents[{index}].{problem}")
            if agent.retired:  # nothing of it runs: no pod to fit a pool
                continue
            misfit = fit_problem(
                architectures=agent.architectures, critical=agent.critical,
                cpu_millicores=cpu_millicores(agent.resources.requests.cpu),
                memory_mib=-(-memory_bytes(agent.resources.requests.memory) // 2**20),
                pools=[p.summary() for p in self.cluster.node_pools], environment=self.environment,
            )
            if misfit:
                raise ValueError(f"agents[{index}].{misfit[0]}: {misfit[1]}")
        problem = team_problem(self.teams, [a.name for a in self.agents], self.prefix,
                               platform_teams=[self.team, *(a.team for a in self.agents)])
        if problem:
            raise ValueError(problem)
        self._messaging_rules()
        problem = flows_problem(self.flows, self.agents, [t.name for t in self.broker.topics],
                                elsewhere={a: f"team '{t.name}' (maas:teams)" for t in self.teams for a in t.agents})
        if problem:
            raise ValueError(problem)
        reserved = {"environment", "managed-by", "platform"} & set(self.tags)
        if reserved:
            raise ValueError(f"tags: '{sorted(reserved)[0]}' is set by the platform and cannot be overridden")
        return self

    def _messaging_rules(self) -> None:
        broker = self.broker
        if broker.backend == "rabbitmq" and self.environment == "prod" and broker.rabbitmq.deployment == "single":
            raise ValueError("broker.rabbitmq.deployment: prod needs 'cluster' so one AZ failure does not stop messaging")
        for index, agent in enumerate(self.agents):
            messaging = agent.messaging
            if agent.retired:  # no inbox, no publisher: its topics are not checked
                continue
            for topic in messaging.publishes:
                if broker.topic(topic) is None:
                    raise ValueError(
                        f"agents[{index}].messaging.publishes: topic '{topic}' is not declared under maas:broker.topics"
                        f"; declared: {', '.join(sorted(t.name for t in broker.topics)) or 'none'}"
                    )
            ordering = set()
            for subscription in messaging.subscribes:
                declared = broker.topic(subscription.topic)
                if declared is None:
                    raise ValueError(
                        f"agents[{index}].messaging.subscribes: topic '{subscription.topic}' is not declared under maas:broker.topics"
                        f"; declared: {', '.join(sorted(t.name for t in broker.topics)) or 'none'}"
                    )
                ordering.add(declared.ordered)
            if len(ordering) > 1:
                raise ValueError(
                    "agents[{}].messaging.subscribes: an inbox is FIFO or standard; subscribe to ordered or to "
                    "unordered topics, not both".format(index)
                )
            if messaging.scale_to_zero and self.environment == "prod":
                raise ValueError(f"agents[{index}].messaging.scale_to_zero: prod keeps replicas.min running")

    def warnings(self) -> list[str]:
        """Mistakes that do not stop a plan: a topic nobody subscribes to, a topic nobody publishes to."""
        subscribed = {s.topic for a in self.agents if a.active for s in a.messaging.subscribes}
        published = {t for a in self.agents if a.active for t in a.messaging.publishes}
        found = []
        for index, topic in enumerate(self.broker.topics):
            if topic.name not in subscribed:
                found.append(f"maas:broker.topics[{index}] '{topic.name}': no agent subscribes to it; its messages go nowhere")
            elif topic.name not in published and not topic.team_publishers and not topic.publisher_teams:
                found.append(f"maas:broker.topics[{index}] '{topic.name}': no agent of this stack publishes to it")
        return found

    @property
    def rabbitmq_deployment(self) -> str:
        return self.broker.rabbitmq.deployment or ("cluster" if self.environment == "prod" else "single")

    @property
    def operator_role_arns(self) -> list[str]:
        return self.broker.operator_role_arns or self.cluster.admin_role_arns

    @property
    def prefix(self) -> str:
        """Prefix of physical names: ``<name>-<environment>``."""
        return f"{self.name}-{self.environment}"

    @property
    def cluster_name(self) -> str:
        return self.cluster.name or self.prefix
