"""ObservabilityStack under Pulumi's mock engine: pinned charts, selectors open to every
namespace, encrypted storage, SNS alerting, secrets through External Secrets, one identity
per workload and least privilege."""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

import pytest
import yaml

from conftest import as_list, only, plan_program, statements, urn_of
from pydantic import ValidationError

from maas_platform.components.addons import SECRET_SYNC_TOKEN_ROLE
from maas_platform.components.base import AccountContext
from maas_platform.components.observability import (
    ALERTMANAGER_SERVICE_ACCOUNT,
    FLUENT_BIT_SERVICE_ACCOUNT,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_SERVICE_ACCOUNT,
    OBSERVABILITY_CHARTS,
    OTEL_COLLECTOR_SERVICE_ACCOUNT,
    SYSTEM_NAMESPACES,
    ObservabilityArgs,
    Receiver,
    alertmanager_config,
    blackbox_exporter_values,
    charts,
    fluent_bit_pipeline,
    fluent_bit_values,
    kube_prometheus_stack_values,
    otel_collector_removed_defaults,
    otel_collector_values,
    persistent_volume_claim_retention,
    receiver_volumes,
    secret_sync_role_prefix,
)
from maas_platform.components.workloads import chart_lock
from maas_platform.names import HOST_AGENTS_NAMESPACE, MONITORING_NAMESPACE, OTEL_ENDPOINT, SECRET_SYNC_SERVICE_ACCOUNT
from maas_platform.plan.fake_cloud import FAKE_ACCOUNT_ID

REGION = "us-east-1"
PREFIX = "maas-dev"
CLUSTER_NAME = "maas-dev"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{FAKE_ACCOUNT_ID}:cluster/{CLUSTER_NAME}"
OIDC_ISSUER = f"https://oidc.eks.{REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
OIDC_PROVIDER_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:oidc-provider/{OIDC_ISSUER.removeprefix('https://')}"
AGENT_LOGS = f"arn:aws:logs:{REGION}:{FAKE_ACCOUNT_ID}:log-group:/maas/{PREFIX}/agents/"

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
NAMESPACE = "kubernetes:core/v1:Namespace"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"

# workload -> (namespace, service account)
WORKLOADS = {
    "alertmanager": (MONITORING_NAMESPACE, ALERTMANAGER_SERVICE_ACCOUNT),
    "grafana": (MONITORING_NAMESPACE, GRAFANA_SERVICE_ACCOUNT),
    "otel-collector": (MONITORING_NAMESPACE, OTEL_COLLECTOR_SERVICE_ACCOUNT),
    "fluent-bit": (HOST_AGENTS_NAMESPACE, FLUENT_BIT_SERVICE_ACCOUNT),
}

PROGRAM = textwrap.dedent(f"""
    import pulumi
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    from maas_platform.components.base import AccountContext
    from maas_platform.components.observability import ObservabilityArgs, ObservabilityStack

    aws_provider = aws.Provider("aws", region="{REGION}")
    k8s_provider = k8s.Provider("k8s", kubeconfig="{{}}")
    on_aws = pulumi.ResourceOptions(provider=aws_provider)

    cluster = aws.eks.Cluster(
        "eks", name="{CLUSTER_NAME}", role_arn="arn:aws:iam::{FAKE_ACCOUNT_ID}:role/eks",
        vpc_config={{"subnet_ids": ["subnet-a", "subnet-b"]}}, opts=on_aws,
    )
    agent = aws.eks.Addon(
        "pod-identity-agent", cluster_name=cluster.name, addon_name="eks-pod-identity-agent", opts=on_aws,
    )
    broker_key = aws.kms.Key("broker-key", description="broker", opts=on_aws)
    logs_key = aws.kms.Key("logs-key", description="logs", opts=on_aws)
    alerts = aws.sns.Topic("alerts", name="{PREFIX}-alerts", kms_master_key_id=broker_key.arn, opts=on_aws)
    stack = ObservabilityStack(
        "observability",
        ObservabilityArgs(
            prefix="{PREFIX}",
            account=AccountContext(account_id="{FAKE_ACCOUNT_ID}", region="{REGION}"),
            environment="dev",
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            alert_topic_arn=alerts.arn,
            alert_key_arn=broker_key.arn,
            logs_key_arn=logs_key.arn,
            oidc_provider_arn="{OIDC_PROVIDER_ARN}",
            oidc_issuer="{OIDC_ISSUER}",
            prometheus_retention_days=7,
            prometheus_volume_gib=20,
            log_retention_days=14,
            wait_for=[agent],
            protect=True,
        ),
        opts=pulumi.ResourceOptions(providers=[aws_provider, k8s_provider]),
    )
    pulumi.export("observability", stack.outputs())
    pulumi.export("alert_topic_arn", alerts.arn)
    pulumi.export("broker_key_arn", broker_key.arn)
    pulumi.export("logs_key_arn", logs_key.arn)
""")


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    return plan_program(tmp_path_factory, "observability", PROGRAM, REGION)


def values_of(capture, chart: str) -> dict[str, Any]:
    return only(capture, RELEASE, f"-{chart}").inputs["values"]


def exported(capture, name: str) -> str:
    return capture.outputs[name]


# -- charts ------------------------------------------------------------------------------

@pytest.mark.parametrize("chart", list(OBSERVABILITY_CHARTS.values()), ids=list(OBSERVABILITY_CHARTS))
def test_every_release_is_pinned_to_an_exact_chart_version(capture, chart):
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart.version), f"{chart.name}: '{chart.version}' is not an exact version"
    assert chart.repo.startswith("https://")
    inputs = only(capture, RELEASE, f"-{chart.name}").inputs
    assert inputs["chart"] == chart.name and inputs["name"] == chart.name
    assert inputs["version"] == chart.version
    assert inputs["repositoryOpts"] == {"repo": chart.repo}
    assert inputs["atomic"] is True and inputs["cleanupOnFail"] is True and inputs["createNamespace"] is False
    assert 0 < inputs["timeout"] <= 900


@pytest.mark.parametrize("chart", list(OBSERVABILITY_CHARTS.values()), ids=list(OBSERVABILITY_CHARTS))
def test_every_pin_is_the_lock_files_and_says_what_was_checked_and_when(chart):
    """Each pin is its charts.lock.yaml entry, which names the day and the upstream copies it was checked in."""
    entry = chart_lock().entry(chart.name)
    assert (entry.repository, entry.version, entry.app_version) == (chart.repo, chart.version, chart.app_version)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.checked), f"{chart.name}: no date of the check"
    assert any("index" in where for where in entry.where) and any("Chart.yaml" in where for where in entry.where)
    assert chart.name in charts.__doc__ and chart.version in charts.__doc__, "the module names what it pins"


def test_the_recorded_app_versions_are_what_the_charts_ship():
    """blackbox exporter chart 11.17.2 ships v0.28.0; the collector chart 0.170.0 ships 0.158.0."""
    assert OBSERVABILITY_CHARTS["prometheus-blackbox-exporter"].app_version == "v0.28.0"
    assert OBSERVABILITY_CHARTS["opentelemetry-collector"].app_version == "0.158.0"
    assert OBSERVABILITY_CHARTS["kube-prometheus-stack"].app_version == "v0.93.1"


def test_the_stack_installs_exactly_the_pinned_charts(capture):
    releases = [r for r in capture.resources if r.type == RELEASE]
    assert sorted(r.inputs["chart"] for r in releases) == sorted(OBSERVABILITY_CHARTS)


def test_charts_come_from_their_official_repositories():
    assert OBSERVABILITY_CHARTS["kube-prometheus-stack"].repo == "https://prometheus-community.github.io/helm-charts"
    assert OBSERVABILITY_CHARTS["prometheus-blackbox-exporter"].repo == "https://prometheus-community.github.io/helm-charts"
    assert OBSERVABILITY_CHARTS["opentelemetry-collector"].repo == "https://open-telemetry.github.io/opentelemetry-helm-charts"
    assert OBSERVABILITY_CHARTS["fluent-bit"].repo == "https://fluent.github.io/helm-charts"


def test_releases_live_in_monitoring_except_the_host_agents(capture):
    namespaces = {r.inputs["chart"]: r.inputs["namespace"] for r in capture.resources if r.type == RELEASE}
    assert namespaces == {
        "kube-prometheus-stack": MONITORING_NAMESPACE,
        "prometheus-blackbox-exporter": MONITORING_NAMESPACE,
        "prometheus-pushgateway": MONITORING_NAMESPACE,
        "opentelemetry-collector": MONITORING_NAMESPACE,
        "fluent-bit": HOST_AGENTS_NAMESPACE,
    }
    assert values_of(capture, "kube-prometheus-stack")["prometheus-node-exporter"]["namespaceOverride"] == HOST_AGENTS_NAMESPACE


def test_releases_that_create_service_monitors_wait_for_the_crds(capture):
    stack = only(capture, RELEASE, "-kube-prometheus-stack")
    for chart in ("prometheus-blackbox-exporter", "opentelemetry-collector", "fluent-bit"):
        release = only(capture, RELEASE, f"-{chart}")
        assert stack.urn in release.dependencies, chart
        assert urn_of(capture, "aws:eks/addon:Addon", "pod-identity-agent") in release.dependencies  # wait_for


# -- Pod Security --------------------------------------------------------------------------

def test_monitoring_enforces_restricted(capture):
    labels = only(capture, NAMESPACE, "monitoring-namespace").inputs["metadata"]["labels"]
    assert only(capture, NAMESPACE, "monitoring-namespace").inputs["metadata"]["name"] == MONITORING_NAMESPACE
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_only_the_host_agents_namespace_is_privileged_and_it_still_warns_at_restricted(capture):
    metadata = only(capture, NAMESPACE, "host-namespace").inputs["metadata"]
    assert metadata["name"] == HOST_AGENTS_NAMESPACE
    assert metadata["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert metadata["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    assert metadata["labels"]["pod-security.kubernetes.io/audit"] == "restricted"
    privileged = [r for r in capture.resources if r.type == NAMESPACE
                  and r.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] != "restricted"]
    assert [r.inputs["metadata"]["name"] for r in privileged] == [HOST_AGENTS_NAMESPACE]


def test_workloads_in_monitoring_declare_restricted_security_contexts(capture):
    blackbox = values_of(capture, "prometheus-blackbox-exporter")
    otel = values_of(capture, "opentelemetry-collector")
    for values in (blackbox, otel):
        assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        context = values["securityContext"]
        assert context["runAsNonRoot"] is True and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]} and context["readOnlyRootFilesystem"] is True
    spec = values_of(capture, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_fluent_bit_reads_the_host_logs_read_only_and_drops_every_capability(capture):
    values = values_of(capture, "fluent-bit")
    assert values["kind"] == "DaemonSet"
    mounts = {m["name"]: m for m in values["daemonSetVolumeMounts"]}
    assert mounts["varlog"]["readOnly"] is True
    context = values["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert "privileged" not in context and "hostNetwork" not in values


# -- Prometheus ----------------------------------------------------------------------------

def test_prometheus_selects_rules_monitors_and_probes_of_every_namespace(capture):
    spec = values_of(capture, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    for kind in ("rule", "serviceMonitor", "podMonitor", "probe"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
        assert spec[f"{kind}Selector"] == {}, kind
        assert spec[f"{kind}NamespaceSelector"] == {}, kind


def test_prometheus_keeps_its_data_on_the_encrypted_storage_class(capture):
    spec = values_of(capture, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3-encrypted"
    assert claim["resources"]["requests"]["storage"] == "20Gi"
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert spec["retention"] == "7d"
    assert spec["retentionSize"] == "17GB"  # headroom below the 20 GiB volume
    alertmanager = values_of(capture, "kube-prometheus-stack")["alertmanager"]["alertmanagerSpec"]
    assert alertmanager["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3-encrypted"


def test_eks_managed_control_plane_targets_are_not_scraped(capture):
    values = values_of(capture, "kube-prometheus-stack")
    for component in ("kubeEtcd", "kubeScheduler", "kubeControllerManager", "kubeProxy"):
        assert values[component] == {"enabled": False}, component


# -- Alertmanager ------------------------------------------------------------------------

def test_alertmanager_routes_by_severity_to_sns_with_sigv4(capture):
    config = values_of(capture, "kube-prometheus-stack")["alertmanager"]["config"]
    topic = exported(capture, "alert_topic_arn")
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers) == {"null", "page", "ticket"}
    for severity in ("page", "ticket"):
        [sns] = receivers[severity]["sns_configs"]
        assert sns["topic_arn"] == topic
        assert sns["sigv4"] == {"region": REGION}
        assert sns["attributes"]["severity"] == severity
    routes = {route["receiver"]: route for route in config["route"]["routes"] if route["receiver"] != "null"}
    assert routes["page"]["matchers"] == ['severity=~"page|critical"']
    assert routes["ticket"]["matchers"] == ['severity=~"ticket|warning"']
    assert config["route"]["receiver"] == "ticket", "an alert without a known severity still reaches someone"


def test_alertmanager_may_only_publish_to_the_alert_topic(capture):
    document = only(capture, ROLE_POLICY, "alertmanager-policy").inputs["policy"]
    publish, key = statements(document)
    assert as_list(publish["Action"]) == ["sns:Publish"]
    assert as_list(publish["Resource"]) == [exported(capture, "alert_topic_arn")]
    assert sorted(as_list(key["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert as_list(key["Resource"]) == [exported(capture, "broker_key_arn")]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}}
    values = values_of(capture, "kube-prometheus-stack")["alertmanager"]
    assert values["serviceAccount"] == {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT}


# -- Grafana -------------------------------------------------------------------------------

def test_grafana_admin_comes_from_the_eso_synced_secret(capture):
    grafana = values_of(capture, "kube-prometheus-stack")["grafana"]
    assert grafana["admin"] == {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user",
                                "passwordKey": "admin-password"}
    assert "adminPassword" not in grafana and "adminUser" not in grafana
    text = json.dumps(values_of(capture, "kube-prometheus-stack"))
    assert "prom-operator" not in text
    assert not re.search(r'"(adminPassword|password)"\s*:', text), "no password in Helm values"
    external = only(capture, EXTERNAL_SECRET, "grafana-admin-sync")
    assert external.inputs["metadata"] == {"name": GRAFANA_ADMIN_SECRET, "namespace": MONITORING_NAMESPACE,
                                           "labels": {"app.kubernetes.io/managed-by": "pulumi", "maas.dev/environment": "dev"}}
    spec = external.inputs["spec"]
    assert spec["target"]["name"] == GRAFANA_ADMIN_SECRET
    secret = only(capture, SECRET, "grafana-admin")
    assert {d["remoteRef"]["key"] for d in spec["data"]} == {secret.inputs["name"]}
    assert {d["secretKey"] for d in spec["data"]} == {"admin-user", "admin-password"}
    assert external.urn in only(capture, RELEASE, "-kube-prometheus-stack").dependencies


def test_grafana_admin_secret_is_encrypted_and_its_value_never_leaves_pulumi_unmasked(capture):
    secret = only(capture, SECRET, "grafana-admin")
    assert secret.inputs["name"] == f"{PREFIX}/observability/grafana-admin"
    key = only(capture, KEY, "secrets-key")
    alias = only(capture, "aws:kms/alias:Alias", "secrets-key-alias")
    assert alias.inputs["name"] == f"alias/{PREFIX}-observability"
    assert secret.inputs["kmsKeyId"] == f"arn:aws:kms:{REGION}:{FAKE_ACCOUNT_ID}:key/{alias.inputs['targetKeyId']}"
    assert key.inputs["enableKeyRotation"] is True
    version = only(capture, SECRET_VERSION, "grafana-admin-value")
    assert version.inputs["secretString"] == "[secret]"


def test_the_secret_store_authenticates_as_the_monitoring_namespaces_secret_sync_only(capture):
    """The store names no role: ESO exchanges the token of monitoring's secret-sync service account,
    annotated with the sync role, which trusts exactly that subject through the cluster's OIDC provider."""
    store = only(capture, SECRET_STORE, "secret-store")
    role = only(capture, ROLE, "secret-sync-role")
    role_arn = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/{role.inputs['name']}"
    assert role.inputs["name"].startswith(secret_sync_role_prefix(PREFIX))
    assert store.inputs["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert store.inputs["spec"]["provider"]["aws"] == {
        "service": "SecretsManager", "region": REGION,
        "auth": {"jwt": {"serviceAccountRef": {"name": SECRET_SYNC_SERVICE_ACCOUNT}}},
    }
    account = only(capture, "kubernetes:core/v1:ServiceAccount", "secret-sync-service-account")
    assert account.inputs["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert account.inputs["metadata"]["name"] == SECRET_SYNC_SERVICE_ACCOUNT
    assert account.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role_arn}
    token_role = only(capture, "kubernetes:rbac.authorization.k8s.io/v1:Role", "secret-sync-token-role")
    binding = only(capture, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "secret-sync-token-binding")
    assert token_role.inputs["metadata"]["namespace"] == binding.inputs["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert token_role.inputs["rules"] == [{"apiGroups": [""], "resources": ["serviceaccounts/token"],
                                           "resourceNames": [SECRET_SYNC_SERVICE_ACCOUNT], "verbs": ["create"]}]
    assert binding.inputs["roleRef"]["name"] == SECRET_SYNC_TOKEN_ROLE
    assert {account.urn, token_role.urn, binding.urn} <= set(store.dependencies)
    [trust] = statements(role.inputs["assumeRolePolicy"])
    host = OIDC_ISSUER.removeprefix("https://")
    assert trust["Principal"] == {"Federated": OIDC_PROVIDER_ARN}
    assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert trust["Condition"] == {"StringEquals": {
        f"{host}:sub": f"system:serviceaccount:{MONITORING_NAMESPACE}:{SECRET_SYNC_SERVICE_ACCOUNT}",
        f"{host}:aud": "sts.amazonaws.com",
    }}
    read, key = statements(only(capture, ROLE_POLICY, "secret-sync-policy").inputs["policy"])
    secret = only(capture, SECRET, "grafana-admin")
    [secret_arn] = as_list(read["Resource"])
    assert re.fullmatch(rf"arn:aws:secretsmanager:{REGION}:{FAKE_ACCOUNT_ID}:secret:{secret.inputs['name']}-\w{{6}}", secret_arn)
    assert sorted(as_list(read["Action"])) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert as_list(key["Action"]) == ["kms:Decrypt"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}


def test_grafana_dashboards_sidecar_watches_all_namespaces(capture):
    dashboards = values_of(capture, "kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    assert dashboards == {"enabled": True, "label": "grafana_dashboard", "labelValue": "1", "searchNamespace": "ALL"}


def test_grafana_has_a_cloudwatch_datasource_through_its_own_identity(capture):
    grafana = values_of(capture, "kube-prometheus-stack")["grafana"]
    [cloudwatch] = grafana["additionalDataSources"]
    assert cloudwatch["type"] == "cloudwatch"
    assert cloudwatch["jsonData"] == {"authType": "default", "defaultRegion": REGION}
    assert grafana["serviceAccount"] == {"create": True, "name": GRAFANA_SERVICE_ACCOUNT}


def test_grafana_reads_cloudwatch_and_only_the_agents_logs(capture):
    document = only(capture, ROLE_POLICY, "grafana-policy").inputs["policy"]
    actions = set()
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        statement_actions = as_list(statement["Action"])
        actions.update(statement_actions)
        reads_logs = any(a.startswith("logs:") and a not in ("logs:DescribeLogGroups", "logs:GetQueryResults",
                                                              "logs:StopQuery", "logs:DescribeQueries")
                         for a in statement_actions)
        if reads_logs:
            assert all(r.startswith(AGENT_LOGS) for r in as_list(statement["Resource"])), statement
    assert {"cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "cloudwatch:DescribeAlarms",
            "logs:StartQuery", "logs:GetLogEvents"} <= actions
    writes = [a for a in actions if re.search(r":(Put|Create|Delete|Update|Set|Tag|Untag)", a)]
    assert writes == [], "Grafana's role is read-only"


# -- OpenTelemetry -------------------------------------------------------------------------

def test_otel_collector_is_reachable_where_agents_send(capture):
    values = values_of(capture, "opentelemetry-collector")
    assert OTEL_ENDPOINT == "http://otel-collector.monitoring.svc:4317"
    assert values["fullnameOverride"] == "otel-collector" and values["mode"] == "deployment"
    assert "contrib" in values["image"]["repository"]
    receivers = values["config"]["receivers"]["otlp"]["protocols"]
    assert receivers["grpc"]["endpoint"].endswith(":4317") and receivers["http"]["endpoint"].endswith(":4318")


def test_otel_traces_go_to_xray_and_metrics_to_a_scraped_endpoint(capture):
    values = values_of(capture, "opentelemetry-collector")
    pipelines = values["config"]["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["awsxray"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert values["config"]["exporters"]["awsxray"] == {"region": REGION}
    exporter_port = values["config"]["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert values["ports"]["prom-exporter"]["containerPort"] == int(exporter_port)
    assert values["serviceMonitor"]["enabled"] is True
    assert "prom-exporter" in {e["port"] for e in values["serviceMonitor"]["metricsEndpoints"]}


def test_otel_collector_may_only_write_traces(capture):
    [statement] = statements(only(capture, ROLE_POLICY, "otel-collector-policy").inputs["policy"])
    assert sorted(as_list(statement["Action"])) == [
        "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    ]


# -- logs --------------------------------------------------------------------------------

def test_only_the_encrypted_fallback_log_group_is_created_here(capture):
    """Each agent creates its own group; the stack owns only Fluent Bit's fallback."""
    [group] = [r for r in capture.resources if r.type == LOG_GROUP]
    assert group.inputs["name"] == f"/maas/{PREFIX}/agents/_unattributed"
    assert group.inputs["kmsKeyId"] == exported(capture, "logs_key_arn")
    assert group.inputs["retentionInDays"] == 14
    assert group.protect is True
    assert group.urn in only(capture, RELEASE, "-fluent-bit").dependencies


def test_fluent_bit_may_write_only_to_the_agents_log_groups(capture):
    [statement] = statements(only(capture, ROLE_POLICY, "fluent-bit-policy").inputs["policy"])
    assert sorted(as_list(statement["Action"])) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    assert as_list(statement["Resource"]) and all(r.startswith(AGENT_LOGS) for r in as_list(statement["Resource"]))
    assert "logs:CreateLogGroup" not in json.dumps(statement)


def test_fluent_bit_ships_each_agent_namespace_to_its_own_group(capture):
    config = values_of(capture, "fluent-bit")["config"]
    assert "log_group_template /maas/maas-dev/agents/$kubernetes['namespace_name']" in config["outputs"]
    assert "auto_create_group Off" in config["outputs"]
    assert f"log_group_name /maas/{PREFIX}/agents/_unattributed" in config["outputs"]
    assert "Regex $kubernetes['labels']['maas.dev/agent'] ^.+$" in config["filters"]


def test_fluent_bit_never_reads_system_namespaces():
    pipeline = fluent_bit_pipeline(PREFIX, REGION)
    [excluded] = [line.split(None, 1)[1] for line in pipeline["inputs"].splitlines() if "Exclude_Path" in line]
    patterns = excluded.split(",")
    for namespace in ("kube-system", "monitoring", HOST_AGENTS_NAMESPACE, "external-secrets", "keda", "maas-system"):
        assert f"/var/log/containers/*_{namespace}_*.log" in patterns
    assert len(patterns) == len(SYSTEM_NAMESPACES)


# -- identities ------------------------------------------------------------------------------

@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_each_role_trusts_only_its_own_service_account(capture, workload):
    namespace, service_account = WORKLOADS[workload]
    role = only(capture, ROLE, f"-{workload}-role")
    [statement] = statements(role.inputs["assumeRolePolicy"])
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"] == {"StringEquals": {
        "aws:SourceAccount": FAKE_ACCOUNT_ID,
        "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
        "aws:RequestTag/kubernetes-namespace": namespace,
        "aws:RequestTag/kubernetes-service-account": service_account,
    }}
    association = only(capture, ASSOCIATION, f"-{workload}-identity")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (namespace, service_account)
    assert association.inputs["disableSessionTags"] is False
    assert association.inputs["roleArn"] == f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/{role.inputs['name']}"
    assert only(capture, ROLE_POLICY, f"-{workload}-policy").urn in association.dependencies


def test_roles_are_distinct_and_outside_the_agents_and_eso_name_spaces(capture):
    names = [r.inputs["name"] for r in capture.resources if r.type == ROLE]
    assert len(names) == len(set(names)) == 5
    for name in names:
        assert not name.startswith(f"{PREFIX}-agent-")
        assert name.startswith(secret_sync_role_prefix(PREFIX)) == name.endswith("observability")


def test_service_accounts_in_values_match_the_associations(capture):
    assert values_of(capture, "opentelemetry-collector")["serviceAccount"]["name"] == OTEL_COLLECTOR_SERVICE_ACCOUNT
    assert values_of(capture, "fluent-bit")["serviceAccount"]["name"] == FLUENT_BIT_SERVICE_ACCOUNT


def test_no_policy_grants_a_wildcard_action(capture):
    for policy in (r for r in capture.resources if r.type == ROLE_POLICY):
        for statement in statements(policy.inputs["policy"]):
            for action in as_list(statement["Action"]):
                assert "*" not in action and "?" not in action, f"{policy.name}: {action}"
            if "*" in as_list(statement["Resource"]):
                assert not any(a.startswith(("logs:Put", "logs:Create", "sns:", "secretsmanager:"))
                               for a in as_list(statement["Action"])), policy.name


def test_children_use_the_providers_passed_to_the_component(capture):
    component = only(capture, "maas:observability:ObservabilityStack", "observability")
    children = [r for r in capture.resources if r.parent == component.urn]
    assert children
    for resource in children:
        if resource.type.startswith("random:"):
            continue
        provider = "kubernetes::k8s" if resource.type.startswith("kubernetes:") else "aws::aws"
        assert resource.provider.endswith(f"pulumi:providers:{provider}"), resource.urn


def test_outputs_tell_agents_where_to_send_and_what_to_label(capture):
    outputs = capture.outputs["observability"]
    assert outputs["otel_endpoint"] == "http://otel-collector.monitoring.svc:4317"
    assert outputs["monitoring_namespace"] == MONITORING_NAMESPACE
    assert outputs["blackbox_exporter_address"] == "prometheus-blackbox-exporter.monitoring.svc:9115"
    assert outputs["dashboard_label"] == {"grafana_dashboard": "1"}
    assert outputs["agent_log_group_prefix"] == f"/maas/{PREFIX}/agents/"


# -- args --------------------------------------------------------------------------------

def args(**overrides) -> ObservabilityArgs:
    base = dict(
        prefix=PREFIX, account=AccountContext(account_id=FAKE_ACCOUNT_ID, region=REGION), environment="dev",
        cluster_name=CLUSTER_NAME, cluster_arn=CLUSTER_ARN, alert_topic_arn="arn:aws:sns:us-east-1:1:t",
        logs_key_arn="arn:aws:kms:us-east-1:1:key/l", oidc_provider_arn=OIDC_PROVIDER_ARN, oidc_issuer=OIDC_ISSUER,
    )
    return ObservabilityArgs(**{**base, **overrides})


def test_args_defaults():
    model = args()
    assert model.storage_class == "gp3-encrypted"
    assert model.wait_for == [] and model.protect is False
    assert model.admin_secret_name == f"{PREFIX}/observability/grafana-admin"


@pytest.mark.parametrize("days", [0, 2, 4000])
def test_log_retention_must_be_a_cloudwatch_period(days):
    with pytest.raises(ValidationError, match="retention"):
        args(log_retention_days=days)


def test_agent_log_groups_are_not_the_stacks_business():
    """Each agent creates its own log group; the stack takes no list of agent namespaces."""
    with pytest.raises(ValidationError, match="agent_namespaces"):
        args(agent_namespaces=["support-bot"])


def test_role_names_must_fit_iam():
    with pytest.raises(ValidationError, match="limit is 64"):
        args(prefix="p" * 50)


def test_unknown_args_are_rejected():
    with pytest.raises(ValidationError, match="grafana_password"):
        args(grafana_password="hunter2")


# -- values, as pure functions (no engine, no mocks) -------------------------------------------

def test_values_are_plain_data_built_without_the_engine():
    model = args(receivers=[Receiver(name="oncall", kind="slack", severity="page", channel="#oncall"),
                            Receiver(name="pager", kind="pagerduty")])
    stack = kube_prometheus_stack_values(model, ["arn:page"], ["arn:ticket"])
    assert stack["alertmanager"]["alertmanagerSpec"]["volumes"] == [
        {"name": "receivers", "secret": {"secretName": "alertmanager-receivers", "optional": True}}]
    # JSON-serialisable: nothing in them is a resource or an Output.
    for values in (stack, blackbox_exporter_values(), otel_collector_values(REGION), fluent_bit_values(PREFIX, REGION)):
        assert json.loads(json.dumps(values)) == values


def test_extra_receivers_join_only_their_severity_and_read_their_secret_from_a_file():
    model = args(receivers=[Receiver(name="oncall", kind="slack", severity="page", channel="#oncall"),
                            Receiver(name="pager", kind="pagerduty")])
    receivers = {r["name"]: r for r in alertmanager_config(model, ["arn:page"], ["arn:ticket"])["receivers"]}
    assert receivers["page"]["slack_configs"] == [{
        "api_url_file": "/etc/alertmanager/receivers/oncall", "send_resolved": True,
        "channel": "#oncall",
    }]
    assert "slack_configs" not in receivers["ticket"]
    for severity in ("page", "ticket"):  # severity "all"
        assert receivers[severity]["pagerduty_configs"] == [{
            "routing_key_file": "/etc/alertmanager/receivers/pager", "send_resolved": True,
        }]
    assert [c["topic_arn"] for c in receivers["page"]["sns_configs"]] == ["arn:page"]
    assert [c["topic_arn"] for c in receivers["ticket"]["sns_configs"]] == ["arn:ticket"]


def test_containers_get_their_own_copy_of_the_restricted_security_context():
    first, second = otel_collector_values(REGION), otel_collector_values(REGION)
    first["securityContext"]["capabilities"]["drop"].append("NET_RAW")
    assert second["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert blackbox_exporter_values()["securityContext"]["capabilities"] == {"drop": ["ALL"]}


# -- alerting that starts with no receiver secret filled ------------------------------------------

def test_alertmanager_starts_before_any_receiver_secret_is_filled():
    """The receivers' Secret exists only once External Secrets has every value from Secrets
    Manager. A required volume (alertmanagerSpec.secrets) would hold the pods in ContainerCreating
    and silence SNS too; the optional volume lets them start, and a file that is still missing
    fails only its own integration when Alertmanager sends."""
    model = args(receivers=[Receiver(name="oncall", kind="slack"), Receiver(name="hook", kind="webhook")])
    spec = kube_prometheus_stack_values(model, ["arn:page"], ["arn:ticket"])["alertmanager"]["alertmanagerSpec"]
    assert "secrets" not in spec, "a required Secret volume keeps the pods from starting"
    [volume] = spec["volumes"]
    assert volume["secret"] == {"secretName": "alertmanager-receivers", "optional": True}
    [mount] = spec["volumeMounts"]
    assert mount == {"name": volume["name"], "mountPath": "/etc/alertmanager/receivers", "readOnly": True}
    receivers = {r["name"]: r for r in alertmanager_config(model, ["arn:page"], ["arn:ticket"])["receivers"]}
    for severity in ("page", "ticket"):
        files = [c[field] for kind, field in (("slack", "api_url_file"), ("webhook", "url_file"))
                 for c in receivers[severity][f"{kind}_configs"]]
        assert all(f.startswith(mount["mountPath"] + "/") for f in files)
        assert receivers[severity]["sns_configs"], "the alert topic needs no file"
    assert receiver_volumes([]) == {}
    assert "volumes" not in kube_prometheus_stack_values(args(), ["p"], ["t"])["alertmanager"]["alertmanagerSpec"]


# -- the collector ---------------------------------------------------------------------------------

def test_the_collector_uses_the_k8s_attributes_processor_name(capture):
    """Renamed from k8sattributes in collector-contrib v0.146.0 (the old name is a deprecated
    alias); the chart's kubernetesAttributes preset configures it under the new name."""
    values = values_of(capture, "opentelemetry-collector")
    for pipeline in values["config"]["service"]["pipelines"].values():
        assert "k8s_attributes" in pipeline["processors"] and "k8sattributes" not in pipeline["processors"]
    assert values["presets"]["kubernetesAttributes"] == {"enabled": True}
    assert "k8sattributes" not in json.dumps(values)


def test_the_collectors_unused_defaults_are_deleted_through_a_values_file(capture):
    inputs = only(capture, RELEASE, "-opentelemetry-collector").inputs
    [document] = inputs["valueYamlFiles"]
    assert yaml.safe_load(document["text"]) == otel_collector_removed_defaults()
    assert None not in inputs["values"]["config"]["receivers"].values()
    for chart in OBSERVABILITY_CHARTS:
        if chart != "opentelemetry-collector":
            assert "valueYamlFiles" not in only(capture, RELEASE, f"-{chart}").inputs, chart


# -- volumes outlive nothing they should not -----------------------------------------------------------

def test_volume_claims_follow_their_statefulsets_unless_state_is_protected(capture):
    """helm uninstall leaves the operator's StatefulSet claims (and their EBS volumes) behind
    unless the Prometheus and Alertmanager specs say to delete them; a protected stack keeps them."""
    assert persistent_volume_claim_retention(False) == {"whenDeleted": "Delete", "whenScaled": "Retain"}
    assert persistent_volume_claim_retention(True) == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    values = values_of(capture, "kube-prometheus-stack")  # the program sets protect=True
    for spec in (values["prometheus"]["prometheusSpec"], values["alertmanager"]["alertmanagerSpec"]):
        assert spec["persistentVolumeClaimRetentionPolicy"] == persistent_volume_claim_retention(True)
    unprotected = kube_prometheus_stack_values(args(), ["p"], ["t"])
    assert unprotected["prometheus"]["prometheusSpec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    assert unprotected["alertmanager"]["alertmanagerSpec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
