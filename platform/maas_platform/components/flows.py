"""Flows in the cluster: per flow of ``maas:flows``, its SLO rules and its dashboard.

A flow's objectives hold end to end (:mod:`maas_platform.config.flows`): its SLIs read what the
entry agent counts (started) and what the last agent counts and observes (completed, duration),
each selected by that agent's namespace (:mod:`maas_platform.slo.flows`). The PrometheusRule and
the dashboard's ConfigMap live in the entry agent's namespace, where the flow starts and which its
series are labelled with (``FlowSLO.namespace``): a team stack's deploy role may write there (its
flows pass only its own agents), the operator selects rules in every namespace and enforces no
namespace label on them (``ruleNamespaceSelector: {}``, no ``enforcedNamespaceLabel``:
components/observability/values.py), and Grafana's sidecar reads dashboards from every
namespace (``searchNamespace: ALL``). Checked on 2026-12-03: prometheus-operator
pkg/apis/monitoring/v1/prometheus_types.go, ``ruleNamespaceSelector``: "An empty label selector
matches all namespaces" (``ruleSelector``: an empty one "matches all objects"); grafana/helm-charts
charts/grafana/values.yaml, the sidecars' ``searchNamespace``: "It's also possible to specify ALL to
search in all namespaces" (otherwise only the sidecar's own). They carry the entry agent's
labels, as everything in its namespace does (MAAS-TAG-103): the cluster's spend on them is that
agent's.

A platform stack builds them in :class:`~maas_platform.components.platform.Platform`, a team
stack through :func:`maas_platform.team.team_flows`; both export :func:`flows_output`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from .. import names
from ..config.flows import FlowSpec
from ..slo.dashboards import flow_dashboard, flow_dashboard_uid
from ..slo.flows import flow_openslo_documents, flow_rule_groups
from .agent import AgentService
from .base import ComponentArgs, child

# The flow's objects are named after it: flow-<name>-slos, flow-<name>-dashboard.
OBJECT_PREFIX = "flow-"


class FlowSLOsArgs(ComponentArgs):
    flow: FlowSpec
    team: str
    entry_namespace: str
    last_namespace: str
    labels: dict[str, str] = Field(description="The entry agent's labels (its AgentService's).")
    runbook_base: str
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list, description="What the objects wait for: the entry agent's namespace (and a team's "
                                          "RBAC in it).")

    @property
    def namespace(self) -> str:
        """Where the flow's rule and dashboard live: the entry agent's namespace."""
        return self.entry_namespace


def flow_args(flow: FlowSpec, agents: Mapping[str, AgentService], *, runbook_base: str) -> FlowSLOsArgs:
    """The args of ``flow`` among the stack's ``agents`` by name (validated by
    ``config.flows.flows_problem``): its objects take the entry agent's labels and wait for its
    namespace, and for the binding that lets a team's deploy role write custom resources there."""
    specs = [agent.spec for agent in agents.values()]
    entry = agents[flow.entry]
    binding = entry.workload.team_binding
    return FlowSLOsArgs(
        flow=flow, team=flow.owner(specs), entry_namespace=entry.spec.namespace,
        last_namespace=agents[flow.last].spec.namespace, labels=dict(entry.labels), runbook_base=runbook_base,
        wait_for=[entry.namespace, *([binding] if binding is not None else [])],
    )


class FlowSLOs(pulumi.ComponentResource):
    """One flow's SLO rules (PrometheusRule) and Grafana dashboard (ConfigMap the sidecar loads).

    Give it the Kubernetes provider through ``opts.providers``.
    """

    rules: k8s.apiextensions.CustomResource
    dashboard: k8s.core.v1.ConfigMap

    def __init__(self, name: str, args: FlowSLOsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_FLOW_SLOS, name, None, opts)
        self.args = args
        flow = args.flow
        labels = args.labels
        where = {"team": args.team, "entry_namespace": args.entry_namespace, "last_namespace": args.last_namespace}
        self.rules = k8s.apiextensions.CustomResource(
            f"{name}-slo-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": f"{OBJECT_PREFIX}{flow.name}-slos", "namespace": args.namespace, "labels": labels},
            spec={"groups": flow_rule_groups(flow, runbook_base=args.runbook_base, **where)},
            opts=child(self, depends_on=args.wait_for),
        )
        board = flow_dashboard(flow, **where)
        self.dashboard = k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata={"name": f"{OBJECT_PREFIX}{flow.name}-dashboard", "namespace": args.namespace,
                      "labels": {**labels, names.DASHBOARD_LABEL: names.DASHBOARD_LABEL_VALUE}},
            data={f"{flow_dashboard_uid(flow.name)}.json": json.dumps(board, sort_keys=True)},
            opts=child(self, depends_on=args.wait_for),
        )
        self.register_outputs({})

    def output(self) -> dict[str, Any]:
        """The flow under the stack's ``flows`` output: its path, objectives, owner, namespaces and
        OpenSLO documents (as agents' ``slos`` are exported)."""
        args, flow = self.args, self.args.flow
        return {
            **flow.model_dump(mode="json", exclude={"name", "team"}),
            "team": args.team,
            "entry_namespace": args.entry_namespace,
            "last_namespace": args.last_namespace,
            "slos": flow_openslo_documents(flow, team=args.team, entry_namespace=args.entry_namespace,
                                           last_namespace=args.last_namespace),
        }


def flows_output(flows: Mapping[str, FlowSLOs]) -> dict[str, dict[str, Any]]:
    """The ``flows`` output of a stack: each flow's :meth:`FlowSLOs.output`, by name."""
    return {name: flows[name].output() for name in sorted(flows)}
