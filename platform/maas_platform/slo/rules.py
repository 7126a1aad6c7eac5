"""SLOs -> Prometheus recording rules and multi-window, multi-burn-rate alerts.

One definition renders both the ``spec`` of the agent's PrometheusRule and the plain
``groups:`` file ``promtool check rules`` / ``promtool test rules`` read.

Per SLO, two groups:

``maas-slo-<agent>-<slo>`` (default interval)
    ``slo:sli_error:ratio_rate<w>`` for w in 5m 30m 1h 2h 6h 1d 3d, ``slo:current_burn_rate:ratio``,
    ``slo:objective:ratio``, ``slo:error_budget:ratio``, then the four burn-rate alerts (rules of
    a group run in order, so the alerts read the ratios recorded in the same evaluation).
``maas-slo-<agent>-<slo>-period`` (``PERIOD_INTERVAL``)
    ``slo:sli_error:ratio_rate<28d|30d>`` and ``slo:period_error_budget_remaining:ratio``: the whole
    window, request-weighted over the raw counters, evaluated less often because it is costly.

Series names follow Sloth; every series and alert carries ``slo``, ``agent``, ``team`` and
``namespace``.
"""

from __future__ import annotations

from typing import Any, Optional

import yaml

from ..config.agents import AgentSpec
from .model import BURN_CONDITIONS, RATE_WINDOWS, SLO, BurnCondition, agent_slos, le_matcher, number

RUNBOOK_BASE = "https://github.com/acme/maas/blob/main/docs/runbooks"
PERIOD_INTERVAL = "2m"
PROBE_FAILING_FOR = "5m"
LLM_BUDGET_DAYS = 30

# Names of the recorded series, as Sloth names them.
RATIO = "slo:sli_error:ratio_rate{window}"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
CURRENT_BURN = "slo:current_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"

_WHAT = {
    "availability": "responses that are 5xx",
    "latency": "requests slower than the threshold",
    "accuracy": "tasks that fail",
    "probe": "health probes that fail",
}


def _record(name: str, expr: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"record": name, "expr": expr, "labels": dict(labels)}


def _pct(value: float) -> str:
    return f"{value * 100:.4g}%"


def burn_threshold(slo: SLO, condition: BurnCondition) -> float:
    """The error ratio above which ``condition`` fires: factor x (1 - objective)."""
    return round(condition.factor * slo.error_budget, 12)


def burn_alert(slo: SLO, condition: BurnCondition, runbook_base: str = RUNBOOK_BASE) -> dict[str, Any]:
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
            "summary": f"{slo.agent}: the {slo.name} error budget burns over {factor}x too fast "
            f"({condition.long_window} and {condition.short_window} windows)",
            "description": (
                f"{slo.agent}'s {slo.name} error ratio (share of {_WHAT[slo.name]}) is "
                f'{{{{ printf "%.3g" $value }}}} over the last {condition.long_window} and above {threshold} over '
                f"the last {condition.short_window} as well; {threshold} is {factor} times the error budget {eb} "
                f"(objective {number(slo.objective)} over {slo.window}). At this pace the {slo.window} budget lasts "
                f"{days_to_exhaust:.3g} days: {_pct(condition.budget_share(slo.window_days))} of it burns every "
                f"{condition.long_window}."
            ),
            "runbook_url": f"{runbook_base}/{slo.runbook}",
        },
    }


def slo_rule_groups(slo: SLO, runbook_base: str = RUNBOOK_BASE) -> list[dict[str, Any]]:
    """The two rule groups of one SLO (see the module docstring)."""
    labels = slo.labels
    eb = number(slo.error_budget)
    rules: list[dict[str, Any]] = [_record(RATIO.format(window=w), slo.error_ratio(w), labels) for w in RATE_WINDOWS]
    rules += [
        _record(CURRENT_BURN, f"{RATIO.format(window='5m')}{slo.selector} / {eb}", labels),
        _record(OBJECTIVE, f"vector({number(slo.objective)})", labels),
        _record(ERROR_BUDGET, f"vector({eb})", labels),
    ]
    rules += [burn_alert(slo, condition, runbook_base) for condition in BURN_CONDITIONS]
    if slo.name == "latency":
        rules.append(_latency_bucket_missing(slo, runbook_base))
    if slo.name == "probe":
        rules.append(probe_failing_alert(slo, runbook_base))
    period_ratio = RATIO.format(window=slo.window)
    period = [
        _record(period_ratio, slo.error_ratio(slo.window), labels),
        _record(BUDGET_REMAINING, f"1 - ({period_ratio}{slo.selector} / {eb})", labels),
    ]
    name = f"maas-slo-{slo.agent}-{slo.name}"
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


def llm_budget_rules(spec: AgentSpec, namespace: str, runbook_base: str = RUNBOOK_BASE) -> list[dict[str, Any]]:
    """Alerts on the agent's LLM spend (``agent_llm_cost_usd_total``) against ``budget.llm_monthly_usd``.

    A month is a rolling 30 days. ``LLMBudgetForecastExceeded`` (ticket): at the pace of the
    last 24 hours, 30 days would cost more than the limit. ``LLMBudgetExceeded`` (page): the
    last 30 days cost more than the limit. Empty when the agent has no LLM limit.
    """
    limit = spec.budget.llm_monthly_usd
    if limit is None:
        return []
    labels = {"agent": spec.name, "team": spec.team, "namespace": namespace, "budget": "llm"}
    cost = f'agent_llm_cost_usd_total{{namespace="{namespace}"}}'
    usd = number(limit)
    runbook = f"{runbook_base}/slo-llm-budget.md"
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
                    f"on LLM calls in {LLM_BUDGET_DAYS} days; its limit (budget.llm_monthly_usd) is {usd} USD."
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
                    f"{spec.name} spent {{{{ $value | printf \"%.2f\" }}}} USD on LLM calls in the last "
                    f"{LLM_BUDGET_DAYS} days; its limit (budget.llm_monthly_usd) is {usd} USD."
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
    "burn_alert", "burn_threshold", "llm_budget_rules", "probe_failing_alert", "prometheus_rule_spec",
    "rule_groups", "rules_yaml", "slo_rule_groups",
]
