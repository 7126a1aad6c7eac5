"""Where the platform's own pods run: system node groups (tainted, system pods only) versus the
nodes Karpenter launches; which architectures each add-on may land on; replicas per tier; and
PDBs that never stall a drain. Pure functions first, then the shipped environments' plans."""

from __future__ import annotations

import pytest

from conftest import ENVIRONMENTS
from maas_platform.components.addons import (
    ClusterAddons,
    keda_values,
    metrics_server_values,
    never_blocks_drain,
    system_node_group_placement,
)
from maas_platform.components.cluster import ADDON_CONFIGURATION, SYSTEM_TAINT
from maas_platform.components.observability.values import (
    AMD64_ONLY,
    EVERY_NODE,
    blackbox_exporter_values,
    fluent_bit_values,
    otel_collector_values,
    prometheus_resources,
)
from maas_platform.config.defaults import tier
from maas_platform.config.instances import AMI_TYPES, ami_type, architecture
from maas_platform.names import (
    ARCH_LABEL,
    DEDICATED_TAINT_KEY,
    DEDICATED_TO_AGENTS,
    NODE_GROUP_LABEL,
    SYSTEM_TAINT_KEY,
)

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"
RELEASE = "kubernetes:helm.sh/v3:Release"

# The taints of every node the platform runs: system node groups, and pools dedicated to agents.
NODE_TAINTS = [
    {"key": SYSTEM_TAINT_KEY, "value": "true", "effect": "NoSchedule"},
    {"key": DEDICATED_TAINT_KEY, "value": DEDICATED_TO_AGENTS, "effect": "NoSchedule"},
]


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """Kubernetes' toleration matching (an empty key with Exists matches every taint)."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists" and not t.get("key"):
            return True
        if t.get("key") != taint["key"]:
            continue
        if t.get("operator") == "Exists" or t.get("value", "") == taint["value"]:
            return True
    return False


# -- instance types ----------------------------------------------------------------------------

@pytest.mark.parametrize("instance_type", [
    "m7g.large", "c6gn.xlarge", "t4g.medium", "a1.medium", "is4gen.large", "im4gn.large", "x2gd.large",
    "g5g.xlarge", "hpc7g.4xlarge", "r8g.large", "c7gd.2xlarge",
])
def test_graviton_types_are_arm64(instance_type):
    assert architecture(instance_type) == "arm64"


@pytest.mark.parametrize("instance_type", [
    "m6i.large", "t3.large", "c7a.xlarge", "m7i-flex.large", "g4dn.xlarge", "g4ad.xlarge", "u-12tb1.112xlarge",
    "u7i-12tb.224xlarge", "inf2.xlarge", "m5zn.large", "x2iedn.xlarge", "p5en.48xlarge",
])
def test_intel_and_amd_types_are_amd64(instance_type):
    assert architecture(instance_type) == "amd64"


@pytest.mark.parametrize("bad", ["m7g", "large", "M7G.large", "m7g.", ".large", "mac2.metal"])
def test_a_malformed_instance_type_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=f"'{bad}'"):
        architecture(bad)


def test_a_node_group_gets_the_ami_type_of_its_architecture():
    assert ami_type(["m6i.large", "m7i.large"]) == "AL2023_x86_64_STANDARD"
    assert ami_type(["t4g.medium", "m7g.medium"]) == "AL2023_ARM_64_STANDARD"
    assert set(AMI_TYPES.values()) == {"AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"}


def test_a_node_group_mixing_architectures_is_refused_naming_both_sides():
    with pytest.raises(ValueError, match=r"arm64 \(t4g.medium\) and amd64 \(t3.medium\)"):
        ami_type(["t3.medium", "t4g.medium"])


def test_cluster_args_refuse_a_node_group_mixing_architectures():
    from pydantic import ValidationError

    from maas_platform.components.base import AccountContext
    from maas_platform.components.cluster import ClusterArgs
    from maas_platform.config.models import NodeGroupConfig

    group = NodeGroupConfig(name="system", instance_types=["t3.medium", "t4g.medium"], min_size=1,
                            desired_size=1, max_size=2)
    with pytest.raises(ValidationError, match=r"node_groups\[0\].instance_types: instance types mix"):
        ClusterArgs(cluster_name="c", account=AccountContext(account_id="123456789012", region="us-east-1"),
                    kubernetes_version="1.35", subnet_ids=["a", "b"], secrets_key_arn="k", logs_key_arn="k",
                    volumes_key_arn="k", node_groups=[group])


# -- values, as pure functions ------------------------------------------------------------------

def test_coredns_tolerates_the_system_taint():
    assert tolerates(ADDON_CONFIGURATION["coredns"]["tolerations"], NODE_TAINTS[0])


def test_the_system_taint_is_the_shared_name():
    assert SYSTEM_TAINT == {"key": SYSTEM_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}


@pytest.mark.parametrize("taint", NODE_TAINTS, ids=lambda t: t["key"])
def test_daemonsets_tolerate_every_node(taint):
    assert tolerates(fluent_bit_values("maas-dev", "us-east-1")["tolerations"], taint)
    assert tolerates(EVERY_NODE, taint)


@pytest.mark.parametrize("replicas", [1, 2])
def test_a_pdb_never_blocks_the_drain_of_a_single_replica(replicas):
    def blocks(pdb: dict, count: int) -> bool:
        if pdb.get("enabled") is False or not pdb:
            return False
        if "maxUnavailable" in pdb:
            return pdb["maxUnavailable"] == 0
        return pdb.get("minAvailable", 0) >= count

    assert not blocks(never_blocks_drain(replicas), replicas)
    assert not blocks(otel_collector_values("us-east-1", replicas)["podDisruptionBudget"], replicas)
    assert not blocks(blackbox_exporter_values(replicas)["podDisruptionBudget"], replicas)
    assert not blocks(metrics_server_values(replicas, "system")["podDisruptionBudget"], replicas)
    assert not blocks(ClusterAddons._external_secrets_values(replicas, "system")["podDisruptionBudget"], replicas)


def test_keda_runs_one_operator_per_ha_replica_on_the_system_node_group():
    values = keda_values(2, "system")
    assert values["operator"]["replicaCount"] == 2
    assert values["nodeSelector"] == {NODE_GROUP_LABEL: "system"} and ARCH_LABEL not in values["nodeSelector"]
    assert tolerates(values["tolerations"], NODE_TAINTS[0])
    assert "replicaCount" not in values.get("metricsServer", {})  # one external metrics server


def test_the_system_placement_selects_the_group_and_tolerates_only_its_taint():
    placement = system_node_group_placement("core")
    assert placement["nodeSelector"] == {NODE_GROUP_LABEL: "core"}
    assert tolerates(placement["tolerations"], NODE_TAINTS[0])
    assert not tolerates(placement["tolerations"], NODE_TAINTS[1])  # never on the agents' pools


def test_dev_prometheus_is_sized_for_a_small_cluster_and_prod_keeps_its_size():
    assert prometheus_resources("dev")["requests"] == {"cpu": "250m", "memory": "1Gi"}
    assert prometheus_resources("prod")["requests"] == {"cpu": "500m", "memory": "2Gi"}
    assert prometheus_resources("staging") == prometheus_resources("prod")


# -- the shipped environments -------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_groups_are_system_only_with_the_ami_of_their_instance_types(plans, env):
    groups = plans[env].of_type(NODE_GROUP)
    assert groups
    for group in groups:
        inputs = group.inputs
        assert {"key": SYSTEM_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"} in inputs["taints"]
        assert inputs["amiType"] == ami_type(inputs["instanceTypes"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_coredns_add_on_tolerates_the_system_taint_in_every_environment(plans, env):
    import json

    coredns = [a for a in plans[env].of_type(ADDON) if a.inputs.get("addonName") == "coredns"]
    assert len(coredns) == 1
    config = json.loads(coredns[0].inputs["configurationValues"])
    assert tolerates(config["tolerations"], NODE_TAINTS[0])


def _releases(plan) -> dict[str, dict]:
    return {r.name.rsplit("-addons-", 1)[-1].rsplit("-observability-", 1)[-1]: r.inputs.get("values", {})
            for r in plan.of_type(RELEASE)}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_controllers_run_on_the_system_node_group(plans, env):
    """External Secrets, the load balancer controller, metrics-server and KEDA gate every agent: they
    select the first system node group and tolerate its taint, so Spot interruptions and consolidation
    never evict them. Their images are multi-arch (addons.py), so no architecture is pinned."""
    values = _releases(plans[env])
    group = plans[env].of_type(NODE_GROUP)[0].inputs["labels"][NODE_GROUP_LABEL]
    eso = values["external-secrets"]
    for pod in (eso, eso["webhook"], eso["certController"], values["aws-load-balancer-controller"],
                values["metrics-server"], values["keda"]):
        assert pod["nodeSelector"] == {NODE_GROUP_LABEL: group}
        assert tolerates(pod["tolerations"], NODE_TAINTS[0])
        assert not tolerates(pod["tolerations"], NODE_TAINTS[1])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_pods_with_an_unverified_image_are_pinned_to_amd64(plans, env):
    values = _releases(plans[env])
    # Verified multi-arch upstream (observability/values.py records where): no architecture selector.
    assert ARCH_LABEL not in str(values["opentelemetry-collector"].get("nodeSelector", {}))
    assert ARCH_LABEL not in str(values["prometheus-blackbox-exporter"].get("nodeSelector", {}))
    stack = values["kube-prometheus-stack"]
    for verified in (stack.get("prometheusOperator", {}).get("nodeSelector", {}),
                     stack["prometheus"]["prometheusSpec"].get("nodeSelector", {}),
                     stack["alertmanager"]["alertmanagerSpec"].get("nodeSelector", {}),
                     stack.get("kube-state-metrics", {}).get("nodeSelector", {})):
        assert ARCH_LABEL not in verified
    # Not verified: Grafana 13.2.0 and the admission patch Job's kube-webhook-certgen 1.8.7.
    assert stack["grafana"]["nodeSelector"] == AMD64_ONLY
    assert stack["prometheusOperator"]["admissionWebhooks"]["patch"]["nodeSelector"] == AMD64_ONLY


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_daemonsets_tolerate_every_pool_in_every_environment(plans, env):
    values = _releases(plans[env])
    for taint in NODE_TAINTS:
        assert tolerates(values["fluent-bit"]["tolerations"], taint)
        assert tolerates(values["kube-prometheus-stack"]["prometheus-node-exporter"]["tolerations"], taint)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_controller_replicas_follow_the_tier(plans, env):
    replicas = tier(env).ha_replicas
    values = _releases(plans[env])
    assert values["external-secrets"]["replicaCount"] == replicas
    assert values["external-secrets"]["webhook"]["replicaCount"] == replicas
    assert values["aws-load-balancer-controller"]["replicaCount"] == replicas
    assert values["metrics-server"]["replicas"] == replicas
    assert values["keda"]["operator"]["replicaCount"] == replicas
    assert values["opentelemetry-collector"]["replicaCount"] == replicas
    assert values["prometheus-blackbox-exporter"]["replicas"] == replicas
    assert (replicas, env) in ((1, "dev"), (1, "staging"), (2, "prod"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_pdb_in_the_plan_blocks_a_single_replica(plans, env):
    values = _releases(plans[env])
    eso = values["external-secrets"]
    for pdb, count in ((eso["podDisruptionBudget"], eso["replicaCount"]),
                       (eso["webhook"]["podDisruptionBudget"], eso["webhook"]["replicaCount"]),
                       (values["opentelemetry-collector"]["podDisruptionBudget"],
                        values["opentelemetry-collector"]["replicaCount"])):
        assert not (pdb.get("enabled") and pdb.get("minAvailable", 0) >= count)
