"""Rules over Kubernetes objects: pods under Pod Security ``restricted``, images, namespaces,
Helm releases and the labels that mirror the AWS tags.

A rule sees an object's manifest as the engine receives it (``apiVersion``, ``kind``,
``metadata``, ``spec``). Where the pod template sits depends on the kind
(:data:`POD_SPEC_PATHS`): ``spec`` of a Pod, ``spec.template.spec`` of a Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController or Job,
``spec.jobTemplate.spec.template.spec`` of a CronJob. ``*Patch`` types are not checked: a
patch states only the fields it changes, so what it omits says nothing about the object.

A field that Kubernetes defaults to the insecure behaviour is a violation when it is
missing (``allowPrivilegeEscalation`` defaults to true, the seccomp profile to
``Unconfined``, the root filesystem to writable, the service-account token to mounted).
A field that defaults to the secure behaviour (``privileged``, ``hostNetwork``, a volume
without a source, which is an ``emptyDir``) is not. A value not known until the engine
creates something (``"[unknown]"``) is not judged.

Pods that genuinely need the host (the observability stack's node-exporter and Fluent Bit)
are rendered by their Helm charts into ``monitoring-host``, a namespace that enforces
``privileged`` while auditing and warning at ``restricted`` (MAAS-K8S-014 accepts exactly
that); they are not manifests of the plan. A manifest pod that needs the host is exempted
by name in ``maas:policy.exemptions`` with its reason, never by a weaker rule.

An agent's objects carry the labels :class:`~maas_platform.components.agent.AgentService`
sets (:data:`AGENT_LABELS`), which mirror the AWS tags of its resources: ``maas.dev/agent``
(tag ``agent``), ``maas.dev/team`` (``team``), ``maas.dev/cost-center`` (``cost-center``),
``maas.dev/environment`` (``environment``) and ``app.kubernetes.io/managed-by``
(``managed-by``). Fluent Bit ships the logs of pods labelled ``maas.dev/agent`` only, and
the cost estimate (docs/cost.md) names an agent's and a team's spend by these labels and
tags, so a missing label loses logs and misattributes cost.

Framework ids: ``CIS EKS`` are those of the CIS Amazon EKS Benchmark v1.5.0 (4.1 RBAC and
service accounts, 4.2 Pod Security Standards, 4.5 general policies).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from ..tagging import MANAGED_BY
from .core import UNKNOWN, Context, Resource, iter_containers, resource_rule

# -- labels ------------------------------------------------------------------------------------

AGENT_LABEL = "maas.dev/agent"
TEAM_LABEL = "maas.dev/team"
COST_CENTER_LABEL = "maas.dev/cost-center"
ENVIRONMENT_LABEL = "maas.dev/environment"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# Label of an agent's objects -> the AWS tag it mirrors.
AGENT_LABELS: dict[str, str] = {
    AGENT_LABEL: "agent",
    TEAM_LABEL: "team",
    COST_CENTER_LABEL: "cost-center",
    ENVIRONMENT_LABEL: "environment",
    MANAGED_BY_LABEL: "managed-by",
}
# What an agent's pods must carry for log shipping and cost attribution.
POD_ATTRIBUTION_LABELS: tuple[str, ...] = (AGENT_LABEL, TEAM_LABEL, COST_CENTER_LABEL)

PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
PSS_AUDIT = "pod-security.kubernetes.io/audit"
PSS_WARN = "pod-security.kubernetes.io/warn"
PSS_LEVELS: tuple[str, ...] = ("privileged", "baseline", "restricted")

# -- where the pods are ------------------------------------------------------------------------

POD_SPEC_PATHS: dict[str, str] = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "ReplicationController": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}
WORKLOAD_TYPES: tuple[str, ...] = (
    "kubernetes:core/v1:Pod",
    "kubernetes:core/v1:ReplicationController",
    "kubernetes:apps/*:Deployment",
    "kubernetes:apps/*:StatefulSet",
    "kubernetes:apps/*:DaemonSet",
    "kubernetes:apps/*:ReplicaSet",
    "kubernetes:extensions/*:Deployment",
    "kubernetes:extensions/*:DaemonSet",
    "kubernetes:extensions/*:ReplicaSet",
    "kubernetes:batch/*:Job",
    "kubernetes:batch/*:CronJob",
)
# Controllers that keep their pods running; their containers need probes.
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"})
NAMESPACE_TYPES: tuple[str, ...] = ("kubernetes:core/v1:Namespace",)
HELM_RELEASE_TYPES: tuple[str, ...] = ("kubernetes:helm.sh/v3:Release",)
# Kubernetes types that are not one object's manifest.
_NOT_MANIFESTS = re.compile(r"^kubernetes:(helm\.sh|yaml|kustomize)/|Patch$|List$")

# Volume sources Pod Security ``restricted`` admits.
RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$|@sha512:[0-9a-f]{128}$")
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def kind_of(resource: Resource) -> str:
    """The kind from the type token (``kubernetes:apps/v1:Deployment`` -> ``Deployment``)."""
    return resource.type.rsplit(":", 1)[-1]


def group_of(resource: Resource) -> str:
    """The API group from the type token (``core`` for the core group)."""
    parts = resource.type.split(":")
    return parts[1].split("/", 1)[0] if len(parts) == 3 else ""


def is_manifest(resource: Resource) -> bool:
    """Whether the resource is one Kubernetes object (not a Helm release, a patch or a list)."""
    return resource.type.startswith("kubernetes:") and not _NOT_MANIFESTS.search(resource.type)


def known(value: Any) -> bool:
    return value != UNKNOWN


def pod_spec_path(resource: Resource) -> Optional[str]:
    return POD_SPEC_PATHS.get(kind_of(resource))


def pod_spec(resource: Resource) -> Optional[Mapping[str, Any]]:
    """The pod spec of a workload, at the path its kind puts it."""
    path = pod_spec_path(resource)
    spec = resource.get(path) if path else None
    return spec if isinstance(spec, Mapping) else None


def pod_labels(resource: Resource) -> Mapping[str, Any]:
    """Labels of the pods a workload creates (a Pod's own labels)."""
    path = pod_spec_path(resource)
    if path is None:
        return {}
    labels = resource.get(path.rsplit(".spec", 1)[0] + ".metadata.labels") if path != "spec" else resource.labels
    return labels if isinstance(labels, Mapping) else {}


def long_running(resource: Resource) -> bool:
    """Controllers that keep pods running, and bare Pods that restart (``restartPolicy`` Always, the default)."""
    kind = kind_of(resource)
    if kind == "Pod":
        return resource.get("spec.restartPolicy", "Always") == "Always"
    return kind in LONG_RUNNING_KINDS


PodCheck = Callable[[Mapping[str, Any], Resource, Context], Iterable[str]]


def over_pods(check: PodCheck) -> Callable[[Resource, Context], Iterator[str]]:
    """A resource check from a pod check: the workload's pod spec, or the finding that it has none."""

    def run(resource: Resource, context: Context) -> Iterator[str]:
        path = pod_spec_path(resource)
        if path is None:
            return
        if resource.get(path) == UNKNOWN:
            return
        spec = pod_spec(resource)
        if spec is None:
            yield f"{kind_of(resource)} has no pod spec at {path}"
            return
        yield from check(spec, resource, context)

    run.__name__ = check.__name__
    run.__doc__ = check.__doc__
    return run


def security_context(container: Mapping[str, Any]) -> Mapping[str, Any]:
    context = container.get("securityContext")
    return context if isinstance(context, Mapping) else {}


def effective(container: Mapping[str, Any], pod: Mapping[str, Any], key: str) -> Any:
    """A security setting the container states, else the one the pod states (Kubernetes' precedence)."""
    value = security_context(container).get(key)
    if value is not None:
        return value
    pod_context = pod.get("securityContext")
    return pod_context.get(key) if isinstance(pod_context, Mapping) else None


def name_of(container: Mapping[str, Any]) -> str:
    return str(container.get("name") or "?")


def _main_containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for container in pod.get("containers") or []:
        if isinstance(container, Mapping):
            yield container


def _sized_containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Containers that take node resources (ephemeral containers cannot state any)."""
    for key in ("initContainers", "containers"):
        for container in pod.get(key) or []:
            if isinstance(container, Mapping):
                yield container


# -- Pod Security restricted ---------------------------------------------------------------------

@resource_rule(
    "MAAS-K8S-001",
    title="Containers run as a non-root user",
    description="Every container runs with runAsNonRoot: true (its own or the pod's securityContext) and never "
                "as user 0. Without it the image's user applies, which is root for most images, and a process "
                "that escapes the container is root on the node.",
    severity="high",
    remediation="Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod template "
                "(or on each container), and build the image with a non-root USER.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.5.2"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6"]},
)
@over_pods
def run_as_non_root(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container in iter_containers(pod):
        if effective(container, pod, "runAsUser") == 0:
            yield f"container '{name_of(container)}' runs as user 0 (root)"
        elif effective(container, pod, "runAsNonRoot") is not True:
            yield (f"container '{name_of(container)}': neither it nor the pod sets securityContext.runAsNonRoot: true, "
                   "so the image's user (often root) applies")


@resource_rule(
    "MAAS-K8S-002",
    title="No privileged containers",
    description="No container sets securityContext.privileged: true. A privileged container has every "
                "capability and the host's devices: it is root on the node.",
    severity="critical",
    remediation="Remove securityContext.privileged (it defaults to false); grant the one capability the "
                "container needs instead, if Pod Security restricted allows it.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.2.1"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6", "CM-7"]},
)
@over_pods
def not_privileged(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container in iter_containers(pod):
        if security_context(container).get("privileged") is True:
            yield f"container '{name_of(container)}' is privileged"


@resource_rule(
    "MAAS-K8S-003",
    title="No privilege escalation",
    description="Every container sets securityContext.allowPrivilegeEscalation: false. It defaults to true, "
                "which lets setuid binaries gain more privileges than their parent process.",
    severity="high",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container (and init container).",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.2.5"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6"]},
)
@over_pods
def no_privilege_escalation(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container in iter_containers(pod):
        value = security_context(container).get("allowPrivilegeEscalation")
        if value is None:
            yield (f"container '{name_of(container)}' does not set securityContext.allowPrivilegeEscalation: false "
                   "(it defaults to true)")
        elif value is not False:
            yield f"container '{name_of(container)}' allows privilege escalation"


@resource_rule(
    "MAAS-K8S-004",
    title="No host namespaces or host ports",
    description="Pods do not share the node's network, process or IPC namespace (hostNetwork, hostPID, "
                "hostIPC) and containers bind no hostPort: each would let the pod see or reach the node's "
                "processes and traffic, and bypass NetworkPolicies.",
    severity="critical",
    remediation="Remove hostNetwork, hostPID and hostIPC (they default to false) and hostPort; expose the "
                "pod through a Service instead.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.2.2", "4.2.3", "4.2.4"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6", "SC-39"]},
)
@over_pods
def no_host_namespaces(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field) is True:
            yield f"the pod sets {field}: true"
    for container in iter_containers(pod):
        for port in container.get("ports") or []:
            if isinstance(port, Mapping) and port.get("hostPort") not in (None, 0):
                yield f"container '{name_of(container)}' binds hostPort {port.get('hostPort')}"


@resource_rule(
    "MAAS-K8S-005",
    title="Only restricted volume types (no hostPath)",
    description="Pods mount only the volume types Pod Security restricted admits: configMap, csi, downwardAPI, "
                "emptyDir, ephemeral, persistentVolumeClaim, projected and secret. A hostPath volume exposes the "
                "node's filesystem (its credentials, the container runtime socket) to the pod.",
    severity="high",
    remediation="Replace hostPath and other node-bound volumes with an emptyDir, a ConfigMap/Secret, or a "
                "PersistentVolumeClaim.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.5.2"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6", "CM-7"]},
)
@over_pods
def restricted_volumes(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for volume in pod.get("volumes") or []:
        if not isinstance(volume, Mapping):
            continue
        sources = sorted(key for key, value in volume.items() if key != "name" and value is not None)
        for source in sources:
            if source not in RESTRICTED_VOLUME_SOURCES:
                yield f"volume '{volume.get('name', '?')}' uses {source}, which Pod Security restricted does not admit"


@resource_rule(
    "MAAS-K8S-006",
    title="Capabilities: drop ALL, add at most NET_BIND_SERVICE",
    description="Every container drops all Linux capabilities (capabilities.drop contains ALL) and adds back "
                "none but NET_BIND_SERVICE. Without the drop, the runtime's default set applies (NET_RAW among "
                "them, which allows spoofing packets on the node's network).",
    severity="high",
    remediation="Set securityContext.capabilities.drop: [ALL] on every container; add only NET_BIND_SERVICE, "
                "and only if the process binds a port below 1024.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.5.2"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6", "CM-7"]},
)
@over_pods
def capabilities(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container in iter_containers(pod):
        caps = security_context(container).get("capabilities")
        caps = caps if isinstance(caps, Mapping) else {}
        if "ALL" not in (caps.get("drop") or []):
            yield f"container '{name_of(container)}' does not drop ALL capabilities"
        added = sorted(str(c) for c in caps.get("add") or [] if c not in ALLOWED_ADDED_CAPABILITIES)
        if added:
            yield f"container '{name_of(container)}' adds capabilities {', '.join(added)}"


@resource_rule(
    "MAAS-K8S-007",
    title="Seccomp profile RuntimeDefault or Localhost",
    description="Every container runs under the RuntimeDefault seccomp profile or a Localhost profile (its own "
                "securityContext.seccompProfile, or the pod's). Without one the container is Unconfined: every "
                "system call of the kernel is open to it.",
    severity="medium",
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault on the pod template.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.5.2"], "SOC 2": ["CC6.1"], "NIST 800-53": ["CM-7"]},
)
@over_pods
def seccomp(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container in iter_containers(pod):
        profile = effective(container, pod, "seccompProfile")
        kind = profile.get("type") if isinstance(profile, Mapping) else None
        if kind == "RuntimeDefault":
            continue
        if kind == "Localhost":
            if not profile.get("localhostProfile"):
                yield f"container '{name_of(container)}' uses a Localhost seccomp profile without localhostProfile"
            continue
        if kind is None:
            yield (f"container '{name_of(container)}': neither it nor the pod sets a seccompProfile "
                   "(it runs Unconfined)")
        else:
            yield f"container '{name_of(container)}' runs with seccomp profile {kind}"


@resource_rule(
    "MAAS-K8S-008",
    title="Read-only root filesystem",
    description="Every container sets securityContext.readOnlyRootFilesystem: true, so that nothing running in "
                "it can replace its binaries or libraries; writable paths are explicit emptyDir mounts. The root "
                "filesystem is writable by default.",
    severity="medium",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process "
                "writes (/tmp, caches).",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.5.2"], "SOC 2": ["CC6.8"], "NIST 800-53": ["SI-7"]},
)
@over_pods
def read_only_root(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container in iter_containers(pod):
        value = security_context(container).get("readOnlyRootFilesystem")
        if value is None:
            yield (f"container '{name_of(container)}' does not set securityContext.readOnlyRootFilesystem: true "
                   "(the root filesystem is writable by default)")
        elif value is not True:
            yield f"container '{name_of(container)}' has a writable root filesystem"


# -- resources and health ------------------------------------------------------------------------

def _quantity(section: Any, key: str) -> Any:
    value = section.get(key) if isinstance(section, Mapping) else None
    return None if value in (None, "") else value


@resource_rule(
    "MAAS-K8S-009",
    title="CPU and memory requests and a memory limit on every container",
    description="Every container (init containers too) requests CPU and memory and is limited in memory. The "
                "scheduler places pods by their requests, and a container without a memory limit can take the "
                "node's memory from its neighbours. A request left out takes the limit's value when one is set.",
    severity="medium",
    remediation="Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every "
                "container.",
    types=WORKLOAD_TYPES,
    frameworks={"SOC 2": ["A1.1"], "NIST 800-53": ["SC-6"]},
)
@over_pods
def resources(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container in _sized_containers(pod):
        section = container.get("resources")
        requests = section.get("requests") if isinstance(section, Mapping) else None
        limits = section.get("limits") if isinstance(section, Mapping) else None
        missing = []
        # Kubernetes defaults a missing request to the limit of the same resource.
        if _quantity(requests, "cpu") is None and _quantity(limits, "cpu") is None:
            missing.append("requests.cpu")
        if _quantity(requests, "memory") is None and _quantity(limits, "memory") is None:
            missing.append("requests.memory")
        if _quantity(limits, "memory") is None:
            missing.append("limits.memory")
        if missing:
            yield f"container '{name_of(container)}' has no {', '.join('resources.' + m for m in missing)}"


PROBE_HANDLERS: tuple[str, ...] = ("httpGet", "tcpSocket", "exec", "grpc")


def probes_something(probe: Any) -> bool:
    """A probe with a handler; one without (only timings) is rejected by the API server or checks nothing."""
    return isinstance(probe, Mapping) and any(isinstance(probe.get(h), Mapping) for h in PROBE_HANDLERS)


@resource_rule(
    "MAAS-K8S-010",
    title="Liveness and readiness probes on long-running workloads",
    description="Every container of a Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController or "
                "restarting Pod has a readiness probe (no traffic before it can answer, none while it cannot) and "
                "a liveness probe (restarted when it hangs). Jobs and CronJobs run to completion and need neither.",
    severity="medium",
    remediation="Add readinessProbe and livenessProbe (and a startupProbe for slow starts) to every container.",
    types=WORKLOAD_TYPES,
    frameworks={"SOC 2": ["CC7.2"]},
)
@over_pods
def probes(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    if not long_running(resource):
        return
    for container in _main_containers(pod):
        missing = [p for p in ("readinessProbe", "livenessProbe") if not probes_something(container.get(p))]
        if missing:
            yield f"container '{name_of(container)}' has no {' or '.join(missing)} with a handler"


# -- images --------------------------------------------------------------------------------------

def image_tag(image: str) -> Optional[str]:
    """The tag of an image reference (``registry:5000/app:1.2`` -> ``1.2``), None when untagged."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def pinned_by_digest(image: str) -> bool:
    return bool(_DIGEST.search(image))


def _images(pod: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Any]]:
    for container in iter_containers(pod):
        yield container, container.get("image")


@resource_rule(
    "MAAS-K8S-011",
    title="Images name a version: not latest, not untagged",
    description="Every container image carries a tag other than latest, or a digest. An untagged image means "
                "latest: what runs then changes with every push to the registry, without any change to the "
                "stack, and a rollback cannot name what ran before.",
    severity="high",
    remediation="Reference images as registry/name:<version> (immutable tags in ECR) or registry/name@sha256:<digest>.",
    types=WORKLOAD_TYPES,
    frameworks={"SOC 2": ["CC8.1"], "NIST 800-53": ["CM-2", "CM-3"]},
)
@over_pods
def image_versioned(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    for container, image in _images(pod):
        if not known(image):
            continue
        if not isinstance(image, str) or not image:
            yield f"container '{name_of(container)}' names no image"
        elif pinned_by_digest(image):
            continue
        elif image_tag(image) is None:
            yield f"container '{name_of(container)}' image {image} has no tag (it pulls latest)"
        elif image_tag(image) == "latest":
            yield f"container '{name_of(container)}' image {image} uses the latest tag"


@resource_rule(
    "MAAS-K8S-012",
    title="Production images pinned by digest",
    description="In prod every container image is pinned by its content digest (@sha256:...). A tag can be "
                "moved to other content; a digest cannot, so prod runs exactly the image that was tested and "
                "scanned.",
    severity="medium",
    remediation="Reference prod images as registry/name@sha256:<digest> (a tag may stay in front for readers: "
                "name:1.4.2@sha256:...).",
    types=WORKLOAD_TYPES,
    frameworks={"SOC 2": ["CC6.8", "CC8.1"], "NIST 800-53": ["CM-3", "SI-7"]},
)
@over_pods
def image_digest_in_prod(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    if not context.prod:
        return
    for container, image in _images(pod):
        if not known(image):
            continue
        if not isinstance(image, str) or not pinned_by_digest(image):
            yield f"container '{name_of(container)}' image {image or '(none)'} is not pinned by digest"


# -- service accounts ----------------------------------------------------------------------------

@resource_rule(
    "MAAS-K8S-013",
    title="No service-account token mounted by default",
    description="Pods set automountServiceAccountToken: false. Kubernetes mounts a token of the pod's service "
                "account into every container unless told otherwise; an agent needs no Kubernetes API access, "
                "and a stolen token is a foothold in the cluster.",
    severity="medium",
    remediation="Set automountServiceAccountToken: false on the pod template; a pod that calls the Kubernetes "
                "API is exempted by name in maas:policy with its reason.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.1.6"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6"]},
)
@over_pods
def no_token_automount(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    value = pod.get("automountServiceAccountToken")
    if value is None:
        yield "the pod does not set automountServiceAccountToken: false (a token is mounted by default)"
    elif value is not False:
        yield "the pod mounts its service-account token (automountServiceAccountToken: true)"


@resource_rule(
    "MAAS-K8S-014",
    title="Pods run under their own service account",
    description="Pods name a service account other than default. Every pod of a namespace that names none runs "
                "as default, so whatever is granted to it (RBAC, an IAM role through Pod Identity) is granted to "
                "all of them.",
    severity="medium",
    remediation="Create a ServiceAccount for the workload and set serviceAccountName on its pod template.",
    types=WORKLOAD_TYPES,
    frameworks={"CIS EKS": ["4.1.5"], "SOC 2": ["CC6.1"], "NIST 800-53": ["AC-6"]},
)
@over_pods
def own_service_account(pod: Mapping[str, Any], resource: Resource, context: Context) -> Iterator[str]:
    account = pod.get("serviceAccountName") or pod.get("serviceAccount")
    if not known(account):
        return
    if not account:
        yield "the pod names no serviceAccountName (it runs as default)"
    elif account == "default":
        yield "the pod runs as the default service account"


# -- namespaces ----------------------------------------------------------------------------------

def is_agent_namespace(resource: Resource) -> bool:
    return bool(resource.labels.get(AGENT_LABEL))


@resource_rule(
    "MAAS-K8S-015",
    title="Agent namespaces enforce Pod Security restricted",
    description="Every agent namespace (a Namespace labelled maas.dev/agent) carries "
                "pod-security.kubernetes.io/enforce: restricted, so the API server itself refuses any pod of "
                "the agent that breaks the restricted profile, whoever creates it.",
    severity="high",
    remediation="Label the namespace pod-security.kubernetes.io/enforce: restricted (and audit and warn: restricted).",
    types=NAMESPACE_TYPES,
    frameworks={"CIS EKS": ["4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.2.5"], "SOC 2": ["CC6.1"],
                "NIST 800-53": ["AC-6", "CM-7"]},
)
def agent_namespace_restricted(resource: Resource, context: Context) -> Iterator[str]:
    if not is_agent_namespace(resource):
        return
    level = resource.labels.get(PSS_ENFORCE)
    if level is None:
        yield f"agent namespace has no {PSS_ENFORCE} label (the cluster default, privileged, applies)"
    elif level != "restricted":
        yield f"agent namespace enforces Pod Security '{level}', not restricted"


@resource_rule(
    "MAAS-K8S-016",
    title="Every namespace states its Pod Security level",
    description="Every other namespace the stack creates states pod-security.kubernetes.io/enforce, and one "
                "that enforces less than restricted (privileged or baseline, e.g. for node agents that read the "
                "host) still audits and warns at restricted, so any pod that would break restricted is recorded "
                "and shown. Without the label the cluster default applies, which on EKS admits anything.",
    severity="medium",
    remediation="Label the namespace pod-security.kubernetes.io/enforce: restricted; where pods genuinely need "
                "the host, enforce privileged or baseline and set audit and warn to restricted.",
    types=NAMESPACE_TYPES,
    frameworks={"CIS EKS": ["4.2.1"], "SOC 2": ["CC6.1"], "NIST 800-53": ["CM-7"]},
)
def namespace_pod_security(resource: Resource, context: Context) -> Iterator[str]:
    if is_agent_namespace(resource):
        return  # MAAS-K8S-015 holds agent namespaces to restricted
    labels = resource.labels
    level = labels.get(PSS_ENFORCE)
    if level is None:
        yield f"namespace has no {PSS_ENFORCE} label (the cluster default, privileged, applies)"
        return
    if level not in PSS_LEVELS:
        yield f"namespace enforces an unknown Pod Security level '{level}'"
        return
    if level != "restricted":
        for label in (PSS_AUDIT, PSS_WARN):
            if labels.get(label) != "restricted":
                yield f"namespace enforces '{level}' but {label} is {labels.get(label) or 'not set'}, not restricted"


# -- Helm ----------------------------------------------------------------------------------------

@resource_rule(
    "MAAS-K8S-017",
    title="Helm releases pinned to an exact chart version from an HTTPS repository",
    description="Every Helm release names an exact chart version (1.2.3, no range, never omitted: an omitted "
                "version installs whatever is newest at deploy time) and fetches it from an https:// repository "
                "or an oci:// registry (TLS), so the same stack always installs the same chart, unaltered in transit.",
    severity="high",
    remediation="Set version to an exact chart version and repositoryOpts.repo to the chart's https:// repository "
                "(or chart to its oci:// reference).",
    types=HELM_RELEASE_TYPES,
    frameworks={"SOC 2": ["CC8.1"], "NIST 800-53": ["CM-2", "CM-3", "SC-8"]},
)
def helm_pinned(resource: Resource, context: Context) -> Iterator[str]:
    chart = resource.get("chart")
    version = resource.get("version")
    repo = resource.get("repositoryOpts.repo")
    if not known(version) or not known(repo) or not known(chart):
        return
    if not version:
        yield f"chart '{chart}' has no version (the newest is installed at each deploy)"
    elif not _EXACT_VERSION.match(str(version)):
        yield f"chart '{chart}' version '{version}' is not one exact version"
    if isinstance(chart, str) and chart.startswith("oci://"):
        return
    if not repo:
        yield f"chart '{chart}' names no repositoryOpts.repo (it comes from the deploying machine's Helm config)"
    elif not str(repo).startswith("https://"):
        yield f"chart '{chart}' comes from {repo}, not an https:// repository"


# -- labels mirroring the AWS tags ---------------------------------------------------------------

def _label_problems(labels: Mapping[str, Any], context: Context) -> Iterator[str]:
    for label, tag in AGENT_LABELS.items():
        value = labels.get(label)
        if not value:
            yield f"has no {label} label (AWS tag {tag})"
    environment = labels.get(ENVIRONMENT_LABEL)
    if environment and known(environment) and context.environment and environment != context.environment:
        yield f"{ENVIRONMENT_LABEL} is '{environment}' in the {context.environment} stack"
    managed_by = labels.get(MANAGED_BY_LABEL)
    if managed_by and known(managed_by) and managed_by != MANAGED_BY:
        yield f"{MANAGED_BY_LABEL} is '{managed_by}', not {MANAGED_BY}"


@resource_rule(
    "MAAS-TAG-101",
    title="An agent's Kubernetes objects carry the labels of its AWS tags",
    description="Every Kubernetes object labelled maas.dev/agent also carries maas.dev/team, maas.dev/cost-center, "
                "maas.dev/environment (the stack's) and app.kubernetes.io/managed-by: pulumi, the labels that "
                "mirror the agent's AWS tags; the pods of its workloads carry maas.dev/agent, maas.dev/team and "
                "maas.dev/cost-center with the same values. Fluent Bit ships only the logs of pods labelled "
                "maas.dev/agent, and spend is attributed to agents and teams by these labels.",
    severity="medium",
    remediation="Label the object (and its pod template) with the agent's labels, as AgentService does for "
                "everything it creates.",
    types=("kubernetes:*",),
    frameworks={"NIST 800-53": ["CM-8"]},
)
def agent_labels(resource: Resource, context: Context) -> Iterator[str]:
    if not is_manifest(resource) or not resource.labels.get(AGENT_LABEL):
        return
    labels = resource.labels
    for problem in _label_problems(labels, context):
        yield f"{kind_of(resource)} {problem}"
    if pod_spec_path(resource) is None or kind_of(resource) == "Pod":
        return
    pods = pod_labels(resource)
    for label in POD_ATTRIBUTION_LABELS:
        if pods.get(label) != labels.get(label):
            found = pods.get(label)
            yield (f"pod template label {label} is {repr(found) if found else 'missing'}, "
                   f"not '{labels.get(label)}' like the {kind_of(resource)}")


@resource_rule(
    "MAAS-TAG-102",
    title="Platform Kubernetes objects carry the environment and managed-by labels",
    description="Every other Kubernetes object the stack creates carries maas.dev/environment (the stack's "
                "environment) and app.kubernetes.io/managed-by: pulumi, the labels of the environment and "
                "managed-by tags every AWS resource carries, so an object found in the cluster can be traced "
                "to the stack that owns it.",
    severity="low",
    level="advisory",
    remediation="Add maas.dev/environment: <environment> and app.kubernetes.io/managed-by: pulumi to the "
                "object's metadata.labels.",
    types=("kubernetes:*",),
    frameworks={"NIST 800-53": ["CM-8"]},
)
def platform_labels(resource: Resource, context: Context) -> Iterator[str]:
    if not is_manifest(resource) or resource.labels.get(AGENT_LABEL):
        return  # agents' objects: MAAS-TAG-101
    labels = resource.labels
    managed_by = labels.get(MANAGED_BY_LABEL)
    if not managed_by:
        yield f"{kind_of(resource)} has no {MANAGED_BY_LABEL} label (AWS tag managed-by)"
    elif known(managed_by) and managed_by != MANAGED_BY:
        yield f"{kind_of(resource)} {MANAGED_BY_LABEL} is '{managed_by}', not {MANAGED_BY}"
    environment = labels.get(ENVIRONMENT_LABEL)
    if not environment:
        yield f"{kind_of(resource)} has no {ENVIRONMENT_LABEL} label (AWS tag environment)"
    elif known(environment) and context.environment and environment != context.environment:
        yield f"{kind_of(resource)} {ENVIRONMENT_LABEL} is '{environment}' in the {context.environment} stack"
