"""The offline cost estimate: its JSON block, its sums, its price table and usage file."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from decimal import Decimal

import pytest
import yaml

from conftest import ENVIRONMENTS, ROOT
from maas_platform.config.loader import ConfigError
from maas_platform.cost import FREE, PRICES_FILE, RULES, USAGE_FILE, estimate, load_prices, load_usage, read_price_file
from maas_platform.cost.capacity import catalog
from maas_platform.cost.context import gib
from maas_platform.cost.pods import requests_of
from maas_platform import names
from maas_platform.components.agent.registry import lifecycle_policy
from maas_platform.cost.pods import plan_pods
from maas_platform.cost.rules import claimed_volumes
from maas_platform.plan import Plan, plan_project

COST_KEYS = ["currency", "monthly_total", "baseline", "usage", "by_agent", "by_team", "resources", "unpriced"]
COMPONENT_KEYS = {"name", "quantity", "unit", "unit_price", "monthly"}
DEV_AGENTS = {"triage": "support", "research": "insights", "reports": "insights"}


def cents(value: float) -> Decimal:
    return Decimal(str(value))


def usage_document() -> dict:
    return yaml.safe_load(USAGE_FILE.read_text())


def zero_usage(node):
    """The usage file with every assumption set to 0: an idle environment."""
    if isinstance(node, dict):
        return {k: zero_usage(v) for k, v in node.items()}
    return 0 if isinstance(node, (int, float)) else node


def synthetic(*resources: dict, outputs: dict | None = None) -> Plan:
    """A plan of the given resources below one stack component."""
    stack = {"urn": "urn:pulumi:t::p::maas:index:Platform::p", "type": "maas:index:Platform", "name": "p",
             "parent": None, "inputs": {}, "custom": False}
    rows = [stack]
    for resource in resources:
        rows.append({"parent": stack["urn"], "inputs": {}, "custom": True, **resource,
                     "urn": f"urn:pulumi:t::p::{resource['type']}::{resource['name']}"})
    return Plan.from_dict({"resources": rows, "outputs": outputs or {}})


# -- the JSON block ------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cost_block_has_the_contract_schema(plans, env):
    cost = json.loads(plans[env].to_json())["cost"]
    assert list(cost)[: len(COST_KEYS)] == COST_KEYS
    assert cost["currency"] == "USD" and cost["region"] == "us-east-1" and cost["hours_per_month"] == 730
    urns = {r["urn"] for r in plans[env].resources}
    for resource in cost["resources"]:
        assert {"urn", "type", "monthly", "components"} <= set(resource)
        assert resource["urn"] in urns and resource["components"]
        for component in resource["components"]:
            assert COMPONENT_KEYS <= set(component) and component["kind"] in ("baseline", "usage")
            # monthly is quantity x unit price, rounded to cents
            assert abs(component["quantity"] * component["unit_price"] - component["monthly"]) <= 0.0051
    # Every type the shipped environments create is priced or known to be free.
    assert cost["unpriced"] == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_totals_are_the_sums_of_the_resources(plans, env):
    cost = plans[env].cost
    for resource in cost["resources"]:
        parts = resource["components"]
        assert cents(resource["monthly"]) == sum(cents(c["monthly"]) for c in parts)
        assert cents(resource["baseline"]) == sum(cents(c["monthly"]) for c in parts if c["kind"] == "baseline")
        assert cents(resource["usage"]) == sum(cents(c["monthly"]) for c in parts if c["kind"] == "usage")
    assert cents(cost["baseline"]) == sum(cents(r["baseline"]) for r in cost["resources"])
    assert cents(cost["usage"]) == sum(cents(r["usage"]) for r in cost["resources"])
    assert cents(cost["monthly_total"]) == cents(cost["baseline"]) + cents(cost["usage"])
    assert cost["monthly_total"] > 0


def test_agents_and_teams_sum_consistently(dev):
    cost = dev.cost
    assert {name: figures["team"] for name, figures in cost["by_agent"].items()} == DEV_AGENTS
    assert list(cost["by_agent"]) == sorted(DEV_AGENTS)
    for name, figures in cost["by_agent"].items():
        mine = [r for r in cost["resources"] if r["agent"] == name]
        assert mine, f"agent {name} has priced resources"
        for key in ("monthly", "baseline", "usage"):
            assert cents(figures[key]) == sum(cents(r[key]) for r in mine)
        # Its resources are the ones below its AgentService component.
        assert all("maas:agent:AgentService$" in r["urn"] and f"-agent-{name}" in r["urn"] for r in mine)
    assert cost["by_team"]["insights"]["agents"] == ["reports", "research"]
    for team, figures in cost["by_team"].items():
        for key in ("monthly", "baseline", "usage", "allocated"):
            assert cents(figures[key]) == sum(cents(cost["by_agent"][a][key]) for a in figures["agents"])
    # Agents and the shared platform make up the total: nothing counted twice.
    agents_total = sum(cents(figures["monthly"]) for figures in cost["by_agent"].values())
    assert agents_total + cents(cost["shared"]["monthly"]) == cents(cost["monthly_total"])


def test_allocated_node_share_is_reported_but_never_added(dev):
    """An agent's allocation is its pods' share of the nodes the packing put them on, by the larger
    of CPU and memory, all month (cost/capacity.py)."""
    cost = dev.cost
    agents = cost["by_agent"]
    types = {t.name: t for t in catalog(load_prices("us-east-1"))}
    requests = {f"Deployment {r.name}": requests_of(
        r.inputs["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"])
        for r in dev.of_type("kubernetes:apps/v1:Deployment")}
    expected = 0.0
    for target in cost["capacity"]["targets"]:
        for node in target["nodes"]:
            assert node["count"] == 1 or len(target["nodes"]) == 1  # one node shape per target in dev
        for pod, count in target["pods"].items():
            if "-agent-triage-" in pod:
                node = target["nodes"][0]
                cpu, memory, _ = types[node["instance_type"]].allocatable()
                expected += count * max(requests[pod][0] / cpu, requests[pod][1] / memory) * node["hourly"] * 730
    assert expected > 0 and agents["triage"]["allocated"] == pytest.approx(expected, abs=0.01)
    # research scales to zero: its workload adds one pod's share for agent.active_hours_per_month only.
    assert 0 < agents["research"]["allocated"] < agents["triage"]["allocated"]
    # Allocations are inside the nodes' lines, never added again.
    assert all(cents(a["monthly"]) == cents(a["baseline"]) + cents(a["usage"]) for a in agents.values())
    nodes = sum(cents(c["monthly"]) for r in cost["resources"] for c in r["components"] if c["name"].startswith("nodes: "))
    assert sum(cents(a["allocated"]) for a in agents.values()) < nodes


def test_the_load_balancer_controller_carries_one_alb_per_ingress_group(dev):
    controller = next(r for r in dev.cost["resources"] if r["urn"].endswith("aws-load-balancer-controller"))
    names = [c["name"] for c in controller["components"]]
    assert "ALB maas-dev-internal (internal)" in names and "ALB maas-dev-public (internet-facing)" in names
    # Only the internet-facing ALB has public IPv4 addresses, one per AZ.
    addresses = [c for c in controller["components"] if c["price"] == "vpc.public_ipv4.hour"]
    assert [c["quantity"] for c in addresses] == [2 * 730]
    # The Ingresses themselves add nothing: their ALBs are the platform's.
    assert not [r for r in dev.cost["resources"] if r["type"] == "kubernetes:networking.k8s.io/v1:Ingress"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_pod_of_a_shipped_environment_has_a_node(plans, env):
    """The defaults leave no controller Pending: node groups have pod slots and pools have room for the rest."""
    capacity = plans[env].cost["capacity"]
    assert capacity["pending"] == [] and capacity["unknown"] == []
    placed = {pod for target in capacity["targets"] for pod in target["pods"]}
    assert {"chart karpenter: controller", "add-on coredns: coredns", "chart keda: operator",
            "chart kube-prometheus-stack: prometheus"} <= placed


# -- the targets of docs/cost.md -------------------------------------------------------------

def test_dev_baseline_is_reported_with_what_drives_it(dev):
    cost = dev.cost
    by_type: dict[str, Decimal] = {}
    for resource in cost["resources"]:
        by_type[resource["type"]] = by_type.get(resource["type"], Decimal(0)) + cents(resource["baseline"])
    drivers = (by_type["aws:eks/nodeGroup:NodeGroup"] + by_type.get("kubernetes:karpenter.sh/v1:NodePool", Decimal(0))
               + by_type["aws:eks/cluster:Cluster"]
               + by_type["kubernetes:helm.sh/v3:Release"] + by_type["aws:ec2/natGateway:NatGateway"]
               + by_type["aws:ec2/eip:Eip"])
    print(f"dev baseline: ${cost['baseline']}/month; nodes, EKS, ALBs, NAT: ${drivers}")
    # Of the platform at rest: the per-agent items priced apart (hard stops, signing keys) aside.
    assert drivers / (cents(cost["baseline"]) - hard_stops(cost) - signing_keys(cost)) > Decimal("0.9")


def hard_stops(cost: dict, agent: str | None = None) -> Decimal:
    """What the agents' Bedrock hard stops cost at rest: AWS bills each action-enabled budget per day
    past the payer account's first 62 budget-days a month, which one stack cannot see and the estimate
    does not share out (cost/rules.py budget_action)."""
    return sum((cents(c["monthly"]) for r in cost["resources"] if agent in (None, r["agent"])
                for c in r["components"] if c.get("price") == "budgets.action_enabled.day"), Decimal(0))


def signing_keys(cost: dict) -> Decimal:
    """The agents' image-signing keys at rest: $1 a month each, one per agent (delivery), the price of
    who may sign its images, which grows with the agents, not with the platform."""
    return sum((cents(c["monthly"]) for r in cost["resources"] if r["type"] == "aws:kms/key:Key"
                for c in r["components"] if c.get("kind") == "baseline" and "ECC_NIST_P256" in c["name"]), Decimal(0))


def test_dev_baseline_is_under_200_dollars(dev):
    """Three agents, the observability stack, the add-ons and the LLM gateway at rest, nodes packed
    as Karpenter would; plus, priced apart, $3.04 a month per Bedrock hard stop and $1 per agent's
    image-signing key (docs/cost.md)."""
    cost = dev.cost
    stops, keys = hard_stops(cost), signing_keys(cost)
    assert stops == Decimal("3.04"), "research's Bedrock budget action: $0.10 a day, 30.4 days"
    assert keys == Decimal(len(dev.outputs["agents"])), "one signing key per agent, $1 a month each"
    assert cents(cost["baseline"]) - stops - keys <= 200, \
        f"dev baseline ${cost['baseline']}/month, hard stops ${stops}, signing keys ${keys}"
    # Spot is where the saving is: every dev node is Spot, at its recorded price.
    assert cost["capacity"]["nodes_monthly"]["on_demand"] == 0 and cost["capacity"]["nodes_monthly"]["spot"] > 0


def test_an_idle_dev_agent_costs_under_5_dollars(dev):
    """research scales to zero and its Aurora Serverless v2 pauses: idle, it pays only what exists."""
    research = next(r for r in dev.cost["resources"] if r["type"] == "aws:rds/clusterInstance:ClusterInstance")
    assert research["agent"] == "research" and research["baseline"] == 0  # paused database: no ACU-hours
    # What exists of it, and apart the price of its Bedrock hard stop (an action-enabled budget).
    assert cents(dev.cost["by_agent"]["research"]["baseline"]) - hard_stops(dev.cost, "research") < 5
    idle = estimate(dev, environment="dev", usage=zero_usage(usage_document()))
    assert idle["by_agent"]["research"]["monthly"] == idle["by_agent"]["research"]["baseline"]
    assert cents(idle["by_agent"]["research"]["baseline"]) - hard_stops(idle, "research") < 5
    assert idle["usage"] == 0 and idle["baseline"] == dev.cost["baseline"]


# -- unpriced is never zero -------------------------------------------------------------------

def test_a_type_neither_priced_nor_free_is_listed_unpriced():
    plan = synthetic(
        {"type": "aws:kms/key:Key", "name": "key"},
        {"type": "aws:iam/role:Role", "name": "role"},
        {"type": "aws:fancy/thing:Thing", "name": "thing"},
    )
    cost = estimate(plan, region="us-east-1", environment="dev")
    assert cost["unpriced"] == [{
        "type": "aws:fancy/thing:Thing", "reason": "no pricing rule, and not known to be free", "count": 1,
        "urns": ["urn:pulumi:t::p::aws:fancy/thing:Thing::thing"],
    }]
    assert [r["type"] for r in cost["resources"]] == ["aws:kms/key:Key"]  # the role is free, the thing unpriced
    assert cost["baseline"] == 1.0


def test_a_missing_price_lists_the_resource_unpriced_with_the_key():
    plan = synthetic({"type": "aws:eks/nodeGroup:NodeGroup", "name": "big",
                      "inputs": {"instanceTypes": ["x9.mega"], "scalingConfig": {"desiredSize": 2}}})
    cost = estimate(plan, region="us-east-1", environment="dev")
    assert cost["resources"] == [] and cost["monthly_total"] == 0
    (entry,) = cost["unpriced"]
    assert entry["type"] == "aws:eks/nodeGroup:NodeGroup" and "ec2.instance.x9.mega" in entry["reason"]


def test_a_plan_read_back_from_its_json_prices_the_same(dev):
    again = Plan.from_dict(json.loads(dev.to_json()))
    assert estimate(again, environment="dev") == dev.cost


def test_another_region_prices_from_its_own_table(dev):
    ireland = estimate(dev, region="eu-west-1", environment="dev")
    assert ireland["region"] == "eu-west-1" and ireland["baseline"] > dev.cost["baseline"]
    # eu-west-1 records no DynamoDB request price nor a Graviton instance price: those resources are
    # unpriced there, with the key they lack, never free.
    unpriced = {u["type"]: u["reason"] for u in ireland["unpriced"]}
    assert "aws:dynamodb/table:Table" in unpriced
    assert all(reason.startswith("no price '") for reason in unpriced.values())
    nowhere = estimate(dev, region="ap-south-2", environment="dev")
    assert nowhere["monthly_total"] == 0 and nowhere["resources"] == []
    assert sum(u["count"] for u in nowhere["unpriced"]) == len(dev.cost["resources"])


def test_free_and_priced_types_do_not_overlap():
    assert not set(FREE) & set(RULES)
    assert all(reason for reason in FREE.values())


# -- usage assumptions ------------------------------------------------------------------------

def test_editing_usage_changes_only_the_usage_part(dev):
    document = usage_document()
    document["defaults"]["network"]["nat_gb_per_month"] *= 10
    document["defaults"]["agent"]["log_gb_per_month"] *= 10
    document["agents"] = {"research": {"postgres": {"active_hours_per_month": 300}}}
    edited = estimate(dev, environment="dev", usage=document)
    base = dev.cost
    assert edited["baseline"] == base["baseline"] and edited["usage"] > base["usage"]
    for name, figures in edited["by_agent"].items():
        assert figures["baseline"] == base["by_agent"][name]["baseline"]
        assert figures["usage"] > base["by_agent"][name]["usage"]
    # Only research's database got more hours.
    database = lambda cost: next(r for r in cost["resources"] if r["type"] == "aws:rds/clusterInstance:ClusterInstance")  # noqa: E731
    assert database(edited)["usage"] == pytest.approx(300 * 0.12) and database(base)["usage"] == pytest.approx(60 * 0.12)


def test_another_usage_file_states_only_what_it_changes(tmp_path):
    path = tmp_path / "usage.yaml"
    path.write_text("environments:\n  dev:\n    network: {nat_gb_per_month: 500}\n")
    dev, prod = load_usage(path, "dev"), load_usage(path, "prod")
    assert dev.get("network", "nat_gb_per_month") == 500
    assert dev.get("network", "flow_log_gb_per_month") == usage_document()["defaults"]["network"]["flow_log_gb_per_month"]
    assert prod.get("network", "nat_gb_per_month") == usage_document()["environments"]["prod"]["network"]["nat_gb_per_month"]


def test_environment_overrides_apply_to_their_environment_only():
    dev, prod = load_usage(environment="dev"), load_usage(environment="prod")
    assert dev.get("network", "nat_gb_per_month") == usage_document()["defaults"]["network"]["nat_gb_per_month"]
    assert prod.get("network", "nat_gb_per_month") > dev.get("network", "nat_gb_per_month")
    assert prod.agent("any")["postgres"]["active_hours_per_month"] == 730


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["defaults"]["network"].update(nat_gb=1), r"defaults\.network\.nat_gb: unknown assumption"),
    (lambda d: d["defaults"]["agent"]["s3"].update(storage_gb="5"), r"defaults\.agent\.s3\.storage_gb: expected a number"),
    (lambda d: d["environments"]["dev"].update(network={"nat_gb_per_month": -1}),
     r"environments\.dev\.network\.nat_gb_per_month: expected a number >= 0"),
    (lambda d: d.update(agents={"triage": {"dynamodb": {"writes": 3}}}), r"agents\.triage\.dynamodb\.writes: unknown"),
    (lambda d: d.update(extra={}), r"extra: unknown section"),
])
def test_usage_file_mistakes_name_the_key(edit, message):
    document = usage_document()
    edit(document)
    with pytest.raises(ConfigError, match=message):
        load_usage(document, "dev")


def test_every_shipped_assumption_is_documented():
    """Each default assumption has a comment on its line or above its block of assumptions."""
    lines = USAGE_FILE.read_text().splitlines()
    assumption = re.compile(r'^\s+("[^"]+"|[a-z_]+): [\d.]+\s*(#.*)?$')
    start, end = lines.index("defaults:"), lines.index("environments:")
    checked = 0
    for number in range(start + 1, end):
        if not assumption.match(lines[number]):
            continue
        checked += 1
        above = number - 1
        while assumption.match(lines[above]) and "#" not in lines[above]:
            above -= 1
        assert "#" in lines[number] or lines[above].strip().startswith("#"), lines[number]
    assert checked >= 25


# -- the price table ------------------------------------------------------------------------

def test_every_price_has_a_source_and_a_date():
    document = read_price_file(PRICES_FILE)
    assert document["hours_per_month"] == 730 and "us-east-1" in document["regions"]
    for region, prices in document["regions"].items():
        for key, price in prices.items():
            if key.startswith("ec2.spot."):
                # AWS's Spot price feed (behind https://aws.amazon.com/ec2/spot/pricing/), dated to its fetch day.
                assert price["source"] == "https://website.spot.ec2.aws.a2z.com/spot.json", (region, key)
                assert re.match(r"^\d{4}-\d{2}-\d{2}$", str(price["date"])), (region, key)
                continue
            assert price["source"].startswith("https://aws.amazon.com/"), (region, key)
            assert re.match(r"^\d{4}-\d{2}$", str(price["date"])), (region, key)
            assert price["kind"] in ("baseline", "usage") and price["unit"], (region, key)


def test_list_prices_the_issue_names():
    prices = load_prices("us-east-1")
    expected = {
        "eks.cluster.hour": 0.10, "vpc.nat_gateway.hour": 0.045, "vpc.nat_gateway.gb": 0.045,
        "ec2.instance.t3.large": 0.0832, "ec2.instance.m6i.large": 0.096, "ec2.instance.m6i.xlarge": 0.192,
        "ebs.gp3.gb_month": 0.08, "vpc.interface_endpoint.az_hour": 0.01, "kms.key.month": 1.0,
        "secretsmanager.secret.month": 0.40, "cloudwatch.alarm.standard": 0.10,
        "rds.aurora_serverless_v2.acu_hour": 0.12, "rds.aurora.storage_gb_month": 0.10, "s3.standard.gb_month": 0.023,
        "vpc.public_ipv4.hour": 0.005, "elb.alb.hour": 0.0225,
    }
    assert {key: prices.get(key).value for key in expected} == expected
    assert prices.get("eks.cluster.hour").kind == "baseline" and prices.get("vpc.nat_gateway.gb").kind == "usage"


def test_a_price_without_source_is_refused(tmp_path):
    document = yaml.safe_load(PRICES_FILE.read_text())
    del document["regions"]["us-east-1"]["kms.key.month"]["source"]
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=r"regions\.us-east-1\.kms\.key\.month: missing source"):
        read_price_file(path)


# -- pure helpers ---------------------------------------------------------------------------

def test_volumes_claimed_by_chart_values():
    values = {
        "prometheus": {"prometheusSpec": {"replicas": 2, "storageSpec": {"volumeClaimTemplate": {
            "spec": {"resources": {"requests": {"storage": "100Gi"}}}}}}},
        "grafana": {"persistence": {"enabled": True, "size": "10Gi"}},
        "loki": {"persistence": {"enabled": False, "size": "50Gi"}},
    }
    assert sorted(claimed_volumes(values)) == [
        ("grafana.persistence", 10.0, 1), ("prometheus.prometheusSpec.storageSpec", 100.0, 2),
    ]
    assert gib("1Ti") == 1024 and gib("2147483648") == 2 and round(gib("50G"), 2) == 46.57


def test_estimate_is_deterministic(dev):
    again = estimate(dev, region="us-east-1", environment="dev")
    assert json.dumps(again) == json.dumps(dev.cost)


# -- the CLI -------------------------------------------------------------------------------

def maas(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_cli_prints_the_cost_and_takes_another_usage_file(tmp_path):
    document = usage_document()
    document["defaults"]["network"]["nat_gb_per_month"] = 1000
    usage = tmp_path / "usage.yaml"
    usage.write_text(yaml.safe_dump(document))
    result = maas("plan", "--stack", "dev", "--usage", str(usage), "--json", str(tmp_path / "plan.json"))
    assert result.returncode == 0, result.stderr
    assert "estimated monthly cost" in result.stdout and "agent research" in result.stdout
    assert "unpriced" not in result.stderr
    cost = json.loads((tmp_path / "plan.json").read_text())["cost"]
    nat = next(r for r in cost["resources"] if r["type"] == "aws:ec2/natGateway:NatGateway")
    assert any(c["quantity"] == 1000 for c in nat["components"])


def test_cli_refuses_a_bad_usage_file_with_one_line(tmp_path):
    usage = tmp_path / "usage.yaml"
    document = copy.deepcopy(usage_document())
    document["defaults"]["agent"]["log_gb"] = 3
    usage.write_text(yaml.safe_dump(document))
    result = maas("plan", "--stack", "dev", "--usage", str(usage), "--quiet")
    assert result.returncode == 2
    assert "defaults.agent.log_gb: unknown assumption" in result.stderr and "Traceback" not in result.stderr
    missing = maas("plan", "--stack", "dev", "--usage", str(tmp_path / "nope.yaml"), "--quiet")
    assert missing.returncode == 2 and "file not found" in missing.stderr


# -- delivery: the agents' registries, scans and signing keys ---------------------------------------

TEAM = ROOT / "stacks" / "teams" / "example"
DELIVERY = usage_document()["defaults"]["agent"]["delivery"]


def test_every_type_of_the_team_stack_is_priced_or_free(tmp_path, dev):
    """The example team stack against the dev platform's outputs: its agents' registries and keys
    priced, its Rollouts and policies free, nothing unpriced."""
    outputs = tmp_path / "platform-dev.json"
    outputs.write_text(json.dumps(dev.stack_outputs().values))
    team = plan_project(TEAM, stack="dev", platform_outputs=outputs)
    assert team.cost["unpriced"] == []
    repositories = [r for r in team.cost["resources"] if r["type"] == names.ECR_REPOSITORY]
    assert {r["agent"] for r in repositories} == {"intake", "summarizer"}
    # The registry's scanning configuration is the platform stack's: the team plan assumes it scans.
    for repository in repositories:
        assert {c["price"] for c in repository["components"]} == {
            "ecr.storage.gb_month", "inspector.ecr.initial_scan", "inspector.ecr.rescan"}


def registry_plan(keep_images: int, scanning: dict | None = None, signed: bool = True) -> Plan:
    """One agent repository with the registry's lifecycle policy for ``keep_images`` releases."""
    resources = [
        {"type": names.ECR_REPOSITORY, "name": "repository", "inputs": {"name": "maas-dev/triage"}},
        {"type": names.ECR_LIFECYCLE_POLICY, "name": "lifecycle",
         "inputs": {"repository": "maas-dev/triage", "policy": lifecycle_policy(keep_images)}},
    ]
    if signed:
        resources.append({"type": names.KMS_KEY, "name": "signing-key",
                          "inputs": {"customerMasterKeySpec": "ECC_NIST_P256", "keyUsage": "SIGN_VERIFY"}})
    if scanning is not None:
        resources.append({"type": names.ECR_REGISTRY_SCANNING_CONFIGURATION, "name": "scanning", "inputs": scanning})
    return synthetic(*resources)


ENHANCED = {"scanType": "ENHANCED", "rules": [
    {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "maas-dev/*", "filterType": "WILDCARD"}]},
    {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "maas-dev/*", "filterType": "WILDCARD"}]},
]}


def repository_lines(plan: Plan) -> dict[str, dict]:
    cost = estimate(plan, region="us-east-1", environment="dev")
    assert cost["unpriced"] == []
    (repository,) = [r for r in cost["resources"] if r["type"] == names.ECR_REPOSITORY]
    return {c["price"]: c for c in repository["components"]}


def test_registry_storage_grows_with_keep_images():
    """The lifecycle policy keeps keep_images releases, an image and its signature each: storage is
    keep_images × delivery.image_gb at $0.10 per GB-month; the scans do not depend on it."""
    few, many = repository_lines(registry_plan(10, ENHANCED)), repository_lines(registry_plan(40, ENHANCED))
    assert few["ecr.storage.gb_month"]["quantity"] == pytest.approx(10 * DELIVERY["image_gb"])
    assert many["ecr.storage.gb_month"]["quantity"] == pytest.approx(40 * DELIVERY["image_gb"])
    assert many["ecr.storage.gb_month"]["monthly"] > few["ecr.storage.gb_month"]["monthly"] > 0
    assert few["inspector.ecr.initial_scan"] == many["inspector.ecr.initial_scan"]
    assert few["inspector.ecr.initial_scan"]["quantity"] == DELIVERY["pushes_per_month"]
    assert few["inspector.ecr.rescan"]["quantity"] == DELIVERY["rescans_per_month"]
    # Unsigned releases are one tagged image each.
    unsigned = repository_lines(registry_plan(10, ENHANCED, signed=False))
    assert unsigned["ecr.storage.gb_month"]["quantity"] == pytest.approx(20 * DELIVERY["image_gb"])


def test_registry_without_lifecycle_policy_keeps_a_year_of_pushes():
    plan = synthetic({"type": names.ECR_REPOSITORY, "name": "repository", "inputs": {"name": "maas-dev/triage"}},
                     {"type": names.ECR_REGISTRY_SCANNING_CONFIGURATION, "name": "scanning", "inputs": ENHANCED})
    lines = repository_lines(plan)
    assert lines["ecr.storage.gb_month"]["quantity"] == pytest.approx(
        12 * DELIVERY["pushes_per_month"] * DELIVERY["image_gb"])


@pytest.mark.parametrize("scanning, expected", [
    (ENHANCED, {"inspector.ecr.initial_scan", "inspector.ecr.rescan"}),
    ({"scanType": "ENHANCED", "rules": ENHANCED["rules"][:1]}, {"inspector.ecr.initial_scan"}),
    ({"scanType": "ENHANCED", "rules": [{"scanFrequency": "CONTINUOUS_SCAN",
                                         "repositoryFilters": [{"filter": "other/*", "filterType": "WILDCARD"}]}]}, set()),
    ({"scanType": "BASIC", "rules": []}, set()),
    (None, {"inspector.ecr.initial_scan", "inspector.ecr.rescan"}),  # set by the platform stack: assumed on
])
def test_inspector_scans_follow_the_registry_scanning_configuration(scanning, expected):
    lines = repository_lines(registry_plan(20, scanning))
    assert set(lines) - {"ecr.storage.gb_month"} == expected


def test_signing_keys_are_priced_at_the_asymmetric_request_rate():
    plan = synthetic(
        {"type": names.KMS_KEY, "name": "signing", "inputs": {"customerMasterKeySpec": "ECC_NIST_P256", "keyUsage": "SIGN_VERIFY"}},
        {"type": names.KMS_KEY, "name": "rsa", "inputs": {"keySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}},
        {"type": names.KMS_KEY, "name": "data", "inputs": {}},
        {"type": names.KMS_KEY, "name": "mac", "inputs": {"keySpec": "HMAC_256", "keyUsage": "GENERATE_VERIFY_MAC"}},
    )
    cost = estimate(plan, region="us-east-1", environment="dev")
    lines = {r["urn"].rsplit("::", 1)[1]: r["components"] for r in cost["resources"]}
    assert [c["price"] for c in lines["signing"]] == ["kms.key.month", "kms.asymmetric_requests.10k"]
    assert lines["signing"][1]["quantity"] == DELIVERY["signing_requests_per_month"] / 10_000
    assert lines["signing"][1]["unit_price"] == 0.15 and lines["signing"][0]["monthly"] == 1.0
    assert [c["price"] for c in lines["rsa"]] == ["kms.key.month", "kms.requests.10k"]
    assert lines["data"][1]["quantity"] == usage_document()["defaults"]["kms"]["requests_per_key"] / 10_000
    # HMAC request prices are not in the table: unpriced with the key, never free.
    (mac,) = cost["unpriced"]
    assert mac["type"] == names.KMS_KEY and "kms.hmac_256.requests.10k" in mac["reason"]


def test_inspector_costs_nothing_until_it_scans():
    plan = synthetic({"type": names.INSPECTOR2_ENABLER, "name": "ecr", "inputs": {"resourceTypes": ["ECR"]}},
                     {"type": names.INSPECTOR2_ENABLER, "name": "ec2", "inputs": {"resourceTypes": ["ECR", "EC2"]}})
    cost = estimate(plan, region="us-east-1", environment="dev")
    assert cost["resources"] == []
    (ec2,) = cost["unpriced"]
    assert ec2["urns"][0].endswith("::ec2") and "inspector.ec2" in ec2["reason"]


def test_delivery_list_prices():
    prices = load_prices("us-east-1")
    assert {k: prices.get(k).value for k in (
        "ecr.storage.gb_month", "inspector.ecr.initial_scan", "inspector.ecr.rescan", "kms.asymmetric_requests.10k",
    )} == {"ecr.storage.gb_month": 0.10, "inspector.ecr.initial_scan": 0.09, "inspector.ecr.rescan": 0.01,
           "kms.asymmetric_requests.10k": 0.15}


def test_a_rollout_runs_the_pods_of_the_deployment_it_references():
    """workloadRef: the Deployment (scaled down by the controller) is the template, the Rollout's
    replicas (or its autoscaler's minimum) the count; a Rollout with its own template runs that."""
    template = {"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]}}
    meta = lambda name: {"name": name, "namespace": "triage"}  # noqa: E731
    plan = synthetic(
        {"type": names.K8S_DEPLOYMENT, "name": "deployment",
         "inputs": {"metadata": meta("triage"), "spec": {"replicas": 0, "template": template}}},
        {"type": names.K8S_ROLLOUT, "name": "rollout", "inputs": {"metadata": meta("triage"), "spec": {
            "replicas": 3, "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triage"}}}},
        {"type": names.K8S_ROLLOUT, "name": "own", "inputs": {"metadata": meta("own"), "spec": {
            "replicas": 2, "template": template}}},
    )
    assert {(p.name, p.replicas, p.cpu) for p in plan_pods(plan)} == {
        ("Deployment deployment", 3, 0.25), ("Rollout own", 2, 0.25)}
    scaled = synthetic(*[{"type": r.type, "name": r.name, "inputs": r.inputs} for r in plan.resources if r.custom],
                       {"type": names.K8S_SCALED_OBJECT, "name": "scaler", "inputs": {
                           "metadata": meta("scaler"), "spec": {"minReplicaCount": 0, "scaleTargetRef": {
                               "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "triage"}}}})
    assert {(p.name, p.replicas) for p in plan_pods(scaled)} == {("Deployment deployment", 0), ("Rollout own", 2)}
