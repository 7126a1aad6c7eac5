"""``AgentWorkload``: what runs the agent in its namespace, and what watches it.

The namespace (Pod Security ``restricted``) with its service account, network policies,
quota and default limits, and the secret sync (SecretStore and ExternalSecret); the hardened
Deployment, Service, PodDisruptionBudget, the autoscaler (a KEDA ScaledObject on the inbox,
or a CPU HorizontalPodAutoscaler) and the REST entry (an Ingress on the shared load
balancer, HTTPS when public); a canary agent's Rollout over the Deployment and its analysis
(:mod:`.rollout`), which the autoscaler then scales; and the observability objects: the
container log group, ServiceMonitor, SLO rules, a synthetic probe of the health endpoint and a
dashboard.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field

from ... import names
from ...config.agents import AgentSpec, PublicExposure, cpu_millicores, declared_secrets, memory_bytes, secret_env_name, \
    topic_env_name
from ..contract import PlatformRefs
from ...slo import agent_dashboard, dashboard_uid, otel_environment, prometheus_rule_spec
from ..addons import secret_store_spec, secret_sync_service_account
from ..base import ComponentArgs, StrInput
from ..nodepools import on_demand_only, pod_scheduling
from ..observability import agent_log_group_prefix
from ..teams import team_objects_binding
from .common import agent_labels, data_protected, moved, physical_name
from .datastore import Datastore
from .rollout import backend_port, create_canary, is_canary, scale_target, template_annotations, traffic_routed
from .golden import PROBE_LIMITS, PROBE_REQUESTS, create_golden_probe, golden_set
from .egress import PROXY_LIMITS, PROXY_PORT, PROXY_REQUESTS, allowed_hosts, create_egress_proxy, proxy_environment, \
    proxy_max_replicas

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Ports of the optional brokers in the VPC: AMQPS (Amazon MQ), Kafka with IAM auth (MSK).
BROKER_PORTS = {"rabbitmq": 5671, "msk-serverless": 9098}
# The collector chart's pods (their name label), where agents send traces and metrics.
OTEL_COLLECTOR_POD = "opentelemetry-collector"

# -- the scale path (docs/scaling.md; tests/test_scaling.py adds these up) -----------------------
# KEDA checks every trigger once per pollingInterval, whatever the replica count (keda-docs
# content/docs/2.20/reference/scaledobject-spec.md "pollingInterval", default 30 s; kedacore/keda
# pkg/scaling/scale_handler.go startScaleLoop; checked 2026-12-02). At zero replicas only the KEDA
# operator sees the first message, so an agent that scales to zero polls every 5 s; above zero the
# HPA drives and reads every 15 s (kube-controller-manager --horizontal-pod-autoscaler-sync-period).
# With useCachedMetrics the HPA's reads come from KEDA's cache, so each poll is the only SQS
# GetQueueAttributes request: 5 s is 525,600 a month (730 h; $0.21 at $0.40 a million), 15 s 175,200.
WAKE_POLLING_SECONDS = 5
POLLING_SECONDS = 15
# KEDA scales 1 -> 0 after the triggers were inactive this long (cooldownPeriod, default 300 s).
COOLDOWN_SECONDS = 300
# autoscaling/v2 HPAScalingRules, written out rather than left to defaults: up at once (no
# stabilisation), doubling or +4 pods per 15 s; down on the highest recommendation of the last
# 5 minutes and at most half the replicas a minute, so a queue that empties in waves does not flap.
SCALE_UP: dict[str, Any] = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                 {"type": "Pods", "value": 4, "periodSeconds": 15}],
}
SCALE_DOWN: dict[str, Any] = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
}
# Kubelet probes: the startup probe finds a started agent within 2 s (up to 150 s to start), the
# readiness probe then within 5 s; a probe period bounds how late the kubelet notices each step.
STARTUP_PROBE: dict[str, Any] = {"periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 75}
READINESS_PROBE: dict[str, Any] = {"periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3}


def image_pull_policy(image: str) -> str:
    """``IfNotPresent`` for an image pinned by digest (its content cannot change); ``Always``
    for a tag, which can be moved: a node must not keep running its stale copy of the tag."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


class AgentWorkloadArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs
    role_arn: StrInput = Field(description="The agent's role: the IRSA annotation and the secret-sync service account's.")
    secret_names: dict[str, StrInput] = Field(
        default_factory=dict, description="Secrets Manager name of each declared secret (the ExternalSecret's keys)."
    )
    datastore: Datastore = Field(description="What the container is told of the datastore and what egress it needs.")
    inbox_url: Optional[StrInput] = Field(None, description="The inbox's URL (container and KEDA trigger); None: no inbox.")
    llm_environment: list[dict[str, Any]] = Field(
        default_factory=list, description="What the container is told of its models (AgentBedrock.environment()).")
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list, description="What the namespace waits for (the cluster add-ons)."
    )


class AgentWorkload(pulumi.ComponentResource):
    """The agent's namespace and everything in it. ``name`` is the AgentService's: the part is
    ``<name>-workload`` and its children keep their names (``<name>-namespace``, ...).

    A retired agent's workload is its container log group alone: what ran is gone, the logs of
    it stay with the agent's data, protected (:func:`.common.data_protected`)."""

    namespace: Optional[k8s.core.v1.Namespace]  # None for a retired agent
    service_account: Optional[k8s.core.v1.ServiceAccount]
    deployment: Optional[k8s.apps.v1.Deployment]
    # A canary agent's Rollout (components/agent/rollout.py): it runs the pods, the Deployment is its template.
    rollout: Optional[k8s.apiextensions.CustomResource] = None
    log_group: Optional[aws.cloudwatch.LogGroup] = None
    egress_proxy: Optional[k8s.apps.v1.Deployment] = None
    golden_probe: Optional[k8s.batch.v1.CronJob] = None

    def __init__(self, name: str, args: AgentWorkloadArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_WORKLOAD, f"{name}-workload", None, opts)
        self._name, self.args, self.spec, self.platform = name, args, args.spec, args.platform
        self._agent = opts.parent if opts is not None else None
        self.labels = agent_labels(args.spec, args.platform)
        if not self.spec.active:
            self.namespace = self.service_account = self.deployment = None
            self._log_group()
            self.register_outputs({"namespace": None, "deployment": None})
            return
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": self.spec.namespace, "labels": {**self.labels, **names.RESTRICTED_NAMESPACE_LABELS}},
            opts=self._opts(depends_on=list(args.wait_for)),
        )
        # A team's agent: its group gets the custom resources here before any is applied.
        self.team_binding = team_objects_binding(self, f"{name}-team-objects", agent=self.spec.name,
                                                 teams=self.platform.teams, labels=self.labels, namespace=self.namespace)
        self._ready: list[pulumi.Resource] = [self.namespace, *([self.team_binding] if self.team_binding else [])]
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=self._meta(self.spec.name, annotations=(
                {"eks.amazonaws.com/role-arn": args.role_arn} if self.spec.identity == "irsa" else {}
            )),
            automount_service_account_token=False,
            opts=self._opts(depends_on=[self.namespace]),
        )
        self._network_policies()
        # New since the parts: parented to the workload, no alias to a URN it never had.
        self.egress_proxy = create_egress_proxy(
            name, self.spec, self.platform, self.labels,
            pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self._quota()
        cases = golden_set(self.spec)
        if cases is not None and self.platform.probe_image:  # new: parented to the workload, no alias
            self.golden_probe = create_golden_probe(
                name, self.spec, cases, image=self.platform.probe_image,
                pull_policy=image_pull_policy(self.platform.probe_image), labels=self.labels,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
            )
        secret_sync = self._secret_sync() if args.secret_names else None
        self.deployment = self._deployment(secret_sync)
        self._exposure()
        self._observability()
        self.register_outputs({"namespace": self.spec.namespace, "deployment": self.spec.name})

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return moved(self, self._agent, **kwargs)

    def _in_namespace(self) -> pulumi.ResourceOptions:
        return self._opts(depends_on=list(self._ready))

    def _meta(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "namespace": self.spec.namespace, "labels": self.labels, **extra}

    # -- the namespace ------------------------------------------------------------------------

    def _network_policies(self) -> None:
        """Deny everything, then allow exactly what an agent needs."""
        spec, platform = self.spec, self.platform
        pods = {"matchLabels": {names.NAME_LABEL: spec.name}}
        monitoring = {"namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.MONITORING_NAMESPACE}}}
        policies: dict[str, dict[str, Any]] = {
            "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            "allow-dns": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{
                    "to": [{
                        "namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.KUBE_SYSTEM_NAMESPACE}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }],
                    "ports": [{"protocol": "UDP", "port": 53}, _tcp(53)],
                }],
            },
            "allow-load-balancer": {
                # The ALB targets pod IPs directly from inside the VPC.
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"ipBlock": {"cidr": platform.vpc_cidr}}], "ports": [_tcp(spec.port)]}],
            },
            "allow-monitoring": {
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [monitoring], "ports": [_tcp(spec.port)]}],
            },
            "allow-aws": {"podSelector": pods, "policyTypes": ["Egress"], "egress": self._aws_egress()},
        }
        for policy, body in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{self._name}-netpol-{policy}",
                metadata=self._meta(policy),
                spec=body,
                opts=self._in_namespace(),
            )

    def _aws_egress(self) -> list[dict[str, Any]]:
        spec, platform, store = self.spec, self.platform, self.args.datastore
        vpc = {"ipBlock": {"cidr": platform.vpc_cidr}}
        collector = {
            "namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.MONITORING_NAMESPACE}},
            "podSelector": {"matchLabels": {names.NAME_LABEL: OTEL_COLLECTOR_POD}},
        }
        rules: list[dict[str, Any]] = [
            # Interface endpoints (STS, Secrets Manager, KMS, SQS, ...) live in the VPC.
            {"to": [vpc], "ports": [_tcp(443)]},
            # Traces and metrics to the OpenTelemetry collector.
            {"to": [collector], "ports": [_tcp(names.OTEL_GRPC_PORT), _tcp(names.OTEL_HTTP_PORT)]},
            # Credentials come from the Pod Identity agent on the node.
            {"to": [{"ipBlock": {"cidr": names.POD_IDENTITY_AGENT_CIDR}}], "ports": [_tcp(80)]},
        ]
        # The datastore inside the VPC (Postgres).
        rules += [{"to": [vpc], "ports": [_tcp(port)]} for port in store.vpc_ports]
        broker_port = BROKER_PORTS.get(platform.messaging.backend)
        if broker_port and (spec.messaging.publishes or spec.messaging.subscribes):
            rules.append({"to": [vpc], "ports": [_tcp(broker_port)]})
        # Declared hosts, DynamoDB and S3 (public addresses, through the VPC's gateway endpoints)
        # and the AWS APIs without an interface endpoint: only through the agent's egress proxy,
        # which admits its allow-list alone (components/agent/egress.py). No path to 0.0.0.0/0.
        if spec.llm.gateway is not None:  # the LLM gateway's proxy pods, the one way to other providers' models
            rules.append({"to": [{
                "namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.LLM_GATEWAY_NAMESPACE}},
                "podSelector": {"matchLabels": {names.NAME_LABEL: names.LLM_GATEWAY_POD_NAME}},
            }], "ports": [_tcp(names.LLM_GATEWAY_PORT)]})
        if allowed_hosts(spec, platform):
            proxy = {"podSelector": {"matchLabels": {names.NAME_LABEL: names.EGRESS_PROXY_NAME}}}
            rules.append({"to": [proxy], "ports": [_tcp(PROXY_PORT)]})
        return rules

    def _quota(self) -> None:
        """Room for max replicas plus a rolling update's surge, and nothing that escapes the namespace."""
        resources, replicas = self.spec.resources, self.spec.replicas
        agent_pods = replicas.max + math.ceil(replicas.max * 0.25)
        # The egress proxy's most replicas and one surge pod (its rolling update), at its own size.
        proxies = proxy_max_replicas(self.spec) + 1 if self.egress_proxy is not None else 0
        # The golden-set probe's one pod (its CronJob forbids a second run while one is running).
        probes = 1 if self.spec.golden is not None else 0
        pods = agent_pods + proxies + probes
        proxy = {"requests": PROXY_REQUESTS, "limits": PROXY_LIMITS}
        probe = {"requests": PROBE_REQUESTS, "limits": PROBE_LIMITS}

        def cpu(quantity: str, kind: str = "requests") -> str:
            total = (cpu_millicores(quantity) * agent_pods + cpu_millicores(proxy[kind]["cpu"]) * proxies
                     + cpu_millicores(probe[kind]["cpu"]) * probes)
            return f"{total}m"

        def memory(quantity: str, kind: str = "requests") -> str:
            total = (memory_bytes(quantity) * agent_pods + memory_bytes(proxy[kind]["memory"]) * proxies
                     + memory_bytes(probe[kind]["memory"]) * probes)
            return f"{math.ceil(total / 2**20)}Mi"

        def most(quantity: str, kind: str, measure: Any) -> str:
            """The LimitRange's max: the agent's limit, or the proxy's or the probe's where larger."""
            others = ([PROXY_LIMITS[kind]] if self.egress_proxy is not None else []) + ([PROBE_LIMITS[kind]] if probes else [])
            return max([quantity, *others], key=measure)

        k8s.core.v1.ResourceQuota(
            f"{self._name}-quota",
            metadata=self._meta("agent-quota"),
            spec={"hard": {
                "pods": str(pods),
                "requests.cpu": cpu(resources.requests.cpu),
                "limits.cpu": cpu(resources.limits.cpu, "limits"),
                "requests.memory": memory(resources.requests.memory),
                "limits.memory": memory(resources.limits.memory, "limits"),
                "services.loadbalancers": "0",
                "services.nodeports": "0",
                "persistentvolumeclaims": "0",
            }},
            opts=self._in_namespace(),
        )
        k8s.core.v1.LimitRange(
            f"{self._name}-limits",
            metadata=self._meta("agent-limits"),
            spec={"limits": [{
                "type": "Container",
                "default": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
                "defaultRequest": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
                "max": {"cpu": most(resources.limits.cpu, "cpu", cpu_millicores),
                        "memory": most(resources.limits.memory, "memory", memory_bytes)},
            }]},
            opts=self._in_namespace(),
        )

    def _secret_sync(self) -> k8s.apiextensions.CustomResource:
        """External Secrets copies the agent's secrets into one Kubernetes Secret, as the agent's role.

        The SecretStore names no role: External Secrets exchanges a token of this namespace's
        ``secret-sync`` service account (annotated with the agent's role) for the role, which
        trusts exactly that subject (addons module docstring).
        """
        spec, platform = self.spec, self.platform
        access = secret_sync_service_account(
            self, self._name, namespace=spec.namespace, role_arn=self.args.role_arn, labels=self.labels,
            depends_on=list(self._ready),
        )
        store = k8s.apiextensions.CustomResource(
            f"{self._name}-secret-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata=self._meta(names.SECRET_STORE),
            spec=secret_store_spec(platform.account.region),
            opts=self._opts(depends_on=[*self._ready, *access]),
        )
        return k8s.apiextensions.CustomResource(
            f"{self._name}-external-secret",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=self._meta(f"{spec.name}-secrets"),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"name": names.SECRET_STORE, "kind": "SecretStore"},
                "target": {"name": f"{spec.name}-secrets", "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                "data": [
                    {"secretKey": secret_env_name(secret), "remoteRef": {"key": key}}
                    for secret, key in self.args.secret_names.items()
                ],
            },
            opts=self._opts(depends_on=[store]),
        )

    # -- the workload -------------------------------------------------------------------------

    def _environment(self) -> list[dict[str, Any]]:
        spec, platform, args = self.spec, self.platform, self.args
        env: list[dict[str, Any]] = [
            {"name": "MAAS_AGENT", "value": spec.name},
            {"name": "MAAS_ENVIRONMENT", "value": platform.environment},
            {"name": "AWS_REGION", "value": platform.account.region},
            # Where the shared load balancer routes the agent: "/" for a public host, "/<agent>" inside.
            {"name": "MAAS_BASE_PATH", "value": "/" if isinstance(spec.exposure, PublicExposure) else f"/{spec.name}"},
        ]
        env += args.datastore.environment()
        env += otel_environment(spec.name, spec.team, platform.environment, sample_ratio=platform.trace_sample_ratio)
        env += proxy_environment(spec, platform)
        env += args.llm_environment
        if args.inbox_url is not None:
            env.append({"name": "MAAS_INBOX_URL", "value": args.inbox_url})
        topics = platform.messaging.topics
        env += [
            {"name": topic_env_name(topic), "value": topics[topic].arn}
            for topic in spec.messaging.publishes if topic in topics
        ]
        env += [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
        env += [
            # optional: the first rollout must not wait for values someone puts after `pulumi up`.
            {"name": secret_env_name(s), "valueFrom": {"secretKeyRef": {
                "name": f"{spec.name}-secrets", "key": secret_env_name(s), "optional": True,
            }}}
            for s in declared_secrets(spec)
        ]
        if spec.llm.gateway is not None:  # its credential is LLM_GATEWAY_KEY (declared_secrets)
            env.append({"name": "MAAS_LLM_GATEWAY_URL", "value": names.LLM_GATEWAY_URL})
        return env

    def _deployment(self, secret_sync: Optional[pulumi.Resource]) -> k8s.apps.v1.Deployment:
        spec, name = self.spec, self._name
        selector = {names.NAME_LABEL: spec.name}
        http = {"path": spec.health_path, "port": "http"}
        container = {
            "name": "agent",
            "image": spec.image,
            "imagePullPolicy": image_pull_policy(spec.image),
            "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
            "env": self._environment(),
            "resources": {
                "requests": {"cpu": spec.resources.requests.cpu, "memory": spec.resources.requests.memory},
                "limits": {"cpu": spec.resources.limits.cpu, "memory": spec.resources.limits.memory},
            },
            "startupProbe": {"httpGet": http, **STARTUP_PROBE},
            "readinessProbe": {"httpGet": http, **READINESS_PROBE},
            "livenessProbe": {"httpGet": http, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
            "securityContext": names.restricted_container_security_context(),
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        spread = [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector}}
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
        depends = [self.namespace, self.service_account] + ([secret_sync] if secret_sync else [])
        canary = is_canary(spec)
        annotations = template_annotations(spec)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self._meta(spec.name),
            spec={
                # A canary agent's pods are the Rollout's: its Deployment is created without any,
                # and one that had pods is scaled down by the Rollout as its own come up.
                "replicas": 0 if canary else spec.replicas.min,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "template": {
                    "metadata": {"labels": self.labels, **({"annotations": annotations} if annotations else {})},
                    "spec": {
                        "serviceAccountName": spec.name,
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True, "runAsUser": names.RUN_AS, "runAsGroup": names.RUN_AS,
                            "fsGroup": names.RUN_AS, "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                        "topologySpreadConstraints": spread,
                        # Only nodes of the image's architectures (On-Demand ones for a critical agent
                        # in prod); pools dedicated to agents are open to it.
                        **pod_scheduling(spec.architectures,
                                         on_demand_only=on_demand_only(spec.critical, self.platform.environment)),
                        "terminationGracePeriodSeconds": 30,
                    },
                },
            },
            # The autoscaler (the Rollout, for a canary agent) owns the replica count once the
            # Deployment exists: an `up` never sends it again.
            opts=self._opts(depends_on=depends, ignore_changes=["spec.replicas"]),
        )
        if canary:  # new: parented to the workload, no alias
            self.rollout = create_canary(name, spec, self.platform.environment, self.labels, deployment=deployment,
                                         parent=self, wait_for=list(self._ready))
        scaled = self.rollout or deployment
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=self._meta(spec.name),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=self._in_namespace(),
        )
        # maxUnavailable 1, never minAvailable: a drain (Karpenter's consolidation, expiry, a node
        # group update) may always evict one pod, even the only replica of a dev agent.
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=self._meta(spec.name),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=self._in_namespace(),
        )
        if self.args.inbox_url is not None and self.platform.messaging.keda_authentication:
            self._scaled_object(scaled)
            return deployment
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=self._meta(spec.name),
            spec={
                "scaleTargetRef": scale_target(spec),
                "minReplicas": spec.replicas.min,
                "maxReplicas": spec.replicas.max,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": spec.replicas.target_cpu_percent},
                }}],
                "behavior": {"scaleUp": SCALE_UP, "scaleDown": SCALE_DOWN},
            },
            opts=self._opts(depends_on=[scaled]),
        )
        return deployment

    def _scaled_object(self, target: pulumi.Resource) -> None:
        """KEDA scales on inbox depth and CPU together (one HPA, owned by KEDA)."""
        spec, platform = self.spec, self.platform
        messaging = spec.messaging
        # The environment's tier allows it (platform.scale_to_zero) and the agent asks for it.
        zero = messaging.scale_to_zero and platform.scale_to_zero
        k8s.apiextensions.CustomResource(
            f"{self._name}-scaled-object",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=self._meta(spec.name),
            spec={
                "scaleTargetRef": scale_target(spec),
                "minReplicaCount": 0 if zero else spec.replicas.min,
                "maxReplicaCount": spec.replicas.max,
                "pollingInterval": WAKE_POLLING_SECONDS if zero else POLLING_SECONDS,
                "cooldownPeriod": COOLDOWN_SECONDS,
                "advanced": {"horizontalPodAutoscalerConfig": {
                    "behavior": {"scaleUp": SCALE_UP, "scaleDown": SCALE_DOWN},
                }},
                "triggers": [
                    {
                        "type": "aws-sqs-queue",
                        "authenticationRef": {"name": platform.messaging.keda_authentication,
                                              "kind": "ClusterTriggerAuthentication"},
                        "metadata": {
                            "queueURL": self.args.inbox_url,
                            "queueLength": str(messaging.messages_per_replica),
                            "activationQueueLength": str(messaging.activation_messages),
                            "awsRegion": platform.account.region,
                        },
                        # The HPA reads the depth KEDA polled last, not a request of its own.
                        "useCachedMetrics": True,
                    },
                    {"type": "cpu", "metricType": "Utilization",
                     "metadata": {"value": str(spec.replicas.target_cpu_percent)}},
                ],
            },
            opts=self._opts(depends_on=[target]),
        )

    def _exposure(self) -> None:
        """The REST entry: a rule on the environment's shared internal or internet-facing ALB."""
        spec, platform = self.spec, self.platform
        public = isinstance(spec.exposure, PublicExposure)
        annotations = {
            "alb.ingress.kubernetes.io/scheme": "internet-facing" if public else "internal",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/group.name": f"{platform.prefix}-{'public' if public else 'internal'}",
            "alb.ingress.kubernetes.io/healthcheck-path": spec.health_path,
            "alb.ingress.kubernetes.io/success-codes": "200-299",
        }
        rule: dict[str, Any] = {"http": {"paths": [{
            "path": "/" if public else f"/{spec.name}",
            "pathType": "Prefix",
            # A public canary agent's backend is the action the Rollout writes (weighted canary and stable).
            "backend": {"service": {"name": spec.name, "port": backend_port(spec)}},
        }]}}
        body: dict[str, Any] = {"ingressClassName": platform.ingress_class, "rules": [rule]}
        if public:
            exposure = spec.exposure
            annotations.update({
                "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTPS": 443}]),
                "alb.ingress.kubernetes.io/certificate-arn": exposure.certificate_arn,
                "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
            })
            rule["host"] = exposure.host
            body["tls"] = [{"hosts": [exposure.host]}]
        else:
            annotations["alb.ingress.kubernetes.io/listen-ports"] = json.dumps([{"HTTP": 80}])
        # After the Rollout, which writes the backend's action onto it (components/agent/rollout.py).
        routed = [self.rollout] if self.rollout is not None and traffic_routed(spec) else []
        k8s.networking.v1.Ingress(
            f"{self._name}-ingress",
            metadata=self._meta(spec.name, annotations=annotations),
            spec=body,
            opts=self._opts(depends_on=[*self._ready, *routed]),
        )

    # -- observability ------------------------------------------------------------------------

    def _log_group(self) -> None:
        """Fluent Bit ships the namespace's container logs here; the agent owns the group."""
        spec, platform = self.spec, self.platform
        if platform.logs_key_arn is not None:
            self.log_group = aws.cloudwatch.LogGroup(
                f"{self._name}-logs",
                name=f"{agent_log_group_prefix(platform.prefix)}{spec.namespace}",
                retention_in_days=platform.log_retention_days,
                kms_key_id=platform.logs_key_arn,
                opts=self._opts(protect=data_protected(spec, platform)),
            )

    def _observability(self) -> None:
        """Its log group, scraping, SLO rules, a synthetic probe of the health endpoint and a dashboard."""
        spec, platform, name = self.spec, self.platform, self._name
        self._log_group()
        k8s.apiextensions.CustomResource(
            f"{name}-service-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=self._meta(spec.name),
            spec={
                "selector": {"matchLabels": {names.NAME_LABEL: spec.name}},
                "namespaceSelector": {"matchNames": [spec.namespace]},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}],
            },
            opts=self._in_namespace(),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-slo-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=self._meta(f"{spec.name}-slos"),
            spec=prometheus_rule_spec(spec, spec.namespace, platform.runbook_base),
            opts=self._in_namespace(),
        )
        # Probed always; an agent that scales to zero gets no probe SLO or alert (see slo.agent_slos),
        # since its idle REST entry fails the probe by design.
        k8s.apiextensions.CustomResource(
            f"{name}-probe",
            api_version="monitoring.coreos.com/v1",
            kind="Probe",
            metadata=self._meta(f"{spec.name}-health"),
            spec={
                "jobName": f"{spec.name}-health",
                "interval": "30s",
                "module": names.BLACKBOX_HTTP_MODULE,
                "prober": {"url": names.BLACKBOX_EXPORTER_ADDRESS},
                "targets": {"staticConfig": {
                    # The same endpoint the kubelet probes, through the Service.
                    "static": [f"http://{spec.name}.{spec.namespace}.svc{spec.health_path}"],
                    "labels": {"agent": spec.name, "team": spec.team},
                }},
            },
            opts=self._in_namespace(),
        )
        dashboard = agent_dashboard(
            spec, spec.namespace,
            inbox_queue=f"{physical_name(spec, platform)}-inbox" if self.args.inbox_url is not None else None,
            region=platform.account.region,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata=self._meta(f"{spec.name}-dashboard",
                                labels={**self.labels, names.DASHBOARD_LABEL: names.DASHBOARD_LABEL_VALUE}),
            data={f"{dashboard_uid(spec.name)}.json": json.dumps(dashboard, sort_keys=True)},
            opts=self._in_namespace(),
        )


def _tcp(port: Any) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}
