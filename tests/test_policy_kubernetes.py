"""Kubernetes rules (``maas_platform.policy.kubernetes``): each rule on a compliant, a
non-compliant, a missing-value and an unknown-value manifest, the pod template found at the
right path for each kind, and the shipped stacks clean of mandatory findings."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Optional

import pytest

from conftest import ROOT
from maas_platform.plan import Plan, plan_project
from maas_platform.policy import Context, Resource, assess, check_resource, evaluate, get_rule, rules
from maas_platform.policy.gate import plan_resources
from maas_platform.components.agent.egress import PROXY_IMAGE
from maas_platform.names import PUSHGATEWAY_URL
from maas_platform.policy.kubernetes import patches, rbac
from maas_platform.policy.kubernetes.tenancy import AdmissionContext

MODULE = "maas_platform.policy.kubernetes"
PREFIXES = ("MAAS-K8S-", "MAAS-TAG-1")
# Node capacity's reliability rules live with the Kubernetes rules (policy.kubernetes.capacity).
CAPACITY_RELIABILITY = ("MAAS-REL-012", "MAAS-REL-013", "MAAS-REL-014")
DEV = Context.for_environment("dev")
PROD = Context.for_environment("prod")
TEAM = ROOT / "stacks" / "teams" / "example"
DROP = object()  # a key to remove from a securityContext
U = "[unknown]"  # a value known only after apply, as a preview sends it

# -- manifests built here, independently of the rules ---------------------------------------------

AGENT_LABELS = {
    "app.kubernetes.io/name": "triage",
    "app.kubernetes.io/managed-by": "pulumi",
    "maas.dev/agent": "triage",
    "maas.dev/team": "support",
    "maas.dev/cost-center": "cc-1001",
    "maas.dev/environment": "dev",
}
HARDENED_CONTEXT = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def container(name: str = "agent", security: Any = None, **fields: Any) -> dict[str, Any]:
    """A container as AgentService renders one; ``security`` changes its securityContext (DROP removes a key,
    None leaves it, ``{}``-valued DROP for the whole context is ``security=DROP``)."""
    body: dict[str, Any] = {
        "name": name,
        "image": "ghcr.io/acme/triage-agent:1.4.2",
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 20},
        "securityContext": copy.deepcopy(HARDENED_CONTEXT),
    }
    if security is DROP:
        del body["securityContext"]
    elif security:
        for key, value in security.items():
            if value is DROP:
                body["securityContext"].pop(key, None)
            else:
                body["securityContext"][key] = value
    for key, value in fields.items():
        if value is DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def pod(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serviceAccountName": "triage",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": list(containers) or [container()],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
    }
    for key, value in fields.items():
        if value is DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


API = {
    "Pod": "core/v1", "ReplicationController": "core/v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
}


def workload(pod_spec: dict[str, Any], kind: str = "Deployment", labels: Optional[dict[str, Any]] = None,
             pod_labels: Optional[dict[str, Any]] = None) -> Resource:
    """A workload of ``kind`` with ``pod_spec`` where that kind's API puts the pod template."""
    labels = dict(AGENT_LABELS if labels is None else labels)
    template = {"metadata": {"labels": dict(labels if pod_labels is None else pod_labels)}, "spec": pod_spec}
    if kind == "Pod":
        spec: dict[str, Any] = pod_spec
    elif kind == "CronJob":
        spec = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"selector": {"matchLabels": {"app.kubernetes.io/name": "triage"}}, "template": template}
    group_version = API[kind]
    props = {
        "apiVersion": group_version.removeprefix("core/"),
        "kind": kind,
        "metadata": {"name": "triage", "namespace": "triage", "labels": labels},
        "spec": spec,
    }
    return Resource(type=f"kubernetes:{group_version}:{kind}", name=f"triage-{kind.lower()}", props=props,
                    urn=f"urn:pulumi:dev::maas::kubernetes:{group_version}:{kind}::triage-{kind.lower()}")


def deployment(*containers: dict[str, Any], **pod_fields: Any) -> Resource:
    return workload(pod(*containers, **pod_fields))


def namespace(labels: dict[str, Any], name: str = "triage") -> Resource:
    return Resource(type="kubernetes:core/v1:Namespace", name=f"{name}-namespace",
                    props={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}},
                    urn=f"urn:pulumi:dev::maas::kubernetes:core/v1:Namespace::{name}-namespace")


RESTRICTED = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
HOST_AGENTS = {"pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/audit": "restricted",
               "pod-security.kubernetes.io/warn": "restricted"}
PLATFORM_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "maas.dev/environment": "dev"}


def release(**fields: Any) -> Resource:
    props: dict[str, Any] = {"name": "keda", "chart": "keda", "version": "2.17.2", "namespace": "keda",
                             "repositoryOpts": {"repo": "https://kedacore.github.io/charts"}, "values": {}}
    for key, value in fields.items():
        if value is DROP:
            props.pop(key, None)
        else:
            props[key] = value
    return Resource(type="kubernetes:helm.sh/v3:Release", name="keda", props=props,
                    urn="urn:pulumi:dev::maas::kubernetes:helm.sh/v3:Release::keda")


def config_map(labels: dict[str, Any]) -> Resource:
    return Resource(type="kubernetes:core/v1:ConfigMap", name="dashboard",
                    props={"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "dashboard", "namespace": "maas-system", "labels": labels}},
                    urn="urn:pulumi:dev::maas::kubernetes:core/v1:ConfigMap::dashboard")


def without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


# -- the table: every rule, compliant / non-compliant / missing -----------------------------------

@dataclass(frozen=True)
class Case:
    rule: str
    kind: str  # compliant, non-compliant, missing, unknown
    resource: Resource
    violates: bool
    context: Context = DEV


NO_POD_CONTEXT = pod(container(security={"runAsNonRoot": DROP}), securityContext=DROP)

CASES = [
    # runAsNonRoot: the container's setting overrides the pod's
    Case("MAAS-K8S-001", "compliant", deployment(), False),
    Case("MAAS-K8S-001", "non-compliant", deployment(container(security={"runAsUser": 0})), True),
    Case("MAAS-K8S-001", "non-compliant", deployment(container(security={"runAsNonRoot": False})), True),
    Case("MAAS-K8S-001", "missing", workload(NO_POD_CONTEXT), True),
    # privileged defaults to false
    Case("MAAS-K8S-002", "compliant", deployment(container(security={"privileged": False})), False),
    Case("MAAS-K8S-002", "non-compliant", deployment(container(security={"privileged": True})), True),
    Case("MAAS-K8S-002", "missing", deployment(container(security=DROP)), False),
    # allowPrivilegeEscalation defaults to true
    Case("MAAS-K8S-003", "compliant", deployment(), False),
    Case("MAAS-K8S-003", "non-compliant", deployment(container(security={"allowPrivilegeEscalation": True})), True),
    Case("MAAS-K8S-003", "missing", deployment(container(security=DROP)), True),
    # host namespaces default to off
    Case("MAAS-K8S-004", "compliant", deployment(hostNetwork=False, hostPID=False, hostIPC=False), False),
    Case("MAAS-K8S-004", "non-compliant", deployment(hostNetwork=True), True),
    Case("MAAS-K8S-004", "non-compliant", deployment(hostPID=True), True),
    Case("MAAS-K8S-004", "non-compliant",
         deployment(container(ports=[{"name": "http", "containerPort": 8080, "hostPort": 8080}])), True),
    Case("MAAS-K8S-004", "missing", deployment(container(ports=DROP)), False),
    # volumes: a volume without a source is an emptyDir
    Case("MAAS-K8S-005", "compliant", deployment(volumes=[
        {"name": "config", "configMap": {"name": "c"}}, {"name": "s", "secret": {"secretName": "s"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "d"}}, {"name": "token", "projected": {"sources": []}},
    ]), False),
    Case("MAAS-K8S-005", "non-compliant", deployment(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}]),
         True),
    Case("MAAS-K8S-005", "non-compliant", deployment(volumes=[{"name": "nfs", "nfs": {"server": "x", "path": "/"}}]),
         True),
    Case("MAAS-K8S-005", "missing", deployment(volumes=[{"name": "scratch"}]), False),
    # capabilities: without drop ALL the runtime's default set stays
    Case("MAAS-K8S-006", "compliant",
         deployment(container(security={"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}})), False),
    Case("MAAS-K8S-006", "non-compliant",
         deployment(container(security={"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})), True),
    Case("MAAS-K8S-006", "non-compliant", deployment(container(security={"capabilities": {"drop": ["NET_RAW"]}})),
         True),
    Case("MAAS-K8S-006", "missing", deployment(container(security={"capabilities": DROP})), True),
    # seccomp: the container's profile overrides the pod's; none at all is Unconfined
    Case("MAAS-K8S-007", "compliant", deployment(container(security={"seccompProfile": {
        "type": "Localhost", "localhostProfile": "profiles/agent.json"}})), False),
    Case("MAAS-K8S-007", "non-compliant", deployment(container(security={"seccompProfile": {"type": "Unconfined"}})),
         True),
    Case("MAAS-K8S-007", "non-compliant", deployment(container(security={"seccompProfile": {"type": "Localhost"}})),
         True),
    Case("MAAS-K8S-007", "missing", workload(pod(container(security={"seccompProfile": DROP}), securityContext={
        "runAsNonRoot": True})), True),
    # read-only root filesystem defaults to writable
    Case("MAAS-K8S-008", "compliant", deployment(), False),
    Case("MAAS-K8S-008", "non-compliant", deployment(container(security={"readOnlyRootFilesystem": False})), True),
    Case("MAAS-K8S-008", "missing", deployment(container(security={"readOnlyRootFilesystem": DROP})), True),
    # resources: requests default to the limits of the same resource
    Case("MAAS-K8S-009", "compliant", deployment(container(resources={"limits": {"cpu": "1", "memory": "1Gi"}})),
         False),
    Case("MAAS-K8S-009", "non-compliant",
         deployment(container(resources={"requests": {"cpu": "250m", "memory": "512Mi"}})), True),
    Case("MAAS-K8S-009", "non-compliant", workload(pod(initContainers=[container("migrate", resources={})])), True),
    Case("MAAS-K8S-009", "missing", deployment(container(resources=DROP)), True),
    # probes: both, each with a handler, on long-running workloads
    Case("MAAS-K8S-010", "compliant", deployment(), False),
    Case("MAAS-K8S-010", "compliant", workload(pod(container(livenessProbe=DROP, readinessProbe=DROP)), "Job"), False),
    Case("MAAS-K8S-010", "compliant",
         workload(pod(container(livenessProbe=DROP, readinessProbe=DROP), restartPolicy="Never"), "Pod"), False),
    Case("MAAS-K8S-010", "non-compliant", deployment(container(livenessProbe={"periodSeconds": 20})), True),
    Case("MAAS-K8S-010", "non-compliant", workload(pod(container(readinessProbe=DROP)), "DaemonSet"), True),
    Case("MAAS-K8S-010", "missing", workload(pod(container(livenessProbe=DROP, readinessProbe=DROP)), "Pod"), True),
    # images: a version, not latest, not untagged
    Case("MAAS-K8S-011", "compliant", deployment(container(image="registry.local:5000/acme/agent:2.0.1")), False),
    Case("MAAS-K8S-011", "compliant", deployment(container(image="ghcr.io/acme/agent@sha256:" + "a" * 64)), False),
    Case("MAAS-K8S-011", "non-compliant", deployment(container(image="ghcr.io/acme/agent:latest")), True),
    Case("MAAS-K8S-011", "non-compliant", deployment(container(image="registry.local:5000/acme/agent")), True),
    Case("MAAS-K8S-011", "missing", deployment(container(image=DROP)), True),
    # prod images by digest
    Case("MAAS-K8S-012", "compliant",
         deployment(container(image="ghcr.io/acme/agent:1.4.2@sha256:" + "0123456789abcdef" * 4)), False, PROD),
    Case("MAAS-K8S-012", "compliant", deployment(container(image="ghcr.io/acme/agent:1.4.2")), False, DEV),
    Case("MAAS-K8S-012", "non-compliant", deployment(container(image="ghcr.io/acme/agent:1.4.2")), True, PROD),
    Case("MAAS-K8S-012", "non-compliant", deployment(container(image="ghcr.io/acme/agent@sha256:abc")), True, PROD),
    Case("MAAS-K8S-012", "missing", deployment(container(image=DROP)), True, PROD),
    # service-account token mounted unless the pod says no
    Case("MAAS-K8S-013", "compliant", deployment(), False),
    Case("MAAS-K8S-013", "non-compliant", deployment(automountServiceAccountToken=True), True),
    Case("MAAS-K8S-013", "missing", deployment(automountServiceAccountToken=DROP), True),
    # own service account
    Case("MAAS-K8S-014", "compliant", deployment(), False),
    Case("MAAS-K8S-014", "non-compliant", deployment(serviceAccountName="default"), True),
    Case("MAAS-K8S-014", "missing", deployment(serviceAccountName=DROP), True),
    # agent namespaces: restricted
    Case("MAAS-K8S-015", "compliant", namespace({**AGENT_LABELS, **RESTRICTED}), False),
    Case("MAAS-K8S-015", "non-compliant",
         namespace({**AGENT_LABELS, **RESTRICTED, "pod-security.kubernetes.io/enforce": "baseline"}), True),
    Case("MAAS-K8S-015", "missing", namespace(AGENT_LABELS), True),
    # other namespaces: a level, and restricted audit/warn below restricted
    Case("MAAS-K8S-016", "compliant", namespace({**PLATFORM_LABELS, **HOST_AGENTS}, "monitoring-host"), False),
    Case("MAAS-K8S-016", "non-compliant",
         namespace({**PLATFORM_LABELS, **HOST_AGENTS, "pod-security.kubernetes.io/warn": "baseline"}, "host"), True),
    Case("MAAS-K8S-016", "non-compliant",
         namespace({**PLATFORM_LABELS, "pod-security.kubernetes.io/enforce": "strict"}, "odd"), True),
    Case("MAAS-K8S-016", "missing", namespace(PLATFORM_LABELS, "keda"), True),
    # Helm: one exact version over TLS
    Case("MAAS-K8S-017", "compliant", release(), False),
    Case("MAAS-K8S-017", "compliant", release(chart="oci://public.ecr.aws/karpenter/karpenter", version="1.4.0",
                                              repositoryOpts=DROP), False),
    Case("MAAS-K8S-017", "non-compliant", release(version="^2.17"), True),
    Case("MAAS-K8S-017", "non-compliant", release(repositoryOpts={"repo": "http://kedacore.github.io/charts"}), True),
    Case("MAAS-K8S-017", "missing", release(version=DROP), True),
    Case("MAAS-K8S-017", "missing", release(repositoryOpts=DROP), True),
    # an agent's labels, its pods' too
    Case("MAAS-TAG-101", "compliant", deployment(), False),
    Case("MAAS-TAG-101", "non-compliant", workload(pod(), labels={**AGENT_LABELS, "maas.dev/environment": "prod"}),
         True),
    Case("MAAS-TAG-101", "non-compliant",
         workload(pod(), pod_labels=without(AGENT_LABELS, "maas.dev/agent", "maas.dev/team")), True),
    Case("MAAS-TAG-101", "missing", workload(pod(), labels=without(AGENT_LABELS, "maas.dev/cost-center")), True),
    # platform objects: environment and managed-by (advisory)
    Case("MAAS-TAG-102", "compliant", config_map(PLATFORM_LABELS), False),
    Case("MAAS-TAG-102", "non-compliant", config_map({**PLATFORM_LABELS, "app.kubernetes.io/managed-by": "Helm"}),
         True),
    Case("MAAS-TAG-102", "missing", config_map({"app.kubernetes.io/managed-by": "pulumi"}), True),
    # values known only after apply: not evaluable, never a silent pass
    Case("MAAS-K8S-001", "unknown", deployment(container(security={"runAsNonRoot": U})), False),
    Case("MAAS-K8S-001", "unknown", workload(pod(containers=U)), False),
    Case("MAAS-K8S-002", "unknown", deployment(container(security={"privileged": U})), False),
    Case("MAAS-K8S-002", "unknown", deployment(container(securityContext=U, security=DROP)), False),
    Case("MAAS-K8S-003", "unknown", deployment(container(security={"allowPrivilegeEscalation": U})), False),
    Case("MAAS-K8S-004", "unknown", deployment(hostNetwork=U), False),
    Case("MAAS-K8S-004", "unknown", deployment(container(ports=[{"name": "http", "containerPort": 8080, "hostPort": U}])),
         False),
    Case("MAAS-K8S-005", "unknown", deployment(volumes=U), False),
    Case("MAAS-K8S-006", "unknown", deployment(container(security={"capabilities": {"drop": U}})), False),
    Case("MAAS-K8S-007", "unknown", deployment(container(security={"seccompProfile": U})), False),
    Case("MAAS-K8S-008", "unknown", deployment(container(security={"readOnlyRootFilesystem": U})), False),
    Case("MAAS-K8S-009", "unknown", deployment(container(resources=U)), False),
    Case("MAAS-K8S-010", "unknown", deployment(container(livenessProbe=U)), False),
    Case("MAAS-K8S-010", "unknown",
         workload(pod(container(livenessProbe=DROP, readinessProbe=DROP), restartPolicy=U), "Pod"), False),
    Case("MAAS-K8S-011", "unknown", deployment(container(image=U)), False),
    Case("MAAS-K8S-012", "unknown", deployment(container(image=U)), False, PROD),
    Case("MAAS-K8S-013", "unknown", deployment(automountServiceAccountToken=U), False),
    Case("MAAS-K8S-014", "unknown", deployment(serviceAccountName=U), False),
    Case("MAAS-K8S-015", "unknown",
         namespace({**AGENT_LABELS, **RESTRICTED, "pod-security.kubernetes.io/enforce": U}), False),
    Case("MAAS-K8S-016", "unknown", namespace({**PLATFORM_LABELS, "pod-security.kubernetes.io/enforce": U}, "keda"), False),
    Case("MAAS-K8S-017", "unknown", release(version=U), False),
    Case("MAAS-K8S-017", "unknown", release(repositoryOpts=U), False),
    Case("MAAS-TAG-101", "unknown", workload(pod(), labels={**AGENT_LABELS, "maas.dev/environment": U}), False),
    Case("MAAS-TAG-101", "unknown", workload(pod(), pod_labels={**AGENT_LABELS, "maas.dev/team": U}), False),
    Case("MAAS-TAG-102", "unknown", config_map({**PLATFORM_LABELS, "app.kubernetes.io/managed-by": U}), False),
]


# -- MAAS-K8S-018 to 023 (tenancy): objects in agent namespaces, and requests of team users --------

def manifest(api_version: str, kind: str, spec: Any, name: str = "triage", namespace: Optional[str] = "triage",
             labels: Optional[dict[str, Any]] = None) -> Resource:
    metadata = {"name": name, "labels": dict(AGENT_LABELS if labels is None else labels),
                **({"namespace": namespace} if namespace else {})}
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return Resource(type=f"kubernetes:{group_version}:{kind}", name=name, urn=f"urn:pulumi:dev::maas::{kind}::{name}",
                    props={"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec})


def store(aws: Any) -> Resource:
    return manifest("external-secrets.io/v1", "SecretStore", {"provider": {"aws": aws}}, "aws-secrets-manager")


def egress(cidr: Any, selector: Any = None) -> Resource:
    return manifest("networking.k8s.io/v1", "NetworkPolicy", {
        "podSelector": selector if selector is not None else {"matchLabels": {"app.kubernetes.io/name": "triage"}},
        "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": 443}]}]})


JWT = {"auth": {"jwt": {"serviceAccountRef": {"name": "secret-sync"}}}}
OWN_ROLE = "arn:aws:iam::123456789012:role/maas-dev-agent-triage"
SUPPORT = AdmissionContext(environment="dev", groups=("maas:team:support",), teams={"support": ("triage",)},
                           namespace_labels={**AGENT_LABELS})
TEAM_NAMESPACE = {**AGENT_LABELS, **RESTRICTED}
PROXY = {"matchLabels": {"app.kubernetes.io/name": "egress-proxy"}}
CONFIG = manifest("v1", "ConfigMap", None)
# As the platform's policies see a request: the environment's prefix and the proxy's image.
ADMITTING = AdmissionContext(environment="dev", prefix="maas-dev", proxy_image=PROXY_IMAGE)
SUPPORT = replace(SUPPORT, prefix="maas-dev", proxy_image=PROXY_IMAGE)
OWN_SA = [{"kind": "ServiceAccount", "name": "triage", "namespace": "triage"}]
ALB = "alb.ingress.kubernetes.io/"


def proxy_workload(image: Any, kind: str = "Deployment", init: Optional[str] = None) -> Resource:
    """A workload whose pods are labelled as the egress proxy, running ``image`` (None: no image)."""
    agent = container("proxy")
    agent.pop("image", None)
    if image is not None:
        agent["image"] = image
    extra = {"initContainers": [{**container("init"), "image": init}]} if init else {}
    labels = {**AGENT_LABELS, "app.kubernetes.io/name": "egress-proxy"}
    return workload(pod(agent, **extra), kind, labels=labels)


def probe_workload(agent: Any) -> Resource:
    """A CronJob whose pods are labelled as the golden-set probe, told ``--agent agent`` (None: no args)."""
    args = {"args": ["--agent", agent, "--pushgateway", PUSHGATEWAY_URL]} if agent is not None else {}
    probe = {"name": "probe", "image": "ghcr.io/acme/maas-probe:0.1.0", "command": ["maas-probe"], **args}
    return workload(pod(probe), "CronJob", labels={**AGENT_LABELS, "app.kubernetes.io/name": "maas-probe"})


def binding(ref_kind: str, ref_name: str, subjects: Any, kind: str = "RoleBinding") -> Resource:
    resource = manifest("rbac.authorization.k8s.io/v1", kind, None, "binding",
                        None if kind == "ClusterRoleBinding" else "triage")
    props = {k: v for k, v in resource.props.items() if k != "spec"}
    props["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name}
    if subjects is not None:
        props["subjects"] = subjects
    return replace(resource, props=props)


def ingress(annotations: dict[str, Any]) -> Resource:
    merged = {ALB + "group.name": "maas-dev-internal", ALB + "scheme": "internal", **annotations}
    resource = manifest("networking.k8s.io/v1", "Ingress", {"ingressClassName": "alb", "rules": []})
    metadata = {**resource.props["metadata"], "annotations": {k: v for k, v in merged.items() if v is not None}}
    return replace(resource, props={**resource.props, "metadata": metadata})

CASES += [
    Case("MAAS-K8S-018", "compliant", manifest("v1", "Service", {"type": "ClusterIP", "ports": [{"port": 80}]}), False),
    Case("MAAS-K8S-018", "non-compliant", manifest("v1", "Service", {"type": "LoadBalancer"}), True),
    Case("MAAS-K8S-018", "non-compliant", manifest("v1", "Service", {"type": "NodePort"}), True),
    Case("MAAS-K8S-018", "missing", manifest("v1", "Service", {"ports": [{"port": 80}]}), False),
    Case("MAAS-K8S-018", "unknown", manifest("v1", "Service", {"type": U}), False),
    Case("MAAS-K8S-019", "compliant", store(JWT), False),
    # Even its own role: the token already is that role, and a chain into it (which the role does not trust) fails.
    Case("MAAS-K8S-019", "non-compliant", store({**JWT, "role": OWN_ROLE}), True),
    Case("MAAS-K8S-019", "non-compliant", store({**JWT, "additionalRoles": [OWN_ROLE.replace("triage", "billing")]}), True),
    Case("MAAS-K8S-019", "non-compliant", store({**JWT, "role": OWN_ROLE.replace("triage", "billing")}), True),
    Case("MAAS-K8S-019", "non-compliant", store({**JWT, "role": OWN_ROLE + "-admin"}), True),
    Case("MAAS-K8S-019", "non-compliant", store({"auth": {**JWT["auth"], "secretRef": {}}}), True),
    Case("MAAS-K8S-019", "non-compliant",
         store({"auth": {"jwt": {"serviceAccountRef": {"name": "secret-sync", "namespace": "billing"}}}}), True),
    Case("MAAS-K8S-019", "missing", store({"role": OWN_ROLE}), True),
    Case("MAAS-K8S-019", "unknown", store({**JWT, "role": U}), False),
    Case("MAAS-K8S-020", "compliant", manifest("external-secrets.io/v1", "ExternalSecret",
                                               {"secretStoreRef": {"name": "aws-secrets-manager", "kind": "SecretStore"}}), False),
    Case("MAAS-K8S-020", "non-compliant", manifest("external-secrets.io/v1", "ExternalSecret",
                                                   {"secretStoreRef": {"name": "all", "kind": "ClusterSecretStore"}}), True),
    Case("MAAS-K8S-020", "non-compliant", manifest("external-secrets.io/v1", "ExternalSecret", {
        "secretStoreRef": {"name": "aws-secrets-manager"},
        "dataFrom": [{"sourceRef": {"storeRef": {"name": "all", "kind": "ClusterSecretStore"}}}]}), True),
    Case("MAAS-K8S-020", "missing", manifest("external-secrets.io/v1", "ExternalSecret",
                                             {"secretStoreRef": {"name": "aws-secrets-manager"}}), False),
    Case("MAAS-K8S-020", "unknown", manifest("external-secrets.io/v1", "ExternalSecret", {"secretStoreRef": U}), False),
    Case("MAAS-K8S-021", "compliant", egress("10.0.0.0/16"), False),
    Case("MAAS-K8S-021", "compliant", egress("0.0.0.0/0", PROXY), False),
    Case("MAAS-K8S-021", "non-compliant", egress("0.0.0.0/0"), True),
    Case("MAAS-K8S-021", "non-compliant", egress("::/0", {}), True),
    Case("MAAS-K8S-021", "missing", manifest("networking.k8s.io/v1", "NetworkPolicy",
                                             {"podSelector": {}, "policyTypes": ["Egress"]}), False),
    Case("MAAS-K8S-021", "unknown", egress(U), False),
    Case("MAAS-K8S-021", "compliant", egress("169.254.170.23/32"), False),  # the Pod Identity agent
    Case("MAAS-K8S-021", "compliant", egress("100.64.0.0/10"), False),
    Case("MAAS-K8S-021", "non-compliant", egress("0.0.0.0/1"), True),  # with 128.0.0.0/1: everything
    Case("MAAS-K8S-021", "non-compliant", egress("10.0.0.0/7"), True),  # reaches 11.0.0.0/8
    Case("MAAS-K8S-021", "non-compliant", egress("172.32.0.0/16"), True),
    Case("MAAS-K8S-021", "non-compliant", egress("169.254.169.254/32"), True),  # instance metadata
    Case("MAAS-K8S-021", "non-compliant", manifest("networking.k8s.io/v1", "NetworkPolicy", {
        "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 443}]}]}), True),
    Case("MAAS-K8S-021", "non-compliant", manifest("networking.k8s.io/v1", "NetworkPolicy", {
        "podSelector": PROXY, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 22}]}]}), True),
    Case("MAAS-K8S-021", "non-compliant", manifest("networking.k8s.io/v1", "NetworkPolicy", {
        "podSelector": PROXY, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}),
         True),
    Case("MAAS-K8S-021", "compliant", manifest("networking.k8s.io/v1", "NetworkPolicy", {
        "podSelector": PROXY, "policyTypes": ["Egress"], "egress": [
            {"to": [{"namespaceSelector": {}}],
             "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}]}), False),
    Case("MAAS-K8S-021", "unknown", manifest("networking.k8s.io/v1", "NetworkPolicy", {
        "podSelector": PROXY, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": U}]}]}), False),
    Case("MAAS-K8S-022", "compliant", CONFIG, False, SUPPORT),
    Case("MAAS-K8S-022", "compliant", CONFIG, False, DEV),  # not a team user: the plan's own deploy identity
    Case("MAAS-K8S-022", "non-compliant", CONFIG, True,
         replace(SUPPORT, namespace_labels={**AGENT_LABELS, "maas.dev/team": "insights"})),
    Case("MAAS-K8S-022", "missing", CONFIG, True, replace(SUPPORT, namespace_labels={})),
    Case("MAAS-K8S-022", "unknown", CONFIG, False, replace(SUPPORT, namespace_labels=U)),
    Case("MAAS-K8S-023", "compliant", namespace(TEAM_NAMESPACE), False, SUPPORT),
    Case("MAAS-K8S-023", "non-compliant", namespace({**TEAM_NAMESPACE, "maas.dev/team": "insights"}), True, SUPPORT),
    Case("MAAS-K8S-023", "non-compliant", namespace({**TEAM_NAMESPACE, "maas.dev/agent": "billing"}), True, SUPPORT),
    Case("MAAS-K8S-023", "non-compliant", namespace({**TEAM_NAMESPACE, "maas.dev/agent": "scraper"}, "scraper"), True,
         SUPPORT),
    Case("MAAS-K8S-023", "missing", namespace(RESTRICTED), True, SUPPORT),
    Case("MAAS-K8S-023", "unknown", namespace(U), False, SUPPORT),
    # DELETE: the namespace as it was
    Case("MAAS-K8S-023", "compliant", namespace(TEAM_NAMESPACE), False, replace(SUPPORT, operation="DELETE")),
    Case("MAAS-K8S-023", "non-compliant", namespace({**TEAM_NAMESPACE, "maas.dev/agent": "billing",
                                                     "maas.dev/team": "insights"}, "billing"), True,
         replace(SUPPORT, operation="DELETE")),
    Case("MAAS-K8S-024", "compliant", namespace(TEAM_NAMESPACE), False, SUPPORT),
    Case("MAAS-K8S-024", "compliant", namespace(TEAM_NAMESPACE), False, DEV),
    Case("MAAS-K8S-024", "compliant", namespace(PLATFORM_LABELS, "monitoring"), False, DEV),  # not an agent's
    Case("MAAS-K8S-024", "non-compliant", namespace({**TEAM_NAMESPACE, "pod-security.kubernetes.io/enforce": "privileged"}),
         True, SUPPORT),
    Case("MAAS-K8S-024", "non-compliant", namespace({**TEAM_NAMESPACE, "pod-security.kubernetes.io/warn": "baseline"}),
         True, DEV),
    Case("MAAS-K8S-024", "non-compliant", namespace(PLATFORM_LABELS, "scratch"), True, SUPPORT),  # a team's, any
    Case("MAAS-K8S-024", "missing", namespace({**AGENT_LABELS, "pod-security.kubernetes.io/enforce": "restricted"}),
         True, DEV),
    Case("MAAS-K8S-024", "unknown", namespace({**AGENT_LABELS, **RESTRICTED, "pod-security.kubernetes.io/audit": U}),
         False, DEV),
    Case("MAAS-K8S-025", "compliant", proxy_workload(PROXY_IMAGE), False, ADMITTING),
    Case("MAAS-K8S-025", "compliant", proxy_workload("registry.example.com/agent:1.0"), False, DEV),  # no image to compare
    Case("MAAS-K8S-025", "compliant", deployment(container()), False, ADMITTING),  # not labelled as the proxy
    Case("MAAS-K8S-025", "non-compliant", proxy_workload("registry.example.com/agent:1.0"), True, ADMITTING),
    Case("MAAS-K8S-025", "non-compliant", proxy_workload(PROXY_IMAGE, "Pod", init="alpine:3.20"), True, ADMITTING),
    Case("MAAS-K8S-025", "missing", proxy_workload(None), True, ADMITTING),
    Case("MAAS-K8S-025", "unknown", proxy_workload(U), False, ADMITTING),
    Case("MAAS-K8S-040", "compliant", probe_workload("triage"), False, DEV),  # the namespace's agent
    Case("MAAS-K8S-040", "non-compliant", probe_workload("billing"), True, DEV),
    Case("MAAS-K8S-040", "missing", probe_workload(None), True, DEV),
    Case("MAAS-K8S-040", "unknown", probe_workload(U), False, DEV),
    Case("MAAS-K8S-026", "compliant", binding("Role", "secret-sync-token", [
        {"kind": "ServiceAccount", "name": "external-secrets", "namespace": "external-secrets"}]), False, SUPPORT),
    # Another service account of External Secrets' namespace is not its controller.
    Case("MAAS-K8S-026", "non-compliant", binding("Role", "secret-sync-token", [
        {"kind": "ServiceAccount", "name": "reader", "namespace": "external-secrets"}]), True, SUPPORT),
    Case("MAAS-K8S-026", "compliant", binding("ClusterRole", "maas:team:support:agent-objects",
                                              [{"kind": "Group", "name": "maas:team:support"}]), False, SUPPORT),
    Case("MAAS-K8S-026", "compliant", binding("ClusterRole", "maas:team:insights", OWN_SA), False, DEV),  # not a team
    Case("MAAS-K8S-026", "non-compliant", binding("ClusterRole", "maas:team:support", OWN_SA), True, SUPPORT),
    Case("MAAS-K8S-026", "non-compliant", binding("ClusterRole", "maas:team:insights:agent-objects", OWN_SA), True,
         SUPPORT),
    Case("MAAS-K8S-026", "non-compliant", binding("ClusterRole", "edit", [
        {"kind": "ServiceAccount", "name": "billing", "namespace": "billing"}]), True, SUPPORT),
    Case("MAAS-K8S-026", "non-compliant", binding("ClusterRole", "edit", [
        {"kind": "ServiceAccount", "name": "external-secrets", "namespace": "external-secrets"}]), True, SUPPORT),
    Case("MAAS-K8S-026", "non-compliant", binding("ClusterRole", "view", OWN_SA, "ClusterRoleBinding"), True, SUPPORT),
    Case("MAAS-K8S-026", "missing", binding("Role", "reader", None), False, SUPPORT),
    Case("MAAS-K8S-026", "unknown", binding("Role", "reader", U), False, SUPPORT),
    Case("MAAS-K8S-027", "compliant", ingress({}), False, SUPPORT),
    Case("MAAS-K8S-027", "compliant", ingress({ALB + "group.order": "-1"}), False, DEV),  # the platform's own
    Case("MAAS-K8S-027", "non-compliant", ingress({ALB + "group.order": "-1"}), True, SUPPORT),
    Case("MAAS-K8S-027", "non-compliant", ingress({ALB + "actions.steal": "{}"}), True, SUPPORT),
    Case("MAAS-K8S-027", "non-compliant", ingress({ALB + "conditions.triage": "[]"}), True, SUPPORT),
    Case("MAAS-K8S-027", "non-compliant", ingress({ALB + "group.name": "maas-prod-public"}), True, SUPPORT),
    Case("MAAS-K8S-027", "missing", ingress({ALB + "group.name": None}), True, SUPPORT),
    Case("MAAS-K8S-027", "unknown", ingress({ALB + "group.name": U}), False, SUPPORT),
]

# -- MAAS-K8S-028 to 034: Ingress TLS, Service addresses, RBAC grants, patches of namespaces ------

def service(spec: Any) -> Resource:
    return manifest("v1", "Service", spec)


def class_params(spec: Any) -> Resource:
    return manifest("elbv2.k8s.aws/v1beta1", "IngressClassParams", spec, "public", None)


def role(rules: Any, kind: str = "ClusterRole", name: str = "custom", labels: Optional[dict[str, Any]] = None,
         **extra: Any) -> Resource:
    resource = manifest("rbac.authorization.k8s.io/v1", kind, None, name, None if kind == "ClusterRole" else "triage",
                        labels)
    props = {k: v for k, v in resource.props.items() if k != "spec"}
    props.update(rules=rules, **extra)
    return replace(resource, props=props)


def bound(binding_: Resource, *roles: Resource) -> Resource:
    """The binding as the gate judges it: with the rules of the roles of the stack it names."""
    return rbac.resolve_bindings([*roles, binding_])[-1]


def namespace_patch(labels: Any, *stack: Resource) -> Resource:
    patch = Resource(type="kubernetes:core/v1:NamespacePatch", name="lower", urn="urn:pulumi:dev::maas::NsPatch::lower",
                     props={"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "triage", **({} if labels is None else {"labels": labels})}})
    return patches.merge_patches([*stack, patch])[-1]


INTERNET = {ALB + "group.name": "maas-dev-public", ALB + "scheme": "internet-facing"}
CERT = {ALB + "certificate-arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
TEAM_GROUP = [{"kind": "Group", "name": "maas:team:support", "apiGroup": "rbac.authorization.k8s.io"}]
READ_PODS = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
READ_SECRETS = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
NARROW = role([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}], name="narrow")
BINDS_NARROW = role([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"],
                      "resourceNames": ["narrow"]}], name="binder")

CASES += [
    Case("MAAS-K8S-028", "compliant", ingress({}), False),
    Case("MAAS-K8S-028", "compliant", ingress({**INTERNET, **CERT, ALB + "listen-ports": '[{"HTTPS": 443}]'}), False),
    Case("MAAS-K8S-028", "compliant", ingress({**INTERNET, **CERT}), False),  # HTTPS 443 is then the default
    Case("MAAS-K8S-028", "compliant", ingress({**INTERNET, **CERT, ALB + "ssl-redirect": "443",
                                                ALB + "listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]'}), False),
    Case("MAAS-K8S-028", "non-compliant", ingress(INTERNET), True),  # HTTP 80 by default
    Case("MAAS-K8S-028", "non-compliant", ingress({**INTERNET, **CERT,
                                                    ALB + "listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]'}), True),
    Case("MAAS-K8S-028", "non-compliant", manifest("networking.k8s.io/v1", "Ingress", {"ingressClassName": "nginx"}),
         True),
    Case("MAAS-K8S-028", "missing", ingress({ALB + "scheme": None}), False),  # internal by default
    Case("MAAS-K8S-028", "unknown", ingress({ALB + "scheme": U}), False),
    Case("MAAS-K8S-029", "compliant", service({"type": "ClusterIP", "ports": [{"port": 80}]}), False),
    Case("MAAS-K8S-029", "non-compliant", service({"externalIPs": ["203.0.113.7"]}), True),
    Case("MAAS-K8S-029", "non-compliant", service({"loadBalancerSourceRanges": ["0.0.0.0/0"]}), True),
    Case("MAAS-K8S-029", "missing", service({}), False),
    Case("MAAS-K8S-029", "unknown", service({"externalIPs": U}), False),
    Case("MAAS-K8S-030", "compliant", bound(binding("Role", "custom", OWN_SA), role(READ_PODS, "Role")), False),
    Case("MAAS-K8S-030", "compliant", binding("ClusterRole", "admin", TEAM_GROUP), False),  # one namespace
    Case("MAAS-K8S-030", "compliant", bound(binding("ClusterRole", "custom", OWN_SA), role(READ_SECRETS)), False),
    Case("MAAS-K8S-030", "compliant", bound(binding("ClusterRole", "binder", TEAM_GROUP, "ClusterRoleBinding"),
                                            BINDS_NARROW, NARROW), False),  # the platform's team roles
    Case("MAAS-K8S-030", "non-compliant", binding("ClusterRole", "cluster-admin", TEAM_GROUP), True),
    Case("MAAS-K8S-030", "non-compliant", binding("ClusterRole", "edit", OWN_SA, "ClusterRoleBinding"), True),
    Case("MAAS-K8S-030", "non-compliant", bound(binding("ClusterRole", "custom", OWN_SA), role(
        [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])), True),
    Case("MAAS-K8S-030", "non-compliant", bound(binding("ClusterRole", "custom", OWN_SA, "ClusterRoleBinding"),
                                                role(READ_SECRETS)), True),
    Case("MAAS-K8S-030", "non-compliant", bound(binding("Role", "custom", OWN_SA), role(
        [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}], "Role")), True),
    Case("MAAS-K8S-030", "non-compliant", bound(binding("ClusterRole", "binder", TEAM_GROUP, "ClusterRoleBinding"),
                                                role([{"apiGroups": ["rbac.authorization.k8s.io"], "verbs": ["bind"],
                                                       "resources": ["clusterroles"]}], name="binder")), True),
    Case("MAAS-K8S-030", "non-compliant", bound(binding("ClusterRole", "gather", OWN_SA, "ClusterRoleBinding"), role(
        [], name="gather", aggregationRule={"clusterRoleSelectors": [{"matchLabels": {AGGREGATE + "edit": "true"}}]})),
        True),
    Case("MAAS-K8S-030", "missing", binding("Role", "reader", None), False),  # a role the stack does not declare
    Case("MAAS-K8S-030", "unknown", binding("Role", "reader", U), False),
    Case("MAAS-K8S-031", "compliant", binding("Role", "reader", OWN_SA), False),
    Case("MAAS-K8S-031", "non-compliant", binding("ClusterRole", "view", [
        {"kind": "Group", "name": "system:authenticated"}], "ClusterRoleBinding"), True),
    Case("MAAS-K8S-031", "non-compliant", binding("Role", "reader", [{"kind": "User", "name": "system:anonymous"}]),
         True),
    Case("MAAS-K8S-031", "missing", binding("Role", "reader", None), False),
    Case("MAAS-K8S-031", "unknown", binding("Role", "reader", U), False),
    Case("MAAS-K8S-032", "compliant", role([{"apiGroups": ["argoproj.io"], "resources": ["rollouts"],
                                             "verbs": ["get", "list"]}], labels={AGGREGATE + "view": "true"}), False),
    Case("MAAS-K8S-032", "compliant", role(READ_SECRETS, labels={AGGREGATE + "edit": "true"}), False),
    Case("MAAS-K8S-032", "non-compliant", role(READ_SECRETS, labels={AGGREGATE + "view": "true"}), True),
    Case("MAAS-K8S-032", "non-compliant", role([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}],
                                               labels={AGGREGATE + "admin": "true"}), True),
    Case("MAAS-K8S-032", "missing", role(READ_SECRETS, labels={}), False),
    Case("MAAS-K8S-032", "unknown", role(U, labels={AGGREGATE + "view": "true"}), False),
    Case("MAAS-K8S-033", "compliant", namespace_patch({"team": "x", "pod-security.kubernetes.io/warn": "restricted"}),
         False),
    Case("MAAS-K8S-033", "non-compliant", namespace_patch({"pod-security.kubernetes.io/enforce": "privileged"}), True),
    Case("MAAS-K8S-033", "non-compliant", namespace_patch({"pod-security.kubernetes.io/audit": None}), True),
    Case("MAAS-K8S-033", "missing", namespace_patch(None), False),
    Case("MAAS-K8S-033", "unknown", namespace_patch({"pod-security.kubernetes.io/enforce": U}), False),
    Case("MAAS-K8S-034", "compliant", class_params({"scheme": "internal"}), False),
    Case("MAAS-K8S-034", "compliant", class_params({"scheme": "internet-facing", "sslRedirectPort": "443"}), False),
    Case("MAAS-K8S-034", "non-compliant", class_params({"scheme": "internet-facing"}), True),
    Case("MAAS-K8S-034", "missing", class_params({}), False),
    Case("MAAS-K8S-034", "unknown", class_params({"scheme": U}), False),
]

# -- MAAS-K8S-035 and 036: the default namespace, pods no NetworkPolicy selects -------------------

def in_namespace(resource: Resource, namespace: Any) -> Resource:
    """``resource`` in ``namespace`` (DROP leaves metadata.namespace out)."""
    metadata = {k: v for k, v in resource.props["metadata"].items() if k != "namespace"}
    if namespace is not DROP:
        metadata["namespace"] = namespace
    return replace(resource, props={**resource.props, "metadata": metadata})


def network_policy(selector: Any, namespace: Any = "batch") -> Resource:
    return manifest("networking.k8s.io/v1", "NetworkPolicy", {"podSelector": selector, "policyTypes": ["Ingress"]},
                    name=f"np-{len(repr(selector))}", namespace=namespace)


BATCH = namespace(RESTRICTED, name="batch")
BATCH_WORKER = in_namespace(deployment(), "batch")
SELECT_TRIAGE = {"matchLabels": {"app.kubernetes.io/name": "triage"}}

CASES += [
    Case("MAAS-K8S-035", "compliant", deployment(), False),
    Case("MAAS-K8S-035", "compliant", in_namespace(manifest("external-secrets.io/v1", "ClusterSecretStore", {}),
                                                   DROP), False),  # cluster-scoped
    Case("MAAS-K8S-035", "non-compliant", in_namespace(deployment(), "default"), True),
    Case("MAAS-K8S-035", "non-compliant", manifest("example.com/v1", "Widget", {}, namespace="default"), True),
    Case("MAAS-K8S-035", "missing", in_namespace(config_map(PLATFORM_LABELS), DROP), True),
    Case("MAAS-K8S-035", "missing", manifest("example.com/v1", "Widget", {}, namespace=None), False),  # scope unknown
    Case("MAAS-K8S-035", "unknown", in_namespace(deployment(), U), False),
    Case("MAAS-K8S-035", "non-compliant", release(namespace="default"), True),
    Case("MAAS-K8S-035", "compliant", release(), False),
    Case("MAAS-K8S-036", "compliant", [BATCH, BATCH_WORKER, network_policy({})], False),
    Case("MAAS-K8S-036", "compliant", [BATCH, BATCH_WORKER, network_policy(SELECT_TRIAGE)], False),
    Case("MAAS-K8S-036", "compliant", [BATCH, BATCH_WORKER, network_policy({"matchExpressions": [
        {"key": "maas.dev/team", "operator": "In", "values": ["support"]}]})], False),
    Case("MAAS-K8S-036", "compliant", [deployment()], False),  # the agent's namespace: not the stack's
    Case("MAAS-K8S-036", "non-compliant", [BATCH, BATCH_WORKER], True),
    Case("MAAS-K8S-036", "non-compliant", [BATCH, BATCH_WORKER, network_policy(SELECT_TRIAGE, namespace="triage")],
         True),  # another namespace's policy
    Case("MAAS-K8S-036", "non-compliant", [BATCH, BATCH_WORKER, network_policy({"matchExpressions": [
        {"key": "maas.dev/team", "operator": "NotIn", "values": ["support"]}]})], True),
    Case("MAAS-K8S-036", "missing", [BATCH, BATCH_WORKER, network_policy(None)], False),  # absent selects all
    Case("MAAS-K8S-036", "unknown", [BATCH, BATCH_WORKER, network_policy({"matchLabels": {
        "app.kubernetes.io/name": U}})], False),
    Case("MAAS-K8S-036", "unknown", [BATCH, in_namespace(deployment(), U)], False),
]


# -- node capacity: NodePools, EC2NodeClasses, node groups (policy.kubernetes.capacity) -----------------------
# Shapes as karpenter-provider-aws v1.12.2 defines them (pkg/apis/crds/karpenter.sh_nodepools.yaml,
# karpenter.k8s.aws_ec2nodeclasses.yaml) and as aws:eks/nodeGroup takes them; written here, not by the rules.

EBS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"
REQUIREMENTS = [
    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]},
    {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["m7g", "m7i", "c7g"]},
    {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Lt", "values": ["9"]},
    {"key": "karpenter.k8s.aws/instance-memory", "operator": "Lt", "values": ["32769"]},
]
DEDICATED = [{"key": "maas.dev/dedicated", "value": "agents", "effect": "NoSchedule"}]
TOLERATE_DEDICATED = [{"key": "maas.dev/dedicated", "operator": "Equal", "value": "agents", "effect": "NoSchedule"}]


def node_pool(name: str = "general", limits: Any = None, disruption: Any = None, requirements: Any = None,
              taints: Any = None, node_class: Any = "default", **spec: Any) -> Resource:
    template: dict[str, Any] = {"requirements": REQUIREMENTS if requirements is None else requirements,
                                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass",
                                                 "name": node_class} if node_class is not DROP else DROP}
    if node_class is DROP:
        del template["nodeClassRef"]
    if taints is not None:
        template["taints"] = taints
    body: dict[str, Any] = {
        "template": {"metadata": {"labels": {"maas.dev/environment": "dev"}}, "spec": template},
        "limits": {"cpu": "64", "memory": "256Gi"} if limits is None else limits,
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m",
                       "budgets": [{"nodes": "10%"}]} if disruption is None else disruption,
        **spec,
    }
    for key in [k for k, v in body.items() if v is DROP]:
        del body[key]
    return Resource(type="kubernetes:karpenter.sh/v1:NodePool", name=f"pool-{name}",
                    props={"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name},
                           "spec": body},
                    urn=f"urn:pulumi:dev::maas::kubernetes:karpenter.sh/v1:NodePool::pool-{name}")


def node_class(**changes: Any) -> Resource:
    spec: dict[str, Any] = {
        "role": "maas-dev-karpenter-node",
        "amiSelectorTerms": [{"alias": "al2023@v20251117"}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "maas-dev"}}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {
            "volumeSize": "40Gi", "volumeType": "gp3", "encrypted": True, "kmsKeyID": EBS_KEY}}],
        "tags": {"environment": "dev", "team": "platform"},
    }
    for key, value in changes.items():
        if value is DROP:
            spec.pop(key, None)
        else:
            spec[key] = value
    return Resource(type="kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", name="node-class",
                    props={"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
                           "metadata": {"name": "default"}, "spec": spec},
                    urn="urn:pulumi:dev::maas::kubernetes:karpenter.k8s.aws/v1:EC2NodeClass::node-class")


def node_group(**props: Any) -> Resource:
    body: dict[str, Any] = {"nodeGroupName": "system", "amiType": "AL2023_ARM_64_STANDARD", "capacityType": "ON_DEMAND",
                            "instanceTypes": ["t4g.medium"], "labels": {"maas.dev/node-group": "system"},
                            "taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]}
    body.update(props)
    return Resource(type="aws:eks/nodeGroup:NodeGroup", name="system", props=body,
                    urn="urn:pulumi:dev::maas::aws:eks/nodeGroup:NodeGroup::system")


def arch_affinity(*architectures: Any) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": list(architectures)}]}]}}}


def requesting(cpu: str, memory: str = "512Mi") -> dict[str, Any]:
    return container(resources={"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}})


AGENTS_POOL = node_pool("agents", taints=DEDICATED)
SYSTEM_ONLY = node_group()
TEAM_STACK = replace(DEV, team_stack=True)
ZERO_ALWAYS = {"consolidateAfter": "1m", "budgets": [{"nodes": "0"}]}

CASES += [
    # limits: a runaway autoscaler is a cost incident
    Case("MAAS-K8S-037", "compliant", node_pool(), False),
    Case("MAAS-K8S-037", "compliant", node_pool(limits={"nodes": "3"}, replicas=3), False),  # static pool
    Case("MAAS-K8S-037", "non-compliant", node_pool(limits={"cpu": "64"}), True),
    Case("MAAS-K8S-037", "non-compliant", node_pool(limits={"cpu": "0", "memory": "64Gi"}), True),
    Case("MAAS-K8S-037", "missing", node_pool(limits=DROP), True),
    Case("MAAS-K8S-037", "unknown", node_pool(limits={"cpu": "64", "memory": U}), False),
    Case("MAAS-K8S-037", "unknown", node_pool(limits=U), False),
    # IMDS, public addresses, selectors (metadataOptions defaults to required / hop 1 in the CRD)
    Case("MAAS-K8S-038", "compliant", node_class(), False),
    Case("MAAS-K8S-038", "compliant", node_class(securityGroupSelectorTerms=[{"id": "sg-0abc"}, {"name": "nodes"}]),
         False),
    Case("MAAS-K8S-038", "compliant", node_class(subnetSelectorTerms=[{"tags": {"karpenter.sh/discovery/maas-dev": "*"}}]),
         False),  # a key-only selector still names something
    Case("MAAS-K8S-038", "missing", node_class(metadataOptions=DROP), False),
    Case("MAAS-K8S-038", "missing", node_class(metadataOptions={"httpEndpoint": "enabled"}), False),
    Case("MAAS-K8S-038", "non-compliant", node_class(metadataOptions={"httpTokens": "optional"}), True),
    Case("MAAS-K8S-038", "non-compliant", node_class(metadataOptions={"httpTokens": "required",
                                                                      "httpPutResponseHopLimit": 2}), True),
    Case("MAAS-K8S-038", "non-compliant", node_class(associatePublicIPAddress=True), True),
    Case("MAAS-K8S-038", "non-compliant", node_class(subnetSelectorTerms=[{"tags": {}}]), True),
    Case("MAAS-K8S-038", "non-compliant", node_class(securityGroupSelectorTerms=[]), True),
    Case("MAAS-K8S-038", "unknown", node_class(metadataOptions={"httpTokens": U, "httpPutResponseHopLimit": 1}), False),
    Case("MAAS-K8S-038", "unknown", node_class(subnetSelectorTerms=[{"tags": {"karpenter.sh/discovery": U}}],
                                               securityGroupSelectorTerms=U), False),
    # volumes under the platform's key, user data without credentials
    Case("MAAS-K8S-039", "compliant", node_class(), False),
    Case("MAAS-K8S-039", "compliant", node_class(userData="[settings.kubernetes]\nmax-pods = 58\n"), False),
    Case("MAAS-K8S-039", "missing", node_class(blockDeviceMappings=DROP), True),  # the AMI family's aws/ebs default
    Case("MAAS-K8S-039", "non-compliant", node_class(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": "40Gi", "encrypted": False}}]), True),
    Case("MAAS-K8S-039", "non-compliant", node_class(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": "40Gi", "encrypted": True}}]), True),
    Case("MAAS-K8S-039", "non-compliant", node_class(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": "40Gi", "encrypted": True, "kmsKeyID": "alias/aws/ebs"}}]), True),
    Case("MAAS-K8S-039", "non-compliant", node_class(
        userData="#!/bin/bash\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"), True),
    Case("MAAS-K8S-039", "unknown", node_class(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": "40Gi", "encrypted": True, "kmsKeyID": U}}]), False),
    Case("MAAS-K8S-039", "unknown", node_class(userData=U), False),
    # disruption: consolidation and drift must be able to take nodes back
    Case("MAAS-REL-012", "compliant", node_pool(), False),
    Case("MAAS-REL-012", "compliant", node_pool(disruption={"consolidateAfter": "1m", "budgets": [
        {"nodes": "0", "schedule": "0 18 * * mon-fri", "duration": "14h"}, {"nodes": "1"}]}), False),  # business hours
    Case("MAAS-REL-012", "compliant", node_pool(disruption={"consolidateAfter": "1m", "budgets": [
        {"nodes": "0", "reasons": ["Underutilized"]}]}), False),  # empty and drifted nodes still go
    Case("MAAS-REL-012", "missing", node_pool(disruption=DROP), False),  # CRD default: consolidate, 10%
    Case("MAAS-REL-012", "non-compliant", node_pool(disruption={"consolidateAfter": "Never"}), True),
    Case("MAAS-REL-012", "non-compliant", node_pool(disruption=ZERO_ALWAYS), True),
    Case("MAAS-REL-012", "unknown", node_pool(disruption={"consolidateAfter": U}), False),
    Case("MAAS-REL-012", "unknown", node_pool(disruption={"consolidateAfter": "1m", "budgets": [{"nodes": U}]}),
         False),
    # every pod fits some capacity (arch, capacity type, taints, size)
    Case("MAAS-REL-013", "compliant", [node_pool(), SYSTEM_ONLY, deployment()], False),
    Case("MAAS-REL-013", "compliant", [node_pool(), deployment(affinity=arch_affinity("arm64"))], False),
    Case("MAAS-REL-013", "compliant", [AGENTS_POOL, deployment(tolerations=TOLERATE_DEDICATED)], False),
    Case("MAAS-REL-013", "compliant", [deployment(affinity=arch_affinity("s390x"))], False),  # no capacity: a team stack
    Case("MAAS-REL-013", "compliant", [SYSTEM_ONLY, deployment(
        nodeSelector={"maas.dev/node-group": "system"}, tolerations=[{"key": "CriticalAddonsOnly", "operator": "Exists"}])],
         False),
    Case("MAAS-REL-013", "non-compliant", [node_pool(requirements=REQUIREMENTS[1:] + [
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]), SYSTEM_ONLY,
        deployment(affinity=arch_affinity("arm64"))], True),  # the node group's taint keeps it off too
    Case("MAAS-REL-013", "non-compliant", [AGENTS_POOL, deployment()], True),  # the dedicated taint
    Case("MAAS-REL-013", "non-compliant", [node_pool(), deployment(requesting("12"))], True),  # largest: 8 vCPU
    Case("MAAS-REL-013", "non-compliant", [node_pool(), deployment(requesting("2", "40Gi"))], True),  # 32 GiB
    Case("MAAS-REL-013", "non-compliant", [node_pool(requirements=[
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]),
        deployment(nodeSelector={"karpenter.sh/capacity-type": "on-demand"})], True),
    Case("MAAS-REL-013", "non-compliant", [node_pool(), deployment(nodeSelector={"example.com/gpu": "true"})],
         True),  # a label no pool defines: Karpenter never puts it on a node
    Case("MAAS-REL-013", "non-compliant", [SYSTEM_ONLY, deployment(
        nodeSelector={"karpenter.sh/capacity-type": "on-demand"}, tolerations=[{"operator": "Exists"}])], True),
    Case("MAAS-REL-013", "missing", [node_pool(requirements=[]), deployment(
        affinity=arch_affinity("arm64"), nodeSelector={"karpenter.sh/capacity-type": "on-demand"})],
        False),  # no requirement: any architecture, any capacity type, any size
    Case("MAAS-REL-013", "missing", [node_group(amiType=None, taints=None), deployment(affinity=arch_affinity("arm64"))],
         False),  # architecture not known from a CUSTOM / absent AMI type
    Case("MAAS-REL-013", "unknown", [AGENTS_POOL, deployment(tolerations=U)], False),
    Case("MAAS-REL-013", "unknown", [node_pool(requirements=U), deployment(affinity=arch_affinity("arm64"))], False),
    # capacity is the platform's, and a pool names its node class
    Case("MAAS-REL-014", "compliant", [node_class(), node_pool(), AGENTS_POOL], False),
    Case("MAAS-REL-014", "compliant", [deployment()], False, TEAM_STACK),
    Case("MAAS-REL-014", "non-compliant", [node_class(), node_pool(node_class="gpu")], True),
    Case("MAAS-REL-014", "non-compliant", [node_pool()], True),
    Case("MAAS-REL-014", "non-compliant", [node_pool(), deployment()], True, TEAM_STACK),
    Case("MAAS-REL-014", "non-compliant", [SYSTEM_ONLY], True, TEAM_STACK),
    Case("MAAS-REL-014", "missing", [node_class(), node_pool(node_class=DROP)], True),
    Case("MAAS-REL-014", "unknown", [node_class(), node_pool(node_class=U)], False),
]


# MAAS-K8S-041: prod requires agents' images from their own repository, by digest (tests/test_registry_admission.py
# holds the admission side).
OWN_REGISTRY = replace(PROD, require_own_registry=True, agent_registry="123456789012.dkr.ecr.us-east-1.amazonaws.com/maas-prod")
OWN_IMAGE = f"{OWN_REGISTRY.agent_registry}/triage@sha256:{'0a' * 32}"
CASES += [
    Case("MAAS-K8S-041", "compliant", deployment(container(image=OWN_IMAGE)), False, OWN_REGISTRY),
    Case("MAAS-K8S-041", "compliant", deployment(container()), False, PROD),  # not required
    Case("MAAS-K8S-041", "non-compliant", deployment(container()), True, OWN_REGISTRY),  # ghcr, by tag
    Case("MAAS-K8S-041", "non-compliant", deployment(container(image=OWN_IMAGE.replace("/triage@", "/billing@"))),
         True, OWN_REGISTRY),
    Case("MAAS-K8S-041", "missing", deployment(container(image=None)), True, OWN_REGISTRY),
    Case("MAAS-K8S-041", "unknown", deployment(container(image=U)), False, OWN_REGISTRY),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{c.kind}-{i}" for i, c in enumerate(CASES)])
def test_rule_case(case: Case):
    # A stack rule's case is the list of resources it judges together.
    listed = case.resource if isinstance(case.resource, list) else [case.resource]
    outcome = assess(get_rule(case.rule), listed, case.context)
    messages = [finding.message for finding in outcome.findings]
    assert bool(messages) == case.violates, messages
    assert all(isinstance(m, str) and m for m in messages)
    unknown = outcome.not_evaluable
    if case.kind == "unknown":
        assert unknown, f"{case.rule}: a value not known yet passed silently"
        assert all(u.urn in {r.urn for r in listed} and u.message.startswith("not evaluable:") for u in unknown)
    else:
        assert unknown == (), f"{case.rule} ({case.kind}): every value is known, yet {unknown}"


def my_rules():
    return [r for r in rules() if r.check.__module__.startswith(MODULE + ".")]


def test_every_rule_of_the_module_has_each_kind_of_case():
    assert len(my_rules()) >= 15
    for rule in my_rules():
        kinds = {c.kind for c in CASES if c.rule == rule.id}
        assert kinds == {"compliant", "non-compliant", "missing", "unknown"}, f"{rule.id} has only {sorted(kinds)} cases"
        assert any(c.violates for c in CASES if c.rule == rule.id), rule.id
        assert any(not c.violates for c in CASES if c.rule == rule.id), rule.id


def test_rules_of_these_prefixes_live_in_the_kubernetes_or_stack_module():
    # MAAS-STK-009/010 judge what a stack registers that no other rule can see into (policy.components).
    for rule in rules():
        if rule.id.startswith(PREFIXES) or rule.id.startswith("MAAS-STK-"):
            assert rule.check.__module__.startswith(
                (MODULE + ".", "maas_platform.policy.stack", "maas_platform.policy.components")), rule.id


# -- metadata ------------------------------------------------------------------------------------

# The recommendations of the CIS Amazon EKS Benchmark v1.5.0 (sections 2 to 5).
CIS_EKS_V150 = {
    "2.1.1", "3.1.1", "3.1.2", "3.1.3", "3.1.4", *(f"3.2.{i}" for i in range(1, 12)),
    *(f"4.1.{i}" for i in range(1, 9)), *(f"4.2.{i}" for i in range(1, 6)), "4.3.1", "4.3.2", "4.4.1", "4.4.2",
    "4.5.1", "4.5.2", "4.5.3", "5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.2.1", "5.3.1",
    "5.4.1", "5.4.2", "5.4.3", "5.4.4", "5.4.5", "5.5.1",
}
SOC2 = re.compile(r"^(CC[1-9]\.[1-9]|A1\.[1-3]|C1\.[12]|PI1\.[1-5]|P[1-8]\.[1-6])$")
NIST = re.compile(r"^(AC|AT|AU|CA|CM|CP|IA|IR|MA|MP|PE|PL|PM|PS|PT|RA|SA|SC|SI|SR)-\d{1,2}(\(\d{1,2}\))?$")


@pytest.mark.parametrize("rule", my_rules(), ids=lambda r: r.id)
def test_rule_metadata_is_complete_and_cites_controls_that_exist(rule):
    assert rule.id.startswith(PREFIXES + CAPACITY_RELIABILITY)
    assert rule.title and rule.description.endswith(".") and rule.remediation
    assert rule.scope == "stack" or rule.types, "a resource rule names the types it checks"
    assert set(rule.frameworks.get("CIS EKS", ())) <= CIS_EKS_V150
    assert all(SOC2.match(c) for c in rule.frameworks.get("SOC 2", ())), rule.frameworks
    assert all(NIST.match(c) for c in rule.frameworks.get("NIST 800-53", ())), rule.frameworks


# -- where the pod template is -----------------------------------------------------------------

POD_RULES = [f"MAAS-K8S-{n:03d}" for n in range(1, 15)]
KINDS = list(API)


@pytest.mark.parametrize("kind", KINDS)
def test_a_hardened_pod_passes_every_pod_rule_in_every_kind(kind):
    resource = workload(pod(container(image="ghcr.io/acme/agent:1.0.0@sha256:" + "b" * 64)), kind)
    for rule_id in POD_RULES:
        assert check_resource(get_rule(rule_id), resource, PROD) == [], rule_id


@pytest.mark.parametrize("kind", KINDS)
def test_an_insecure_pod_is_found_at_its_kind_s_path(kind):
    """The pod template sits at spec, spec.template.spec or spec.jobTemplate.spec.template.spec."""
    resource = workload(pod(container(security={"privileged": True}), hostNetwork=True), kind)
    privileged = check_resource(get_rule("MAAS-K8S-002"), resource, DEV)
    host = check_resource(get_rule("MAAS-K8S-004"), resource, DEV)
    assert len(privileged) == 1 and "'agent'" in privileged[0]
    assert len(host) == 1 and "hostNetwork" in host[0]


def test_init_containers_are_held_to_the_same_security_context():
    resource = deployment(initContainers=[container("migrate", security={"allowPrivilegeEscalation": DROP})])
    messages = check_resource(get_rule("MAAS-K8S-003"), resource, DEV)
    assert len(messages) == 1 and "'migrate'" in messages[0], messages


def test_a_workload_whose_pod_template_is_elsewhere_is_a_finding():
    misplaced = Resource(type="kubernetes:apps/v1:Deployment", name="odd", props={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "odd", "labels": AGENT_LABELS},
        "spec": {"spec": pod()},
    })
    for rule_id in POD_RULES:
        messages = check_resource(get_rule(rule_id), misplaced, PROD)
        assert len(messages) == 1 and "spec.template.spec" in messages[0], (rule_id, messages)


def test_values_not_known_yet_are_not_evaluable_rather_than_judged():
    unknown_image = deployment(container(image=U))
    for rule_id in ("MAAS-K8S-011", "MAAS-K8S-012"):
        outcome = assess(get_rule(rule_id), [unknown_image], PROD)
        assert outcome.findings == ()
        assert [u.property for u in outcome.not_evaluable] == ["spec.template.spec.containers[0].image"]
    for template in ({"spec": U}, U):  # the pod spec, or the whole template, not known yet
        unknown_template = Resource(type="kubernetes:apps/v1:Deployment", name="x", urn="urn:x",
                                    props={"kind": "Deployment", "spec": {"template": template}})
        for rule_id in POD_RULES:
            outcome = assess(get_rule(rule_id), [unknown_template], PROD)
            assert outcome.findings == (), rule_id
            assert [u.property for u in outcome.not_evaluable] == [
                "spec.template.spec" if template != U else "spec.template"], rule_id


def test_an_unknown_container_is_not_evaluable_and_the_others_are_still_checked():
    resource = deployment(U, container("sidecar", security={"privileged": True}))
    outcome = assess(get_rule("MAAS-K8S-002"), [resource], DEV)
    assert [f.message for f in outcome.findings] == ["container 'sidecar' is privileged"]
    assert [u.property for u in outcome.not_evaluable] == ["spec.template.spec.containers[0]"]
    # a rule that reads no container is not held up by it
    assert assess(get_rule("MAAS-K8S-013"), [resource], DEV).not_evaluable == ()


def test_patches_and_releases_are_not_label_checked():
    patch = Resource(type="kubernetes:apps/v1:DeploymentPatch", name="p", props={"metadata": {"name": "coredns"}})
    assert check_resource(get_rule("MAAS-TAG-102"), patch, DEV) == []
    assert check_resource(get_rule("MAAS-TAG-102"), release(), DEV) == []
    assert check_resource(get_rule("MAAS-K8S-001"), patch, DEV) == []


# -- the shipped stacks --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM, stack="dev")


def shipped(plans, team) -> dict[str, tuple[Plan, Context]]:
    stacks = {env: (plan, Context.for_environment(env)) for env, plan in plans.items()}
    stacks["team-example"] = (team, DEV)
    return stacks


def test_shipped_stacks_have_no_mandatory_kubernetes_findings(plans, team):
    ids = [rule.id for rule in my_rules()]
    found = {}
    for stack, (plan, context) in shipped(plans, team).items():
        violations = evaluate(plan_resources(plan), context, only=ids).violations
        mandatory = [f"{v['policy']} {v['urn'].rsplit('::', 1)[-1]}: {v['message']}" for v in violations
                     if v["level"] == "mandatory"]
        if mandatory:
            found[stack] = mandatory
    assert found == {}


def test_the_rules_see_the_shipped_agents_workloads(plans, team):
    """The shipped Deployments are checked (not skipped) and a change to one is caught."""
    resources = plan_resources(plans["dev"]) + plan_resources(team)
    deployments = [r for r in resources if r.type == "kubernetes:apps/v1:Deployment"]
    agents = [r for plan in (plans["dev"], team) for r in plan.of_type("maas:agent:AgentService")]
    # One per agent, and one per agent egress proxy.
    proxies = [r for r in deployments if r.name.endswith("-egress-proxy")]
    assert agents and proxies and len(deployments) == len(agents) + len(proxies)
    for resource in deployments:
        props = copy.deepcopy(dict(resource.props))
        props["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("allowPrivilegeEscalation")
        props["spec"]["template"]["spec"]["hostPID"] = True
        changed = Resource(type=resource.type, name=resource.name, props=props, urn=resource.urn)
        assert check_resource(get_rule("MAAS-K8S-003"), changed, DEV), resource.name
        assert check_resource(get_rule("MAAS-K8S-004"), changed, DEV), resource.name


def test_prod_digest_rule_holds_the_dev_agents_to_prod(plans):
    """Of the dev agents only research is pinned by digest (stacks/Pulumi.dev.yaml): in prod the others would fail."""
    rule = get_rule("MAAS-K8S-012")
    failing = sorted(r.get("metadata.name") for r in plan_resources(plans["dev"])
                     if r.type == "kubernetes:apps/v1:Deployment" and check_resource(rule, r, PROD))
    pinned = sorted(r.get("metadata.name") for r in plan_resources(plans["dev"])
                    if r.type == "kubernetes:apps/v1:Deployment" and "@sha256:" in
                    r.get("spec.template.spec.containers.0.image"))
    assert pinned and failing and set(failing).isdisjoint(pinned)


# -- every kind that carries a pod, and patches judged merged ------------------------------------

def custom(type_token: str, spec: dict[str, Any]) -> Resource:
    kind = type_token.rsplit(":", 1)[-1]
    return Resource(type=type_token, name="c", urn=f"urn:pulumi:dev::maas::{kind}::c", props={
        "apiVersion": type_token.split(":")[1], "kind": kind, "metadata": {"name": "c", "namespace": "triage",
                                                                           "labels": AGENT_LABELS}, "spec": spec})


def template(pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"labels": dict(AGENT_LABELS)}, "spec": pod_spec}


def carriers(pod_spec: dict[str, Any]) -> dict[str, Resource]:
    """Kinds beyond the built-in workloads that carry a pod spec, each with ``pod_spec``."""
    return {
        "ScaledJob": custom("kubernetes:keda.sh/v1alpha1:ScaledJob", {"jobTargetRef": {"template": template(pod_spec)}}),
        "Rollout": custom("kubernetes:argoproj.io/v1alpha1:Rollout", {"template": template(pod_spec)}),
        "PodTemplate": Resource(type="kubernetes:core/v1:PodTemplate", name="t", urn="urn:t", props={
            "kind": "PodTemplate", "metadata": {"name": "t", "labels": AGENT_LABELS}, "template": template(pod_spec)}),
        "any CRD": custom("kubernetes:example.com/v1:WorkerPool", {"pools": [{"template": template(pod_spec)}]}),
    }


@pytest.mark.parametrize("kind", ["ScaledJob", "Rollout", "PodTemplate", "any CRD"])
def test_every_kind_that_carries_a_pod_is_judged(kind):
    hardened = carriers(pod(container(image="ghcr.io/acme/agent:1.0.0@sha256:" + "b" * 64)))[kind]
    for rule_id in POD_RULES:
        assert check_resource(get_rule(rule_id), hardened, PROD) == [], (kind, rule_id)
    insecure = carriers(pod(container(security={"privileged": True}), hostNetwork=True))[kind]
    assert check_resource(get_rule("MAAS-K8S-002"), insecure, DEV)
    assert check_resource(get_rule("MAAS-K8S-004"), insecure, DEV)


def test_probes_are_asked_of_long_running_kinds_only():
    unprobed = pod(container(readinessProbe=DROP, livenessProbe=DROP))
    found = {kind: bool(check_resource(get_rule("MAAS-K8S-010"), resource, DEV))
             for kind, resource in carriers(unprobed).items()}
    assert found == {"ScaledJob": False, "Rollout": True, "PodTemplate": False, "any CRD": False}
    assert check_resource(get_rule("MAAS-K8S-010"), workload(unprobed, "CronJob"), DEV) == []


def deployment_patch(pod_spec: Optional[dict[str, Any]] = None, name: str = "triage", **spec: Any) -> Resource:
    body: dict[str, Any] = dict(spec)
    if pod_spec is not None:
        body["template"] = {"spec": pod_spec}
    return Resource(type="kubernetes:apps/v1:DeploymentPatch", name="patch", urn="urn:pulumi:dev::maas::P::patch",
                    props={"apiVersion": "apps/v1", "kind": "Deployment",
                           "metadata": {"name": name, "namespace": "triage"}, "spec": body})


def findings(resources: list[Resource], rule_ids: list[str]) -> dict[str, list[str]]:
    violations = evaluate(resources, DEV, only=rule_ids).violations
    found: dict[str, list[str]] = {}
    for v in violations:
        found.setdefault(v["urn"].rsplit("::", 1)[-1], []).append(v["policy"])
    return {urn: sorted(ids) for urn, ids in found.items()}


def test_a_patch_of_a_target_in_the_stack_is_judged_merged_onto_it():
    target = workload(pod(), "Deployment")
    target = replace(target, urn="urn:pulumi:dev::maas::Deployment::triage",
                     props={**target.props, "metadata": {**target.props["metadata"], "namespace": "triage"}})
    patch = deployment_patch({"containers": [{"name": "agent", "securityContext": {"privileged": True}}],
                              "hostNetwork": True})
    assert findings([target, patch], POD_RULES) == {"patch": ["MAAS-K8S-002", "MAAS-K8S-004"]}
    # a patch that changes nothing the rules judge passes; the target is still judged as declared
    assert findings([target, deployment_patch(replicas=3)], POD_RULES) == {}


def test_a_patch_without_its_target_is_blamed_only_for_what_it_sets():
    assert findings([deployment_patch(replicas=3)], POD_RULES) == {}  # the baseline passes every pod rule
    assert findings([deployment_patch({"containers": [{"name": "x", "image": "nginx:1.27"}]})], POD_RULES) == {}
    privileged = deployment_patch({"containers": [{"name": "x", "securityContext": {"privileged": True}}],
                                   "volumes": [{"name": "host", "hostPath": {"path": "/"}}]})
    assert findings([privileged], POD_RULES) == {"patch": ["MAAS-K8S-002", "MAAS-K8S-005"]}
    exposing = Resource(type="kubernetes:core/v1:ServicePatch", name="svc", urn="urn:pulumi:dev::maas::S::svc",
                        props={"metadata": {"name": "kube-dns", "namespace": "kube-system"},
                               "spec": {"type": "LoadBalancer"}})
    assert findings([exposing], ["MAAS-K8S-018"]) == {"svc": ["MAAS-K8S-018"]}


def test_a_namespace_patch_lowering_pod_security_is_caught_with_or_without_its_target():
    agent_namespace = Resource(type="kubernetes:core/v1:Namespace", name="ns", urn="urn:pulumi:dev::maas::N::ns",
                               props={"kind": "Namespace", "metadata": {"name": "triage",
                                                                        "labels": TEAM_NAMESPACE}})
    lowered = {"pod-security.kubernetes.io/enforce": "privileged"}
    ids = ["MAAS-K8S-015", "MAAS-K8S-016", "MAAS-K8S-024", "MAAS-K8S-033"]
    assert namespace_patch(lowered, agent_namespace).target == agent_namespace.urn
    patch = Resource(type="kubernetes:core/v1:NamespacePatch", name="lower", urn="urn:pulumi:dev::maas::P::lower",
                     props={"metadata": {"name": "triage", "labels": lowered}})
    assert findings([agent_namespace, patch], ids) == {"lower": ["MAAS-K8S-015", "MAAS-K8S-024"]}
    assert findings([patch], ids) == {"lower": ["MAAS-K8S-033"]}


def test_node_capacity_quantities_and_taints_read_as_kubernetes_does():
    from maas_platform.policy.kubernetes.capacity import quantity, tolerates

    assert quantity("250m") == Decimal("0.25") and quantity("2") == 2 and quantity(4.0) == 4
    assert quantity("512Mi") == 512 * 2**20 and quantity("1G") == 10**9 and quantity("1e3") == 1000
    assert quantity("lots") is None and quantity(True) is None
    taint = {"key": "maas.dev/dedicated", "value": "agents", "effect": "NoSchedule"}
    assert tolerates([{"operator": "Exists"}], taint)
    assert tolerates([{"key": "maas.dev/dedicated", "operator": "Exists"}], taint)
    assert tolerates(TOLERATE_DEDICATED, taint)
    assert not tolerates([{"key": "maas.dev/dedicated", "value": "other"}], taint)
    assert not tolerates([{"key": "maas.dev/dedicated", "operator": "Exists", "effect": "NoExecute"}], taint)


def test_a_pod_that_fits_nowhere_is_named_with_each_capacity_s_reason():
    outcome = assess(get_rule("MAAS-REL-013"), [AGENTS_POOL, SYSTEM_ONLY, deployment(requesting("12"))], DEV)
    (finding,) = outcome.findings
    assert "NodePool agents: it does not tolerate the taint maas.dev/dedicated=agents:NoSchedule" in finding.message
    assert "node group system: it does not tolerate the taint CriticalAddonsOnly=true:NoSchedule" in finding.message
