"""The environment: keys, network, cluster and the cluster baseline, composed from config."""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..config.defaults import BEDROCK_RUNTIME_ENDPOINT, tier
from ..config.models import PlatformConfig
from .contract import MessagingRefs, PlatformOutputs, PlatformRefs, TopicRef
from ..names import (
    DASHBOARD_LABEL, DASHBOARD_LABEL_VALUE, LLM_GATEWAY_KEY_SECRET, MAAS_PLATFORM, POD_IDENTITY_PRINCIPAL,
    RESTRICTED_NAMESPACE_LABELS, SYSTEM_NAMESPACE,
)
from ..slo import openslo_documents, platform_dashboard
from ..tagging import owner_tags, platform_labels, platform_tags, tag_transformation
from .addons import ClusterAddons, ClusterAddonsArgs
from .admission import AdmissionPolicies, AdmissionPoliciesArgs
from .agent import AgentService, AgentServiceArgs
from .base import AccountContext, ComponentArgs, child
from .bedrock import BedrockLogging, BedrockLoggingArgs
from .broker import Broker, BrokerArgs
from .budgets import Budgets, BudgetsArgs, Threshold
from .delivery import Delivery, DeliveryArgs
from .cluster import Cluster, ClusterArgs
from .encryption import EncryptionArgs, PlatformKeys
from .flows import FlowSLOs, flow_args, flows_output
from .karpenter import Karpenter, KarpenterArgs
from .llmgateway import LlmGateway, LlmGatewayArgs
from .network import Network, NetworkArgs
from .nodepools import NodePools, NodePoolsArgs, node_pool_outputs
from .teams import AgentBoundaryArgs, TeamAccess, TeamAccessArgs, agent_permissions_boundary
from .teams import CiBoundaryArgs, ci_permissions_boundary
from .observability import ObservabilityArgs, ObservabilityStack, Receiver
from .rollouts import ArgoRollouts, ArgoRolloutsArgs, controller_replicas
from .signatures import SignatureVerifier, SignatureVerifierArgs


def interface_endpoints(config: PlatformConfig) -> list[str]:
    """``maas:network.interface_endpoints``, and ``bedrock-runtime`` where those are on and an agent
    (active or retired) declares ``llm.bedrock``."""
    endpoints = list(config.network.interface_endpoints)
    if endpoints and BEDROCK_RUNTIME_ENDPOINT not in endpoints and any(a.llm.bedrock for a in config.agents):
        endpoints.append(BEDROCK_RUNTIME_ENDPOINT)
    return endpoints


class PlatformArgs(ComponentArgs):
    config: PlatformConfig


class Platform(pulumi.ComponentResource):
    """One environment of the platform. Give it the AWS provider through ``opts.providers``."""

    account: AccountContext
    keys: PlatformKeys
    network: Network
    cluster: Cluster
    kubernetes: k8s.Provider
    karpenter: Karpenter
    node_pools: NodePools
    addons: ClusterAddons
    crd_releases: list[k8s.helm.v3.Release]
    agents: dict[str, AgentService]

    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        config = args.config
        tags = platform_tags(config.environment, config.prefix, config.tags)
        # The platform's team and cost center only fill: Pulumi runs an agent's own tag
        # transformation before its ancestors', so an agent's resources keep theirs.
        owner = owner_tags(config.team, config.cost_center)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            transformations=[tag_transformation(tags), tag_transformation(owner, override=False)],
        ))
        super().__init__(MAAS_PLATFORM, name, None, opts)
        self.tags = tags
        self.labels = platform_labels(config.environment, config.team, config.cost_center)
        self.prefix = config.prefix
        self._config = config

        invoke = pulumi.InvokeOptions(parent=self)
        identity = aws.get_caller_identity(opts=invoke)
        partition = aws.get_partition(opts=invoke)
        self.account = AccountContext(
            account_id=identity.account_id,
            partition=partition.partition,
            region=config.region,
            dns_suffix=partition.dns_suffix,
        )
        zones = config.network.availability_zones or self._zones(config.network.az_count, invoke)

        self.keys = PlatformKeys(
            f"{name}-keys",
            EncryptionArgs(
                prefix=config.prefix,
                account=self.account,
                deletion_window_days=config.encryption.key_deletion_window_days,
                protect=config.protect_stateful,
                existing=config.encryption.existing_keys.model_dump(exclude_none=True),
            ),
            opts=child(self),
        )
        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                prefix=config.prefix,
                account=self.account,
                cidr=config.network.cidr,
                availability_zones=zones,
                nat_gateways=config.network.nat_gateways,
                interface_endpoints=interface_endpoints(config),
                cluster_name=config.cluster_name,
                flow_log_retention_days=config.network.flow_log_retention_days,
                logs_key_arn=self.keys.arn("logs"),
                protect=config.protect_stateful,
                existing=config.network.existing,
            ),
            opts=child(self),
        )
        self.cluster = Cluster(
            f"{name}-cluster",
            ClusterArgs(
                cluster_name=config.cluster_name,
                account=self.account,
                kubernetes_version=config.cluster.kubernetes_version,
                support_type=config.cluster.support_type,
                endpoint_public_access=config.cluster.endpoint_public_access,
                public_access_cidrs=config.cluster.public_access_cidrs,
                subnet_ids=self.network.private_subnet_ids,
                secrets_key_arn=self.keys.arn("eks"),
                logs_key_arn=self.keys.arn("logs"),
                volumes_key_arn=self.keys.arn("ebs"),
                log_retention_days=config.cluster.log_retention_days,
                admin_role_arns=config.cluster.admin_role_arns,
                node_groups=config.cluster.node_groups,
                addon_versions=config.cluster.addon_versions,
                protect=config.protect_stateful,
                # Nodes are shared: launched by EC2, they carry the platform's owner too.
                instance_tags={**owner, **tags},
            ),
            opts=child(self),
        )
        # The Kubernetes provider is the composition root's to build: every later component
        # (add-ons, agents) receives it instead of making its own.
        self.kubernetes = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.cluster.kubeconfig,
            enable_server_side_apply=True,
            # Objects can be applied once the deploying role's admin access is in place.
            opts=child(self, depends_on=self.cluster.admin_access),
        )
        self._baseline(name, config)
        # Node autoscaling: the controller on the system node group, then the pools it launches
        # nodes from. Every pod but the system ones runs on those nodes, so every later release
        # waits for the pools (Helm waits for ready pods).
        self.karpenter = Karpenter(
            f"{name}-karpenter",
            KarpenterArgs(
                prefix=config.prefix,
                account=self.account,
                cluster_name=config.cluster_name,
                cluster_arn=self.cluster.cluster.arn,
                cluster_endpoint=self.cluster.cluster.endpoint,
                cluster_security_group_id=self._cluster_security_group(),
                system_node_group=config.cluster.node_groups[0].name,
                replicas=tier(config.environment).ha_replicas,
                key_deletion_window_days=config.encryption.key_deletion_window_days,
                labels=self.labels,
                wait_for=[*self.cluster.node_groups, self.cluster.addons["eks-pod-identity-agent"]],
                protect=config.protect_stateful,
            ),
            opts=child(self, providers=[self.kubernetes]),
        )
        self.node_pools = NodePools(
            f"{name}-node-pools",
            NodePoolsArgs(
                instance_profile=self.karpenter.instance_profile.name,
                volumes_key_arn=self.keys.arn("ebs"),
                instance_tags={**owner, **tags},
                discovery=config.cluster_name,
                node_class=config.cluster.node_class,
                pools=config.cluster.node_pools,
                labels=self.labels,
                wait_for=[self.karpenter.crds, self.karpenter.release],
            ),
            opts=child(self, providers=[self.kubernetes]),
        )
        capacity = [*self.cluster.node_groups, self.karpenter.release, self.node_pools]
        self.addons = ClusterAddons(
            f"{name}-addons",
            ClusterAddonsArgs(
                prefix=config.prefix,
                account=self.account,
                cluster_name=self.cluster.cluster.name,
                cluster_arn=self.cluster.cluster.arn,
                vpc_id=self.network.vpc_id,
                system_node_group=config.cluster.node_groups[0].name,
                # The load balancers are shared by the agents' Ingresses (their cost is the platform's).
                load_balancer_tags={**owner, **tags},
                labels=self.labels,
                # Controllers need nodes to run on and Pod Identity to get credentials.
                wait_for=[*capacity, self.cluster.addons["eks-pod-identity-agent"]],
                replicas=tier(config.environment).ha_replicas,
                protect=config.protect_stateful,
            ),
            opts=child(self, providers=[self.kubernetes]),
        )
        self.zones = zones
        publishers: dict[str, list[str]] = {}
        # A retired agent publishes nothing, is budgeted no more and leaves the dashboard: its role is gone.
        active = [agent for agent in config.agents if agent.active]
        for agent in active:
            for topic in agent.messaging.publishes:
                publishers.setdefault(topic, []).append(agent.name)
        self.broker = Broker(
            f"{name}-broker",
            BrokerArgs(
                prefix=config.prefix,
                environment=config.environment,
                account=self.account,
                config=config.broker,
                publishers=publishers,
                operator_role_arns=config.operator_role_arns,
                alert_emails=config.observability.alert_emails,
                rabbitmq_deployment=config.rabbitmq_deployment,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                cluster_security_group_id=self._cluster_security_group(),
                deletion_window_days=config.encryption.key_deletion_window_days,
                protect=config.protect_stateful,
            ),
            opts=child(self),
        )
        self.budgets = Budgets(
            f"{name}-budgets",
            BudgetsArgs(
                prefix=config.prefix,
                environment_limit_usd=config.budgets.monthly_limit_usd,
                team_limits_usd=config.budgets.teams,
                agent_limits_usd={a.name: a.budget.monthly_usd for a in active if a.budget.monthly_usd},
                thresholds=[Threshold(percent=t.percent, kind="ACTUAL" if t.kind == "actual" else "FORECASTED")
                            for t in config.budgets.thresholds],
                emails=config.observability.alert_emails,
                alert_topic_arn=self.broker.alert_topic.arn,
                activate_cost_allocation_tags=config.budgets.activate_cost_allocation_tags,
            ),
            opts=child(self),
        )
        self.observability = ObservabilityStack(
            f"{name}-observability",
            ObservabilityArgs(
                prefix=config.prefix,
                account=self.account,
                environment=config.environment,
                cluster_name=self.cluster.cluster.name,
                cluster_arn=self.cluster.cluster.arn,
                alert_topic_arn=self.broker.alert_topic.arn,
                alert_key_arn=self.broker.key.arn,
                logs_key_arn=self.keys.arn("logs"),
                oidc_provider_arn=self.cluster.oidc_provider.arn,
                oidc_issuer=self.cluster.oidc_issuer,
                prometheus_retention_days=config.observability.prometheus_retention_days,
                prometheus_volume_gib=config.observability.prometheus_volume_gib,
                prometheus_replicas=tier(config.environment).ha_replicas,
                alertmanager_replicas=tier(config.environment).ha_replicas,
                replicas=tier(config.environment).ha_replicas,
                log_retention_days=config.observability.agent_log_retention_days,
                receivers=[Receiver(**r.model_dump()) for r in config.observability.receivers],
                labels=self.labels,
                wait_for=[*capacity, self.cluster.addons["aws-ebs-csi-driver"],
                          self.addons.external_secrets, self.storage_class],
                protect=config.protect_stateful,
            ),
            opts=child(self, providers=[self.kubernetes]),
        )
        self.karpenter.service_monitor(self.observability.prometheus_release)
        # Argo Rollouts runs agents' canaries; its chart's ServiceMonitor needs Prometheus' CRDs.
        self.rollouts = ArgoRollouts(f"{name}-argo-rollouts", ArgoRolloutsArgs(
            system_node_group=config.cluster.node_groups[0].name if tier(config.environment).rollouts_on_system_nodes
            else None,
            vpc_cidr=config.network.cidr,
            replicas=controller_replicas(config.environment), labels=self.labels,
            wait_for=[*capacity, self.observability.prometheus_release], protect=config.protect_stateful,
        ), opts=child(self, providers=[self.kubernetes]))
        # Kyverno verifies agents' image signatures where maas:delivery.require_signatures (prod always).
        self.signatures = SignatureVerifier(f"{name}-signatures", SignatureVerifierArgs(
            prefix=config.prefix, environment=config.environment, account=self.account,
            cluster_name=self.cluster.cluster.name, cluster_arn=self.cluster.cluster.arn, vpc_cidr=config.network.cidr,
            system_node_group=config.cluster.node_groups[0].name, labels=self.labels,
            wait_for=[*capacity, self.cluster.addons["eks-pod-identity-agent"]], protect=config.protect_stateful,
        ), opts=child(self, providers=[self.kubernetes])) if config.delivery.require_signatures else None
        # The releases that install the custom resource definitions agents' objects are made of:
        # external-secrets.io (SecretStore, ExternalSecret), keda.sh (ScaledObject) and
        # monitoring.coreos.com (ServiceMonitor, PrometheusRule, Probe), argoproj.io (Rollout,
        # AnalysisTemplate). pulumi-kubernetes retries
        # an object whose kind the cluster does not know yet for about 30 s, then fails; a Helm
        # install takes longer, so every custom resource waits for its release. (Checked on
        # 2026-12-02 in pulumi/pulumi-kubernetes at 9497796: provider/pkg/await/await.go retries
        # meta.IsNoMatchError 5 times, provider/pkg/retry/retry.go from 1 s doubling: 31 s.)
        self.crd_releases = [self.addons.external_secrets, self.addons.keda, self.observability.prometheus_release,
                             self.rollouts.release]
        if self.signatures is not None:  # policies.kyverno.io (the agents' ImageValidatingPolicy)
            self.crd_releases.append(self.signatures.release)
        # Every agent role carries it; a team's deploy role creates agent roles only with it.
        self.agent_boundary = agent_permissions_boundary(self, f"{name}-agent-boundary", AgentBoundaryArgs(
            prefix=config.prefix, account=self.account, broker_key_arn=self.broker.key.arn,
            kafka_cluster_arn=self.broker.kafka.arn if self.broker.kafka else None,
        ))
        # Every agent's CI role carries it; a team's deploy role creates CI roles only with it.
        self.ci_boundary = ci_permissions_boundary(self, f"{name}-ci-boundary", CiBoundaryArgs(
            prefix=config.prefix, account=self.account))
        self.teams = {
            team.name: TeamAccess(f"{name}-team-{team.name}", TeamAccessArgs(
                team=team.name, agents=team.agents, deployers=team.deployers, prefix=config.prefix,
                account=self.account, cluster_name=self.cluster.cluster.name, cluster_arn=self.cluster.cluster.arn,
                boundary_arn=self.agent_boundary.arn, ci_boundary_arn=self.ci_boundary.arn,
                topic_arns=[t.arn for t in self.broker.topics.values()],
                labels=self.labels,
            ), opts=child(self, providers=[self.kubernetes]))
            for team in config.teams
        }
        # The GitHub OIDC provider agents' CI roles trust, image scanning and the critical-finding alert.
        self.delivery = Delivery(f"{name}-delivery", DeliveryArgs(
            prefix=config.prefix, account=self.account, config=config.delivery,
            alert_topic_arn=self.broker.alert_topic.arn,
        ), opts=child(self))
        refs = self.refs(config)
        # The API server's own check of agents' objects: agents are admitted under it.
        self.admission = AdmissionPolicies(
            f"{name}-admission",
            AdmissionPoliciesArgs(environment=config.environment, prefix=config.prefix, labels=self.labels,
                                  probe_image=config.probe_image,
                                  require_own_registry=config.delivery.require_own_registry, account=self.account,
                                  teams={team.name: list(team.agents) for team in config.teams}),
            opts=child(self, providers=[self.kubernetes]),
        )
        self.agents = {
            spec.name: AgentService(
                f"{name}-agent-{spec.name}",
                AgentServiceArgs(spec=spec, platform=refs),
                # The agent's namespace waits for these, and each of its objects for the namespace.
                opts=child(self, providers=[self.kubernetes],
                           depends_on=[self.addons, self.admission, *self.crd_releases]),
            )
            for spec in config.agents
        }
        # Each flow's rules and dashboard, in its entry agent's namespace (components/flows.py).
        self.flows = {
            flow.name: FlowSLOs(
                f"{name}-flow-{flow.name}",
                flow_args(flow, self.agents, runbook_base=refs.runbook_base),
                opts=child(self, providers=[self.kubernetes]),
            )
            for flow in config.flows
        }
        # Account-and-Region-wide: one per platform stack, only where an agent calls Bedrock. A retired
        # agent counts: retiring the last one must not delete the invocation logs with its group.
        self.bedrock_logging = BedrockLogging(f"{name}-bedrock-logging", BedrockLoggingArgs(
            prefix=config.prefix, account=self.account, logs_key_arn=self.keys.arn("logs"),
            retention_days=config.llm.log_retention_days, protect=config.protect_stateful,
        ), opts=child(self)) if config.llm.invocation_logging and any(a.llm.bedrock for a in config.agents) else None
        # Other providers' models: the LLM gateway, its providers' keys and the agents' credentials.
        self.llm_gateway = LlmGateway(f"{name}-llm-gateway", LlmGatewayArgs(
            prefix=config.prefix, account=self.account, environment=config.environment,
            providers=config.llm.providers, agents=config.agents,
            agent_secrets={n: a.secrets[LLM_GATEWAY_KEY_SECRET] for n, a in self.agents.items()
                           if LLM_GATEWAY_KEY_SECRET in a.secrets and a.spec.llm.gateway is not None},
            cluster_name=self.cluster.cluster.name, oidc_provider_arn=self.cluster.oidc_provider.arn,
            oidc_issuer=self.cluster.oidc_issuer, vpc_id=self.network.vpc_id, vpc_cidr=config.network.cidr,
            private_subnet_ids=self.network.private_subnet_ids, availability_zones=self.zones,
            cluster_security_group_id=self._cluster_security_group(),
            logs_key_arn=self.keys.arn("logs"), log_retention_days=config.observability.agent_log_retention_days,
            key_deletion_window_days=config.encryption.key_deletion_window_days, labels=self.labels,
            wait_for=[*capacity, self.addons, *self.crd_releases, self.storage_class],
            prometheus_release=self.observability.prometheus_release, database=config.llm.gateway_database,
            protect=config.protect_stateful,
        ), opts=child(self, providers=[self.kubernetes])) \
            if config.llm.providers or any(a.llm.gateway for a in config.agents) else None
        if active:
            board = platform_dashboard(active)
            k8s.core.v1.ConfigMap(
                f"{name}-agents-dashboard",
                metadata={"name": "maas-agents-dashboard", "namespace": SYSTEM_NAMESPACE,
                          "labels": {**self.labels, DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE}},
                data={"maas-platform.json": json.dumps(board, sort_keys=True)},
                opts=child(self, provider=self.kubernetes, depends_on=[self.system_namespace]),
            )

        self.register_outputs(self.outputs())

    def _zones(self, count: int, invoke: pulumi.InvokeOptions) -> list[str]:
        """The region's first ``count`` standard AZs (Local and Wavelength Zones excluded)."""
        zones = aws.get_availability_zones(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=invoke,
        )
        names = sorted(zones.names)
        if len(names) < count:
            raise pulumi.RunError(
                f"maas:network.az_count: region {self.account.region} offers {len(names)} zones, {count} requested"
            )
        return names[:count]

    def _baseline(self, name: str, config: PlatformConfig) -> None:
        """Cluster objects every environment has: an encrypted default StorageClass and the
        platform's own namespace under Pod Security ``restricted``."""
        labels = self.labels
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3-encrypted",
            metadata={
                "name": "gp3-encrypted",
                "labels": labels,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": self.keys.arn("ebs")},
            reclaim_policy="Retain" if config.protect_stateful else "Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=child(self, provider=self.kubernetes, depends_on=[self.cluster.addons["aws-ebs-csi-driver"]]),
        )
        self.system_namespace = k8s.core.v1.Namespace(
            f"{name}-system-namespace",
            metadata={"name": SYSTEM_NAMESPACE, "labels": {**labels, **RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self, provider=self.kubernetes),
        )

    def refs(self, config: PlatformConfig) -> PlatformRefs:
        """This environment as its agents see it (what a team stack reads from the outputs)."""
        cluster = self.cluster.cluster
        return PlatformRefs(
            environment=config.environment,
            prefix=config.prefix,
            account=self.account,
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            vpc_id=self.network.vpc_id,
            vpc_cidr=config.network.cidr,
            private_subnet_ids=self.network.private_subnet_ids,
            availability_zones=self.zones,
            cluster_security_group_id=self._cluster_security_group(),
            messaging=MessagingRefs(
                backend=config.broker.backend,
                topics={n: TopicRef(arn=t.arn, ordered=config.broker.topic(n).ordered, **self.broker.topic_publishers(n))
                        for n, t in self.broker.topics.items()},
                broker_key_arn=self.broker.key.arn,
                alert_topic_arn=self.broker.alert_topic.arn,
                kafka_cluster_arn=self.broker.kafka.arn if self.broker.kafka else None,
                max_receive_count=config.broker.max_receive_count,
                visibility_timeout_seconds=config.broker.visibility_timeout_seconds,
                inbox_retention_days=config.broker.inbox_retention_days,
                dlq_retention_days=config.broker.dlq_retention_days,
                max_message_age_seconds=config.broker.max_message_age_seconds,
                keda_authentication=self.addons.keda_authentication_name,
            ),
            oidc_provider_arn=self.cluster.oidc_provider.arn,
            oidc_issuer=self.cluster.oidc_issuer,
            ingress_class=self.addons.ingress_class,
            protect_stateful=config.protect_stateful,
            scale_to_zero=tier(config.environment).scale_to_zero,
            trace_sample_ratio=config.observability.trace_sample_ratio,
            probe_image=config.probe_image,
            logs_key_arn=self.keys.arn("logs"),
            log_retention_days=config.observability.agent_log_retention_days,
            tags=self.tags,
            agent_permissions_boundary_arn=self.agent_boundary.arn,
            ci_permissions_boundary_arn=self.ci_boundary.arn,
            node_pools=node_pool_outputs(config),
            llm_provider_hosts=[provider.api_host for provider in config.llm.providers],
            node_role_arns=[self.cluster.node_role.arn, self.karpenter.node_role.arn],
            github_oidc_provider_arn=self.delivery.github_oidc_provider_arn,
            require_signatures=config.delivery.require_signatures,
            signature_verifier_role_arn=self.signatures.role.arn if self.signatures is not None else None,
        )

    def _after_crd_releases(self, value: pulumi.Input[str]) -> pulumi.Output[str]:
        """``value``, known only once every release of :attr:`crd_releases` is deployed.

        A team stack applies its agents' objects through the provider it builds from this
        output, so they cannot be created before the CRDs exist. The engine stores a stack's
        outputs as soon as the program registers them, during the update, not at its end
        (checked on 2026-12-02: pulumi/pulumi pkg/backend/snapshot.go,
        ``SnapshotManager.RegisterResourceOutputs`` journals them at once; the Python SDK
        registers them when every value is known, pulumi/runtime/stack.py and resource.py
        ``register_resource_outputs`` of pulumi 3.272). Without this wait a team stack could read
        a kubeconfig while a first platform deploy was still installing, or had failed to
        install, its releases. The value and its secrecy are unchanged.
        """
        return pulumi.Output.all(value, *[release.id for release in self.crd_releases]).apply(lambda values: values[0])

    def _cluster_security_group(self) -> pulumi.Output[str]:
        return self.cluster.cluster.vpc_config.apply(lambda v: v.cluster_security_group_id if v else None)

    def outputs(self) -> dict[str, pulumi.Input]:
        """What team stacks read through a StackReference (names prefixed by what they describe)."""
        cluster = self.cluster.cluster
        config = self._config
        outputs: dict[str, pulumi.Input] = {
            "environment": self.tags["environment"],
            "region": self.account.region,
            "account_id": self.account.account_id,
            "cluster_name": cluster.name,
            "cluster_arn": cluster.arn,
            "cluster_endpoint": cluster.endpoint,
            "cluster_certificate_authority": cluster.certificate_authority.apply(lambda ca: ca.data if ca else None),
            "cluster_version": cluster.version,
            "cluster_security_group_id": cluster.vpc_config.apply(lambda v: v.cluster_security_group_id if v else None),
            "cluster_oidc_issuer": self.cluster.oidc_issuer,
            "oidc_provider_arn": self.cluster.oidc_provider.arn,
            "pod_identity_principal": POD_IDENTITY_PRINCIPAL,
            "kubeconfig": self._after_crd_releases(self.cluster.kubeconfig),
            "node_role_arn": self.cluster.node_role.arn,
            "vpc_id": self.network.vpc_id,
            "vpc_cidr": self.network.vpc_cidr,
            "private_subnet_ids": self.network.private_subnet_ids,
            "public_subnet_ids": self.network.public_subnet_ids,
            "availability_zones": self.zones,
            "platform_tags": self.tags,
            "prefix": self.prefix,
            "ingress_class": self.addons.ingress_class,
            "observability": self.observability.outputs(),
            "agent_log_retention_days": config.observability.agent_log_retention_days,
            # What team agents inherit so they behave like the platform's own.
            "protect_stateful": config.protect_stateful,
            "scale_to_zero": tier(config.environment).scale_to_zero,
            "trace_sample_ratio": config.observability.trace_sample_ratio,
            "probe_image": config.probe_image,
            # Agents' images: the nodes that pull them, the provider team CI roles would trust.
            "node_role_arns": [self.cluster.node_role.arn, self.karpenter.node_role.arn],
            "github_oidc_provider_arn": self.delivery.github_oidc_provider_arn,
            # How a team stack's agent notifies on its own budget (this stack budgets maas:agents).
            "agent_budgets": {
                "thresholds": [t.model_dump() for t in self.budgets.notifications.thresholds],
                "alert_topic_arn": self.budgets.notifications.alert_topic_arn,
                "emails": list(self.budgets.notifications.emails),
            },
            "messaging": {
                **self.broker.outputs(),
                "max_receive_count": self._config.broker.max_receive_count,
                "visibility_timeout_seconds": self._config.broker.visibility_timeout_seconds,
                "inbox_retention_days": self._config.broker.inbox_retention_days,
                "dlq_retention_days": self._config.broker.dlq_retention_days,
                "max_message_age_seconds": self._config.broker.max_message_age_seconds,
                "keda_authentication": self.addons.keda_authentication_name,
            },
            "agents": {
                agent: {
                    "namespace": a.spec.namespace,
                    "lifecycle": a.lifecycle,
                    "slos": openslo_documents(a.spec, a.spec.namespace) if a.spec.active else [],
                    "role_arn": a.role.arn if a.role is not None else None,
                    "key_arn": a.key.arn,
                    "secret_arns": {secret: s.arn for secret, s in a.secrets.items()},
                    "datastore_arns": a.datastore_arns(),
                    "inbox_arn": a.inbox.arn if a.inbox else None,
                    "dead_letter_queue_arn": a.dead_letters.arn if a.dead_letters else None,
                    # What the agent's release workflow is called with (docs/delivery.md).
                    "repository": a.registry.repository.name,
                    "repository_url": a.registry.repository.repository_url,
                    "ci_role_arn": a.registry.ci_role.arn if a.registry.ci_role is not None else None,
                    "signing_key_arn": a.registry.signing_key.arn,
                }
                for agent, a in self.agents.items()
            },
            # Each team's deploy identity; its kubeconfig signs tokens as the deploy role.
            "teams": {
                team: {
                    "agents": sorted(access.agents),
                    "deploy_role_arn": access.role.arn,
                    "kubeconfig": self._after_crd_releases(self.cluster.kubeconfig_for(access.role.arn)),
                }
                for team, access in self.teams.items()
            },
            "agent_permissions_boundary_arn": self.agent_boundary.arn,
            "ci_permissions_boundary_arn": self.ci_boundary.arn,
            # The pools a team stack checks its agents' pods against (components/nodepools.py).
            "node_pools": [pool.model_dump() for pool in node_pool_outputs(config)],
            # The providers only the LLM gateway reaches: a team stack refuses them as agents' egress.
            "llm_provider_hosts": [provider.api_host for provider in config.llm.providers],
            # What a team stack's plan gate enforces: this stack's maas:policy, never loosened there.
            "policy": {
                "environment": config.environment,
                **config.policy.model_dump(mode="json"),
                "admin_principals": list(config.cluster.admin_role_arns),
            },
        }
        outputs.update({f"{purpose}_key_arn": arn for purpose, arn in self.keys.arns.items()})
        if self.flows:  # their paths, objectives and OpenSLO documents, as agents' under `agents`
            outputs["flows"] = flows_output(self.flows)
        return PlatformOutputs.export(**outputs)
