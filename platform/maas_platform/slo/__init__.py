"""SLOs of agents and flows: Prometheus rules, OpenSLO documents, Grafana dashboards, telemetry env.

One ``AgentSpec.slos`` section (and ``AgentSpec.golden``) is rendered to

* ``rule_groups`` / ``prometheus_rule_spec`` — recording rules and multi-window, multi-burn-rate
  alerts (the PrometheusRule ``spec`` and the ``promtool`` file are the same groups);
* ``openslo_documents`` — OpenSLO v1, one document per SLO;
* ``agent_dashboard`` / ``platform_dashboard`` — Grafana dashboard JSON models;
* ``otel_environment`` — the OpenTelemetry variables every agent container gets.

One ``FlowSpec`` (``maas:flows``) is rendered by ``flow_rule_groups``, ``flow_openslo_documents``
and ``flow_dashboard`` (:mod:`.flows`).

The metrics these read are the contract in ``docs/metric-contract.md``.
"""

from .dashboards import agent_dashboard, dashboard_uid, flow_dashboard, flow_dashboard_uid, platform_dashboard
from .flows import FlowSLO, flow_openslo_documents, flow_rule_groups, flow_slos
from .model import (
    BURN_CONDITIONS,
    DEFAULT_BUCKETS,
    RATE_WINDOWS,
    SLO,
    SLO_KINDS,
    BurnCondition,
    agent_slos,
    latency_buckets,
    le_matcher,
    le_values,
    schedule_period_seconds,
)
from .openslo import openslo_document, openslo_documents
from .rules import (
    RUNBOOK_BASE,
    burn_threshold,
    llm_budget_rules,
    prometheus_rule_spec,
    rule_groups,
    rules_yaml,
)
from .telemetry import OTEL_COLLECTOR_ENDPOINT, otel_environment

__all__ = [
    "BURN_CONDITIONS", "DEFAULT_BUCKETS", "OTEL_COLLECTOR_ENDPOINT", "RATE_WINDOWS", "RUNBOOK_BASE", "SLO",
    "SLO_KINDS", "BurnCondition", "FlowSLO", "agent_dashboard", "agent_slos", "burn_threshold", "dashboard_uid",
    "flow_dashboard", "flow_dashboard_uid", "flow_openslo_documents", "flow_rule_groups", "flow_slos",
    "latency_buckets", "le_matcher", "le_values", "llm_budget_rules", "openslo_document", "openslo_documents",
    "otel_environment", "platform_dashboard", "prometheus_rule_spec", "rule_groups", "rules_yaml",
    "schedule_period_seconds",
]
