"""Egress restricted to declared destinations: only an agent's egress proxy may open connections to
the internet, and it admits the agent's hosts and the AWS endpoints its parts need, nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from conftest import ROOT
from maas_platform import names
from maas_platform.components.agent.egress import NO_PROXY, PROXY_IMAGE, PROXY_PORT, envoy_config
from maas_platform.config.agents import AgentSpec
from maas_platform.config.defaults import tier
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.plan import Plan, plan_project
from test_agents import agent_resources, k8s_kind

TEAM = ROOT / "stacks" / "teams" / "example"
WORLD = ("0.0.0.0/0", "::/0")
ACCOUNT, REGION = "123456789012", "us-east-1"  # the offline plan's account and dev's region
BASE = {"team": "t", "cost_center": "cc-1", "image": "ghcr.io/acme/a:1.0.0"}


def aws(service: str) -> str:
    return f"{service}.{REGION}.amazonaws.com"


# What each shipped agent calls: its declared host and the endpoints of its parts.
EXPECTED = {
    # Their LLM providers are reached through the LLM gateway, not the proxy (test_llm_gateway.py).
    "triage": {aws("dynamodb"), f"{ACCOUNT}.ddb.{REGION}.amazonaws.com", aws("sqs"), aws("sns")},
    # postgres: in the VPC; its Bedrock models through the Region's runtime (test_bedrock.py).
    "research": {aws("sqs"), aws("sns"), aws("bedrock-runtime")},
    "reports": {f"maas-dev-reports-{ACCOUNT}.s3.{REGION}.amazonaws.com", aws("sqs")},
}


@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM, stack="dev")


@pytest.fixture(scope="module")
def shipped(plans, team) -> dict[str, Plan]:
    return {**plans, "team": team}


def policies(plan: Plan) -> list[dict[str, Any]]:
    return [r["inputs"] for r in plan.resources
            if r["type"] == names.K8S_NETWORK_POLICY]


def world_egress(policy: dict[str, Any]) -> bool:
    return any(peer.get("ipBlock", {}).get("cidr") in WORLD
               for rule in policy["spec"].get("egress") or [] for peer in rule.get("to") or [])


def allow_list(config_map: dict[str, Any]) -> set[str]:
    config = json.loads(config_map["data"]["envoy.yaml"])
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (allowed,) = [v for v in manager["route_config"]["virtual_hosts"] if v["name"] == "allowed"]
    assert all(d.endswith(":443") for d in allowed["domains"])
    return {d.removesuffix(":443") for d in allowed["domains"]}


def proxy_objects(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in k8s_kind(resources, kind, proxy=True) if o["metadata"]["name"] == names.EGRESS_PROXY_NAME]


# -- no path out but the proxies -----------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "team"])
def test_no_network_policy_of_a_shipped_plan_opens_egress_to_the_world_but_the_proxies(shipped, stack):
    opened = [p for p in policies(shipped[stack]) if world_egress(p)]
    for policy in opened:
        assert policy["spec"]["podSelector"] == {"matchLabels": {names.NAME_LABEL: names.EGRESS_PROXY_NAME}}, \
            policy["metadata"]
        (rule,) = [r for r in policy["spec"]["egress"] if world_egress({"spec": {"egress": [r]}})]
        assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
        assert rule["to"][0]["ipBlock"]["except"] == [names.INSTANCE_METADATA_CIDR]
    if stack in ("dev", "team"):
        assert opened, "the proxies of the agents with hosts do open 443"


@pytest.mark.parametrize("agent", sorted(EXPECTED))
def test_each_agent_gets_a_proxy_admitting_exactly_its_hosts_and_its_parts_aws_endpoints(dev, agent):
    resources = agent_resources(dev, agent)
    (config_map,) = proxy_objects(resources, "ConfigMap")
    assert allow_list(config_map) == EXPECTED[agent]
    (deployment,) = proxy_objects(resources, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == PROXY_IMAGE and container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    assert container["readinessProbe"] and container["livenessProbe"] and container["resources"]["limits"]
    assert deployment["spec"]["template"]["metadata"]["labels"][names.AGENT_LABEL] == agent
    # Two replicas where the agent keeps two (triage, reports), else one (research: min 1 in dev).
    spec = next(a for a in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")["maas:agents"] if a["name"] == agent)
    keeps_two = spec.get("replicas", {}).get("min", tier("dev").agent_min_replicas) >= 2
    assert deployment["spec"]["replicas"] == (2 if keeps_two else 1)
    assert proxy_objects(resources, "PodDisruptionBudget") and proxy_objects(resources, "Service")
    (own,) = proxy_objects(resources, "NetworkPolicy")
    assert own["spec"]["ingress"] == [{
        "from": [{"podSelector": {"matchLabels": {names.NAME_LABEL: agent}}}],
        "ports": [{"protocol": "TCP", "port": PROXY_PORT}],
    }]


@pytest.mark.parametrize("agent, hosts", [
    ("intake", {"claims-api.example.com", aws("dynamodb"), f"{ACCOUNT}.ddb.{REGION}.amazonaws.com", aws("sqs")}),
    ("summarizer", {f"maas-dev-summarizer-{ACCOUNT}.s3.{REGION}.amazonaws.com"}),
])
def test_a_team_stacks_agents_get_the_same_proxy(team, agent, hosts):
    resources = [r for r in team.resources if r["name"].startswith(f"{agent}-")]
    (config_map,) = proxy_objects(resources, "ConfigMap")
    assert allow_list(config_map) == hosts


def test_the_s3_host_is_the_bucket_the_agent_owns(dev):
    (bucket,) = [r for r in dev.resources if r["type"] == "aws:s3/bucket:Bucket" and "reports" in r["name"]]
    assert f"{bucket['inputs']['bucket']}.s3.{REGION}.amazonaws.com" in EXPECTED["reports"]


@pytest.mark.parametrize("agent", sorted(EXPECTED))
def test_the_agent_sends_https_through_its_proxy_and_nothing_else_to_the_world(dev, agent):
    resources = agent_resources(dev, agent)
    (deployment,) = [d for d in k8s_kind(resources, "Deployment") if d["metadata"]["name"] == agent]
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    url = f"http://{names.EGRESS_PROXY_NAME}.{agent}.svc:{PROXY_PORT}"
    assert env["HTTPS_PROXY"] == env["https_proxy"] == url
    assert env["NO_PROXY"] == env["no_proxy"]
    assert {"169.254.170.23", ".svc", ".cluster.local"} <= set(env["NO_PROXY"].split(","))
    (allow_aws,) = [p for p in k8s_kind(resources, "NetworkPolicy") if p["metadata"]["name"] == "allow-aws"]
    assert not world_egress(allow_aws)
    assert {"to": [{"podSelector": {"matchLabels": {names.NAME_LABEL: names.EGRESS_PROXY_NAME}}}],
            "ports": [{"protocol": "TCP", "port": PROXY_PORT}]} in allow_aws["spec"]["egress"]


@pytest.fixture(scope="module")
def internal_only(tmp_path_factory) -> Plan:
    """dev with two agents that call nothing outside: one on postgres, one with no storage."""
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:agents"] += [
        {"name": "ledger", **BASE, "storage": "postgres"},
        {"name": "scorer", **BASE, "storage": "none"},
    ]
    path = tmp_path_factory.mktemp("internal") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return plan_project(ROOT, config_file=path)


@pytest.mark.parametrize("agent", ["ledger", "scorer"])
def test_an_internal_only_agent_has_no_proxy_and_no_internet_egress(internal_only, agent):
    resources = agent_resources(internal_only, agent)
    assert not [r["urn"] for r in resources if "egress-proxy" in r["name"]]
    assert not [p for p in k8s_kind(resources, "NetworkPolicy", proxy=True) if world_egress(p)]
    (deployment,) = k8s_kind(resources, "Deployment", proxy=True)
    env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert not env & {"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"}
    (quota,) = k8s_kind(resources, "ResourceQuota")
    assert quota["spec"]["hard"]["pods"] == "8"  # 6 + 2 of surge: the agent's alone


def test_the_quota_counts_the_proxy(dev):
    (quota,) = k8s_kind(agent_resources(dev, "triage"), "ResourceQuota")
    # triage: 6 replicas + 2 of surge, the proxy's 2 most (one replica in dev) + 1 of surge, and
    # its golden-set probe's one pod (concurrencyPolicy Forbid: never two runs at once).
    assert quota["spec"]["hard"]["pods"] == "12"
    assert quota["spec"]["hard"]["requests.cpu"] == f"{250 * 8 + 50 * 3 + 50}m"


def test_the_agents_namespaces_pass_the_policy_gate_with_the_proxies(shipped):
    for stack, plan in shipped.items():
        found = [v for v in plan.violations if v["level"] == "mandatory" and names.MAAS_AGENT_WORKLOAD in v["urn"]]
        assert found == [], stack


# -- the proxy's configuration -------------------------------------------------------------------

def test_the_envoy_config_parses_as_an_envoy_bootstrap():
    """Every field name, type and enum of the bootstrap and its typed configs, against the data-plane
    API's own descriptors (xds-protos); what only Envoy checks (a cluster a route names exists, the
    filter and the cluster name the same DNS cache) is asserted below."""
    pytest.importorskip("envoy.config.bootstrap.v3.bootstrap_pb2", reason="xds-protos (dev extra) not installed")
    from google.protobuf import json_format
    from envoy.config.bootstrap.v3 import bootstrap_pb2
    # The typed configs the bootstrap names, registered so that their Any fields resolve.
    from envoy.extensions.access_loggers.stream.v3 import stream_pb2  # noqa: F401
    from envoy.extensions.clusters.dynamic_forward_proxy.v3 import cluster_pb2  # noqa: F401
    from envoy.extensions.filters.http.dynamic_forward_proxy.v3 import dynamic_forward_proxy_pb2  # noqa: F401
    from envoy.extensions.filters.http.router.v3 import router_pb2  # noqa: F401
    from envoy.extensions.filters.network.http_connection_manager.v3 import http_connection_manager_pb2  # noqa: F401

    config = envoy_config(["api.openai.com", "*.example.com"])
    bootstrap = json_format.ParseDict(config, bootstrap_pb2.Bootstrap())
    assert bootstrap.static_resources.clusters[0].name == "dynamic_forward_proxy"
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict({**config, "static_resource": {}}, bootstrap_pb2.Bootstrap())


def test_the_envoy_config_refuses_what_is_not_listed_and_routes_to_its_own_cluster():
    config = envoy_config(["api.openai.com", "*.example.com"])
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    allowed, refused = manager["route_config"]["virtual_hosts"]
    assert allowed["domains"] == ["api.openai.com:443", "*.example.com:443"]
    assert refused["domains"] == ["*"] and all("direct_response" in r for r in refused["routes"])
    assert [r["direct_response"]["status"] for r in refused["routes"]] == [200, 403, 403]  # /ready, then refused
    (route,) = allowed["routes"]
    assert route["route"]["cluster"] == config["static_resources"]["clusters"][0]["name"]
    cache = config["static_resources"]["clusters"][0]["cluster_type"]["typed_config"]["dns_cache_config"]
    assert manager["http_filters"][0]["typed_config"]["dns_cache_config"] == cache
    assert manager["http_filters"][-1]["name"] == "envoy.filters.http.router"


def test_no_proxy_names_the_pod_identity_agent():
    assert names.POD_IDENTITY_AGENT_CIDR.split("/")[0] in NO_PROXY


# -- configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("egress", [["api.openai.com"], ["*.openai.azure.com", "api.anthropic.com"], []])
def test_hosts_are_names_with_an_optional_leading_wildcard(egress):
    assert AgentSpec(name="a", egress=egress, **BASE).egress == egress


@pytest.mark.parametrize("egress, expected", [
    ({"internet_https": True}, "maas:agents[3].egress (agent 'extra'): internet_https was removed; list the hosts"),
    (["https://api.openai.com"], "maas:agents[3].egress[0] (agent 'extra'): 'https://api.openai.com' is not a host"),
    (["api.openai.com:443"], "maas:agents[3].egress[0] (agent 'extra'): 'api.openai.com:443' is not a host"),
    (["*"], "maas:agents[3].egress[0] (agent 'extra'): '*' is not a host"),
    (["api.*.com"], "maas:agents[3].egress[0] (agent 'extra'): 'api.*.com' is not a host"),
    (["10.0.0.1"], "maas:agents[3].egress[0] (agent 'extra'): '10.0.0.1' is not a host"),
    (["api.openai.com", "api.openai.com"], "maas:agents[3].egress (agent 'extra'): host 'api.openai.com' is listed twice"),
])
def test_a_bad_egress_is_one_line_naming_the_field(egress, expected):
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    agents = config["maas:agents"] + [{"name": "extra", **BASE, "egress": egress}]
    with pytest.raises(ConfigError) as error:
        parse_platform_config({k.removeprefix("maas:"): v for k, v in config.items()} | {"agents": agents})
    message = str(error.value)
    assert "\n" not in message and message.startswith(expected), message


def test_maas_plan_exits_2_with_one_line_on_the_old_internet_https(tmp_path):
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:agents"][0] = {**config["maas:agents"][0], "egress": {"internet_https": True}}
    path = tmp_path / "Pulumi.old.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    result = subprocess.run(
        [sys.executable, "-m", "maas_platform.cli", "plan", "--config-file", str(path), "--project-dir", str(ROOT)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "maas:agents[0].egress" in lines[0] and "internet_https was removed" in lines[0], lines
