"""Pricing rules: resource type token -> what that resource costs per month.

A rule is a pure function ``(inputs, context, prices, usage) -> [Component]``: the
resource's inputs as the engine recorded them (camelCase), the plan around it
(:class:`~.context.ResourceContext`), the region's :class:`~.prices.PriceTable` and the
:class:`~.usage.Usage` assumptions. Time-priced lines are ``baseline``, lines whose
quantity comes from ``usage.yaml`` are ``usage``. A rule that needs a price the table
lacks raises :class:`~.prices.MissingPrice`, and the resource is listed as unpriced.

Types that cost nothing by themselves are in :data:`FREE`, each for a stated reason.
A type in neither :data:`RULES` nor :data:`FREE` is unpriced — never silently zero.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from .. import names
from .capacity import node_lines
from .context import LB_CONTROLLER_CHART, ResourceContext, chart_name, gib
from .prices import Component, MissingPrice, PriceTable
from .usage import Usage

if TYPE_CHECKING:
    from ..plan.model import PlannedResource

Rule = Callable[[dict[str, Any], ResourceContext, PriceTable, Usage], list[Component]]
RULES: dict[str, Rule] = {}

DAYS_PER_MONTH = 365 / 12
# CloudWatch bills an instance's detailed monitoring as its metrics (about seven).
DETAILED_MONITORING_METRICS = 7
# Log groups that never expire are assumed to keep a year of logs.
NEVER_EXPIRE_MONTHS = 12
# Managed node groups without an instance type or disk size get EKS's defaults.
EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"
EKS_DEFAULT_DISK_GIB = 20
MQ_INSTANCES = {"SINGLE_INSTANCE": 1, "ACTIVE_STANDBY_MULTI_AZ": 2, "CLUSTER_MULTI_AZ": 3}
# KMS request rates by key spec (prices.yaml): RSA 2048 keys cost what symmetric keys cost, every
# other asymmetric spec (ECC, other RSA sizes, SM2) the asymmetric rate.
SYMMETRIC_RATE_KEY_SPECS = ("SYMMETRIC_DEFAULT", "RSA_2048")
ASYMMETRIC_KEY_SPECS = ("RSA_", "ECC_", "SM2")

# Types that cost nothing by themselves, and why. Kubernetes workloads run on the nodes, which
# the node groups and the node pools price (cost/capacity.py packs the pods onto them); their
# per-agent share is reported as an allocation.
FREE: dict[str, str] = {
    **{t: "IAM is free" for t in (
        names.IAM_ROLE, names.IAM_ROLE_POLICY, names.IAM_ROLE_POLICY_ATTACHMENT,
        names.IAM_POLICY, names.IAM_OPEN_ID_CONNECT_PROVIDER,
        names.IAM_INSTANCE_PROFILE, names.IAM_SERVICE_LINKED_ROLE,
    )},
    **{t: "VPC plumbing is free" for t in (
        names.EC2_VPC, names.EC2_SUBNET, names.EC2_ROUTE_TABLE, names.EC2_ROUTE,
        names.EC2_ROUTE_TABLE_ASSOCIATION, names.EC2_MAIN_ROUTE_TABLE_ASSOCIATION,
        names.EC2_DEFAULT_ROUTE_TABLE, names.EC2_INTERNET_GATEWAY,
        names.EC2_EGRESS_ONLY_INTERNET_GATEWAY, names.EC2_SECURITY_GROUP,
        names.EC2_DEFAULT_SECURITY_GROUP, names.EC2_SECURITY_GROUP_RULE,
        names.VPC_SECURITY_GROUP_INGRESS_RULE,
        names.VPC_SECURITY_GROUP_EGRESS_RULE,
        names.EC2_NETWORK_ACL, names.EC2_DEFAULT_NETWORK_ACL,
    )},
    names.EC2_LAUNCH_TEMPLATE: "its instances and volumes are priced on the node group using it",
    names.K8S_EC2_NODE_CLASS: "its nodes, volumes and monitoring are priced on the NodePools that use it",
    names.EC2_TAG: "tags are free",
    **{t: "AWS service events on the default event bus are free, rules and deliveries included "
          "(https://aws.amazon.com/eventbridge/pricing/, read 2026-12-02)" for t in (
        names.CLOUDWATCH_EVENT_RULE, names.CLOUDWATCH_EVENT_TARGET,
    )},
    **{t: "EKS access, add-ons and identities are free (add-on pods run on the nodes)" for t in (
        names.EKS_ACCESS_ENTRY, names.EKS_ACCESS_POLICY_ASSOCIATION,
        names.EKS_ADDON, names.EKS_POD_IDENTITY_ASSOCIATION,
        names.EKS_IDENTITY_PROVIDER_CONFIG,
    )},
    names.KMS_ALIAS: "aliases are free",
    **{t: "repository settings are free (stored images and their scans are priced on the repository)" for t in (
        names.ECR_REPOSITORY_POLICY, names.ECR_LIFECYCLE_POLICY,
    )},
    names.ECR_REGISTRY_SCANNING_CONFIGURATION: "a setting of the registry: ENHANCED scans are billed by Amazon Inspector "
                                               "per image, priced on each repository the rules cover",
    names.KMS_GRANT: "grants are free",
    **{t: "bucket settings are free (storage and requests are priced on the bucket)" for t in (
        names.S3_BUCKET_PUBLIC_ACCESS_BLOCK,
        names.S3_BUCKET_OWNERSHIP_CONTROLS, names.S3_BUCKET_VERSIONING,
        names.S3_BUCKET_VERSIONING_V2,
        names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
        names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION_V2,
        names.S3_BUCKET_LIFECYCLE_CONFIGURATION,
        names.S3_BUCKET_LIFECYCLE_CONFIGURATION_V2,
        names.S3_BUCKET_POLICY, names.S3_BUCKET_CORS_CONFIGURATION,
    )},
    names.SQS_QUEUE_POLICY: "queue policies are free",
    names.SQS_REDRIVE_ALLOW_POLICY: "queue policies are free",
    names.SQS_REDRIVE_POLICY: "queue policies are free",
    names.SNS_TOPIC_POLICY: "topic policies are free",
    names.SNS_TOPIC_SUBSCRIPTION: "deliveries to SQS are free (publishes are priced on the topic)",
    names.SECRETSMANAGER_SECRET_POLICY: "secret policies are free",
    names.SECRETSMANAGER_SECRET_VERSION: "versions are included in the secret's price",
    names.RDS_SUBNET_GROUP: "RDS groups are free",
    names.RDS_CLUSTER_PARAMETER_GROUP: "RDS groups are free",
    names.RDS_PARAMETER_GROUP: "RDS groups are free",
    names.BUDGETS_BUDGET: "budgets without actions are free",
    names.BEDROCK_INFERENCE_PROFILE: "a profile costs nothing by itself: its tokens are billed per call, estimated "
                                     "in cost.llm (cost/llm.py)",
    **{t: "a guardrail costs nothing at rest: it bills per text unit its policies evaluate (Amazon Bedrock pricing, "
          "read 2026-12-03), usage not estimated" for t in (names.BEDROCK_GUARDRAIL, names.BEDROCK_GUARDRAIL_VERSION)},
    names.BEDROCK_INVOCATION_LOGGING: "a setting of the account and region: the log group it writes to is priced",
    names.COSTEXPLORER_COST_ALLOCATION_TAG: "activating cost-allocation tags is free",
    **{t: "generated locally, no cloud resource" for t in (
        names.RANDOM_PASSWORD, "random:index/randomId:RandomId",
        "random:index/randomString:RandomString", "random:index/randomPet:RandomPet",
        "random:index/randomUuid:RandomUuid", "random:index/randomInteger:RandomInteger",
        names.TLS_PRIVATE_KEY, names.TLS_SELF_SIGNED_CERT,
    )},
    **{t: "a Kubernetes object: its pods, if any, run on the nodes the node groups and node pools price" for t in (
        names.K8S_NAMESPACE, names.K8S_CONFIG_MAP, names.K8S_SECRET,
        names.K8S_SERVICE_ACCOUNT, names.K8S_LIMIT_RANGE, names.K8S_RESOURCE_QUOTA,
        names.K8S_DEPLOYMENT, names.K8S_DAEMON_SET, names.K8S_JOB,
        names.K8S_CRON_JOB, names.K8S_POD_DISRUPTION_BUDGET,
        names.K8S_HORIZONTAL_POD_AUTOSCALER, names.K8S_NETWORK_POLICY,
        names.K8S_INGRESS_CLASS, names.K8S_STORAGE_CLASS,
        names.K8S_ROLE, names.K8S_ROLE_BINDING,
        names.K8S_CLUSTER_ROLE,
        names.K8S_CLUSTER_ROLE_BINDING,
        names.K8S_PRIORITY_CLASS,
        names.K8S_CUSTOM_RESOURCE_DEFINITION,
        names.K8S_EXTERNAL_SECRET, names.K8S_SECRET_STORE,
        names.K8S_CLUSTER_SECRET_STORE,
        names.K8S_SCALED_OBJECT, names.K8S_SCALED_JOB,
        names.K8S_TRIGGER_AUTHENTICATION,
        names.K8S_CLUSTER_TRIGGER_AUTHENTICATION,
        names.K8S_SERVICE_MONITOR, names.K8S_POD_MONITOR,
        names.K8S_PROBE, names.K8S_PROMETHEUS_RULE,
        names.K8S_VALIDATING_ADMISSION_POLICY, names.K8S_VALIDATING_ADMISSION_POLICY_BINDING,
        names.K8S_ROLLOUT, names.K8S_ANALYSIS_TEMPLATE, names.K8S_IMAGE_VALIDATING_POLICY,
    )},
}


def rule(*types: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        for type_token in types:
            RULES[type_token] = function
        return function
    return register


def _number(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _ingest_and_storage(prices: PriceTable, label: str, gb: float, retention_days: float, usage: Usage,
                        ingest_key: Optional[str] = "cloudwatch.logs.ingest_gb") -> list[Component]:
    """Ingestion of ``gb`` a month, and the steady-state storage of what retention keeps
    (compressed by ``logs.stored_fraction``); no retention keeps :data:`NEVER_EXPIRE_MONTHS`."""
    lines = []
    if ingest_key:
        lines.append(prices.component(f"{label}: ingestion", ingest_key, gb))
    months = retention_days / DAYS_PER_MONTH if retention_days else NEVER_EXPIRE_MONTHS
    kept = f"{retention_days:g} days kept" if retention_days else f"never expires: {NEVER_EXPIRE_MONTHS} months assumed"
    stored = gb * months * _number(usage.get("logs", "stored_fraction"))
    lines.append(prices.component(f"{label}: storage ({kept})", "cloudwatch.logs.storage_gb_month", stored))
    return lines


# -- EKS and EC2 ------------------------------------------------------------------------------

@rule(names.EKS_CLUSTER)
def eks_cluster(inputs, ctx, prices, usage):
    support = str((inputs.get("upgradePolicy") or {}).get("supportType") or "STANDARD").upper()
    # EXTENDED costs more only once the version leaves standard support; price what it costs now.
    return [prices.hourly(f"EKS control plane ({support.lower()} support)", "eks.cluster.hour")]


def node_group_shape(node_group: PlannedResource, ctx: ResourceContext) -> tuple[str, int, dict[str, Any]]:
    """Instance type, node count and launch template inputs of a managed node group."""
    inputs = node_group.inputs
    template = ctx.plan.launch_template_for(node_group)
    template_inputs = template.inputs if template else {}
    types = inputs.get("instanceTypes") or ([template_inputs["instanceType"]] if template_inputs.get("instanceType") else [])
    scaling = inputs.get("scalingConfig") or {}
    count = int(_number(scaling.get("desiredSize"), _number(scaling.get("minSize"), 1)))
    return str(types[0]) if types else EKS_DEFAULT_INSTANCE_TYPE, count, template_inputs


@rule(names.EKS_NODE_GROUP)
def eks_node_group(inputs, ctx, prices, usage):
    instance_type, count, template = node_group_shape(ctx.resource, ctx)
    spot = str(inputs.get("capacityType") or "ON_DEMAND").upper() == "SPOT"
    if spot:
        hourly, basis = prices.spot_hourly(instance_type, prices.get(f"ec2.instance.{instance_type}").value)
        lines = [Component(name=f"nodes: {count} × {instance_type} spot ({basis})",
                           quantity=float(count * prices.hours_per_month), unit="instance-hour",
                           unit_price=round(hourly, 6), kind="baseline",
                           price=f"ec2.spot.{instance_type}" if prices.spot_price(instance_type)
                           else f"ec2.instance.{instance_type}")]
    else:
        lines = [prices.hourly(f"nodes: {count} × {instance_type} on-demand", f"ec2.instance.{instance_type}", count)]
    volumes = [m.get("ebs") or {} for m in template.get("blockDeviceMappings") or [] if m.get("ebs")]
    if not volumes:
        volumes = [{"volumeSize": inputs.get("diskSize") or EKS_DEFAULT_DISK_GIB, "volumeType": "gp3"}]
    for volume in volumes:
        size, kind = _number(volume.get("volumeSize"), EKS_DEFAULT_DISK_GIB), str(volume.get("volumeType") or "gp3")
        lines.append(prices.component(f"root volumes: {count} × {size:g} GiB {kind}", f"ebs.{kind}.gb_month",
                                      count * size, "baseline"))
    if (template.get("monitoring") or {}).get("enabled"):
        lines.append(prices.component(
            f"EC2 detailed monitoring: {count} × {DETAILED_MONITORING_METRICS} metrics", "cloudwatch.metric.month",
            count * DETAILED_MONITORING_METRICS,
        ))
    return lines


@rule(names.EC2_INSTANCE)
def ec2_instance(inputs, ctx, prices, usage):
    instance_type = str(inputs.get("instanceType") or "")
    lines = [prices.hourly(f"instance {instance_type}", f"ec2.instance.{instance_type}")]
    root = inputs.get("rootBlockDevice") or {}
    size = _number(root.get("volumeSize"), 8)
    kind = str(root.get("volumeType") or "gp3")
    lines.append(prices.component(f"root volume {size:g} GiB {kind}", f"ebs.{kind}.gb_month", size, "baseline"))
    if inputs.get("monitoring"):
        lines.append(prices.component(f"detailed monitoring: {DETAILED_MONITORING_METRICS} metrics",
                                      "cloudwatch.metric.month", DETAILED_MONITORING_METRICS))
    if inputs.get("associatePublicIpAddress"):
        lines.append(prices.hourly("public IPv4 address", "vpc.public_ipv4.hour"))
    return lines


@rule(names.EBS_VOLUME)
def ebs_volume(inputs, ctx, prices, usage):
    size, kind = _number(inputs.get("size")), str(inputs.get("type") or "gp3")
    return [prices.component(f"{size:g} GiB {kind}", f"ebs.{kind}.gb_month", size, "baseline")]


@rule(names.K8S_NODE_POOL)
def node_pool(inputs, ctx, prices, usage):
    """The nodes the packing (:mod:`.capacity`) launches for this pool: Spot and On-Demand apart."""
    packing = ctx.plan.capacity
    target = next((t for t in packing.targets if t.urn == ctx.resource.urn), None) if packing else None
    if target is not None and not target.shapes:
        raise MissingPrice("ec2.instance.<a type the pool allows>", prices.region)
    if target is None or not target.nodes:
        return []
    lines = []
    for instance_type, capacity, count, hourly in node_lines(target):
        key = f"ec2.instance.{instance_type}"
        if capacity == "spot":
            basis = prices.spot_hourly(instance_type, prices.get(key).value)[1]
            spot_key = f"ec2.spot.{instance_type}" if prices.spot_price(instance_type) else key
            lines.append(Component(name=f"nodes: {count} × {instance_type} spot ({basis})",
                                   quantity=float(count * prices.hours_per_month), unit="instance-hour",
                                   unit_price=round(hourly, 6), kind="baseline", price=spot_key))
        else:
            lines.append(prices.hourly(f"nodes: {count} × {instance_type} on-demand", key, count))
    count = len(target.nodes)
    for size, kind in target.volumes:
        lines.append(prices.component(f"node volumes: {count} × {size:g} GiB {kind}", f"ebs.{kind}.gb_month",
                                      count * size, "baseline"))
    if target.monitoring:
        lines.append(prices.component(f"EC2 detailed monitoring: {count} × {DETAILED_MONITORING_METRICS} metrics",
                                      "cloudwatch.metric.month", count * DETAILED_MONITORING_METRICS))
    return lines


# -- network --------------------------------------------------------------------------------

@rule(names.EC2_NAT_GATEWAY)
def nat_gateway(inputs, ctx, prices, usage):
    share = _number(usage.get("network", "nat_gb_per_month")) / max(ctx.plan.nat_gateway_count, 1)
    return [
        prices.hourly("NAT gateway", "vpc.nat_gateway.hour"),
        prices.component("data processed (share of network.nat_gb_per_month)", "vpc.nat_gateway.gb", share),
    ]


@rule(names.EC2_EIP)
def elastic_ip(inputs, ctx, prices, usage):
    return [prices.hourly("public IPv4 address", "vpc.public_ipv4.hour")]


@rule(names.EC2_VPC_ENDPOINT)
def vpc_endpoint(inputs, ctx, prices, usage):
    kind = str(inputs.get("vpcEndpointType") or "Gateway")
    service = str(inputs.get("serviceName") or "").rsplit(".", 1)[-1]
    if kind == "Gateway":
        return []  # S3 and DynamoDB gateway endpoints are free
    if kind != "Interface":
        raise MissingPrice(f"vpc.{kind.lower()}_endpoint.hour", prices.region)
    zones = len(inputs.get("subnetIds") or []) or 1
    return [
        prices.hourly(f"interface endpoint {service}: {zones} AZ", "vpc.interface_endpoint.az_hour", zones),
        prices.component("data processed (network.endpoint_gb_per_month)", "vpc.interface_endpoint.gb",
                         _number(usage.get("network", "endpoint_gb_per_month"))),
    ]


@rule(names.EC2_FLOW_LOG)
def flow_log(inputs, ctx, prices, usage):
    destination = str(inputs.get("logDestinationType") or "cloud-watch-logs")
    key = {"cloud-watch-logs": "cloudwatch.logs.vended_gb", "s3": "cloudwatch.logs.vended_s3_gb"}.get(destination)
    if key is None:
        raise MissingPrice(f"cloudwatch.logs.vended_{destination}_gb", prices.region)
    gb = _number(usage.get("network", "flow_log_gb_per_month"))
    return [prices.component(f"flow log records delivered to {destination} (network.flow_log_gb_per_month)", key, gb)]


def _alb(prices: PriceTable, usage: Usage, label: str, public: bool, zones: int) -> list[Component]:
    lines = [
        prices.hourly(f"ALB {label}", "elb.alb.hour"),
        prices.component(f"ALB {label}: LCUs (load_balancers.alb_lcu average)", "elb.alb.lcu_hour",
                         _number(usage.get("load_balancers", "alb_lcu")) * prices.hours_per_month),
    ]
    if public:
        lines.append(prices.hourly(f"ALB {label}: {zones} public IPv4 addresses", "vpc.public_ipv4.hour", zones))
    return lines


def _nlb(prices: PriceTable, usage: Usage, label: str, public: bool, zones: int) -> list[Component]:
    lines = [
        prices.hourly(f"NLB {label}", "elb.nlb.hour"),
        prices.component(f"NLB {label}: NLCUs (load_balancers.nlb_lcu average)", "elb.nlb.lcu_hour",
                         _number(usage.get("load_balancers", "nlb_lcu")) * prices.hours_per_month),
    ]
    if public:
        lines.append(prices.hourly(f"NLB {label}: {zones} public IPv4 addresses", "vpc.public_ipv4.hour", zones))
    return lines


@rule(names.LB_LOAD_BALANCER, names.ALB_LOAD_BALANCER)
def load_balancer(inputs, ctx, prices, usage):
    kind = str(inputs.get("loadBalancerType") or "application")
    public = not inputs.get("internal", False)
    zones = len(inputs.get("subnets") or inputs.get("subnetMappings") or []) or ctx.plan.az_count
    label = str(inputs.get("name") or ctx.name)
    if kind == "application":
        return _alb(prices, usage, label, public, zones)
    if kind == "network":
        return _nlb(prices, usage, label, public, zones)
    raise MissingPrice(f"elb.{kind}.hour", prices.region)


# -- keys, secrets, logs, alarms ---------------------------------------------------------------

@rule(names.KMS_KEY)
def kms_key(inputs, ctx, prices, usage):
    """$1 a month for any key; its requests at the rate of its key spec. A signing key (SIGN_VERIFY)
    is used as many times as its agent releases (delivery.signing_requests_per_month), any other
    key as ``kms.requests_per_key`` says."""
    spec = str(inputs.get("keySpec") or inputs.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT")
    if spec in SYMMETRIC_RATE_KEY_SPECS:
        key = "kms.requests.10k"
    elif spec.startswith(ASYMMETRIC_KEY_SPECS):
        key = "kms.asymmetric_requests.10k"
    else:  # HMAC keys have a request price of their own
        raise MissingPrice(f"kms.{spec.lower()}.requests.10k", prices.region)
    if str(inputs.get("keyUsage") or "ENCRYPT_DECRYPT") == "SIGN_VERIFY":
        label = "delivery.signing_requests_per_month"
        requests = _number(usage.agent(ctx.agent.name if ctx.agent else None)["delivery"]["signing_requests_per_month"])
    else:
        label, requests = "kms.requests_per_key", _number(usage.get("kms", "requests_per_key"))
    what = "customer managed key" if spec == "SYMMETRIC_DEFAULT" else f"customer managed key ({spec})"
    return [
        prices.component(what, "kms.key.month", 1),
        prices.component(f"requests ({label})", key, requests / 10_000),
    ]


# -- delivery: the agents' registries ------------------------------------------------------------

def _images_kept(rules: Optional[list[dict[str, Any]]], pushes: float) -> tuple[float, str]:
    """Tagged images a repository holds at steady state, and what says so: an ``imageCountMoreThan``
    rule on tagged images keeps its count, a ``sinceImagePushed`` one a month's pushes per
    :data:`DAYS_PER_MONTH` days; without a rule on tagged images they never expire
    (:data:`NEVER_EXPIRE_MONTHS` of pushes assumed). Untagged images (a build's leftovers) are not counted."""
    kept = []
    for item in rules or []:
        selection = item.get("selection") or {}
        if selection.get("tagStatus") not in ("tagged", "any"):
            continue
        if selection.get("countType") == "imageCountMoreThan":
            kept.append((_number(selection.get("countNumber")), "its lifecycle policy"))
        elif selection.get("countType") == "sinceImagePushed":
            days = _number(selection.get("countNumber"))
            kept.append((pushes * days / DAYS_PER_MONTH, f"{days:g} days of delivery.pushes_per_month"))
    if not kept:
        return pushes * NEVER_EXPIRE_MONTHS, f"no expiry: {NEVER_EXPIRE_MONTHS} months of delivery.pushes_per_month"
    return min(kept)


def _signed(ctx: ResourceContext) -> bool:
    """A signing key (SIGN_VERIFY) beside the repository: each release is an image and its cosign
    signature, an artifact tagged ``sha256-<digest>.sig`` in the same repository (components/agent/registry.py)."""
    return any(str(r.inputs.get("keyUsage")) == "SIGN_VERIFY" for r in ctx.plan.of_type(names.KMS_KEY)
               if r.parent == ctx.resource.parent)


@rule(names.ECR_REPOSITORY)
def ecr_repository(inputs, ctx, prices, usage):
    """The images the repository keeps, and Amazon Inspector's scans of them where the registry
    scans it ENHANCED: each pushed image once, and rescans under continuous scanning. A plan without
    the registry's scanning configuration (a team stack, whose platform stack sets it, or a platform
    with ``maas:delivery.registry_scanning`` off, where the account's security team does) is priced
    as the platform sets it, on push and continuous; a BASIC registry scans for free."""
    name = str(inputs.get("name") or ctx.name)
    assumed = usage.agent(ctx.agent.name if ctx.agent else None)["delivery"]
    pushes, image_gb = _number(assumed["pushes_per_month"]), _number(assumed["image_gb"])
    tagged, basis = _images_kept(ctx.plan.lifecycle_rules(name), pushes)
    images = tagged / 2 if _signed(ctx) else tagged
    if images != tagged:
        basis = f"{tagged:g} tagged by {basis}, half of them signatures of a few KB"
    lines = [prices.component(f"storage: {images:g} images × {image_gb:g} GB ({basis}; delivery.image_gb)",
                              "ecr.storage.gb_month", images * image_gb)]
    frequencies = ctx.plan.scan_frequencies(name)
    assumed_here = frequencies is None
    if assumed_here:
        frequencies = {"SCAN_ON_PUSH", "CONTINUOUS_SCAN"}
    where = "registry scanning set outside this stack, assumed enhanced" if assumed_here else "enhanced scanning"
    if frequencies:
        lines.append(prices.component(f"Inspector scans of pushed images ({where}; delivery.pushes_per_month)",
                                      "inspector.ecr.initial_scan", pushes))
    if "CONTINUOUS_SCAN" in frequencies:
        lines.append(prices.component("Inspector rescans (continuous scanning; delivery.rescans_per_month)",
                                      "inspector.ecr.rescan", _number(assumed["rescans_per_month"])))
    return lines


@rule(names.INSPECTOR2_ENABLER)
def inspector_enabler(inputs, ctx, prices, usage):
    """Turning Amazon Inspector on costs nothing by itself: it bills per scan. ECR scans are priced on
    the repositories; the other resource types (EC2, Lambda, code) have prices of their own."""
    others = sorted(str(t) for t in inputs.get("resourceTypes") or [] if str(t) != "ECR")
    if others:
        raise MissingPrice(f"inspector.{others[0].lower()}", prices.region)
    return []


@rule(names.BUDGETS_BUDGET_ACTION)
def budget_action(inputs, ctx, prices, usage):
    """An action makes its budget action-enabled, billed per budget-day past the account's first 62
    a month (two budgets), which the estimate does not share out: every action-enabled budget is
    priced. Several actions on one budget are billed once; the platform puts one on each."""
    return [prices.component("action-enabled budget", "budgets.action_enabled.day", DAYS_PER_MONTH)]


@rule(names.SECRETSMANAGER_SECRET)
def secret(inputs, ctx, prices, usage):
    copies = 1 + len(inputs.get("replicas") or [])
    return [
        prices.component("secret" + (f" and {copies - 1} replicas" if copies > 1 else ""), "secretsmanager.secret.month",
                         copies),
        prices.component("API calls (secrets.api_calls_per_secret)", "secretsmanager.api.10k",
                         _number(usage.get("secrets", "api_calls_per_secret")) / 10_000),
    ]


def _log_group_gb(name: str, ctx: ResourceContext, usage: Usage) -> tuple[str, float]:
    if ctx.agent is not None and name.startswith("/aws/rds/cluster/"):  # created before the cluster, for RDS
        return f"exported database logs of agent {ctx.agent.name}", _number(_postgres_usage(ctx, usage)["log_gb_per_month"])
    if ctx.agent is not None:
        return f"container logs of agent {ctx.agent.name}", _number(usage.agent(ctx.agent.name)["log_gb_per_month"])
    for pattern, gb in usage.get("logs", "groups").items():
        if fnmatch.fnmatchcase(name, pattern):
            return f"logs ({pattern})", _number(gb)
    return "logs (logs.default_gb_per_month)", _number(usage.get("logs", "default_gb_per_month"))


@rule(names.CLOUDWATCH_LOG_GROUP)
def log_group(inputs, ctx, prices, usage):
    name = str(inputs.get("name") or ctx.name)
    retention = _number(inputs.get("retentionInDays"))
    if name in ctx.plan.flow_log_groups:
        # The flow log pays for delivery; the group stores what it receives.
        gb = _number(usage.get("network", "flow_log_gb_per_month"))
        return _ingest_and_storage(prices, "flow log records", gb, retention, usage, ingest_key=None)
    label, gb = _log_group_gb(name, ctx, usage)
    infrequent = str(inputs.get("logGroupClass") or "STANDARD") == "INFREQUENT_ACCESS"
    key = "cloudwatch.logs.ingest_ia_gb" if infrequent else "cloudwatch.logs.ingest_gb"
    return _ingest_and_storage(prices, label, gb, retention, usage, ingest_key=key)


@rule(names.CLOUDWATCH_METRIC_ALARM)
def metric_alarm(inputs, ctx, prices, usage):
    queries = [q for q in inputs.get("metricQueries") or [] if isinstance(q, dict) and q.get("metric")]
    metrics = max(len(queries), 1)
    periods = [_number(q["metric"].get("period"), 60) for q in queries] or [_number(inputs.get("period"), 60)]
    high = min(periods) < 60
    key = "cloudwatch.alarm.high_resolution" if high else "cloudwatch.alarm.standard"
    return [prices.component(f"alarm ({metrics} metric{'s' if metrics > 1 else ''}"
                             f"{', high resolution' if high else ''})", key, metrics)]


# -- data -----------------------------------------------------------------------------------

def _postgres_usage(ctx: ResourceContext, usage: Usage) -> dict[str, Any]:
    return usage.agent(ctx.agent.name if ctx.agent else None)["postgres"]


@rule(names.RDS_CLUSTER)
def rds_cluster(inputs, ctx, prices, usage):
    engine = str(inputs.get("engine") or "aurora-postgresql")
    if not engine.startswith("aurora"):
        raise MissingPrice(f"rds.{engine}.storage_gb_month", prices.region)
    storage_type = str(inputs.get("storageType") or "aurora")
    if storage_type != "aurora":  # aurora-iopt1 (I/O-Optimized) has its own prices
        raise MissingPrice(f"rds.{storage_type}.storage_gb_month", prices.region)
    assumed = _postgres_usage(ctx, usage)
    lines = [
        prices.component("storage (postgres.storage_gb)", "rds.aurora.storage_gb_month", _number(assumed["storage_gb"])),
        prices.component("I/O requests (postgres.io_requests_per_month)", "rds.aurora.io_million",
                         _number(assumed["io_requests_per_month"]) / 1e6),
    ]
    if inputs.get("manageMasterUserPassword"):
        lines.append(prices.component("master user secret managed by RDS", "secretsmanager.secret.month", 1))
    groups = {str(g.inputs.get("name")) for g in ctx.plan.of_type(names.CLOUDWATCH_LOG_GROUP)}
    exports = [log for log in inputs.get("enabledCloudwatchLogsExports") or []
               if f"/aws/rds/cluster/{inputs.get('clusterIdentifier')}/{log}" not in groups]  # else priced there
    if exports:
        # RDS creates these groups itself (never expiring unless someone sets a retention).
        lines += _ingest_and_storage(prices, f"exported logs ({', '.join(exports)})",
                                     _number(assumed["log_gb_per_month"]), 0, usage)
    return lines


@rule(names.RDS_CLUSTER_INSTANCE)
def rds_cluster_instance(inputs, ctx, prices, usage):
    instance_class = str(inputs.get("instanceClass") or "")
    if instance_class != "db.serverless":
        raise MissingPrice(f"rds.instance.{instance_class}", prices.region)
    cluster = ctx.plan.rds_cluster(inputs.get("clusterIdentifier"))
    scaling = (cluster.inputs if cluster else {}).get("serverlessv2ScalingConfiguration") or {}
    low = _number(scaling.get("minCapacity"))
    high = _number(scaling.get("maxCapacity"), 256)
    assumed = _postgres_usage(ctx, usage)
    average = min(_number(assumed["average_acu"]), high)
    active = min(_number(assumed["active_hours_per_month"]), prices.hours_per_month)
    lines = []
    if low > 0:
        lines.append(prices.component(f"minimum capacity: {low:g} ACU, always on", "rds.aurora_serverless_v2.acu_hour",
                                      low * prices.hours_per_month, "baseline"))
        above = max(average - low, 0)
        if above:
            lines.append(prices.component(
                f"capacity above the minimum: {above:g} ACU × {active:g} h (postgres.average_acu, active_hours_per_month)",
                "rds.aurora_serverless_v2.acu_hour", above * active, "usage"))
    else:
        lines.append(prices.component(
            f"capacity while not paused: {average:g} ACU × {active:g} h (postgres.average_acu, active_hours_per_month)",
            "rds.aurora_serverless_v2.acu_hour", average * active, "usage"))
    return lines


@rule(names.DYNAMODB_TABLE)
def dynamodb_table(inputs, ctx, prices, usage):
    if inputs.get("replicas"):
        raise MissingPrice("dynamodb.replicated_write_million", prices.region)
    if str(inputs.get("tableClass") or "STANDARD") != "STANDARD":
        raise MissingPrice(f"dynamodb.{str(inputs['tableClass']).lower()}.storage_gb_month", prices.region)
    assumed = usage.agent(ctx.agent.name if ctx.agent else None)["dynamodb"]
    lines = []
    if str(inputs.get("billingMode") or "PROVISIONED") == "PAY_PER_REQUEST":
        lines += [
            prices.component("on-demand writes (dynamodb.write_units_per_month)", "dynamodb.on_demand.write_million",
                             _number(assumed["write_units_per_month"]) / 1e6),
            prices.component("on-demand reads (dynamodb.read_units_per_month)", "dynamodb.on_demand.read_million",
                             _number(assumed["read_units_per_month"]) / 1e6),
        ]
    else:
        lines += [
            prices.hourly(f"provisioned {_number(inputs.get('writeCapacity')):g} WCU", "dynamodb.provisioned.wcu_hour",
                          _number(inputs.get("writeCapacity"))),
            prices.hourly(f"provisioned {_number(inputs.get('readCapacity')):g} RCU", "dynamodb.provisioned.rcu_hour",
                          _number(inputs.get("readCapacity"))),
        ]
    lines.append(prices.component("storage (dynamodb.storage_gb)", "dynamodb.storage_gb_month",
                                  _number(assumed["storage_gb"])))
    if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
        lines.append(prices.component("point-in-time recovery", "dynamodb.pitr_gb_month", _number(assumed["storage_gb"])))
    return lines


@rule(names.S3_BUCKET, names.S3_BUCKET_V2)
def s3_bucket(inputs, ctx, prices, usage):
    assumed = usage.agent(ctx.agent.name if ctx.agent else None)["s3"]
    return [
        prices.component("Standard storage (s3.storage_gb)", "s3.standard.gb_month", _number(assumed["storage_gb"])),
        prices.component("PUT/LIST requests (s3.put_requests_per_month)", "s3.put.1k",
                         _number(assumed["put_requests_per_month"]) / 1000),
        prices.component("GET requests (s3.get_requests_per_month)", "s3.get.1k",
                         _number(assumed["get_requests_per_month"]) / 1000),
    ]


# -- messaging ------------------------------------------------------------------------------

@rule(names.SQS_QUEUE)
def sqs_queue(inputs, ctx, prices, usage):
    assumed = usage.agent(ctx.agent.name if ctx.agent else None)
    fifo = bool(inputs.get("fifoQueue"))
    inbox = bool(inputs.get("redrivePolicy")) or ctx.agent is None
    what = "inbox_requests_per_month" if inbox else "dead_letter_requests_per_month"
    return [prices.component(f"requests ({what})", "sqs.fifo.million" if fifo else "sqs.standard.million",
                             _number(assumed[what]) / 1e6)]


@rule(names.SNS_TOPIC)
def sns_topic(inputs, ctx, prices, usage):
    if inputs.get("fifoTopic"):
        raise MissingPrice("sns.fifo_publish.million", prices.region)
    return [prices.component("publishes (messaging.sns_publishes_per_topic)", "sns.publish.million",
                             _number(usage.get("messaging", "sns_publishes_per_topic")) / 1e6)]


@rule(names.MQ_BROKER)
def mq_broker(inputs, ctx, prices, usage):
    instance_type = str(inputs.get("hostInstanceType") or "")
    mode = str(inputs.get("deploymentMode") or "SINGLE_INSTANCE")
    count = MQ_INSTANCES.get(mode, 1)
    return [
        prices.hourly(f"{count} × {instance_type} ({mode})", f"mq.instance.{instance_type}", count),
        prices.component("storage (messaging.mq_storage_gb)", "mq.storage_gb_month",
                         _number(usage.get("messaging", "mq_storage_gb"))),
    ]


@rule(names.MSK_SERVERLESS_CLUSTER)
def msk_serverless(inputs, ctx, prices, usage):
    assumed = usage.get("messaging")
    return [
        prices.hourly("MSK Serverless cluster", "msk.serverless.cluster_hour"),
        prices.hourly(f"{_number(assumed['msk_partitions']):g} partitions (messaging.msk_partitions)",
                      "msk.serverless.partition_hour", _number(assumed["msk_partitions"]), "usage"),
        prices.component("data written (messaging.msk_gb_in_per_month)", "msk.serverless.data_in_gb",
                         _number(assumed["msk_gb_in_per_month"])),
        prices.component("data read (messaging.msk_gb_out_per_month)", "msk.serverless.data_out_gb",
                         _number(assumed["msk_gb_out_per_month"])),
        prices.component("storage (messaging.msk_storage_gb)", "msk.serverless.storage_gb_month",
                         _number(assumed["msk_storage_gb"])),
    ]


# -- Kubernetes objects that create AWS resources -------------------------------------------------

def claimed_volumes(values: Any, path: str = "") -> Iterator[tuple[str, float, int]]:
    """(where, GiB, replicas) of every persistent volume a chart's values ask for.

    ``<x>: {volumeClaimTemplate: {spec: ...}}`` (the Prometheus operator's ``storage`` and
    ``storageSpec``) and ``persistence: {enabled: true, size: ...}``, times the ``replicas``
    beside them.
    """
    if isinstance(values, list):
        for index, item in enumerate(values):
            yield from claimed_volumes(item, f"{path}[{index}]")
        return
    if not isinstance(values, dict):
        return
    replicas = int(_number(values.get("replicas"), 1))
    for key, value in values.items():
        here = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict) and isinstance(value.get("volumeClaimTemplate"), dict):
            size = (((value["volumeClaimTemplate"].get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
            if size:
                yield here, gib(size), replicas
        elif key == "persistence" and isinstance(value, dict) and value.get("enabled") and value.get("size"):
            yield here, gib(value["size"]), replicas
        else:
            yield from claimed_volumes(value, here)


def _xray_exporter(values: Any) -> bool:
    exporters = ((values or {}).get("config") or {}).get("exporters") if isinstance(values, dict) else None
    return isinstance(exporters, dict) and any(str(name).split("/")[0] == "awsxray" for name in exporters)


@rule(names.HELM_RELEASE)
def helm_release(inputs, ctx, prices, usage):
    """What a chart makes AWS bill: its volumes, the ALBs of the LB controller, X-Ray traces.

    Its pods run on the nodes, which the node groups price.
    """
    values = inputs.get("values") or {}
    lines = [
        prices.component(f"volume {where}: {replicas} × {size:g} GiB gp3", "ebs.gp3.gb_month", replicas * size, "baseline")
        for where, size, replicas in claimed_volumes(values)
    ]
    if chart_name(inputs) == LB_CONTROLLER_CHART and ctx.resource is ctx.plan.lb_controllers[0]:
        # The controller makes one ALB per Ingress group; the ALBs are the platform's, not an agent's.
        for group, public in ctx.plan.alb_groups.items():
            lines += _alb(prices, usage, f"{group} ({'internet-facing' if public else 'internal'})", public,
                          ctx.plan.az_count)
    if _xray_exporter(values):
        lines.append(prices.component("X-Ray traces recorded (observability.xray_traces_per_month)",
                                      "xray.traces.million",
                                      _number(usage.get("observability", "xray_traces_per_month")) / 1e6))
    return lines


@rule(names.K8S_INGRESS)
def ingress(inputs, ctx, prices, usage):
    """An Ingress in a group shares the group's ALB, priced on the LB controller (or, in a team
    stack, in the platform stack's plan); an ALB Ingress without a group gets its own ALB."""
    annotations = (inputs.get("metadata") or {}).get("annotations") or {}
    if not ctx.plan.is_alb_ingress(inputs) or annotations.get("alb.ingress.kubernetes.io/group.name"):
        return []
    public = annotations.get("alb.ingress.kubernetes.io/scheme") == "internet-facing"
    return _alb(prices, usage, f"of Ingress {ctx.name}", public, ctx.plan.az_count)


@rule(names.K8S_SERVICE)
def service(inputs, ctx, prices, usage):
    spec = inputs.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return []
    annotations = (inputs.get("metadata") or {}).get("annotations") or {}
    scheme = annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme", "internal")
    public = scheme == "internet-facing" or annotations.get("service.beta.kubernetes.io/aws-load-balancer-internal") == "false"
    nlb = (annotations.get("service.beta.kubernetes.io/aws-load-balancer-type") in ("nlb", "external")
           or str(spec.get("loadBalancerClass") or "").startswith("service.k8s.aws/nlb"))
    if nlb:
        return _nlb(prices, usage, f"of Service {ctx.name}", public, ctx.plan.az_count)
    return [
        prices.hourly(f"Classic Load Balancer of Service {ctx.name}", "elb.clb.hour"),
        prices.component("data processed (load_balancers.clb_gb_per_month)", "elb.clb.gb",
                         _number(usage.get("load_balancers", "clb_gb_per_month"))),
    ]


@rule(names.K8S_PERSISTENT_VOLUME_CLAIM)
def persistent_volume_claim(inputs, ctx, prices, usage):
    size = (((inputs.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    return [prices.component(f"EBS volume {size} (gp3 assumed)", "ebs.gp3.gb_month", gib(size), "baseline")] if size else []


@rule(names.K8S_STATEFUL_SET)
def stateful_set(inputs, ctx, prices, usage):
    spec = inputs.get("spec") or {}
    replicas = int(_number(spec.get("replicas"), 1))
    lines = []
    for template in spec.get("volumeClaimTemplates") or []:
        size = (((template.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
        if size:
            name = (template.get("metadata") or {}).get("name", "data")
            lines.append(prices.component(f"volumes {name}: {replicas} × {size} (gp3 assumed)", "ebs.gp3.gb_month",
                                          replicas * gib(size), "baseline"))
    return lines
