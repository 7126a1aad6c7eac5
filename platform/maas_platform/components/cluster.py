"""A hardened EKS cluster from plain ``pulumi_aws`` resources.

Secure by default: private API endpoint (public only with an explicit CIDR allow-list),
secrets envelope-encrypted with the platform key, all five control-plane log types in a
retained, encrypted log group, API-mode access entries with no implicit creator admin,
managed node groups in private subnets whose launch template requires IMDSv2 with a hop
limit of 1 and encrypts volumes, the core add-ons with their own Pod Identity roles, and the
cluster's IAM OIDC provider (secret sync and IRSA).

The managed node groups host system pods only: each node carries the taint
``CriticalAddonsOnly=true:NoSchedule``, so only pods that tolerate it run there: Karpenter's
controller, the controllers every agent depends on (External Secrets, the AWS Load Balancer
Controller, metrics-server and KEDA, placed on the first group by :mod:`.addons`), CoreDNS, the EBS
CSI controller and the DaemonSets. Every other pod runs on nodes Karpenter launches.
Where each EKS add-on's pods run, as checked upstream on 2026-12-02:

- vpc-cni (aws-node), eks-pod-identity-agent and the EBS CSI node plugin are DaemonSets that
  tolerate every taint (``operator: Exists``: aws/eks-charts
  stable/aws-vpc-cni/values.yaml at 5239609; aws/eks-pod-identity-agent
  charts/eks-pod-identity-agent/values.yaml; kubernetes-sigs/aws-ebs-csi-driver chart
  ``node.tolerateAllTaints: true``), and each runs on arm64 as well as amd64 (the vpc-cni and
  pod identity agent charts' node affinity lists both; the EBS CSI node plugin excludes only a1).
  kube-proxy is a DaemonSet too; its add-on manifest's tolerations were not at hand to check.
- coredns: the upstream Deployment tolerates ``CriticalAddonsOnly`` (kubernetes/kubernetes
  cluster/addons/dns/coredns/coredns.yaml.base); the add-on's configuration schema has had a
  ``tolerations`` key since v1.9.3-eksbuild (aws/containers-roadmap #1930, #2167), and
  :data:`ADDON_CONFIGURATION` states the toleration, so DNS always has a node to run on,
  Karpenter's included.
- aws-ebs-csi-driver's controller tolerates ``CriticalAddonsOnly`` (chart
  ``controller.tolerations``), so it runs on either kind of node.
"""

from __future__ import annotations

import json
from typing import Literal, Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field, model_validator

from ..config.instances import ami_type
from ..config.models import CORE_ADDONS, NodeGroupConfig
from ..iam import Statement, assume_role_policy, managed_policy_arn, pod_identity, policy_document, trust_policy
from ..iam.actions import ASSUME_ROLE, KEY_GRANT_ACTIONS
from ..names import KUBE_SYSTEM_NAMESPACE, MAAS_CLUSTER, NODE_GROUP_LABEL, SYSTEM_TAINT_KEY
from .base import AccountContext, ComponentArgs, StrInput, child, encrypted_log_group

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

# Add-ons that call AWS APIs: their service account and the AWS-managed policy they need.
ADDON_IDENTITIES = {
    "vpc-cni": ("aws-node", "AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"),
}
# Node networking and identity come first so a node is Ready as soon as it joins; the
# Deployment-based add-ons come after the nodes, since EKS waits for their pods.
ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# Every managed node's taint: system pods only (module docstring).
SYSTEM_TAINT = {"key": SYSTEM_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}
# Add-on settings: the VPC CNI enforces NetworkPolicy (agents' namespaces are default-deny);
# CoreDNS tolerates the system taint, so it runs on the node groups before any Karpenter node exists.
ADDON_CONFIGURATION = {
    "vpc-cni": {"enableNetworkPolicy": "true"},
    "coredns": {"tolerations": [{"key": SYSTEM_TAINT_KEY, "operator": "Exists"}]},
}


class ClusterArgs(ComponentArgs):
    cluster_name: str = Field(description="EKS cluster name.")
    account: AccountContext
    kubernetes_version: str = Field(description="Kubernetes minor version, e.g. '1.35'.")
    support_type: Literal["STANDARD", "EXTENDED"] = Field("STANDARD", description="EKS upgrade policy.")
    endpoint_public_access: bool = Field(False, description="Public API endpoint; off by default.")
    public_access_cidrs: list[str] = Field(default_factory=list, description="Allow-list of a public endpoint.")
    subnet_ids: list[StrInput] = Field(min_length=2, description="Private subnets, one per AZ.")
    secrets_key_arn: StrInput = Field(description="KMS key for Kubernetes secrets envelope encryption.")
    logs_key_arn: StrInput = Field(description="KMS key of the control-plane log group.")
    volumes_key_arn: StrInput = Field(description="KMS key of node volumes.")
    log_retention_days: int = Field(365, description="Control-plane log retention.")
    admin_role_arns: list[str] = Field(default_factory=list, description="Roles granted cluster admin.")
    node_groups: list[NodeGroupConfig] = Field(
        min_length=1,
        description="Managed node groups, system pods only (tainted CriticalAddonsOnly=true:NoSchedule). Each "
                    "group's instance types share one architecture, which picks its AL2023 AMI type.",
    )
    addon_versions: dict[str, str] = Field(default_factory=dict, description="Pinned add-on versions.")
    protect: bool = Field(False, description="Protect the cluster and its log group; turn on deletion protection.")
    instance_tags: dict[str, str] = Field(
        default_factory=dict, description="Tags propagated to node instances, volumes and network interfaces."
    )

    @model_validator(mode="after")
    def _one_architecture_per_group(self) -> "ClusterArgs":
        for index, group in enumerate(self.node_groups):
            try:
                ami_type(group.instance_types)
            except ValueError as error:
                raise ValueError(f"node_groups[{index}].instance_types: {error}") from None
        return self


class Cluster(pulumi.ComponentResource):
    """EKS control plane, node groups, core add-ons and the identity plumbing."""

    cluster: aws.eks.Cluster
    node_role: aws.iam.Role
    node_groups: list[aws.eks.NodeGroup]
    addons: dict[str, aws.eks.Addon]
    oidc_provider: aws.iam.OpenIdConnectProvider
    kubeconfig: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(MAAS_CLUSTER, name, None, opts)
        account = args.account

        # EKS writes to exactly this name; creating it first sets retention and the key.
        log_group = encrypted_log_group(
            self, f"{name}-control-plane-logs", f"/aws/eks/{args.cluster_name}/cluster",
            retention_days=args.log_retention_days, key_arn=args.logs_key_arn, protect=args.protect,
        )

        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            description=f"EKS control plane of {args.cluster_name}",
            assume_role_policy=assume_role_policy(
                {"Service": account.service_principal("eks")}, actions=ASSUME_ROLE
            ),
            opts=child(self),
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn=managed_policy_arn(account.partition, "AmazonEKSClusterPolicy"),
            opts=child(self),
        )

        vpc_config: dict = {
            "subnet_ids": args.subnet_ids,
            "endpoint_private_access": True,
            "endpoint_public_access": args.endpoint_public_access,
        }
        if args.endpoint_public_access:
            vpc_config["public_access_cidrs"] = args.public_access_cidrs

        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=vpc_config,
            encryption_config={"provider": {"key_arn": args.secrets_key_arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            # The core add-ons are managed below as EKS add-ons, with their own identities.
            bootstrap_self_managed_addons=False,
            upgrade_policy={"support_type": args.support_type},
            zonal_shift_config={"enabled": True},
            deletion_protection=args.protect,
            opts=child(self, protect=args.protect, depends_on=[log_group, cluster_policy]),
        )

        self.admin_access: list[pulumi.Resource] = []
        for index, role_arn in enumerate(args.admin_role_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}",
                cluster_name=self.cluster.name,
                principal_arn=role_arn,
                type="STANDARD",
                opts=child(self),
            )
            self.admin_access.append(aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}-policy",
                cluster_name=self.cluster.name,
                principal_arn=role_arn,
                policy_arn=f"arn:{account.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                access_scope={"type": "cluster"},
                opts=child(self, depends_on=[entry]),
            ))

        # Always: External Secrets exchanges each namespace's secret-sync token for that
        # namespace's role through it (addons module docstring), and agents with identity irsa
        # use it for their pods. No thumbprint: thumbprint_lists is optional in pulumi-aws 7.51.1
        # (iam.OpenIdConnectProvider: without one IAM retrieves the top intermediate CA's
        # thumbprint itself), and IAM verifies the JWKS endpoint's certificate with its own
        # library of trusted root CAs (IAM API reference, UpdateOpenIDConnectProviderThumbprint).
        # Both checked on 2026-12-02.
        self.oidc_issuer = self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer if ids else "")
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.oidc_issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=child(self),
        )

        self.node_role = self._node_role(name, args)
        self.addons = self._addons(name, args, ADDONS_BEFORE_NODES, depends_on=[])
        self.node_groups = self._node_groups(name, args, depends_on=[*self.addons.values(), self.node_access])
        late = tuple(a for a in CORE_ADDONS if a not in ADDONS_BEFORE_NODES)
        self.addons.update(self._addons(name, args, late, depends_on=list(self.node_groups)))
        self._args = args
        self.kubeconfig = self._kubeconfig(args)

        self.register_outputs({
            "cluster_name": self.cluster.name,
            "cluster_arn": self.cluster.arn,
            "cluster_endpoint": self.cluster.endpoint,
            "node_role_arn": self.node_role.arn,
        })

    # -- nodes ---------------------------------------------------------------------------

    def _node_role(self, name: str, args: ClusterArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-node-role",
            description=f"Managed nodes of {args.cluster_name}",
            assume_role_policy=assume_role_policy({"Service": args.account.service_principal("ec2")}),
            opts=child(self),
        )
        # The CNI policy is deliberately absent: vpc-cni gets it through its own Pod Identity role.
        for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"):
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=role.name,
                policy_arn=managed_policy_arn(args.account.partition, policy),
                opts=child(self),
            )
        self.node_access = aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=self.cluster.name,
            principal_arn=role.arn,
            type="EC2_LINUX",
            opts=child(self),
        )
        return role

    def _node_groups(self, name: str, args: ClusterArgs, depends_on: list[pulumi.Resource]) -> list[aws.eks.NodeGroup]:
        groups = []
        propagated = [
            {"resource_type": kind, "tags": {**args.instance_tags, "Name": f"{args.cluster_name}-node"}}
            for kind in ("instance", "volume", "network-interface")
        ]
        for spec in args.node_groups:
            template = aws.ec2.LaunchTemplate(
                f"{name}-{spec.name}-lt",
                description=f"{args.cluster_name} {spec.name} nodes: IMDSv2 only, encrypted gp3 root volume",
                update_default_version=True,
                metadata_options={
                    "http_endpoint": "enabled",
                    "http_tokens": "required",
                    "http_put_response_hop_limit": 1,
                    "instance_metadata_tags": "disabled",
                },
                block_device_mappings=[{
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": spec.disk_size_gib,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "kms_key_id": args.volumes_key_arn,
                        "delete_on_termination": "true",
                    },
                }],
                # EC2 detailed monitoring (1-minute metrics) is billed per instance; a group may turn it off.
                monitoring={"enabled": spec.detailed_monitoring},
                tag_specifications=propagated,
                opts=child(self),
            )
            groups.append(aws.eks.NodeGroup(
                f"{name}-{spec.name}",
                cluster_name=self.cluster.name,
                node_group_name=spec.name,
                node_role_arn=self.node_role.arn,
                subnet_ids=args.subnet_ids,
                ami_type=ami_type(spec.instance_types),
                capacity_type=spec.capacity_type,
                instance_types=spec.instance_types,
                scaling_config={
                    "min_size": spec.min_size, "desired_size": spec.desired_size, "max_size": spec.max_size,
                },
                update_config={"max_unavailable_percentage": 33},
                launch_template={"id": template.id, "version": template.latest_version.apply(str)},
                labels={NODE_GROUP_LABEL: spec.name, **spec.labels},
                taints=[SYSTEM_TAINT, *({"key": t.key, "value": t.value, "effect": t.effect}
                                        for t in spec.taints if t.key != SYSTEM_TAINT_KEY)],
                node_repair_config={"enabled": True},
                # Desired size is set at creation only: whoever resizes a system group later
                # (an operator, within min and max) is not undone by the next update.
                opts=child(self, depends_on=depends_on, ignore_changes=["scalingConfig.desiredSize"]),
            ))
        return groups

    # -- add-ons -------------------------------------------------------------------------

    def _addon_role(self, name: str, addon: str, service_account: str, policy: str, args: ClusterArgs) -> aws.iam.Role:
        account = args.account
        role = aws.iam.Role(
            f"{name}-{addon}-role",
            description=f"EKS add-on {addon} on {args.cluster_name} (Pod Identity)",
            assume_role_policy=trust_policy(
                pod_identity(account.account_id, account.arn("eks", f"cluster/{args.cluster_name}"),
                             KUBE_SYSTEM_NAMESPACE, service_account)
            ),
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-{addon}-policy",
            role=role.name,
            policy_arn=managed_policy_arn(account.partition, policy),
            opts=child(self),
        )
        return role

    def _volume_key_grant(self, name: str, role: aws.iam.Role, args: ClusterArgs) -> None:
        """The managed EBS CSI policy covers AWS-managed keys only; volumes use the platform key."""
        aws.iam.RolePolicy(
            f"{name}-aws-ebs-csi-driver-kms",
            role=role.id,
            policy=policy_document(
                Statement(
                    sid="UseVolumeKey",
                    actions=("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext",
                             "kms:ReEncryptFrom", "kms:ReEncryptTo"),
                    resources=(args.volumes_key_arn,),
                ),
                Statement(
                    sid="GrantVolumeKeyToEbs",
                    actions=KEY_GRANT_ACTIONS,
                    resources=(args.volumes_key_arn,),
                    conditions={"Bool": {"kms:GrantIsForAWSResource": True}},
                ),
            ),
            opts=child(self),
        )

    def _addons(
        self, name: str, args: ClusterArgs, names: tuple[str, ...], depends_on: list[pulumi.Resource]
    ) -> dict[str, aws.eks.Addon]:
        addons: dict[str, aws.eks.Addon] = {}
        for addon in names:
            identity = ADDON_IDENTITIES.get(addon)
            associations = None
            if identity:
                service_account, policy = identity
                role = self._addon_role(name, addon, service_account, policy, args)
                associations = [{"role_arn": role.arn, "service_account": service_account}]
                if addon == "aws-ebs-csi-driver":
                    self._volume_key_grant(name, role, args)
            addons[addon] = aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                configuration_values=json.dumps(ADDON_CONFIGURATION[addon]) if addon in ADDON_CONFIGURATION else None,
                addon_version=args.addon_versions.get(addon),
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                pod_identity_associations=associations,
                opts=child(self, depends_on=depends_on),
            )
        return addons

    # -- access for later components -------------------------------------------------------

    def kubeconfig_for(self, role_arn: pulumi.Input[str]) -> pulumi.Output[str]:
        """:attr:`kubeconfig` whose token is signed as ``role_arn`` (a team's deploy role)."""
        return self._kubeconfig(self._args, role_arn)

    def _kubeconfig(self, args: ClusterArgs, role_arn: Optional[pulumi.Input[str]] = None) -> pulumi.Output[str]:
        """A kubeconfig that authenticates with ``aws eks get-token`` (no static credentials).

        With ``role_arn`` the CLI assumes that role to sign the token (``--role-arn``: "Assume this
        role for credentials when signing the token", AWS CLI reference, eks get-token, checked
        2026-12-02), so whoever runs it acts as the role, whatever credentials they start from.
        """

        def render(values: list) -> str:
            endpoint, authority, cluster_name, role = values
            ca_data = authority.get("data") if isinstance(authority, dict) else getattr(authority, "data", None)
            return json.dumps({
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
                "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
                "current-context": cluster_name,
                "users": [{"name": cluster_name, "user": {"exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "aws",
                    "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", args.account.region,
                             *(["--role-arn", role] if role else []), "--output", "json"],
                    "interactiveMode": "Never",
                }}}],
            })

        return pulumi.Output.secret(
            pulumi.Output.all(self.cluster.endpoint, self.cluster.certificate_authority, self.cluster.name,
                              role_arn).apply(render)
        )
