"""MAAS-NET: public exposure (endpoints, databases, buckets, resource policies, security groups),
VPC flow logs and private paths to AWS APIs."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ... import names
from ..core import Context, Finding, NotEvaluable, Outcome, Resource, resource_rule, stack_rule
from .helpers import (
    RESOURCE_POLICY_TYPES, S3_BUCKET_ACLS, as_list, buckets, condition_keys, configuring, fmt, for_bucket, is_false,
    is_set, is_true, is_unknown, label, mapping, number, policy_documents, principal_values, statements, undecided,
    unknown_documents,
)

# ACL grantees that mean everyone, or every AWS account.
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_ACCESS_BLOCK_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

# Condition keys that limit a ``*`` principal of a resource policy to known callers.
PRINCIPAL_LIMITING_KEYS = (
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths",
    "aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths", "aws:sourcevpc",
    "aws:sourcevpce", "aws:userid", "kms:calleraccount",
)

WORLD_CIDRS = ("0.0.0.0/0", "::/0")
WEB_PORTS = (80, 443)
ALL_PROTOCOLS = ("-1", "all")
# Interface endpoints a production VPC keeps credentials, keys and images traffic on (plus S3).
PROD_ENDPOINT_SERVICES = ("sts", "kms", "secretsmanager", "ecr.api", "ecr.dkr", "s3")


@resource_rule(
    "MAAS-NET-001",
    title="The EKS API endpoint is private",
    description="vpcConfig.endpointPrivateAccess is true and endpointPublicAccess is false (AWS defaults: private "
                "off, public on to 0.0.0.0/0).",
    severity="critical",
    remediation="Set vpcConfig.endpointPrivateAccess true and endpointPublicAccess false; reach the API from inside "
                "the VPC (CI runner, VPN, bastion). A deliberate public endpoint needs an exemption with its reason.",
    types=[names.EKS_CLUSTER],
    frameworks={"CIS EKS": ["5.4.1", "5.4.2"], "NIST 800-53": ["SC-7", "AC-3"], "SOC 2": ["CC6.6"]},
)
def eks_private_endpoint(resource: Resource, context: Context) -> Iterable[Outcome]:
    vpc = resource.props.get("vpcConfig")
    if is_unknown(vpc):
        yield NotEvaluable("vpcConfig")
        return
    vpc = mapping(vpc)
    public = vpc.get("endpointPublicAccess")
    if is_unknown(public):
        yield NotEvaluable("vpcConfig.endpointPublicAccess")
    elif not is_false(public):
        cidrs = as_list(vpc.get("publicAccessCidrs")) or ["0.0.0.0/0"]
        yield f"the API endpoint is public (endpointPublicAccess {public if public is not None else 'unset, default true'}; " \
              f"reachable from {', '.join(map(str, cidrs))})"
    private = vpc.get("endpointPrivateAccess")
    if is_unknown(private):
        yield NotEvaluable("vpcConfig.endpointPrivateAccess")
    elif not is_true(private):
        yield "endpointPrivateAccess is not true: nodes reach the API through the internet"


@resource_rule(
    "MAAS-NET-002",
    title="Databases are not publicly accessible",
    description="publiclyAccessible is false on every RDS instance and Aurora cluster instance; left unset, AWS may "
                "give the instance a public address.",
    severity="critical",
    remediation="Set publiclyAccessible false and place the database in the private subnets' DB subnet group.",
    types=[names.RDS_INSTANCE, names.RDS_CLUSTER_INSTANCE],
    frameworks={"CIS AWS": ["2.3.3"], "NIST 800-53": ["SC-7", "AC-3"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def database_not_public(resource: Resource, context: Context) -> Iterable[Outcome]:
    value = resource.props.get("publiclyAccessible")
    if is_unknown(value):
        yield NotEvaluable("publiclyAccessible")
    elif not is_false(value):
        yield f"publiclyAccessible is {value if value is not None else 'unset'}; it must be false"


def bucket_acl_problems(bucket_acl: Resource) -> Iterator[Outcome]:
    """What makes a BucketAcl public: a public canned ACL or a grant to a public grantee group."""
    acl = bucket_acl.props.get("acl")
    if is_unknown(acl):
        yield NotEvaluable("acl")
    elif acl in PUBLIC_ACLS:
        yield f"BucketAcl {bucket_acl.name} sets acl {acl}, which makes the bucket public"
    unknown = bucket_acl.unknown_at("accessControlPolicy.grants")
    if unknown:
        yield NotEvaluable(unknown)
        return
    for index, grant in enumerate(bucket_acl.get("accessControlPolicy.grants") or []):
        uri = mapping(mapping(grant).get("grantee")).get("uri")
        if is_unknown(uri) or is_unknown(grant) or is_unknown(mapping(grant).get("grantee")):
            yield NotEvaluable(f"accessControlPolicy.grants[{index}].grantee")
        elif uri in PUBLIC_GRANTEES:
            yield (f"BucketAcl {bucket_acl.name} grants {mapping(grant).get('permission') or 'access'} to "
                   f"{uri.rsplit('/', 1)[-1]}")


def as_findings(resource: Resource, outcomes: Iterable[Outcome]) -> Iterator[Union[Finding, NotEvaluable]]:
    """A resource check's outcomes as a stack rule's, on ``resource``."""
    for outcome in outcomes:
        yield outcome.at(resource.urn) if isinstance(outcome, NotEvaluable) else Finding(resource.urn, outcome)


@stack_rule(
    "MAAS-NET-003",
    title="S3 buckets block public access",
    description="Every bucket has a BucketPublicAccessBlock with all four settings true, and no public ACL: neither "
                "a public canned ACL on the bucket or a BucketAcl, nor a BucketAcl grant to all users or to every "
                "authenticated AWS account.",
    severity="critical",
    remediation="Add a BucketPublicAccessBlock for the bucket with blockPublicAcls, blockPublicPolicy, "
                "ignorePublicAcls and restrictPublicBuckets all true; drop any public acl.",
    frameworks={"CIS AWS": ["2.1.4"], "NIST 800-53": ["AC-3", "SC-7"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def s3_public_access_block(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    for bucket in buckets(resources):
        acl = bucket.props.get("acl")
        if is_unknown(acl):
            yield NotEvaluable("acl", bucket.urn)
        elif acl in PUBLIC_ACLS:
            yield Finding(bucket.urn, f"acl {acl} makes the bucket public")
        for bucket_acl in for_bucket(bucket, resources, S3_BUCKET_ACLS)[0]:
            yield from as_findings(bucket_acl, bucket_acl_problems(bucket_acl))
        blocks, unsure = for_bucket(bucket, resources, [names.S3_BUCKET_PUBLIC_ACCESS_BLOCK])
        if not blocks:
            yield from undecided(unsure, "bucket") or [
                Finding(bucket.urn, "no BucketPublicAccessBlock: a policy or ACL can still make the bucket public")]
            continue
        for block in blocks:
            yield from (NotEvaluable(s, block.urn) for s in PUBLIC_ACCESS_BLOCK_SETTINGS
                        if is_unknown(block.props.get(s)))
            off = [s for s in PUBLIC_ACCESS_BLOCK_SETTINGS
                   if not is_true(block.props.get(s)) and not is_unknown(block.props.get(s))]
            if off:
                yield Finding(bucket.urn, f"public access block {block.name} leaves {', '.join(off)} off")


def public_statement_problem(statement: Mapping[str, Any]) -> bool:
    """An Allow to ``*`` (or NotPrincipal) that no condition limits to known callers."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotPrincipal" in statement:
        return True
    if "*" not in principal_values(statement.get("Principal")):
        return False
    return not (condition_keys(statement) & set(PRINCIPAL_LIMITING_KEYS))


@resource_rule(
    "MAAS-NET-004",
    title="Resource policies grant nothing to the public",
    description="No queue, topic, bucket, secret, key or repository policy allows Principal '*' (or uses "
                "NotPrincipal in an Allow) unless a condition limits it to an account, organization, source ARN or "
                "VPC endpoint.",
    severity="critical",
    remediation="Name the principals (role ARNs, the account root, a service) or add a condition on aws:SourceArn, "
                "aws:SourceAccount, aws:PrincipalOrgID or aws:SourceVpce.",
    types=RESOURCE_POLICY_TYPES,
    frameworks={"NIST 800-53": ["AC-3", "AC-6"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def no_public_resource_policy(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from unknown_documents(resource)
    for where, doc in policy_documents(resource):
        for index, statement in enumerate(statements(doc)):
            if public_statement_problem(statement):
                yield f"{where} {label(statement, index)} allows anyone ('*' principal without a limiting condition)"


def world_open_ports(from_port: Any, to_port: Any, protocol: Any) -> Optional[str]:
    """The port range a world-open rule exposes beyond 80/443, or None when it exposes only those."""
    if str(protocol) in ALL_PROTOCOLS:
        return "all ports"
    low, high = number(from_port), number(to_port)
    if low is None or high is None:
        return "all ports" if from_port is None and to_port is None else None
    if low == high and int(low) in WEB_PORTS:
        return None
    return f"ports {fmt(low)}-{fmt(high)}" if low != high else f"port {fmt(low)}"


def exposure(rule: Mapping[str, Any], cidrs: Sequence[str], ports: tuple[str, str, str], where: str, path: str
             ) -> Iterator[Outcome]:
    """What one ingress rule opens to the world. ``cidrs`` are the keys of its CIDRs, ``ports``
    the keys of its from port, to port and protocol; ``where`` names it in messages and ``path``
    is its property path (empty for a rule resource's own properties)."""
    prefix = f"{path}." if path else ""
    unknown = [key for key in cidrs if is_unknown(rule.get(key))]
    world = [c for key in cidrs for c in as_list(rule.get(key)) if c in WORLD_CIDRS]
    if not world:
        yield from (NotEvaluable(f"{prefix}{key}") for key in unknown)
        return
    low, high, protocol = (rule.get(key) for key in ports)
    if str(protocol) not in ALL_PROTOCOLS and any(is_unknown(v) for v in (low, high, protocol)):
        yield from (NotEvaluable(f"{prefix}{key}") for key, v in zip(ports, (low, high, protocol)) if is_unknown(v))
        return
    exposed = world_open_ports(low, high, protocol)
    if exposed:
        yield f"{where} opens {exposed} to {', '.join(world)}"


@resource_rule(
    "MAAS-NET-005",
    title="Security groups admit no traffic from the whole internet",
    description="No ingress rule opens a port other than 80 or 443 to 0.0.0.0/0 or ::/0 (inline rules, "
                "SecurityGroupRule and SecurityGroupIngressRule).",
    severity="critical",
    remediation="Allow ingress from the VPC CIDR or from other security groups; expose services through the "
                "load balancer on 443.",
    types=[names.EC2_SECURITY_GROUP, names.EC2_SECURITY_GROUP_RULE, names.VPC_SECURITY_GROUP_INGRESS_RULE],
    frameworks={"CIS AWS": ["5.2", "5.3"], "NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def no_world_ingress(resource: Resource, context: Context) -> Iterable[Outcome]:
    props = resource.props
    group_ports = ("fromPort", "toPort", "protocol")
    if resource.type == names.EC2_SECURITY_GROUP:
        ingress = props.get("ingress")
        if is_unknown(ingress):
            yield NotEvaluable("ingress")
            return
        for index, rule in enumerate(as_list(ingress)):
            if is_unknown(rule):
                yield NotEvaluable(f"ingress[{index}]")
            elif isinstance(rule, Mapping):
                yield from exposure(rule, ("cidrBlocks", "ipv6CidrBlocks"), group_ports, f"ingress[{index}]",
                                    f"ingress[{index}]")
    elif resource.type == names.EC2_SECURITY_GROUP_RULE:
        kind = props.get("type")
        if is_unknown(kind):
            yield NotEvaluable("type")
        elif kind == "ingress":
            yield from exposure(props, ("cidrBlocks", "ipv6CidrBlocks"), group_ports, "the rule", "")
    else:
        cidr = "cidrIpv4" if props.get("cidrIpv4") else "cidrIpv6"
        yield from exposure(props, (cidr,), ("fromPort", "toPort", "ipProtocol"), "the rule", "")


def unmatched_vpcs(resources: Sequence[Resource], covering: Sequence[Resource], message: str
                   ) -> Iterator[Union[Finding, NotEvaluable]]:
    """VPCs that no covering resource (flow log, default group) names by its ``vpcId``: a
    finding, or not evaluable while a covering resource names a VPC not known yet."""
    types = sorted({r.type for r in covering})
    for vpc in (r for r in resources if r.type == names.EC2_VPC):
        matched, unsure = configuring(vpc, covering, types, "vpcId")
        if not matched:
            yield from undecided(unsure, "vpcId") or [Finding(vpc.urn, message)]


@stack_rule(
    "MAAS-NET-006",
    title="The default security group of every VPC denies all traffic",
    description="Every VPC adopts its default security group (DefaultSecurityGroup) with no ingress and no egress "
                "rule; AWS's default group admits traffic between its members and all egress.",
    severity="medium",
    remediation="Declare a DefaultSecurityGroup for the VPC with no ingress and no egress.",
    frameworks={"CIS AWS": ["5.4"], "NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def default_security_group_closed(resources: Sequence[Resource], context: Context
                                  ) -> Iterable[Union[Finding, NotEvaluable]]:
    defaults = [r for r in resources if r.type == names.EC2_DEFAULT_SECURITY_GROUP]
    for group in defaults:
        yield from (NotEvaluable(d, group.urn) for d in ("ingress", "egress") if is_unknown(group.props.get(d)))
        open_rules = [d for d in ("ingress", "egress")
                      if as_list(group.props.get(d)) and not is_unknown(group.props.get(d))]
        if open_rules:
            yield Finding(group.urn, f"the default security group keeps {' and '.join(open_rules)} rules")
    yield from unmatched_vpcs(resources, defaults, "no DefaultSecurityGroup adopts this VPC's default group, "
                                                   "which admits traffic between its members")


@stack_rule(
    "MAAS-NET-007",
    title="Every VPC records flow logs of all traffic",
    description="Every VPC has a FlowLog (same component, its vpcId) with trafficType ALL, delivered to a "
                "destination.",
    severity="medium",
    remediation="Add a FlowLog with vpcId, trafficType ALL and a log group (retained and encrypted) as destination.",
    frameworks={"CIS AWS": ["3.7"], "NIST 800-53": ["AU-12", "SI-4"], "SOC 2": ["CC7.2"]},
)
def vpc_flow_logs(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    flow_logs = [r for r in resources if r.type == names.EC2_FLOW_LOG]
    complete = []
    for log in flow_logs:
        traffic = log.props.get("trafficType")
        if traffic != "ALL" and not is_unknown(traffic):
            yield Finding(log.urn, f"trafficType is {traffic or 'unset'}: record ALL traffic, accepted and rejected")
        elif not is_set(log.props.get("logDestination")) and not is_set(log.props.get("logGroupName")):
            yield Finding(log.urn, "the flow log names no destination")
        else:
            if is_unknown(traffic):
                yield NotEvaluable("trafficType", log.urn)
            complete.append(log)
    yield from unmatched_vpcs(resources, complete, "no flow log records this VPC's traffic")


@resource_rule(
    "MAAS-NET-008",
    title="Subnets do not hand out public IP addresses",
    description="mapPublicIpOnLaunch is not true: nodes live in private subnets, and NAT gateways and load "
                "balancers get their public addresses explicitly.",
    severity="medium",
    remediation="Set mapPublicIpOnLaunch false (the default) on every subnet.",
    types=[names.EC2_SUBNET],
    frameworks={"NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def no_public_ip_on_launch(resource: Resource, context: Context) -> Iterable[Outcome]:
    value = resource.props.get("mapPublicIpOnLaunch")
    if is_unknown(value):
        yield NotEvaluable("mapPublicIpOnLaunch")
    elif value is True:
        yield "mapPublicIpOnLaunch is true: every instance launched here is reachable from the internet"


def endpoint_service(name: Any) -> Optional[str]:
    """``com.amazonaws.us-east-1.ecr.api`` -> ``ecr.api``."""
    if not isinstance(name, str) or is_unknown(name):
        return None
    parts = name.split(".")
    return ".".join(parts[3:]) if len(parts) > 3 else None


@stack_rule(
    "MAAS-NET-009",
    title="Production VPCs reach AWS APIs through VPC endpoints",
    description="In prod, every VPC of the stack has endpoints (whose vpcId names it) for sts, kms, secretsmanager, "
                "ecr.api, ecr.dkr and s3, so credentials, keys, secrets and images never cross the NAT gateway; "
                "interface endpoints have private DNS on.",
    severity="low",
    remediation="Keep maas:network.interface_endpoints on in prod (VpcEndpoint per service, privateDnsEnabled true).",
    frameworks={"NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def prod_vpc_endpoints(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    if not context.prod:
        return
    endpoints = [r for r in resources if r.type == names.EC2_VPC_ENDPOINT]
    for endpoint in endpoints:
        kind, private_dns = endpoint.props.get("vpcEndpointType"), endpoint.props.get("privateDnsEnabled")
        if is_true(private_dns) or (kind != "Interface" and not is_unknown(kind)):
            continue  # private DNS on, or a gateway endpoint (which has no DNS of its own)
        if is_unknown(private_dns) or is_unknown(kind):
            yield NotEvaluable("privateDnsEnabled" if is_unknown(private_dns) else "vpcEndpointType", endpoint.urn)
        else:
            yield Finding(endpoint.urn, "privateDnsEnabled is not true: SDKs keep resolving the public service endpoint")
    for vpc in (r for r in resources if r.type == names.EC2_VPC):
        own, unsure = configuring(vpc, endpoints, [names.EC2_VPC_ENDPOINT], "vpcId")
        services = {endpoint_service(e.props.get("serviceName")) for e in own}
        missing = [s for s in PROD_ENDPOINT_SERVICES if s not in services]
        if missing:
            unknown = [NotEvaluable("serviceName", e.urn) for e in own if is_unknown(e.props.get("serviceName"))]
            yield from unknown + undecided(unsure, "vpcId") or [Finding(vpc.urn, f"no VPC endpoint for {', '.join(missing)}")]
