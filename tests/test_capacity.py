"""The estimate's packing: the plan's pods on its node groups and node pools, as Karpenter would."""

from __future__ import annotations


import pytest
import yaml

from maas_platform import names
from maas_platform.config.defaults import GENERAL_FAMILIES, SMALL_FAMILIES
from maas_platform.config.loader import ConfigError
from maas_platform.cost import PRICES_FILE, estimate, load_prices, read_price_file
from maas_platform.cost.capacity import catalog, kube_reserved_cpu, pack
from maas_platform.cost.pods import WORKLOADS_FILE, plan_pods
from maas_platform.cost.rules import node_group_shape
from maas_platform.cost.context import PlanIndex, ResourceContext
from maas_platform.plan import Plan

TABLE = load_prices("us-east-1")
STACK = "urn:pulumi:t::p::maas:index:Platform::p"


def plan_of(*resources: dict, outputs: dict | None = None) -> Plan:
    rows = [{"urn": STACK, "type": "maas:index:Platform", "name": "p", "parent": None, "inputs": {}, "custom": False}]
    for resource in resources:
        rows.append({"parent": STACK, "custom": True, **resource,
                     "urn": f"urn:pulumi:t::p::{resource['type']}::{resource['name']}"})
    return Plan.from_dict({"resources": rows, "outputs": outputs or {"region": "us-east-1"}})


def node_pool(name: str, *, capacity=("spot", "on-demand"), arch=("amd64", "arm64"), families=("t4g", "t3a", "m7g", "m7i"),
              max_vcpu=4, limits=None, taints=None, weight=None) -> dict:
    requirements = [
        {"key": names.ARCH_LABEL, "operator": "In", "values": list(arch)},
        {"key": names.CAPACITY_TYPE_LABEL, "operator": "In", "values": list(capacity)},
        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": list(families)},
        {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Lt", "values": [str(max_vcpu + 1)]},
    ]
    template = {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "requirements": requirements}
    if taints:
        template["taints"] = taints
    spec = {"template": {"spec": template}, "limits": limits or {"cpu": "64", "memory": "256Gi"}}
    if weight is not None:
        spec["weight"] = weight
    return {"type": names.K8S_NODE_POOL, "name": f"pool-{name}", "inputs": {"metadata": {"name": name}, "spec": spec}}


NODE_CLASS = {"type": names.K8S_EC2_NODE_CLASS, "name": "node-class", "inputs": {
    "metadata": {"name": "default"},
    "spec": {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "rootVolume": True,
                                      "ebs": {"volumeSize": "20Gi", "volumeType": "gp3"}}],
             "detailedMonitoring": False}}}


def deployment(name: str, replicas: int, cpu: str, memory: str, *, selector=None, affinity=None, tolerations=None,
               namespace="apps") -> dict:
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}
    if selector:
        spec["nodeSelector"] = selector
    if affinity:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": affinity}]}}}
    if tolerations:
        spec["tolerations"] = tolerations
    return {"type": names.K8S_DEPLOYMENT, "name": name, "inputs": {
        "metadata": {"name": name, "namespace": namespace}, "spec": {"replicas": replicas, "template": {"spec": spec}}}}


def daemonset(name: str, cpu: str, memory: str, tolerations=None) -> dict:
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}],
            "tolerations": tolerations or [{"operator": "Exists"}]}
    return {"type": names.K8S_DAEMON_SET, "name": name, "inputs": {"metadata": {"name": name}, "spec": {"template": {"spec": spec}}}}


def packed(plan: Plan):
    index = PlanIndex(plan, "us-east-1", "dev")
    return pack(plan, TABLE, lambda group: node_group_shape(group, ResourceContext(group, index, None)))


def nodes_of(packing, pool: str) -> list[tuple[str, str]]:
    target = next(t for t in packing.targets if t.name == pool)
    return sorted((n.shape.type.name, n.shape.capacity) for n in target.nodes)


# -- Karpenter's arithmetic -----------------------------------------------------------------------

def test_kube_reserved_and_allocatable_follow_karpenter():
    # 6 % of the first core + 1 % of the second: 70m on 2 vCPUs; + 0.5 % of cores 3-4: 80m on 4.
    assert kube_reserved_cpu(2) == pytest.approx(0.070)
    assert kube_reserved_cpu(4) == pytest.approx(0.080)
    assert kube_reserved_cpu(8) == pytest.approx(0.090)
    t4g = next(t for t in catalog(TABLE) if t.name == "t4g.medium")
    cpu, memory, pods = t4g.allocatable()
    # 4096 - 64 (Graviton) = 4032 MiB; less ceil(7.5 %) = 303 -> 3729; less 11 x 17 + 255 and 100 evicted -> 3187.
    assert (cpu, pods) == (pytest.approx(1.93), 17)
    assert memory == pytest.approx(3187 / 1024)


def test_the_catalog_covers_every_family_the_default_pools_allow():
    families = {t.family for t in catalog(TABLE)}
    assert set(SMALL_FAMILIES) | set(GENERAL_FAMILIES) <= families
    for family in set(SMALL_FAMILIES) | set(GENERAL_FAMILIES):
        sizes = {t.vcpu for t in catalog(TABLE) if t.family == family}
        assert {2, 4, 8} <= sizes, f"{family} lacks a size up to the pools' largest node"


def test_the_catalog_records_its_sources_and_every_type_is_priced():
    document = yaml.safe_load(PRICES_FILE.read_text())
    for name, spec in document["instance_specs"].items():
        assert {"vcpu", "memory_gib", "arch", "max_pods"} <= set(spec), name
        assert spec["arch"] in ("amd64", "arm64")
        price = document["regions"]["us-east-1"][f"ec2.instance.{name}"]
        assert price["source"].startswith("https://") and price["date"]
    assert "zz_generated.vpclimits.go" in PRICES_FILE.read_text()  # where max_pods comes from


def test_the_spot_assumption_has_a_source_and_a_date(tmp_path):
    spot = TABLE.spot
    assert spot is not None and spot.source.startswith("https://") and spot.date and 0 <= spot.discount < 1
    document = yaml.safe_load(PRICES_FILE.read_text())
    del document["spot"]["us-east-1"]["source"]
    broken = tmp_path / "prices.yaml"
    broken.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match="spot.us-east-1: missing source"):
        read_price_file(broken)


# -- pods of the plan --------------------------------------------------------------------------------

def test_every_pinned_chart_has_its_pods_recorded():
    lock = yaml.safe_load((PRICES_FILE.parents[1] / "components" / "charts.lock.yaml").read_text())
    table = yaml.safe_load(WORKLOADS_FILE.read_text())
    for entry in lock["charts"]:
        recorded = table["charts"].get(entry["chart"])
        assert recorded, f"chart {entry['chart']} has no entry in cost/workloads.yaml"
        assert str(recorded["version"]) == str(entry["version"]), f"{entry['chart']}: the entry was read at another version"
        assert "read 2026" in recorded["where"] or "2026-12-02" in recorded["where"]


def test_chart_values_merge_over_the_chart_defaults():
    release = {"type": names.HELM_RELEASE, "name": "keda", "inputs": {
        "chart": "keda", "values": {"resources": {"operator": {"requests": {"cpu": "250m", "memory": "128Mi"}}}}}}
    pods = {p.name: p for p in plan_pods(plan_of(release))}
    assert pods["chart keda: operator"].cpu == pytest.approx(0.25)
    # webhooks keep the chart's default requests (100m, 100Mi): set nowhere in our values.
    assert pods["chart keda: admission-webhooks"].cpu == pytest.approx(0.1)
    assert pods["chart keda: admission-webhooks"].memory == pytest.approx(100 / 1024)


def test_a_chart_or_add_on_not_in_the_table_is_reported_never_zero():
    plan = plan_of({"type": names.HELM_RELEASE, "name": "x", "inputs": {"chart": "mystery", "values": {}}},
                   {"type": names.EKS_ADDON, "name": "a", "inputs": {"addonName": "amazon-cloudwatch-observability"}},
                   node_pool("general"), NODE_CLASS)
    cost = estimate(plan, environment="dev")
    reasons = {u["pod"]: u["reason"] for u in cost["capacity"]["unknown"]}
    assert "chart 'mystery' is not in cost/workloads.yaml" in reasons["chart mystery"]
    assert "add-on amazon-cloudwatch-observability" in reasons


def test_an_agent_scaled_to_zero_runs_no_pod_at_rest():
    scaled = {"type": names.K8S_SCALED_OBJECT, "name": "so", "inputs": {
        "metadata": {"name": "so", "namespace": "apps"}, "spec": {"scaleTargetRef": {"name": "agent"}, "minReplicaCount": 0}}}
    pods = plan_pods(plan_of(deployment("agent", 2, "250m", "512Mi"), scaled))
    assert [p.replicas for p in pods] == [0]


# -- packing ------------------------------------------------------------------------------------------

def test_pods_pack_onto_the_cheapest_fitting_type_spot_first():
    plan = plan_of(node_pool("general"), NODE_CLASS, deployment("web", 3, "500m", "1Gi"))
    packing = packed(plan)
    # 1.5 vCPU / 3 GiB: one t4g.medium (1.93 vCPU, 3.1 GiB allocatable), the cheapest type, on Spot.
    assert nodes_of(packing, "general") == [("t4g.medium", "spot")]
    assert packing.pending == []


def test_architecture_splits_the_nodes():
    amd = [{"key": names.ARCH_LABEL, "operator": "In", "values": ["amd64"]}]
    plan = plan_of(node_pool("general"), NODE_CLASS,
                   deployment("x86", 1, "500m", "1Gi", affinity=amd),
                   deployment("graviton", 1, "500m", "1Gi", selector={names.ARCH_LABEL: "arm64"}))
    # The cheapest Spot type of each architecture (recorded prices: m7g.medium 0.0123, t3a.medium 0.0162).
    assert nodes_of(packed(plan), "general") == [("m7g.medium", "spot"), ("t3a.medium", "spot")]


def test_a_pod_that_requires_on_demand_gets_an_on_demand_node():
    on_demand = [{"key": names.CAPACITY_TYPE_LABEL, "operator": "In", "values": ["on-demand"]}]
    plan = plan_of(node_pool("general"), NODE_CLASS, deployment("critical", 1, "250m", "512Mi", affinity=on_demand),
                   deployment("batch", 1, "250m", "512Mi"))
    assert sorted(nodes_of(packed(plan), "general")) == [("m7g.medium", "spot"), ("t4g.medium", "on-demand")]
    lines = [c["name"] for r in estimate(plan, environment="dev")["resources"] if r["type"] == names.K8S_NODE_POOL
             for c in r["components"]]
    # Spot and On-Demand nodes are separate lines.
    assert any(" spot " in n for n in lines) and any(n.endswith("on-demand") for n in lines)


def test_taints_keep_pods_off_pools_they_do_not_tolerate():
    dedicated = [{"key": names.DEDICATED_TAINT_KEY, "value": names.DEDICATED_TO_AGENTS, "effect": "NoSchedule"}]
    toleration = [{"key": names.DEDICATED_TAINT_KEY, "operator": "Equal", "value": names.DEDICATED_TO_AGENTS,
                   "effect": "NoSchedule"}]
    plan = plan_of(node_pool("agents", taints=dedicated), NODE_CLASS,
                   deployment("agent", 1, "250m", "512Mi", tolerations=toleration),
                   deployment("prometheus", 1, "500m", "2Gi"))
    packing = packed(plan)
    assert nodes_of(packing, "agents") == [("m7g.medium", "spot")]
    assert [p["pod"] for p in packing.pending] == ["Deployment prometheus"]


def test_pods_beyond_a_pools_limits_are_pending_loudly():
    plan = plan_of(node_pool("small", limits={"cpu": "2", "memory": "8Gi"}), NODE_CLASS,
                   deployment("web", 6, "500m", "1Gi"))
    packing = packed(plan)
    assert len(nodes_of(packing, "small")) == 1
    assert sum(p["replicas"] for p in packing.pending) == 3
    assert "at its limits" in packing.pending[0]["reason"]
    assert estimate(plan, environment="dev")["capacity"]["pending"]


def test_daemonset_requests_come_off_every_node():
    plan = plan_of(node_pool("general"), NODE_CLASS, deployment("web", 1, "1", "1Gi"))
    assert nodes_of(packed(plan), "general") == [("t4g.medium", "spot")]
    heavy = plan_of(node_pool("general"), NODE_CLASS, deployment("web", 1, "1", "1Gi"), daemonset("agent", "1", "256Mi"))
    # 1 vCPU of pods plus 1 vCPU of DaemonSet no longer fit a 2-vCPU type's 1.93 allocatable.
    assert nodes_of(packed(heavy), "general") == [("t4g.xlarge", "spot")]


def test_a_higher_weight_pool_wins():
    plan = plan_of(node_pool("cheap"), node_pool("preferred", families=("m7g",), weight=50), NODE_CLASS,
                   deployment("web", 1, "250m", "512Mi"))
    packing = packed(plan)
    assert nodes_of(packing, "preferred") == [("m7g.medium", "spot")] and nodes_of(packing, "cheap") == []


def test_system_pods_go_to_the_node_group_that_they_select_and_tolerate():
    group = {"type": names.EKS_NODE_GROUP, "name": "system", "inputs": {
        "nodeGroupName": "system", "instanceTypes": ["t4g.medium"], "scalingConfig": {"desiredSize": 1, "minSize": 1},
        "labels": {names.NODE_GROUP_LABEL: "system"},
        "taints": [{"key": names.SYSTEM_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]}}
    system = [{"key": names.SYSTEM_TAINT_KEY, "operator": "Exists"}]
    plan = plan_of(group, node_pool("general"), NODE_CLASS,
                   deployment("controller", 1, "100m", "256Mi", selector={names.NODE_GROUP_LABEL: "system"}, tolerations=system),
                   deployment("web", 1, "100m", "256Mi"), daemonset("logs", "50m", "64Mi"))
    packing = packed(plan)
    system_group = next(t for t in packing.targets if t.name == "system")
    assert [pod.name for node in system_group.nodes for pod, _ in node.placed] == ["Deployment controller"]
    assert nodes_of(packing, "general") == [("m7g.medium", "spot")]
    # The DaemonSet runs on both nodes: its requests come off each.
    assert system_group.nodes[0].shapes[0].cpu == pytest.approx(1.93 - 0.05)


def test_the_cost_block_states_its_node_count_and_why():
    plan = plan_of(node_pool("general"), NODE_CLASS, deployment("web", 3, "500m", "1Gi"))
    capacity = estimate(plan, environment="dev")["capacity"]
    assert capacity["node_count"] == 1 and "node-pool node" in capacity["why"]
    target = capacity["targets"][0]
    assert target["nodes"] == [{"instance_type": "t4g.medium", "capacity_type": "spot", "count": 1,
                                "hourly": pytest.approx(TABLE.get("ec2.spot.t4g.medium").value)}]
    assert target["reason"].startswith("3 pods need 1.50 vCPU / 3.00 GiB: 1 × t4g.medium spot")


def test_many_agents_pack_onto_the_largest_types_allowed():
    """300 pods of 250m / 512Mi: 75 vCPU of requests fill 8-vCPU nodes, not hundreds of small ones."""
    agents = [deployment(f"agent-{i}", 2, "250m", "512Mi") for i in range(150)]
    plan = plan_of(node_pool("general", max_vcpu=8, limits={"cpu": "256", "memory": "1024Gi"}), NODE_CLASS, *agents)
    packing = packed(plan)
    assert not packing.pending
    nodes = nodes_of(packing, "general")
    assert 10 <= len(nodes) <= 20, nodes


def test_spot_nodes_without_a_recorded_price_take_the_fallback_discount_on_their_own_lines(tmp_path):
    document = yaml.safe_load(PRICES_FILE.read_text())
    document["spot"]["us-east-1"]["discount"] = 0.5
    del document["regions"]["us-east-1"]["ec2.spot.t4g.medium"]
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump(document))
    group = {"type": names.EKS_NODE_GROUP, "name": "spot-group", "inputs": {
        "nodeGroupName": "spot-group", "instanceTypes": ["t4g.medium"], "capacityType": "SPOT",
        "scalingConfig": {"desiredSize": 1},
        "taints": [{"key": names.SYSTEM_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]}}
    plan = plan_of(group, node_pool("general", arch=("arm64",), families=("t4g",)), NODE_CLASS,
                   deployment("web", 1, "1500m", "1Gi"))
    cost = estimate(plan, environment="dev", prices=prices)
    lines = {r["type"]: c for r in cost["resources"] for c in r["components"] if c["name"].startswith("nodes: ")}
    assert lines[names.EKS_NODE_GROUP]["name"] == "nodes: 1 × t4g.medium spot (no recorded Spot price: on-demand less 50%)"
    assert lines[names.K8S_NODE_POOL]["name"] == "nodes: 1 × t4g.medium spot (no recorded Spot price: on-demand less 50%)"
    assert lines[names.EKS_NODE_GROUP]["unit_price"] == lines[names.K8S_NODE_POOL]["unit_price"] == 0.0168
    assert cost["capacity"]["nodes_monthly"] == {"on_demand": 0.0, "spot": 2 * round(0.0168 * 730, 2)}


# -- Spot prices ---------------------------------------------------------------------------------------

SPOT_FEED = "https://website.spot.ec2.aws.a2z.com/spot.json"


def test_spot_nodes_are_priced_at_the_recorded_spot_price_of_their_type():
    recorded = TABLE.get("ec2.spot.t4g.medium")
    assert (recorded.value, recorded.date, recorded.source) == (0.0158, "2026-08-06", SPOT_FEED)
    plan = plan_of(node_pool("general"), NODE_CLASS, deployment("web", 3, "500m", "1Gi"))
    cost = estimate(plan, environment="dev")
    lines = [c for r in cost["resources"] for c in r["components"] if c["name"].startswith("nodes: ")]
    assert [(c["name"], c["unit_price"]) for c in lines] == [
        ("nodes: 1 × t4g.medium spot (Spot price of 2026-08-06)", 0.0158)]
    assert cost["capacity"]["nodes_monthly"] == {"on_demand": 0.0, "spot": round(0.0158 * 730, 2)}
    assumption = cost["capacity"]["spot_assumption"]
    assert assumption["recorded_prices"]["sources"] == [SPOT_FEED]
    assert assumption["recorded_prices"]["dates"] == ["2026-08-06"]
    assert "optimistic" in assumption["basis"] and assumption["discount"] == 0.0


def test_a_recorded_spot_price_above_on_demand_is_capped_at_on_demand(tmp_path):
    document = yaml.safe_load(PRICES_FILE.read_text())
    document["regions"]["us-east-1"]["ec2.spot.t4g.medium"]["value"] = 0.5
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump(document))
    table = load_prices("us-east-1", prices)
    assert table.spot_hourly("t4g.medium", 0.0336) == (
        0.0336, "Spot price of 2026-08-06 above on-demand: capped at on-demand")
    plan = plan_of(node_pool("general", arch=("arm64",), families=("t4g",)), NODE_CLASS,
                   deployment("web", 1, "500m", "1Gi"))
    index = PlanIndex(plan, "us-east-1", "dev")
    packing = pack(plan, table, lambda group: node_group_shape(group, ResourceContext(group, index, None)))
    pool = next(t for t in packing.targets if t.name == "general")
    assert {s.type.name: s.hourly for s in pool.shapes if s.capacity == "spot"}["t4g.medium"] == 0.0336
    # Capped at on-demand, t4g.medium is no longer the cheapest: t4g.large at its recorded 0.0229 is.
    assert [(n.shape.type.name, n.shape.capacity, n.shape.hourly) for n in pool.nodes] == [("t4g.large", "spot", 0.0229)]


def test_every_catalog_type_in_us_east_1_has_a_spot_price_or_is_listed_as_not_offered():
    document = read_price_file(PRICES_FILE)
    region = document["regions"]["us-east-1"]
    not_offered = set(document["spot"]["us-east-1"].get("not_offered") or [])
    for name in document["instance_specs"]:
        assert f"ec2.spot.{name}" in region or name in not_offered, name
    for key, price in region.items():
        if key.startswith("ec2.spot."):
            assert key.removeprefix("ec2.spot.") in document["instance_specs"], key
            assert price["source"] == SPOT_FEED and price["date"] == "2026-08-06" and price["unit"] == "instance-hour"
            assert "spotinfo" in price["note"] and 0 < price["value"] <= region[key.replace("ec2.spot.", "ec2.instance.")]["value"]


def test_spot_price_entries_are_validated(tmp_path):
    document = yaml.safe_load(PRICES_FILE.read_text())
    document["regions"]["us-east-1"]["ec2.spot.t4g.medium"]["unit"] = "hour"
    broken = tmp_path / "prices.yaml"
    broken.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match="regions.us-east-1.ec2.spot.t4g.medium.unit: expected instance-hour"):
        read_price_file(broken)
    document = yaml.safe_load(PRICES_FILE.read_text())
    document["spot"]["us-east-1"]["not_offered"] = ["t4g.medium"]
    broken.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match="not_offered: t4g.medium also has a recorded ec2.spot price"):
        read_price_file(broken)
    del document["regions"]["us-east-1"]["ec2.spot.t4g.medium"]["date"]
    document["spot"]["us-east-1"]["not_offered"] = []
    broken.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match="ec2.spot.t4g.medium: missing date"):
        read_price_file(broken)
