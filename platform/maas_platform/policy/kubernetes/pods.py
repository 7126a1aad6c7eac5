"""MAAS-K8S-001 to 014: pods under Pod Security ``restricted``, sized, probed, running versioned
images under their own service account."""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Optional

from ..core import UNKNOWN, Context, NotEvaluable, Outcome, Resource, resource_rule
from .helpers import WORKLOAD_TYPES, Pod, long_running, name_of, over_pods

# Volume sources Pod Security ``restricted`` admits.
RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
HOST_NAMESPACES: tuple[str, ...] = ("hostNetwork", "hostPID", "hostIPC")
# Containers that take node resources (ephemeral containers cannot state any).
SIZED_CONTAINERS: tuple[str, ...] = ("initContainers", "containers")
PROBE_HANDLERS: tuple[str, ...] = ("httpGet", "tcpSocket", "exec", "grpc")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$|@sha512:[0-9a-f]{128}$")


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
def run_as_non_root(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers():
        user, _ = pod.setting(where, container, "runAsUser", inherit=True)
        non_root, path = pod.setting(where, container, "runAsNonRoot", inherit=True)
        if user == 0:
            yield f"container '{name_of(container)}' runs as user 0 (root)"
        elif non_root == UNKNOWN:
            yield NotEvaluable(path)
        elif non_root is not True:
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
def not_privileged(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers():
        value, path = pod.setting(where, container, "privileged")
        if value == UNKNOWN:
            yield NotEvaluable(path)
        elif value is True:
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
def no_privilege_escalation(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers():
        value, path = pod.setting(where, container, "allowPrivilegeEscalation")
        if value == UNKNOWN:
            yield NotEvaluable(path)
        elif value is None:
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
def no_host_namespaces(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for field in HOST_NAMESPACES:
        if pod.get(field) == UNKNOWN:
            yield NotEvaluable(pod.at(field))
        elif pod.get(field) is True:
            yield f"the pod sets {field}: true"
    for where, container in pod.containers():
        ports = container.get("ports")
        if ports == UNKNOWN:
            yield NotEvaluable(pod.at(where, "ports"))
            continue
        for index, port in enumerate(ports or []):
            host_port = port.get("hostPort") if isinstance(port, Mapping) else port
            if host_port == UNKNOWN:
                yield NotEvaluable(pod.at(where, f"ports[{index}]", "hostPort"))
            elif isinstance(port, Mapping) and host_port not in (None, 0):
                yield f"container '{name_of(container)}' binds hostPort {host_port}"


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
def restricted_volumes(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    volumes = pod.get("volumes")
    if volumes == UNKNOWN:
        yield NotEvaluable(pod.at("volumes"))
        return
    for index, volume in enumerate(volumes or []):
        if volume == UNKNOWN:
            yield NotEvaluable(pod.at(f"volumes[{index}]"))
        if not isinstance(volume, Mapping):
            continue
        sources = sorted(key for key, value in volume.items() if key != "name" and value is not None)
        for source in sources:
            if source not in RESTRICTED_VOLUME_SOURCES:
                yield f"volume '{volume.get('name', '?')}' uses {source}, which Pod Security restricted does not admit"


def unknown_entries(values: Any, path: str) -> list[NotEvaluable]:
    """The list at ``path``, or its entries, when not known yet."""
    if values == UNKNOWN:
        return [NotEvaluable(path)]
    return [NotEvaluable(f"{path}[{i}]") for i, v in enumerate(values or []) if v == UNKNOWN]


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
def capabilities(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers():
        caps, path = pod.setting(where, container, "capabilities")
        if caps == UNKNOWN:
            yield NotEvaluable(path)
            continue
        caps = caps if isinstance(caps, Mapping) else {}
        drop, add = caps.get("drop"), caps.get("add")
        if "ALL" not in ([] if drop == UNKNOWN else drop or []):
            yield from unknown_entries(drop, f"{path}.drop") or [
                f"container '{name_of(container)}' does not drop ALL capabilities"]
        yield from unknown_entries(add, f"{path}.add")
        added = sorted(str(c) for c in ([] if add == UNKNOWN else add or [])
                       if c not in ALLOWED_ADDED_CAPABILITIES and c != UNKNOWN)
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
def seccomp(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers():
        profile, path = pod.setting(where, container, "seccompProfile", inherit=True)
        kind = profile.get("type") if isinstance(profile, Mapping) else profile if profile == UNKNOWN else None
        if kind == UNKNOWN:
            yield NotEvaluable(path if profile == UNKNOWN else f"{path}.type")
        elif kind == "RuntimeDefault":
            continue
        elif kind == "Localhost":
            if not profile.get("localhostProfile"):
                yield f"container '{name_of(container)}' uses a Localhost seccomp profile without localhostProfile"
        elif kind is None:
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
def read_only_root(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers():
        value, path = pod.setting(where, container, "readOnlyRootFilesystem")
        if value == UNKNOWN:
            yield NotEvaluable(path)
        elif value is None:
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
def resources(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers(SIZED_CONTAINERS):
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
        unknown = [NotEvaluable(pod.at(where, *path)) for path, value in (
            (("resources",), section), (("resources", "requests"), requests), (("resources", "limits"), limits),
        ) if value == UNKNOWN]
        if missing:
            yield from unknown[:1] or [
                f"container '{name_of(container)}' has no {', '.join('resources.' + m for m in missing)}"]


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
def probes(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    running = long_running(resource)
    if running is False:
        return
    for where, container in pod.containers(("containers",)):
        unknown = [NotEvaluable(pod.at(where, p)) for p in ("readinessProbe", "livenessProbe")
                   if container.get(p) == UNKNOWN]
        missing = [p for p in ("readinessProbe", "livenessProbe")
                   if not probes_something(container.get(p)) and container.get(p) != UNKNOWN]
        if missing and running is None:
            yield NotEvaluable(pod.at("restartPolicy"))  # a Pod that never restarts needs none
        elif missing:
            yield f"container '{name_of(container)}' has no {' or '.join(missing)} with a handler"
        yield from unknown


# -- images --------------------------------------------------------------------------------------

def image_tag(image: str) -> Optional[str]:
    """The tag of an image reference (``registry:5000/app:1.2`` -> ``1.2``), None when untagged."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def pinned_by_digest(image: str) -> bool:
    return bool(_DIGEST.search(image))


def _images(pod: Pod) -> Iterator[tuple[Mapping[str, Any], Any, Optional[NotEvaluable]]]:
    """``(container, image, not evaluable when the image is not known yet)`` of every container."""
    for where, container in pod.containers():
        image = container.get("image")
        yield container, image, NotEvaluable(pod.at(where, "image")) if image == UNKNOWN else None


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
def image_versioned(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for container, image, unknown in _images(pod):
        if unknown is not None:
            yield unknown
        elif not isinstance(image, str) or not image:
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
def image_digest_in_prod(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    if not context.prod:
        return
    for container, image, unknown in _images(pod):
        if unknown is not None:
            yield unknown
        elif not isinstance(image, str) or not pinned_by_digest(image):
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
def no_token_automount(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    value = pod.get("automountServiceAccountToken")
    if value == UNKNOWN:
        yield NotEvaluable(pod.at("automountServiceAccountToken"))
    elif value is None:
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
def own_service_account(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    key = "serviceAccountName" if pod.get("serviceAccountName") else "serviceAccount"
    account = pod.get(key)
    if account == UNKNOWN:
        yield NotEvaluable(pod.at(key))
    elif not account:
        yield "the pod names no serviceAccountName (it runs as default)"
    elif account == "default":
        yield "the pod runs as the default service account"
