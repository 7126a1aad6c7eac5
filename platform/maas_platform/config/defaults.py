"""Environment-aware defaults, in one place.

Every default that depends on the environment tier lives in ``ENVIRONMENT_DEFAULTS``.
A stack config only states what differs; :func:`with_environment_defaults` lays the
user's values over the tier's defaults before validation, so the models themselves
stay free of environment branches.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

DEFAULT_KUBERNETES_VERSION = "1.35"

# Interface endpoints the private subnets need so nodes and pods reach AWS
# without NAT: image pulls (ecr.*), identity (sts, eks-auth for Pod Identity),
# keys, secrets, messaging and logs.
DEFAULT_INTERFACE_ENDPOINTS = (
    "ecr.api", "ecr.dkr", "eks-auth", "kms", "logs", "secretsmanager", "sns", "sqs", "sts",
)
# Added where interface endpoints are on and an agent declares llm.bedrock (components/platform.py):
# agents' model calls (InvokeModel, Converse) stay off NAT, whose per-GB charge a chatty agent would
# otherwise pay on every prompt and answer. An environment without Bedrock agents does not pay its
# $0.01 per AZ-hour; dev, without endpoints, calls Bedrock through its NAT gateway.
BEDROCK_RUNTIME_ENDPOINT = "bedrock-runtime"

# Instance families of the default node pools: Graviton (g) and x86 (i: Intel, a: AMD), burstable
# (t) where nodes stay small, general purpose (m), compute (c) and memory (r) optimised.
SMALL_FAMILIES = ("t4g", "t3a", "t3", "m7g", "m7i", "m6g", "m6i", "c7g", "c7i", "r7g", "r7i")
GENERAL_FAMILIES = ("m7g", "m7i", "m7a", "m6g", "m6i", "c7g", "c7i", "c6g", "c6i", "r7g", "r7i")

ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    # dev: the cheapest sound choice — two AZs, one NAT, no interface endpoints,
    # small nodes, short log retention, nothing protected from deletion.
    "dev": {
        "protect_stateful": False,
        "network": {
            "cidr": "10.20.0.0/16",
            "az_count": 2,
            "nat_gateways": "single",
            "interface_endpoints": [],
            "flow_log_retention_days": 30,
        },
        "encryption": {"key_deletion_window_days": 7},
        # How long a retired agent's data is kept, protected, before delete_data is accepted.
        "retirement": {"retention_days": 7},
        # Signatures and the own-registry rule bind in prod; dev and staging may run any pinned image
        # while an agent moves to its registry (docs/delivery.md).
        "delivery": {"require_signatures": False, "require_own_registry": False},
        # Bedrock's invocation logs (the account and region's, one setting per platform stack); the
        # gateway's keys and spend in a PostgreSQL pod rather than Aurora's always-on 0.5 ACU (~$44/month).
        "llm": {"log_retention_days": 30, "gateway_database": "in_cluster"},
        "observability": {"prometheus_retention_days": 7, "prometheus_volume_gib": 20, "agent_log_retention_days": 14},
        "cluster": {
            "log_retention_days": 30,
            "node_groups": [
                # Spot in dev: an interruption costs the system pods a few minutes on a
                # replacement node (the group rebalances on AWS's notice); $13 a month less.
                {"name": "system", "instance_types": ["t4g.medium"], "capacity_type": "SPOT", "min_size": 1,
                 "desired_size": 1, "max_size": 2, "disk_size_gib": 20, "detailed_monitoring": False},
            ],
            "node_class": {"detailed_monitoring": False},
            "node_pools": [
                {"name": "general", "capacity_types": ["spot", "on-demand"], "architectures": ["arm64", "amd64"],
                 "instance_families": list(SMALL_FAMILIES), "max_vcpu": 4, "max_memory_gib": 16,
                 "limits": {"cpu": 16, "memory_gib": 64}},
            ],
        },
    },
    "staging": {
        "protect_stateful": False,
        "network": {
            "cidr": "10.30.0.0/16",
            "az_count": 3,
            "nat_gateways": "single",
            "interface_endpoints": list(DEFAULT_INTERFACE_ENDPOINTS),
            "flow_log_retention_days": 90,
        },
        "encryption": {"key_deletion_window_days": 14},
        "retirement": {"retention_days": 30},
        "delivery": {"require_signatures": False, "require_own_registry": False},
        "llm": {"log_retention_days": 90, "gateway_database": "aurora"},
        "observability": {"prometheus_retention_days": 15, "prometheus_volume_gib": 50, "agent_log_retention_days": 30},
        "cluster": {
            "log_retention_days": 90,
            "node_groups": [
                {"name": "system", "instance_types": ["t4g.medium"], "min_size": 2,
                 "desired_size": 2, "max_size": 3, "disk_size_gib": 20},
            ],
            "node_class": {"detailed_monitoring": True},
            "node_pools": [
                {"name": "general", "capacity_types": ["spot", "on-demand"], "architectures": ["arm64", "amd64"],
                 "instance_families": list(SMALL_FAMILIES), "max_vcpu": 8, "max_memory_gib": 32,
                 "limits": {"cpu": 32, "memory_gib": 128}},
            ],
        },
    },
    # prod: three AZs, a NAT gateway per AZ, interface endpoints, deletion
    # protection on stateful resources, bigger node groups, a year of logs.
    "prod": {
        "protect_stateful": True,
        "network": {
            "cidr": "10.40.0.0/16",
            "az_count": 3,
            "nat_gateways": "per_az",
            "interface_endpoints": list(DEFAULT_INTERFACE_ENDPOINTS),
            "flow_log_retention_days": 365,
        },
        "encryption": {"key_deletion_window_days": 30},
        "retirement": {"retention_days": 90},
        "delivery": {"require_signatures": True, "require_own_registry": True},
        "llm": {"log_retention_days": 365, "gateway_database": "aurora"},
        "observability": {"prometheus_retention_days": 30, "prometheus_volume_gib": 100, "agent_log_retention_days": 90},
        "cluster": {
            "log_retention_days": 365,
            "node_groups": [
                # m7g.large, not .medium: a medium holds 8 pods (its ENI limit), too few for the
                # controllers, their second replicas and the DaemonSets on each of three nodes.
                {"name": "system", "instance_types": ["m7g.large"], "min_size": 3,
                 "desired_size": 3, "max_size": 6, "disk_size_gib": 40},
            ],
            "node_class": {"detailed_monitoring": True},
            "node_pools": [
                # The add-ons: On-Demand, no interruptions under Prometheus or the controllers.
                {"name": "platform", "capacity_types": ["on-demand"], "architectures": ["arm64", "amd64"],
                 "instance_families": list(GENERAL_FAMILIES), "max_vcpu": 8, "max_memory_gib": 32,
                 "limits": {"cpu": 48, "memory_gib": 192}},
                # Agents only (tainted): Spot first, On-Demand for critical agents and when Spot runs out.
                # Room for about 60 agent pods at the default request (250m, 512Mi) with headroom.
                {"name": "agents", "capacity_types": ["spot", "on-demand"], "architectures": ["arm64", "amd64"],
                 "instance_families": list(GENERAL_FAMILIES), "max_vcpu": 8, "max_memory_gib": 32,
                 "limits": {"cpu": 64, "memory_gib": 256}, "dedicated_to_agents": True},
            ],
        },
    },
}



@dataclass(frozen=True)
class Tier:
    """What an environment tier gets that is not a config key: behaviour the components read
    instead of comparing the environment's name themselves."""

    scale_to_zero: bool  # idle agents and datastores may scale to zero (Aurora pauses, KEDA to 0 replicas)
    ha_replicas: int  # replicas of the platform's stateful monitoring (Prometheus, Alertmanager)
    database_instances: int  # Aurora instances per agent database: a reader in another AZ in prod
    agent_min_replicas: int  # an agent's fewest replicas where its config states no replicas.min
    # Argo Rollouts on the system node group, as the other controllers; dev's one small system node has
    # no pod slot left for it, and a stopped controller leaves every agent's pods where they are.
    rollouts_on_system_nodes: bool = True


TIERS: dict[str, Tier] = {
    "dev": Tier(scale_to_zero=True, ha_replicas=1, database_instances=1, agent_min_replicas=1,
                rollouts_on_system_nodes=False),
    "staging": Tier(scale_to_zero=True, ha_replicas=1, database_instances=1, agent_min_replicas=2),
    "prod": Tier(scale_to_zero=False, ha_replicas=2, database_instances=2, agent_min_replicas=2),
}


def retention_days(environment: str) -> int:
    """The environment's default ``retirement.retention_days`` (unknown names get dev's)."""
    return int(ENVIRONMENT_DEFAULTS.get(environment, ENVIRONMENT_DEFAULTS["dev"])["retirement"]["retention_days"])


def tier(environment: str) -> Tier:
    """The behaviour of ``environment`` (dev, staging or prod); unknown names get dev's."""
    return TIERS.get(environment, TIERS["dev"])

def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Lay ``override`` over ``base``; nested mappings merge, everything else (lists too) replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def with_environment_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    """Return ``raw`` laid over the defaults of its environment.

    An unknown or missing environment is left for the model to reject with a
    proper message, so this function never raises.
    """
    env = raw.get("environment")
    defaults = ENVIRONMENT_DEFAULTS.get(env) if isinstance(env, str) else None
    if defaults is None:
        return raw
    merged = _deep_merge(defaults, raw)
    agents = merged.get("agents")
    if isinstance(agents, list):
        merged["agents"] = [_agent_defaults(agent, TIERS[env]) for agent in agents]
    return merged


def _agent_defaults(agent: Any, environment: Tier) -> Any:
    """An agent's entry with the environment's fewest replicas unless it states ``replicas.min``."""
    if not isinstance(agent, dict):
        return agent
    replicas = agent.get("replicas", {})
    if not isinstance(replicas, dict) or "min" in replicas:
        return agent
    return {**agent, "replicas": {**replicas, "min": environment.agent_min_replicas}}
