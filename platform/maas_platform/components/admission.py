"""The cluster's own guard: ValidatingAdmissionPolicies generated from the platform's Kubernetes rules.

``maas plan`` and the CrossGuard pack judge what a stack is about to deploy; a deploy that
skips them (kubectl, another team's stack, a controller told to) still meets these policies in
the API server. Each policy carries one check of :mod:`maas_platform.policy.kubernetes.admission`,
attached to the catalog rule whose ID, title and remediation it reports; which requests each
binding selects and how it enforces them are documented there. The egress proxy's image
(MAAS-K8S-025) is the one AgentService deploys (``agent.egress.PROXY_IMAGE``); the golden-set probe's
(MAAS-K8S-040) is the platform's ``maas:probe_image``, which team stacks read from its outputs and
cannot change. Where ``maas:delivery.require_own_registry`` holds (prod by default), agents' pods run
only their own ECR repository's images by digest (MAAS-K8S-041).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from .. import names
from ..policy.kubernetes.admission import manifests
from ..policy.kubernetes.registry import agent_registry
from .agent.egress import PROXY_IMAGE
from .base import AccountContext, ComponentArgs, child


class AdmissionPoliciesArgs(ComponentArgs):
    environment: str = Field(description="The environment: prod denies every violation, dev and staging "
                                         "deny the isolation checks and warn and audit the others.")
    teams: Mapping[str, Sequence[str]] = Field(
        default_factory=dict,
        description="Agents each team registered (maas:teams), team -> agent names: the namespaces its users may "
                    "create. Empty: no team user may create a namespace.",
    )
    prefix: str = Field(description="The environment's name prefix: team users' Ingresses may join only its "
                                    "IngressGroups <prefix>-public and <prefix>-internal (MAAS-K8S-027).")
    probe_image: str = Field(description="The golden-set probe's image (maas:probe_image): the only image a pod "
                                         "labelled app.kubernetes.io/name: maas-probe may run (MAAS-K8S-040).")
    require_own_registry: bool = Field(
        False, description="Agents' pods run only their own repository's images by digest, <account>.dkr.ecr.<region>."
                           "<suffix>/<prefix>/<agent>@sha256:... (maas:delivery.require_own_registry, MAAS-K8S-041).")
    account: Optional[AccountContext] = Field(
        None, description="The account and region of the agents' repositories; required with require_own_registry.")
    labels: Mapping[str, str] = Field(default_factory=dict, description="Labels of the policies and bindings.")


class AdmissionPolicies(pulumi.ComponentResource):
    """One ValidatingAdmissionPolicy and its binding per checked rule. Give it the Kubernetes
    provider through ``opts.providers``; agents' objects should depend on it, so that they are
    admitted under it."""

    policies: dict[str, k8s.admissionregistration.v1.ValidatingAdmissionPolicy]
    bindings: dict[str, k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding]

    def __init__(self, name: str, args: AdmissionPoliciesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_ADMISSION_POLICIES, name, None, opts)
        self.policies, self.bindings = {}, {}
        objects: list[dict[str, Any]] = manifests(
            args.environment, args.teams, args.labels, prefix=args.prefix, proxy_image=PROXY_IMAGE,
            probe_image=args.probe_image, agent_registry=_agent_registry(args))
        for obj in objects:
            policy = obj["metadata"]["name"]
            if obj["kind"] == "ValidatingAdmissionPolicy":
                self.policies[policy] = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                    f"{name}-{policy}", metadata=obj["metadata"], spec=obj["spec"], opts=child(self),
                )
            else:
                self.bindings[policy] = k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                    f"{name}-{policy}-binding", metadata=obj["metadata"], spec=obj["spec"],
                    opts=child(self, depends_on=[self.policies[policy]]),
                )
        self.register_outputs({"policies": sorted(self.policies)})


def _agent_registry(args: AdmissionPoliciesArgs) -> Optional[str]:
    """Where the agents' repositories sit when the platform requires them (MAAS-K8S-041), else None."""
    if not args.require_own_registry:
        return None
    if args.account is None:
        raise ValueError("require_own_registry needs the account of the agents' repositories")
    return agent_registry(args.account.account_id, args.account.region, args.prefix, args.account.dns_suffix)
