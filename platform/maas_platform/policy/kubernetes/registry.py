"""MAAS-K8S-041: where the platform requires it (``maas:delivery.require_own_registry``, prod by
default), an agent's pods run images from the agent's own ECR repository, pinned by digest.

The agent's repository ``<prefix>/<agent>`` is the only one its CI role may push to, and only
after the release workflow built, scanned and signed the image there (docs/delivery.md). An image
from anywhere else (a public registry, another agent's repository, the right repository in another
account or region) or by tag (a tag can be moved) has passed none of that. Every container of the
pod counts: init containers run first with the pod's identity, and an ephemeral container added
by ``kubectl debug`` runs beside the agent with its service account.

Two pods in an agent's namespace are the platform's, not the agent's, and are exempt, each only
while it runs nothing but the platform's image: the egress proxy (pods labelled
``app.kubernetes.io/name: egress-proxy``, image ``agent.egress.PROXY_IMAGE``, MAAS-K8S-025) and the
golden-set probe (``app.kubernetes.io/name: maas-probe``, the platform's ``maas:probe_image``,
MAAS-K8S-040). Neither is built by the agent's pipeline; both are pinned by the platform and held
to their image by their own rules. A plan knows neither image (:class:`~.core.Context` has none), so
the plan exempts them by label and leaves the image to those rules at admission; the cluster
(:class:`~.tenancy.AdmissionContext`, and the CEL of :func:`~.admission.own_registry_expression`)
exempts them only on the image.

Which agent: at admission the namespace's ``maas.dev/agent`` label (the binding selects only
namespaces that carry it); in a plan, an object labelled ``maas.dev/agent`` is an agent's and its
namespace is named after its agent (``AgentSpec.namespace``).

The registry's address, as read on 2026-12-03 in the Amazon ECR User Guide ("Amazon ECR private
registry", docs.aws.amazon.com and docs.amazonaws.cn): ``https://<account>.dkr.ecr.<region>.amazonaws.com``,
``.amazonaws.com.cn`` in the China regions, i.e. ``<account>.dkr.ecr.<region>.<the partition's DNS
suffix>``. The dual-stack names (``dkr-ecr``, ``on.aws``) address the same repository and are refused
here: one spelling keeps the check a string comparison.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Optional

from ... import names
from ..core import UNKNOWN, Context, NotEvaluable, Outcome, Resource, resource_rule
from .golden import namespace_agent
from .helpers import CONTAINER_LISTS, WORKLOAD_TYPES, is_manifest, pod_labels, pod_spec_paths
from .tenancy import AdmissionContext

RULE = "MAAS-K8S-041"
DIGEST_SUFFIX = re.compile(r"@sha256:[0-9a-f]{64}$")
# The pods of an agent's namespace that are the platform's: the pod label and the field of
# AdmissionContext naming the one image each may run.
PLATFORM_PODS: tuple[tuple[str, str], ...] = ((names.EGRESS_PROXY_NAME, "proxy_image"), (names.PROBE_APP, "probe_image"))


def agent_registry(account_id: str, region: str, prefix: str, dns_suffix: Optional[str] = None) -> str:
    """Where the agents' repositories (``names.repository_name``: ``<prefix>/<agent>``) sit:
    ``<account>.dkr.ecr.<region>.<dns suffix>/<prefix>``, so that an agent's repository is this, '/'
    and its name. The suffix is the partition's (amazonaws.com; amazonaws.com.cn in cn-* regions
    when not given)."""
    suffix = dns_suffix or ("amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com")
    return f"{account_id}.dkr.ecr.{region}.{suffix}/{prefix}"


def own_image(image: Any, repository: str) -> bool:
    """Whether ``image`` is ``repository@sha256:<64 hex>`` exactly (no tag before the digest)."""
    return (isinstance(image, str) and image.startswith(f"{repository}@")
            and bool(DIGEST_SUFFIX.fullmatch(image[len(repository):])))


def _platform_pod(labels: Mapping[str, Any], spec: Mapping[str, Any], context: Context) -> bool:
    """A pod of the platform's in an agent namespace: labelled as one and, where the image is known
    (at admission), running nothing but it."""
    for label, field in PLATFORM_PODS:
        if labels.get(names.NAME_LABEL) != label:
            continue
        if not isinstance(context, AdmissionContext):
            return True
        image = getattr(context, field)
        return image is not None and all(
            isinstance(c, Mapping) and c.get("image") == image for key in CONTAINER_LISTS for c in spec.get(key) or [])
    return False


def _agent(resource: Resource, context: Context) -> Any:
    """The agent whose repository the object's pods must use; None: not an agent's object."""
    if isinstance(context, AdmissionContext) and context.namespace_labels is not None:
        return namespace_agent(resource, context)
    labels = resource.get("metadata.labels")
    if labels == UNKNOWN:
        return UNKNOWN
    if not isinstance(labels, Mapping) or not labels.get(names.AGENT_LABEL):
        return None
    return namespace_agent(resource, context)


@resource_rule(
    RULE,
    title="Agents run images from their own repository, by digest",
    description="Where the platform requires it (maas:delivery.require_own_registry, prod by default), every "
                "container of an agent's pods (init and ephemeral ones too) runs "
                "<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<agent>@sha256:<digest>: the agent's own ECR "
                "repository, which only its release workflow can push to after building, scanning and signing the "
                "image, pinned by the digest that was scanned. The platform's egress proxy and golden-set probe "
                "pods run the platform's images and are exempt while they run nothing else. The cluster holds "
                "every request in an agent namespace to it, the controllers' included.",
    severity="high",
    remediation="Release the image with the agent-release workflow and deploy the digest its pull request "
                "names: image: <account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<agent>@sha256:<digest>.",
    types=WORKLOAD_TYPES,
    frameworks={"SOC 2": ["CC7.1", "CC8.1"], "NIST 800-53": ["CM-7", "SI-7", "SR-11"]},
)
def own_registry_by_digest(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not getattr(context, "require_own_registry", False) or not is_manifest(resource):
        return
    paths = pod_spec_paths(resource)
    if not paths:
        return
    agent = _agent(resource, context)
    if agent is None:
        return
    if agent == UNKNOWN:
        yield NotEvaluable("metadata.namespace")
        return
    registry = getattr(context, "agent_registry", None)
    if registry is None:
        yield NotEvaluable("the agents' registry (maas:account_id)")
        return
    repository = f"{registry}/{agent}"
    for path in paths:
        spec, labels = resource.get(path), pod_labels(resource, path)
        if spec == UNKNOWN or labels == UNKNOWN:
            yield NotEvaluable(path)
            continue
        spec = spec if isinstance(spec, Mapping) else {}
        if _platform_pod(labels, spec, context):
            continue
        yield from _container_problems(spec, path, repository)


def _container_problems(spec: Mapping[str, Any], path: str, repository: str) -> Iterator[Outcome]:
    for key in CONTAINER_LISTS:
        listed = spec.get(key)
        if listed == UNKNOWN:
            yield NotEvaluable(f"{path}.{key}")
            continue
        for index, container in enumerate(listed or []):
            image = container.get("image") if isinstance(container, Mapping) else None
            if image == UNKNOWN:
                yield NotEvaluable(f"{path}.{key}[{index}].image")
            elif not own_image(image, repository):
                name = container.get("name", "?") if isinstance(container, Mapping) else "?"
                yield (f"{key} '{name}' runs {image or '(no image)'}, not the agent's own repository by digest "
                       f"({repository}@sha256:...)")
