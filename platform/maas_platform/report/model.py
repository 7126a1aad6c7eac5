"""A plan turned into what its report shows: platform parts, agents, topics, findings, cost.

Everything is read from the :class:`~maas_platform.plan.model.Plan` alone (its resources as the
engine received them, its outputs, findings and estimate), so a report says what the plan
says and nothing the config merely intended: an agent publishes to a topic when its role
may ``sns:Publish`` to it and the topic's policy, when the plan has it, admits the role
(:mod:`.access`), and subscribes when a subscription delivers the topic to its inbox; a topic it
is handed but would be refused on is listed, and drawn, as refused. What its workload says
(replicas, SLOs, secrets, the steps left after deploy) is read by :mod:`.workload`. The view
types are plain frozen dataclasses the template reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from .. import names
from ..plan.model import Plan, PlannedResource
from ..policy.core import Rule
from .access import topic_admits
from .flows import Flow, read_flows
from .workload import Secret, Slo, Step, after_deploy, container, env_keys, replicas, secrets, slos_from_openslo, \
    slos_from_rules

# How a resource type reads on a card; types not listed read as their last segment.
TYPE_LABELS: dict[str, str] = {
    names.IAM_ROLE: "IAM role",
    names.IAM_ROLE_POLICY: "IAM role policy",
    names.KMS_KEY: "KMS key",
    names.KMS_ALIAS: "KMS alias",
    names.DYNAMODB_TABLE: "DynamoDB table",
    names.RDS_CLUSTER: "Aurora cluster",
    names.RDS_CLUSTER_INSTANCE: "Aurora instance",
    names.S3_BUCKET: "S3 bucket",
    names.SECRETSMANAGER_SECRET: "Secrets Manager secret",
    names.SQS_QUEUE: "SQS queue",
    names.SNS_TOPIC_SUBSCRIPTION: "SNS subscription",
    names.CLOUDWATCH_LOG_GROUP: "CloudWatch log group",
    names.CLOUDWATCH_METRIC_ALARM: "CloudWatch alarm",
    names.EKS_POD_IDENTITY_ASSOCIATION: "Pod Identity association",
    names.K8S_NAMESPACE: "Namespace",
    names.K8S_DEPLOYMENT: "Deployment",
    names.K8S_SCALED_OBJECT: "KEDA ScaledObject",
    names.K8S_INGRESS: "Ingress",
    names.K8S_NETWORK_POLICY: "NetworkPolicy",
    names.K8S_PROMETHEUS_RULE: "PrometheusRule",
    names.K8S_PROBE: "Probe",
    names.K8S_SERVICE_MONITOR: "ServiceMonitor",
    names.K8S_EXTERNAL_SECRET: "ExternalSecret",
    names.SQS_QUEUE_POLICY: "SQS queue policy",
    names.SQS_REDRIVE_ALLOW_POLICY: "SQS redrive-allow policy",
    names.SECRETSMANAGER_SECRET_POLICY: "secret policy",
    names.S3_BUCKET_POLICY: "bucket policy",
    names.S3_BUCKET_VERSIONING: "bucket versioning",
    names.S3_BUCKET_PUBLIC_ACCESS_BLOCK: "bucket public access block",
    names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION: "bucket encryption",
    names.S3_BUCKET_LIFECYCLE_CONFIGURATION: "bucket lifecycle",
    names.S3_BUCKET_OWNERSHIP_CONTROLS: "bucket ownership controls",
    names.EC2_SECURITY_GROUP: "security group",
    names.RDS_SUBNET_GROUP: "DB subnet group",
    names.RDS_CLUSTER_PARAMETER_GROUP: "DB cluster parameter group",
}
# What an owned resource is for, as a card groups them: (group, type-token prefixes), first match wins.
RESOURCE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identity and keys", ("aws:iam/", "aws:kms/", "aws:secretsmanager/", "aws:eks/podIdentity",
                           "kubernetes:external-secrets.io/", names.K8S_SERVICE_ACCOUNT)),
    ("data", ("aws:dynamodb/", "aws:rds/", "aws:s3/", "aws:ec2/securityGroup")),
    ("messaging", ("aws:sqs/", "aws:sns/", "kubernetes:keda.sh/")),
    ("observability", ("aws:cloudwatch/", "kubernetes:monitoring.coreos.com/", names.K8S_CONFIG_MAP)),
    ("kubernetes", ("kubernetes:",)),
)
# The datastores an agent may own, as a card names them.
DATASTORES: dict[str, str] = {
    names.DYNAMODB_TABLE: "DynamoDB",
    names.RDS_CLUSTER: "Aurora PostgreSQL",
    names.S3_BUCKET: "S3",
}
# The platform's components, in the order the report shows them.
PART_TITLES: dict[str, str] = {
    names.MAAS_NETWORK: "Network",
    names.MAAS_CLUSTER: "EKS cluster",
    names.MAAS_CLUSTER_ADDONS: "Cluster add-ons",
    names.MAAS_OBSERVABILITY_STACK: "Observability",
    names.MAAS_BROKER: "Broker",
    names.MAAS_PLATFORM_KEYS: "Platform keys",
    names.MAAS_BUDGETS: "Budgets",
}
LEVEL_ORDER = ("mandatory", "advisory", "disabled")
SEVERITY_ORDER = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Finding:
    """A policy finding with its rule's title and remediation."""

    policy: str
    title: str
    severity: str
    level: str
    urn: str
    resource: str  # the resource's logical name, "(stack)" for a finding about the whole stack
    resource_type: str
    message: str
    remediation: str
    agent: Optional[str]
    reason: Optional[str] = None  # why it is exempted (exempted findings only)


@dataclass(frozen=True)
class FindingGroup:
    """The findings of one rule at one level: its title and remediation said once."""

    policy: str
    title: str
    level: str
    severity: str
    remediation: str
    findings: tuple[Finding, ...]


def group_findings(findings: Iterable[Finding]) -> tuple[FindingGroup, ...]:
    """Findings by rule and level, most pressing first (level, then severity, then rule ID)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.policy, finding.level), []).append(finding)

    def order(key: tuple[str, str]) -> tuple:
        first = groups[key][0]
        return (_rank(LEVEL_ORDER, first.level), _rank(SEVERITY_ORDER, first.severity), first.policy)

    return tuple(
        FindingGroup(policy=members[0].policy, title=members[0].title, level=members[0].level,
                     severity=members[0].severity, remediation=members[0].remediation, findings=tuple(members))
        for members in (groups[key] for key in sorted(groups, key=order))
    )


def _rank(order: Sequence[str], value: str) -> int:
    return order.index(value) if value in order else len(order)


@dataclass(frozen=True)
class Owned:
    """Resources of one type an agent owns."""

    group: str
    label: str
    type: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Agent:
    name: str
    team: str
    namespace: Optional[str]
    image: Optional[str]
    datastores: tuple[str, ...]
    replicas: Optional[tuple[int, int]]  # (min, max) of its autoscaler
    exposure: Optional[str]  # "public: host", "internal", None without an ingress
    publishes: tuple[str, ...]
    subscribes: tuple[str, ...]
    slos: tuple[Slo, ...]
    budget_usd: Optional[float]
    monthly: Optional[float]
    baseline: Optional[float]
    usage: Optional[float]
    allocated: Optional[float]  # node cost its pods reserve (already in the nodes' line)
    owned: tuple[Owned, ...]
    findings: tuple[Finding, ...]
    # Topics it means to publish to that would refuse it: (topic, why) (drawn as refused arrows).
    refused: tuple[tuple[str, str], ...] = ()
    env_keys: tuple[str, ...] = ()  # its container's variables, names only
    secrets: tuple[Secret, ...] = ()
    after_deploy: tuple[Step, ...] = ()
    # Estimated LLM spend per path (bedrock, gateway), beside (never in) monthly.
    llm: tuple[tuple[str, float], ...] = ()

    @property
    def resource_count(self) -> int:
        return sum(len(o.names) for o in self.owned)

    @property
    def owned_groups(self) -> list[tuple[str, list[Owned]]]:
        """The owned resources by group, groups in :data:`RESOURCE_GROUPS` order."""
        order = [name for name, _ in RESOURCE_GROUPS] + ["other"]
        groups: dict[str, list[Owned]] = {}
        for owned in self.owned:
            groups.setdefault(owned.group, []).append(owned)
        return sorted(groups.items(), key=lambda item: order.index(item[0]))

    @property
    def finding_groups(self) -> tuple[FindingGroup, ...]:
        return group_findings(self.findings)

    @property
    def budget_share(self) -> Optional[float]:
        """The estimate as a fraction of the agent's budget."""
        if self.budget_usd and self.monthly is not None:
            return self.monthly / self.budget_usd
        return None


@dataclass(frozen=True)
class Topic:
    name: str
    arn: str
    description: str
    ordered: bool
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """One component of the platform (network, cluster, ...) and its main facts."""

    type: str
    title: str
    facts: tuple[tuple[str, str], ...]
    items: tuple[str, ...]  # what it runs (charts, add-ons, keys), when it is a list
    resource_count: int
    monthly: float


@dataclass(frozen=True)
class CostBar:
    label: str
    kind: str  # "agent" or "shared"
    baseline: float
    usage: float

    @property
    def monthly(self) -> float:
        return round(self.baseline + self.usage, 2)


@dataclass(frozen=True)
class Team:
    name: str
    agents: tuple[str, ...]
    monthly: float
    allocated: Optional[float]
    budget_usd: Optional[float]
    llm_monthly: Optional[float] = None  # estimated LLM spend, beside (never in) monthly


@dataclass(frozen=True)
class Cost:
    currency: str
    region: str
    hours_per_month: float
    monthly_total: float
    baseline: float
    usage: float
    shared: float
    agents: float
    budget_usd: Optional[float]  # the environment's budget
    bars: tuple[CostBar, ...]  # every priced resource in exactly one bar, largest first
    teams: tuple[Team, ...]
    unpriced: tuple[str, ...]
    # Estimated LLM spend (cost/llm.py), beside the AWS figures and never inside them.
    llm_monthly: float = 0.0
    llm_bedrock: float = 0.0
    llm_gateway: float = 0.0


@dataclass(frozen=True)
class Report:
    project: str
    stack: str
    environment: Optional[str]
    region: Optional[str]
    account_id: Optional[str]
    resource_count: int
    component_count: int
    parts: tuple[Part, ...]
    agents: tuple[Agent, ...]
    topics: tuple[Topic, ...]
    findings: tuple[Finding, ...]
    exempted: tuple[Finding, ...]
    rule_count: int
    cost: Optional[Cost]
    stack_references: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]
    flows: tuple[Flow, ...] = ()

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)

    def topic_description(self, name: str) -> str:
        """The description of topic ``name`` ("" when the plan does not hold it)."""
        return next((t.description for t in self.topics if t.name == name), "")

    @property
    def finding_groups(self) -> tuple[FindingGroup, ...]:
        return group_findings(self.findings)

    @property
    def exempted_groups(self) -> tuple[FindingGroup, ...]:
        return group_findings(self.exempted)


def build(plan: Plan, rules: Optional[Mapping[str, Rule]] = None) -> Report:
    """The report of ``plan``; ``rules`` (ID -> rule) gives findings their title and remediation
    (default: the registered rules)."""
    if rules is None:
        from ..policy import rules as registered

        rules = {rule.id: rule for rule in registered()}
    environment = plan.cost.get("environment") if plan.cost else plan.outputs.get("environment")
    region = plan.cost.get("region") if plan.cost else plan.outputs.get("region")
    topics = _topic_names(plan)
    finding = _finding_maker(plan, rules)
    findings = tuple(finding(v) for v in plan.violations)
    exempted = tuple(finding(v) for v in plan.exempted)
    budgets = _budgets(plan)
    agents = tuple(_agent(plan, component.urn, topics, findings, budgets, _text(region))
                   for component in sorted(plan.agents.values(), key=lambda a: a.name))
    return Report(
        project=plan.project,
        stack=plan.stack,
        environment=_text(environment),
        region=_text(region),
        account_id=_text(plan.outputs.get("account_id")),
        resource_count=len(plan.cloud_resources()),
        component_count=sum(1 for r in plan.resources if not r.custom),
        parts=_parts(plan),
        agents=agents,
        topics=_topics(plan, topics, agents),
        findings=findings,
        exempted=exempted,
        rule_count=len(rules),
        cost=_cost(plan, budgets),
        stack_references=tuple(sorted(plan.stack_references.items())),
        warnings=tuple(plan.warnings),
        flows=read_flows(plan),
    )


# -- findings -------------------------------------------------------------------------------

def _finding_maker(plan: Plan, rules: Mapping[str, Rule]) -> Callable[[dict[str, Any]], Finding]:
    def make(entry: dict[str, Any]) -> Finding:
        urn = str(entry.get("urn") or "")
        resource = plan.by_urn.get(urn)
        agent = None
        if resource is not None:
            owner = plan.agents.get(urn) or plan.agent_of(resource)
            agent = owner.name if owner else None
        rule = rules.get(str(entry.get("policy")))
        return Finding(
            policy=str(entry.get("policy")),
            title=rule.title if rule else str(entry.get("policy")),
            severity=str(entry.get("severity")),
            level=str(entry.get("level")),
            urn=urn,
            resource=resource.name if resource else (urn.split("::")[-1] if urn else "(stack)"),
            resource_type=resource.type if resource else "",
            message=str(entry.get("message")),
            remediation=rule.remediation if rule else "",
            agent=agent,
            reason=entry.get("reason"),
        )

    return make


# -- agents and topics ----------------------------------------------------------------------

def _topic_names(plan: Plan) -> dict[str, str]:
    """Topic ARN -> topic name: the declared topics the plan exports, else the ARN's last part
    (a team stack sees its platform's topics only as ARNs)."""
    messaging = plan.outputs.get("messaging")
    declared = messaging.get("topics") if isinstance(messaging, dict) else None
    known = {}
    for name, topic in (declared or {}).items():
        if isinstance(topic, dict) and isinstance(topic.get("arn"), str):
            known[topic["arn"]] = name
    return known


def _topic_name(arn: str, known: Mapping[str, str]) -> str:
    return known.get(arn) or arn.rsplit(":", 1)[-1]


def _agent(plan: Plan, urn: str, topics: Mapping[str, str], findings: Sequence[Finding],
           budgets: Mapping[str, float], region: Optional[str]) -> Agent:
    meta = plan.agents[urn]
    mine = list(plan.descendants(urn))
    record = (plan.outputs.get("agents") or {}).get(meta.name)
    record = record if isinstance(record, dict) else {}
    figures = ((plan.cost or {}).get("by_agent") or {}).get(meta.name) or {}
    admitted, refused = _publishing(mine, meta.name, _topic_policies(plan))
    return Agent(
        name=meta.name,
        team=meta.team,
        namespace=_text(record.get("namespace")) or _namespace(mine),
        image=_text(container(mine, meta.name).get("image")),
        datastores=tuple(sorted({DATASTORES[r.type] for r in mine if r.type in DATASTORES})),
        replicas=replicas(mine, meta.name),
        exposure=_exposure(mine),
        publishes=tuple(sorted({_topic_name(arn, topics) for arn in admitted})),
        subscribes=tuple(sorted({_topic_name(str(r.inputs.get("topic")), topics)
                                 for r in mine if r.type == names.SNS_TOPIC_SUBSCRIPTION and r.inputs.get("topic")})),
        # A team stack exports no SLOs: its agents' PrometheusRules hold the same objectives.
        slos=slos_from_openslo(record.get("slos")) or slos_from_rules(mine),
        budget_usd=budgets.get(f"agent${meta.name}"),
        monthly=figures.get("monthly"),
        baseline=figures.get("baseline"),
        usage=figures.get("usage"),
        allocated=figures.get("allocated"),
        llm=tuple((path, spend) for path, spend in sorted(
            ((((plan.cost or {}).get("llm") or {}).get("by_agent") or {}).get(meta.name) or {}).items())
            if path in ("bedrock", "gateway") and spend),
        owned=_owned(mine),
        findings=tuple(f for f in findings if f.agent == meta.name),
        refused=tuple(sorted({(_topic_name(arn, topics), why) for arn, why in refused.items()})),
        env_keys=env_keys(mine, meta.name),
        secrets=secrets(mine),
        after_deploy=after_deploy(mine, meta.name, region),
    )


def _topics(plan: Plan, known: Mapping[str, str], agents: Sequence[Agent]) -> tuple[Topic, ...]:
    """The declared topics, and any other topic an agent publishes or subscribes to."""
    by_name = {name: arn for arn, name in known.items()}
    for agent in agents:
        for name in agent.publishes + agent.subscribes:
            by_name.setdefault(name, "")
    descriptions = {str(r.inputs.get("name")): str(r.inputs.get("displayName") or "")
                    for r in plan.of_type(names.SNS_TOPIC)}
    ordered = {}
    messaging = plan.outputs.get("messaging")
    for name, topic in ((messaging or {}).get("topics") or {}).items() if isinstance(messaging, dict) else ():
        ordered[name] = bool(isinstance(topic, dict) and topic.get("ordered"))
    result = []
    for name in sorted(by_name):
        arn = by_name[name]
        physical = arn.rsplit(":", 1)[-1] if arn else name
        result.append(Topic(
            name=name,
            arn=arn,
            description=descriptions.get(physical, ""),
            ordered=ordered.get(name, physical.endswith(".fifo")),
            publishers=tuple(a.name for a in agents if name in a.publishes),
            subscribers=tuple(a.name for a in agents if name in a.subscribes),
        ))
    return tuple(result)


def _topic_policies(plan: Plan) -> dict[str, Any]:
    """Topic ARN -> its policy, for the topics whose policy is in the plan (a platform plan's)."""
    return {str(r.inputs.get("arn")): r.inputs.get("policy") for r in plan.of_type(names.SNS_TOPIC_POLICY)}


def _workload_role(resources: Sequence[PlannedResource]) -> Optional[PlannedResource]:
    """The role the agent's pods assume (Pod Identity or a web identity), not one an AWS service
    assumes on its behalf (the Bedrock budget's stop action)."""
    roles = [r for r in resources if r.type == names.IAM_ROLE]
    for role in roles:
        trust = str(role.inputs.get("assumeRolePolicy") or "")
        if names.POD_IDENTITY_PRINCIPAL in trust or "Federated" in trust:
            return role
    return roles[0] if roles else None


def _publishing(resources: Sequence[PlannedResource], agent: str,
                policies: Mapping[str, Any]) -> tuple[set[str], dict[str, str]]:
    """The SNS topic ARNs the agent may publish to, and those it means to publish to that would
    refuse it, with why: its role policies allow ``sns:Publish`` but the topic's policy in the plan
    does not admit the role (a team plan has none: its plan-time check stands in), or its
    container is handed a topic (``MAAS_TOPIC_<T>_ARN``) its role may not publish to."""
    allowed: set[str] = set()
    role = _workload_role(resources)
    for resource in resources:
        if resource.type != names.IAM_ROLE_POLICY:
            continue
        if role is not None and resource.inputs.get("role") not in (role.inputs.get("name"), role.outputs.get("id")):
            continue  # another role of the agent's, such as its Bedrock budget's stop role
        for statement in _statements(resource.inputs.get("policy")):
            actions = _as_list(statement.get("Action"))
            if statement.get("Effect") == "Allow" and "sns:Publish" in actions:
                allowed.update(str(a) for a in _as_list(statement.get("Resource")) if str(a).startswith("arn:"))
    admitted = {arn for arn in allowed if arn not in policies or (role is not None and topic_admits(
        policies[arn], _role_arn(arn, str(role.inputs.get("name"))), role.inputs.get("tags") or {}))}
    refused = {arn: "the topic's policy does not admit its role" for arn in allowed - admitted}
    for variable in container(resources, agent).get("env") or []:
        value = variable.get("value") if isinstance(variable, dict) else None
        if (str(variable.get("name", "")).startswith(_TOPIC_VARIABLE) and isinstance(value, str)
                and value.startswith("arn:") and value not in allowed):
            refused[value] = "its role may not sns:Publish to the topic"
    return admitted, refused


# The variable that hands a container a topic it publishes to (config/agents.py topic_env_name).
_TOPIC_VARIABLE = "MAAS_TOPIC_"


def _role_arn(topic_arn: str, role_name: str) -> str:
    """The ARN of role ``role_name`` in the topic's partition and account."""
    parts = topic_arn.split(":")
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{role_name}" if len(parts) > 5 else role_name


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return []
    statements = document.get("Statement") if isinstance(document, dict) else None
    return [s for s in _as_list(statements) if isinstance(s, dict)]


def _namespace(resources: Sequence[PlannedResource]) -> Optional[str]:
    for resource in resources:
        if resource.type == names.K8S_NAMESPACE:
            return _text((resource.inputs.get("metadata") or {}).get("name"))
    return None


def _exposure(resources: Sequence[PlannedResource]) -> Optional[str]:
    for resource in resources:
        if resource.type != names.K8S_INGRESS:
            continue
        annotations = (resource.inputs.get("metadata") or {}).get("annotations") or {}
        if annotations.get("alb.ingress.kubernetes.io/scheme") == "internet-facing":
            hosts = [rule.get("host") for rule in (resource.inputs.get("spec") or {}).get("rules") or []
                     if isinstance(rule, dict) and rule.get("host")]
            return "public: " + ", ".join(hosts) if hosts else "public"
        return "internal"
    return None


def _owned(resources: Sequence[PlannedResource]) -> tuple[Owned, ...]:
    """The agent's cloud and Kubernetes resources by type, ordered by label."""
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        if resource.custom:
            by_type.setdefault(resource.type, []).append(resource.name)
    owned = [Owned(group=resource_group(t), label=type_label(t), type=t, names=tuple(sorted(logical)))
             for t, logical in by_type.items()]
    return tuple(sorted(owned, key=lambda o: (o.label.lower(), o.type)))


def resource_group(type_token: str) -> str:
    """What a resource of this type is for: identity and keys, data, messaging, ..."""
    return next((group for group, prefixes in RESOURCE_GROUPS if type_token.startswith(prefixes)), "other")


def type_label(type_token: str) -> str:
    """A resource type as a reader names it (``aws:kms/key:Key`` -> ``KMS key``)."""
    return TYPE_LABELS.get(type_token) or type_token.rsplit(":", 1)[-1]


# -- the platform ---------------------------------------------------------------------------

def _parts(plan: Plan) -> tuple[Part, ...]:
    """The platform's components below its root, known ones first in a fixed order."""
    costs = {r["urn"]: r["monthly"] for r in (plan.cost or {}).get("resources") or []}
    roots = {r.urn for r in plan.resources if r.type == names.MAAS_PLATFORM}
    top = [r for r in plan.resources
           if not r.custom and r.type not in (names.MAAS_AGENT_SERVICE, names.MAAS_PLATFORM, names.MAAS_FLOW_SLOS)
           and (r.parent in roots or r.parent not in plan.by_urn)]
    order = list(PART_TITLES)
    top.sort(key=lambda c: (order.index(c.type) if c.type in order else len(order), c.type, c.name))
    parts = []
    for component in top:
        children = [r for r in plan.descendants(component.urn) if r.custom]
        facts, items = _PART_FACTS.get(component.type, _no_facts)(children)
        parts.append(Part(
            type=component.type,
            title=PART_TITLES.get(component.type) or component.type.rsplit(":", 1)[-1],
            facts=tuple(facts),
            items=tuple(items),
            resource_count=len(children),
            monthly=round(sum(costs.get(r.urn, 0.0) for r in children), 2),
        ))
    return tuple(parts)


Facts = tuple[list[tuple[str, str]], list[str]]


def _no_facts(resources: Sequence[PlannedResource]) -> Facts:
    return [], []


def _network_facts(resources: Sequence[PlannedResource]) -> Facts:
    vpc = _first(resources, names.EC2_VPC)
    subnets = _of(resources, names.EC2_SUBNET)
    zones = sorted({str(s.inputs.get("availabilityZone")) for s in subnets if s.inputs.get("availabilityZone")})
    public = [s for s in subnets if "kubernetes.io/role/elb" in (s.inputs.get("tags") or {})]
    facts = [
        ("VPC", str(vpc.inputs.get("cidrBlock")) if vpc else "-"),
        ("availability zones", ", ".join(zones) or "-"),
        ("subnets", f"{len(subnets) - len(public)} private, {len(public)} public"),
        ("NAT gateways", str(len(_of(resources, names.EC2_NAT_GATEWAY)))),
        ("interface endpoints", str(sum(1 for e in _of(resources, names.EC2_VPC_ENDPOINT)
                                        if e.inputs.get("vpcEndpointType") == "Interface"))),
        ("flow logs", "on" if _of(resources, names.EC2_FLOW_LOG) else "off"),
    ]
    return facts, []


def _cluster_facts(resources: Sequence[PlannedResource]) -> Facts:
    cluster = _first(resources, names.EKS_CLUSTER)
    facts = []
    if cluster:
        inputs = cluster.inputs
        vpc = inputs.get("vpcConfig") or {}
        facts.append(("name", str(inputs.get("name"))))
        facts.append(("Kubernetes", str(inputs.get("version") or "-")))
        facts.append(("API endpoint", "public and private" if vpc.get("endpointPublicAccess") else "private"))
    for group in _of(resources, names.EKS_NODE_GROUP):
        facts.append((f"node group {group.inputs.get('nodeGroupName') or group.name}", node_group(group.inputs)))
    addons = [str(a.inputs.get("addonName")) for a in _of(resources, names.EKS_ADDON)]
    return facts, sorted(addons)


def node_group(inputs: Mapping[str, Any]) -> str:
    """``2–4 × t3.large (on demand)`` from a node group's inputs."""
    scaling = inputs.get("scalingConfig") or {}
    low, high = scaling.get("minSize"), scaling.get("maxSize")
    size = f"{low}" if low == high else f"{low}–{high}"
    types = ", ".join(str(t) for t in inputs.get("instanceTypes") or []) or "?"
    capacity = str(inputs.get("capacityType") or "ON_DEMAND").lower().replace("_", " ")
    return f"{size} × {types} ({capacity})"


def _charts_facts(resources: Sequence[PlannedResource]) -> Facts:
    charts = [release_label(r.inputs) for r in _of(resources, names.HELM_RELEASE)]
    return [], sorted(charts)


def release_label(inputs: Mapping[str, Any]) -> str:
    version = inputs.get("version")
    return f"{inputs.get('chart') or inputs.get('name')} {version}" if version else str(inputs.get("chart"))


def _broker_facts(resources: Sequence[PlannedResource]) -> Facts:
    topics = _of(resources, names.SNS_TOPIC)
    facts = [("SNS topics", str(len(topics)))]
    for kind, label in ((names.MQ_BROKER, "Amazon MQ brokers"), (names.MSK_SERVERLESS_CLUSTER,
                                                                          "MSK Serverless clusters")):
        if _of(resources, kind):
            facts.append((label, str(len(_of(resources, kind)))))
    return facts, sorted(str(t.inputs.get("name")) for t in topics)


def _keys_facts(resources: Sequence[PlannedResource]) -> Facts:
    aliases = sorted(str(a.inputs.get("name")) for a in _of(resources, names.KMS_ALIAS))
    keys = _of(resources, names.KMS_KEY)
    rotated = sum(1 for k in keys if k.inputs.get("enableKeyRotation"))
    return [("KMS keys", str(len(keys))), ("rotation on", f"{rotated} of {len(keys)}")], aliases


def _budgets_facts(resources: Sequence[PlannedResource]) -> Facts:
    items = []
    for budget in _of(resources, names.BUDGETS_BUDGET):
        inputs = budget.inputs
        items.append(f"{inputs.get('name')}: {_money(inputs.get('limitAmount'))} {inputs.get('limitUnit') or ''}".strip())
    return [("budgets", str(len(items)))], sorted(items)


_PART_FACTS: dict[str, Callable[[Sequence[PlannedResource]], Facts]] = {
    names.MAAS_NETWORK: _network_facts,
    names.MAAS_CLUSTER: _cluster_facts,
    names.MAAS_CLUSTER_ADDONS: _charts_facts,
    names.MAAS_OBSERVABILITY_STACK: _charts_facts,
    names.MAAS_BROKER: _broker_facts,
    names.MAAS_PLATFORM_KEYS: _keys_facts,
    names.MAAS_BUDGETS: _budgets_facts,
}


# -- cost -----------------------------------------------------------------------------------

def _budgets(plan: Plan) -> dict[str, float]:
    """Monthly budget limits by the cost-allocation tag they filter on (``agent$triage``)."""
    limits = {}
    for budget in plan.of_type(names.BUDGETS_BUDGET):
        inputs = budget.inputs
        try:
            limit = float(inputs.get("limitAmount"))
        except (TypeError, ValueError):
            continue
        for cost_filter in inputs.get("costFilters") or []:
            if isinstance(cost_filter, dict) and cost_filter.get("name") == "TagKeyValue":
                for value in cost_filter.get("values") or []:
                    limits[str(value).removeprefix("user:")] = limit
    return limits


def _cost(plan: Plan, budgets: Mapping[str, float]) -> Optional[Cost]:
    cost = plan.cost
    if not cost:
        return None
    sums: dict[tuple[str, str], list[float]] = {}
    for resource in cost["resources"]:
        if resource["agent"]:
            key = (resource["agent"], "agent")
        else:
            owner = plan.component_of(plan.by_urn[resource["urn"]]) if resource["urn"] in plan.by_urn else "(stack)"
            key = (_component_title(owner), "shared")
        pair = sums.setdefault(key, [0.0, 0.0])
        pair[0] += resource["baseline"]
        pair[1] += resource["usage"]
    bars = sorted((CostBar(label=label, kind=kind, baseline=round(b, 2), usage=round(u, 2))
                   for (label, kind), (b, u) in sums.items()), key=lambda bar: (-bar.monthly, bar.label))
    environment_budget = next((limit for tag, limit in budgets.items() if tag.startswith("platform$")), None)
    llm = cost.get("llm") or {}
    teams = tuple(
        Team(name=name, agents=tuple(figures["agents"]), monthly=figures["monthly"], allocated=figures.get("allocated"),
             budget_usd=budgets.get(f"team${name}"), llm_monthly=(llm.get("by_team", {}).get(name) or {}).get("monthly"))
        for name, figures in sorted(cost["by_team"].items())
    )
    agents_total = round(sum(f["monthly"] for f in cost["by_agent"].values()), 2)
    return Cost(
        currency=cost["currency"],
        region=cost["region"],
        hours_per_month=cost["hours_per_month"],
        monthly_total=cost["monthly_total"],
        baseline=cost["baseline"],
        usage=cost["usage"],
        shared=round(cost["monthly_total"] - agents_total, 2),
        agents=agents_total,
        budget_usd=environment_budget,
        bars=tuple(bars),
        teams=teams,
        unpriced=tuple(f"{u['count']} × {u['type']}: {u['reason']}" for u in cost.get("unpriced") or [])
        + tuple(f"LLM {u['agent']}: {u['model']} ({u['path']}): {u['reason']}" for u in llm.get("unpriced") or []),
        llm_monthly=llm.get("monthly", 0.0),
        llm_bedrock=llm.get("bedrock", 0.0),
        llm_gateway=llm.get("gateway", 0.0),
    )


def _component_title(owner: str) -> str:
    """``maas:cluster:Cluster`` -> ``EKS cluster``; a repeated component keeps its name."""
    type_token, _, name = owner.partition(" ")
    title = PART_TITLES.get(type_token) or type_token.rsplit(":", 1)[-1]
    return f"{title} {name}" if name else title


# -- small helpers --------------------------------------------------------------------------

def _of(resources: Iterable[PlannedResource], type_token: str) -> list[PlannedResource]:
    return [r for r in resources if r.type == type_token]


def _first(resources: Iterable[PlannedResource], type_token: str) -> Optional[PlannedResource]:
    return next(iter(_of(resources, type_token)), None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _money(value: Any) -> str:
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)
