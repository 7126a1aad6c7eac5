"""The Helm values of the five observability releases, as pure functions.

Nothing here creates a resource: each function maps the stack's args (or a region and a
prefix) to the dict the release gets, so the values are tested without the mock engine. Keys
follow each chart's ``values.yaml`` at the pinned version (:mod:`.charts`).
"""

from __future__ import annotations

from typing import Any

from ... import names
from ..base import StrInput
from .args import ObservabilityArgs, Receiver
from .charts import FLUENT_BIT_CHART, KUBE_PROMETHEUS_STACK_CHART, PUSHGATEWAY_CHART
from .layout import (
    ALERTMANAGER_SERVICE_ACCOUNT,
    FLUENT_BIT_SERVICE_ACCOUNT,
    GRAFANA_ADMIN_PASSWORD_KEY,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_ADMIN_USER_KEY,
    GRAFANA_SERVICE_ACCOUNT,
    OTEL_COLLECTOR_SERVICE_ACCOUNT,
    OTEL_PROMETHEUS_EXPORTER_PORT,
    PROMETHEUS_POD_LABELS,
    PUSHGATEWAY_DATA_DIR,
    PUSHGATEWAY_PERSISTENCE_FILE,
    PUSHGATEWAY_USER,
    RECEIVER_FILE_FIELD,
    RECEIVERS_MOUNT_PATH,
    RECEIVERS_SECRET,
    RECEIVERS_VOLUME,
    SEVERITY_MATCHERS,
    SYSTEM_NAMESPACES,
    agent_log_group_prefix,
    agent_namespaces,
    unattributed_log_group_name,
)


# Where the releases' pods run. Every pod here that is not a DaemonSet runs on nodes Karpenter
# launches (none tolerates the system node groups' taint), on arm64 or amd64 when each of its images
# is published for both, else pinned to amd64 with AMD64_ONLY. Checked on 2026-12-02 in each
# project's release build at the version the pinned chart runs:
# - prometheus-operator and prometheus-config-reloader v0.93.1 (kube-prometheus-stack 88.5.3's
#   appVersion; the config reloader runs in the Prometheus and Alertmanager pods):
#   scripts/push-docker-image.sh, run by .github/workflows/publish.yaml on tags, builds and joins
#   CPU_ARCHS "amd64 arm64 arm ppc64le s390x" into one manifest per image. Read at tag v0.93.0 and on
#   main of 2026-08-08 (6adcebc), the same line in both; v0.93.1 was cut from release-0.93 between
#   them (prometheus-operator PR #8750, 2026-08-10) and is not in the copy at hand.
# - Prometheus v3.14.0-distroless (prometheusSpec image tag): prometheus/prometheus tag v3.14.0,
#   Makefile.common DOCKER_ARCHS ?= amd64 arm64 armv7 ppc64le riscv64 s390x, and common-docker-manifest
#   joins every variant (the distroless one included) across them; ci.yml publish_release pushes them.
# - Alertmanager v0.34.0: prometheus/alertmanager tag v0.34.0, Makefile DOCKER_ARCHS ?= amd64 armv7
#   arm64 ppc64le s390x; .github/workflows/release.yml publish_release.
# - kube-state-metrics v2.20.0 (subchart 8.4.0's appVersion): kubernetes/kube-state-metrics tag
#   v2.20.0, Makefile ALL_ARCH = amd64 arm arm64 ppc64le s390x, `push` joins them (cloudbuild.yaml).
# - blackbox_exporter v0.28.0 (chart 11.17.2's appVersion): prometheus/blackbox_exporter tag v0.28.0,
#   Makefile DOCKER_ARCHS ?= amd64 armv7 arm64 ppc64le, published by the CircleCI prometheus orb.
# - Pushgateway v1.11.3 (prometheus-pushgateway 3.8.0's appVersion, checked on 2026-12-03):
#   prometheus/pushgateway tag v1.11.3, Makefile DOCKER_ARCHS ?= amd64 armv7 arm64 ppc64le s390x,
#   joined by Makefile.common's common-docker-manifest; ci.yml publish_release pushes them.
# - otel/opentelemetry-collector-contrib 0.158.0 (chart 0.170.0's appVersion):
#   opentelemetry-collector-releases tag v0.158.0, distributions/otelcol-contrib/.goreleaser.yaml
#   docker_manifests join 386, amd64, armv7, arm64, ppc64le, riscv64 and s390x.
# Still pinned to amd64:
# - Grafana 13.2.0 (subchart 12.11.1's appVersion): its repository was too large to bring here, so
#   its release build was not read at that tag; its pod's other image, kiwigrid/k8s-sidecar 2.10.1,
#   is multi-arch (tag 2.10.1, docker-bake.hcl: linux/amd64, linux/arm64, linux/arm/v7,
#   linux/ppc64le, linux/riscv64), but one image decides the pod.
# - The admission webhook patch Job (ghcr.io/jkroepke/kube-webhook-certgen 1.8.7): the copy of
#   jkroepke/kube-webhook-certgen at hand ends at v1.7.3.
AMD64_ONLY = {names.ARCH_LABEL: "amd64"}
# The DaemonSets run on every node, whatever its taints: the system node groups'
# (CriticalAddonsOnly=true:NoSchedule) and the agents' pools (maas.dev/dedicated=agents:NoSchedule).
# Both images run on arm64 nodes too (checked on 2026-12-02): Fluent Bit's image workflow
# (fluent/fluent-bit .github/workflows/call-build-images.yaml) builds amd64, arm64 and arm/v7 and
# publishes one multi-arch manifest; node-exporter is built by the Prometheus projects' shared
# Makefile.common, whose DOCKER_ARCHS include arm64 (as in prometheus/alertmanager v0.34.0).
EVERY_NODE = [{"operator": "Exists"}]

# Prometheus's memory follows the series in its head block, which follow the nodes and pods it
# scrapes. Staging and prod keep 500m / 2Gi; dev, a cluster of a few nodes and agents kept for
# 7 days, starts from half of that, and its 4Gi limit still absorbs a compaction.
PROMETHEUS_RESOURCES: dict[str, dict[str, Any]] = {
    "dev": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "4Gi"}},
    "default": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
}


def prometheus_resources(environment: str) -> dict[str, Any]:
    """Prometheus's requests and limit in ``environment`` (:data:`PROMETHEUS_RESOURCES`)."""
    return PROMETHEUS_RESOURCES.get(environment, PROMETHEUS_RESOURCES["default"])


def kube_prometheus_stack_values(
    args: ObservabilityArgs, page_topics: list[StrInput], ticket_topics: list[StrInput]
) -> dict[str, Any]:
    """Value keys as in the chart's values.yaml (prometheus, alertmanager, grafana,
    prometheus-node-exporter, kube*); the grafana keys are the grafana subchart's."""
    pod_security = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000,
                    "seccompProfile": {"type": "RuntimeDefault"}}
    # The StatefulSets' volume claims go with them, unless the environment protects its state:
    # helm uninstall removes the Prometheus and Alertmanager resources, and claims the operator's
    # StatefulSets keep would otherwise outlive the stack (and their EBS volumes with them).
    volume_claims = persistent_volume_claim_retention(args.protect)

    def volume(gib: int) -> dict[str, Any]:
        return {"volumeClaimTemplate": {"spec": {
            "storageClassName": args.storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        }}}

    return {
        "fullnameOverride": KUBE_PROMETHEUS_STACK_CHART.name,
        "crds": {"enabled": True},
        # EKS runs the control plane: etcd, the scheduler, the controller manager and
        # kube-proxy's metrics (bound to 127.0.0.1) cannot be scraped; their rules would
        # fire forever.
        "kubeEtcd": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "defaultRules": {"create": True, "rules": {
            "etcd": False, "kubeSchedulerAlerting": False, "kubeSchedulerRecording": False,
            "kubeControllerManager": False, "kubeProxy": False, "windows": False,
        }},
        "prometheus": {
            "podDisruptionBudget": {"enabled": args.prometheus_replicas > 1, "minAvailable": 1},
            "prometheusSpec": {
                "replicas": args.prometheus_replicas,
                "persistentVolumeClaimRetentionPolicy": volume_claims,
                "retention": f"{args.prometheus_retention_days}d",
                # Keep headroom on the volume: Prometheus drops old blocks before the disk fills.
                "retentionSize": f"{max(1, int(args.prometheus_volume_gib * 0.85))}GB",
                "storageSpec": volume(args.prometheus_volume_gib),
                # Select every rule, monitor and probe of every namespace, not only the release's.
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "ruleSelector": {},
                "serviceMonitorSelector": {},
                "podMonitorSelector": {},
                "probeSelector": {},
                "ruleNamespaceSelector": {},
                "serviceMonitorNamespaceSelector": {},
                "podMonitorNamespaceSelector": {},
                "probeNamespaceSelector": {},
                "externalLabels": {"environment": args.environment, "platform": args.prefix},
                "securityContext": pod_security,
                "resources": prometheus_resources(args.environment),
            },
        },
        "alertmanager": {
            "serviceAccount": {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT},
            "podDisruptionBudget": {"enabled": args.alertmanager_replicas > 1, "minAvailable": 1},
            "config": alertmanager_config(args, page_topics, ticket_topics),
            "alertmanagerSpec": {
                **receiver_volumes(args.receivers),
                "replicas": args.alertmanager_replicas,
                "persistentVolumeClaimRetentionPolicy": volume_claims,
                "storage": volume(args.alertmanager_volume_gib),
                "securityContext": pod_security,
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            },
        },
        "grafana": {
            "serviceAccount": {"create": True, "name": GRAFANA_SERVICE_ACCOUNT},
            # The ESO-synced Secret; no password is ever in these values.
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": GRAFANA_ADMIN_USER_KEY,
                      "passwordKey": GRAFANA_ADMIN_PASSWORD_KEY},
            "persistence": {"enabled": False},  # dashboards and datasources are provisioned
            "testFramework": {"enabled": False},
            "sidecar": {"dashboards": {
                "enabled": True,
                "label": names.DASHBOARD_LABEL,
                "labelValue": names.DASHBOARD_LABEL_VALUE,
                "searchNamespace": "ALL",
            }},
            "additionalDataSources": [{
                "name": "CloudWatch",
                "uid": "cloudwatch",
                "type": "cloudwatch",
                "access": "proxy",
                "editable": False,
                # "default": the SDK chain, i.e. Grafana's Pod Identity credentials.
                "jsonData": {"authType": "default", "defaultRegion": args.account.region},
            }],
            "grafana.ini": {
                "analytics": {"check_for_updates": False, "reporting_enabled": False},
                "users": {"allow_sign_up": False},
                "auth.anonymous": {"enabled": False},
            },
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
            "nodeSelector": AMD64_ONLY,
        },
        # nodeSelector keys checked on 2026-12-02 at kube-prometheus-stack-88.5.3 (values.yaml:
        # prometheusOperator.admissionWebhooks.patch.nodeSelector; the webhook's own Deployment,
        # admissionWebhooks.deployment, is off by default) and the grafana 12.11.1 subchart
        # (top-level nodeSelector).
        "prometheusOperator": {
            "admissionWebhooks": {"patch": {"nodeSelector": AMD64_ONLY}},
        },
        # hostNetwork/hostPID/hostPath: the privileged namespace, not `monitoring`. The subchart
        # (prometheus-node-exporter 4.56.1) tolerates NoSchedule taints only; it tolerates every taint here.
        "prometheus-node-exporter": {"namespaceOverride": names.HOST_AGENTS_NAMESPACE, "tolerations": EVERY_NODE},
    }


def alertmanager_config(
    args: ObservabilityArgs, page_topics: list[StrInput], ticket_topics: list[StrInput]
) -> dict[str, Any]:
    """Route by severity: page (page/critical) and ticket (ticket/warning, and anything
    unlabelled) to SNS, signed with SigV4 by Alertmanager's Pod Identity credentials."""

    def sns(topic: StrInput, severity: str) -> dict[str, Any]:
        return {
            "topic_arn": topic,
            "sigv4": {"region": args.account.region},
            "send_resolved": True,
            "attributes": {"severity": severity, "environment": args.environment},
        }

    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "ticket",
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "routes": [
                {"receiver": "null", "matchers": ['alertname=~"Watchdog|InfoInhibitor"']},
                {"receiver": "page", "matchers": [SEVERITY_MATCHERS["page"]], "group_wait": "10s",
                 "repeat_interval": "1h"},
                {"receiver": "ticket", "matchers": [SEVERITY_MATCHERS["ticket"]]},
                {"receiver": "null", "matchers": ['severity="info"']},
            ],
        },
        "inhibit_rules": [
            {"source_matchers": [SEVERITY_MATCHERS["page"]], "target_matchers": [SEVERITY_MATCHERS["ticket"]],
             "equal": ["namespace", "alertname"]},
        ],
        "receivers": [
            {"name": "null"},
            {"name": "page", "sns_configs": [sns(t, "page") for t in page_topics],
             **extra_receivers(args.receivers, "page")},
            {"name": "ticket", "sns_configs": [sns(t, "ticket") for t in ticket_topics],
             **extra_receivers(args.receivers, "ticket")},
        ],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def persistent_volume_claim_retention(protect: bool) -> dict[str, str]:
    """The StatefulSet claim policy of Prometheus and Alertmanager (prometheus-operator's
    ``spec.persistentVolumeClaimRetentionPolicy``, in the CRDs kube-prometheus-stack 88.5.3
    installs): claims are deleted with the StatefulSet unless the stack protects its state, and
    kept when it scales down (a replica that comes back finds its data)."""
    return {"whenDeleted": "Retain" if protect else "Delete", "whenScaled": "Retain"}


def receiver_volumes(receivers: list[Receiver]) -> dict[str, list[dict[str, Any]]]:
    """The receivers' Secret as an *optional* volume of the Alertmanager pods.

    ``alertmanagerSpec.secrets`` would mount it as a required volume (prometheus-operator v0.93.0,
    pkg/alertmanager/statefulset.go: a SecretVolumeSource without ``optional``), and External
    Secrets writes that Secret only once every receiver's value is in Secrets Manager: until
    then the pods would stay in ContainerCreating, and no alert would go out, SNS included. An
    optional volume lets the pods start empty-handed; the kubelet fills the files in when the
    Secret appears (the Kubernetes conformance test "Secrets optional updates should be reflected
    in volume"). Alertmanager reads ``api_url_file``, ``routing_key_file`` and ``url_file`` when it
    sends, not when it loads its configuration (alertmanager v0.34.0, the version
    kube-prometheus-stack 88.5.3 runs: notify/slack, notify/pagerduty, notify/webhook read the
    file in Notify), so a missing file fails that one integration and SNS still delivers.
    Checked on 2026-12-02.
    """
    if not receivers:
        return {}
    return {
        "volumes": [{"name": RECEIVERS_VOLUME, "secret": {"secretName": RECEIVERS_SECRET, "optional": True}}],
        "volumeMounts": [{"name": RECEIVERS_VOLUME, "mountPath": RECEIVERS_MOUNT_PATH, "readOnly": True}],
    }


def receiver_file(receiver: Receiver) -> str:
    """Where Alertmanager finds a receiver's URL or key: one key of the receivers' Secret."""
    return f"{RECEIVERS_MOUNT_PATH}/{receiver.name}"


def extra_receivers(receivers: list[Receiver], severity: str) -> dict[str, list[dict[str, Any]]]:
    """Slack/PagerDuty/webhook configs of one severity's receiver, reading their secret from a file."""
    configs: dict[str, list[dict[str, Any]]] = {}
    for receiver in receivers:
        if receiver.severity not in (severity, "all"):
            continue
        config: dict[str, Any] = {
            RECEIVER_FILE_FIELD[receiver.kind]: receiver_file(receiver),
            "send_resolved": True,
        }
        if receiver.kind == "slack" and receiver.channel:
            config["channel"] = receiver.channel
        configs.setdefault(f"{receiver.kind}_configs", []).append(config)
    return configs


def blackbox_exporter_values(replicas: int = 2) -> dict[str, Any]:
    """The prober the agents' ``Probe`` objects name: one module, ``http_2xx``. Keys of
    prometheus-blackbox-exporter 11.17.2's values.yaml (replicas, podDisruptionBudget)."""
    return {
        "replicas": replicas,
        # maxUnavailable 1: a single replica may still be evicted, so a drain never stalls.
        "podDisruptionBudget": {"maxUnavailable": 1},
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**names.restricted_container_security_context(), "runAsUser": 1000, "runAsGroup": 1000},
        "config": {"modules": {names.BLACKBOX_HTTP_MODULE: {
            "prober": "http",
            "timeout": "5s",
            "http": {
                "valid_http_versions": ["HTTP/1.1", "HTTP/2.0"],
                "valid_status_codes": [],  # empty: any 2xx
                "follow_redirects": True,
                "preferred_ip_protocol": "ip4",
            },
        }}},
        "serviceMonitor": {"selfMonitor": {"enabled": True}},
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
    }


def pushgateway_values() -> dict[str, Any]:
    """The Pushgateway the golden-set probes push each run's gauges to (``names.PUSHGATEWAY_URL``).

    Keys of prometheus-pushgateway 3.8.0's values.yaml; every one was read there and in the
    templates at the chart's tag (charts.lock.yaml has where, checked on 2026-12-03).

    * One replica, no PodDisruptionBudget. What was pushed lives in the process: two replicas
      behind one Service would each hold the pushes that happened to reach them, and Prometheus
      would scrape two disagreeing copies. A budget over one replica would either block every
      drain (minAvailable 1) or guard nothing (maxUnavailable 1), so there is none.
    * No volume. What was pushed is also written to the pod's emptyDir (``--persistence.file``),
      so a container restart keeps it; a new pod starts empty, and the next probe run (every few
      minutes, ``golden.schedule``) pushes every gauge again. Until then the series are absent,
      never wrong.
    * The ServiceMonitor keeps the pushed labels (``honorLabels``): the probe's ``job`` and
      ``agent`` must win over the target's. The Pushgateway's README (v1.11.3, "About the job and
      instance labels") asks for ``honor_labels: true`` in the scrape config; Prometheus' scrape_config
      reference (v3.14.0 docs/configuration/configuration.md) says conflicts then keep the scraped
      values, "useful for ... scraping the Pushgateway". Labels the pushes do not carry come from
      the target, ``namespace="monitoring"`` among them: select by ``job`` and ``agent``. The
      monitor needs no label for the platform's Prometheus to select it: that selects every
      ServiceMonitor of every namespace (``serviceMonitorSelector: {}``, :func:`kube_prometheus_stack_values`).
    * The chart's NetworkPolicy admits port 9091 from the probe pods of agent namespaces and from
      Prometheus, nothing else. Kubelet probes come from the pod's node, which a NetworkPolicy
      always admits (NetworkPolicySpec.ingress in the Kubernetes API; the VPC CNI's policy agent
      adds the node IP, aws/aws-network-policy-agent#65).
    * No admin API (``--web.enable-admin-api`` and ``--web.enable-lifecycle`` default to false in
      v1.11.3, and nothing here sets them): no client can wipe the groups or stop the process.
    """
    return {
        "fullnameOverride": names.PUSHGATEWAY,
        # The chart would default to its appVersion too; said here, the pin shows in the plan.
        "image": {"tag": PUSHGATEWAY_CHART.app_version},
        "replicaCount": 1,
        "service": {"port": names.PUSHGATEWAY_PORT},
        # The Pushgateway never calls the Kubernetes API.
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": PUSHGATEWAY_USER, "runAsGroup": PUSHGATEWAY_USER,
                            "fsGroup": PUSHGATEWAY_USER, "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {**names.restricted_container_security_context(),
                                     "runAsUser": PUSHGATEWAY_USER, "runAsGroup": PUSHGATEWAY_USER},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "extraArgs": [f"--persistence.file={PUSHGATEWAY_PERSISTENCE_FILE}"],
        "persistentVolume": {"enabled": False, "mountPath": PUSHGATEWAY_DATA_DIR, "emptyDir": {"sizeLimit": "64Mi"}},
        "serviceMonitor": {"enabled": True, "namespace": names.MONITORING_NAMESPACE, "honorLabels": True},
        "networkPolicy": {"customSelectors": pushgateway_clients()},
    }


def pushgateway_clients() -> list[dict[str, Any]]:
    """Who may reach the Pushgateway: the golden-set probes of agent namespaces (they push) and
    Prometheus (it scrapes). A peer without a namespaceSelector is of the policy's namespace."""
    return [
        {"namespaceSelector": agent_namespaces(),
         "podSelector": {"matchLabels": {names.NAME_LABEL: names.PROBE_APP}}},
        {"podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)}},
    ]


def otel_collector_values(region: str, replicas: int = 2) -> dict[str, Any]:
    """OTLP in; traces to X-Ray, metrics to an endpoint Prometheus scrapes, logs nowhere
    (Fluent Bit ships them)."""
    pod_ip = "${env:MY_POD_IP}"
    # k8s_attributes: the processor's name since collector-contrib v0.146.0 (k8sattributes is a
    # deprecated alias); the chart's kubernetesAttributes preset configures it under this name.
    processors = ["memory_limiter", "k8s_attributes", "batch"]
    disabled = {"enabled": False}
    return {
        "mode": "deployment",
        "fullnameOverride": names.OTEL_COLLECTOR_NAME,
        "replicaCount": replicas,
        # Keys of opentelemetry-collector 0.170.0's values.yaml (replicaCount, podDisruptionBudget).
        "image": {"repository": "otel/opentelemetry-collector-contrib"},
        "command": {"name": "otelcol-contrib"},
        "serviceAccount": {"create": True, "name": OTEL_COLLECTOR_SERVICE_ACCOUNT},
        "presets": {"kubernetesAttributes": {"enabled": True}},
        "ports": {
            "otlp": {"enabled": True},
            "otlp-http": {"enabled": True},
            "jaeger-compact": disabled,
            "jaeger-thrift": disabled,
            "jaeger-grpc": disabled,
            "zipkin": disabled,
            "metrics": {"enabled": True},  # the collector's own telemetry, :8888
            "prom-exporter": {"enabled": True, "containerPort": OTEL_PROMETHEUS_EXPORTER_PORT,
                              "servicePort": OTEL_PROMETHEUS_EXPORTER_PORT, "protocol": "TCP"},
        },
        "config": {
            "receivers": {
                "otlp": {"protocols": {
                    "grpc": {"endpoint": f"{pod_ip}:{names.OTEL_GRPC_PORT}"},
                    "http": {"endpoint": f"{pod_ip}:{names.OTEL_HTTP_PORT}"},
                }},
            },
            "processors": {
                "batch": {},
                "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
            },
            "exporters": {
                "awsxray": {"region": region},
                "prometheus": {
                    "endpoint": f"{pod_ip}:{OTEL_PROMETHEUS_EXPORTER_PORT}",
                    # Resource attributes stay in target_info; as labels they would multiply series.
                    "resource_to_telemetry_conversion": {"enabled": False},
                },
            },
            "service": {"pipelines": {
                "traces": {"receivers": ["otlp"], "processors": processors, "exporters": ["awsxray"]},
                "metrics": {"receivers": ["otlp"], "processors": processors, "exporters": ["prometheus"]},
            }},
        },
        "serviceMonitor": {
            "enabled": True,
            "metricsEndpoints": [
                {"port": "metrics", "interval": "30s"},
                # service.name / service.instance.id arrive as job / instance: keep them, and no
                # more of what the sender chose (:func:`otel_exporter_metric_relabelings`). Set on
                # the endpoint: the chart's serviceMonitor.metricRelabelings would land on the last
                # endpoint only (templates/servicemonitor.yaml at opentelemetry-collector-0.170.0).
                {"port": "prom-exporter", "interval": "30s", "honorLabels": True,
                 "metricRelabelings": otel_exporter_metric_relabelings()},
            ],
        },
        # Off for a single replica: minAvailable 1 of 1 would refuse every eviction.
        "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": names.restricted_container_security_context(),
        "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
    }


def otel_exporter_metric_relabelings() -> list[dict[str, Any]]:
    """What Prometheus does to each series it scrapes from the collector's exporter, in order.

    Any pod may send OTLP to the collector, and the exporter is scraped with honorLabels, so every
    label of those series is the sender's choice. The SLOs trust three things a sender must not
    claim, and this scrape takes them away:

    * Names: recording rules' (a colon: every ``slo:*`` series the burn alerts and the budget gate
      read; "reserved for user-defined recording rules", prometheus.io docs/concepts/data_model),
      the golden-set probe's gauges (``maas_probe_*``) and the blackbox exporter's (``probe_*``; the
      health SLO reads ``probe_success`` by job alone). The exporter keeps colons in names
      (prometheus/otlptranslator metric_namer.go, isValidCompliantMetricChar). Dropped.
    * ``job="maas-probe"``, the golden SLIs' job: the exporter makes ``job`` of the sender's
      ``service.name`` (exporter/prometheusexporter collector.go, extractJob). Dropped.
    * ``namespace``, the agent and flow SLIs' and the LLM gateway's: set to the collector's own
      namespace, what honor_labels false would leave, and the sender's value is kept as
      ``exported_namespace`` (dropped when it is that same namespace). No agent can take that
      namespace (names.RESERVED_NAMESPACES), so no SLI selecting an agent's or the gateway's
      namespace matches a collector series.

    The sending pod's namespace cannot be used instead: the k8s_attributes processor only fills
    ``k8s.namespace.name`` when the sender left it empty (setResourceAttribute, processor.go; since
    contrib #36466, 2024-12), finds the pod by the sender's ``k8s.pod.ip`` first (the chart's
    kubernetesAttributes preset, _config.tpl, pod_association), and the exporter shows resource
    attributes only in ``target_info`` (``resource_to_telemetry_conversion`` off), which relabeling
    cannot join. Read on 2026-12-03: opentelemetry-collector-contrib processor/k8sattributesprocessor
    and exporter/prometheusexporter on main (2026; the v0.158.0 tag is not in the copies at hand),
    chart tag opentelemetry-collector-0.170.0; the keys and actions are prometheus-operator v0.93.0's
    RelabelConfig (pkg/apis/monitoring/v1/prometheus_types.go; the endpoint's rules come after the
    operator's own, pkg/prometheus/promcfg.go) and Prometheus' relabel (an empty result deletes the
    label, model/relabel/relabel.go). tests/test_otel_labels.py runs them in a real Prometheus.
    """
    own = names.MONITORING_NAMESPACE  # the collector's release, and so its Service's, namespace
    return [
        {"action": "drop", "sourceLabels": ["__name__"], "regex": ".*:.*"},
        {"action": "drop", "sourceLabels": ["__name__"], "regex": "(maas_probe|probe)_.+"},
        {"action": "drop", "sourceLabels": ["job"], "regex": names.PROBE_JOB},
        {"action": "replace", "sourceLabels": ["namespace"], "regex": "(.+)",
         "targetLabel": "exported_namespace", "replacement": "$1"},
        {"action": "replace", "sourceLabels": ["exported_namespace"], "regex": own,
         "targetLabel": "exported_namespace", "replacement": ""},
        {"action": "replace", "targetLabel": "namespace", "replacement": own},
    ]


def otel_collector_removed_defaults() -> dict[str, Any]:
    """Chart defaults the collector must not run: the Jaeger, Zipkin and self-scraping
    Prometheus receivers, and the logs pipeline (logs go through Fluent Bit). Helm deletes a
    default whose value is null; these reach the release as a values file
    (:func:`..workloads.removed_defaults_file`)."""
    return {"config": {
        "receivers": {"jaeger": None, "zipkin": None, "prometheus": None},
        "service": {"pipelines": {"logs": None}},
    }}


def fluent_bit_values(prefix: str, region: str) -> dict[str, Any]:
    """Keys as in the chart's values.yaml; the [SERVICE] section stays the chart's."""
    return {
        "kind": "DaemonSet",
        "fullnameOverride": FLUENT_BIT_CHART.name,
        "serviceAccount": {"create": True, "name": FLUENT_BIT_SERVICE_ACCOUNT},
        "rbac": {"create": True, "nodeAccess": False},
        "testFramework": {"enabled": False},
        "image": {"pullPolicy": "IfNotPresent"},
        # Root only to read the kubelet's 0640 log files; nothing else beyond restricted.
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "tolerations": EVERY_NODE,  # system node groups and agents' pools alike
        "daemonSetVolumes": [
            {"name": "varlog", "hostPath": {"path": "/var/log"}},
            {"name": "state", "hostPath": {"path": "/var/fluent-bit/state", "type": "DirectoryOrCreate"}},
        ],
        "daemonSetVolumeMounts": [
            {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
            {"name": "state", "mountPath": "/var/fluent-bit/state"},
        ],
        "config": fluent_bit_pipeline(prefix, region),
        "serviceMonitor": {"enabled": True},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }


def fluent_bit_pipeline(prefix: str, region: str) -> dict[str, str]:
    """Fluent Bit's inputs, filters and outputs (classic config, the chart's ``config.*``).

    Only agents' pods are shipped: system namespaces are excluded at the file level, and
    what is left must carry the ``maas.dev/agent`` pod label. Each record goes to the log
    group of its namespace, which the agent created; a record whose namespace is unknown
    goes to the fallback group, which exists, so nothing is ever created by Fluent Bit.
    """
    excluded = ",".join(f"/var/log/containers/*_{ns}_*.log" for ns in SYSTEM_NAMESPACES)
    inputs = "\n".join([
        "[INPUT]",
        "    Name tail",
        "    Tag kube.*",
        "    Path /var/log/containers/*.log",
        f"    Exclude_Path {excluded}",
        "    multiline.parser docker, cri",
        "    DB /var/fluent-bit/state/flb_kube.db",
        "    Mem_Buf_Limit 50MB",
        "    Skip_Long_Lines On",
        "    Refresh_Interval 10",
        "",
    ])
    filters = "\n".join([
        "[FILTER]",
        "    Name kubernetes",
        "    Match kube.*",
        "    Merge_Log On",
        "    Keep_Log Off",
        "    Labels On",
        "    Annotations Off",
        # Agents cannot opt out of shipping or pick parsers by annotation.
        "    K8S-Logging.Parser Off",
        "    K8S-Logging.Exclude Off",
        "",
        "[FILTER]",
        "    Name grep",
        "    Match kube.*",
        f"    Regex $kubernetes['labels']['{names.AGENT_LABEL}'] ^.+$",
        "",
    ])
    outputs = "\n".join([
        "[OUTPUT]",
        "    Name cloudwatch_logs",
        "    Match kube.*",
        f"    region {region}",
        f"    log_group_name {unattributed_log_group_name(prefix)}",
        f"    log_group_template {agent_log_group_prefix(prefix)}$kubernetes['namespace_name']",
        "    log_stream_prefix pod.",
        "    log_stream_template $kubernetes['pod_name'].$kubernetes['container_name']",
        "    auto_create_group Off",
        "    Retry_Limit 5",
        "",
    ])
    return {"inputs": inputs, "filters": filters, "outputs": outputs}
