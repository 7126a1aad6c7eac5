"""Every agent in a plan is observed: scraped, probed, given SLO rules and a dashboard; and
the rule files `maas plan --out` writes are what promtool accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from maas_platform.plan.exports import write_exports
from test_agents import agent_resources, k8s_kind

AGENTS = ("triage", "research", "reports")
RECORDED = {f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "28d")} | {
    "slo:objective:ratio", "slo:error_budget:ratio", "slo:period_error_budget_remaining:ratio"}


@pytest.mark.parametrize("agent", AGENTS)
def test_each_agent_is_scraped_ruled_probed_and_has_a_dashboard(dev, agent):
    resources = agent_resources(dev, agent)
    (monitor,) = k8s_kind(resources, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": agent}
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    (rule,) = k8s_kind(resources, "PrometheusRule")
    assert rule["metadata"]["namespace"] == agent and rule["spec"]["groups"]
    (probe,) = k8s_kind(resources, "Probe")
    assert probe["spec"]["jobName"] == f"{agent}-health" and probe["spec"]["module"] == "http_2xx"
    assert probe["spec"]["targets"]["staticConfig"]["static"] == [f"http://{agent}.{agent}.svc/healthz"]
    alerts = {r.get("alert") for g in rule["spec"]["groups"] for r in g["rules"]}
    # research scales to zero in dev: probed, but an idle agent failing its probe pages nobody.
    assert ("AgentProbeFailing" in alerts) is (agent != "research")
    (board,) = [c for c in k8s_kind(resources, "ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    dashboard = json.loads(next(iter(board["data"].values())))
    assert dashboard["uid"] == f"agent-{agent}"


def test_agents_send_telemetry_to_the_collector_and_may_reach_it(dev):
    resources = agent_resources(dev, "triage")
    (deployment,) = k8s_kind(resources, "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OTEL_SERVICE_NAME"] == "triage"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.monitoring.svc:4317"
    assert "deployment.environment=dev" in env["OTEL_RESOURCE_ATTRIBUTES"]
    (aws,) = [p for p in k8s_kind(resources, "NetworkPolicy") if p["metadata"]["name"] == "allow-aws"]
    # The collector's ports, in the monitoring namespace (the LLM gateway's namespace is another rule).
    ports = {p["port"] for rule in aws["spec"]["egress"] for p in rule["ports"]
             if any(peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                    == "monitoring" for peer in rule["to"])}
    assert ports == {4317, 4318}


def test_the_platform_dashboard_spans_the_agents(dev):
    (board,) = [r for r in dev.resources if r["type"] == "kubernetes:core/v1:ConfigMap"
                and r["inputs"]["metadata"]["name"] == "maas-agents-dashboard"]
    assert board["inputs"]["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["inputs"]["data"]["maas-platform.json"])["uid"] == "maas-platform"


def test_plan_exports_a_rules_file_per_agent_that_promtool_accepts(dev, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make promtool` (Debian's prometheus package)"
    write_exports(dev, tmp_path)
    files = sorted((tmp_path / "rules").glob("*.yaml"))
    assert [f.stem for f in files] == sorted(AGENTS)
    for path in files:
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        groups = yaml.safe_load(path.read_text())["groups"]
        rules = [r for g in groups for r in g["rules"]]
        assert RECORDED <= {r["record"] for r in rules if "record" in r}
        burn = [r for r in rules if r.get("alert", "").startswith("SLOErrorBudgetBurn")]
        assert {(r["labels"]["severity"], r["labels"]["burn_window"]) for r in burn} == {
            ("page", "1h"), ("page", "6h"), ("ticket", "1d"), ("ticket", "3d")}
        # An agent's SLOs name the agent; a flow's, whose rules live in its entry agent's file, the flow.
        assert all({"team", "slo", "severity"} <= set(r["labels"]) and ({"agent", "flow"} & set(r["labels"]))
                   for r in burn)
        assert all(r["annotations"]["runbook_url"].endswith(".md") for r in burn)
    assert sorted(p.name for p in (tmp_path / "openslo").glob("triage-*.yaml")) == [
        "triage-accuracy.yaml", "triage-availability.yaml", "triage-golden.yaml", "triage-latency.yaml",
        "triage-probe.yaml"]


def test_every_cluster_add_on_is_a_pinned_helm_release(dev):
    releases = {r["inputs"]["chart"]: r["inputs"]["version"] for r in dev.of_type("kubernetes:helm.sh/v3:Release")}
    assert {"kube-prometheus-stack", "prometheus-blackbox-exporter", "opentelemetry-collector", "fluent-bit",
            "external-secrets", "aws-load-balancer-controller", "keda", "metrics-server"} <= set(releases)
    for chart, version in releases.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (chart, version)


def test_each_agent_owns_an_encrypted_retained_log_group(dev):
    for agent in AGENTS:
        groups = [r["inputs"] for r in agent_resources(dev, agent) if r["type"] == "aws:cloudwatch/logGroup:LogGroup"]
        # Its container logs' group (a database's own log group, when it has one, is the datastore's).
        [own] = [g for g in groups if g["name"].startswith("/maas/")]
        assert own["name"] == f"/maas/maas-dev/agents/{agent}"
        assert own["kmsKeyId"] == dev.outputs["logs_key_arn"] and own["retentionInDays"] == 14
        assert all(g["kmsKeyId"] and g["retentionInDays"] for g in groups)


def test_alert_receivers_come_from_config_with_their_secrets_in_secrets_manager(dev):
    (stack,) = [r for r in dev.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "kube-prometheus-stack"]
    alertmanager = stack["inputs"]["values"]["alertmanager"]
    receivers = {r["name"]: r for r in alertmanager["config"]["receivers"]}
    for severity in ("page", "ticket"):
        (slack,) = receivers[severity]["slack_configs"]
        assert slack == {"api_url_file": "/etc/alertmanager/receivers/oncall-slack",
                         "channel": "#maas-dev-alerts", "send_resolved": True}
        assert receivers[severity]["sns_configs"][0]["topic_arn"] == dev.outputs["messaging"]["alert_topic_arn"]
    # Mounted optional: Alertmanager starts, and SNS delivers, before anyone puts the Slack URL.
    assert "secrets" not in alertmanager["alertmanagerSpec"]
    assert alertmanager["alertmanagerSpec"]["volumes"] == [
        {"name": "receivers", "secret": {"secretName": "alertmanager-receivers", "optional": True}}]
    (secret,) = [s for s in dev.of_type("aws:secretsmanager/secret:Secret")
                 if s["inputs"]["name"] == "maas-dev/observability/receivers/oncall-slack"]
    assert not {"secretString", "secretBinary"} & set(secret["inputs"]), "the URL is put out of band"
    (sync,) = [r["inputs"] for r in dev.resources if r["type"].endswith(":ExternalSecret")
               and r["inputs"]["metadata"]["name"] == "alertmanager-receivers"]
    assert sync["spec"]["data"] == [{"secretKey": "oncall-slack",
                                     "remoteRef": {"key": "maas-dev/observability/receivers/oncall-slack"}}]


def test_amtool_accepts_the_rendered_alertmanager_configuration(dev, tmp_path):
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: run `make promtool` (Debian's prometheus-alertmanager package)"
    (stack,) = [r for r in dev.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "kube-prometheus-stack"]
    config = stack["inputs"]["values"]["alertmanager"]["config"]
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = {**config, "route": {**config["route"], "receiver": "nobody"}}
    path.write_text(yaml.safe_dump(broken))
    assert subprocess.run([amtool, "check-config", str(path)], capture_output=True, timeout=60).returncode != 0


def test_alertmanager_pods_need_no_secret_that_a_human_has_to_fill(dev):
    """Dev ships a Slack receiver whose URL nobody has put yet. No volume of the Alertmanager pods
    may require a Secret External Secrets writes only once that value exists, and every file a
    receiver reads must sit on an optional volume; the alert topic needs no file at all."""
    (stack,) = [r for r in dev.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "kube-prometheus-stack"]
    alertmanager = stack["inputs"]["values"]["alertmanager"]
    spec = alertmanager["alertmanagerSpec"]
    synced = {r["inputs"]["spec"]["target"]["name"] for r in dev.resources if r["type"].endswith(":ExternalSecret")}
    assert not set(spec.get("secrets", [])) & synced
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    optional_mounts = [m["mountPath"] for m in spec.get("volumeMounts", [])
                       if volumes[m["name"]].get("secret", {}).get("optional") is True]
    files = [value for receiver in alertmanager["config"]["receivers"] for key, configs in receiver.items()
             if key.endswith("_configs") for config in configs for field, value in config.items()
             if field.endswith("_file")]
    assert files and all(any(f.startswith(mount + "/") for mount in optional_mounts) for f in files), files


def test_monitoring_releases_are_deleted_before_the_ebs_csi_driver(dev):
    """Their StatefulSets' claims are deleted with them (whenDeleted: Delete in dev), and only the
    EBS CSI driver deletes the volumes: every release with a volume depends on the driver, so a
    destroy removes the releases first."""
    (driver,) = [r["urn"] for r in dev.of_type("aws:eks/addon:Addon") if r["inputs"]["addonName"] == "aws-ebs-csi-driver"]
    (stack,) = [r for r in dev.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "kube-prometheus-stack"]
    assert driver in stack["dependencies"]
    values = stack["inputs"]["values"]
    for spec in (values["prometheus"]["prometheusSpec"], values["alertmanager"]["alertmanagerSpec"]):
        assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Delete", "whenScaled": "Retain"}


def test_nothing_waits_for_the_receivers_secret(dev):
    """Its ExternalSecret becomes ready only when a human has put every receiver's value: no
    release may depend on it, and Pulumi is told not to await it."""
    by_urn = {r["urn"]: r for r in dev.resources}
    (sync,) = [r for r in dev.resources if r["type"].endswith(":ExternalSecret")
               and r["inputs"]["metadata"]["name"] == "alertmanager-receivers"]
    assert sync["inputs"]["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}

    def upstream(urn: str, seen: set[str]) -> set[str]:
        for dependency in by_urn[urn]["dependencies"] if urn in by_urn else []:
            if dependency not in seen:
                seen.add(dependency)
                upstream(dependency, seen)
        return seen

    for release in dev.of_type("kubernetes:helm.sh/v3:Release"):
        assert sync["urn"] not in upstream(release["urn"], set()), release["inputs"]["chart"]
