"""Node pools as config (maas:cluster.node_pools, node_class), the NodePools component, agents'
pod scheduling and the check that every agent's pods fit a pool, on the platform and in team stacks."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from conftest import ROOT
from maas_platform import names
from maas_platform.components.agent import check_agent
from maas_platform.components.base import AccountContext
from maas_platform.components.contract import NodePoolOutput, PlatformOutputs, PlatformRefs
from maas_platform.components.nodepools import (
    NodePoolsArgs, agent_fit_problem, node_class_spec, node_pool_spec, node_tags, on_demand_only, pod_scheduling,
)
from maas_platform.config import ConfigError, parse_platform_config
from maas_platform.config.agents import AgentSpec, with_environment_replicas
from maas_platform.config.defaults import tier
from maas_platform.config.nodepools import (
    BusinessHours, NodeClassConfig, NodePoolConfig, cron_problem, fit_problem, node_allocatable,
)
from test_agents import agent_resources, k8s_kind
from test_config import assert_one_line_error, build, config_error, maas_plan, put, write_stack

sys.path.insert(0, str(ROOT / "tests"))
import crd_models  # noqa: E402

KEY = "arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def pool(**overrides: Any) -> dict[str, Any]:
    base = {"name": "general", "capacity_types": ["spot", "on-demand"], "architectures": ["arm64", "amd64"],
            "instance_families": ["t4g", "m7g", "m7i"], "max_vcpu": 4, "max_memory_gib": 16,
            "limits": {"cpu": 16, "memory_gib": 64}}
    return {**base, **overrides}


def agent(**overrides: Any) -> dict[str, Any]:
    base = {"name": "triage", "team": "support", "cost_center": "cc-1", "image": "ghcr.io/acme/triage:1.0.0",
            "storage": "none"}
    return {**base, **overrides}


def args(node_class: NodeClassConfig, pools: list[NodePoolConfig], **overrides: Any) -> NodePoolsArgs:
    return NodePoolsArgs(**{
        "node_role_name": "maas-dev-karpenter-node", "volumes_key_arn": KEY,
        "instance_tags": {"environment": "dev", "team": "platform"}, "discovery": "maas-dev",
        "node_class": node_class, "pools": pools, **overrides,
    })


# -- defaults per environment -------------------------------------------------------------------


def test_node_groups_default_to_small_system_groups_one_node_per_az_in_prod():
    groups = {env: parse_platform_config(build(env)).cluster.node_groups for env in ("dev", "staging", "prod")}
    shape = {env: [(g.instance_types, g.min_size, g.desired_size, g.max_size, g.disk_size_gib) for g in found]
             for env, found in groups.items()}
    assert shape == {
        "dev": [(["t4g.medium"], 1, 1, 2, 20)],
        "staging": [(["t4g.medium"], 2, 2, 3, 20)],
        "prod": [(["m7g.large"], 3, 3, 6, 40)],
    }


def test_node_pools_default_per_environment():
    dev, staging, prod = (parse_platform_config(build(env)).cluster for env in ("dev", "staging", "prod"))
    (general,) = dev.node_pools
    assert (general.name, general.capacity_types, sorted(general.architectures), general.dedicated_to_agents) == \
        ("general", ["spot", "on-demand"], ["amd64", "arm64"], False)
    assert (general.max_vcpu, general.max_memory_gib, general.limits.cpu, general.limits.memory_gib) == (4, 16, 16, 64)
    assert [p.name for p in staging.node_pools] == ["general"] and not staging.node_pools[0].dedicated_to_agents
    platform, agents = prod.node_pools
    assert (platform.name, platform.capacity_types, platform.dedicated_to_agents) == ("platform", ["on-demand"], False)
    assert (agents.name, sorted(agents.capacity_types), sorted(agents.architectures), agents.dedicated_to_agents) == \
        ("agents", ["on-demand", "spot"], ["amd64", "arm64"], True)
    assert [c.node_class.detailed_monitoring for c in (dev, staging, prod)] == [False, True, True]
    assert {c.node_class.ami_alias for c in (dev, staging, prod)} == {"al2023@latest"}


def test_agents_keep_one_replica_in_dev_two_elsewhere_and_an_explicit_min_wins():
    assert [tier(env).agent_min_replicas for env in ("dev", "staging", "prod")] == [1, 2, 2]
    dev = parse_platform_config(build("dev", put("agents", [agent(), agent(name="kept", replicas={"min": 3})])))
    assert [(a.name, a.replicas.min) for a in dev.agents] == [("triage", 1), ("kept", 3)]
    prod = parse_platform_config(build("prod", put("agents", [agent()])))
    assert prod.agents[0].replicas.min == 2


def test_a_team_agent_gets_its_environments_fewest_replicas_unless_it_states_them():
    spec = AgentSpec.model_validate(agent())
    assert with_environment_replicas(spec, 1).replicas.min == 1
    assert with_environment_replicas(AgentSpec.model_validate(agent(replicas={"min": 2})), 1).replicas.min == 2
    assert with_environment_replicas(AgentSpec.model_validate(agent(replicas={"max": 1})), 1).replicas.min == 1
    with pytest.raises(ValueError, match=r"replicas.max: 1 is below the environment's fewest replicas \(2\)"):
        with_environment_replicas(AgentSpec.model_validate(agent(replicas={"max": 1})), 2)
    with pytest.raises(ConfigError, match="maas:agents.0..replicas.min .agent 'triage'.: 2 must not exceed max .1."):
        parse_platform_config(build("prod", put("agents", [agent(replicas={"max": 1})])))


# -- configuration mistakes: one line naming the key ---------------------------------------------


@pytest.mark.parametrize("pools, expected", [
    ([pool(), pool()], "maas:cluster.node_pools: duplicate name 'general'"),
    ([pool(instance_families=[])], "maas:cluster.node_pools[0].instance_families: List should have at least 1 item"),
    ([pool(instance_families=["m7g.large"])], "maas:cluster.node_pools[0].instance_families[0]: 'm7g.large' is not an EC2 instance family"),
    ([pool(limits={"cpu": 2, "memory_gib": 64})], "maas:cluster.node_pools[0].limits.cpu: 2 is less than one largest node (4 vCPUs)"),
    ([pool(limits={"cpu": 16, "memory_gib": 0})], "maas:cluster.node_pools[0].limits.memory_gib: Input should be greater than 0"),
    ([pool(architectures=["arm64", "arm64"])], "maas:cluster.node_pools[0].architectures: 'arm64' is listed twice"),
    ([pool(budgets=[{"nodes": "1", "schedule": "0 25 * * *", "duration": "8h"}])],
     "maas:cluster.node_pools[0].budgets[0].schedule: '0 25 * * *' has '25' in its hour field, outside 0-23"),
    ([pool(budgets=[{"nodes": "1", "schedule": "0 9 * * mon-fri"}])],
     "maas:cluster.node_pools[0].budgets[0].schedule: a budget's schedule and duration go together"),
    ([pool(budgets=[{"nodes": "1", "schedule": "@daily", "duration": "30s"}])],
     "maas:cluster.node_pools[0].budgets[0].duration: '30s' is not a budget duration"),
    ([pool(budgets=[{"nodes": "110%"}])], "maas:cluster.node_pools[0].budgets[0].nodes: '110%' must be a count"),
    ([pool(business_hours={"start": "17:00", "end": "09:00"})],
     "maas:cluster.node_pools[0].business_hours.end: 09:00 must come after start (17:00)"),
    ([pool(consolidation={"policy": "WhenUnderutilized"})], "maas:cluster.node_pools[0].consolidation.policy: "),
    ([], "maas:cluster.node_pools: List should have at least 1 item"),
], ids=["duplicate", "no-families", "family-with-size", "limit-below-node", "zero-memory", "arch-twice", "cron-hour",
        "schedule-alone", "duration-seconds", "nodes-percent", "hours-reversed", "policy", "none"])
def test_a_bad_node_pool_is_one_line_naming_the_key(pools, expected):
    message = config_error(build("dev", put("cluster.node_pools", pools)))
    assert "\n" not in message and message.startswith(expected), message


@pytest.mark.parametrize("change, expected", [
    (put("agents", [agent(architectures=["arm64", "arm64"])]),
     "maas:agents[0].architectures (agent 'triage'): each architecture may be listed once"),
    (put("agents", [agent(architectures=[])]), "maas:agents[0].architectures (agent 'triage'): List should have at least 1 item"),
    (put("agents", [agent(architectures=["x86"])]), "maas:agents[0].architectures[0] (agent 'triage'): Input should be 'amd64' or 'arm64'"),
    (put("cluster.node_class", {"ami_family": "AL2023", "ami_version": "v1.2.3"}),
     "maas:cluster.node_class.ami_version: 'v1.2.3' is not a AL2023 release"),
    (put("cluster.node_class", {"ami_family": "Ubuntu"}), "maas:cluster.node_class.ami_family: "),
], ids=["arch-twice", "arch-none", "arch-unknown", "ami-version", "ami-family"])
def test_a_bad_agent_architecture_or_node_class_is_one_line_naming_the_key(change, expected):
    message = config_error(build("dev", change))
    assert "\n" not in message and message.startswith(expected), message


def test_cron_schedules_follow_what_karpenter_parses():
    for good in ("0 17 * * mon-thu", "*/15 9-17 * * 1-5", "@daily", "0 0 1 jan,jul ?", "30 8 * * SUN"):
        assert cron_problem(good) is None, good
    for bad in ("0 17 * *", "@sometimes", "0 17 * * 7", "60 * * * *", "0 9-8 * * *", "*/0 * * * *"):
        assert cron_problem(bad), bad


# -- the fit check --------------------------------------------------------------------------------


def test_allocatable_follows_karpenters_reserved_resources():
    # 4 vCPUs: 60m + 10m + 2 x 5m reserved; 16 GiB: less 64 MiB (Graviton), 7.5% VM overhead,
    # kube-reserved 11 x 58 pods + 255 MiB and the 100Mi eviction threshold.
    assert node_allocatable(4, 16) == (4000 - 80, 16384 - 64 - 1224 - (11 * 58 + 255) - 100)
    assert node_allocatable(2, 4)[0] == 2000 - 70
    assert node_allocatable(16, 64)[1] == 65536 - 64 - 4911 - (11 * 234 + 255) - 100


@pytest.mark.parametrize("env, pools, change, expected", [
    ("dev", [pool(architectures=["amd64"])], put("agents", [agent(architectures=["arm64"])]),
     "maas:agents[0].architectures (agent 'triage'): [arm64] — no node pool runs arm64; add arm64 to a pool's "
     "architectures or build the image for amd64"),
    ("prod", [pool(capacity_types=["spot"])], put("agents", [agent(critical=True)]),
     "maas:agents[0].critical (agent 'triage'): true — no node pool of [amd64] offers on-demand capacity"),
    ("dev", [pool()], put("agents", [agent(resources={"requests": {"cpu": "4", "memory": "1Gi"},
                                                     "limits": {"cpu": "4", "memory": "1Gi"}})]),
     "maas:agents[0].resources.requests (agent 'triage'): 4000m CPU and 1024Mi per pod do not fit the largest node"),
    ("dev", [pool()], put("agents", [agent(resources={"requests": {"cpu": "1", "memory": "15Gi"},
                                                     "limits": {"cpu": "1", "memory": "15Gi"}})]),
     "maas:agents[0].resources.requests (agent 'triage'): 1000m CPU and 15360Mi per pod do not fit"),
], ids=["architecture", "critical-without-on-demand", "cpu", "memory"])
def test_an_agent_no_pool_can_run_is_refused_in_one_line(env, pools, change, expected):
    message = config_error(build(env, put("cluster.node_pools", pools), change))
    assert "\n" not in message and message.startswith(expected), message


def test_the_fit_check_passes_what_fits_and_counts_critical_only_in_prod():
    spot_only = [pool(capacity_types=["spot"])]
    parse_platform_config(build("dev", put("cluster.node_pools", spot_only), put("agents", [agent(critical=True)])))
    fits = agent(resources={"requests": {"cpu": "3500m", "memory": "12Gi"}, "limits": {"cpu": "4", "memory": "12Gi"}})
    parse_platform_config(build("dev", put("agents", [fits])))


def test_the_cli_exits_2_with_the_fit_problem_on_one_line(tmp_path):
    path = write_stack(tmp_path / "Pulumi.arm.yaml", "dev", put("cluster.node_pools", [pool(architectures=["amd64"])]),
                       put("agents", [agent(architectures=["arm64"])]))
    assert_one_line_error(maas_plan("--config-file", str(path)),
                          "maas:agents[0].architectures (agent 'triage'): [arm64] — no node pool runs arm64")


def _refs(node_pools: list[NodePoolOutput] | None, environment: str = "dev") -> PlatformRefs:
    return PlatformRefs(
        environment=environment, prefix=f"maas-{environment}",
        account=AccountContext(account_id="111122223333", region="us-east-1"),
        cluster_name="c", cluster_arn="arn", vpc_id="vpc", vpc_cidr="10.0.0.0/16", private_subnet_ids=["s"],
        availability_zones=["a"], cluster_security_group_id="sg", node_pools=node_pools,
    )


def test_a_team_stack_checks_its_agents_against_the_platforms_exported_pools():
    amd64_only = [NodePoolOutput(name="general", architectures=["amd64"], capacity_types=["spot", "on-demand"],
                                 max_vcpu=4, max_memory_gib=16, dedicated=False)]
    arm = AgentSpec.model_validate(agent(name="intake", architectures=["arm64"]))
    with pytest.raises(ConfigError) as error:
        check_agent(arm, _refs(amd64_only))
    assert str(error.value) == ("agent 'intake': architectures: [arm64] — no node pool runs arm64; add arm64 to a "
                                "pool's architectures or build the image for amd64")
    spot = [amd64_only[0].model_copy(update={"capacity_types": ["spot"]})]
    critical = AgentSpec.model_validate(agent(name="intake", critical=True))
    with pytest.raises(ConfigError, match="agent 'intake': critical: true — no node pool"):
        check_agent(critical, _refs(spot, "prod").model_copy(update={"prefix": "maas-prod"}))
    check_agent(AgentSpec.model_validate(agent(name="intake")), _refs(amd64_only))
    # A platform stack that exports no pools (older than them): nothing to check against.
    assert agent_fit_problem(arm, None, "dev") is None
    check_agent(arm, _refs(None))


def test_the_platform_exports_its_pools_and_a_team_stack_reads_them(dev):
    exported = dev.outputs["node_pools"]
    assert exported == [{"name": "general", "architectures": ["arm64", "amd64"], "capacity_types": ["spot", "on-demand"],
                         "max_vcpu": 4, "max_memory_gib": 16, "dedicated": False}]
    parsed = PlatformOutputs.parse(dict(dev.outputs), "acme/maas/dev")
    assert [(p.name, p.max_vcpu) for p in parsed.node_pools] == [("general", 4)]
    # Numbers arrive from the engine as floats; the output model takes them.
    assert NodePoolOutput.model_validate({**exported[0], "max_vcpu": 4.0}).max_vcpu == 4


# -- the rendered objects -------------------------------------------------------------------------


def test_the_node_class_is_imdsv2_hop_1_encrypted_with_the_platform_key_and_tagged():
    config = parse_platform_config(build("dev")).cluster
    spec = node_class_spec(args(config.node_class, config.node_pools, instance_tags={
        "environment": "dev", "kubernetes.io/cluster/maas-dev": "owned", "eks:eks-cluster-name": "x", "team": "platform"}))
    assert spec["metadataOptions"] == {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                                       "httpPutResponseHopLimit": 1, "httpTokens": "required"}
    (root,) = spec["blockDeviceMappings"]
    assert root["rootVolume"] is True and root["ebs"]["encrypted"] is True and root["ebs"]["kmsKeyID"] == KEY
    assert root["ebs"]["volumeType"] == "gp3"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == [
        {"tags": {names.KARPENTER_DISCOVERY_TAG: "maas-dev"}}]
    assert spec["tags"] == {"environment": "dev", "team": "platform"}  # Karpenter's own keys left to it
    assert spec["role"] == "maas-dev-karpenter-node" and "instanceProfile" not in spec
    assert spec["detailedMonitoring"] is False


def test_bottlerocket_encrypts_both_its_volumes_and_pins_a_release_when_asked():
    node_class = NodeClassConfig(ami_family="Bottlerocket", ami_version="v1.50.0", root_volume_gib=30,
                                 detailed_monitoring=True)
    spec = node_class_spec(args(node_class, [NodePoolConfig.model_validate(pool())],
                                node_role_name=None, instance_profile="maas-dev-nodes"))
    assert spec["amiSelectorTerms"] == [{"alias": "bottlerocket@v1.50.0"}]
    assert [(v["deviceName"], v.get("rootVolume", False), v["ebs"]["volumeSize"], v["ebs"]["kmsKeyID"])
            for v in spec["blockDeviceMappings"]] == [("/dev/xvda", False, "4Gi", KEY), ("/dev/xvdb", True, "30Gi", KEY)]
    assert spec["instanceProfile"] == "maas-dev-nodes" and "role" not in spec


def test_the_node_class_takes_exactly_one_of_role_and_instance_profile():
    config = parse_platform_config(build("dev")).cluster
    for identity in ({"node_role_name": None}, {"instance_profile": "p"}):
        with pytest.raises(ValueError, match="exactly one of node_role_name and instance_profile"):
            args(config.node_class, config.node_pools, **identity)


def test_restricted_tag_keys_never_reach_the_node_class():
    assert node_tags({"karpenter.sh/nodepool": "a", "karpenter.sh/nodeclaim": "b", "karpenter.k8s.aws/ec2nodeclass": "c",
                      "kubernetes.io/cluster/x": "owned", "eks:eks-cluster-name": "x", "": "v", "empty": "",
                      "cost-center": "cc-1"}) == {"cost-center": "cc-1"}


def test_a_node_pool_states_its_requirements_limits_and_disruption():
    prod = parse_platform_config(build("prod")).cluster
    platform, agents = (node_pool_spec(p) for p in prod.node_pools)
    requirements = {r["key"]: (r["operator"], r["values"]) for r in agents["template"]["spec"]["requirements"]}
    assert requirements == {
        names.ARCH_LABEL: ("In", ["amd64", "arm64"]),
        names.CAPACITY_TYPE_LABEL: ("In", ["on-demand", "spot"]),
        "karpenter.k8s.aws/instance-family": ("In", list(prod.node_pools[1].instance_families)),
        "karpenter.k8s.aws/instance-cpu": ("Lt", ["9"]),
        "karpenter.k8s.aws/instance-memory": ("Lt", [str(32 * 1024 + 1)]),
    }
    assert agents["template"]["spec"]["taints"] == [
        {"key": names.DEDICATED_TAINT_KEY, "value": names.DEDICATED_TO_AGENTS, "effect": "NoSchedule"}]
    assert "taints" not in platform["template"]["spec"]
    assert agents["template"]["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass",
                                                          "name": "default"}
    assert agents["limits"] == {"cpu": "64", "memory": "256Gi"}
    assert agents["disruption"] == {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"}
    assert agents["template"]["spec"]["expireAfter"] == "720h"


def test_business_hours_block_voluntary_disruption_outside_the_window():
    configured = NodePoolConfig.model_validate(pool(business_hours={"start": "08:00", "end": "18:00", "nodes": "1"},
                                                    budgets=[{"nodes": "20%", "reasons": ["Empty"]}]))
    budgets = node_pool_spec(configured)["disruption"]["budgets"]
    assert budgets == [
        {"nodes": "20%", "reasons": ["Empty"]},
        {"nodes": "1"},
        # Mon-Thu 18:00 until 08:00 the next morning, Friday 18:00 until Monday 08:00.
        {"nodes": "0", "schedule": "0 18 * * mon-thu", "duration": "14h"},
        {"nodes": "0", "schedule": "0 18 * * fri", "duration": "62h"},
    ]
    every_day = BusinessHours(days="every-day").budgets()
    assert [(b.nodes, b.schedule, b.duration) for b in every_day] == [("10%", None, None), ("0", "0 17 * * *", "16h")]


def _judge(objects: dict[str, dict[str, Any]]) -> dict[str, list]:
    module = {"NodePool": "@kubernetes-models/karpenter/karpenter.sh/v1/NodePool",
              "EC2NodeClass": "@kubernetes-models/karpenter/karpenter.k8s.aws/v1/EC2NodeClass"}
    return crd_models.npm_findings([(key, module[obj["kind"]], obj) for key, obj in objects.items()])


def test_every_rendered_object_validates_against_the_karpenter_crd_schemas(schema_packages):
    objects: dict[str, dict[str, Any]] = {}
    for env in ("dev", "staging", "prod"):
        config = parse_platform_config(build(env)).cluster
        for family, version in (("AL2023", "latest"), ("Bottlerocket", "v1.50.0")):
            node_class = config.node_class.model_copy(update={"ami_family": family, "ami_version": version})
            objects[f"{env}-{family}"] = {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
                                          "metadata": {"name": "default"},
                                          "spec": node_class_spec(args(node_class, config.node_pools))}
        for configured in config.node_pools:
            full = configured.model_copy(update={
                "business_hours": BusinessHours(), "weight": 50, "expire_after": "Never",
                "budgets": NodePoolConfig.model_validate(pool(budgets=[{"nodes": "1", "reasons": ["Drifted"]}])).budgets,
            })
            for key, value in ((configured.name, configured), (f"{configured.name}-full", full)):
                objects[f"{env}-{key}"] = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool",
                                           "metadata": {"name": value.name}, "spec": node_pool_spec(value)}
    assert {key: found for key, found in _judge(objects).items() if found} == {}


def test_the_schema_judge_rejects_a_broken_node_pool(schema_packages):
    broken = node_pool_spec(NodePoolConfig.model_validate(pool()))
    broken["disruption"]["consolidationPolicy"] = "WhenUnderutilized"
    found = _judge({"broken": {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "x"},
                               "spec": broken}})
    assert any("consolidationPolicy" in path for path, _ in found["broken"]), found


@pytest.fixture(scope="module")
def schema_packages():
    crd_models.install()


# -- agents' pods ---------------------------------------------------------------------------------


def test_agent_pods_require_their_architectures_and_tolerate_the_agents_taint(dev):
    for name in ("triage", "research", "reports"):
        (deployment,) = [d for d in k8s_kind(agent_resources(dev, name), "Deployment")]
        pod = deployment["spec"]["template"]["spec"]
        (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert term["matchExpressions"] == [{"key": names.ARCH_LABEL, "operator": "In", "values": ["amd64"]}]
        assert pod["tolerations"] == [{"key": names.DEDICATED_TAINT_KEY, "operator": "Equal",
                                       "value": names.DEDICATED_TO_AGENTS, "effect": "NoSchedule"}]
        assert len(pod["topologySpreadConstraints"]) == 2
        # dev's fewest, on the Rollout that runs the pods; the Deployment is only its template.
        (rollout,) = k8s_kind(agent_resources(dev, name), "Rollout")
        assert rollout["spec"]["replicas"] == 1 and deployment["spec"]["replicas"] == 0


def test_the_egress_proxy_runs_on_either_architecture_and_tolerates_the_agents_taint(dev):
    proxies = [d for d in k8s_kind(agent_resources(dev, "triage"), "Deployment", proxy=True)
               if d["metadata"]["name"] == names.EGRESS_PROXY_NAME]
    (proxy,) = proxies
    pod = proxy["spec"]["template"]["spec"]
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": names.ARCH_LABEL, "operator": "In", "values": ["amd64", "arm64"]}]
    assert pod["tolerations"][0]["key"] == names.DEDICATED_TAINT_KEY


def test_a_critical_agent_in_prod_runs_on_on_demand_capacity_only():
    assert on_demand_only(True, "prod") and not on_demand_only(True, "dev") and not on_demand_only(False, "prod")
    scheduling = pod_scheduling(["arm64", "amd64"], on_demand_only=True)
    (term,) = scheduling["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [
        {"key": names.ARCH_LABEL, "operator": "In", "values": ["amd64", "arm64"]},
        {"key": names.CAPACITY_TYPE_LABEL, "operator": "In", "values": ["on-demand"]},
    ]


def test_the_agent_pdb_never_blocks_draining_a_single_replica(dev):
    for name in ("triage", "research", "reports"):
        (pdb,) = k8s_kind(agent_resources(dev, name), "PodDisruptionBudget")
        assert pdb["spec"].get("maxUnavailable") == 1 and "minAvailable" not in pdb["spec"]


def test_fit_problem_reads_any_pool_shape():
    shapes = [NodePoolOutput(name="big", architectures=["amd64"], capacity_types=["on-demand"], max_vcpu=16,
                             max_memory_gib=64, dedicated=True)]
    assert fit_problem(architectures=["amd64"], critical=True, cpu_millicores=8000, memory_mib=32768,
                       pools=shapes, environment="prod") is None
