"""SLOs -> Prometheus recording rules and multi-window, multi-burn-rate alerts.

One definition renders both the ``spec`` of the agent's PrometheusRule and the plain
``groups:`` file ``promtool check rules`` / ``promtool test rules`` read.

Per SLO, two groups:

``maas-slo-<agent>-<slo>`` (``maas-flow-<flow>-<slo>`` for a flow; default interval)
    ``slo:sli_error:ratio_rate<w>`` for w in 5m 30m 1h 2h 6h 1d 3d, ``slo:current_burn_rate:ratio``,
    ``slo:objective:ratio``, ``slo:error_budget:ratio``, then the four burn-rate alerts (rules of
    a group run in order, so the alerts read the ratios recorded in the same evaluation). The
    golden SLO first records its probe's fresh results (``slo:golden_probe_cases:fresh``) and
    ends with the alerts on a probe that cannot run.
``maas-slo-<agent>-<slo>-period`` (``PERIOD_INTERVAL``)
    ``slo:sli_error:ratio_rate<28d|30d>`` and ``slo:period_error_budget_remaining:ratio``: the whole
    window, request-weighted over the raw counters, evaluated less often because it is costly;
    then ``SLOErrorBudgetExhausted`` once nothing of the budget is left.

Series names follow Sloth; every series and alert carries ``slo``, ``agent`` (``flow`` for a flow's),
``team`` and ``namespace``. ``slo_rule_groups``, ``burn_alert`` and ``budget_exhausted_alert`` take
an agent's :class:`~.model.SLO` or a flow's :class:`~.flows.FlowSLO` alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

import yaml

from .. import names
from ..config.agents import AgentSpec
from .model import (
    BURN_CONDITIONS,
    GOLDEN_FRESH,
    GOLDEN_STALE_PERIODS,
    RATE_WINDOWS,
    SLO,
    BurnCondition,
    agent_slos,
    le_matcher,
    number,
)

if TYPE_CHECKING:
    from .flows import FlowSLO

AnySLO = Union[SLO, "FlowSLO"]

RUNBOOK_BASE = "https://github.com/acme/maas/blob/main/docs/runbooks"
PERIOD_INTERVAL = "2m"
PROBE_FAILING_FOR = "5m"
LLM_BUDGET_DAYS = 30
# SLOErrorBudgetExhausted waits this long: the window's ratio moves slowly and noisily around the
# line once the budget is spent; an hour below it is a spent budget, not a blip.
BUDGET_EXHAUSTED_FOR = "1h"
# Golden probe: a share of cases ending in ``error`` (no answer to judge) above this, over
# GOLDEN_ERRORS_WINDOW and for GOLDEN_ERRORS_FOR, opens a ticket.
GOLDEN_ERRORS_SHARE = 0.1
GOLDEN_ERRORS_WINDOW = "1h"
GOLDEN_ERRORS_FOR = "30m"

# Names of the recorded series, as Sloth names them.
RATIO = "slo:sli_error:ratio_rate{window}"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
CURRENT_BURN = "slo:current_burn_rate:ratio"
BUDGET_REMAINING = names.SLO_BUDGET_REMAINING


def _record(name: str, expr: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"record": name, "expr": expr, "labels": dict(labels)}


def _pct(value: float) -> str:
    return f"{value * 100:.4g}%"


def burn_threshold(slo: AnySLO, condition: BurnCondition) -> float:
    """The error ratio above which ``condition`` fires: factor x (1 - objective)."""
    return round(condition.factor * slo.error_budget, 12)


def burn_alert(slo: AnySLO, condition: BurnCondition, runbook_base: str = RUNBOOK_BASE) -> dict[str, Any]:
    long = RATIO.format(window=condition.long_window) + slo.selector
    short = RATIO.format(window=condition.short_window) + slo.selector
    factor, eb = number(condition.factor), number(slo.error_budget)
    days_to_exhaust = slo.window_days / condition.factor
    threshold = number(burn_threshold(slo, condition))
    return {
        "alert": condition.alert,
        "expr": f"(\n  {long} > ({factor} * {eb})\nand\n  {short} > ({factor} * {eb})\n)",
        "labels": {
            **slo.labels,
            "severity": condition.severity,
            "burn_window": condition.long_window,
        },
        "annotations": {
            "summary": f"{slo.subject}: the {slo.kind} error budget burns over {factor}x too fast "
            f"({condition.long_window} and {condition.short_window} windows)",
            "description": (
                f"{slo.subject}'s {slo.kind} error ratio (share of {slo.what}) is "
                f'{{{{ printf "%.3g" $value }}}} over the last {condition.long_window} and above {threshold} over '
                f"the last {condition.short_window} as well; {threshold} is {factor} times the error budget {eb} "
                f"(objective {number(slo.objective)} over {slo.window}). At this pace the {slo.window} budget lasts "
                f"{days_to_exhaust:.3g} days: {_pct(condition.budget_share(slo.window_days))} of it burns every "
                f"{condition.long_window}."
            ),
            "runbook_url": f"{runbook_base}/{slo.runbook}",
        },
    }


def budget_exhausted_alert(slo: AnySLO, runbook_base: str = RUNBOOK_BASE, for_: str = BUDGET_EXHAUSTED_FOR) -> dict[str, Any]:
    """Nothing left of the window's error budget: a ticket, and feature rollouts freeze.

    ``docs/error-budgets.md`` (beside ``docs/runbooks``) is the policy the description links.
    """
    policy = runbook_base.rsplit("/", 1)[0] + "/error-budgets.md"
    return {
        "alert": "SLOErrorBudgetExhausted",
        "expr": f"{BUDGET_REMAINING}{slo.selector} <= 0",
        "for": for_,
        "labels": {**slo.labels, "severity": "ticket"},
        "annotations": {
            "summary": f"{slo.subject}: the {slo.kind} error budget of the last {slo.window} is spent",
            "description": (
                f"{slo.subject}'s {slo.kind} SLO (objective {number(slo.objective)} over {slo.window}) has "
                f'{{{{ printf "%.3g" $value }}}} of its error budget left, at or below 0 for {for_}. '
                f"Feature rollouts of {slo.frozen} workloads are frozen until the budget is positive again: "
                f"only fixes and rollbacks ship ({policy})."
            ),
            "runbook_url": f"{runbook_base}/slo-error-budget-exhausted.md",
        },
    }


def slo_rule_groups(slo: AnySLO, runbook_base: str = RUNBOOK_BASE) -> list[dict[str, Any]]:
    """The two rule groups of one SLO, an agent's or a flow's (see the module docstring)."""
    labels = slo.labels
    eb = number(slo.error_budget)
    rules: list[dict[str, Any]] = []
    if slo.name == "golden":
        rules.append(_record(GOLDEN_FRESH, slo.golden_fresh_expr(), labels))  # type: ignore[union-attr]
    rules += [_record(RATIO.format(window=w), slo.error_ratio(w), labels) for w in RATE_WINDOWS]
    rules += [
        _record(CURRENT_BURN, f"{RATIO.format(window='5m')}{slo.selector} / {eb}", labels),
        _record(OBJECTIVE, f"vector({number(slo.objective)})", labels),
        _record(ERROR_BUDGET, f"vector({eb})", labels),
    ]
    rules += [burn_alert(slo, condition, runbook_base) for condition in BURN_CONDITIONS]
    if slo.name == "latency":
        rules.append(_latency_bucket_missing(slo, runbook_base))
    if slo.name == "probe":
        rules.append(probe_failing_alert(slo, runbook_base))  # type: ignore[arg-type]
    if slo.name == "golden":
        rules += golden_probe_alerts(slo, runbook_base)  # type: ignore[arg-type]
    period_ratio = RATIO.format(window=slo.window)
    period = [
        _record(period_ratio, slo.error_ratio(slo.window), labels),
        _record(BUDGET_REMAINING, f"1 - ({period_ratio}{slo.selector} / {eb})", labels),
        budget_exhausted_alert(slo, runbook_base),
    ]
    name = slo.group_name
    return [
        {"name": name, "rules": rules},
        {"name": f"{name}-period", "interval": PERIOD_INTERVAL, "rules": period},
    ]


def probe_failing_alert(slo: SLO, runbook_base: str = RUNBOOK_BASE, for_: str = PROBE_FAILING_FOR) -> dict[str, Any]:
    """Every synthetic probe of the agent failing (or none reporting) for ``for_``."""
    job = slo.probe_job
    return {
        "alert": "AgentProbeFailing",
        "expr": f'(max(probe_success{{job="{job}"}}) == 0) or absent(probe_success{{job="{job}"}})',
        "for": for_,
        "labels": {**slo.labels, "severity": "page"},
        "annotations": {
            "summary": f"{slo.agent}: the synthetic health probe has failed for {for_}",
            "description": (
                f"probe_success{{job=\"{job}\"}} has been 0 (or absent) for {for_}: the blackbox probe of "
                f"{slo.agent}'s health endpoint gets no healthy answer through its Service."
            ),
            "runbook_url": f"{runbook_base}/probe-failing.md",
        },
    }


def golden_probe_alerts(slo: SLO, runbook_base: str = RUNBOOK_BASE) -> list[dict[str, Any]]:
    """The golden probe cannot measure: never a burn alert, these two instead.

    ``GoldenProbeNotRunning`` (ticket): ``maas_probe_up`` 0 (no case got an answer), the last run
    older than ``GOLDEN_STALE_PERIODS`` schedule periods, or no run ever pushed, for two periods
    (at least 10 minutes) — one failed or late run is the next run's to repair. A ticket, not a
    page: while the probe is blind the golden SLO only stops judging; an agent that answers
    nobody pages through its availability and health-probe alerts. ``GoldenProbeErrors``
    (ticket): over ``GOLDEN_ERRORS_WINDOW`` more than ``GOLDEN_ERRORS_SHARE`` of the cases ended
    in ``error`` (time-outs, 5xx, refused): the SLI judges fewer answers than the set holds.
    """
    period = slo.period_seconds or 0
    stale = GOLDEN_STALE_PERIODS * period
    for_ = _duration(max(2 * period, 600))
    up = f"{names.PROBE_UP_METRIC}{slo.probe_selector()}"
    last = f"{names.PROBE_LAST_RUN_METRIC}{slo.probe_selector()}"
    runbook = f"{runbook_base}/golden-probe-not-running.md"
    fresh = f'{GOLDEN_FRESH}{{{names.PROBE_AGENT_LABEL}="{slo.agent}"'
    window = GOLDEN_ERRORS_WINDOW
    return [
        {
            "alert": "GoldenProbeNotRunning",
            "expr": (
                f"(max({up}) == 0)\nor\n(time() - max({last}) > {stale})\n"
                f"or\n(vector(1) unless on () {last})"
            ),
            "for": for_,
            "labels": {**slo.labels, "severity": "ticket"},
            "annotations": {
                "summary": f"{slo.agent}: the golden-set probe has not measured for {for_}",
                "description": (
                    f"The maas-probe runs of {slo.agent} (schedule every {_duration(period)} at most) either reached "
                    f"no answer (maas_probe_up 0), last pushed over {_duration(stale)} ago, or never pushed. "
                    f"The golden SLO counts no result older than {_duration(stale)}: it is blind, not green."
                ),
                "runbook_url": runbook,
            },
        },
        {
            "alert": "GoldenProbeErrors",
            "expr": (
                f'sum(sum_over_time({fresh},{names.PROBE_OUTCOME_LABEL}="error"}}[{window}]))\n/\n'
                f"(sum(sum_over_time({fresh}}}[{window}])) > 0)\n> {number(GOLDEN_ERRORS_SHARE)}"
            ),
            "for": GOLDEN_ERRORS_FOR,
            "labels": {**slo.labels, "severity": "ticket"},
            "annotations": {
                "summary": f"{slo.agent}: over {_pct(GOLDEN_ERRORS_SHARE)} of golden-set cases get no answer",
                "description": (
                    f'{{{{ printf "%.3g" $value }}}} of the golden-set cases of {slo.agent} over the last {window} '
                    f"ended in error (time-out, 5xx, refused): no answer to judge, so the golden SLO judges "
                    f"fewer answers than the set holds."
                ),
                "runbook_url": runbook,
            },
        },
    ]


def _duration(seconds: int) -> str:
    """Seconds as a Prometheus duration: ``300`` -> ``5m``, ``86400`` -> ``1d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _latency_bucket_missing(slo: SLO, runbook_base: str) -> dict[str, Any]:
    ns, le = slo.namespace, le_matcher(slo.threshold_seconds)  # type: ignore[arg-type]
    return {
        "alert": "SLOLatencyBucketMissing",
        "expr": (
            f'sum(rate(http_request_duration_seconds_count{{namespace="{ns}"}}[10m])) > 0\n'
            f'unless\nsum(rate(http_request_duration_seconds_bucket{{namespace="{ns}",{le}}}[10m]))'
        ),
        "for": "30m",
        "labels": {**slo.labels, "severity": "ticket"},
        "annotations": {
            "summary": f"{slo.agent}: no histogram bucket at the {slo.threshold_ms} ms latency threshold",
            "description": (
                f"{slo.agent} exposes http_request_duration_seconds but no bucket with "
                f"le={slo.threshold_seconds:g}: its latency SLO has no data and cannot alert."
            ),
            "runbook_url": f"{runbook_base}/slo-latency-bucket-missing.md",
        },
    }


# Where the LLM budget alerts read spend. The gateway's counter is measured where the calls pass and
# is selected by the gateway's own namespace: a series an agent exports under the same name from
# its own pods carries its own namespace, so it cannot stand in for the gateway's (with
# honor_labels false, the default and what the platform's ServiceMonitors leave, Prometheus renames
# a scraped ``namespace`` label to ``exported_namespace`` and attaches the target's; Prometheus
# configuration reference, scrape_config.honor_labels, checked 2026-12-03). The OpenTelemetry
# collector's exporter is scraped with honorLabels (it carries the senders' job and instance), but
# that scrape sets every series' ``namespace`` to the collector's own and keeps a sender's as
# ``exported_namespace`` (components/observability/values.py, otel_exporter_metric_relabelings;
# tests/test_otel_labels.py on a real Prometheus), so a metric sent over OTLP cannot claim the
# gateway's namespace either. Bedrock's spend reaches the platform as the agent's AWS Budget
# on its Bedrock spend (notifications at 80 % and forecast 100 %, a deny action at 100 %) and as
# CloudWatch AWS/Bedrock metrics per inference profile; no CloudWatch exporter runs, so Prometheus
# sees neither, and these rules do not cover Bedrock (docs/llm-access.md).
LLM_SOURCE_GATEWAY = "gateway"
LLM_SOURCE_AGENT = "agent-reported"
AGENT_LLM_COST_METRIC = "agent_llm_cost_usd_total"
AGENT_LLM_TOKENS_METRIC = "agent_llm_tokens_total"


def gateway_selector(agent: str) -> str:
    """The label matchers of one agent's series of the LLM gateway's metrics."""
    return f'{{namespace="{names.LLM_GATEWAY_NAMESPACE}",{names.LLM_GATEWAY_AGENT_LABEL}="{agent}"}}'


def gateway_spend(agent: str) -> str:
    """The gateway's spend counter (USD) of one agent."""
    return f"{names.LLM_GATEWAY_SPEND_METRIC}{gateway_selector(agent)}"


def llm_gateway_limit(spec: AgentSpec) -> Optional[float]:
    """The monthly USD limit the gateway enforces on the agent's credential, or None without a gateway path."""
    gateway = spec.llm.gateway
    if gateway is None:
        return None
    return gateway.monthly_usd or spec.budget.llm_monthly_usd


def llm_budget_source(spec: AgentSpec, namespace: Optional[str] = None) -> Optional[tuple[str, str, float]]:
    """What the agent's LLM budget alerts read: (source, counter with its matchers, monthly USD limit).

    An agent with a gateway path: the gateway's spend counter against the gateway's limit. An agent
    that declares no path and sets ``budget.llm_monthly_usd``: what it reports itself
    (``agent_llm_cost_usd_total``, optional, trusted only as far as the agent is). An agent whose
    only path is Bedrock: None — its AWS Budget alerts and stops it.
    """
    limit = llm_gateway_limit(spec)
    if limit is not None:
        return LLM_SOURCE_GATEWAY, gateway_spend(spec.name), limit
    if spec.llm.bedrock is None and spec.budget.llm_monthly_usd:
        selector = f'{{namespace="{namespace or spec.namespace}"}}'
        return LLM_SOURCE_AGENT, f"{AGENT_LLM_COST_METRIC}{selector}", spec.budget.llm_monthly_usd
    return None


def llm_budget_rules(spec: AgentSpec, namespace: str, runbook_base: str = RUNBOOK_BASE) -> list[dict[str, Any]]:
    """Alerts on the agent's LLM spend against its monthly limit (see :func:`llm_budget_source`).

    A month is a rolling 30 days. ``LLMBudgetForecastExceeded`` (ticket): at the pace of the
    last 24 hours, 30 days would cost more than the limit. ``LLMBudgetExceeded`` (page): the
    last 30 days cost more than the limit. Both carry ``source`` (``gateway`` or
    ``agent-reported``). Empty when nothing the platform can read has a limit.
    """
    found = llm_budget_source(spec, namespace)
    if found is None:
        return []
    source, cost, limit = found
    labels = {"agent": spec.name, "team": spec.team, "namespace": namespace, "budget": "llm", "source": source}
    usd = number(limit)
    runbook = f"{runbook_base}/slo-llm-budget.md"
    if source == LLM_SOURCE_GATEWAY:
        measured = "through the LLM gateway (measured by the gateway)"
        key = "llm.gateway.monthly_usd" if spec.llm.gateway and spec.llm.gateway.monthly_usd else "budget.llm_monthly_usd"
        stop = " The gateway refuses the agent's calls once its credential's budget is spent."
    else:
        measured = "on LLM calls (as the agent reports it in agent_llm_cost_usd_total)"
        key, stop = "budget.llm_monthly_usd", ""
    return [
        {
            "alert": "LLMBudgetForecastExceeded",
            "expr": f"sum(rate({cost}[1d])) * {LLM_BUDGET_DAYS * 86400} > {usd}",
            "for": "1h",
            "labels": {**labels, "severity": "ticket"},
            "annotations": {
                "summary": f"{spec.name}: LLM spend is on course to exceed its {usd} USD monthly limit",
                "description": (
                    f"At the pace of the last 24 hours {spec.name} would spend {{{{ $value | printf \"%.2f\" }}}} USD "
                    f"{measured} in {LLM_BUDGET_DAYS} days; its limit ({key}) is {usd} USD.{stop}"
                ),
                "runbook_url": runbook,
            },
        },
        {
            "alert": "LLMBudgetExceeded",
            "expr": f"sum(increase({cost}[{LLM_BUDGET_DAYS}d])) > {usd}",
            "for": "5m",
            "labels": {**labels, "severity": "page"},
            "annotations": {
                "summary": f"{spec.name}: LLM spend over the last {LLM_BUDGET_DAYS} days exceeds its {usd} USD limit",
                "description": (
                    f"{spec.name} spent {{{{ $value | printf \"%.2f\" }}}} USD {measured} in the last "
                    f"{LLM_BUDGET_DAYS} days; its limit ({key}) is {usd} USD.{stop}"
                ),
                "runbook_url": runbook,
            },
        },
    ]


def rule_groups(
    spec: AgentSpec,
    namespace: str,
    runbook_base: str = RUNBOOK_BASE,
    *,
    include_probe: Optional[bool] = None,
) -> list[dict[str, Any]]:
    """Every rule group of one agent, in the plain ``groups:`` form (items ``{name, rules}``).

    Two groups per SLO (see ``agent_slos``), and ``maas-llm-budget-<agent>`` when the agent
    has an LLM spend limit.
    """
    runbook_base = runbook_base.rstrip("/")
    groups: list[dict[str, Any]] = []
    for slo in agent_slos(spec, namespace, include_probe=include_probe):
        groups += slo_rule_groups(slo, runbook_base)
    llm = llm_budget_rules(spec, namespace, runbook_base)
    if llm:
        groups.append({"name": f"maas-llm-budget-{spec.name}", "interval": "5m", "rules": llm})
    return groups


def prometheus_rule_spec(
    spec: AgentSpec,
    namespace: str,
    runbook_base: str = RUNBOOK_BASE,
    *,
    include_probe: Optional[bool] = None,
) -> dict[str, Any]:
    """The ``spec`` of the agent's ``monitoring.coreos.com/v1`` PrometheusRule."""
    return {"groups": rule_groups(spec, namespace, runbook_base, include_probe=include_probe)}


class _Dumper(yaml.SafeDumper):
    """Writes multi-line expressions as literal blocks (``|``), as a person would."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def rules_yaml(groups: list[dict[str, Any]]) -> str:
    """A rule file (``groups:``) as ``promtool`` and Prometheus read it; deterministic."""
    return yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=120, default_flow_style=False)


__all__ = [
    "BUDGET_REMAINING", "CURRENT_BURN", "ERROR_BUDGET", "OBJECTIVE", "RATIO", "RUNBOOK_BASE",
    "budget_exhausted_alert", "burn_alert", "burn_threshold", "gateway_selector", "golden_probe_alerts", "gateway_spend", "llm_budget_rules", "llm_budget_source",
    "llm_gateway_limit", "probe_failing_alert", "prometheus_rule_spec",
    "rule_groups", "rules_yaml", "slo_rule_groups",
]
