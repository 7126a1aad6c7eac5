"""MAAS-K8S-018 to 023 and 036: what keeps one agent's namespace from reaching another's, and one
team from writing in another team's namespaces.

The first four judge an object alone: no LoadBalancer or NodePort Service (018), a SecretStore
that can only act as its own namespace (019), no ExternalSecret reading through a
ClusterSecretStore (020), no NetworkPolicy opening egress to every address except the egress
proxy's (021). The plan holds them to every object of the stack; the cluster
(:mod:`.admission`) holds them to every object of an agent namespace.

MAAS-K8S-036 judges the stack as a whole: every pod it runs in a namespace it creates is
selected by one of its NetworkPolicies there.

The last two judge a request: who asks (their Kubernetes groups, ``maas:team:<team>`` for a
team's deploy role) and where (the labels of the namespace written in). A plan has no
requester: the stack's own deploy identity applies it, and the cluster admits it by the same
rules (the tests replay every shipped plan through them). They judge an
:class:`AdmissionContext`; under a plain :class:`~..core.Context` they do not apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from ... import names
from ..core import UNKNOWN, Context, Finding, NotEvaluable, Outcome, Resource, resource_rule, stack_rule
from .helpers import CONTAINER_LISTS, WORKLOAD_TYPES, is_manifest, kind_of, pod_labels, pod_spec_paths

SERVICE_TYPES: tuple[str, ...] = (names.K8S_SERVICE,)
SECRET_STORE_TYPES: tuple[str, ...] = ("kubernetes:external-secrets.io/*:SecretStore",)
EXTERNAL_SECRET_TYPES: tuple[str, ...] = ("kubernetes:external-secrets.io/*:ExternalSecret",)
NETWORK_POLICY_TYPES: tuple[str, ...] = ("kubernetes:networking.k8s.io/*:NetworkPolicy",)
# Service types that open a port on every node or a load balancer outside the cluster.
EXPOSING_SERVICE_TYPES: tuple[str, ...] = ("LoadBalancer", "NodePort")
# A store's own role fields. With jwt auth the token of the namespace's secret-sync service
# account already becomes the namespace's agent role (the service account's role-arn annotation);
# ESO then assumes spec.provider.aws.additionalRoles in order and spec.provider.aws.role last,
# each from the previous session (external-secrets helm-chart-2.8.0,
# providers/v1/aws/auth/auth.go createConfiguration, read 2026-12-02). A chain leaves the
# namespace's identity, and no agent role may assume another, so a store sets neither.
CHAINED_ROLE_FIELDS: tuple[str, ...] = ("role", "additionalRoles")
# The only ipBlocks a pod other than the egress proxy may reach: the private ranges (RFC 1918
# 10/8, 172.16/12, 192.168/16; the shared address space 100.64/10, RFC 6598) and the EKS Pod
# Identity agent (names.POD_IDENTITY_AGENT_CIDR), each only at its own prefix length or longer.
# A regular expression over the CIDR string, in the syntax common to RE2 and Python (no escapes:
# '[.]'), as the admission check runs it too. Kubernetes 1.35's CEL has a CIDR library
# (cidr('10.0.0.0/8').containsCIDR(...): k8s.io/apiserver pkg/cel/library/cidr.go, present since
# v0.30, i.e. Kubernetes 1.30), but cel-python 0.5.0, which evaluates the policies in the tests,
# implements only Cloud Custodian's net.cidr_contains (celpy/c7nlib.py), not that library; both
# read 2026-12-02. A string match is portable to both. IPv6 blocks never match.
_OCTET = "[0-9]{1,3}"
PRIVATE_CIDR = "^(" + "|".join([
    f"10[.]{_OCTET}[.]{_OCTET}[.]{_OCTET}/([89]|[12][0-9]|3[0-2])",
    f"172[.](1[6-9]|2[0-9]|3[01])[.]{_OCTET}[.]{_OCTET}/(1[2-9]|2[0-9]|3[0-2])",
    f"192[.]168[.]{_OCTET}[.]{_OCTET}/(1[6-9]|2[0-9]|3[0-2])",
    f"100[.](6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])[.]{_OCTET}[.]{_OCTET}/(1[0-9]|2[0-9]|3[0-2])",
    names.POD_IDENTITY_AGENT_CIDR.replace(".", "[.]"),
]) + ")$"
_PRIVATE = re.compile(PRIVATE_CIDR)
# What the egress proxy's own policy may open: HTTPS, and DNS (names.EGRESS_PROXY_NAME's
# NetworkPolicy in components/agent/egress.py).
PROXY_PORTS: tuple[tuple[str, int], ...] = (("TCP", 443), ("TCP", 53), ("UDP", 53))


def private_cidr(cidr: Any) -> bool:
    return isinstance(cidr, str) and bool(_PRIVATE.match(cidr))


# -- Services ------------------------------------------------------------------------------------

@resource_rule(
    "MAAS-K8S-018",
    title="No LoadBalancer or NodePort Services",
    description="Services are ClusterIP (or headless): an agent is reached through the platform's shared "
                "Ingress, whose load balancer only forwards to the paths it routes. A LoadBalancer Service "
                "creates a load balancer of its own, outside the platform's listeners and WAF, and a NodePort "
                "opens the port on every node. The agent namespace's quota allows neither (services.loadbalancers "
                "and services.nodeports 0); this rule names the object that asks for one.",
    severity="high",
    remediation="Use a ClusterIP Service and expose the agent through its Ingress (maas:agents[].expose).",
    types=SERVICE_TYPES,
    frameworks={"SOC 2": ["CC6.6"], "NIST 800-53": ["SC-7"]},
)
def no_exposing_service(resource: Resource, context: Context) -> Iterator[Outcome]:
    kind = resource.get("spec.type")
    if kind == UNKNOWN:
        yield NotEvaluable("spec.type")
    elif kind in EXPOSING_SERVICE_TYPES:
        yield f"Service type {kind} exposes the pods outside the cluster's Ingress"


# -- secret sync ---------------------------------------------------------------------------------

@resource_rule(
    "MAAS-K8S-019",
    title="SecretStores act only as their own namespace",
    description="A SecretStore uses the AWS provider and authenticates with the token of its namespace's "
                "secret-sync service account (auth.jwt.serviceAccountRef, never a service account of another "
                "namespace and never static keys in auth.secretRef), and chains into no other role (role, "
                "additionalRoles): the token becomes the namespace's own agent role, and nothing else. A store "
                "that names another agent's role, or keys, would read that agent's secrets into this namespace.",
    severity="critical",
    remediation="Set spec.provider.aws.auth.jwt.serviceAccountRef.name: secret-sync and drop auth.secretRef, "
                "role and additionalRoles (as AgentService creates the store).",
    types=SECRET_STORE_TYPES,
    frameworks={"SOC 2": ["CC6.1", "CC6.3"], "NIST 800-53": ["AC-3", "AC-6"]},
)
def secret_store_bound(resource: Resource, context: Context) -> Iterator[Outcome]:
    unknown = next(
        (found for path in ("spec.provider.aws.auth.jwt.serviceAccountRef.namespace", "spec.provider.aws.auth.secretRef",
                            *(f"spec.provider.aws.{field}" for field in CHAINED_ROLE_FIELDS))
         if (found := resource.unknown_at(path)) is not None),
        None,
    )
    if unknown is not None or resource.namespace == UNKNOWN:
        yield NotEvaluable(unknown or "metadata.namespace")
        return
    aws = resource.get("spec.provider.aws")
    if not isinstance(aws, Mapping):
        yield "the store does not use the AWS provider"
        return
    auth = aws.get("auth") if isinstance(aws.get("auth"), Mapping) else {}
    account = resource.get("spec.provider.aws.auth.jwt.serviceAccountRef")
    account = account if isinstance(account, Mapping) else {}
    if account.get("name") != names.SECRET_SYNC_SERVICE_ACCOUNT:
        yield (f"the store does not authenticate as the namespace's {names.SECRET_SYNC_SERVICE_ACCOUNT} service "
               "account (auth.jwt.serviceAccountRef.name)")
    elif account.get("namespace") not in (None, resource.namespace):
        yield f"the store authenticates as a service account of namespace {account.get('namespace')}"
    if "secretRef" in auth:
        yield "the store authenticates with static keys (auth.secretRef)"
    for field in CHAINED_ROLE_FIELDS:
        if aws.get(field):
            yield f"the store chains into {aws[field]} ({field}) instead of acting as namespace {resource.namespace}"


def _store_refs(resource: Resource) -> Iterator[tuple[str, Any]]:
    """``(path, kind)`` of every store an ExternalSecret reads through (the kind defaults to SecretStore)."""
    yield "spec.secretStoreRef.kind", resource.get("spec.secretStoreRef.kind")
    for key in ("data", "dataFrom"):
        entries = resource.get(f"spec.{key}")
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            ref = entry.get("sourceRef") if isinstance(entry, Mapping) else None
            store = ref.get("storeRef") if isinstance(ref, Mapping) else None
            if isinstance(store, Mapping):
                yield f"spec.{key}[{index}].sourceRef.storeRef.kind", store.get("kind")


@resource_rule(
    "MAAS-K8S-020",
    title="ExternalSecrets read only through their namespace's SecretStore",
    description="An ExternalSecret names a SecretStore (its namespace's), never a ClusterSecretStore, in "
                "secretStoreRef and in the sourceRef of any data or dataFrom entry. A ClusterSecretStore serves "
                "every namespace with one identity, so any agent could read what it reaches.",
    severity="critical",
    remediation="Reference the namespace's SecretStore (secretStoreRef: {name: aws-secrets-manager, kind: "
                "SecretStore}) and drop sourceRef.storeRef entries of kind ClusterSecretStore.",
    types=EXTERNAL_SECRET_TYPES,
    frameworks={"SOC 2": ["CC6.1", "CC6.3"], "NIST 800-53": ["AC-3", "AC-6"]},
)
def no_cluster_secret_store(resource: Resource, context: Context) -> Iterator[Outcome]:
    for key in ("spec.secretStoreRef", "spec.data", "spec.dataFrom"):
        if resource.unknown_at(key) is not None:
            yield NotEvaluable(str(resource.unknown_at(key)))
            return
    for path, kind in _store_refs(resource):
        if kind == UNKNOWN:
            yield NotEvaluable(path)
        elif kind == "ClusterSecretStore":
            yield f"{path} is ClusterSecretStore"


# -- egress ----------------------------------------------------------------------------------------

def selects_egress_proxy(spec: Mapping[str, Any]) -> bool:
    selector = spec.get("podSelector")
    labels = selector.get("matchLabels") if isinstance(selector, Mapping) else None
    return isinstance(labels, Mapping) and labels.get(names.NAME_LABEL) == names.EGRESS_PROXY_NAME


def proxy_ports_only(spec: Mapping[str, Any]) -> bool:
    """Every egress rule names ports, each one of PROXY_PORTS (protocol TCP when absent), no range."""
    rules = spec.get("egress")
    for rule in rules if isinstance(rules, list) else []:
        ports = rule.get("ports") if isinstance(rule, Mapping) else None
        if not isinstance(ports, list) or not ports:
            return False
        for port in ports:
            if not isinstance(port, Mapping) or "endPort" in port:
                return False
            number = port.get("port")
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                return False
            if (port.get("protocol", "TCP"), int(number)) not in PROXY_PORTS or number != int(number):
                return False
    return True


def is_proxy_policy(spec: Mapping[str, Any]) -> bool:
    """The egress proxy's own policy: it selects the proxy and opens only HTTPS and DNS."""
    return selects_egress_proxy(spec) and proxy_ports_only(spec)


@resource_rule(
    "MAAS-K8S-021",
    title="Egress only to private addresses, except the egress proxy's HTTPS",
    description="A NetworkPolicy's egress rules name their destinations (a rule without 'to' allows every "
                "address), and every ipBlock lies in a private range (10.0.0.0/8, 172.16.0.0/12, "
                "192.168.0.0/16, 100.64.0.0/10) or is the Pod Identity agent (169.254.170.23/32). The one "
                "exception is the namespace's egress proxy's own policy: its podSelector matchLabels select "
                "app.kubernetes.io/name: egress-proxy and every egress port is TCP 443 or DNS (53), since the "
                "proxy reaches the internet for the destinations the agent declares (MAAS-K8S-025 keeps other "
                "pods from wearing its label). An ipBlock 'except' does not narrow a public block enough, and "
                "several blocks (0.0.0.0/1 and 128.0.0.0/1) open everything as surely as 0.0.0.0/0.",
    severity="high",
    remediation="Send the agent's internet traffic through the egress proxy; allow the agent's pods only the "
                "VPC, the proxy and the cluster's services.",
    types=NETWORK_POLICY_TYPES,
    frameworks={"SOC 2": ["CC6.6"], "NIST 800-53": ["SC-7", "AC-4"]},
)
def no_open_egress(resource: Resource, context: Context) -> Iterator[Outcome]:
    if resource.unknown_at("spec") is not None:
        yield NotEvaluable("spec")
        return
    spec = resource.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    unknown = next((found for path in ("spec.podSelector", "spec.egress")
                    if (found := resource.unknown_at(path)) is not None), None)
    if unknown is not None:
        yield NotEvaluable(str(unknown))
        return
    rules = spec.get("egress")
    rules = rules if isinstance(rules, list) else []
    if selects_egress_proxy(spec) and UNKNOWN in repr([r.get("ports") for r in rules if isinstance(r, Mapping)]):
        yield NotEvaluable("spec.egress[].ports")
        return
    if is_proxy_policy(spec):
        return
    for index, rule in enumerate(rules):
        peers = rule.get("to") if isinstance(rule, Mapping) else None
        if peers == UNKNOWN:
            yield NotEvaluable(f"spec.egress[{index}].to")
            continue
        if not peers:
            yield f"spec.egress[{index}] names no destination, so it allows every address"
        for peer_index, peer in enumerate(peers if isinstance(peers, list) else []):
            block = peer.get("ipBlock") if isinstance(peer, Mapping) else None
            if not isinstance(block, Mapping):
                continue
            cidr = block.get("cidr")
            if cidr == UNKNOWN:
                yield NotEvaluable(f"spec.egress[{index}].to[{peer_index}].ipBlock.cidr")
            elif not private_cidr(cidr):
                yield f"spec.egress[{index}].to[{peer_index}] allows egress to {cidr}, outside the private ranges"


# -- requests of team users ----------------------------------------------------------------------

@dataclass(frozen=True)
class AdmissionContext(Context):
    """A request as the cluster admits it: the requester's groups, the labels of the namespace
    it writes in (None for a cluster-scoped object, ``"[unknown]"`` when not known) and the
    agents each team registered with the platform."""

    groups: tuple[str, ...] = ()
    namespace_labels: Optional[Any] = None
    teams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    operation: str = "CREATE"  # on DELETE the resource judged is the object as it was (oldObject)
    prefix: Optional[str] = None  # the environment's name prefix: its IngressGroups (MAAS-K8S-027)
    proxy_image: Optional[str] = None  # the egress proxy's image (MAAS-K8S-025)
    probe_image: Optional[str] = None  # the golden-set probe's image, maas:probe_image (MAAS-K8S-040)

    @property
    def requesting_teams(self) -> list[str]:
        """The teams whose group the requester is in (``maas:team:<team>``)."""
        prefix = names.TEAM_GROUP_PREFIX
        return [group[len(prefix):] for group in self.groups if group.startswith(prefix)]


@resource_rule(
    "MAAS-K8S-022",
    title="Team users write only in their own team's namespaces",
    description="A request from a team's deploy identity (Kubernetes group maas:team:<team>) to create, change "
                "or delete a namespaced object is admitted only in a namespace labelled maas.dev/team: <team>. "
                "RBAC grants a team its agents' namespaces; this holds even where a binding grants more.",
    severity="critical",
    remediation="Deploy the object from the stack of the team that owns the namespace.",
    types=("kubernetes:*",),
    frameworks={"SOC 2": ["CC6.1", "CC6.3"], "NIST 800-53": ["AC-3", "AC-6"]},
)
def team_writes_own_namespaces(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not isinstance(context, AdmissionContext) or not is_manifest(resource) or kind_of(resource) == "Namespace":
        return
    teams = context.requesting_teams
    if not teams:
        return
    labels = context.namespace_labels
    if labels is None:
        return  # a cluster-scoped object: RBAC grants team users none
    if labels == UNKNOWN:
        yield NotEvaluable("namespaceObject.metadata.labels")
        return
    owner = labels.get(names.TEAM_LABEL) if isinstance(labels, Mapping) else None
    for team in teams:
        if owner != team:
            yield f"team {team} may not write in a namespace of {owner or 'no team'}"


@resource_rule(
    "MAAS-K8S-023",
    title="Team users create and delete only their registered agents' namespaces",
    description="A Namespace created, changed or deleted by a team's deploy identity carries (on DELETE: "
                "carried) maas.dev/team: <team> and maas.dev/agent naming itself, and its name is one of the "
                "agents the team registered with the platform (maas:teams). The agent label puts it under the "
                "agent-namespace policies; the name keeps a team from taking, or deleting, another team's agent "
                "namespace or the platform's.",
    severity="critical",
    remediation="Register the agent under the team in the platform's maas:teams, and create its namespace "
                "through AgentService.",
    types=(names.K8S_NAMESPACE,),
    frameworks={"SOC 2": ["CC6.1", "CC6.3"], "NIST 800-53": ["AC-3", "AC-6"]},
)
def team_namespaces_registered(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not isinstance(context, AdmissionContext):
        return
    teams = context.requesting_teams
    if not teams:
        return
    if resource.get("metadata.labels") == UNKNOWN or resource.get("metadata.name") == UNKNOWN:
        yield NotEvaluable("metadata")
        return
    labels, name = resource.labels, resource.get("metadata.name")
    for team in teams:
        if labels.get(names.TEAM_LABEL) != team:
            yield f"namespace {name} is not labelled {names.TEAM_LABEL}: {team}"
        elif labels.get(names.AGENT_LABEL) != name:
            yield f"namespace {name} is not labelled {names.AGENT_LABEL}: {name}"
        elif name not in context.teams.get(team, ()):
            yield f"{name} is not an agent team {team} registered"


# -- Pod Security of agent and team namespaces ---------------------------------------------------

@resource_rule(
    "MAAS-K8S-024",
    title="Agent and team namespaces keep Pod Security restricted in every mode",
    description="A Namespace labelled maas.dev/agent, and any Namespace a team's deploy identity creates or "
                "changes, carries pod-security.kubernetes.io/enforce, audit and warn, each 'restricted'. Pod "
                "Security admission is what refuses privileged pods, host namespaces, hostPath volumes and added "
                "capabilities in an agent namespace; a team that may label its own namespaces could otherwise "
                "lower it to privileged.",
    severity="critical",
    remediation="Label the namespace pod-security.kubernetes.io/enforce, audit and warn: restricted (as "
                "AgentService creates it).",
    types=(names.K8S_NAMESPACE,),
    frameworks={"CIS EKS": ["4.2.1"], "SOC 2": ["CC6.1", "CC6.3"], "NIST 800-53": ["AC-6", "CM-7"]},
)
def namespace_stays_restricted(resource: Resource, context: Context) -> Iterator[Outcome]:
    if resource.get("metadata.labels") == UNKNOWN:
        yield NotEvaluable("metadata.labels")
        return
    labels = resource.labels
    team_user = isinstance(context, AdmissionContext) and bool(context.requesting_teams)
    if names.AGENT_LABEL not in labels and not team_user:
        return
    for label, level in names.RESTRICTED_NAMESPACE_LABELS.items():
        value = labels.get(label)
        if value == UNKNOWN:
            yield NotEvaluable(f"metadata.labels.{label}")
        elif value != level:
            yield f"namespace {resource.get('metadata.name')} has {label}: {value or '(none)'}, not {level}"


# -- the egress proxy's pods ---------------------------------------------------------------------

@resource_rule(
    "MAAS-K8S-025",
    title="Only the platform's proxy image runs as the egress proxy",
    description="A Pod or pod template labelled app.kubernetes.io/name: egress-proxy runs only the platform's "
                "egress proxy image, in every container. That label is what lets the proxy's NetworkPolicy "
                "(MAAS-K8S-021) reach the internet; on any other image it would open the internet to whatever "
                "the pod runs. The cluster holds every non-system request in an agent namespace to it; a plan "
                "has no proxy image to compare with, so the rule applies at admission only.",
    severity="high",
    remediation="Leave the egress proxy to AgentService (maas:agents[].egress); label the agent's own pods with "
                "the agent's name.",
    types=WORKLOAD_TYPES,
    frameworks={"SOC 2": ["CC6.6"], "NIST 800-53": ["SC-7", "AC-4"]},
)
def proxy_label_only_on_proxy(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not isinstance(context, AdmissionContext) or context.proxy_image is None:
        return
    for path in pod_spec_paths(resource):
        labels = pod_labels(resource, path)
        if labels == UNKNOWN:
            yield NotEvaluable("pod labels")
            continue
        if labels.get(names.NAME_LABEL) != names.EGRESS_PROXY_NAME:
            continue
        spec = resource.get(path)
        if spec == UNKNOWN:
            yield NotEvaluable(path)
            continue
        spec = spec if isinstance(spec, Mapping) else {}
        for key in CONTAINER_LISTS:
            for container in spec.get(key) or []:
                image = container.get("image") if isinstance(container, Mapping) else None
                if image == UNKNOWN:
                    yield NotEvaluable(f"{path}.{key}[].image")
                elif image != context.proxy_image:
                    yield f"{key} of an egress-proxy pod runs {image}, not {context.proxy_image}"


# -- role bindings of team users -----------------------------------------------------------------

AGENT_OBJECTS_SUFFIX = ":agent-objects"
BINDING_TYPES: tuple[str, ...] = ("kubernetes:rbac.authorization.k8s.io/*:RoleBinding",
                                  "kubernetes:rbac.authorization.k8s.io/*:ClusterRoleBinding")


@resource_rule(
    "MAAS-K8S-026",
    title="Team users bind no team's cluster role but their agent-objects role, and only in the namespace",
    description="A team's deploy identity creates no ClusterRoleBinding, and its RoleBindings name no ClusterRole "
                "starting maas:team: other than its own maas:team:<team>:agent-objects, and bind only service "
                "accounts of the binding's own namespace, the team's own group, or (to a Role of the namespace) "
                "External Secrets' controller, which requests the secret-sync token. Binding maas:team:<team> to a "
                "service account it may impersonate would shed the team group that MAAS-K8S-022 and 023 "
                "judge; binding a subject of another namespace hands it this namespace.",
    severity="high",
    remediation="Bind the agent's own roles to its service accounts in its namespace; leave the team's cluster "
                "roles to the platform.",
    types=BINDING_TYPES,
    frameworks={"SOC 2": ["CC6.1", "CC6.3"], "NIST 800-53": ["AC-3", "AC-6"]},
)
def team_bindings_stay_inside(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not isinstance(context, AdmissionContext) or not context.requesting_teams:
        return
    if kind_of(resource) == "ClusterRoleBinding":
        yield "team users create no ClusterRoleBinding"
        return
    unknown = next((found for path in ("metadata.namespace", "roleRef", "subjects")
                    if (found := resource.unknown_at(path)) is not None), None)
    subjects = resource.get("subjects")
    if unknown is None and isinstance(subjects, list) and UNKNOWN in repr(subjects):
        unknown = "subjects"
    if unknown is not None:
        yield NotEvaluable(unknown)
        return
    own = {f"{names.TEAM_GROUP_PREFIX}{team}" for team in context.requesting_teams}
    ref = resource.get("roleRef")
    ref = ref if isinstance(ref, Mapping) else {}
    role = str(ref.get("name", ""))
    if ref.get("kind") == "ClusterRole" and role.startswith(names.TEAM_GROUP_PREFIX) and not any(
            role == group + AGENT_OBJECTS_SUFFIX for group in own):
        yield f"roleRef names ClusterRole {role}"
    for index, subject in enumerate(subjects if isinstance(subjects, list) else []):
        subject = subject if isinstance(subject, Mapping) else {}
        kind = subject.get("kind")
        if kind == "ServiceAccount" and subject.get("namespace") == resource.namespace:
            continue
        if (kind == "ServiceAccount" and subject.get("namespace") == names.EXTERNAL_SECRETS_NAMESPACE
                and subject.get("name") == names.EXTERNAL_SECRETS_SERVICE_ACCOUNT and ref.get("kind") == "Role"):
            continue  # External Secrets' controller, to the namespace's secret-sync token Role (addons.py)
        if kind == "Group" and subject.get("name") in own:
            continue
        who = f"{kind} {subject.get('namespace', '')}/{subject.get('name')}"
        yield f"subjects[{index}] ({who}) is outside the namespace"


# -- Ingresses of team users ---------------------------------------------------------------------

INGRESS_TYPES: tuple[str, ...] = ("kubernetes:networking.k8s.io/*:Ingress",)
ALB = "alb.ingress.kubernetes.io/"
GROUP_NAME_ANNOTATION = f"{ALB}group.name"
# Annotations that reorder or add listener rules of the whole IngressGroup
# (kubernetes-sigs/aws-load-balancer-controller v3.5.0, the app version of chart 3.5.0 we pin,
# docs/guide/ingress/annotations.md: group.order, actions.${action-name},
# conditions.${conditions-name}; read 2026-12-02).
FORBIDDEN_ANNOTATIONS: tuple[str, ...] = (f"{ALB}group.order",)
FORBIDDEN_ANNOTATION_PREFIXES: tuple[str, ...] = (f"{ALB}actions.", f"{ALB}conditions.")
INGRESS_GROUP_SUFFIXES: tuple[str, ...] = ("public", "internal")


def ingress_groups(prefix: str) -> list[str]:
    """The environment's shared IngressGroups, as AgentService names them (workload.py _exposure)."""
    return [f"{prefix}-{suffix}" for suffix in INGRESS_GROUP_SUFFIXES]


@resource_rule(
    "MAAS-K8S-027",
    title="Team users' Ingresses join only the environment's IngressGroups, without ordering or actions",
    description="An Ingress written by a team's deploy identity names alb.ingress.kubernetes.io/group.name "
                "<prefix>-public or <prefix>-internal (the shared load balancers AgentService joins), and no "
                "group.order, actions.* or conditions.* annotation: those reorder or add listener rules of the "
                "whole group, so one team could take over another agent's traffic (the controller's annotation "
                "guide asks that all writers of an IngressGroup be in one trust boundary). Which host an agent "
                "owns is not known in the cluster, so two teams' Ingresses naming the same host are not caught "
                "here: the platform's host names per agent (maas:agents[].expose) are the check on that.",
    severity="high",
    remediation="Let AgentService write the agent's Ingress (maas:agents[].expose); drop group.order, actions.* "
                "and conditions.* annotations.",
    types=INGRESS_TYPES,
    frameworks={"SOC 2": ["CC6.1", "CC6.6"], "NIST 800-53": ["AC-3", "SC-7"]},
)
def team_ingress_in_its_group(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not isinstance(context, AdmissionContext) or not context.requesting_teams or context.prefix is None:
        return
    annotations = resource.get("metadata.annotations")
    if annotations == UNKNOWN or (isinstance(annotations, Mapping) and UNKNOWN in annotations.values()):
        yield NotEvaluable("metadata.annotations")
        return
    annotations = annotations if isinstance(annotations, Mapping) else {}
    group = annotations.get(GROUP_NAME_ANNOTATION)
    if group not in ingress_groups(context.prefix):
        yield f"{GROUP_NAME_ANNOTATION} is {group or '(none)'}, not one of {', '.join(ingress_groups(context.prefix))}"
    for key in sorted(annotations):
        if key in FORBIDDEN_ANNOTATIONS or key.startswith(FORBIDDEN_ANNOTATION_PREFIXES):
            yield f"annotation {key} changes the listener rules of the whole IngressGroup"


# -- pods no NetworkPolicy selects ---------------------------------------------------------------

def label_selects(selector: Any, labels: Any) -> Optional[bool]:
    """Whether a label selector (matchLabels, matchExpressions) selects pods labelled ``labels``;
    an empty or absent selector selects every pod. None when a value it needs is not known yet."""
    if selector == UNKNOWN or labels == UNKNOWN:
        return None
    selector = selector if isinstance(selector, Mapping) else {}
    labels = labels if isinstance(labels, Mapping) else {}
    verdicts: list[Optional[bool]] = []
    wanted = selector.get("matchLabels")
    if wanted == UNKNOWN:
        return None
    for key, value in (wanted.items() if isinstance(wanted, Mapping) else ()):
        have = labels.get(key)
        verdicts.append(None if UNKNOWN in (value, have) else have == value)
    expressions = selector.get("matchExpressions")
    if expressions == UNKNOWN:
        return None
    for expression in expressions if isinstance(expressions, list) else []:
        expression = expression if isinstance(expression, Mapping) else {}
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if UNKNOWN in (key, operator, values) or (isinstance(values, list) and UNKNOWN in values):
            verdicts.append(None)
            continue
        have = labels.get(key)
        if have == UNKNOWN:
            verdicts.append(None)
        elif operator == "In":
            verdicts.append(have in values)
        elif operator == "NotIn":
            verdicts.append(have not in values)
        elif operator == "Exists":
            verdicts.append(key in labels)
        elif operator == "DoesNotExist":
            verdicts.append(key not in labels)
        else:
            verdicts.append(False)
    if False in verdicts:
        return False
    return None if None in verdicts else True


def stack_namespaces(resources: Sequence[Resource]) -> tuple[set[str], bool]:
    """The names of the Namespaces the stack creates, and whether some name is not known yet."""
    found, unsure = set(), False
    for namespace in (r for r in resources if r.type == names.K8S_NAMESPACE):
        generated = namespace.outputs.get("metadata")
        name = namespace.get("metadata.name") or (
            generated.get("name") if isinstance(generated, Mapping) else None) or namespace.id
        if name == UNKNOWN or not isinstance(name, str):
            unsure = True
        else:
            found.add(name)
    return found, unsure


@stack_rule(
    "MAAS-K8S-036",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Every pod in a namespace of the stack is selected by a NetworkPolicy",
    description="Each Pod or pod template the stack runs in a Namespace it creates, whatever the namespace, is "
                "selected by the podSelector (matchLabels, matchExpressions; empty selects all) of some "
                "NetworkPolicy of the stack in that namespace. A pod no policy selects accepts traffic from every "
                "pod of the cluster and reaches any address. Agent namespaces hold the platform's default-deny "
                "policy (MAAS-STK-002); a namespace the stack makes for itself needs its own.",
    severity="high",
    remediation="Add a NetworkPolicy in the namespace with podSelector: {} and policyTypes [Ingress, Egress] (deny "
                "by default), then allow what the pods need; or run them in the agent's namespace.",
    frameworks={"CIS EKS": ["4.3.2"], "SOC 2": ["CC6.6"], "NIST 800-53": ["AC-4", "SC-7"]},
)
def pods_selected_by_network_policy(resources: Sequence[Resource], context: Context
                                    ) -> Iterator[Union[Finding, NotEvaluable]]:
    created, unsure = stack_namespaces(resources)
    if not created and not unsure:
        return
    policies = [r for r in resources if r.type.startswith("kubernetes:networking.k8s.io/")
                and kind_of(r) == "NetworkPolicy"]
    for workload in resources:
        paths = pod_spec_paths(workload)
        if not paths:
            continue
        namespace = workload.get("metadata.namespace")
        if namespace == UNKNOWN:
            yield NotEvaluable("metadata.namespace", workload.urn)
            continue
        if namespace not in created:
            if unsure and namespace not in (None, ""):
                yield NotEvaluable("metadata.namespace", workload.urn)
            continue
        for path in paths:
            labels = pod_labels(workload, path)
            verdicts = []
            for policy in policies:
                where = policy.get("metadata.namespace")
                if where == UNKNOWN:
                    verdicts.append(None)
                elif where == namespace:
                    verdicts.append(label_selects(policy.get("spec.podSelector"), labels))
            if True in verdicts:
                continue
            if None in verdicts:
                yield NotEvaluable("pod labels" if labels == UNKNOWN else "NetworkPolicy podSelector", workload.urn)
            else:
                yield Finding(workload.urn, f"no NetworkPolicy of namespace {namespace} selects the pods of "
                                            f"{kind_of(workload)} {workload.get('metadata.name') or workload.name}")
            break
