"""The agent's egress proxy: the one way out of the VPC its pods have.

A NetworkPolicy can name addresses, not hosts, and the hosts an agent calls (its LLM provider,
DynamoDB, S3) answer on public addresses that change. So the agent's pods get no route to the
internet at all: ``HTTPS_PROXY`` points them at an HTTP CONNECT proxy in their own namespace,
their NetworkPolicy allows only that proxy, and the proxy admits a CONNECT only to a host on the
agent's allow-list (the hosts it declares under ``egress`` and the AWS endpoints its own parts
need), on port 443. Only the proxy's pods may open connections to 0.0.0.0/0 (docs/egress.md).

The proxy is Envoy with its dynamic forward proxy, from the distroless image (no shell, runs as
any non-root user, writes nothing: a read-only root filesystem suits it). Facts checked on
2026-12-02:

* CONNECT is off unless ``upgrade_configs`` names it; with ``connect_config`` on the route Envoy
  terminates the CONNECT and forwards the payload as raw TCP; an HTTP/1.1 CONNECT is matched with
  ``connect_matcher``, and a non-wildcard domain is matched against the CONNECT target, port
  included ("hostname:port") — envoyproxy/envoy docs/root/intro/arch_overview/http/upgrades.rst,
  configs/terminate_http1_connect.yaml.
* The dynamic forward proxy HTTP filter and the ``envoy.clusters.dynamic_forward_proxy`` cluster
  must name the same DNS cache — docs/root/configuration/http/http_filters/dynamic_forward_proxy_filter.rst.
* A virtual host's domain may start with ``*`` as a suffix wildcard (``*.example.com``) —
  RouteConfiguration ``VirtualHost.domains`` in api/envoy/config/route/v3/route_components.proto.
* The distroless image's entrypoint is ``/usr/local/bin/envoy`` on gcr.io/distroless/base-nossl
  ``nonroot`` — distribution/docker/Dockerfile-envoy; ``distroless-v1.39.1`` is a published tag
  (hub.docker.com/r/envoyproxy/envoy/tags?name=v1.39.1), and the releases since v1.32.12 make
  the distroless images non-root (github.com/envoyproxy/envoy/releases/tag/v1.35.3).
* The generated bootstrap parses as ``envoy.config.bootstrap.v3.Bootstrap`` with the data-plane
  API's own protobuf descriptors (PyPI ``xds-protos``; tests/test_egress.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ... import names
from ...config.agents import AgentSpec, DynamoDBStorage, ExistingStorage, S3Storage
from ..contract import PlatformRefs
from ..nodepools import ARCHITECTURES_ANY, on_demand_only, pod_scheduling
from .common import physical_name
from .inbox import has_inbox

# Pinned by an immutable release tag (see the module docstring for where it was checked).
PROXY_IMAGE = "envoyproxy/envoy:distroless-v1.39.1"
# envoyproxy/envoy publishes every image variant, distroless included, for linux/arm64 and
# linux/amd64 (distribution/docker/build.sh, DOCKER_PLATFORM default, checked 2026-12-02 on main).
PROXY_IMAGE_ARCHITECTURES = ARCHITECTURES_ANY
PROXY_PORT = 3128
PROXY_REQUESTS = {"cpu": "50m", "memory": "64Mi"}
PROXY_LIMITS = {"cpu": "500m", "memory": "128Mi"}
CONFIG_FILE = "envoy.yaml"
CONFIG_DIR = "/etc/egress-proxy"
# What never goes through the proxy: in-cluster Services (the OpenTelemetry collector among them),
# the pod itself, and the EKS Pod Identity agent on the node (plain HTTP, reached directly).
NO_PROXY = (".svc", ".cluster.local", "localhost", "127.0.0.1", names.POD_IDENTITY_AGENT_CIDR.split("/")[0])
# Rolls the proxy's pods when its allow-list changes (Envoy reads a static bootstrap once).
CONFIG_HASH_ANNOTATION = "maas.dev/egress-config-hash"
_DNS_CACHE = {"name": "egress", "dns_lookup_family": "V4_ONLY", "max_hosts": 256}


def aws_endpoints(spec: AgentSpec, platform: PlatformRefs) -> list[str]:
    """The AWS hosts the agent's container calls itself, by what its parts are.

    DynamoDB: the regional endpoint and the account-based one the SDKs prefer when they know the
    account (``<account>.ddb.<region>.amazonaws.com``, docs.aws.amazon.com/sdkref/latest/guide/
    feature-account-endpoints.html, checked 2026-12-02). S3: the bucket's virtual-hosted regional
    host (path style for a bucket with a dot, which a virtual host's certificate cannot cover).
    SQS for an inbox, SNS for published topics of the sns-sqs backend, regional STS for IRSA, the
    Region's Bedrock runtime for an agent with ``llm.bedrock`` (bedrock-runtime.<region>.amazonaws.com,
    Amazon Bedrock endpoints and quotas, AWS General Reference, read 2026-12-03). KMS
    and Secrets Manager are not called by the container: the stores and queues use the key
    themselves, and secrets reach it through External Secrets.
    """
    account = platform.account
    region, suffix = account.region, account.dns_suffix
    hosts: set[str] = set()
    storage = spec.storage
    service = storage.store.service if isinstance(storage, ExistingStorage) else storage.kind
    if isinstance(storage, DynamoDBStorage) or service == "dynamodb":
        hosts |= {f"dynamodb.{region}.{suffix}", f"{account.account_id}.ddb.{region}.{suffix}"}
    if isinstance(storage, S3Storage) or service == "s3":
        bucket = storage.store.name if isinstance(storage, ExistingStorage) \
            else f"{physical_name(spec, platform)}-{account.account_id}"  # as components/agent/bucket.py names it
        hosts.add(f"s3.{region}.{suffix}" if "." in bucket else f"{bucket}.s3.{region}.{suffix}")
    if has_inbox(spec, platform):
        hosts.add(f"sqs.{region}.{suffix}")
    topics = platform.messaging.topics
    if platform.messaging.backend == "sns-sqs" and any(t in topics for t in spec.messaging.publishes):
        hosts.add(f"sns.{region}.{suffix}")
    if spec.identity == "irsa":
        hosts.add(f"sts.{region}.{suffix}")
    if spec.llm.bedrock is not None:  # InvokeModel and Converse; a cross-Region profile routes server-side
        hosts.add(f"bedrock-runtime.{region}.{suffix}")
    return sorted(hosts)


def allowed_hosts(spec: AgentSpec, platform: PlatformRefs) -> list[str]:
    """The proxy's allow-list: the declared hosts and the AWS endpoints; empty means no proxy."""
    return sorted(set(spec.egress) | set(aws_endpoints(spec, platform)))


def proxy_replicas(spec: AgentSpec) -> int:
    """The proxy's fewest replicas: two where the agent keeps two or more, else one."""
    return 2 if spec.replicas.min >= 2 else 1


def proxy_max_replicas(spec: AgentSpec) -> int:
    """The most its autoscaler may run (on CPU: every byte the agent sends out crosses it)."""
    return 2 * proxy_replicas(spec)


def proxy_url(spec: AgentSpec) -> str:
    return f"http://{names.EGRESS_PROXY_NAME}.{spec.namespace}.svc:{PROXY_PORT}"


def proxy_environment(spec: AgentSpec, platform: PlatformRefs) -> list[dict[str, Any]]:
    """The agent container's variables that send its HTTPS through the proxy (none without one).

    Both spellings: curl and Go read either, Python's urllib the lower case first, some tools
    only the upper. SDKs are told to use the regional S3 and STS hosts the allow-list names
    (in us-east-1 they would otherwise call the global ``s3.amazonaws.com``/``sts.amazonaws.com``).
    """
    if not allowed_hosts(spec, platform):
        return []
    url, bypass = proxy_url(spec), ",".join(NO_PROXY)
    env = [{"name": "HTTPS_PROXY", "value": url}, {"name": "https_proxy", "value": url},
           {"name": "NO_PROXY", "value": bypass}, {"name": "no_proxy", "value": bypass}]
    storage = spec.storage
    if isinstance(storage, S3Storage) or (isinstance(storage, ExistingStorage) and storage.store.service == "s3"):
        env.append({"name": "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "value": "regional"})
    if spec.identity == "irsa":
        env.append({"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"})
    return env


def envoy_config(hosts: Sequence[str], port: int = PROXY_PORT) -> dict[str, Any]:
    """Envoy's bootstrap: CONNECT to ``<host>:443`` for the hosts given, 403 for anything else,
    every request logged as one JSON line on stdout, ``/ready`` for the kubelet's probes."""
    connect = {"connect_matcher": {}}
    access_log = [{
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"json_format": {
                "start": "%START_TIME%", "method": "%REQ(:METHOD)%", "authority": "%REQ(:AUTHORITY)%",
                "code": "%RESPONSE_CODE%", "flags": "%RESPONSE_FLAGS%", "upstream": "%UPSTREAM_HOST%",
                "client": "%DOWNSTREAM_REMOTE_ADDRESS%", "sent": "%BYTES_SENT%", "received": "%BYTES_RECEIVED%",
                "duration_ms": "%DURATION%",
            }},
        },
    }]
    refused = {"status": 403, "body": {"inline_string": "egress refused: host not on the agent's allow-list\n"}}
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "egress",
        "access_log": access_log,
        "upgrade_configs": [{"upgrade_type": "CONNECT"}],
        "route_config": {"name": "egress", "virtual_hosts": [
            {
                "name": "allowed",
                "domains": [f"{host}:443" for host in hosts],
                "routes": [{"match": connect, "route": {
                    "cluster": "dynamic_forward_proxy",
                    "upgrade_configs": [{"upgrade_type": "CONNECT", "connect_config": {}}],
                }}],
            },
            {
                "name": "refused",
                "domains": ["*"],
                "routes": [
                    {"match": {"path": "/ready"}, "direct_response": {"status": 200, "body": {"inline_string": "ok\n"}}},
                    {"match": connect, "direct_response": refused},
                    {"match": {"prefix": "/"}, "direct_response": refused},
                ],
            },
        ]},
        "http_filters": [
            {"name": "envoy.filters.http.dynamic_forward_proxy", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig",
                "dns_cache_config": _DNS_CACHE,
            }},
            {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
            }},
        ],
    }
    return {"static_resources": {
        "listeners": [{
            "name": "egress",
            "address": {"socket_address": {"address": "0.0.0.0", "port_value": port}},
            "filter_chains": [{"filters": [
                {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager},
            ]}],
        }],
        "clusters": [{
            "name": "dynamic_forward_proxy",
            "connect_timeout": "5s",
            "lb_policy": "CLUSTER_PROVIDED",
            "cluster_type": {"name": "envoy.clusters.dynamic_forward_proxy", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig",
                "dns_cache_config": _DNS_CACHE,
            }},
        }],
    }}


def _tcp(port: Any) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def create_egress_proxy(
    name: str, spec: AgentSpec, platform: PlatformRefs, labels: dict[str, str], opts: pulumi.ResourceOptions,
) -> Optional[k8s.apps.v1.Deployment]:
    """The proxy's objects in the agent's namespace, or nothing when its allow-list is empty.

    ``opts`` parent them (to the workload) and make them wait for the namespace. Its pods carry the
    agent's labels with ``app.kubernetes.io/name: egress-proxy``; its own NetworkPolicy admits the
    agent's pods on the proxy port and lets it out on DNS and 443 anywhere but the instance metadata.
    """
    hosts = allowed_hosts(spec, platform)
    if not hosts:
        return None
    proxy = names.EGRESS_PROXY_NAME
    own = {**labels, names.NAME_LABEL: proxy}
    selector = {names.NAME_LABEL: proxy}

    def meta(**extra: Any) -> dict[str, Any]:
        return {"name": proxy, "namespace": spec.namespace, "labels": own, **extra}

    config = json.dumps(envoy_config(hosts), indent=1, sort_keys=True)  # JSON is YAML: Envoy reads it as .yaml
    config_map = k8s.core.v1.ConfigMap(f"{name}-egress-proxy-config", metadata=meta(), data={CONFIG_FILE: config},
                                       opts=opts)
    account = k8s.core.v1.ServiceAccount(f"{name}-egress-proxy-service-account", metadata=meta(),
                                         automount_service_account_token=False, opts=opts)
    replicas = proxy_replicas(spec)
    ready = {"httpGet": {"path": "/ready", "port": "proxy"}}
    container = {
        "name": proxy,
        "image": PROXY_IMAGE,
        # A release tag can be pushed again (a rebuilt base image): a node must not keep a stale copy.
        "imagePullPolicy": "Always",
        "args": ["--config-path", f"{CONFIG_DIR}/{CONFIG_FILE}", "--concurrency", "2", "--disable-hot-restart",
                 "--log-level", "warn"],
        "ports": [{"name": "proxy", "containerPort": PROXY_PORT, "protocol": "TCP"}],
        "resources": {"requests": dict(PROXY_REQUESTS), "limits": dict(PROXY_LIMITS)},
        "readinessProbe": {**ready, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
        "livenessProbe": {**ready, "periodSeconds": 20, "timeoutSeconds": 3, "failureThreshold": 3},
        "securityContext": names.restricted_container_security_context(),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    deployment = k8s.apps.v1.Deployment(
        f"{name}-egress-proxy",
        metadata=meta(),
        spec={
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": own, "annotations": {
                    CONFIG_HASH_ANNOTATION: hashlib.sha256(config.encode()).hexdigest()[:16],
                }},
                "spec": {
                    "serviceAccountName": proxy,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True, "runAsUser": names.RUN_AS, "runAsGroup": names.RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "config", "configMap": {"name": proxy}}],
                    "topologySpreadConstraints": [
                        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                         "labelSelector": {"matchLabels": selector}}
                        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                    ],
                    # The image is multi-arch (PROXY_IMAGE_ARCHITECTURES): any node agents may use,
                    # On-Demand for a critical agent in prod, as the agent's own pods.
                    **pod_scheduling(PROXY_IMAGE_ARCHITECTURES,
                                     on_demand_only=on_demand_only(spec.critical, platform.environment)),
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
        # The autoscaler owns the replica count once the Deployment exists.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            depends_on=[config_map, account], ignore_changes=["spec.replicas"])),
    )
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-egress-proxy-hpa",
        metadata=meta(),
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": proxy},
            "minReplicas": replicas,
            "maxReplicas": proxy_max_replicas(spec),
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70},
            }}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[deployment])),
    )
    k8s.core.v1.Service(
        f"{name}-egress-proxy-service",
        metadata=meta(),
        spec={"type": "ClusterIP", "selector": selector,
              "ports": [{"name": "proxy", "port": PROXY_PORT, "targetPort": "proxy", "protocol": "TCP"}]},
        opts=opts,
    )
    # Covers the one replica too (MAAS-STK-001); with two, a drain keeps one serving.
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-egress-proxy-pdb", metadata=meta(),
        spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}}, opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        f"{name}-netpol-{proxy}",
        metadata=meta(),
        spec={
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {names.NAME_LABEL: spec.name}}}],
                         "ports": [_tcp(PROXY_PORT)]}],
            "egress": [
                {"to": [{
                    "namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.KUBE_SYSTEM_NAMESPACE}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }], "ports": [{"protocol": "UDP", "port": 53}, _tcp(53)]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [names.INSTANCE_METADATA_CIDR]}}],
                 "ports": [_tcp(443)]},
            ],
        },
        opts=opts,
    )
    return deployment
