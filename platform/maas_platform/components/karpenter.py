"""Karpenter: the node autoscaler that launches the nodes every non-system pod runs on.

Managed node groups host only system pods (taint ``CriticalAddonsOnly``); Karpenter's
controller runs there and launches EC2 instances for everything else, from the NodePools and
the EC2NodeClass of :mod:`.nodepools`. This component holds the controller's side:

- the ``karpenter`` namespace (Pod Security ``restricted``) and two pinned releases of
  ``oci://public.ecr.aws/karpenter``: ``karpenter-crd`` (the CRDs, so Helm upgrades them) and
  ``karpenter`` with ``skipCrds``;
- the interruption queue and the EventBridge rules that feed it, so a Spot interruption
  warning, a rebalance recommendation, a stopping instance or a scheduled AWS Health event
  drains the node before EC2 takes it away;
- the role of the nodes it launches, their instance profile and their EKS access entry. The
  instance profile is created here and named in the EC2NodeClass (``spec.instanceProfile``), so
  the controller needs none of the IAM actions that create, tag or delete instance profiles;
- the controller's Pod Identity role: upstream's ``KarpenterController*`` policies of the pinned
  release, scoped as upstream does (cluster tag, node pool tag, region, the node role, the queue,
  the cluster) and narrowed to this account.

The facts below were read on 2026-12-02 in aws/karpenter-provider-aws at tag v1.12.2 (35e088b,
2026-07-10) and in the v1.12 documentation on main (1d92708, 2026-08-21):
``website/content/en/v1.12/getting-started/getting-started-with-karpenter/cloudformation.yaml``.
At the tag that file exists only as ``website/content/en/docs/...``, the docs of the release
before; the v1.12 copy adds ``ec2:DescribeInstanceStatus`` (#9113; the v1.12.2 controller polls it,
pkg/controllers/interruption/instancestatus_controller.go) and ``arc-zonal-shift:GetManagedResource``
on ``*`` with ``arc-zonal-shift:ResourceIdentifier`` (#9123; pkg/operator/operator.go calls it when
``settings.enableZonalShift`` is on, which it is here because the cluster has zonal shift on).
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from .. import names
from ..iam import Statement, assume_role_policy, managed_policy_arn, policy_document
from ..iam.actions import KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS
from .agent.inbox import SQS_ALL
from .base import AccountContext, ComponentArgs, StrInput, child
from .workloads import helm_release, locked_chart, workload_identity

# Both charts of one release (charts.lock.yaml): the CRDs and the controller.
KARPENTER_CRD_CHART = locked_chart("karpenter-crd")
KARPENTER_CHART = locked_chart("karpenter")
KARPENTER_SERVICE_ACCOUNT = "karpenter"

# charts/karpenter/values.yaml at v1.12.2 sets no controller resources ("resources: {}"); the
# getting-started guide uses 1 CPU / 1Gi for a cluster of any size. The controller idles between
# batches and its memory is mostly the instance-type and offering caches, which the pools'
# family lists keep small: requests sized for the system node group, a memory limit with room.
CONTROLLER_RESOURCES = {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}

# The EventBridge rules of upstream's cloudformation.yaml (v1.12), each pattern verbatim: what the
# interruption controller reads from the queue (pkg/controllers/interruption/messages/*).
INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
    },
}
# KarpenterInterruptionQueue: MessageRetentionPeriod 300 (a warning older than that is moot).
INTERRUPTION_RETENTION_SECONDS = 300
INTERRUPTION_TARGET_ID = "KarpenterInterruptionQueueTarget"
# Messages the controller failed to handle this often go to the dead-letter queue, kept a day
# (longer than the queue's own retention, MAAS-REL-006) for someone to read why.
MAX_RECEIVE_COUNT = 5
DEAD_LETTER_RETENTION_SECONDS = 86_400

# What a node needs: join the cluster and pull images. The CNI policy stays with the vpc-cni
# add-on's own Pod Identity role (cluster.py), and AmazonSSMManagedInstanceCore, which upstream's
# node role carries, is left out: nothing of the platform uses Session Manager on nodes, and the
# policy would let anything holding the node's credentials read SSM messages and parameters.
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")

IAM_NAME_PATTERN = r"^[A-Za-z0-9+=,.@_-]+$"


def controller_statements(
    account: AccountContext, *, cluster_name: str, node_role_arn: StrInput, instance_profile_arn: StrInput,
    queue_arn: StrInput, key_arn: StrInput,
) -> tuple[Statement, ...]:
    """The controller's grants: upstream's NodeLifecycle, IAMIntegration, EKSIntegration,
    Interruption, ResourceDiscovery and ZonalShift policies, as data.

    Upstream's conditions are kept word for word. Differences, each narrower: resources name this
    account where upstream writes ``*`` for it; the instance-profile statements that create, tag,
    attach and delete profiles are gone (the profile is created here, see the module docstring),
    and profile reads name only that profile; ``iam:PassedToService`` names this partition's EC2
    principal only.
    """
    region = account.region

    def ec2(resource: str, *, owner: bool = True) -> str:
        return account.arn("ec2", resource, account=owner)

    cluster_tag = f"kubernetes.io/cluster/{cluster_name}"
    launched = (ec2("fleet/*"), ec2("instance/*"), ec2("volume/*"), ec2("network-interface/*"),
                ec2("launch-template/*"), ec2("spot-instances-request/*"))
    owned = {"StringEquals": {f"aws:ResourceTag/{cluster_tag}": "owned"},
             "StringLike": {f"aws:ResourceTag/{names.NODE_POOL_LABEL}": "*"}}
    requested = {"StringEquals": {f"aws:RequestTag/{cluster_tag}": "owned",
                                  "aws:RequestTag/eks:eks-cluster-name": cluster_name},
                 "StringLike": {f"aws:RequestTag/{names.NODE_POOL_LABEL}": "*"}}
    cluster_arn = account.arn("eks", f"cluster/{cluster_name}")
    return (
        Statement(
            sid="AllowScopedEC2InstanceAccessActions",
            actions=("ec2:RunInstances", "ec2:CreateFleet"),
            resources=(ec2("image/*", owner=False), ec2("snapshot/*", owner=False), ec2("security-group/*"),
                       ec2("subnet/*"), ec2("capacity-reservation/*"), ec2("placement-group/*")),
        ),
        Statement(
            sid="AllowScopedEC2LaunchTemplateAccessActions",
            actions=("ec2:RunInstances", "ec2:CreateFleet"),
            resources=(ec2("launch-template/*"),),
            conditions=owned,
        ),
        Statement(
            sid="AllowScopedEC2InstanceActionsWithTags",
            actions=("ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"),
            resources=launched,
            conditions=requested,
        ),
        Statement(
            sid="AllowScopedResourceCreationTagging",
            actions=("ec2:CreateTags",),
            resources=launched,
            conditions={**requested, "StringEquals": {
                **requested["StringEquals"], "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
            }},
        ),
        Statement(
            sid="AllowScopedResourceTagging",
            actions=("ec2:CreateTags",),
            resources=(ec2("instance/*"),),
            conditions={
                **owned,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
            },
        ),
        Statement(
            sid="AllowScopedDeletion",
            actions=("ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"),
            resources=(ec2("instance/*"), ec2("launch-template/*")),
            conditions=owned,
        ),
        Statement(
            sid="AllowPassingInstanceRole",
            actions=("iam:PassRole",),
            resources=(node_role_arn,),
            conditions={"StringEquals": {"iam:PassedToService": account.service_principal("ec2")}},
        ),
        Statement(
            sid="AllowInstanceProfileReadActions",
            actions=("iam:GetInstanceProfile",),
            resources=(instance_profile_arn,),
        ),
        Statement(
            sid="AllowAPIServerEndpointDiscovery",
            actions=("eks:DescribeCluster",),
            resources=(cluster_arn,),
        ),
        Statement(
            sid="AllowInterruptionQueueActions",
            actions=("sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"),
            resources=(queue_arn,),
        ),
        Statement(
            sid="ReadEncryptedInterruptions",
            actions=("kms:Decrypt",),
            resources=(key_arn,),
            conditions={"StringEquals": {"kms:ViaService": account.regional_service("sqs")}},
        ),
        Statement(
            sid="AllowRegionalReadActions",
            actions=(
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeInstances",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ),
            resources=("*",),
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
            any_resource_reason="EC2 Describe APIs take no resource scope; upstream limits them to the region",
        ),
        Statement(
            sid="AllowSSMReadActions",
            actions=("ssm:GetParameter",),
            resources=(account.arn("ssm", "parameter/aws/service/*", account=False),),
        ),
        Statement(
            sid="AllowPricingReadActions",
            actions=("pricing:GetProducts",),
            resources=("*",),
            any_resource_reason="the Price List API takes no resource scope",
        ),
        Statement(
            sid="AllowZonalShiftStatusReadOnly",
            actions=("arc-zonal-shift:GetManagedResource",),
            resources=("*",),
            conditions={"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}},
            any_resource_reason="upstream's v1.12 policy (#9123): scoped by arc-zonal-shift:ResourceIdentifier",
        ),
    )


def interruption_key_policy(account: AccountContext, rule_arns: list[str]) -> pulumi.Output[str]:
    """The interruption key: administered by the account, used through SQS by this account's
    principals (the controller's role holds ``kms:Decrypt`` on it), and by EventBridge only to
    deliver this stack's rules."""
    root = {"AWS": account.root_principal}
    return policy_document(
        Statement(sid="RootAdministersKey", principals=root, actions=KEY_ADMIN_ACTIONS, resources=("*",)),
        Statement(sid="UseOnlyThroughSQS", principals=root, actions=KEY_USE_ACTIONS, resources=("*",),
                  conditions={"StringEquals": {"kms:CallerAccount": account.account_id,
                                               "kms:ViaService": account.regional_service("sqs")}}),
        Statement(sid="InterruptionRulesEncrypt", principals={"Service": account.service_principal("events")},
                  actions=("kms:Decrypt", "kms:GenerateDataKey"), resources=("*",),
                  conditions={"ArnEquals": {"aws:SourceArn": rule_arns}}),
    )


def queue_policy_statements(account: AccountContext, queue_arn: StrInput, rule_arns: list[StrInput]) -> tuple[Statement, ...]:
    """TLS only; only this stack's EventBridge rules may send.

    Upstream's queue policy allows ``events.amazonaws.com`` and ``sqs.amazonaws.com`` to send
    with no condition, so any account's rule aimed at the queue could feed it fake interruptions
    (drains on demand). Here only the rules below may: ``aws:SourceArn`` is the rule that
    delivers, as the EventBridge user guide's SQS permissions example scopes it. Nothing sends
    as ``sqs.amazonaws.com``, so that principal is not allowed.
    """
    return (
        Statement(sid="DenyHTTP", effect="Deny", principals={"AWS": "*"}, actions=SQS_ALL, resources=(queue_arn,),
                  conditions={"Bool": {"aws:SecureTransport": False}}),
        Statement(sid="InterruptionRulesSend", principals={"Service": account.service_principal("events")},
                  actions=("sqs:SendMessage",), resources=(queue_arn,),
                  conditions={"ArnEquals": {"aws:SourceArn": rule_arns}}),
    )


class KarpenterArgs(ComponentArgs):
    prefix: str = Field(pattern=IAM_NAME_PATTERN, description="Environment prefix of physical names, e.g. 'maas-dev'.")
    account: AccountContext
    cluster_name: str = Field(
        description="EKS cluster name, known at plan time: the controller policy's tag conditions are keyed on it."
    )
    cluster_arn: StrInput = Field(description="The cluster resource's ARN output; the controller role trusts only it.")
    cluster_endpoint: StrInput = Field(description="API server endpoint (settings.clusterEndpoint).")
    cluster_security_group_id: StrInput = Field(
        description="The EKS cluster security group: tagged karpenter.sh/discovery so the EC2NodeClass selects it."
    )
    key_deletion_window_days: int = Field(30, ge=7, le=30, description="Deletion window of the interruption key.")
    system_node_group: str = Field(description="The managed node group the controller runs on (its maas.dev/node-group label).")
    replicas: int = Field(ge=1, le=3, description="Controller replicas: tier(environment).ha_replicas (dev 1, prod 2).")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the namespace and the ServiceMonitor.")
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list,
        description="What the controller pods need first: the system node group and the eks-pod-identity-agent add-on.",
    )
    protect: bool = Field(
        False, description="Protect the CRD release (removing it deletes every NodePool and node) and the queue's key.")

    @property
    def node_role_name(self) -> str:
        return f"{self.prefix}-karpenter-node"

    @property
    def controller_role_name(self) -> str:
        return f"{self.prefix}-karpenter"

    @property
    def interruption_queue_name(self) -> str:
        return f"{self.prefix}-karpenter-interruption"

    @model_validator(mode="after")
    def _names(self) -> "KarpenterArgs":
        role = self.node_role_name
        if len(role) > 64:
            raise ValueError(f"prefix: IAM role name '{role}' is {len(role)} characters, the limit is 64")
        return self


class Karpenter(pulumi.ComponentResource):
    """The Karpenter controller, its interruption queue, its identity and its nodes' identity.

    Pass the AWS and Kubernetes providers through ``opts.providers``. NodePools and the
    EC2NodeClass depend on :attr:`crds` (the kinds) and :attr:`release` (the controller that
    acts on them); they name :attr:`instance_profile`.
    """

    namespace: k8s.core.v1.Namespace
    queue: aws.sqs.Queue
    node_role: aws.iam.Role
    instance_profile: aws.iam.InstanceProfile
    controller_role: aws.iam.Role
    crds: k8s.helm.v3.Release
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: KarpenterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_KARPENTER, name, None, opts)
        account = args.account
        self._name = name
        self._labels = {**args.labels, names.MANAGED_BY_LABEL: names.MANAGED_BY}
        # The cluster's name, known only once the cluster exists: what AWS resources naming the
        # cluster wait on (the access entry, the Pod Identity association).
        cluster_name = pulumi.Output.from_input(args.cluster_arn).apply(lambda _: args.cluster_name)

        # Subnets are tagged by Network; the cluster security group exists only with the cluster.
        aws.ec2.Tag(
            f"{name}-cluster-security-group-discovery",
            resource_id=args.cluster_security_group_id,
            key=names.KARPENTER_DISCOVERY_TAG,
            value=args.cluster_name,
            opts=child(self),
        )

        self._interruption_queue(name, args)
        self._node_identity(name, args, cluster_name)

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": names.KARPENTER_NAMESPACE, "labels": {**self._labels, **names.RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self),
        )
        self.controller_role, identity = workload_identity(
            self, f"{name}-controller", account=account, cluster_name=cluster_name, cluster_arn=args.cluster_arn,
            role_name=args.controller_role_name, namespace=names.KARPENTER_NAMESPACE,
            service_account=KARPENTER_SERVICE_ACCOUNT,
            statements=controller_statements(
                account, cluster_name=args.cluster_name, node_role_arn=self.node_role.arn,
                instance_profile_arn=self.instance_profile.arn, queue_arn=self.queue.arn,
                key_arn=self.key.arn,
            ),
            description="Karpenter controller: launches and ends this cluster's nodes (Pod Identity)",
        )
        # The CRDs as a release of their own: Helm never upgrades a chart's crds/ directory, the
        # karpenter-crd chart ships them as templates (charts/karpenter-crd/templates at v1.12.2).
        self.crds = helm_release(
            self, f"{name}-crds", KARPENTER_CRD_CHART, namespace=self.namespace.metadata.name, values={},
            depends_on=[], protect=args.protect,
        )
        self.release = helm_release(
            self, f"{name}-controller-release", KARPENTER_CHART, namespace=self.namespace.metadata.name,
            values=controller_values(args), depends_on=[self.crds, identity, *args.wait_for], protect=False,
            skip_crds=True,
        )
        self.register_outputs({
            "interruption_queue_name": self.queue.name,
            "node_role_name": self.node_role.name,
            "instance_profile_name": self.instance_profile.name,
            "controller_role_arn": self.controller_role.arn,
        })

    def _interruption_queue(self, name: str, args: KarpenterArgs) -> None:
        """The queue EventBridge delivers interruption events to, the rules that do, and its DLQ.

        Upstream encrypts with SSE-SQS; here a key of its own encrypts both queues (every queue of
        the platform has a customer key, MAAS-SEC-003). EventBridge must be allowed to use it:
        ``kms:GenerateDataKey`` and ``kms:Decrypt`` for ``events.amazonaws.com``, conditioned on
        ``aws:SourceArn`` (EventBridge user guide, "Authorizing EventBridge to use a customer managed
        key", docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html, read
        on 2026-12-02). The platform keys stay closed to EventBridge. A message the controller
        fails to handle five times moves to the dead-letter queue instead of looping (MAAS-REL-005).
        """
        account = args.account
        rule_names = {event: f"{args.prefix}-karpenter-{event}" for event in INTERRUPTION_EVENTS}
        # Known now: the key policy names the rules and the rules' targets name the queue.
        rule_arns = [account.arn("events", f"rule/{rule}") for rule in rule_names.values()]
        self.key = aws.kms.Key(
            f"{name}-interruption-key",
            description=f"{args.prefix}: Karpenter's interruption queue",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=args.key_deletion_window_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=interruption_key_policy(account, rule_arns),
            tags={"Name": f"{args.prefix}-karpenter-interruption", "purpose": "karpenter-interruption"},
            # Protected with the platform's other keys: a deleted key cannot be undone by a redeploy.
            opts=child(self, protect=args.protect),
        )
        self.dead_letters = aws.sqs.Queue(
            f"{name}-interruption-dlq",
            name=f"{args.interruption_queue_name}-dlq",
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            kms_master_key_id=self.key.arn,
            opts=child(self),
        )
        self.queue = aws.sqs.Queue(
            f"{name}-interruption-queue",
            name=args.interruption_queue_name,
            message_retention_seconds=INTERRUPTION_RETENTION_SECONDS,
            kms_master_key_id=self.key.arn,
            redrive_policy=self.dead_letters.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT})),
            opts=child(self),
        )
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}-rule",
                name=rule_names[event],
                description=f"Karpenter interruption handling: {pattern['detail-type'][0]}",
                event_pattern=json.dumps(pattern),
                opts=child(self),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{event}-target",
                rule=rule.name,
                target_id=INTERRUPTION_TARGET_ID,
                arn=self.queue.arn,
                opts=child(self),
            )
            self.rules[event] = rule
        aws.sqs.QueuePolicy(
            f"{name}-interruption-queue-policy",
            queue_url=self.queue.id,
            policy=policy_document(*queue_policy_statements(account, self.queue.arn, rule_arns)),
            opts=child(self),
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruption-dlq-policy",
            queue_url=self.dead_letters.id,
            policy=policy_document(Statement(
                sid="DenyHTTP", effect="Deny", principals={"AWS": "*"}, actions=SQS_ALL,
                resources=(self.dead_letters.arn,), conditions={"Bool": {"aws:SecureTransport": False}})),
            opts=child(self),
        )

    def _node_identity(self, name: str, args: KarpenterArgs, cluster_name: pulumi.Output[str]) -> None:
        """The role of the nodes Karpenter launches, their instance profile and access entry."""
        account = args.account
        self.node_role = aws.iam.Role(
            f"{name}-node-role",
            name=args.node_role_name,
            description=f"Nodes Karpenter launches for {args.cluster_name}",
            assume_role_policy=assume_role_policy({"Service": account.service_principal("ec2")}),
            opts=child(self),
        )
        for policy in NODE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=self.node_role.name,
                policy_arn=managed_policy_arn(account.partition, policy),
                opts=child(self),
            )
        self.instance_profile = aws.iam.InstanceProfile(
            f"{name}-node-instance-profile", name=args.node_role_name, role=self.node_role.name, opts=child(self),
        )
        self.node_access = aws.eks.AccessEntry(
            f"{name}-node-access", cluster_name=cluster_name, principal_arn=self.node_role.arn, type="EC2_LINUX",
            opts=child(self),
        )

    def service_monitor(self, prometheus_release: pulumi.Resource) -> k8s.apiextensions.CustomResource:
        """The ServiceMonitor of the controller's metrics, once the Prometheus operator's CRDs exist.

        The chart renders its own ServiceMonitor only when the API server already serves
        ``monitoring.coreos.com/v1`` at install (charts/karpenter/templates/servicemonitor.yaml at
        v1.12.2: ``.Capabilities.APIVersions.Has``), and kube-prometheus-stack's pods need the nodes
        Karpenter launches: the chart's is off and this one, the template's selector and port, waits
        for Prometheus. kube-prometheus-stack selects every ServiceMonitor (observability values:
        ``serviceMonitorSelector: {}``).
        """
        return k8s.apiextensions.CustomResource(
            f"{self._name}-service-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata={"name": KARPENTER_CHART.name, "namespace": names.KARPENTER_NAMESPACE, "labels": self._labels},
            spec={
                "namespaceSelector": {"matchNames": [names.KARPENTER_NAMESPACE]},
                # karpenter.selectorLabels (_helpers.tpl): the chart name and the release name.
                "selector": {"matchLabels": {names.NAME_LABEL: KARPENTER_CHART.name,
                                             "app.kubernetes.io/instance": KARPENTER_CHART.name}},
                "endpoints": [{"port": "http-metrics", "path": "/metrics"}],
            },
            opts=child(self, depends_on=[self.release, prometheus_release]),
        )


def controller_values(args: KarpenterArgs) -> dict:
    """Values of the ``karpenter`` chart; every key is in charts/karpenter/values.yaml at v1.12.2."""
    return {
        "settings": {
            "clusterName": args.cluster_name,
            "clusterEndpoint": args.cluster_endpoint,
            "interruptionQueue": args.interruption_queue_name,
            # The cluster has zonal shift on (cluster.py): nodes are not launched into a shifted-away zone.
            "enableZonalShift": True,
        },
        "replicas": args.replicas,
        # The chart's PDB (templates/poddisruptionbudget.yaml) always exists; maxUnavailable 1 lets
        # a drain evict the single dev replica.
        "podDisruptionBudget": {"name": KARPENTER_CHART.name, "maxUnavailable": 1},
        "serviceAccount": {"create": True, "name": KARPENTER_SERVICE_ACCOUNT},
        "priorityClassName": "system-cluster-critical",  # as the chart's default
        # Only on the system node group, never on a node it manages (the chart's default affinity
        # already refuses nodes with karpenter.sh/nodepool).
        "nodeSelector": {"kubernetes.io/os": "linux", names.NODE_GROUP_LABEL: args.system_node_group},
        "tolerations": [{"key": names.SYSTEM_TAINT_KEY, "operator": "Exists"}],
        "controller": {"resources": CONTROLLER_RESOURCES},
        "serviceMonitor": {"enabled": False},  # see Karpenter.service_monitor
    }
