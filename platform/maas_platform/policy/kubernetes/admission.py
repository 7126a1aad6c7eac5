"""The Kubernetes rules the cluster itself enforces: one CEL check per catalog rule, and the
ValidatingAdmissionPolicy and binding manifests that carry them.

Each :class:`Check` is attached to a rule of the catalog by its ID; the policy's message is
that rule's ID, title and remediation, so a denied request names the same rule
``maas plan`` names. The tests evaluate every expression with cel-python over every object of
the shipped plans (all admitted) and over a corpus of violating objects (each denied by the
rule it names), and compare each verdict with the rule's Python check.

Enforcement (:func:`validation_actions`): the checks that keep tenants apart (SecretStore
binding, ClusterSecretStore references, egress, team namespaces and their Pod Security, the
egress proxy's image, the golden-set probe's pods, team role bindings and Ingresses) deny in every
environment; a dev cluster that admitted them would be a way around them into shared AWS
accounts. The hygiene checks (pinned images, sizing, pod hardening beyond Pod Security
``restricted``, Services, labels) deny in prod and warn and audit elsewhere: a dev or staging
deploy that breaks one is told so (kubectl and Pulumi show the warning), while prod refuses it.

Scope: bindings select agent namespaces (label ``maas.dev/agent`` exists), so the platform's
own namespaces and the charts' workloads are never blocked. The team checks are the
exception: they apply to every namespace, since a team user must not write outside its
agents' namespaces either, and they only match requests of team users (their group starts
with ``maas:team:``); 022 matches subresources too (``*/*``) and 023 deletions of Namespaces
(where ``object`` is null and the namespace as it was is ``oldObject``). The Pod Security
check of Namespaces (024) has no selector either: it judges a Namespace by its own labels, or
by who writes it. The hygiene checks skip requests of ``system:`` users: the controllers
(ReplicaSets and Pods of a Deployment, KEDA's HPAs) create what a checked template or object
already describes. The golden-set probe's check (040) skips no one: a service account a team binds
in its namespace is a ``system:`` user too, and the Pods a controller makes from a probe template
pass as the template did; it also matches ``pods/ephemeralcontainers``, through which ``kubectl
debug`` adds a container to a running Pod (the request's object is the Pod).

Checked against upstream on 2026-12-02:

* the ValidatingAdmissionPolicy / ValidatingAdmissionPolicyBinding fields used here
  (``failurePolicy``, ``matchConstraints.resourceRules[].{apiGroups,apiVersions,operations,
  resources,scope}``, ``matchConditions[].{name,expression}``, ``variables[].{name,expression}``,
  ``validations[].{expression,message}``; binding ``policyName``, ``validationActions``,
  ``matchResources.namespaceSelector``) in the admissionregistration.k8s.io/v1 OpenAPI schema of
  Kubernetes 1.35 (kubernetes-validate 1.37.0's bundled ``v1.35.0-local-strict`` schemas, and
  kubernetes.io/docs/reference/kubernetes-api/policy-resources/validating-admission-policy-v1);
  ``scope`` "Namespaced" excludes Namespaces, which are cluster-scoped; a binding's
  namespaceSelector matches a Namespace request on the Namespace's own labels, and never skips
  other cluster-scoped objects; a binding without matchResources validates all the policy matches;
  ``Deny`` and ``Warn`` may not be combined;
* the CEL variables ``object`` (null on DELETE), ``oldObject``, ``request``, ``params``,
  ``namespaceObject`` (null for cluster-scoped objects) and ``variables`` (lazily evaluated, in
  order), and that a failing match condition skips the policy while an erroring one fails it
  under ``failurePolicy: Fail`` (kubernetes/website
  content/en/docs/reference/access-authn-authz/validating-admission-policy.md, its examples
  access/image-matches-namespace-environment.policy.yaml reading ``object.metadata.labels`` and
  ``namespaceObject.metadata.labels``, and docs/reference/using-api/cel.md for the libraries).
  The expressions use only standard CEL (``has``, ``in``, ``all``, ``exists``, ``filter``,
  ``matches`` with RE2, ``startsWith``, ``endsWith``, ``size``), which cel-python implements too; no
  Kubernetes extension library (quantity, strings.split, cidr, ...) is needed: egress
  destinations are matched as strings (tenancy.PRIVATE_CIDR says why);
* rechecked 2026-12-03 for MAAS-K8S-040: ``namespaceObject`` ("the namespace object that the incoming
  object belongs to", null for cluster-scoped resources) in the Validation ``expression`` field's
  description of the admissionregistration.k8s.io/v1 API; resource rules name a subresource as
  ``pods/<sub>`` ("'pods/log' means the log subresource of pods", while '*' matches no subresource)
  and operations may be CREATE, UPDATE, DELETE or CONNECT (kubernetes.io/docs/reference/kubernetes-api,
  RuleWithOperations); ephemeral containers cannot be set when a Pod is created nor by updating its
  spec, only through its ``ephemeralcontainers`` subresource (PodSpec.ephemeralContainers and
  concepts/workloads/pods/ephemeral-containers);
* the ALB annotations 027 reads (``group.name``, ``group.order``, ``actions.${action-name}``,
  ``conditions.${conditions-name}``) in kubernetes-sigs/aws-load-balancer-controller v3.5.0
  (the app version of the chart we pin), docs/guide/ingress/annotations.md, which also warns that
  every writer of an IngressGroup's Ingresses must be inside one trust boundary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ... import names
from ..catalog import get_rule
from .golden import (
    AGENT_OPTION, FORBIDDEN_CONTAINER_FIELDS, MAX_ARGS, PROBE_CASES_DIR, PROBE_COMMAND, PROBE_ENV, PROBE_OPTIONS,
    PUSHGATEWAY_OPTION,
)
from .helpers import AGENT_LABELS, CONTAINER_LISTS, POD_ATTRIBUTION_LABELS
from .pods import SIZED_CONTAINERS
from .tenancy import (
    AGENT_OBJECTS_SUFFIX, CHAINED_ROLE_FIELDS, EXPOSING_SERVICE_TYPES, FORBIDDEN_ANNOTATION_PREFIXES,
    FORBIDDEN_ANNOTATIONS, GROUP_NAME_ANNOTATION, PRIVATE_CIDR, PROXY_PORTS, ingress_groups,
)

API_VERSION = "admissionregistration.k8s.io/v1"
PROD = "prod"
DENY: tuple[str, ...] = ("Deny",)
WARN_AND_AUDIT: tuple[str, ...] = ("Warn", "Audit")
WRITES: tuple[str, ...] = ("CREATE", "UPDATE")


@dataclass(frozen=True)
class Kind:
    """A kind a check matches: API group, the resource (plural) its requests name, and its kind."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool = True


WORKLOAD_KINDS: tuple[Kind, ...] = (
    Kind("", "v1", "pods", "Pod"),
    Kind("", "v1", "replicationcontrollers", "ReplicationController"),
    Kind("apps", "v1", "deployments", "Deployment"),
    Kind("apps", "v1", "statefulsets", "StatefulSet"),
    Kind("apps", "v1", "daemonsets", "DaemonSet"),
    Kind("apps", "v1", "replicasets", "ReplicaSet"),
    Kind("batch", "v1", "jobs", "Job"),
    Kind("batch", "v1", "cronjobs", "CronJob"),
)
# kubectl debug adds a container to a running Pod through this subresource; its object is the Pod.
EPHEMERAL_CONTAINERS = Kind("", "v1", "pods/ephemeralcontainers", "Pod")
SERVICE = Kind("", "v1", "services", "Service")
NAMESPACE = Kind("", "v1", "namespaces", "Namespace", namespaced=False)
NETWORK_POLICY = Kind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
SECRET_STORE = Kind("external-secrets.io", "v1", "secretstores", "SecretStore")
EXTERNAL_SECRET = Kind("external-secrets.io", "v1", "externalsecrets", "ExternalSecret")
INGRESS = Kind("networking.k8s.io", "v1", "ingresses", "Ingress")
ROLE_BINDING = Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
CLUSTER_ROLE_BINDING = Kind("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
                            namespaced=False)
# Every namespaced kind ("*" in a resource rule), and Namespaces.
ANY_NAMESPACED = Kind("*", "*", "*", "*")


@dataclass(frozen=True)
class Check:
    """One rule as the cluster checks it: what it matches and the CEL that must hold."""

    rule: str
    expression: str
    kinds: tuple[Kind, ...]
    isolation: bool = False  # Deny everywhere; else Deny in prod only
    variables: tuple[tuple[str, str], ...] = ()
    match_conditions: tuple[tuple[str, str], ...] = ()
    operations: tuple[str, ...] = WRITES
    agent_namespaces_only: bool = True
    subresources: bool = False  # ANY_NAMESPACED also matches subresources ("*/*": pods/exec, .../status)

    @property
    def name(self) -> str:
        """The policy's (and its binding's) name: the rule ID in lower case."""
        return self.rule.lower()


def cel(value: Any) -> str:
    """A CEL literal of a string, a list of strings or a map of them (JSON's syntax is CEL's)."""
    return json.dumps(value, sort_keys=True).replace('"', "'") if not isinstance(value, str) else f"'{value}'"


# -- the pod spec of a workload ----------------------------------------------------------------------

TEMPLATE_KINDS: tuple[str, ...] = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job")
POD_VARIABLES: tuple[tuple[str, str], ...] = ((
    "podSpec",
    "object.kind == 'Pod' ? object.spec : (object.kind == 'CronJob' ? "
    "object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)",
),)
# Requests of the API server's own users (controllers, nodes) are not hygiene checks' business.
NOT_SYSTEM = ("not-a-system-user", "!request.userInfo.username.startsWith('system:')")


def each_container(predicate: str, lists: Sequence[str] = CONTAINER_LISTS) -> str:
    """``predicate`` (over ``c``) holds for every container of the listed lists of the pod spec."""
    return " && ".join(
        f"(!has(variables.podSpec.{key}) || variables.podSpec.{key}.all(c, {predicate}))" for key in lists
    )


def _pod_check(rule: str, expression: str) -> Check:
    return Check(rule, expression, WORKLOAD_KINDS, variables=POD_VARIABLES, match_conditions=(NOT_SYSTEM,))


def _flag_off(field: str) -> str:
    return f"!(has(variables.podSpec.{field}) && variables.podSpec.{field} == true)"


HOST_ACCESS = " && ".join([
    *(_flag_off(field) for field in ("hostNetwork", "hostPID", "hostIPC")),
    each_container("!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0)"),
])
READ_ONLY_ROOT = each_container(
    "has(c.securityContext) && has(c.securityContext.readOnlyRootFilesystem) && "
    "c.securityContext.readOnlyRootFilesystem == true"
)
# A missing request takes the limit's value; the memory limit is required.
SIZED = each_container(
    "has(c.resources) && has(c.resources.limits) && 'memory' in c.resources.limits && "
    "((has(c.resources.requests) && 'cpu' in c.resources.requests) || 'cpu' in c.resources.limits)",
    SIZED_CONTAINERS,
)
# A digest pins the image; otherwise the last path segment of the name (before any '@') has a tag,
# which is not 'latest' (pods.image_tag).
IMAGE_PINNED = each_container(
    "has(c.image) && c.image != '' && (c.image.matches('@sha256:[0-9a-f]{64}$|@sha512:[0-9a-f]{128}$') || "
    "(c.image.matches('^[^@]*:[^/@]*(@.*)?$') && !c.image.matches('^([^@]*/)?[^/:@]*:latest(@.*)?$')))"
)
NO_TOKEN = ("has(variables.podSpec.automountServiceAccountToken) && "
            "variables.podSpec.automountServiceAccountToken == false")
OWN_ACCOUNT = ("has(variables.podSpec.serviceAccountName) && variables.podSpec.serviceAccountName != '' ? "
               "variables.podSpec.serviceAccountName != 'default' : "
               "(has(variables.podSpec.serviceAccount) && variables.podSpec.serviceAccount != '' && "
               "variables.podSpec.serviceAccount != 'default')")


# -- labels ------------------------------------------------------------------------------------------

def _template_labels(path: str) -> str:
    steps = path.split(".")
    guards = " && ".join(f"has(object.{'.'.join(steps[:i])})" for i in range(1, len(steps) + 1))
    return f"({guards}) ? object.{path} : {{}}"


LABEL_VARIABLES: tuple[tuple[str, str], ...] = (
    ("labels", "has(object.metadata.labels) ? object.metadata.labels : {}"),
    ("templateLabels", (
        f"object.kind in {cel(list(TEMPLATE_KINDS))} ? ({_template_labels('spec.template.metadata.labels')}) : "
        f"(object.kind == 'CronJob' ? ({_template_labels('spec.jobTemplate.spec.template.metadata.labels')}) : {{}})"
    )),
)


def agent_labels_expression(environment: str) -> str:
    """MAAS-TAG-101: an object labelled maas.dev/agent carries the labels of its AWS tags, those of
    the environment, and its pod template the attribution labels with the same values."""
    present = f"{cel(list(AGENT_LABELS))}.all(l, l in variables.labels && variables.labels[l] != '')"
    template = (f"!(object.kind in {cel([*TEMPLATE_KINDS, 'CronJob'])}) || {cel(list(POD_ATTRIBUTION_LABELS))}"
                ".all(l, l in variables.templateLabels && variables.templateLabels[l] == variables.labels[l])")
    return (
        f"!('{names.AGENT_LABEL}' in variables.labels) || variables.labels['{names.AGENT_LABEL}'] == '' || "
        f"({present} && variables.labels['{names.ENVIRONMENT_LABEL}'] == '{environment}' && "
        f"variables.labels['{names.MANAGED_BY_LABEL}'] == '{names.MANAGED_BY}' && ({template}))"
    )


# -- isolation -----------------------------------------------------------------------------------------

_AWS = "object.spec.provider.aws"
_ACCOUNT = f"{_AWS}.auth.jwt.serviceAccountRef"
SECRET_STORE_BOUND = " && ".join([
    f"has(object.spec.provider) && has({_AWS}) && has({_AWS}.auth) && has({_AWS}.auth.jwt)",
    f"has({_ACCOUNT}) && has({_ACCOUNT}.name) && {_ACCOUNT}.name == '{names.SECRET_SYNC_SERVICE_ACCOUNT}'",
    f"(!has({_ACCOUNT}.namespace) || {_ACCOUNT}.namespace == request.namespace)",
    f"!has({_AWS}.auth.secretRef)",
    *(f"!has({_AWS}.{field})" for field in CHAINED_ROLE_FIELDS),
])
_CLUSTER_STORE = "has({0}.storeRef) && has({0}.storeRef.kind) && {0}.storeRef.kind == 'ClusterSecretStore'"
NO_CLUSTER_SECRET_STORE = " && ".join([
    "!(has(object.spec.secretStoreRef) && has(object.spec.secretStoreRef.kind) && "
    "object.spec.secretStoreRef.kind == 'ClusterSecretStore')",
    *(f"(!has(object.spec.{key}) || object.spec.{key}.all(d, !(has(d.sourceRef) && "
      f"{_CLUSTER_STORE.format('d.sourceRef')})))" for key in ("data", "dataFrom")),
])
# The proxy's own policy (tenancy.is_proxy_policy): it selects the proxy by matchLabels and every
# egress port is one of PROXY_PORTS, no range. Every other policy names destinations in each
# egress rule, and its ipBlocks lie in the private ranges (tenancy.PRIVATE_CIDR).
_PROXY_PORT = " || ".join(
    f"((has(p.protocol) ? p.protocol : 'TCP') == '{protocol}' && p.port == {port})" for protocol, port in PROXY_PORTS)
PROXY_POLICY = (
    f"has(object.spec.podSelector) && has(object.spec.podSelector.matchLabels) && "
    f"'{names.NAME_LABEL}' in object.spec.podSelector.matchLabels && "
    f"object.spec.podSelector.matchLabels['{names.NAME_LABEL}'] == '{names.EGRESS_PROXY_NAME}' && "
    "(!has(object.spec.egress) || object.spec.egress.all(e, has(e.ports) && size(e.ports) > 0 && "
    f"e.ports.all(p, !has(p.endPort) && has(p.port) && ({_PROXY_PORT}))))"
)
NO_OPEN_EGRESS = (
    f"({PROXY_POLICY}) || !has(object.spec.egress) || object.spec.egress.all(e, has(e.to) && size(e.to) > 0 && "
    f"e.to.all(t, !has(t.ipBlock) || t.ipBlock.cidr.matches('{PRIVATE_CIDR}')))"
)
NO_EXPOSING_SERVICE = f"!has(object.spec.type) || !(object.spec.type in {cel(list(EXPOSING_SERVICE_TYPES))})"

# -- team users --------------------------------------------------------------------------------------

TEAM_USER = ("team-user", f"has(request.userInfo.groups) && "
                          f"request.userInfo.groups.exists(g, g.startsWith('{names.TEAM_GROUP_PREFIX}'))")
TEAM_GROUPS = f"request.userInfo.groups.filter(g, g.startsWith('{names.TEAM_GROUP_PREFIX}'))"
# Namespaced requests only (scope), so namespaceObject is set; were it null, the error fails closed.
TEAM_WRITES_OWN = (
    f"{TEAM_GROUPS}.all(g, has(namespaceObject.metadata.labels) && "
    f"'{names.TEAM_LABEL}' in namespaceObject.metadata.labels && "
    f"g == '{names.TEAM_GROUP_PREFIX}' + namespaceObject.metadata.labels['{names.TEAM_LABEL}'])"
)


# On DELETE ``object`` is null: the namespace as it was is ``oldObject``.
NAMESPACE_VARIABLES: tuple[tuple[str, str], ...] = (
    ("namespace", "request.operation == 'DELETE' ? oldObject : object"),
)


def team_namespace_expression(teams: Mapping[str, Sequence[str]]) -> str:
    """MAAS-K8S-023 over the teams' registered agents (``{}``: no team may create or delete a namespace)."""
    registered = cel({team: sorted(agents) for team, agents in sorted(teams.items())})
    ns = "variables.namespace"
    team = f"{ns}.metadata.labels['{names.TEAM_LABEL}']"
    return (
        f"{TEAM_GROUPS}.all(g, has({ns}.metadata.labels) && '{names.TEAM_LABEL}' in {ns}.metadata.labels && "
        f"g == '{names.TEAM_GROUP_PREFIX}' + {team} && '{names.AGENT_LABEL}' in {ns}.metadata.labels && "
        f"{ns}.metadata.labels['{names.AGENT_LABEL}'] == {ns}.metadata.name && "
        f"{team} in {registered} && {ns}.metadata.name in {registered}[{team}])"
    )


# A Namespace with the agent label, or any a team user writes: Pod Security restricted in all modes.
NAMESPACE_RESTRICTED = (
    f"(!('{names.AGENT_LABEL}' in variables.labels) && !({TEAM_USER[1]})) || "
    f"{cel(dict(names.RESTRICTED_NAMESPACE_LABELS))}.all(l, l in variables.labels && "
    f"variables.labels[l] == {cel(dict(names.RESTRICTED_NAMESPACE_LABELS))}[l])"
)

# The pods' labels of a Pod or a workload's template.
PROXY_POD_VARIABLES: tuple[tuple[str, str], ...] = (
    *POD_VARIABLES, *LABEL_VARIABLES,
    ("podLabels", "object.kind == 'Pod' ? variables.labels : variables.templateLabels"),
)


def proxy_image_expression(image: str) -> str:
    """MAAS-K8S-025: pods labelled as the egress proxy run only ``image``."""
    return (f"!('{names.NAME_LABEL}' in variables.podLabels && "
            f"variables.podLabels['{names.NAME_LABEL}'] == '{names.EGRESS_PROXY_NAME}') || "
            + each_container(f"has(c.image) && c.image == '{image}'"))


def probe_expression(image: str) -> str:
    """MAAS-K8S-040: pods labelled as the golden-set probe run ``image`` as the platform's probe of
    the namespace's agent (:mod:`.golden`). CEL has no loop over indices: the pairs of ``args`` are
    checked position by position, up to MAX_ARGS. The size bound comes before the ``filter`` calls, so
    a long list costs little; one past the runtime budget (10,000,000 per binding and 1,000,000 per
    expression: k8s.io/apiserver pkg/apis/cel RuntimeCELCostBudget and PerCallLimit, read on
    pkg.go.dev 2026-12-03) is an error, which ``failurePolicy: Fail`` denies."""
    agent = f"namespaceObject.metadata.labels['{names.AGENT_LABEL}']"
    pairs = " && ".join(
        f"(size(c.args) <= {i} || (c.args[{i}] in {cel(list(PROBE_OPTIONS))} && !c.args[{i + 1}].startsWith('-') && "
        f"(c.args[{i}] != '{AGENT_OPTION}' || c.args[{i + 1}] == {agent}) && "
        f"(c.args[{i}] != '{PUSHGATEWAY_OPTION}' || c.args[{i + 1}] == '{names.PUSHGATEWAY_URL}')))"
        for i in range(0, MAX_ARGS, 2))
    container = " && ".join([
        f"has(c.image) && c.image == '{image}'",
        f"has(c.command) && c.command == {cel(list(PROBE_COMMAND))}",
        *(f"!has(c.{field})" for field in FORBIDDEN_CONTAINER_FIELDS),
        f"(!has(c.env) || c.env.all(e, e.name in {cel(list(PROBE_ENV))}))",
        f"(!has(c.volumeMounts) || c.volumeMounts.all(m, m.mountPath == '{PROBE_CASES_DIR}'))",
        f"has(c.args) && size(c.args) % 2 == 0 && size(c.args) <= {MAX_ARGS}",
        f"{cel(list(PROBE_OPTIONS))}.all(o, size(c.args.filter(x, x == o)) <= 1)",
        f"'{AGENT_OPTION}' in c.args && '{PUSHGATEWAY_OPTION}' in c.args",
        pairs,
    ])
    spec = "variables.podSpec"
    return (f"!('{names.NAME_LABEL}' in variables.podLabels && "
            f"variables.podLabels['{names.NAME_LABEL}'] == '{names.PROBE_APP}') || ("
            f"(!has({spec}.initContainers) || size({spec}.initContainers) == 0) && "
            f"(!has({spec}.ephemeralContainers) || size({spec}.ephemeralContainers) == 0) && "
            f"has({spec}.containers) && size({spec}.containers) == 1 && {spec}.containers.all(c, {container}))")


def own_registry_expression(registry: str, proxy_image: Optional[str] = None, probe_image: Optional[str] = None) -> str:
    """MAAS-K8S-041: every container of a pod in an agent namespace runs
    ``<registry>/<the namespace's agent>@sha256:<64 hex>`` (:mod:`.registry`), but the platform's egress
    proxy and golden-set probe pods, while they run only the platform's image. The agent's repository
    is compared as a prefix and a length, not spliced into a regular expression: a label value's
    '.' would match any character there."""
    own = each_container(
        "has(c.image) && c.image.startsWith(variables.repository + '@sha256:') && "
        f"size(c.image) == size(variables.repository) + {len('@sha256:') + 64} && "
        "c.image.matches('@sha256:[0-9a-f]{64}$')")
    exempt = [
        f"('{names.NAME_LABEL}' in variables.podLabels && variables.podLabels['{names.NAME_LABEL}'] == '{label}' && "
        f"{each_container(f'has(c.image) && c.image == {cel(image)}')})"
        for label, image in ((names.EGRESS_PROXY_NAME, proxy_image), (names.PROBE_APP, probe_image)) if image]
    return " || ".join([*exempt, f"({own})"])


def own_registry_variables(registry: str) -> tuple[tuple[str, str], ...]:
    """The pod's spec and labels, and the namespace's agent's repository."""
    return (*PROXY_POD_VARIABLES,
            ("repository", f"{cel(registry + '/')} + namespaceObject.metadata.labels['{names.AGENT_LABEL}']"))


# A team's RoleBinding: no team ClusterRole but its own agent-objects role; subjects of its namespace.
TEAM_BINDING = (
    "object.kind == 'RoleBinding' && "
    f"!(object.roleRef.kind == 'ClusterRole' && object.roleRef.name.startsWith('{names.TEAM_GROUP_PREFIX}') && "
    f"!{TEAM_GROUPS}.exists(g, object.roleRef.name == g + '{AGENT_OBJECTS_SUFFIX}')) && "
    "(!has(object.subjects) || object.subjects.all(s, "
    "(s.kind == 'ServiceAccount' && has(s.namespace) && s.namespace == request.namespace) || "
    f"(s.kind == 'ServiceAccount' && has(s.namespace) && s.namespace == '{names.EXTERNAL_SECRETS_NAMESPACE}' && "
    f"s.name == '{names.EXTERNAL_SECRETS_SERVICE_ACCOUNT}' && object.roleRef.kind == 'Role') || "
    f"(s.kind == 'Group' && s.name in {TEAM_GROUPS})))"
)


def team_ingress_expression(prefix: str) -> str:
    """MAAS-K8S-027: a team's Ingress joins only the environment's IngressGroups, unordered, no actions."""
    annotations = "object.metadata.annotations"
    prefixes = " || ".join(f"k.startsWith('{p}')" for p in FORBIDDEN_ANNOTATION_PREFIXES)
    return (
        f"has({annotations}) && '{GROUP_NAME_ANNOTATION}' in {annotations} && "
        f"{annotations}['{GROUP_NAME_ANNOTATION}'] in {cel(ingress_groups(prefix))} && "
        f"!{annotations}.exists(k, k in {cel(list(FORBIDDEN_ANNOTATIONS))} || {prefixes})"
    )


# -- the checks ----------------------------------------------------------------------------------------

def checks(environment: str, teams: Optional[Mapping[str, Sequence[str]]] = None, prefix: Optional[str] = None,
           proxy_image: Optional[str] = None, probe_image: Optional[str] = None,
           agent_registry: Optional[str] = None) -> list[Check]:
    """Every check, by rule ID, for ``environment``, the teams' registered agents, the environment's
    name ``prefix`` (its IngressGroups: MAAS-K8S-027), the egress proxy's image (MAAS-K8S-025) and the
    golden-set probe's (MAAS-K8S-040); without a prefix or an image the check that needs it is left out.
    ``agent_registry`` (``<account>.dkr.ecr.<region>.<suffix>/<prefix>``) where the platform requires
    agents' own images (MAAS-K8S-041); None: not required, no check."""
    found = [
        _pod_check("MAAS-K8S-004", HOST_ACCESS),
        _pod_check("MAAS-K8S-008", READ_ONLY_ROOT),
        _pod_check("MAAS-K8S-009", SIZED),
        _pod_check("MAAS-K8S-011", IMAGE_PINNED),
        _pod_check("MAAS-K8S-013", NO_TOKEN),
        _pod_check("MAAS-K8S-014", OWN_ACCOUNT),
        Check("MAAS-K8S-018", NO_EXPOSING_SERVICE, (SERVICE,), match_conditions=(NOT_SYSTEM,)),
        Check("MAAS-K8S-019", SECRET_STORE_BOUND, (SECRET_STORE,), isolation=True),
        Check("MAAS-K8S-020", NO_CLUSTER_SECRET_STORE, (EXTERNAL_SECRET,), isolation=True),
        Check("MAAS-K8S-021", NO_OPEN_EGRESS, (NETWORK_POLICY,), isolation=True),
        Check("MAAS-K8S-022", TEAM_WRITES_OWN, (ANY_NAMESPACED,), isolation=True, match_conditions=(TEAM_USER,),
              operations=("CREATE", "UPDATE", "DELETE"), agent_namespaces_only=False, subresources=True),
        Check("MAAS-K8S-023", team_namespace_expression(teams or {}), (NAMESPACE,), isolation=True,
              variables=NAMESPACE_VARIABLES, match_conditions=(TEAM_USER,),
              operations=("CREATE", "UPDATE", "DELETE"), agent_namespaces_only=False),
        Check("MAAS-K8S-024", NAMESPACE_RESTRICTED, (NAMESPACE,), isolation=True, variables=LABEL_VARIABLES[:1],
              agent_namespaces_only=False),
        Check("MAAS-K8S-026", TEAM_BINDING, (ROLE_BINDING, CLUSTER_ROLE_BINDING), isolation=True,
              match_conditions=(TEAM_USER,), agent_namespaces_only=False),
        Check("MAAS-TAG-101", agent_labels_expression(environment), (ANY_NAMESPACED, NAMESPACE),
              variables=LABEL_VARIABLES, match_conditions=(NOT_SYSTEM,)),
    ]
    if proxy_image is not None:
        found.append(Check("MAAS-K8S-025", proxy_image_expression(proxy_image), WORKLOAD_KINDS, isolation=True,
                           variables=PROXY_POD_VARIABLES, match_conditions=(NOT_SYSTEM,)))
    if probe_image is not None:
        # No match condition: the Pods the Job controller makes from a probe CronJob pass as their
        # template did, and a service account a team binds in its namespace (a system: user) is held too.
        found.append(Check("MAAS-K8S-040", probe_expression(probe_image), (*WORKLOAD_KINDS, EPHEMERAL_CONTAINERS),
                           isolation=True, variables=PROXY_POD_VARIABLES))
    if agent_registry is not None:
        # No match condition: the Pods a controller makes (a Rollout's too, whose kind is not matched
        # here) are held as their template is, and kubectl debug's ephemeral containers as well.
        found.append(Check("MAAS-K8S-041", own_registry_expression(agent_registry, proxy_image, probe_image),
                           (*WORKLOAD_KINDS, EPHEMERAL_CONTAINERS), isolation=True,
                           variables=own_registry_variables(agent_registry)))
    if prefix is not None:
        found.append(Check("MAAS-K8S-027", team_ingress_expression(prefix), (INGRESS,), isolation=True,
                           match_conditions=(TEAM_USER,)))
    return sorted(found, key=lambda check: check.rule)


def validation_actions(check: Check, environment: str) -> list[str]:
    """Isolation denies everywhere; hygiene denies in prod, warns and audits elsewhere."""
    return list(DENY if check.isolation or environment == PROD else WARN_AND_AUDIT)


def message(rule_id: str) -> str:
    """What a denied request reads: the rule's ID, title and remediation, as ``maas plan`` names it."""
    rule = get_rule(rule_id)
    return f"{rule.id}: {rule.title}. {rule.remediation}"


def _resource_rules(check: Check) -> list[dict[str, Any]]:
    rules = []
    for kind in check.kinds:
        if kind is ANY_NAMESPACED:
            resources = ["*", "*/*"] if check.subresources else ["*"]
            rules.append({"apiGroups": ["*"], "apiVersions": ["*"], "resources": resources, "scope": "Namespaced",
                          "operations": list(check.operations)})
        else:
            rules.append({"apiGroups": [kind.group], "apiVersions": [kind.version], "resources": [kind.resource],
                          "operations": list(check.operations)})
    return rules


def policy_spec(check: Check) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy's spec."""
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": _resource_rules(check)},
        "validations": [{"expression": check.expression, "message": message(check.rule)}],
    }
    if check.match_conditions:
        spec["matchConditions"] = [{"name": n, "expression": e} for n, e in check.match_conditions]
    if check.variables:
        spec["variables"] = [{"name": n, "expression": e} for n, e in check.variables]
    return spec


AGENT_NAMESPACES: dict[str, Any] = {"matchExpressions": [{"key": names.AGENT_LABEL, "operator": "Exists"}]}


def binding_spec(check: Check, environment: str) -> dict[str, Any]:
    """The binding's spec: the policy, its actions in ``environment``, and agent namespaces."""
    spec: dict[str, Any] = {"policyName": check.name, "validationActions": validation_actions(check, environment)}
    if check.agent_namespaces_only:
        spec["matchResources"] = {"namespaceSelector": AGENT_NAMESPACES}
    return spec


def manifests(environment: str, teams: Optional[Mapping[str, Sequence[str]]] = None,
              labels: Optional[Mapping[str, str]] = None, prefix: Optional[str] = None,
              proxy_image: Optional[str] = None, probe_image: Optional[str] = None,
              agent_registry: Optional[str] = None) -> list[dict[str, Any]]:
    """Every policy and binding of ``environment`` as Kubernetes objects, policy before binding."""
    metadata_labels = dict(labels or {})
    objects: list[dict[str, Any]] = []
    for check in checks(environment, teams, prefix, proxy_image, probe_image, agent_registry):
        metadata = {"name": check.name, "labels": metadata_labels}
        objects.append({"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy", "metadata": metadata,
                        "spec": policy_spec(check)})
        objects.append({"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicyBinding",
                        "metadata": dict(metadata), "spec": binding_spec(check, environment)})
    return objects
