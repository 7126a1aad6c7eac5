"""What an OTLP sender can make the platform's Prometheus believe, tried on a real Prometheus.

The collector's exporter is scraped with honorLabels, so every label of its series is whatever the
sender put there. A stdlib HTTP server stands in for the exporter, serving in the text format what
it would expose for honest senders and for forging ones (a flow's counters under another agent's
namespace, the LLM gateway's spend, the golden probe's gauges under ``job="maas-probe"``, a
recorded budget series, a health probe's ``probe_success``). Debian's ``prometheus`` scrapes it
twice, once for the module, each scrape told apart by a target label ``scrape``:

* ``otel``: the scrape the prometheus-operator makes of the collector's ServiceMonitor endpoint,
  its honor_labels, relabel_configs and metric_relabel_configs translated from the chart values
  (:func:`scrape_config`);
* ``unguarded``: the same endpoint with honorLabels and no relabelings, the scrape before them. Every
  forged series must match the SLIs' selectors there, so a test cannot pass on a selector typo.

The SLIs' selectors are the platform's own (the SLOs' ``good_total_queries``, ``gateway_spend``,
the error-budget gate's ``selector``), narrowed to one scrape with ``scrape="..."``.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Iterator

import pytest
import yaml

from maas_platform import names
from maas_platform.cli.error_budget import selector as budget_selector
from maas_platform.components.observability.values import otel_collector_values
from maas_platform.slo import SLO, FlowSLO
from maas_platform.slo.model import GOLDEN_FRESH
from maas_platform.slo.rules import RATIO, gateway_spend
from prometheus_server import binaries, free_port, running

AGENT, TEAM, FLOW = "research", "support", "ticket-research"
INTRUDER = "support/intruder"  # job of the forging sender: service.namespace/service.name
HONEST = "support/research"
OWN = names.MONITORING_NAMESPACE  # the collector's namespace: the scrape target's
EXPORTER_PORT = "prom-exporter"

# prometheus-operator v0.93.0, pkg/apis/monitoring/v1/prometheus_types.go, RelabelConfig: the JSON
# name of each field and the Prometheus relabel_config key generateRelabelConfig
# (pkg/prometheus/promcfg.go) writes for it; the action is written lower-cased. Read 2026-12-03.
RELABEL_KEYS = {
    "sourceLabels": "source_labels", "separator": "separator", "targetLabel": "target_label",
    "regex": "regex", "modulus": "modulus", "replacement": "replacement", "action": "action",
}
# The Endpoint fields (pkg/apis/monitoring/v1/types.go) this translation knows; any other field
# of the collector's endpoint fails the test rather than being silently left out.
ENDPOINT_KEYS = {"port", "interval", "honorLabels", "relabelings", "metricRelabelings"}


def exporter_endpoint() -> dict[str, Any]:
    [endpoint] = [e for e in otel_collector_values("us-east-1")["serviceMonitor"]["metricsEndpoints"]
                  if e["port"] == EXPORTER_PORT]
    return endpoint


def relabel_config(rule: dict[str, Any]) -> dict[str, Any]:
    """One ServiceMonitor RelabelConfig (camelCase) as Prometheus' relabel_config (snake_case)."""
    unknown = set(rule) - set(RELABEL_KEYS)
    assert not unknown, f"RelabelConfig has no field {sorted(unknown)}"
    config = {RELABEL_KEYS[key]: value for key, value in rule.items()}
    if "action" in config:
        config["action"] = config["action"].lower()
    return config


def target_labels(scrape: str) -> dict[str, str]:
    """The labels the operator's relabel_configs give a ServiceMonitor target (namespace, service,
    pod, container, job from the Service's name, endpoint from the port), plus ``scrape``."""
    return {"namespace": OWN, "service": names.OTEL_COLLECTOR_NAME, "pod": f"{names.OTEL_COLLECTOR_NAME}-0",
            "container": "opentelemetry-collector", "job": names.OTEL_COLLECTOR_NAME, "endpoint": EXPORTER_PORT,
            "scrape": scrape}


def scrape_config(endpoint: dict[str, Any], target: str, scrape: str) -> dict[str, Any]:
    """The scrape the operator generates for one ServiceMonitor endpoint, with the target static
    and scraped every second (the endpoint's own interval would make the module wait)."""
    unknown = set(endpoint) - ENDPOINT_KEYS
    assert not unknown, f"the translation does not know the endpoint fields {sorted(unknown)}"
    config: dict[str, Any] = {
        "job_name": f"serviceMonitor/{OWN}/{names.OTEL_COLLECTOR_NAME}/{scrape}",
        "scrape_interval": "1s",
        "honor_labels": bool(endpoint.get("honorLabels", False)),
        "static_configs": [{"targets": [target], "labels": target_labels(scrape)}],
    }
    if endpoint.get("relabelings"):
        config["relabel_configs"] = [relabel_config(rule) for rule in endpoint["relabelings"]]
    if endpoint.get("metricRelabelings"):
        config["metric_relabel_configs"] = [relabel_config(rule) for rule in endpoint["metricRelabelings"]]
    return config


# -- what the exporter exposes ----------------------------------------------------------------

def _series(name: str, value: float, **labels: str) -> str:
    text = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return f"{name}{{{text}}} {value!r}"


def _forged_probe() -> list[str]:
    """Every gauge the golden-set probe pushes, under its job and grouping key."""
    key = {"job": names.PROBE_JOB, names.PROBE_AGENT_LABEL: AGENT}
    lines = [_series(names.PROBE_CASES_METRIC, 1000, **key, **{names.PROBE_OUTCOME_LABEL: outcome})
             for outcome in ("pass", "fail")]
    lines.append(_series(names.PROBE_MODEL_JUDGED_METRIC, 5, **key, **{names.PROBE_OUTCOME_LABEL: "pass"}))
    lines.append(_series(names.PROBE_CASE_DURATION_METRIC, 0.1, **key, **{names.PROBE_CASE_LABEL: "c1"}))
    lines.append(_series(names.PROBE_LAST_RUN_METRIC, time.time(), **key))  # a fresh run
    for metric in (names.PROBE_RUN_DURATION_METRIC, names.PROBE_UP_METRIC):
        lines.append(_series(metric, 1, **key))
    # The same gauge under the sender's own job, and another name under the probe's job.
    lines.append(_series(names.PROBE_CASES_METRIC, 7, job=INTRUDER, **{names.PROBE_AGENT_LABEL: AGENT},
                         **{names.PROBE_OUTCOME_LABEL: "pass"}))
    lines.append(_series("golden_cases", 7, job=names.PROBE_JOB, **{names.PROBE_AGENT_LABEL: AGENT}))
    return lines


def exposition() -> str:
    forged = {"job": INTRUDER, "instance": "intruder-1"}
    flow = {names.FLOW_LABEL: FLOW, "namespace": AGENT}
    lines = [
        # An honest sender: no namespace of its own.
        _series("orders_processed_total", 7, job=HONEST, instance="research-1", otel_scope_name="orders"),
        _series("target_info", 1, job=HONEST, instance="research-1", k8s_namespace_name=AGENT),
        # A sender naming its own namespace explicitly, as empty, and as the collector's.
        _series("queue_depth", 3, job=HONEST, instance="research-1", namespace=""),
        _series("cache_hits_total", 4, job=HONEST, instance="research-1", namespace=OWN),
        # Flows, agent SLIs and the LLM gateway's spend, claimed from another pod.
        _series(names.FLOW_STARTED_METRIC, 40, **forged, **flow),
        _series(names.FLOW_COMPLETED_METRIC, 40, **forged, **flow, outcome="success"),
        _series(f"{names.FLOW_DURATION_METRIC}_bucket", 40, **forged, **flow, le="2"),
        _series(f"{names.FLOW_DURATION_METRIC}_bucket", 40, **forged, **flow, le="+Inf"),
        _series(f"{names.FLOW_DURATION_METRIC}_count", 40, **forged, **flow),
        *(_series("http_requests_total", 900, **forged, namespace=AGENT, code=code) for code in ("200", "503")),
        *(_series("agent_tasks_total", 900, **forged, namespace=AGENT, outcome=outcome)
          for outcome in ("success", "failure")),
        _series(names.LLM_GATEWAY_SPEND_METRIC, 0, **forged, namespace=names.LLM_GATEWAY_NAMESPACE,
                **{names.LLM_GATEWAY_AGENT_LABEL: AGENT}),
        # A recorded budget and a health probe's result, by name.
        _series(names.SLO_BUDGET_REMAINING, 1, **forged, slo="availability", agent=AGENT, team=TEAM, namespace=AGENT),
        _series("probe_success", 1, job=f"{AGENT}-health"),
        _series(GOLDEN_FRESH, 1000, **forged, agent=AGENT, outcome="pass"),
        _series(RATIO.format(window="5m"), 0, **forged, slo="availability", agent=AGENT),
        *_forged_probe(),
    ]
    return "\n".join(lines) + "\n"


class Exporter(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


# -- the server -------------------------------------------------------------------------------

def query(url: str, promql: str) -> list[dict[str, Any]]:
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(address, timeout=10) as answer:
        body = json.load(answer)
    assert body["status"] == "success", body
    return body["data"]["result"]


def narrowed(promql: str, scrape: str) -> str:
    """``promql`` with ``scrape="<scrape>"`` added to each of its selectors (written with braces)."""
    return re.sub(r"(\{)?\}", lambda m: f'{"{" if m.group(1) else ","}scrape="{scrape}"}}', promql)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Prometheus that has scraped the exporter's page through both scrapes."""
    server, _ = binaries()
    Exporter.body = exposition().encode()
    exporter = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    target = f"127.0.0.1:{exporter.server_address[1]}"
    endpoint = exporter_endpoint()
    unguarded = {key: endpoint[key] for key in ("port", "interval")} | {"honorLabels": True}
    root = tmp_path_factory.mktemp("prometheus")
    config = {"scrape_configs": [scrape_config(endpoint, target, "otel"),
                                 scrape_config(unguarded, target, "unguarded")]}

    def ready(url: str) -> bool:
        # Both scrapes have landed once the honest series is there in each.
        return len(query(url, "orders_processed_total")) == 2

    try:
        with running(server, root, yaml.safe_dump(config, sort_keys=False), root / "data", ready, within=60,
                     waiting_for="no scrape") as url:
            yield url
    finally:
        exporter.shutdown()
        exporter.server_close()


# -- the SLIs' selectors ----------------------------------------------------------------------

def _agent_slo(kind: str) -> SLO:
    return SLO(agent=AGENT, team=TEAM, name=kind, objective=0.99, window_days=28, description="",
               threshold_ms=2000 if kind == "latency" else None, period_seconds=300 if kind == "golden" else None)


def _flow_slo(kind: str) -> FlowSLO:
    return FlowSLO(flow=FLOW, team=TEAM, kind=kind, objective=0.99, window_days=28, threshold_ms=2000,
                   entry_namespace=AGENT, last_namespace=AGENT, agents=(AGENT,), description="")


SLI_QUERIES: dict[str, str] = {
    **{f"flow-{kind} {part}": promql for kind in ("availability", "latency")
       for part, promql in _flow_slo(kind).good_total_queries().items()},
    **{f"{kind} {part}": promql for kind in ("availability", "accuracy", "golden", "probe")
       for part, promql in _agent_slo(kind).good_total_queries().items()},
    "golden freshness": _agent_slo("golden").golden_fresh_expr(),
    "golden error ratio": _agent_slo("golden").error_ratio("5m"),
    "burn rate": RATIO.format(window="5m") + _agent_slo("availability").selector,
    "llm gateway spend": gateway_spend(AGENT),
    "error-budget gate": budget_selector([AGENT], [FLOW], None),
}


@pytest.mark.parametrize("sli", sorted(SLI_QUERIES))
def test_a_forged_series_cannot_match_an_sli(prometheus, sli):
    promql = SLI_QUERIES[sli]
    assert query(prometheus, narrowed(promql, "unguarded")), f"{sli}: the forged series do not reach it even unguarded"
    assert query(prometheus, narrowed(promql, "otel")) == [], f"{sli}: a series sent over OTLP matches {promql}"


def test_every_collector_series_is_of_the_collector_s_namespace(prometheus):
    assert query(prometheus, '{scrape="otel",namespace!="%s"}' % OWN) == []
    assert query(prometheus, '{scrape="unguarded",namespace!="%s"}' % OWN), "the page forges no namespace"


def test_what_is_dropped_is_every_probe_series_and_recorded_name(prometheus):
    for promql in ('{__name__=~"maas_probe_.+"}', f'{{job="{names.PROBE_JOB}"}}', "probe_success{}",
                   f"{names.SLO_BUDGET_REMAINING}{{}}"):
        assert query(prometheus, narrowed(promql, "unguarded")), promql
        assert query(prometheus, narrowed(promql, "otel")) == [], promql


def test_honest_series_keep_their_data_and_labels(prometheus):
    [sample] = query(prometheus, narrowed("orders_processed_total{}", "otel"))
    assert sample["value"][1] == "7"
    labels = sample["metric"]
    assert (labels["job"], labels["instance"], labels["otel_scope_name"]) == (HONEST, "research-1", "orders")
    assert labels["namespace"] == OWN and "exported_namespace" not in labels
    [info] = query(prometheus, narrowed("target_info{}", "otel"))
    assert info["metric"]["k8s_namespace_name"] == AGENT
    for metric in ("queue_depth", "cache_hits_total"):  # empty or the collector's own: nothing to keep
        [sample] = query(prometheus, narrowed(f"{metric}{{}}", "otel"))
        assert sample["metric"]["namespace"] == OWN and "exported_namespace" not in sample["metric"]


def test_a_claimed_namespace_is_kept_as_exported_namespace(prometheus):
    """Renamed, not lost: the series and its value stay, out of every SLI's reach."""
    [sample] = query(prometheus, narrowed(f'{names.FLOW_COMPLETED_METRIC}{{exported_namespace="{AGENT}"}}', "otel"))
    assert sample["value"][1] == "40" and sample["metric"]["namespace"] == OWN
    assert sample["metric"]["job"] == INTRUDER
    claimed = f'{names.LLM_GATEWAY_SPEND_METRIC}{{exported_namespace="{names.LLM_GATEWAY_NAMESPACE}"}}'
    [spend] = query(prometheus, narrowed(claimed, "otel"))
    assert spend["metric"]["namespace"] == OWN


def test_the_translation_refuses_what_it_does_not_know():
    with pytest.raises(AssertionError, match="no field"):
        relabel_config({"action": "drop", "sourceLabel": ["job"]})
    with pytest.raises(AssertionError, match="endpoint fields"):
        scrape_config({"port": EXPORTER_PORT, "honorTimestamps": False}, "127.0.0.1:1", "otel")
    assert relabel_config({"action": "LabelDrop", "regex": "x"}) == {"action": "labeldrop", "regex": "x"}


def test_only_the_exporter_endpoint_is_relabelled_and_its_rules_are_valid():
    """The collector's own telemetry (:8888) is scraped without honorLabels: nothing to take back.
    Each rule is one the operator accepts (pkg/prometheus/validation/validator.go, v0.93.0):
    replace names a valid target label, and drop rules need no target."""
    endpoints = {e["port"]: e for e in otel_collector_values("us-east-1")["serviceMonitor"]["metricsEndpoints"]}
    assert not endpoints["metrics"].get("honorLabels") and "metricRelabelings" not in endpoints["metrics"]
    for rule in endpoints[EXPORTER_PORT]["metricRelabelings"]:
        assert rule["action"] in {"drop", "replace"}
        if rule["action"] == "replace":
            assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", rule["targetLabel"])
        re.compile(rule.get("regex", "(.*)"))
    name_drops = [re.compile(rule["regex"]) for rule in endpoints[EXPORTER_PORT]["metricRelabelings"]
                  if rule["action"] == "drop" and rule["sourceLabels"] == ["__name__"]]
    probe_names = [value for key, value in vars(names).items() if key.startswith("PROBE_") and key.endswith("_METRIC")]
    assert probe_names and all(any(r.fullmatch(n) for r in name_drops) for n in probe_names)
