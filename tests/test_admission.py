"""The ValidatingAdmissionPolicies, evaluated offline with cel-python, against the rules they come from.

Every CEL expression of :mod:`maas_platform.policy.kubernetes.admission` compiles and is
evaluated the way the API server evaluates a policy (match the request's kind, the binding's
namespaceSelector and the match conditions; then the variables, in order, and the validation):

* over every Kubernetes object of the shipped plans (dev, staging, prod and the team example,
  the latter requested by its team's group): all admitted;
* over the corpus in ``tests/admission-corpus`` (one violating object per file, with the rule it
  names): each denied by exactly that rule, with that rule's message.

On every request a policy evaluates, the rule's Python check (what ``maas plan`` and the
CrossGuard pack run) gives the same verdict. The field paths the expressions read exist in the
matched kinds' schemas: Kubernetes 1.35's OpenAPI (kubernetes-validate's bundled schemas) for
native kinds, the CRD schema packages of :mod:`crd_models` for External Secrets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

import celpy
import kubernetes_validate
import pytest
import yaml

import crd_models
from conftest import ENVIRONMENTS, ROOT
from maas_platform import names
from maas_platform.components.agent.egress import PROXY_IMAGE
from maas_platform.config.models import PlatformConfig
from maas_platform.plan import Plan, plan_project
from maas_platform.plan.exports import kubernetes_objects
from maas_platform.policy import Resource, assess, get_rule
from maas_platform.policy.kubernetes import admission
from maas_platform.policy.kubernetes.admission import ANY_NAMESPACED, Check, checks, manifests, message
from maas_platform.policy.kubernetes.registry import agent_registry
from maas_platform.policy.kubernetes.tenancy import AdmissionContext
from maas_platform.config.defaults import ENVIRONMENT_DEFAULTS

CORPUS = Path(__file__).resolve().parent / "admission-corpus"
TEAM_STACK = ROOT / "stacks" / "teams" / "example"
KUBERNETES = "1.35.0"
# The corpus's cluster: dev, where two teams registered their agents.
CORPUS_ENVIRONMENT = "dev"
CORPUS_TEAMS = {"support": ["triage"], "insights": ["billing"]}
CORPUS_PREFIX = "maas-dev"
# Where the corpus cluster's agents' repositories sit, for the cases that require them (MAAS-K8S-041).
CORPUS_REGISTRY = agent_registry("123456789012", "us-east-1", CORPUS_PREFIX)
CORPUS_NAMESPACE_LABELS = {
    names.NAME_LABEL: "triage", names.PART_OF_LABEL: names.PART_OF, names.MANAGED_BY_LABEL: names.MANAGED_BY,
    names.AGENT_LABEL: "triage", names.TEAM_LABEL: "support", names.ENVIRONMENT_LABEL: "dev",
    names.COST_CENTER_LABEL: "cc-100", **names.RESTRICTED_NAMESPACE_LABELS,
}
# Who applies a platform stack: its deploy role, as EKS maps it (not a team, not a system: user).
DEPLOYER = {"username": "arn:aws:sts::123456789012:assumed-role/maas-deployer/ci", "groups": ["system:authenticated"]}
# The shipped stacks' maas:probe_image: the default (MAAS-K8S-040).
PROBE_IMAGE = PlatformConfig.model_fields["probe_image"].default


# -- the API server's side, offline ----------------------------------------------------------------

def all_checks(environment: str, teams: Optional[Mapping[str, list[str]]] = None,
               prefix: str = CORPUS_PREFIX, registry: Optional[str] = None) -> list[Check]:
    """Every check, with the environment's prefix and the proxy and probe images the platform passes
    (and the agents' registry where the platform requires their own images, MAAS-K8S-041)."""
    return checks(environment, teams, prefix, PROXY_IMAGE, PROBE_IMAGE, registry)


@dataclass(frozen=True)
class Request:
    """A request: the object (on DELETE, as it was), its namespace's labels (None: cluster-scoped),
    who asks and the operation."""

    obj: Mapping[str, Any]
    namespace_labels: Optional[Mapping[str, str]]
    requester: Mapping[str, Any] = field(default_factory=lambda: DEPLOYER)
    operation: str = "CREATE"

    @property
    def group(self) -> str:
        return self.obj["apiVersion"].rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.obj["apiVersion"].rpartition("/")[2]

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")

    def activation(self) -> dict[str, Any]:
        namespace_object = None if self.namespace_labels is None else {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace, "labels": self.namespace_labels}}
        request = {
            "operation": self.operation, "namespace": self.namespace, "name": self.obj["metadata"].get("name", ""),
            "kind": {"group": self.group, "version": self.version, "kind": self.obj["kind"]},
            "userInfo": {"username": self.requester["username"], "groups": list(self.requester["groups"])},
        }
        deleted = self.operation == "DELETE"  # object is null, oldObject the object as it was
        return {"object": celpy.json_to_cel(None if deleted else self.obj),
                "oldObject": celpy.json_to_cel(self.obj if deleted or self.operation == "UPDATE" else None),
                "request": celpy.json_to_cel(request), "namespaceObject": celpy.json_to_cel(namespace_object),
                "params": celpy.json_to_cel(None)}


ENV = celpy.Environment()


@lru_cache(maxsize=None)
def program(expression: str) -> celpy.Runner:
    return ENV.program(ENV.compile(expression))


def run(expression: str, activation: Mapping[str, Any]) -> bool:
    result = program(expression).evaluate(dict(activation))
    if not isinstance(result, celpy.celtypes.BoolType):
        raise AssertionError(f"{expression[:80]}... gave {result!r}: an error the API server answers with "
                             "failurePolicy Fail (denied)")
    return bool(result)


def cel_map(values: Mapping[str, Any]) -> celpy.celtypes.MapType:
    return celpy.celtypes.MapType({celpy.celtypes.StringType(k): v for k, v in values.items()})


def selected(check: Check, request: Request) -> bool:
    """Whether the policy and its binding match the request (kinds, namespaceSelector)."""
    kind, namespaced = request.obj["kind"], bool(request.namespace)
    if request.operation not in check.operations:
        return False
    if not any((k is ANY_NAMESPACED and namespaced) or (k.kind == kind and k.group == request.group)
               for k in check.kinds):
        return False
    if not check.agent_namespaces_only:
        return True
    labels = request.obj["metadata"].get("labels") or {} if kind == "Namespace" else request.namespace_labels
    return labels is None or names.AGENT_LABEL in labels  # other cluster-scoped objects are never skipped


def admits(check: Check, request: Request) -> Optional[bool]:
    """The policy's verdict on the request, None when it does not match."""
    if not selected(check, request):
        return None
    activation = request.activation()
    if not all(run(expression, activation) for _, expression in check.match_conditions):
        return None
    variables: dict[str, Any] = {}
    for variable, expression in check.variables:  # in order: each sees those before it
        activation["variables"] = cel_map(variables)
        variables[variable] = program(expression).evaluate(dict(activation))
    activation["variables"] = cel_map(variables)
    return run(check.expression, activation)


def python_admits(check: Check, request: Request, environment: str, teams: Mapping[str, list[str]],
                  prefix: str, registry: Optional[str] = None) -> bool:
    """The rule's Python check on the same request."""
    resource = Resource(type=f"kubernetes:{request.group or 'core'}/{request.version}:{request.obj['kind']}",
                        name=request.obj["metadata"].get("name", ""), props=request.obj, urn="urn:request")
    context = AdmissionContext(environment=environment, groups=tuple(request.requester["groups"]),
                               namespace_labels=request.namespace_labels,
                               teams={team: tuple(agents) for team, agents in teams.items()},
                               operation=request.operation, prefix=prefix, proxy_image=PROXY_IMAGE,
                               probe_image=PROBE_IMAGE, require_own_registry=registry is not None,
                               agent_registry=registry)
    outcome = assess(get_rule(check.rule), [resource], context)
    assert outcome.not_evaluable == (), outcome.not_evaluable
    return not outcome.findings


def denials(request: Request, environment: str, teams: Mapping[str, list[str]],
            prefix: str = CORPUS_PREFIX, registry: Optional[str] = None) -> dict[str, bool]:
    """Rule ID -> whether its policy denies the request, for every policy that evaluated it;
    each verdict checked against the rule's Python check."""
    verdicts = {}
    for check in all_checks(environment, teams, prefix, registry):
        verdict = admits(check, request)
        if verdict is None:
            continue
        assert python_admits(check, request, environment, teams, prefix, registry) == verdict, (
            f"{check.rule}: the CEL {'admits' if verdict else 'denies'} {request.obj['kind']} "
            f"{request.obj['metadata'].get('name')}, the Python rule does not")
        verdicts[check.rule] = not verdict
    return verdicts


# -- the expressions -----------------------------------------------------------------------------------

def every_expression(environment: str, teams: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    return [(f"{check.rule}:{name}", expression) for check in all_checks(environment, teams)
            for name, expression in (*check.variables, *check.match_conditions, ("validation", check.expression))]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("teams", [{}, CORPUS_TEAMS], ids=["no-teams", "teams"])
def test_every_expression_compiles_in_cel_python(environment, teams):
    for where, expression in every_expression(environment, teams):
        try:
            program(expression)
        except celpy.CELParseError as error:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{where}: {error}")


def test_each_policy_is_attached_to_a_catalog_rule_and_carries_its_message():
    for check in all_checks("prod", CORPUS_TEAMS):
        rule = get_rule(check.rule)
        assert message(check.rule) == f"{rule.id}: {rule.title}. {rule.remediation}"
        assert "\n" not in message(check.rule), "the API server refuses a multi-line message"
        assert rule.types, f"{rule.id} is a resource rule: its Python check judges the same object"


def test_isolation_denies_everywhere_and_hygiene_denies_only_in_prod():
    isolation = {f"MAAS-K8S-{n:03d}" for n in range(19, 28)} | {"MAAS-K8S-040"}
    for environment in ENVIRONMENTS:
        for check in all_checks(environment):
            actions = admission.validation_actions(check, environment)
            if check.rule in isolation or environment == "prod":
                assert actions == ["Deny"], (check.rule, environment)
            else:
                assert actions == ["Warn", "Audit"], (check.rule, environment)


def test_bindings_select_agent_namespaces_except_the_team_checks():
    for obj in manifests("dev", CORPUS_TEAMS, prefix=CORPUS_PREFIX, proxy_image=PROXY_IMAGE):
        if obj["kind"] != "ValidatingAdmissionPolicyBinding":
            continue
        selector = obj["spec"].get("matchResources", {}).get("namespaceSelector")
        if obj["metadata"]["name"] in ("maas-k8s-022", "maas-k8s-023", "maas-k8s-024", "maas-k8s-026"):
            assert selector is None, "a team user is held to its namespaces wherever it writes"
        else:
            assert selector == {"matchExpressions": [{"key": names.AGENT_LABEL, "operator": "Exists"}]}


def test_the_team_checks_match_subresources_and_deletes():
    """pods/exec, deployments/scale and .../status are requests too (resources "*" names none of
    them), and a namespace's deletion is a team request like its creation."""
    specs = {o["metadata"]["name"]: o["spec"] for o in manifests("dev", CORPUS_TEAMS, prefix=CORPUS_PREFIX,
                                                                 proxy_image=PROXY_IMAGE)
             if o["kind"] == "ValidatingAdmissionPolicy"}
    (rule,) = specs["maas-k8s-022"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["*", "*/*"] and "DELETE" in rule["operations"]
    (rule,) = specs["maas-k8s-023"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["namespaces"] and rule["operations"] == ["CREATE", "UPDATE", "DELETE"]


def test_every_policy_fails_closed():
    for obj in manifests("staging"):
        if obj["kind"] == "ValidatingAdmissionPolicy":
            assert obj["spec"]["failurePolicy"] == "Fail"


# -- the shipped plans ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(TEAM_STACK, stack="dev")


def registry_of(plan: Plan) -> Optional[str]:
    """The agents' registry a platform plan's admission policies hold pods to (its environment's default
    maas:delivery.require_own_registry), None where not required."""
    outputs = plan.outputs
    if not ENVIRONMENT_DEFAULTS[outputs["environment"]]["delivery"]["require_own_registry"]:
        return None
    return agent_registry(outputs["account_id"], outputs["region"], outputs["prefix"])


def registered_teams(plan: Plan) -> dict[str, list[str]]:
    """team -> agents, as the platform exports them (PlatformOutputs.teams)."""
    return {team: list(output.get("agents", [])) for team, output in (plan.outputs.get("teams") or {}).items()}


def namespace_labels(*plans: Plan) -> dict[str, Mapping[str, str]]:
    return {o["metadata"]["name"]: o["metadata"].get("labels") or {}
            for plan in plans for o in kubernetes_objects(plan) if o["kind"] == "Namespace"}


def requests_of(plan: Plan, namespaces: Mapping[str, Mapping[str, str]],
                requester: Mapping[str, Any] = DEPLOYER) -> list[Request]:
    found = []
    for obj in kubernetes_objects(plan):
        namespace = obj["metadata"].get("namespace")
        found.append(Request(obj, None if not namespace else namespaces.get(namespace, {}), requester))
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_plan_carries_the_generated_policies(plans, env):
    plan = plans[env]
    shipped = [o for o in kubernetes_objects(plan) if o["apiVersion"] == admission.API_VERSION]
    labels = shipped[0]["metadata"]["labels"]
    assert labels[names.ENVIRONMENT_LABEL] == env and labels[names.MANAGED_BY_LABEL] == names.MANAGED_BY
    expected = manifests(env, registered_teams(plan), labels, prefix=plan.outputs["prefix"], proxy_image=PROXY_IMAGE,
                         probe_image=plan.outputs["probe_image"], agent_registry=registry_of(plan))
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted(shipped, key=key) == sorted(expected, key=key)
    assert len(shipped) == 2 * len(all_checks(env, registry=registry_of(plan)))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_object_of_the_shipped_plans_is_admitted(plans, env):
    plan = plans[env]
    evaluated: dict[str, int] = {}
    for request in requests_of(plan, namespace_labels(plan)):
        for rule, denied in denials(request, env, registered_teams(plan), plan.outputs["prefix"]).items():
            assert not denied, f"{rule} denies {request.obj['kind']} {request.namespace}/{request.obj['metadata']['name']}"
            evaluated[rule] = evaluated.get(rule, 0) + 1
    if env == "dev":  # the dev agents' objects reach every check but the team ones
        team_only = {"MAAS-K8S-022", "MAAS-K8S-023", "MAAS-K8S-025", "MAAS-K8S-026", "MAAS-K8S-027"}
        assert set(evaluated) >= {c.rule for c in all_checks(env)} - team_only, evaluated


def test_the_team_stack_is_admitted_under_its_team_group(plans, team):
    platform = plans["dev"]
    teams = registered_teams(platform)
    objects = kubernetes_objects(team)
    (owner,) = {o["metadata"]["labels"][names.TEAM_LABEL] for o in objects if o["kind"] == "Namespace"}
    requester = {"username": f"maas-team-{owner}", "groups": [f"{names.TEAM_GROUP_PREFIX}{owner}", "system:authenticated"]}
    evaluated: set[str] = set()
    for request in requests_of(team, namespace_labels(platform, team), requester):
        for rule, denied in denials(request, "dev", teams, platform.outputs["prefix"]).items():
            assert not denied, f"{rule} denies {request.obj['kind']} {request.namespace}/{request.obj['metadata']['name']}"
            evaluated.add(rule)
    assert {"MAAS-K8S-022", "MAAS-K8S-023", "MAAS-K8S-024", "MAAS-K8S-025", "MAAS-K8S-026", "MAAS-K8S-027"} <= evaluated


def test_platform_namespaces_are_not_selected(plans):
    """Charts and the platform's own objects are not judged by the agent-namespace policies."""
    plan = plans["dev"]
    for request in requests_of(plan, namespace_labels(plan)):
        if request.namespace and names.AGENT_LABEL not in (request.namespace_labels or {}):
            assert denials(request, "dev", {}) == {}, request.obj["metadata"]


# -- the corpus of violations ---------------------------------------------------------------------

def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


def corpus_request(case: Mapping[str, Any]) -> Request:
    obj = case["object"]
    namespace = obj["metadata"].get("namespace")
    labels = case.get("namespace_labels", CORPUS_NAMESPACE_LABELS) if namespace else None
    return Request(obj, labels, case.get("requester", DEPLOYER), case.get("operation", "CREATE"))


def test_the_corpus_has_at_least_30_cases_and_one_for_every_policy():
    cases = [yaml.safe_load(path.read_text()) for path in corpus()]
    assert len(cases) >= 30
    every = all_checks(CORPUS_ENVIRONMENT, registry=CORPUS_REGISTRY)
    assert {case["rule"] for case in cases} == {check.rule for check in every}


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.stem)
def test_each_corpus_object_is_denied_by_exactly_the_rule_it_names(path):
    case = yaml.safe_load(path.read_text())
    request = corpus_request(case)
    # A case under a cluster that requires agents' own images (own_registry: true) is judged by MAAS-K8S-041 too.
    registry = CORPUS_REGISTRY if case.get("own_registry") else None
    verdicts = denials(request, CORPUS_ENVIRONMENT, CORPUS_TEAMS, registry=registry)
    assert {rule for rule, denied in verdicts.items() if denied} == {case["rule"]}, verdicts
    (check,) = [c for c in all_checks(CORPUS_ENVIRONMENT, CORPUS_TEAMS, registry=registry) if c.rule == case["rule"]]
    assert admission.policy_spec(check)["validations"][0]["message"].startswith(
        f"{case['rule']}: {get_rule(case['rule']).title}.")


def test_the_corpus_objects_are_valid_kubernetes_objects():
    """A denial must come from the rule, not from a malformed object."""
    custom = {}
    for path in corpus():
        obj = yaml.safe_load(path.read_text())["object"]
        if "." in obj["apiVersion"].rpartition("/")[0] and not obj["apiVersion"].startswith(
                ("networking.k8s.io", "rbac.authorization.k8s.io")):
            custom[path.stem] = obj
        else:
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)
    assert {k: v for k, v in crd_models.judge(custom, KUBERNETES).items() if v} == {}


# -- field paths against the schemas ------------------------------------------------------------

SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES}-local-strict"
_COLLECTION = re.compile(r"([\w.]+)\.(?:all|exists|filter)\((\w+),")
_PATH = re.compile(r"(?<![\w'.])((?:object|variables\.podSpec|namespaceObject|[a-z])(?:\.\w+)+)")
POD_SPEC_OF = {"Pod": "spec", "CronJob": "spec.jobTemplate.spec.template.spec"}


@lru_cache(maxsize=None)
def _definitions() -> dict[str, Any]:
    return json.loads((SCHEMAS / "_definitions.json").read_text())["$defs"]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = _definitions()[node["$ref"].rsplit("/", 1)[-1]]
    return node


def native_schema(kind: admission.Kind) -> dict[str, Any]:
    suffix = f"{kind.group.split('.')[0]}-{kind.version}" if kind.group else f"{kind.version}"
    return json.loads((SCHEMAS / f"{kind.kind.lower()}-{suffix}.json").read_text())


def schema_has(schema: dict[str, Any], path: str) -> bool:
    node = schema
    for step in path.split("."):
        node = _resolve(node)
        if step == "[]":
            node = node.get("items", {})
            continue
        properties = node.get("properties")
        if properties is None or step not in properties:
            return False
        node = properties[step]
    return True


def read_paths(check: Check, variables: bool = True) -> set[str]:
    """The object paths a check's expressions read (with its variables' or not), iteration variables
    expanded (``[]``: each item)."""
    found: set[str] = set()
    for _, expression in (*(check.variables if variables else ()), ("validation", check.expression)):
        bound: dict[str, str] = {}
        for collection, variable in _COLLECTION.findall(expression):
            head, _, rest = collection.partition(".")
            base = bound.get(head, head)
            bound[variable] = f"{base}.{rest}.[]" if rest else f"{base}.[]"
        for path in _PATH.findall(expression):
            head, _, rest = path.partition(".")
            if head in bound:
                path = f"{bound[head]}.{rest}"
            if path.startswith(("object.", "variables.podSpec.")):
                found.add(path)
    return {p for p in found if not p.endswith((".all", ".exists", ".filter", ".matches", ".endsWith",
                                                ".startsWith"))} | {
        p.rsplit(".", 1)[0] for p in found if p.endswith((".matches", ".endsWith", ".startsWith"))}


NATIVE_RULES = ["MAAS-K8S-004", "MAAS-K8S-008", "MAAS-K8S-009", "MAAS-K8S-011", "MAAS-K8S-013", "MAAS-K8S-014",
                "MAAS-K8S-018", "MAAS-K8S-021", "MAAS-K8S-026", "MAAS-K8S-027"]


@pytest.mark.parametrize("rule", NATIVE_RULES)
def test_every_field_a_native_check_reads_exists_in_the_kubernetes_schema(rule):
    (check,) = [c for c in all_checks("prod") if c.rule == rule]
    paths = read_paths(check, variables=check.variables != admission.POD_VARIABLES)
    assert paths, f"{rule} reads no field"
    for kind in check.kinds:
        schema = native_schema(kind)
        pod_spec = POD_SPEC_OF.get(kind.kind, "spec.template.spec")
        if check.variables == admission.POD_VARIABLES:  # variables.podSpec: the kind's pod spec
            assert f"object.{pod_spec}" in check.variables[0][1] and schema_has(schema, pod_spec), kind.kind
        for path in paths:
            path = path.replace("variables.podSpec", f"object.{pod_spec}").removeprefix("object.")
            assert schema_has(schema, path), f"{rule}: {kind.kind} has no {path}"


def test_the_label_check_reads_labels_and_templates_that_exist():
    (check,) = [c for c in checks("dev") if c.rule == "MAAS-TAG-101"]
    paths = {p.removeprefix("object.") for p in read_paths(check)}
    assert "metadata.labels" in paths
    for kind in admission.WORKLOAD_KINDS:
        schema = native_schema(kind)
        for path in paths:
            in_kind = (path.startswith("spec.jobTemplate") == (kind.kind == "CronJob")
                       and (not path.startswith("spec.") or kind.kind != "Pod"))
            if in_kind:
                assert schema_has(schema, path), f"{kind.kind} has no {path}"


@pytest.mark.parametrize("rule", ["MAAS-K8S-019", "MAAS-K8S-020"])
def test_every_field_a_custom_resource_check_reads_is_in_a_schema_valid_object(rule):
    """The External Secrets schema is a TypeScript package (crd_models): every path the check reads
    occurs in a corpus object that crd_models judges valid (see the test above)."""
    (check,) = [c for c in checks("dev") if c.rule == rule]
    objects = [yaml.safe_load(p.read_text())["object"] for p in corpus()]
    (kind,) = check.kinds
    present: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                present.add(f"{prefix}.{key}")
                walk(value, f"{prefix}.{key}")
        elif isinstance(node, list):
            for value in node:
                walk(value, f"{prefix}.[]")

    for obj in objects:
        if obj["kind"] == kind.kind:
            walk(obj, "object")
    missing = read_paths(check) - present
    assert missing == set(), f"{rule} reads {sorted(missing)}, which no schema-valid {kind.kind} of the corpus has"
