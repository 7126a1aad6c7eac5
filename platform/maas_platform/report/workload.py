"""What an agent's workload resources in the plan say: its replica range, SLOs, environment,
secrets, and what someone must still do by hand after ``pulumi up``.

Read from the resources alone, so a team stack's agents (whose program exports neither SLOs
nor secrets) get the same card as a platform agent: the replica range from the autoscaler
that targets the agent's own Deployment (a KEDA ScaledObject, or a HorizontalPodAutoscaler
when the agent has no inbox), the SLOs from its PrometheusRule, secret names from its
Secrets Manager secrets and ExternalSecret. Values never leave the plan: only names and keys.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .. import names
from ..plan.model import PlannedResource

# Series names the agent's PrometheusRule records per SLO (slo/rules.py writes them; Sloth's names).
_OBJECTIVE_SERIES = "slo:objective:ratio"
_RATIO_SERIES = re.compile(r"^slo:sli_error:ratio_rate(\d+[dh])$")
_VECTOR = re.compile(r"^\s*vector\(\s*([0-9.eE+-]+)\s*\)\s*$")
# The histogram bucket a latency SLI reads: le="2" or le=~"2|2\\.0" (the first is the threshold in seconds).
_LE = re.compile(r'le=~?"([0-9.]+)')
_SLO_WHAT = {
    "availability": "responses are not 5xx",
    "accuracy": "tasks succeed",
    "probe": "health probes succeed",
}


@dataclass(frozen=True)
class Slo:
    name: str
    target_percent: str  # "99.5"
    window: str  # "28d"
    description: str
    threshold_ms: Optional[int] = None  # latency SLOs: the duration a request must stay under


@dataclass(frozen=True)
class Secret:
    """A secret the agent reads: its Secrets Manager name and the variable it arrives in."""

    name: str
    env: Optional[str]


@dataclass(frozen=True)
class Step:
    """One thing to do by hand after ``pulumi up``: what and why, and the command when there is one."""

    title: str
    detail: str
    command: Optional[str] = None


def main_deployment(resources: Sequence[PlannedResource], agent: str) -> Optional[PlannedResource]:
    """The agent's own Deployment (not its egress proxy's): the one named after the agent."""
    deployments = [r for r in resources if r.type == names.K8S_DEPLOYMENT]
    return next((d for d in deployments if _metadata(d).get("name") == agent), deployments[0] if deployments else None)


def replicas(resources: Sequence[PlannedResource], agent: str) -> Optional[tuple[int, int]]:
    """(min, max) of the autoscaler that targets the agent's Deployment, else its fixed count."""
    deployment = main_deployment(resources, agent)
    if deployment is None:
        return None
    target = _metadata(deployment).get("name")
    for resource in resources:
        spec = resource.inputs.get("spec") or {}
        if (spec.get("scaleTargetRef") or {}).get("name") != target:
            continue
        if resource.type == names.K8S_SCALED_OBJECT:
            low, high = spec.get("minReplicaCount"), spec.get("maxReplicaCount")
        elif resource.type == names.K8S_HORIZONTAL_POD_AUTOSCALER:
            # An unset minReplicas "defaults to 1 pod" (autoscaling/v2 HorizontalPodAutoscalerSpec, API
            # reference, checked 2026-12-03).
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
        else:
            continue
        if isinstance(low, (int, float)) and isinstance(high, (int, float)):
            return int(low), int(high)
    count = (deployment.inputs.get("spec") or {}).get("replicas")
    return (int(count), int(count)) if isinstance(count, (int, float)) else None


def container(resources: Sequence[PlannedResource], agent: str) -> dict[str, Any]:
    """The first container of the agent's Deployment ({} without one)."""
    deployment = main_deployment(resources, agent)
    spec = (((deployment.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}) if deployment else {}
    containers = spec.get("containers") or []
    return containers[0] if containers and isinstance(containers[0], dict) else {}


def env_keys(resources: Sequence[PlannedResource], agent: str) -> tuple[str, ...]:
    """The names of the agent container's environment variables, in order (never their values)."""
    return tuple(str(e["name"]) for e in container(resources, agent).get("env") or []
                 if isinstance(e, dict) and e.get("name"))


def secrets(resources: Sequence[PlannedResource]) -> tuple[Secret, ...]:
    """The agent's Secrets Manager secrets by name, each with the variable its ExternalSecret fills."""
    env_of: dict[str, str] = {}
    for resource in resources:
        if resource.type == names.K8S_EXTERNAL_SECRET:
            for item in (resource.inputs.get("spec") or {}).get("data") or []:
                key = (item.get("remoteRef") or {}).get("key") if isinstance(item, dict) else None
                if key and item.get("secretKey"):
                    env_of[str(key)] = str(item["secretKey"])
    found = {str(r.inputs.get("name")) for r in resources
             if r.type == names.SECRETSMANAGER_SECRET and r.inputs.get("name")}
    return tuple(Secret(name=name, env=env_of.get(name)) for name in sorted(found))


def slos_from_openslo(documents: Any) -> tuple[Slo, ...]:
    """The agent's OpenSLO documents (a platform stack exports them) as the card lists them."""
    result = []
    for document in documents if isinstance(documents, list) else []:
        if not isinstance(document, dict):
            continue
        spec = document.get("spec") or {}
        labels = (document.get("metadata") or {}).get("labels") or {}
        objectives = spec.get("objectives") or [{}]
        windows = spec.get("timeWindow") or [{}]
        target = objectives[0].get("target")
        name = str(labels.get("slo") or (document.get("metadata") or {}).get("name") or "slo")
        queries = str(((spec.get("indicator") or {}).get("spec") or {}).get("ratioMetric") or "")
        result.append(Slo(
            name=name,
            target_percent=percent(target) if isinstance(target, (int, float)) else "?",
            window=str(windows[0].get("duration") or ""),
            description=str(spec.get("description") or ""),
            threshold_ms=_threshold_ms(queries) if name == "latency" else None,
        ))
    return tuple(result)


def slos_from_rules(resources: Sequence[PlannedResource]) -> tuple[Slo, ...]:
    """The SLOs the agent's PrometheusRule records: one per group recording ``slo:objective:ratio``,
    its window from the period group's ratio, a latency threshold from the bucket it reads."""
    objectives: dict[str, float] = {}
    windows: dict[str, str] = {}
    thresholds: dict[str, int] = {}
    for resource in resources:
        if resource.type != names.K8S_PROMETHEUS_RULE:
            continue
        for group in (resource.inputs.get("spec") or {}).get("groups") or []:
            for rule in group.get("rules") or [] if isinstance(group, dict) else []:
                slo = (rule.get("labels") or {}).get("slo") if isinstance(rule, dict) else None
                record = str(rule.get("record") or "") if slo else ""
                if not record:
                    continue
                expr = str(rule.get("expr") or "")
                value = _VECTOR.match(expr)
                if record == _OBJECTIVE_SERIES and value:
                    objectives[slo] = float(value.group(1))
                ratio = _RATIO_SERIES.match(record)
                if ratio and str(group.get("name", "")).endswith("-period"):
                    windows[slo] = ratio.group(1)
                if ratio and slo == "latency" and _threshold_ms(expr) is not None:
                    thresholds[slo] = _threshold_ms(expr)  # type: ignore[assignment]
    result = []
    for name, objective in objectives.items():
        window, threshold = windows.get(name, ""), thresholds.get(name)
        what = f"requests complete within {threshold} ms" if threshold else _SLO_WHAT.get(name, f"{name} is met")
        result.append(Slo(name=name, target_percent=percent(objective), window=window,
                          description=f"{percent(objective)}% of {what} over {window or 'its window'}.",
                          threshold_ms=threshold))
    return tuple(result)


def after_deploy(resources: Sequence[PlannedResource], agent: str, region: Optional[str]) -> tuple[Step, ...]:
    """What ``pulumi up`` leaves to a person for this agent: secret values, the database user, DNS."""
    steps = []
    region_flag = f" --region {shlex.quote(region)}" if region else ""
    for secret in secrets(resources):
        if secret.name.endswith(f"/{names.LLM_GATEWAY_KEY_SECRET}"):  # the platform writes the gateway credential
            continue
        file = secret.name.rsplit("/", 1)[-1] + ".txt"
        steps.append(Step(
            title=f"put the value of {secret.name}",
            detail=(f"arrives as {secret.env}; " if secret.env else "") + "the pod reads it once it exists "
                   "(External Secrets refreshes hourly; restart the Deployment to read it at once)",
            # put-secret-value --secret-id/--secret-string (AWS CLI reference, checked 2026-12-03): the
            # value from a file keeps it out of the shell history.
            command=f"aws secretsmanager put-secret-value{region_flag} --secret-id {shlex.quote(secret.name)} "
                    f"--secret-string file://{file}",
        ))
    env = {str(e.get("name")): e.get("value") for e in container(resources, agent).get("env") or []
           if isinstance(e, dict)}
    if any(r.type == names.RDS_CLUSTER for r in resources):
        user, database = env.get("PGUSER") or agent, env.get("PGDATABASE") or agent
        steps.append(Step(
            title=f"create the database user {user}",
            detail=(f"in database {database} of its Aurora cluster, as the master user: the agent connects "
                    f"with an IAM token, so the user needs rds_iam (docs/onboarding-an-agent.md, section 8)"),
            command=f"CREATE USER {user}; GRANT rds_iam TO {user}; "
                    f"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {database} TO {user};",
        ))
    for resource in resources:
        if resource.type != names.K8S_INGRESS:
            continue
        metadata = _metadata(resource)
        if (metadata.get("annotations") or {}).get("alb.ingress.kubernetes.io/scheme") != "internet-facing":
            continue
        for rule in (resource.inputs.get("spec") or {}).get("rules") or []:
            host = rule.get("host") if isinstance(rule, dict) else None
            if host:
                steps.append(Step(
                    title=f"point {host} at the public load balancer",
                    detail="a CNAME (or a Route 53 alias) to the hostname the Ingress reports once the "
                           "load balancer exists; the platform creates no DNS record",
                    # status.loadBalancer.ingress[].hostname: Kubernetes networking/v1 IngressLoadBalancerIngress
                    # (API reference, checked 2026-12-03).
                    command=f"kubectl -n {metadata.get('namespace') or agent} get ingress "
                            f"{metadata.get('name') or agent} -o jsonpath='{{.status.loadBalancer.ingress[0].hostname}}'",
                ))
    return tuple(steps)


def percent(fraction: float) -> str:
    return f"{fraction * 100:.3f}".rstrip("0").rstrip(".")


def _threshold_ms(text: str) -> Optional[int]:
    found = _LE.search(text)
    return round(float(found.group(1)) * 1000) if found else None


def _metadata(resource: PlannedResource) -> dict[str, Any]:
    metadata = resource.inputs.get("metadata")
    return metadata if isinstance(metadata, dict) else {}
