"""The environment's VPC: subnets across AZs, NAT, flow logs and VPC endpoints."""

from __future__ import annotations

import ipaddress
from typing import Literal, Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from ..iam import Statement, assume_role_policy, policy_document
from ..config.models import ExistingNetwork
from ..names import KARPENTER_DISCOVERY_TAG
from .base import AccountContext, ComponentArgs, StrInput, child, encrypted_log_group


class NetworkArgs(ComponentArgs):
    prefix: str = Field(description="Prefix of Name tags and log group names.")
    account: AccountContext
    cidr: str = Field(description="VPC CIDR block.")
    availability_zones: list[str] = Field(min_length=2, max_length=3, description="AZ names, one subnet pair each.")
    nat_gateways: Literal["single", "per_az"] = Field("per_az", description="One NAT for all AZs, or one per AZ.")
    interface_endpoints: list[str] = Field(default_factory=list, description="Services reached via interface endpoints.")
    cluster_name: str = Field(description="EKS cluster that discovers the subnets through their tags.")
    flow_log_retention_days: int = Field(365, description="Retention of the flow log group.")
    logs_key_arn: StrInput = Field(description="KMS key that encrypts the flow log group.")
    protect: bool = Field(False, description="Protect the flow log group from deletion.")
    existing: Optional[ExistingNetwork] = Field(
        None, description="A VPC the platform does not own (its subnets in availability_zones' order). Default: create one.",
    )


def subnet_plan(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Split a VPC CIDR: the first three quarters are private subnets (one per AZ, room for
    pod IPs), the last quarter is cut into small public subnets for NAT and load balancers."""
    vpc = ipaddress.ip_network(cidr)
    quarters = list(vpc.subnets(prefixlen_diff=2))
    private = [str(q) for q in quarters[:az_count]]
    public = [str(p) for p in list(quarters[3].subnets(prefixlen_diff=2))[:az_count]]
    return private, public


class Network(pulumi.ComponentResource):
    """VPC over 2-3 AZs with private/public subnets, NAT, flow logs and endpoints."""

    vpc: Optional[aws.ec2.Vpc]  # None in a VPC the platform does not own
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]
    private_route_tables: list[aws.ec2.RouteTable]
    flow_log_group: Optional[aws.cloudwatch.LogGroup]
    # What the rest of the platform uses, owned or not.
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Input[str]]
    public_subnet_ids: list[pulumi.Input[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maas:network:Network", name, None, opts)
        if args.existing is not None:
            self._existing(name, args, args.existing)
            return
        azs = args.availability_zones
        private_cidrs, public_cidrs = subnet_plan(args.cidr, len(azs))
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{args.prefix}-vpc"},
            opts=child(self),
        )
        # The default security group allows all traffic between its members: strip every rule.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            tags={"Name": f"{args.prefix}-default-deny"},
            opts=child(self),
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{args.prefix}-igw"}, opts=child(self)
        )

        # Load balancers find their subnets through these role tags; Karpenter's EC2NodeClass finds
        # the private ones through the discovery tag (its subnetSelectorTerms).
        tiers = {"public": (public_cidrs, "kubernetes.io/role/elb"), "private": (private_cidrs, "kubernetes.io/role/internal-elb")}
        discovery = {KARPENTER_DISCOVERY_TAG: args.cluster_name}
        subnets: dict[str, list[aws.ec2.Subnet]] = {}
        for tier, (cidrs, role_tag) in tiers.items():
            subnets[tier] = [
                aws.ec2.Subnet(
                    f"{name}-{tier}-{index}",
                    vpc_id=self.vpc.id,
                    cidr_block=cidrs[index],
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{args.prefix}-{tier}-{az}", role_tag: "1", **cluster_tag,
                          **(discovery if tier == "private" else {})},
                    opts=child(self),
                )
                for index, az in enumerate(azs)
            ]
        self.public_subnets, self.private_subnets = subnets["public"], subnets["private"]

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags={"Name": f"{args.prefix}-public"},
            opts=child(self),
        )
        for index, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{index}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child(self)
            )

        nat_count = len(azs) if args.nat_gateways == "per_az" else 1
        nats = []
        for index in range(nat_count):
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{index}", domain="vpc", tags={"Name": f"{args.prefix}-nat-{azs[index]}"},
                opts=child(self),
            )
            nats.append(aws.ec2.NatGateway(
                f"{name}-nat-{index}",
                allocation_id=eip.id,
                subnet_id=self.public_subnets[index].id,
                connectivity_type="public",
                tags={"Name": f"{args.prefix}-nat-{azs[index]}"},
                opts=child(self, depends_on=[igw]),
            ))

        self.private_route_tables = []
        for index, subnet in enumerate(self.private_subnets):
            nat = nats[index if args.nat_gateways == "per_az" else 0]
            table = aws.ec2.RouteTable(
                f"{name}-private-rt-{index}",
                vpc_id=self.vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={"Name": f"{args.prefix}-private-{azs[index]}"},
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{index}", subnet_id=subnet.id, route_table_id=table.id, opts=child(self)
            )
            self.private_route_tables.append(table)

        self.vpc_id, self.vpc_cidr = self.vpc.id, self.vpc.cidr_block
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.flow_log_group = self._flow_logs(name, args)
        self._endpoints(name, args, [t.id for t in self.private_route_tables])
        self._register()

    def _existing(self, name: str, args: NetworkArgs, existing: ExistingNetwork) -> None:
        """Someone else's VPC: nothing of its topology is created or changed, only what the
        platform adds to it (the flow log, if asked, and the endpoints)."""
        self.vpc, self.private_subnets, self.public_subnets, self.private_route_tables = None, [], [], []
        self.vpc_id, self.vpc_cidr = existing.vpc_id, args.cidr
        self.private_subnet_ids = list(existing.private_subnet_ids)
        self.public_subnet_ids = list(existing.public_subnet_ids)
        # The one change to its subnets: the tag Karpenter's EC2NodeClass selects private subnets by.
        for index, subnet_id in enumerate(self.private_subnet_ids):
            aws.ec2.Tag(f"{name}-private-{index}-discovery", resource_id=subnet_id, key=KARPENTER_DISCOVERY_TAG,
                        value=args.cluster_name, opts=child(self))
        self.flow_log_group = self._flow_logs(name, args, attach=existing.flow_logs)
        self._endpoints(name, args, list(existing.private_route_table_ids))
        self._register()

    def _register(self) -> None:
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "private_subnet_ids": self.private_subnet_ids,
            "public_subnet_ids": self.public_subnet_ids,
        })

    def _flow_logs(self, name: str, args: NetworkArgs, attach: bool = True) -> Optional[aws.cloudwatch.LogGroup]:
        if not attach:
            return None
        group = encrypted_log_group(
            self, f"{name}-flow-logs", f"/{args.prefix}/vpc-flow-logs",
            retention_days=args.flow_log_retention_days, key_arn=args.logs_key_arn, protect=args.protect,
        )
        account = args.account
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            description="VPC flow logs delivery to CloudWatch Logs",
            assume_role_policy=assume_role_policy(
                {"Service": account.service_principal("vpc-flow-logs")},
                conditions={
                    "StringEquals": {"aws:SourceAccount": account.account_id},
                    "ArnLike": {"aws:SourceArn": account.arn("ec2", "vpc-flow-log/*")},
                },
            ),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=policy_document(Statement(
                sid="DeliverToFlowLogGroup",
                actions=("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
                resources=(group.arn, group.arn.apply(lambda arn: f"{arn}:log-stream:*")),
            )),
            opts=child(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{args.prefix}-vpc-flow-log"},
            opts=child(self),
        )
        return group

    def _endpoints(self, name: str, args: NetworkArgs, route_table_ids: list[pulumi.Input[str]]) -> None:
        region = args.account.region
        # Gateway endpoints live in route tables; without any (someone else's VPC), none.
        for service in ("s3", "dynamodb") if route_table_ids else ():
            aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=route_table_ids,
                tags={"Name": f"{args.prefix}-{service}"},
                opts=child(self),
            )
        if not args.interface_endpoints:
            return
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            description="HTTPS from inside the VPC to interface endpoints",
            vpc_id=self.vpc_id,
            ingress=[{
                "description": "HTTPS from the VPC", "protocol": "tcp", "from_port": 443, "to_port": 443,
                "cidr_blocks": [args.cidr],
            }],
            tags={"Name": f"{args.prefix}-endpoints"},
            opts=child(self),
        )
        for service in args.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_sg.id],
                tags={"Name": f"{args.prefix}-{service}"},
                opts=child(self),
            )
