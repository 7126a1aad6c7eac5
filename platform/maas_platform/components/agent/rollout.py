"""The agent's canary: an Argo Rollout over its Deployment, judged by AnalysisTemplates of its SLOs.

An agent with ``delivery.rollout: canary`` keeps its Deployment as the pod template and gets a
``Rollout`` (argoproj.io/v1alpha1) that references it (``spec.workloadRef``): every policy rule,
admission check and ``kubernetes-validate`` still reads the pod template where it always was, and
an image change in the Deployment's template is what starts a canary. Facts below were read in
argoproj/argo-rollouts at v1.9.1 (b6bd3bc, 2026-07-06) on 2026-12-03:

* workloadRef (docs/features/specification.md, docs/migrating.md; rollout/templateref.go): the
  controller resolves the Deployment's template and selector into the Rollout and watches the
  Deployment, so a template change starts an update. ``scaleDown: progressively`` scales the
  Deployment down as the Rollout's pods come up (rollout/replicaset.go, revision 1 only): an
  agent moving from ``rollout: none`` hands over without a gap; a new agent's Deployment is
  created with 0 replicas and never had pods. The controller writes the Deployment's
  ``spec.replicas`` itself (rollout/scale_utils.go); Pulumi keeps ``ignore_changes`` on it, so an
  ``up`` sends no replica count and never scales it back (pulumi/pulumi-kubernetes#2258:
  ignoreChanges is the way to leave a field another manager writes under server-side apply).
* The Rollout has the ``scale`` subresource (manifests/crds/rollout-crd.yaml: specReplicasPath
  .spec.replicas, labelSelectorPath .status.selector) and HPA autoscaling/v2 scales it
  (docs/features/hpa-support.md); KEDA scales any target with ``/scale`` the same way
  (keda-docs concepts/scaling-deployments "Custom Resources"). A Rollout over a workload holds
  no containers, which KEDA v2.20.2 accepts (pkg/scaling/resolver/scale_resolvers.go
  ResolveScaleTargetPodSpec: no containers, nothing to inject, no error; read 2026-12-03) but
  for ``*FromEnv`` trigger parameters, which it cannot read then (kedacore/keda#7486, open): the
  agents' triggers name the queue literally and authenticate as KEDA's own identity. The
  autoscaler targets the Rollout, which owns ``spec.replicas`` (ignore_changes here too).
* Steps (docs/features/specification.md): ``setWeight`` then ``pause: {duration}``; none at all
  (dev) is a rolling update (docs/features/canary/index.md "Mimicking Rolling Update"). Steps and
  background analysis are skipped on a Rollout's first deploy (rollout/analysis.go initialDeploy).
* Analysis (docs/features/analysis.md; rollout/analysis.go): an inline ``analysis`` step blocks
  the steps until its run completes; background ``analysis`` with ``startingStep`` runs beside
  them. A run that ends Failed or Error aborts the rollout: traffic and replicas go back to the
  stable version (the Rollout reads Degraded); Inconclusive pauses it for a person. A metric
  errors after ``consecutiveErrorLimit`` (default 4, utils/defaults) consecutive errors.
* Arguments (utils/analysis/factory.go BuildArgumentsForRolloutAnalysisRun): ``valueFrom.fieldRef``
  reads ``metadata...`` with Kubernetes' fieldpath and any other path of the Rollout, resolved
  template included, by splitting it on '.' and '[]' (extractValueFromRollout): the release's kind
  is therefore a pod-template annotation whose key holds no '.' (``CHANGE_ANNOTATION``), set with
  the image in one change and read from ``spec.template.metadata.annotations.<key>``.
* ALB traffic (docs/features/traffic-management/alb.md; rollout/trafficrouting/alb/alb.go):
  ``canaryService``/``stableService`` (the controller adds the ReplicaSets' pod-template-hash to
  their selectors), ``trafficRouting.alb`` with ``ingress``, ``rootService`` and ``servicePort``;
  the Ingress's backend names the root service with port ``use-annotation``, and the controller
  merge-patches ``alb.ingress.kubernetes.io/actions.<root service>`` (weighted target groups) and
  ``rollouts.argoproj.io/managed-alb-actions`` onto it, at every reconcile, fully promoted too.
  Pulumi never sets either annotation; under server-side apply (the provider's default,
  components/platform.py) an ``up`` changes only the fields Pulumi manages, so it leaves them
  alone. Requirements: AWS Load Balancer Controller v1.1.5 or later; the controller acts on
  Ingresses of class ``alb`` (``--alb-ingress-classes`` otherwise), the platform's class.
  ``dynamicStableScale`` scales the stable set down as the canary's weight rises (no doubled
  replicas, so the namespace quota's 25 % surge suffices); on abort the canary scales down as
  traffic returns to stable, after ``abortScaleDownDelaySeconds``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ... import names
from ...config.agents import AgentSpec, PublicExposure
from ...config.delivery import canary_steps
from ...slo.analysis import (
    CHANGE_ARGUMENT, GATE_CONDITIONS, budget_gate_query, burn_conditions, burn_metrics, duration,
)

ROLLOUTS_API = "argoproj.io/v1alpha1"
# The pod-template annotation that says what a release is, ``feature`` or ``fix`` (delivery.change).
CHANGE_ANNOTATION = "maas-change"
GATE_TEMPLATE = "error-budget"
BURN_TEMPLATE = "slo-burn"
SERVICE_PORT = 80
# Failed measurements a burn metric tolerates: the third fails the run. Ratios over 5 minutes read
# every minute overlap, so one short burst fails a few measurements in a row; a version that keeps
# burning fails three within about three minutes of crossing.
BURN_FAILURE_LIMIT = 2
# A golden run judges a whole set of questions: one run over the threshold is enough.
GOLDEN_FAILURE_LIMIT = 0
# Measurements without data tolerated before a metric turns inconclusive (prod only; see
# slo.analysis.nan_passes): one missed scrape does not pause a rollout.
INCONCLUSIVE_LIMIT = 1
CONSECUTIVE_ERROR_LIMIT = 4
PROMETHEUS_TIMEOUT_SECONDS = 30
# Seconds the canary's pods stay up after an abort, while the ALB's weight moves back to stable.
ABORT_SCALE_DOWN_DELAY_SECONDS = 30
# Recent revisions a rollback returns to without steps or analysis (docs/features/rollback.md):
# reverting a release in the stack repo restores the previous template exactly.
ROLLBACK_WINDOW_REVISIONS = 2


def is_canary(spec: AgentSpec) -> bool:
    return spec.delivery.rollout == "canary"


def traffic_routed(spec: AgentSpec) -> bool:
    """Public agents split traffic at the ALB; internal and queue-driven ones by replica count."""
    return isinstance(spec.exposure, PublicExposure)


def canary_service(spec: AgentSpec) -> str:
    return f"{spec.name}-canary"


def stable_service(spec: AgentSpec) -> str:
    return f"{spec.name}-stable"


def template_annotations(spec: AgentSpec) -> dict[str, str]:
    """The pod template's annotations: the release's kind for a canary agent, none otherwise."""
    return {CHANGE_ANNOTATION: spec.delivery.change} if is_canary(spec) else {}


def backend_port(spec: AgentSpec) -> dict[str, str]:
    """The Ingress backend's port: ``use-annotation`` where the Rollout writes the weighted action."""
    return {"name": "use-annotation"} if is_canary(spec) and traffic_routed(spec) else {"name": "http"}


def _prometheus(query: str) -> dict[str, Any]:
    return {"prometheus": {"address": names.PROMETHEUS_URL, "query": query, "timeout": PROMETHEUS_TIMEOUT_SECONDS}}


def burn_template_spec(spec: AgentSpec, environment: str) -> dict[str, Any]:
    """The background analysis: each burn metric of the agent (slo.analysis) every interval."""
    success, failure = burn_conditions(environment)
    metrics = []
    for metric in burn_metrics(spec, spec.namespace):
        body: dict[str, Any] = {
            "name": metric.name,
            "interval": duration(metric.interval_seconds),
            "successCondition": success,
            "failureCondition": failure,
            "failureLimit": GOLDEN_FAILURE_LIMIT if metric.slo.name == "golden" else BURN_FAILURE_LIMIT,
            "inconclusiveLimit": INCONCLUSIVE_LIMIT,
            "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
            "provider": _prometheus(metric.query),
        }
        if metric.initial_delay_seconds:
            body["initialDelay"] = duration(metric.initial_delay_seconds)
        metrics.append(body)
    return {"metrics": metrics}


def gate_template_spec(spec: AgentSpec) -> dict[str, Any]:
    """The error-budget gate: one measurement before traffic moves; ``change`` from the Rollout."""
    success, failure = GATE_CONDITIONS
    return {
        "args": [{"name": CHANGE_ARGUMENT}],
        "metrics": [{
            "name": GATE_TEMPLATE,
            "successCondition": success,
            "failureCondition": failure,
            "failureLimit": 0,
            "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
            "provider": _prometheus(budget_gate_query(spec, spec.namespace)),
        }],
    }


def rollout_spec(spec: AgentSpec, environment: str) -> dict[str, Any]:
    """The Rollout's spec: the Deployment as template, the environment's steps behind the gate."""
    canary: dict[str, Any] = {"maxSurge": "25%", "maxUnavailable": 0}
    steps = canary_steps(spec.delivery, environment)
    if steps:
        change = {"name": CHANGE_ARGUMENT, "valueFrom": {"fieldRef": {
            "fieldPath": f"spec.template.metadata.annotations.{CHANGE_ANNOTATION}"}}}
        canary["steps"] = [{"analysis": {"templates": [{"templateName": GATE_TEMPLATE}], "args": [change]}}] + [
            item for step in steps
            for item in ({"setWeight": step.weight}, {"pause": {"duration": duration(step.pause_minutes * 60)}})
        ]
        # From the first setWeight (step 1) until the last pause ends.
        canary["analysis"] = {"templates": [{"templateName": BURN_TEMPLATE}], "startingStep": 1}
    if traffic_routed(spec):
        canary.update({
            "canaryService": canary_service(spec),
            "stableService": stable_service(spec),
            "trafficRouting": {"alb": {"ingress": spec.name, "rootService": spec.name, "servicePort": SERVICE_PORT}},
            "dynamicStableScale": True,
            "abortScaleDownDelaySeconds": ABORT_SCALE_DOWN_DELAY_SECONDS,
        })
    return {
        "replicas": spec.replicas.min,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": {names.NAME_LABEL: spec.name}},
        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name, "scaleDown": "progressively"},
        "rollbackWindow": {"revisions": ROLLBACK_WINDOW_REVISIONS},
        "strategy": {"canary": canary},
    }


def scale_target(spec: AgentSpec) -> dict[str, str]:
    """What the autoscaler scales: the Rollout of a canary agent, else the Deployment."""
    if is_canary(spec):
        return {"apiVersion": ROLLOUTS_API, "kind": "Rollout", "name": spec.name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name}


def create_canary(name: str, spec: AgentSpec, environment: str, labels: dict[str, str], *,
                  deployment: pulumi.Resource, parent: pulumi.Resource,
                  wait_for: list[pulumi.Resource]) -> k8s.apiextensions.CustomResource:
    """The canary Services (ALB agents), the two AnalysisTemplates and the Rollout, children of
    ``parent`` created after ``wait_for`` (the namespace); returns the Rollout."""
    def meta(object_name: str) -> dict[str, Any]:
        return {"name": object_name, "namespace": spec.namespace, "labels": labels}

    children = pulumi.ResourceOptions(parent=parent, depends_on=list(wait_for))
    services: list[pulumi.Resource] = []
    if traffic_routed(spec):
        for suffix, service_name in (("canary", canary_service(spec)), ("stable", stable_service(spec))):
            services.append(k8s.core.v1.Service(
                f"{name}-{suffix}-service",
                metadata=meta(service_name),
                spec={
                    "type": "ClusterIP",
                    # The controller adds the ReplicaSet's rollouts-pod-template-hash; Pulumi never sets it.
                    "selector": {names.NAME_LABEL: spec.name},
                    "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
                },
                opts=children,
            ))
    templates: list[pulumi.Resource] = [
        k8s.apiextensions.CustomResource(
            f"{name}-analysis-{template}", api_version=ROLLOUTS_API, kind="AnalysisTemplate",
            metadata=meta(template), spec=body, opts=children)
        for template, body in ((GATE_TEMPLATE, gate_template_spec(spec)),
                               (BURN_TEMPLATE, burn_template_spec(spec, environment)))
    ]
    return k8s.apiextensions.CustomResource(
        f"{name}-rollout",
        api_version=ROLLOUTS_API,
        kind="Rollout",
        metadata=meta(spec.name),
        spec=rollout_spec(spec, environment),
        # The autoscaler owns the replica count once the Rollout exists.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*wait_for, deployment, *services, *templates],
                                    ignore_changes=["spec.replicas"]),
    )


__all__ = [
    "BURN_TEMPLATE", "CHANGE_ANNOTATION", "GATE_TEMPLATE", "ROLLOUTS_API", "backend_port", "burn_template_spec",
    "canary_service", "create_canary", "gate_template_spec", "is_canary", "rollout_spec", "scale_target",
    "stable_service", "template_annotations", "traffic_routed",
]
