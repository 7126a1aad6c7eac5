"""What every cluster add-on is made of: a pinned Helm chart and, when it calls AWS, its
own Pod Identity role bound to exactly one service account.

Chart pins live in one data file, ``charts.lock.yaml`` next to this module: repository,
chart, version, the app version it ships, the Kubernetes minors its project supports and
where and when each fact was read. :func:`locked_chart` is how a component gets a pin, and
:func:`helm_release` refuses a chart that is not in the lock file, so a version cannot be
written anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import names
from ..iam import Statement, pod_identity, policy_document, trust_policy
from .base import AccountContext, StrInput, child

HELM_TIMEOUT_SECONDS = 600
HELM_MAX_HISTORY = 10
CHART_LOCK_FILE = "charts.lock.yaml"

_MINOR = re.compile(r"^1\.(\d+)$")
# The kubeVersion constraints the pinned charts use: a lower bound only (">=1.25.0-0", ">= v1.23.0-0").
_LOWER_BOUND = re.compile(r"^>=\s*v?1\.(\d+)(\.\d+)?(-0)?$")


@dataclass(frozen=True)
class Chart:
    """A Helm chart pinned to one exact version."""

    name: str
    version: str
    repo: str
    app_version: str


def _minor(version: str) -> int:
    match = _MINOR.match(version)
    if not match:
        raise ValueError(f"'{version}' is not a Kubernetes minor version such as '1.35'")
    return int(match.group(1))


class KubernetesRange(BaseModel):
    """The Kubernetes minors a chart's project says a release is tested or supported on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: Optional[str] = Field(description="Oldest supported minor, e.g. '1.33'; None when the project sets none.")
    max: Optional[str] = Field(description="Newest supported minor, inclusive; None when the project sets none.")
    source: str = Field(min_length=10, description="Where the project publishes the range (or that it does not).")

    @field_validator("min", "max")
    @classmethod
    def _minor_version(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            _minor(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "KubernetesRange":
        if self.min and self.max and _minor(self.min) > _minor(self.max):
            raise ValueError(f"min {self.min} is newer than max {self.max}")
        return self

    def excludes(self, kubernetes_version: str) -> Optional[str]:
        """Why ``kubernetes_version`` is outside the range, or None when it is inside."""
        minor = _minor(kubernetes_version)
        if self.min and minor < _minor(self.min):
            return f"Kubernetes {kubernetes_version} is older than {self.min}"
        if self.max and minor > _minor(self.max):
            return f"Kubernetes {kubernetes_version} is newer than {self.max}"
        return None


class LockedChart(BaseModel):
    """One entry of ``charts.lock.yaml``: a chart pin and the facts checked about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chart: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    repository: str = Field(pattern=r"^(https|oci)://", description="A chart repository, or an OCI registry path.")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="An exact chart version, never a range.")
    app_version: str = Field(min_length=1)
    chart_kube_version: Optional[str] = Field(
        description="The chart's kubeVersion (Helm enforces it at install); None when the chart sets none."
    )
    kubernetes: KubernetesRange
    values_schema: bool = Field(description="Whether the chart ships values.schema.json.")
    checked: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="The day the facts were read.")
    where: list[str] = Field(min_length=1, description="The upstream copies they were read in.")
    notes: list[str] = Field(default_factory=list)

    @field_validator("chart_kube_version")
    @classmethod
    def _lower_bound(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not _LOWER_BOUND.match(value):
            raise ValueError(f"'{value}' is not a '>=1.N' kubeVersion constraint this file knows how to check")
        return value

    def excludes(self, kubernetes_version: str) -> Optional[str]:
        """Why this chart does not fit a cluster of ``kubernetes_version``, or None when it does."""
        if self.chart_kube_version:
            oldest = int(_LOWER_BOUND.match(self.chart_kube_version).group(1))  # type: ignore[union-attr]
            if _minor(kubernetes_version) < oldest:
                return f"the chart's kubeVersion {self.chart_kube_version} refuses Kubernetes {kubernetes_version}"
        reason = self.kubernetes.excludes(kubernetes_version)
        return f"{reason} ({self.kubernetes.source})" if reason else None

    def pin(self) -> Chart:
        return Chart(name=self.chart, version=self.version, repo=self.repository, app_version=self.app_version)


class ChartLock(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    charts: list[LockedChart] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_pin_per_chart(self) -> "ChartLock":
        names = [entry.chart for entry in self.charts]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"charts pinned more than once: {', '.join(repeated)}")
        return self

    def entry(self, chart: str) -> LockedChart:
        for entry in self.charts:
            if entry.chart == chart:
                return entry
        raise KeyError(f"chart '{chart}' is not in {CHART_LOCK_FILE}")

    def holds(self, repository: str, chart: str, version: str) -> bool:
        return any((e.repository, e.chart, e.version) == (repository, chart, version) for e in self.charts)


def parse_chart_lock(text: str) -> ChartLock:
    return ChartLock.model_validate(yaml.safe_load(text))


@lru_cache(maxsize=1)
def chart_lock() -> ChartLock:
    """The lock file shipped with the package."""
    return parse_chart_lock(resources.files(__package__).joinpath(CHART_LOCK_FILE).read_text(encoding="utf-8"))


def locked_chart(name: str) -> Chart:
    """The pin of chart ``name`` as the lock file records it."""
    return chart_lock().entry(name).pin()


def pod_identity_trust_policy(
    account: AccountContext, cluster_arn: StrInput, namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Trust for one service account in one namespace of one cluster, through EKS Pod Identity
    (session tags ``eks-cluster-arn``, ``kubernetes-namespace``, ``kubernetes-service-account``;
    the associations keep session tags on)."""
    return trust_policy(pod_identity(account.account_id, cluster_arn, namespace, service_account))


def workload_identity(
    parent: pulumi.Resource, name: str, *, account: AccountContext, cluster_name: StrInput, cluster_arn: StrInput,
    role_name: str, namespace: str, service_account: str, statements: Sequence[Statement], description: str,
) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
    """A role trusted by one service account, its inline policy, and the association.

    The association waits for the policy, so the first credentials the pods get already
    carry the permissions. Resources are named ``<name>-role``, ``-policy``, ``-identity``.
    """
    role = aws.iam.Role(
        f"{name}-role",
        name=role_name,
        description=description,
        assume_role_policy=pod_identity_trust_policy(account, cluster_arn, namespace, service_account),
        max_session_duration=3600,
        opts=child(parent),
    )
    policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy_document(*statements), opts=child(parent))
    association = aws.eks.PodIdentityAssociation(
        f"{name}-identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        disable_session_tags=False,  # the trust policy checks the session tags
        opts=child(parent, depends_on=[policy]),
    )
    return role, association


def _paths(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted path, leaf) of every leaf of nested mappings and lists."""
    if isinstance(value, Mapping):
        return [pair for key, item in value.items() for pair in _paths(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, (list, tuple)):
        return [pair for i, item in enumerate(value) for pair in _paths(item, f"{path}[{i}]")]
    return [(path, value)]


def removed_defaults_file(removed_defaults: Mapping[str, Any]) -> pulumi.StringAsset:
    """The YAML document that deletes chart defaults: every leaf is ``null``.

    Helm deletes a default whose user value is null. pulumi-kubernetes passes nulls on to Helm
    from 4.30.0 (CHANGELOG, #2997; commit 7e10bf37 of 2026-04-23), and documents a
    ``valueYamlFiles`` document as the way to send them from Python, Go and .NET (PR #4306):
    those SDKs may drop an inline ``None`` before the provider sees it (pulumi/pulumi#12178),
    while the document is opaque to every SDK's marshaller. Checked on 2026-12-02 in
    pulumi/pulumi-kubernetes (snapshot 9497796 of 2026-07-01). The pinned Python SDK (pulumi
    3.272, ``runtime/rpc.py``) does send a ``None`` nested in a mapping as null to the monitor,
    which the offline plan records; the values file does not depend on that.
    """
    kept = [path for path, leaf in _paths(removed_defaults) if leaf is not None]
    if kept or not removed_defaults:
        raise ValueError(f"removed_defaults: every leaf must be None (chart defaults to delete); not {kept or '{}'}")
    return pulumi.StringAsset(yaml.safe_dump(dict(removed_defaults), sort_keys=True))


def controller_namespace(
    parent: pulumi.Resource, resource_name: str, *, namespace: str, labels: Mapping[str, str],
    network_policies: Mapping[str, Mapping[str, Any]], protect: bool,
) -> tuple[k8s.core.v1.Namespace, list[k8s.networking.v1.NetworkPolicy]]:
    """A cluster controller's own namespace (Pod Security ``restricted``) and its NetworkPolicies,
    named ``<resource_name>-namespace`` and ``<resource_name>-netpol-<policy>``: its release
    waits for the policies, so the controller's pods start under them."""
    created = k8s.core.v1.Namespace(
        f"{resource_name}-namespace",
        metadata={"name": namespace, "labels": {**labels, **names.RESTRICTED_NAMESPACE_LABELS}},
        opts=child(parent, protect=protect),
    )
    policies = [
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-netpol-{policy}", metadata={"name": policy, "namespace": namespace, "labels": dict(labels)},
            spec=dict(spec), opts=child(parent, depends_on=[created]),
        )
        for policy, spec in network_policies.items()
    ]
    return created, policies


def helm_release(
    parent: pulumi.Resource, resource_name: str, chart: Chart, *, namespace: pulumi.Input[str], values: dict,
    depends_on: Sequence[pulumi.Resource], protect: bool, removed_defaults: Optional[Mapping[str, Any]] = None,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """A pinned, atomic Helm release with a fixed release name (stable object names).

    ``chart`` must be a pin of the lock file. ``values`` may hold no ``None``: a chart default
    is deleted through ``removed_defaults`` (see :func:`removed_defaults_file`).
    """
    if not chart_lock().holds(chart.repo, chart.name, chart.version):
        raise ValueError(
            f"{resource_name}: chart {chart.name} {chart.version} from {chart.repo} is not in {CHART_LOCK_FILE}; "
            "pin charts with locked_chart()"
        )
    nulls = [path for path, leaf in _paths(values) if leaf is None]
    if nulls:
        raise ValueError(f"{resource_name}: values {', '.join(nulls)} are None; delete chart defaults with removed_defaults")
    # An OCI chart is named by its reference and has no repository: pulumi-kubernetes passes an
    # oci:// chart name to Helm's registry client and would look a repoURL up as an index.yaml
    # (provider/pkg/provider/helm_release.go, resolveChartName and locateChart, at 9497796; checked
    # on 2026-12-02).
    oci = chart.repo.startswith("oci://")
    return k8s.helm.v3.Release(
        resource_name,
        name=chart.name,
        chart=f"{chart.repo}/{chart.name}" if oci else chart.name,
        version=chart.version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        skip_crds=skip_crds or None,
        namespace=namespace,
        create_namespace=False,
        atomic=True,
        cleanup_on_fail=True,
        timeout=HELM_TIMEOUT_SECONDS,
        max_history=HELM_MAX_HISTORY,
        values=values,
        value_yaml_files=[removed_defaults_file(removed_defaults)] if removed_defaults else None,
        opts=child(parent, protect=protect, depends_on=list(depends_on)),
    )
