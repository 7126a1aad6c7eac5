"""The LLM gateway (LiteLLM's proxy): pinned and restricted, HA in prod, its namespace's policies,
each agent's credential, allow-list and limit, provider keys only in its namespace, and no agent
reaching a provider's host but through it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from conftest import ROOT, named, policy
from maas_platform import names
from maas_platform.components.agent.egress import PROXY_PORT
from maas_platform.components.llmgateway import (
    AGENT_KEYS_SECRET, BUDGET_DURATION, DATABASE_SECRET, IMAGE, IMAGE_REPOSITORY, KEYS_CONFIG_MAP, LITELLM_CHART,
    MASTER_KEY_SECRET, PROVIDER_KEYS_SECRET, PROXY_POD_LABELS, REGISTER_SCRIPT, gateway_keys, gateway_values,
    model_list, provider_env_name, replica_tpm_limit, revoked_aliases,
)
from maas_platform.components.llmgateway_db import (
    PG_HBA, POSTGRES_IMAGE, POSTGRES_NAME, POSTGRES_TLS_SECRET, POSTGRES_UID, postgres_host,
)
from maas_platform.components.workloads import chart_lock
from maas_platform.config.agents import AgentSpec, declared_secrets
from maas_platform.config.defaults import tier
from maas_platform.config.llm import GatewayProvider
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.plan import Plan, plan_project
from test_agents import agent_resources, k8s_kind

NS = names.LLM_GATEWAY_NAMESPACE
OPENAI = GatewayProvider(name="openai", api_host="api.openai.com", secret="llm-openai-api-key")
BASE = {"team": "t", "cost_center": "cc-1", "image": "ghcr.io/acme/a:1.0.0"}
# What the dev stack declares (stacks/Pulumi.dev.yaml): limits from budget.llm_monthly_usd.
DEV_KEYS = {
    "research": {"models": ["openai/gpt-4.1-mini"], "max_budget": 300.0},
    "triage": {"models": ["openai/gpt-4.1-mini"], "max_budget": 200.0},
}


def gateway(plan: Plan) -> list[dict[str, Any]]:
    """Every resource below the LlmGateway component."""
    (component,) = [r for r in plan.resources if r["type"] == names.MAAS_LLM_GATEWAY]
    return list(plan.descendants(component["urn"]))


def kind(resources: list[dict[str, Any]], k: str) -> list[dict[str, Any]]:
    return [r["inputs"] for r in resources if r["type"].startswith("kubernetes:") and r["inputs"].get("kind") == k]


def release(plan: Plan) -> dict[str, Any]:
    (found,) = [r for r in gateway(plan) if r["type"] == names.HELM_RELEASE]
    return found["inputs"]


def netpol(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [p for p in kind(resources, "NetworkPolicy") if p["metadata"]["name"] == name]
    return found["spec"]


def _config(**changes: Any) -> dict[str, Any]:
    config = {k.removeprefix("maas:"): v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").items()}
    return config | changes


# -- the release ---------------------------------------------------------------------------------

def test_the_release_is_the_locked_chart_in_its_own_namespace_with_the_non_root_image(dev):
    inputs = release(dev)
    entry = chart_lock().entry("litellm-helm")
    assert inputs["chart"] == f"{entry.repository}/litellm-helm" and inputs["version"] == entry.version
    assert "repositoryOpts" not in inputs  # an OCI chart is named by its reference
    assert inputs["namespace"] == NS and inputs["name"] == LITELLM_CHART.name == names.LLM_GATEWAY_SERVICE
    values = inputs["values"]
    assert values["image"] == {"repository": IMAGE_REPOSITORY, "tag": entry.app_version, "pullPolicy": "IfNotPresent"}
    assert names.LLM_GATEWAY_URL == f"http://{names.LLM_GATEWAY_SERVICE}.{NS}.svc:4000"


def test_the_proxy_runs_restricted_and_the_namespace_enforces_it(dev):
    values = release(dev)["values"]
    assert values["securityContext"] == names.restricted_container_security_context()
    pod = values["podSecurityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0 and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["serviceAccount"] == {"create": True, "automount": False}
    (namespace,) = kind(gateway(dev), "Namespace")
    assert namespace["metadata"]["name"] == NS
    assert {k: namespace["metadata"]["labels"][k] for k in names.RESTRICTED_NAMESPACE_LABELS} == \
        dict(names.RESTRICTED_NAMESPACE_LABELS)


def test_every_pod_the_gateway_runs_itself_is_restricted(dev):
    resources = gateway(dev)
    for workload in [*kind(resources, "Deployment"), *kind(resources, "Job")]:
        spec = workload["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            assert container["securityContext"] == names.restricted_container_security_context()
            assert container["resources"]["limits"]


def test_ha_follows_the_environment_tier(dev):
    values = release(dev)["values"]
    assert values["replicaCount"] == tier("dev").ha_replicas
    assert values["pdb"] == {"enabled": True, "maxUnavailable": 1}
    prod = gateway_values(providers=[OPENAI], agents=[], replicas=tier("prod").ha_replicas, database_host="db")
    assert prod["replicaCount"] == tier("prod").ha_replicas >= 2
    zones = [c for c in prod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zones and zones[0]["labelSelector"]["matchLabels"] == PROXY_POD_LABELS


@pytest.fixture(scope="module")
def prod_with_gateway(tmp_path_factory) -> Plan:
    """prod with one gateway agent: the shipped prod config declares none."""
    config = read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml")
    config["maas:llm"] = {"providers": [OPENAI.model_dump()]}
    config["maas:agents"] = [*config.get("maas:agents", []), {
        "name": "writer", **BASE, "budget": {"llm_monthly_usd": 50},
        "llm": {"gateway": {"models": ["openai/gpt-4.1"], "tokens_per_minute": 1001}},
    }]
    path = tmp_path_factory.mktemp("prod-gateway") / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return plan_project(ROOT, config_file=path)


def test_the_database_holds_the_keys_under_the_gateways_key_and_is_not_the_charts(prod_with_gateway):
    values = release(prod_with_gateway)["values"]
    assert values["db"]["useExisting"] is True and values["db"]["deployStandalone"] is False
    assert values["db"]["url"].endswith("?sslmode=require")
    (cluster,) = [r for r in gateway(prod_with_gateway) if r["type"] == names.RDS_CLUSTER]
    key = named(prod_with_gateway, names.KMS_KEY, "maas-prod-llm-gateway-key")
    assert cluster["inputs"]["storageEncrypted"] is True and cluster["inputs"]["masterPassword"] == "[secret]"
    assert cluster["inputs"]["kmsKeyId"] == key.outputs["arn"]
    assert values["db"]["endpoint"] == cluster["outputs"]["endpoint"]
    assert not kind(gateway(prod_with_gateway), "StatefulSet")


def test_prod_runs_the_proxy_and_its_egress_proxy_highly_available(prod_with_gateway):
    resources = gateway(prod_with_gateway)
    values = release(prod_with_gateway)["values"]
    assert values["replicaCount"] == tier("prod").ha_replicas >= 2
    (proxy,) = kind(resources, "Deployment")
    assert proxy["spec"]["replicas"] == tier("prod").ha_replicas
    assert len([r for r in resources if r["type"] == names.RDS_CLUSTER_INSTANCE]) == tier("prod").database_instances
    (cluster,) = [r for r in resources if r["type"] == names.RDS_CLUSTER]
    assert cluster["inputs"]["deletionProtection"] is True


# -- per agent: credential, allow-list, limit -------------------------------------------------------

def _keys(dev: Plan) -> dict[str, Any]:
    (config_map,) = [c for c in kind(gateway(dev), "ConfigMap") if c["metadata"]["name"] == KEYS_CONFIG_MAP]
    return json.loads(config_map["data"]["keys.json"])


def test_each_agent_key_carries_its_allow_list_and_monthly_limit(dev):
    keys = _keys(dev)
    assert sorted(keys) == sorted(DEV_KEYS)
    for agent, expected in DEV_KEYS.items():
        key = keys[agent]
        assert key["key_alias"] == agent
        assert key["models"] == expected["models"] and key["max_budget"] == expected["max_budget"]
        assert key["budget_duration"] == BUDGET_DURATION
        assert "key" not in key  # values never in the ConfigMap


def test_the_gateway_serves_only_declared_models_and_no_key_may_call_every_model():
    agents = [
        AgentSpec(name="a", **BASE, budget={"llm_monthly_usd": 10}, llm={"gateway": {"models": ["openai/gpt-4.1-mini"]}}),
        AgentSpec(name="b", **BASE, llm={"gateway": {"models": ["openai/gpt-4.1", "openai/gpt-4.1-mini"],
                                                    "monthly_usd": 5, "tokens_per_minute": 1000}}),
        AgentSpec(name="c", **BASE),
    ]
    served = model_list([OPENAI], agents)
    assert [m["model_name"] for m in served] == ["openai/gpt-4.1", "openai/gpt-4.1-mini"]
    assert {m["litellm_params"]["api_key"] for m in served} == {f"os.environ/{provider_env_name('openai')}"}
    keys = gateway_keys(agents)
    assert sorted(keys) == ["a", "b"]
    # An empty list would let a LiteLLM key call every model: the config refuses it (min_length 1).
    assert all(key["models"] for key in keys.values())
    assert keys["a"]["max_budget"] == 10.0 and "tpm_limit" not in keys["a"]
    assert keys["b"] == {**keys["b"], "models": ["openai/gpt-4.1", "openai/gpt-4.1-mini"], "max_budget": 5.0,
                         "tpm_limit": 1000}


def test_each_agent_gets_its_own_credential_in_its_own_namespace_and_env(dev):
    for agent in DEV_KEYS:
        resources = agent_resources(dev, agent)
        secret = [r for r in resources if r["type"] == names.SECRETSMANAGER_SECRET
                  and r["inputs"]["name"] == f"maas-dev/agents/{agent}/{names.LLM_GATEWAY_KEY_SECRET}"]
        assert len(secret) == 1
        (sync,) = kind(resources, "ExternalSecret")
        assert {"secretKey": "LLM_GATEWAY_KEY", "remoteRef": {"key": f"maas-dev/agents/{agent}/llm-gateway-key"}} \
            in sync["spec"]["data"]
        (deployment,) = k8s_kind(resources, "Deployment")
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["MAAS_LLM_GATEWAY_URL"]["value"] == names.LLM_GATEWAY_URL
        assert env["LLM_GATEWAY_KEY"]["valueFrom"]["secretKeyRef"]["name"] == f"{agent}-secrets"
    # The platform writes the value (generated, masked in the plan): the agent's copy and the gateway's.
    versions = [r for r in gateway(dev) if r["type"] == names.SECRETSMANAGER_SECRET_VERSION]
    assert all(v["inputs"]["secretString"] == "[secret]" for v in versions)
    assert {v["name"] for v in versions} >= {f"maas-dev-llm-gateway-agent-{a}-key-version" for a in DEV_KEYS}


def test_an_agent_without_the_gateway_gets_no_credential(dev):
    resources = agent_resources(dev, "reports")
    assert not [r for r in resources if r["type"] == names.SECRETSMANAGER_SECRET
                and r["inputs"]["name"].endswith(names.LLM_GATEWAY_KEY_SECRET)]
    assert declared_secrets(AgentSpec(name="x", **BASE)) == []


def test_the_registration_job_reads_the_declared_keys_and_the_master_key(dev):
    (job,) = kind(gateway(dev), "Job")
    pod = job["spec"]["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["keys"]["configMap"]["name"] == KEYS_CONFIG_MAP
    assert {v["name"]: v for v in pod["volumes"]}["agent-keys"]["secret"]["secretName"] == AGENT_KEYS_SECRET
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["PROXY_MASTER_KEY"]["valueFrom"]["secretKeyRef"]["name"] == MASTER_KEY_SECRET
    assert env["GATEWAY_URL"]["value"] == names.LLM_GATEWAY_URL


# -- provider keys ---------------------------------------------------------------------------------

def test_provider_keys_are_synced_into_the_gateway_namespace_only(dev):
    provider = named(dev, names.SECRETSMANAGER_SECRET, "maas-dev-llm-gateway-provider-openai")
    assert provider.inputs["name"] == "maas-dev/llm-openai-api-key"
    syncs = [r["inputs"] for r in dev.resources if r["type"] == names.K8S_EXTERNAL_SECRET]
    reading = [s for s in syncs if any((d.get("remoteRef") or {}).get("key") == "maas-dev/llm-openai-api-key"
                                       for d in s["spec"]["data"])]
    assert [s["metadata"]["namespace"] for s in reading] == [NS]
    assert reading[0]["metadata"]["name"] == PROVIDER_KEYS_SECRET
    assert release(dev)["values"]["environmentSecrets"] == [PROVIDER_KEYS_SECRET]
    arn = provider.outputs["arn"]
    readers = [r for r in dev.resources if r["type"] == names.IAM_ROLE_POLICY and arn in r["inputs"]["policy"]]
    assert [r["name"] for r in readers] == ["maas-dev-llm-gateway-secret-sync-policy"]


def test_the_gateway_secret_sync_role_is_trusted_by_its_namespace_alone(dev):
    role = named(dev, names.IAM_ROLE, "maas-dev-llm-gateway-secret-sync-role")
    trust = json.dumps(policy(role.inputs["assumeRolePolicy"]))
    assert f"system:serviceaccount:{NS}:{names.SECRET_SYNC_SERVICE_ACCOUNT}" in trust


# -- network ----------------------------------------------------------------------------------------

def test_the_gateway_namespace_denies_everything_but_its_callers_and_its_ways_out(dev):
    resources = gateway(dev)
    assert netpol(resources, "default-deny") == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = netpol(resources, "allow-gateway")
    assert allow["podSelector"] == {"matchLabels": PROXY_POD_LABELS}
    callers = allow["ingress"][0]["from"]
    agents = [c for c in callers if "namespaceSelector" in c and "podSelector" not in c]
    values = [e["values"] for c in agents for e in c["namespaceSelector"].get("matchExpressions", [])]
    assert sorted(DEV_KEYS) in values and [names.MONITORING_NAMESPACE] in values
    # The proxy itself reaches only its egress proxy (and the database, allow-database): no ipBlock to the world.
    assert allow["egress"] == [{"to": [{"podSelector": {"matchLabels": {names.NAME_LABEL: names.EGRESS_PROXY_NAME}}}],
                                "ports": [{"protocol": "TCP", "port": PROXY_PORT}]}]
    out = netpol(resources, names.EGRESS_PROXY_NAME)
    assert [p["port"] for rule in out["egress"] for p in rule["ports"]] == [443]


def test_the_gateway_egress_proxy_admits_the_providers_hosts_alone(dev):
    (config_map,) = [c for c in kind(gateway(dev), "ConfigMap") if c["metadata"]["name"] == names.EGRESS_PROXY_NAME]
    config = json.loads(config_map["data"]["envoy.yaml"])
    hosts = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"][
        "route_config"]["virtual_hosts"][0]["domains"]
    assert hosts == ["api.openai.com:443"]
    env = release(dev)["values"]["envVars"]
    assert env["HTTPS_PROXY"] == f"http://{names.EGRESS_PROXY_NAME}.{NS}.svc:{PROXY_PORT}"


def test_agents_reach_the_gateway_and_no_provider_host(dev):
    providers = {"api.openai.com"}
    for agent in ("triage", "research", "reports"):
        resources = agent_resources(dev, agent)
        proxies = [c for c in k8s_kind(resources, "ConfigMap", proxy=True)
                   if c["metadata"]["name"] == names.EGRESS_PROXY_NAME]
        for config_map in proxies:
            assert not any(host in config_map["data"]["envoy.yaml"] for host in providers), agent
    (allow,) = [p for p in k8s_kind(agent_resources(dev, "triage"), "NetworkPolicy")
                if p["metadata"]["name"].endswith("allow-aws")]
    gateway_rule = [r for r in allow["spec"]["egress"] if any(
        (t.get("namespaceSelector") or {}).get("matchLabels", {}).get(names.NAMESPACE_NAME_LABEL) == NS for t in r["to"])]
    assert gateway_rule and gateway_rule[0]["ports"] == [{"protocol": "TCP", "port": names.LLM_GATEWAY_PORT}]


def test_prometheus_scrapes_the_proxy_after_its_operator_exists(dev):
    (monitor,) = [r for r in gateway(dev) if r["type"] == names.K8S_SERVICE_MONITOR]
    assert monitor["inputs"]["spec"]["selector"] == {"matchLabels": PROXY_POD_LABELS}
    prometheus = [r for r in dev.resources if r["type"] == names.HELM_RELEASE
                  and r["name"].endswith(names.KUBE_PROMETHEUS_STACK)]
    assert prometheus and prometheus[0]["urn"] in monitor["dependencies"]
    assert release(dev)["values"]["proxy_config"]["litellm_settings"]["callbacks"] == ["prometheus"]


# -- config ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("agent, expected", [
    ({"egress": ["api.openai.com"]},
     "maas:agents[3].egress (agent 'extra'): 'api.openai.com' is the API host of LLM provider 'openai', which only "
     "the LLM gateway reaches; remove it and use llm.gateway.models instead"),
    # A wildcard the egress proxy would resolve to the provider's host is the same path around the gateway.
    ({"egress": ["*.openai.com"]},
     "maas:agents[3].egress (agent 'extra'): '*.openai.com' covers 'api.openai.com', the API host of LLM provider "
     "'openai', which only the LLM gateway reaches"),
    ({"budget": {"llm_monthly_usd": 5}, "llm": {"gateway": {"models": ["anthropic/claude-sonnet-4"]}}},
     "maas:agents[3].llm.gateway.models (agent 'extra'): 'anthropic/claude-sonnet-4' names provider 'anthropic', "
     "which maas:llm.providers does not declare"),
    ({"llm": {"gateway": {"models": ["openai/gpt-4.1-mini"]}}},
     "maas:agents[3].llm.gateway (agent 'extra'): no spend limit for the gateway to enforce; set "
     "llm.gateway.monthly_usd or budget.llm_monthly_usd"),
])
def test_a_config_that_bypasses_or_unlimits_the_gateway_is_one_line(agent, expected):
    config = _config()
    agents = config["agents"] + [{"name": "extra", **BASE, **agent}]
    with pytest.raises(ConfigError) as error:
        parse_platform_config(config | {"agents": agents})
    message = str(error.value)
    assert "\n" not in message and message.startswith(expected), message


def test_the_dev_stack_declares_the_migrated_agents():
    config = parse_platform_config(_config())
    agents = {a.name: a for a in config.agents}
    assert agents["triage"].llm.gateway.models == ["openai/gpt-4.1-mini"]
    assert agents["research"].llm.gateway.models == ["openai/gpt-4.1-mini"]
    assert agents["research"].llm.bedrock.models == ["anthropic.claude-3-5-haiku-20241022-v1:0"]
    assert not {"openai-api-key", "anthropic-api-key"} & {s for a in config.agents for s in a.secrets}
    assert [p.api_host for p in config.llm.providers] == ["api.openai.com"]


def test_a_team_stack_agent_asking_for_the_gateway_is_one_line(tmp_path):
    from test_team_stack import maas, one_line_error, team_copy

    line = 'env={"CLAIMS_API_URL": "https://claims-api.example.com/v2"},'
    team = team_copy(tmp_path, line, line + ' llm={"gateway": {"models": ["openai/gpt-4.1-mini"]}},')
    line = one_line_error(maas("plan", "--project-dir", str(team), "--stack", "dev", "--platform-dir", str(ROOT)))
    assert "agent 'intake': llm.gateway: a team stack's agent gets no " in line, line


# -- the image the chart pin pulls -------------------------------------------------------------------

def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("."))


def test_a_chart_pinned_from_1_84_pulls_the_image_tagged_with_its_version_without_v():
    """From 1.84.0 LiteLLM's chart versions and image tags are the same SemVer 2.0 string without a
    ``v`` and the chart's appVersion is that tag (charts.lock.yaml litellm-helm ``where``)."""
    entry = chart_lock().entry("litellm-helm")
    assert _semver(entry.version) >= (1, 84, 0)
    assert entry.app_version == entry.version and not entry.app_version.startswith("v")
    assert IMAGE == f"{IMAGE_REPOSITORY}:{entry.version}"


# -- where the gateway keeps its state ------------------------------------------------------------------

@pytest.mark.parametrize("stack, expected", [("dev", "in_cluster"), ("staging", "aurora"), ("prod", "aurora")])
def test_the_gateway_database_defaults_to_the_cluster_in_dev_only(stack, expected):
    config = {k.removeprefix("maas:"): v for k, v in read_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml").items()}
    assert parse_platform_config(config).llm.gateway_database == expected


def test_prod_refuses_the_in_cluster_database_in_one_line():
    config = {k.removeprefix("maas:"): v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml").items()}
    with pytest.raises(ConfigError) as error:
        parse_platform_config(config | {"llm": {"gateway_database": "in_cluster"}})
    message = str(error.value)
    assert "\n" not in message and message.startswith("maas:llm.gateway_database: prod keeps the gateway's keys"), message


def test_dev_keeps_the_gateway_state_in_one_restricted_postgres_pod_and_no_aurora(dev):
    resources = gateway(dev)
    aurora = {names.RDS_CLUSTER, names.RDS_CLUSTER_INSTANCE, names.RDS_SUBNET_GROUP, names.RDS_CLUSTER_PARAMETER_GROUP}
    assert not [r for r in resources if r["type"] in aurora]
    assert not [r for r in resources if r["type"] == names.EC2_SECURITY_GROUP]
    assert not [r for r in resources if r["type"] == names.CLOUDWATCH_LOG_GROUP and "/aws/rds/" in r["inputs"]["name"]]
    (postgres,) = kind(resources, "StatefulSet")
    spec = postgres["spec"]
    assert spec["replicas"] == 1 and postgres["metadata"]["namespace"] == NS
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3-encrypted"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    pod = spec["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": POSTGRES_UID, "runAsGroup": POSTGRES_UID,
                                      "fsGroup": POSTGRES_UID, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["image"] == POSTGRES_IMAGE and POSTGRES_IMAGE.split(":")[1].split(".")[0] == "16"
    assert container["securityContext"] == names.restricted_container_security_context()
    assert container["resources"]["requests"] and container["resources"]["limits"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"][0] == "pg_isready"
    # The root file system is read-only: postgres writes to its volume and two emptyDirs only.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = sorted(path for path, m in mounts.items() if not m.get("readOnly"))
    assert writable == ["/tmp", "/var/lib/postgresql/data", "/var/run/postgresql"]
    assert all("emptyDir" in volumes[mounts[p]["name"]] for p in ("/tmp", "/var/run/postgresql"))
    env = {e["name"]: e for e in container["env"]}
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")  # a subdirectory the entrypoint may chmod
    for variable, key in (("POSTGRES_USER", "username"), ("POSTGRES_PASSWORD", "password")):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": DATABASE_SECRET, "key": key}


def test_the_in_cluster_database_speaks_tls_only_with_a_key_of_the_stacks_own(dev):
    resources = gateway(dev)
    (postgres,) = kind(resources, "StatefulSet")
    (container,) = postgres["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    settings = dict(a.split("=", 1) for a in args if a != "-c")
    assert settings["ssl"] == "on" and settings["ssl_min_protocol_version"] == "TLSv1.2"
    # TCP connections: hostssl only, never host; the proxy's URL asks for TLS.
    rules = [line.split()[0] for line in PG_HBA.splitlines()]
    assert set(rules) == {"local", "hostssl"}
    assert release(dev)["values"]["db"]["url"].endswith("?sslmode=require")
    volumes = {v["name"]: v for v in postgres["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"] == {"secretName": POSTGRES_TLS_SECRET, "defaultMode": 0o440}
    # Generated by the provider, kept beside the password in Secrets Manager under the gateway's key,
    # synced by External Secrets into a Secret only PostgreSQL mounts (the proxy's holds the password alone).
    stored = named(dev, names.SECRETSMANAGER_SECRET, "maas-dev-llm-gateway-db-credentials")
    assert stored.inputs["kmsKeyId"] == named(dev, names.KMS_KEY, "maas-dev-llm-gateway-key").outputs["arn"]
    version = named(dev, names.SECRETSMANAGER_SECRET_VERSION, "maas-dev-llm-gateway-db-credentials-version")
    assert version.inputs["secretString"] == "[secret]"
    syncs = {e["metadata"]["name"]: e["spec"]["data"] for e in kind(resources, "ExternalSecret")}
    assert {d["secretKey"]: d["remoteRef"] for d in syncs[POSTGRES_TLS_SECRET]} == {
        "tls.crt": {"key": stored.inputs["name"], "property": "tls.certificate"},
        "tls.key": {"key": stored.inputs["name"], "property": "tls.private_key"}}
    assert {d["secretKey"] for d in syncs[DATABASE_SECRET]} == {"username", "password"}
    assert not kind(resources, "Secret")  # no key material in a Kubernetes object of the plan
    (key,) = [r for r in resources if r["type"] == names.TLS_PRIVATE_KEY]
    assert key["inputs"]["algorithm"] == "ECDSA"
    (cert,) = [r for r in resources if r["type"] == names.TLS_SELF_SIGNED_CERT]
    assert postgres_host(NS) in cert["inputs"]["dnsNames"] and "server_auth" in cert["inputs"]["allowedUses"]


def test_the_proxy_reaches_the_in_cluster_database_which_admits_it_alone(dev):
    resources = gateway(dev)
    values = release(dev)["values"]
    assert values["db"]["endpoint"] == postgres_host(NS) == f"{POSTGRES_NAME}.{NS}.svc"
    (service,) = [s for s in kind(resources, "Service") if s["metadata"]["name"] == POSTGRES_NAME]
    assert service["spec"]["ports"] == [{"name": "postgres", "port": 5432, "targetPort": "postgres", "protocol": "TCP"}]
    # The proxy's pods and its migration Job (both carry the chart's selector labels) and nothing else.
    admit = netpol(resources, "allow-postgres")
    assert admit["podSelector"] == {"matchLabels": {names.NAME_LABEL: POSTGRES_NAME}}
    assert admit["ingress"] == [{"from": [{"podSelector": {"matchLabels": PROXY_POD_LABELS}}],
                                 "ports": [{"protocol": "TCP", "port": 5432}]}]
    out = netpol(resources, "allow-database")
    assert out["egress"] == [{"to": [{"podSelector": {"matchLabels": {names.NAME_LABEL: POSTGRES_NAME}}}],
                              "ports": [{"protocol": "TCP", "port": 5432}]}]
    (component,) = [r for r in dev.resources if r["type"] == names.HELM_RELEASE and r["name"].endswith("litellm-helm")]
    (statefulset,) = [r for r in resources if r["type"] == names.K8S_STATEFUL_SET]
    assert statefulset["urn"] in component["dependencies"]


# -- a token rate that holds across replicas -----------------------------------------------------------

@pytest.mark.parametrize("limit, replicas", [(1, 1), (1000, 1), (2, 2), (1001, 2), (999, 3), (10_000, 7)])
def test_the_replicas_together_never_let_through_more_than_the_declared_rate(limit, replicas):
    share = replica_tpm_limit(limit, replicas)
    assert 1 <= share and share * replicas <= limit < (share + 1) * replicas


def test_each_prod_replica_enforces_its_share_of_the_token_rate(prod_with_gateway):
    replicas = tier("prod").ha_replicas
    assert replicas >= 2
    (config_map,) = [c for c in kind(gateway(prod_with_gateway), "ConfigMap") if c["metadata"]["name"] == KEYS_CONFIG_MAP]
    keys = json.loads(config_map["data"]["keys.json"])
    assert keys["writer"]["tpm_limit"] == 1001 // replicas
    agent = AgentSpec(name="w", **BASE, llm={"gateway": {"models": ["openai/gpt-4.1"], "monthly_usd": 5,
                                                          "tokens_per_minute": 1001}})
    assert gateway_keys([agent])["w"]["tpm_limit"] == 1001  # one replica: the whole rate


def test_a_token_rate_below_the_replica_count_is_one_line():
    config = {k.removeprefix("maas:"): v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml").items()}
    config["llm"] = {"providers": [OPENAI.model_dump()]}
    config["agents"] = [*config.get("agents", []), {
        "name": "writer", **BASE, "budget": {"llm_monthly_usd": 50},
        "llm": {"gateway": {"models": ["openai/gpt-4.1"], "tokens_per_minute": 1}}}]
    with pytest.raises(ConfigError) as error:
        parse_platform_config(config)
    message = str(error.value)
    assert "\n" not in message and "llm.gateway.tokens_per_minute (agent 'writer'): 1 is fewer than the gateway's " \
        f"{tier('prod').ha_replicas} replicas" in message, message


# -- the registration program, run against a stand-in of LiteLLM's admin API ----------------------------

class _Admin:
    """LiteLLM's key endpoints as the registration program uses them (paths and bodies from
    key_management_endpoints.py, see the module's docstring): keys by value, aliases, 404 on an
    update of an unknown key."""

    def __init__(self, refuse: str = ""):
        self.keys: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.refuse = refuse

    def handler(self, master: str):
        import http.server

        admin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.end_headers()

            def do_GET(self):  # noqa: N802
                self._answer(200 if self.path == "/health/readiness" else 404)

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                admin.calls.append((self.path, json.dumps(body, sort_keys=True)))
                if self.headers["Authorization"] != f"Bearer {master}" or self.path == admin.refuse:
                    return self._answer(401 if self.path != admin.refuse else 500)
                if self.path == "/key/update":
                    return self._answer(200 if body["key"] in admin.keys else 404)
                if self.path == "/key/generate":
                    admin.keys[body["key"]] = body
                    return self._answer(200)
                if self.path == "/key/delete":
                    for value in [k for k, v in admin.keys.items() if v["key_alias"] in body["key_aliases"]]:
                        del admin.keys[value]
                    return self._answer(200)
                return self._answer(404)

            def log_message(self, *args):
                pass

        return Handler


def _register(tmp_path, admin: _Admin, keys: dict, values: dict[str, str], revoked: list[str]):
    import http.server
    import subprocess
    import sys
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), admin.handler("sk-master"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp_path.mkdir(parents=True)
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    (tmp_path / "revoked.json").write_text(json.dumps(revoked))
    (tmp_path / "agent-keys").mkdir()
    for agent, value in values.items():
        (tmp_path / "agent-keys" / agent).write_text(value + "\n")
    (tmp_path / "register.py").write_text(REGISTER_SCRIPT)
    try:
        return subprocess.run(
            [sys.executable, str(tmp_path / "register.py")], capture_output=True, text=True, timeout=60,
            env={"GATEWAY_URL": f"http://127.0.0.1:{server.server_address[1]}", "PROXY_MASTER_KEY": "sk-master",
                 "KEYS_FILE": str(tmp_path / "keys.json"), "REVOKED_FILE": str(tmp_path / "revoked.json"),
                 "AGENT_KEYS_DIR": str(tmp_path / "agent-keys")})
    finally:
        server.shutdown()


GATEWAY_AGENT = {**BASE, "budget": {"llm_monthly_usd": 10}, "llm": {"gateway": {"models": ["openai/gpt-4.1-mini"]}}}


def test_the_registration_program_creates_updates_and_revokes_keys(tmp_path):
    agents = [AgentSpec.model_validate({**GATEWAY_AGENT, "name": "triage"}),
              AgentSpec.model_validate({**GATEWAY_AGENT, "name": "old", "retired": True, "retired_on": "2026-11-01"})]
    keys = gateway_keys(agents)
    assert set(keys) == {"triage"} and revoked_aliases(agents) == ["old"]
    admin = _Admin()
    admin.keys["sk-old"] = {"key": "sk-old", "key_alias": "old"}  # registered while old was active
    first = _register(tmp_path / "1", admin, keys, {"triage": "sk-triage"}, ["old"])
    assert first.returncode == 0, first.stderr
    assert set(admin.keys) == {"sk-triage"}  # the retired agent's credential no longer works
    assert {k: v for k, v in admin.keys["sk-triage"].items() if k != "key"} == keys["triage"]
    # Run again (a limit changed): the key is updated in place, and the revocation finds nothing to do.
    second = _register(tmp_path / "2", admin, keys, {"triage": "sk-triage"}, ["old"])
    assert second.returncode == 0 and "triage updated" in second.stdout and "old revoked" in second.stdout


def test_the_registration_program_fails_when_a_key_cannot_be_registered_or_revoked(tmp_path):
    keys = gateway_keys([AgentSpec.model_validate({**GATEWAY_AGENT, "name": "triage"})])
    refused = _register(tmp_path / "1", _Admin(refuse="/key/delete"), keys, {"triage": "sk-triage"}, ["old"])
    assert refused.returncode != 0 and "old" in refused.stderr
    broken = _register(tmp_path / "2", _Admin(refuse="/key/generate"), keys, {"triage": "sk-triage"}, [])
    assert broken.returncode != 0 and "triage" in broken.stderr
