"""Grafana dashboards (JSON models): one per agent, one per flow, one across the platform.

Deterministic: no timestamps, panel ids in layout order, uids derived from names
(``agent-<name>``, ``flow-<name>``, ``maas-platform``), so re-rendering never shows a diff. Prometheus
panels use the ``$datasource`` variable; the inbox panel on CloudWatch uses ``$cloudwatch``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional, Union

from .. import names
from ..config.agents import AgentSpec
from ..config.flows import FlowSpec
from .flows import FlowSLO, flow_slos
from .model import BURN_CONDITIONS, SLO, agent_slos, le_matcher, number
from .rules import (
    AGENT_LLM_COST_METRIC,
    AGENT_LLM_TOKENS_METRIC,
    BUDGET_REMAINING,
    CURRENT_BURN,
    ERROR_BUDGET,
    LLM_BUDGET_DAYS,
    RATIO,
    gateway_selector,
    gateway_spend,
    llm_gateway_limit,
)

SCHEMA_VERSION = 39
PROM = {"type": "prometheus", "uid": "${datasource}"}
CLOUDWATCH = {"type": "cloudwatch", "uid": "${cloudwatch}"}
PLATFORM_UID = "maas-platform"


def dashboard_uid(agent: str) -> str:
    """The uid of an agent's dashboard (Grafana allows 40 characters; agent names have 30)."""
    return f"agent-{agent}"


def flow_dashboard_uid(flow: str) -> str:
    """The uid of a flow's dashboard: ``flow-<name>``, or within Grafana's 40 characters (flow names
    have up to 40) the name's first 26 and a digest of the whole."""
    uid = f"flow-{flow}"
    if len(uid) <= 40:
        return uid
    return f"flow-{flow[:26]}-{hashlib.sha256(flow.encode()).hexdigest()[:8]}"


class _Layout:
    """Places panels left to right on Grafana's 24-column grid, numbering them."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.row_h = 0

    def row(self, title: str) -> None:
        self._newline()
        self._add({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self._newline()

    def add(self, panel: dict[str, Any], w: int, h: int) -> None:
        if self.x + w > 24:
            self._newline()
        self._add(panel, w, h)

    def _add(self, panel: dict[str, Any], w: int, h: int) -> None:
        panel = {"id": len(self.panels) + 1, "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h}, **panel}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def _newline(self) -> None:
        if self.x:
            self.y += self.row_h
        self.x = self.row_h = 0


def _target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> dict[str, Any]:
    return {"datasource": PROM, "expr": expr, "legendFormat": legend, "refId": ref, **extra}


def _thresholds(*steps: tuple[Optional[float], str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


def _stat(title: str, expr: str, unit: str, thresholds: dict[str, Any], description: str = "", decimals: int = 3) -> dict[str, Any]:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": PROM,
        "targets": [_target(expr, instant=True)],
        "fieldConfig": {"defaults": {"unit": unit, "decimals": decimals, "thresholds": thresholds}, "overrides": []},
        "options": {"colorMode": "background", "graphMode": "none", "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }


def _timeseries(
    title: str,
    targets: list[dict[str, Any]],
    unit: str,
    *,
    datasource: dict[str, str] = PROM,
    thresholds: Optional[dict[str, Any]] = None,
    description: str = "",
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit, "custom": {"lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}}
    if thresholds:
        defaults["thresholds"] = thresholds
        defaults["custom"]["thresholdsStyle"] = {"mode": "dashed"}
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": datasource,
        "targets": [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def _variables(cloudwatch: bool) -> list[dict[str, Any]]:
    out = [{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []}]
    if cloudwatch:
        out.append({"name": "cloudwatch", "label": "CloudWatch", "type": "datasource", "query": "cloudwatch",
                    "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []})
    return out


def _dashboard(uid: str, title: str, tags: list[str], panels: list[dict[str, Any]], variables: list[dict[str, Any]],
               links: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": tags,
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": links or [],
        "panels": panels,
    }


def _slo_panels(layout: _Layout, slos: list[Union[SLO, FlowSLO]], match: str) -> None:
    """Per SLO its SLI and budget left, then burn rates; ``match`` selects the subject's series
    (``agent="<name>"`` or ``flow="<name>"``)."""
    layout.row("Service level objectives")
    width = max(2, 24 // (2 * len(slos)))
    for slo in slos:
        objective = slo.objective
        layout.add(_stat(
            f"{slo.title} ({slo.window})",
            f"1 - {RATIO.format(window=slo.window)}{slo.selector}",
            "percentunit",
            _thresholds((None, "red"), (objective, "green")),
            description=f"{slo.description} Objective {objective * 100:g}%.",
        ), width, 4)
        layout.add(_stat(
            f"{slo.title} budget left",
            f"{BUDGET_REMAINING}{slo.selector}",
            "percentunit",
            _thresholds((None, "red"), (0, "orange"), (0.25, "green")),
            description=f"Share of the {slo.window} error budget ({(1 - objective) * 100:g}% of events) not yet spent.",
            decimals=1,
        ), width, 4)
    burn_lines = _thresholds((None, "green"), *((c.factor, "orange" if c.severity == "ticket" else "red") for c in BURN_CONDITIONS))
    layout.add(_timeseries(
        "Burn rate (1h window)",
        [_target(f'{RATIO.format(window="1h")}{{{match}}} / {ERROR_BUDGET}{{{match}}}', "{{slo}}")],
        "x",
        thresholds=burn_lines,
        description="Error ratio over 1h divided by the error budget: 1 spends the budget exactly over the window; "
        "dashed lines are the alert factors (14.4 and 6 page, 3 and 1 ticket, each with its own windows).",
    ), 12, 8)
    layout.add(_timeseries(
        "Burn rate (5m and 6h windows)",
        [
            _target(f'{CURRENT_BURN}{{{match}}}', "{{slo}} 5m"),
            _target(f'{RATIO.format(window="6h")}{{{match}}} / {ERROR_BUDGET}{{{match}}}', "{{slo}} 6h"),
        ],
        "x",
        thresholds=burn_lines,
    ), 12, 8)


def _agent_llm_panels(layout: _Layout, spec: AgentSpec, ns: str) -> None:
    """The LLM row: what the gateway measured for the agent, then what the agent reports itself.

    Bedrock calls are not here: Prometheus does not see them (see ``slo/rules.py``); the agent's
    AWS Budget on its Bedrock spend and CloudWatch's AWS/Bedrock metrics per inference profile do.
    """
    layout.row("LLM")
    if spec.llm.gateway is not None:
        gateway = gateway_selector(spec.name)
        limit = llm_gateway_limit(spec)
        _llm_spend_panels(
            layout, "Gateway", "(measured by the gateway)",
            tokens=(f"sum by (model) (rate({names.LLM_GATEWAY_TOKENS_METRIC}{gateway}[$__rate_interval]))", "{{model}}"),
            spend_rate=(f"sum by (model) (rate({names.LLM_GATEWAY_SPEND_METRIC}{gateway}[1h])) * 3600", "{{model}}"),
            spend=gateway_spend(spec.name), limit=limit,
            limit_note=(f"The gateway refuses the agent's calls past {number(limit)} USD a month." if limit
                        else "No gateway limit set."),
        )
    if spec.llm.bedrock is not None:
        layout.add({
            "type": "text",
            "title": "Bedrock: where its spend is measured",
            "options": {"mode": "markdown", "content": (
                f"Prometheus does not see Bedrock. Its spend: the AWS Budget `<prefix>-agent-{spec.name}-bedrock` "
                f"(alerts at 80 % and 100 % and on forecast 100 %; at 100 % its action denies `bedrock:Invoke*` to "
                f"the agent's role) and Cost Explorer, tag `agent` = `{spec.name}`. Its calls and tokens: CloudWatch "
                f"`AWS/Bedrock` (Invocations, InputTokenCount, OutputTokenCount) of its inference profiles.")},
        }, 8, 8)
    agent_limit = spec.budget.llm_monthly_usd
    _llm_spend_panels(
        layout, "Agent-reported", "(optional, reported by the agent itself: not a measurement of the platform)",
        tokens=(f"sum by (model, kind) (rate({AGENT_LLM_TOKENS_METRIC}{{{ns}}}[$__rate_interval]))", "{{model}} {{kind}}"),
        spend_rate=(f"sum(rate({AGENT_LLM_COST_METRIC}{{{ns}}}[1h])) * 3600", "USD/h"),
        spend=f"{AGENT_LLM_COST_METRIC}{{{ns}}}", limit=agent_limit,
        limit_note=(f"Limit (budget.llm_monthly_usd): {number(agent_limit)} USD." if agent_limit else "No LLM limit set."),
    )


def _llm_spend_panels(layout: _Layout, source: str, said: str, *, tokens: tuple[str, str], spend_rate: tuple[str, str],
                      spend: str, limit: Optional[float], limit_note: str) -> None:
    """Three panels of one source of LLM numbers: tokens, spend per hour, spend of the budget window
    against its limit (orange at 80 %, red at 100 %)."""
    layout.add(_timeseries(f"{source}: tokens by model", [_target(*tokens)], "short",
                           description=f"Tokens per second of the agent's calls {said}."), 8, 8)
    layout.add(_timeseries(f"{source}: LLM spend per hour", [_target(*spend_rate)], "currencyUSD",
                           description=f"USD per hour of the agent's calls {said}."), 8, 8)
    layout.add(_stat(
        f"{source}: LLM spend, last {LLM_BUDGET_DAYS} days",
        f"sum(increase({spend}[{LLM_BUDGET_DAYS}d]))",
        "currencyUSD",
        _thresholds((None, "green"), *(((limit * 0.8, "orange"), (limit, "red")) if limit else ())),
        description=f"{limit_note} {said[1:-1].capitalize()}.",
        decimals=2,
    ), 8, 8)


def agent_dashboard(
    spec: AgentSpec,
    namespace: str,
    *,
    inbox_queue: Optional[str] = None,
    region: str = "default",
) -> dict[str, Any]:
    """The agent's dashboard: SLO status, budget left, burn rates, traffic, latency, tasks, inbox, LLM.

    ``inbox_queue`` (e.g. ``<prefix>-<agent>-inbox``) adds CloudWatch panels on the queue's
    depth and oldest message; the KEDA panel shows the depth the autoscaler reads (it needs
    KEDA's metrics scraped by Prometheus).
    """
    slos = agent_slos(spec, namespace)
    ns = f'namespace="{namespace}"'
    layout = _Layout()
    _slo_panels(layout, slos, f'agent="{spec.name}"')  # type: ignore[arg-type]

    threshold_s = spec.slos.latency.threshold_ms / 1000
    layout.row("Requests")
    layout.add(_timeseries(
        "Request rate by status code",
        [_target(f"sum by (code) (rate(http_requests_total{{{ns}}}[$__rate_interval]))", "{{code}}")],
        "reqps",
    ), 8, 8)
    layout.add(_timeseries(
        "5xx ratio",
        [_target(
            f'sum(rate(http_requests_total{{{ns},code=~"5.."}}[$__rate_interval])) / sum(rate(http_requests_total{{{ns}}}[$__rate_interval]))',
            "5xx",
        )],
        "percentunit",
        thresholds=_thresholds((None, "green"), (round(1 - spec.slos.availability, 12), "red")),
    ), 8, 8)
    layout.add(_timeseries(
        "Latency percentiles",
        [
            _target(
                f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{{{ns}}}[$__rate_interval])))",
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.9, 0.99)
        ],
        "s",
        thresholds=_thresholds((None, "green"), (threshold_s, "red")),
        description=f"Dashed: the latency SLO threshold ({spec.slos.latency.threshold_ms} ms).",
    ), 8, 8)

    layout.row("Work")
    layout.add(_timeseries(
        "Tasks by outcome",
        [_target(f"sum by (outcome) (rate(agent_tasks_total{{{ns}}}[$__rate_interval]))", "{{outcome}}")],
        "ops",
    ), 8, 8)
    layout.add(_timeseries(
        "Inbox depth (KEDA)",
        [_target(f'sum by (scaledObject) (keda_scaler_metrics_value{{{ns}}})', "{{scaledObject}}")],
        "short",
        description="The queue depth KEDA's scaler last read (keda_scaler_metrics_value).",
    ), 8, 8)
    if inbox_queue:
        layout.add(_timeseries(
            "Inbox (CloudWatch)",
            [
                {"datasource": CLOUDWATCH, "namespace": "AWS/SQS", "metricName": metric, "dimensions": {"QueueName": inbox_queue},
                 "statistic": "Maximum", "period": "", "region": region, "matchExact": True, "metricQueryType": 0,
                 "metricEditorMode": 0, "queryMode": "Metrics", "id": "", "expression": "", "label": label}
                for metric, label in (("ApproximateNumberOfMessagesVisible", "visible"), ("ApproximateAgeOfOldestMessage", "oldest (s)"))
            ],
            "short",
            datasource=CLOUDWATCH,
            description=f"SQS queue {inbox_queue}: messages waiting and the age of the oldest one.",
        ), 8, 8)

    _agent_llm_panels(layout, spec, ns)

    return _dashboard(
        dashboard_uid(spec.name),
        f"Agent {spec.name}",
        ["maas", "agent", f"team:{spec.team}"],
        layout.panels,
        _variables(cloudwatch=bool(inbox_queue)),
        links=[{"title": "Platform", "type": "link", "url": f"/d/{PLATFORM_UID}", "icon": "dashboard"}],
    )


def flow_dashboard(flow: FlowSpec, *, team: str, entry_namespace: str, last_namespace: str) -> dict[str, Any]:
    """A flow's dashboard: its path, SLIs, budget left, burn rates, started and completed rates,
    end-to-end latency. ``team``: the entry agent's, used when ``flow.team`` is unset."""
    slos = flow_slos(flow, team=team, entry_namespace=entry_namespace, last_namespace=last_namespace)
    label = names.FLOW_LABEL
    layout = _Layout()
    hops = "\n".join(f"{i}. `{hop.topic}` -> **{hop.to}**" for i, hop in enumerate(flow.hops, start=1))
    layout.add({
        "type": "text",
        "title": "Path",
        "options": {"mode": "markdown", "content": (
            f"Flow `{flow.name}` (team {slos[0].team}) enters at **{flow.entry}** (namespace `{entry_namespace}`, "
            f"counts `{names.FLOW_STARTED_METRIC}`) and completes at **{flow.last}** (namespace `{last_namespace}`, "
            f"counts `{names.FLOW_COMPLETED_METRIC}` and observes `{names.FLOW_DURATION_METRIC}`):\n\n{hops}")},
    }, 24, 5)
    _slo_panels(layout, slos, f'{label}="{flow.name}"')  # type: ignore[arg-type]
    started = f'{names.FLOW_STARTED_METRIC}{{namespace="{entry_namespace}",{label}="{flow.name}"}}'
    completed = f'{names.FLOW_COMPLETED_METRIC}{{namespace="{last_namespace}",{label}="{flow.name}"}}'
    duration = f'{names.FLOW_DURATION_METRIC}_bucket{{namespace="{last_namespace}",{label}="{flow.name}"}}'
    threshold_s = flow.latency.threshold_ms / 1000
    layout.row("Flows")
    layout.add(_timeseries(
        "Started and completed",
        [
            _target(f"sum(rate({started}[$__rate_interval]))", "started"),
            _target(f"sum by (outcome) (rate({completed}[$__rate_interval]))", "completed {{outcome}}"),
        ],
        "ops",
        description="Flows started by the entry agent and completed by the last agent, per second. A gap between "
        "started and completed success is flows lost on the way or failed.",
    ), 12, 8)
    layout.add(_timeseries(
        "End-to-end latency",
        [_target(f"histogram_quantile({q}, sum by (le) (rate({duration}[$__rate_interval])))", f"p{int(q * 100)}")
         for q in (0.5, 0.9, 0.99)],
        "s",
        thresholds=_thresholds((None, "green"), (threshold_s, "red")),
        description=f"Seconds from flow_started to completion. Dashed: the threshold ({flow.latency.threshold_ms} ms); "
        f"the last agent's histogram needs a bucket at it ({le_matcher(threshold_s)}).",
    ), 12, 8)
    return _dashboard(
        flow_dashboard_uid(flow.name),
        f"Flow {flow.name}",
        ["maas", "flow", f"team:{slos[0].team}"],
        layout.panels,
        _variables(cloudwatch=False),
        links=[{"title": "Agents", "type": "dashboards", "tags": ["maas", "agent"], "asDropdown": True,
                "includeVars": False, "keepTime": True}],
    )


def platform_dashboard(specs: list[AgentSpec]) -> dict[str, Any]:
    """One dashboard across agents: SLO table, budget left, alerts, traffic and LLM spend by agent.

    The ``$agent`` variable lists the agents; raw metrics are selected by ``namespace``,
    which is the agent's name (``AgentSpec.namespace``).
    """
    specs = sorted(specs, key=lambda s: s.name)
    agent_names = [s.name for s in specs]
    agent_var = {
        "name": "agent",
        "label": "Agent",
        "type": "custom",
        "query": ",".join(agent_names),
        "multi": True,
        "includeAll": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [{"selected": False, "text": n, "value": n} for n in agent_names],
        "hide": 0,
    }
    sel = 'agent=~"$agent"'
    nsel = 'namespace=~"$agent"'
    period = '__name__=~"slo:sli_error:ratio_rate(28d|30d)",'
    layout = _Layout()
    layout.row("Service level objectives")
    table = {
        "type": "table",
        "title": "SLOs by agent",
        "datasource": PROM,
        "targets": [
            _target(f"{expr}{{{period if ref == 'B' else ''}{sel}}}", ref=ref, instant=True, format="table")
            for ref, expr in (("A", "slo:objective:ratio"), ("B", "1 - "), ("C", BUDGET_REMAINING), ("D", CURRENT_BURN))
        ],
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True, "namespace": True},
                "renameByName": {"Value #A": "objective", "Value #B": "SLI (window)", "Value #C": "budget left",
                                 "Value #D": "burn rate (5m)"},
            }},
        ],
        "fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 3}, "overrides": [
            {"matcher": {"id": "byName", "options": "burn rate (5m)"}, "properties": [{"id": "unit", "value": "x"}]},
            {"matcher": {"id": "byName", "options": "budget left"}, "properties": [
                {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                {"id": "thresholds", "value": _thresholds((None, "red"), (0, "orange"), (0.25, "green"))},
            ]},
        ]},
        "options": {"showHeader": True, "sortBy": [{"displayName": "budget left", "desc": False}]},
    }
    layout.add(table, 16, 10)
    layout.add({
        "type": "bargauge",
        "title": "Least error budget left, by agent",
        "datasource": PROM,
        "targets": [_target(f"min by (agent) ({BUDGET_REMAINING}{{{sel}}})", "{{agent}}", instant=True)],
        "fieldConfig": {"defaults": {"unit": "percentunit", "min": 0, "max": 1,
                                     "thresholds": _thresholds((None, "red"), (0, "orange"), (0.25, "green"))}, "overrides": []},
        "options": {"orientation": "horizontal", "displayMode": "gradient",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }, 8, 10)
    layout.add({
        "type": "table",
        "title": "Firing alerts",
        "datasource": PROM,
        "targets": [_target(f'sum by (agent, slo, alertname, severity) (ALERTS{{alertstate="firing",{sel}}})',
                            instant=True, format="table")],
        "transformations": [{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {"showHeader": True},
    }, 24, 6)

    layout.row("Traffic")
    layout.add(_timeseries(
        "Requests by agent",
        [_target(f"sum by (namespace) (rate(http_requests_total{{{nsel}}}[$__rate_interval]))", "{{namespace}}")],
        "reqps",
    ), 12, 8)
    layout.add(_timeseries(
        "Tasks by agent and outcome",
        [_target(f"sum by (namespace, outcome) (rate(agent_tasks_total{{{nsel}}}[$__rate_interval]))",
                 "{{namespace}} {{outcome}}")],
        "ops",
    ), 12, 8)

    layout.row("LLM")
    spend = names.LLM_GATEWAY_SPEND_METRIC
    by_agent = names.LLM_GATEWAY_AGENT_LABEL
    gateway_sel = f'namespace="{names.LLM_GATEWAY_NAMESPACE}",{by_agent}=~"$agent"'
    layout.add({
        "type": "bargauge",
        "title": f"Gateway spend, last {LLM_BUDGET_DAYS} days",
        "description": "USD the LLM gateway priced each agent's calls at (measured by the gateway). Bedrock spend: "
                       "the agents' AWS Budgets and Cost Explorer (tag agent).",
        "datasource": PROM,
        "targets": [_target(f"sum by ({by_agent}) (increase({spend}{{{gateway_sel}}}[{LLM_BUDGET_DAYS}d]))",
                            f"{{{{{by_agent}}}}}", instant=True)],
        "fieldConfig": {"defaults": {"unit": "currencyUSD", "decimals": 0}, "overrides": []},
        "options": {"orientation": "horizontal", "displayMode": "basic",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }, 8, 8)
    limited = [(s, llm_gateway_limit(s)) for s in specs if llm_gateway_limit(s)]
    layout.add({
        "type": "bargauge",
        "title": "Gateway spend against limit",
        "description": "Last 30 days' gateway spend divided by the limit the gateway enforces on the agent's credential.",
        "datasource": PROM,
        "targets": [
            _target(f"sum(increase({gateway_spend(s.name)}[{LLM_BUDGET_DAYS}d])) / {number(limit)}",  # type: ignore[arg-type]
                    s.name, ref=f"B{i}", instant=True)
            for i, (s, limit) in enumerate(limited)
        ],
        "fieldConfig": {"defaults": {"unit": "percentunit", "min": 0, "max": 1.2,
                                     "thresholds": _thresholds((None, "green"), (0.8, "orange"), (1, "red"))}, "overrides": []},
        "options": {"orientation": "horizontal", "displayMode": "gradient",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }, 8, 8)
    layout.add(_timeseries(
        "Gateway tokens by agent",
        [_target(f"sum by ({by_agent}) (rate({names.LLM_GATEWAY_TOKENS_METRIC}{{{gateway_sel}}}[$__rate_interval]))",
                 f"{{{{{by_agent}}}}}")],
        "short",
    ), 8, 8)
    layout.add({
        "type": "bargauge",
        "title": f"Agent-reported LLM spend, last {LLM_BUDGET_DAYS} days",
        "description": "What agents report themselves in agent_llm_cost_usd_total (optional; not measured by the platform).",
        "datasource": PROM,
        "targets": [_target(f"sum by (namespace) (increase({AGENT_LLM_COST_METRIC}{{{nsel}}}[{LLM_BUDGET_DAYS}d]))",
                            "{{namespace}}", instant=True)],
        "fieldConfig": {"defaults": {"unit": "currencyUSD", "decimals": 0}, "overrides": []},
        "options": {"orientation": "horizontal", "displayMode": "basic",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }, 12, 8)
    layout.add(_timeseries(
        "Agent-reported tokens by agent",
        [_target(f"sum by (namespace) (rate({AGENT_LLM_TOKENS_METRIC}{{{nsel}}}[$__rate_interval]))", "{{namespace}}")],
        "short",
        description="What agents report themselves in agent_llm_tokens_total (optional).",
    ), 12, 8)

    return _dashboard(
        PLATFORM_UID,
        "MAaaS platform: agents",
        ["maas", "platform"],
        layout.panels,
        _variables(cloudwatch=False) + [agent_var],
        links=[{"title": "Agents", "type": "dashboards", "tags": ["maas", "agent"], "asDropdown": True,
                "includeVars": False, "keepTime": True}],
    )
