"""The golden-set probe: ``maas-probe`` sends each case of an agent's golden set to the agent's
REST entry, judges the answers and publishes the outcome to Prometheus.

:mod:`maas_platform.config.golden` is the golden-set file (validated when it loads, one-line errors; the
plan validates it too), :mod:`.runner` one bounded run and its metrics, :mod:`.cli` the ``maas-probe``
command a schedule runs.

Why a Pushgateway and not the runner's own metrics endpoint: the probe is a scheduled job that
exits when its run ends, so nothing would be left to scrape. Prometheus's "When to use the
Pushgateway" (prometheus.io/docs/practices/pushing/, prometheus/docs docs/practices/pushing.md,
checked 2026-12-03) says the only valid use is "capturing the outcome of a service-level batch
job", one not tied to a machine or instance, whose metrics carry no instance label; its
instrumentation practices ("Batch jobs", docs/practices/instrumentation.md, same day) name the
last success, the run time and the last completion as gauges to push to a Pushgateway. A probe
run per agent is such a job: it is pushed under the grouping key job="maas-probe", agent=<name>
and nothing per run or per pod, and each push replaces the group (PUT), so stale series do not
linger — the pitfall that page warns of.

Why per-run gauges and not counters: each run is a fresh process whose counters would start from
zero and be replaced by the next push, so ``rate()``/``increase()`` over them would see resets,
not events. ``maas_probe_cases{agent,outcome}`` holds the last run's count of pass / fail / error;
the accuracy SLO (good = pass, valid = pass + fail; an ``error`` is no answer, the availability
SLO's business) is a recording rule over a window:
``sum_over_time(maas_probe_cases{outcome="pass"}[w]) / sum_over_time(maas_probe_cases{outcome=~"pass|fail"}[w])``
— every scrape of a run counts in numerator and denominator alike, so the ratio weighs runs by how
long their result stood. ``maas_probe_up`` 0 says the probe could not run at all (bad golden set,
agent unreachable for every case), distinct from wrong answers; ``maas_probe_last_run_timestamp_seconds``
lets an alert notice a schedule that stopped.
"""
