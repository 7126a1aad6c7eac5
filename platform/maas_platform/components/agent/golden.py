"""The golden-set probe of one agent, in the cluster: ``maas-probe`` on the agent's schedule.

An agent with ``golden`` gets, in its namespace and parented to its workload: a ConfigMap holding
its golden set (the file's validated content, dumped deterministically, so the plan shows what the
probe asks), a ServiceAccount that mounts no token, a ``batch/v1`` CronJob running ``maas-probe``
against the agent's Service, and two NetworkPolicies: the probe's pods may reach the agent's REST
port and the Pushgateway and nothing else (DNS aside, as every pod of the namespace), and the
agent's pods admit them on that port.

:func:`golden_set` is the plan-time check: the cases file is read and validated with
:func:`~maas_platform.config.golden.load_cases` before the agent's first resource is declared, and
a golden set the probe cannot use is refused in one line naming the agent, ``golden.cases``, the
file and the fix (exit 2 from ``maas plan``; ``pulumi preview``, which ``pulumi up`` runs first,
stops the same way).

Kubernetes facts relied on (kubernetes/website, content/en/docs, checked 2026-12-03):

* concepts/workloads/controllers/cron-jobs.md: ``concurrencyPolicy: Forbid`` skips a new run
  while the previous one is still running; ``startingDeadlineSeconds`` is how late a missed
  run may still start (the controller checks every 10 s, so a value under 10 may skip runs);
  ``timeZone`` takes an IANA zone name (stable since v1.27); the history limits keep that many
  finished Jobs.
* concepts/workloads/controllers/job.md: ``activeDeadlineSeconds`` ends the Job, whatever its
  ``backoffLimit``, once it has run that long.
* concepts/policy/resource-quotas.md: the ``pods`` quota and the compute quotas count pods in a
  non-terminal state only, so a finished probe pod holds no quota.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ... import names
from ...config.agents import AgentSpec, PublicExposure, secret_env_name
from ...config.golden import GoldenSet, load_cases
from ...config.loader import ConfigError
from ..contract import PlatformRefs
from ..nodepools import pod_scheduling

# The probe's container: small, as it only waits on HTTP answers. workload.py counts one such pod
# in the namespace quota (concurrencyPolicy Forbid: never two at once).
PROBE_REQUESTS = {"cpu": "50m", "memory": "64Mi"}
PROBE_LIMITS = {"cpu": "200m", "memory": "128Mi"}
# Retries of a call that got no answer (connection error or 5xx), passed to maas-probe --retries.
PROBE_RETRIES = 1
# Seconds the runner may pause between attempts of one case (probe/runner.py pauses BACKOFF_S, 0.2 s,
# times the attempt; this is an upper bound), the push to the Pushgateway (its 10 s time-out), and the pod's
# start (image pull on a fresh node): what a Job's deadline allows beyond the run itself.
BACKOFF_ALLOWANCE_S = 5
PUSH_ALLOWANCE_S = 10
START_ALLOWANCE_S = 120
# What the probe image is built for (.github/workflows/probe-image.yml): any node of the cluster.
PROBE_ARCHITECTURES = ("amd64", "arm64")
# The longest a run may take, whatever the set's size: a set that cannot be asked in time ends
# with its last cases as `error`, never as a Job that outlives many schedules.
MAX_RUN_SECONDS = 1800
# How late a missed schedule may still start (the controller checks every 10 s).
STARTING_DEADLINE_SECONDS = 120
CASES_DIR = "/etc/maas-probe"
CASES_FILE = "cases.yaml"


# -- the plan-time check ----------------------------------------------------------------------

def project_dir() -> Path:
    """The stack's project directory (where Pulumi.yaml is), which ``golden.cases`` is relative to.

    Under ``pulumi up`` the SDK knows it (``pulumi.get_root_directory()``: "the project root, the
    location of Pulumi.yaml", pulumi 3.272.0 sdk/python/lib/pulumi/runtime/settings.py). The offline
    plan runs the program from its directory (``main``, e.g. ``stacks/``) under mocks, where the SDK
    answers a placeholder (``"root_directory"``): then the nearest directory holding a Pulumi.yaml
    at or above the working directory.
    """
    root = pulumi.get_root_directory()
    if root and _is_project(Path(root)):
        return Path(root)
    here = Path(os.getcwd()).resolve()
    return next((folder for folder in (here, *here.parents) if _is_project(folder)), here)


def _is_project(folder: Path) -> bool:
    return folder.is_absolute() and ((folder / "Pulumi.yaml").is_file() or (folder / "Pulumi.yml").is_file())


def golden_problem(spec: AgentSpec) -> Optional[str]:
    """Why the agent's golden set cannot be probed (a ``golden...: ...`` message), or None."""
    golden = spec.golden
    if golden is None:
        return None
    if spec.messaging.scale_to_zero:
        return ("golden: an agent that scales to zero (messaging.scale_to_zero) serves no REST entry while idle, so "
                "its golden set would fail by design; drop scale_to_zero or remove golden")
    return None


def golden_set(spec: AgentSpec, root: Optional[Path] = None) -> Optional[GoldenSet]:
    """The agent's validated golden set, None without one; every problem is one :class:`ConfigError`
    line naming the agent, ``golden.cases``, the file and the fix."""
    if spec.golden is None or not spec.active:
        # A retired agent's probe goes with its workload, as its other parts do; its last results
        # stay in Prometheus until they age out.
        return None
    problem = golden_problem(spec)
    if problem:
        raise ConfigError(f"agent '{spec.name}': {problem}")
    root = root or project_dir()
    path = root / spec.golden.cases
    try:
        cases = load_cases(path)
    except ConfigError as error:
        raise ConfigError(f"agent '{spec.name}': golden.cases: {spec.golden.cases}: {error.message}; fix the file "
                          f"(a path relative to {root}, where Pulumi.yaml is; docs/probes.md)") from None
    allowed = spec.llm.gateway.models if spec.llm.gateway is not None else []
    for case in cases.cases:
        judge = case.expect.model
        if judge is not None and judge.model not in allowed:
            may = f"llm.gateway.models allows {', '.join(allowed)}" if allowed else "it has no llm.gateway"
            raise ConfigError(
                f"agent '{spec.name}': golden.cases: {spec.golden.cases}: case '{case.id}' is judged by model "
                f"'{judge.model}', which the agent may not call through the LLM gateway ({may}); name one of its "
                "gateway models or use another judge")
    return cases


def model_judged(cases: GoldenSet) -> bool:
    """Whether any case is judged by a model: the probe then calls the LLM gateway with the agent's
    own credential (its gateway secret, synced into its namespace), so the agent's limits and spend apply."""
    return any(case.expect.model is not None for case in cases.cases)


def check_golden(spec: AgentSpec, platform: PlatformRefs, root: Optional[Path] = None) -> Optional[GoldenSet]:
    """:func:`golden_set`, and an image to run it: a team stack's platform stack must export one."""
    cases = golden_set(spec, root)
    if cases is not None and not platform.probe_image:
        raise ConfigError(f"agent '{spec.name}': golden: the platform stack exports no probe_image (an older "
                          "platform); deploy the platform at this version first, or remove golden")
    return cases


def cases_document(cases: GoldenSet) -> str:
    """The golden set as the probe reads it: validated, aliases written out, keys sorted."""
    data = cases.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True)


# -- what runs in the cluster -----------------------------------------------------------------

def rest_entry_url(spec: AgentSpec) -> str:
    """The agent's REST entry inside the cluster: its Service (port 80), under the base path the
    load balancer routes it on (``MAAS_BASE_PATH``: ``/`` for a public host, ``/<agent>`` inside)."""
    base = "" if isinstance(spec.exposure, PublicExposure) else f"/{spec.name}"
    return f"http://{spec.name}.{spec.namespace}.svc{base}"


def run_deadline_seconds(spec: AgentSpec, cases: GoldenSet) -> int:
    """The run's ``--deadline``: every case asked, in rounds of ``concurrency``, each call and its
    retries timing out, capped at :data:`MAX_RUN_SECONDS`."""
    golden = spec.golden
    assert golden is not None
    rounds = math.ceil(len(cases.cases) / golden.concurrency)
    per_case = (PROBE_RETRIES + 1) * golden.timeout_seconds + BACKOFF_ALLOWANCE_S
    return min(rounds * per_case, MAX_RUN_SECONDS)


def job_deadline_seconds(spec: AgentSpec, cases: GoldenSet) -> int:
    """The Job's ``activeDeadlineSeconds``: the run, its push and the pod's start."""
    return run_deadline_seconds(spec, cases) + PUSH_ALLOWANCE_S + START_ALLOWANCE_S


def probe_container(spec: AgentSpec, cases: GoldenSet, image: str, pull_policy: str) -> dict[str, Any]:
    golden = spec.golden
    assert golden is not None
    return {
        "name": "probe",
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": ["maas-probe"],
        "args": [
            "--cases", f"{CASES_DIR}/{CASES_FILE}",
            "--agent", spec.name,
            "--base-url", rest_entry_url(spec),
            "--pushgateway", names.PUSHGATEWAY_URL,
            "--timeout", str(golden.timeout_seconds),
            "--retries", str(PROBE_RETRIES),
            "--concurrency", str(golden.concurrency),
            "--deadline", str(run_deadline_seconds(spec, cases)),
            *(["--judge-url", names.LLM_GATEWAY_URL] if model_judged(cases) else []),
        ],
        # A judge model is asked with the agent's own gateway credential, from the Secret its
        # ExternalSecret syncs (the container's own variable name, as the agent's container gets it).
        **({"env": [{"name": secret_env_name(names.LLM_GATEWAY_KEY_SECRET), "valueFrom": {"secretKeyRef": {
            "name": f"{spec.name}-secrets", "key": secret_env_name(names.LLM_GATEWAY_KEY_SECRET)}}}]}
           if model_judged(cases) else {}),
        "resources": {"requests": dict(PROBE_REQUESTS), "limits": dict(PROBE_LIMITS)},
        "securityContext": names.restricted_container_security_context(),
        "volumeMounts": [{"name": "cases", "mountPath": CASES_DIR, "readOnly": True}],
    }


def probe_network_policies(spec: AgentSpec, judged_by_model: bool = False) -> dict[str, dict[str, Any]]:
    """The NetworkPolicies the probe adds to the agent's namespace (default-deny there already):
    its pods out to the agent's pods on the REST port and to the Pushgateway's pods (and to the LLM
    gateway's proxy pods when a case is judged by a model; the gateway admits the agent's whole
    namespace), and the agent's pods open to them on that port. No egress proxy, no other destination."""
    probe = {"matchLabels": {names.NAME_LABEL: names.PROBE_APP}}
    agent = {"matchLabels": {names.NAME_LABEL: spec.name}}
    pushgateway = {
        "namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.MONITORING_NAMESPACE}},
        "podSelector": {"matchLabels": {names.NAME_LABEL: names.PUSHGATEWAY}},
    }
    return {
        "probe-egress": {
            "podSelector": probe,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"podSelector": agent}], "ports": [{"protocol": "TCP", "port": spec.port}]},
                {"to": [pushgateway], "ports": [{"protocol": "TCP", "port": names.PUSHGATEWAY_PORT}]},
                *([{"to": [{
                    "namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.LLM_GATEWAY_NAMESPACE}},
                    "podSelector": {"matchLabels": {names.NAME_LABEL: names.LLM_GATEWAY_POD_NAME}},
                }], "ports": [{"protocol": "TCP", "port": names.LLM_GATEWAY_PORT}]}] if judged_by_model else []),
            ],
        },
        "allow-probe": {
            "podSelector": agent,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": probe}], "ports": [{"protocol": "TCP", "port": spec.port}]}],
        },
    }


def create_golden_probe(
    name: str, spec: AgentSpec, cases: GoldenSet, *, image: str, pull_policy: str, labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.batch.v1.CronJob:
    """The probe's objects in the agent's namespace. ``opts`` parent them (to the workload) and make
    them wait for the namespace. The pod may run on any node its image is built for, Spot included:
    a run lost to a reclaimed node is one missed sample, and the next schedule runs again."""
    golden = spec.golden
    assert golden is not None
    probe = names.PROBE_APP
    own = {**labels, names.NAME_LABEL: probe}

    def meta(object_name: str = probe) -> dict[str, Any]:
        return {"name": object_name, "namespace": spec.namespace, "labels": own}

    config_map = k8s.core.v1.ConfigMap(f"{name}-probe-cases", metadata=meta(f"{probe}-cases"),
                                       data={CASES_FILE: cases_document(cases)}, opts=opts)
    account = k8s.core.v1.ServiceAccount(f"{name}-probe-service-account", metadata=meta(),
                                         automount_service_account_token=False, opts=opts)
    for policy, body in probe_network_policies(spec, model_judged(cases)).items():
        k8s.networking.v1.NetworkPolicy(f"{name}-netpol-{policy}", metadata=meta(policy), spec=body, opts=opts)
    pod = {
        "metadata": {"labels": own},
        "spec": {
            "serviceAccountName": probe,
            "automountServiceAccountToken": False,
            # A failed run pushed what it found (maas_probe_up 0); the next schedule is the retry.
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": True, "runAsUser": names.RUN_AS, "runAsGroup": names.RUN_AS,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [probe_container(spec, cases, image, pull_policy)],
            "volumes": [{"name": "cases", "configMap": {"name": f"{probe}-cases"}}],
            **pod_scheduling(PROBE_ARCHITECTURES, on_demand_only=False),
        },
    }
    return k8s.batch.v1.CronJob(
        f"{name}-probe",
        metadata=meta(),
        spec={
            "schedule": golden.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": own},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": job_deadline_seconds(spec, cases),
                    "template": pod,
                },
            },
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config_map, account])),
    )
