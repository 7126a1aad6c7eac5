"""MAAS-K8S-041: where the platform requires it, agents' pods run their own repository's images by digest.

The policy's CEL is evaluated with cel-python as the API server would (test_admission's evaluator),
and the rule's Python check (``maas plan``, and at admission with the namespace's labels) gives the
same verdict on each request. The plan gate turns the rule on from ``maas:delivery`` or the
environment's default and knows the registry from the account, region and prefix.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Optional

import pytest

from maas_platform import names
from maas_platform.components.agent.egress import PROXY_IMAGE
from maas_platform.policy import Resource, assess, get_rule
from maas_platform.policy.core import Context
from maas_platform.policy.gate import own_registry
from maas_platform.policy.kubernetes import admission
from maas_platform.policy.kubernetes.registry import agent_registry, own_image
from test_admission import CORPUS_NAMESPACE_LABELS, CORPUS_PREFIX, PROBE_IMAGE, Request, admits, python_admits

RULE = "MAAS-K8S-041"
ACCOUNT, REGION = "123456789012", "us-east-1"
REGISTRY = agent_registry(ACCOUNT, REGION, CORPUS_PREFIX)
DIGEST = "@sha256:" + "ab" * 32
OWN = f"{REGISTRY}/triage{DIGEST}"
TRIAGE = dict(CORPUS_NAMESPACE_LABELS)  # namespace triage, agent triage
JOB_CONTROLLER = {"username": "system:serviceaccount:kube-system:replicaset-controller",
                  "groups": ["system:serviceaccounts", "system:authenticated"]}


def check() -> admission.Check:
    (found,) = [c for c in admission.checks("prod", {}, CORPUS_PREFIX, PROXY_IMAGE, PROBE_IMAGE, REGISTRY)
                if c.rule == RULE]
    return found


def verdict(request: Request) -> bool:
    cel = admits(check(), request)
    assert cel is not None, "the policy does not match the request"
    assert python_admits(check(), request, "prod", {}, CORPUS_PREFIX, REGISTRY) == cel, f"the CEL {'admits' if cel else 'denies'}, the Python rule does not"
    return cel


def pod(*images: str, init: tuple[str, ...] = (), ephemeral: tuple[str, ...] = (), app: str = "triage",
        namespace: str = "triage") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": image} for i, image in enumerate(init)]
    if ephemeral:
        spec["ephemeralContainers"] = [{"name": f"e{i}", "image": image} for i, image in enumerate(ephemeral)]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": namespace, "labels": {names.NAME_LABEL: app}}, "spec": spec}


def deployment(image: str) -> dict[str, Any]:
    template = pod(image)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "triage", "namespace": "triage", "labels": {names.AGENT_LABEL: "triage"}},
            "spec": {"selector": {"matchLabels": {names.NAME_LABEL: "triage"}},
                     "template": {"metadata": template["metadata"] | {"name": None}, "spec": template["spec"]}}}


def request(obj: Mapping[str, Any], labels: Optional[Mapping[str, str]] = None, **kwargs: Any) -> Request:
    return Request(obj, TRIAGE if labels is None else labels, **kwargs)


def test_the_agents_own_image_by_digest_is_admitted():
    assert verdict(request(pod(OWN)))
    assert verdict(request(deployment(OWN)))
    assert verdict(request(pod(OWN, init=(OWN,))))


@pytest.mark.parametrize("image", [
    f"{REGISTRY}/billing{DIGEST}",                                           # another agent's repository
    f"{REGISTRY}/triage:1.4.2",                                              # a tag
    f"{REGISTRY}/triage:1.4.2{DIGEST}",                                      # a tag in front of the digest
    f"ghcr.io/acme/triage-agent{DIGEST}",                                    # another registry
    f"210987654321.dkr.ecr.us-east-1.amazonaws.com/maas-dev/triage{DIGEST}",  # another account
    f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/maas-dev/triage{DIGEST}",     # another region
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/maas-prod/triage{DIGEST}",    # another environment's prefix
    f"{REGISTRY}/triage@sha256:" + "AB" * 32,                                # not a sha256 digest as written
    f"{REGISTRY}/triage{DIGEST}0",                                           # one character too many
    f"{REGISTRY}/triage/x{DIGEST}",                                          # a repository below the agent's
])
def test_any_other_image_is_refused(image):
    assert not verdict(request(pod(image)))
    assert not verdict(request(deployment(image)))


def test_init_and_ephemeral_containers_are_held_too():
    assert not verdict(request(pod(OWN, init=("busybox:1.37",))))
    debug = pod(OWN, ephemeral=("busybox:1.37",))
    # kubectl debug: an update of pods/ephemeralcontainers whose object is the Pod.
    assert not verdict(request(debug, operation="UPDATE"))


def test_controllers_pods_are_held_as_their_templates():
    """A Rollout's (or any controller's) pods: the kind is not matched, the pods are."""
    assert not verdict(request(pod("ghcr.io/acme/triage-agent:1.4.2"), requester=JOB_CONTROLLER))
    assert verdict(request(pod(OWN), requester=JOB_CONTROLLER))


def test_the_platforms_proxy_and_probe_pods_are_exempt_only_on_their_images():
    assert verdict(request(pod(PROXY_IMAGE, app=names.EGRESS_PROXY_NAME)))
    assert verdict(request(pod(PROBE_IMAGE, app=names.PROBE_APP)))
    assert not verdict(request(pod("ghcr.io/acme/anything:1", app=names.EGRESS_PROXY_NAME)))
    assert not verdict(request(pod(PROBE_IMAGE, app=names.EGRESS_PROXY_NAME)))
    assert not verdict(request(pod(PROBE_IMAGE, "ghcr.io/acme/sidecar:1", app=names.PROBE_APP)))


def test_the_repository_is_the_namespaces_agent_not_the_objects_label():
    billing = {**TRIAGE, names.AGENT_LABEL: "billing"}
    assert not verdict(request(pod(OWN), labels=billing))
    assert verdict(request(pod(f"{REGISTRY}/billing{DIGEST}"), labels=billing))


def test_the_check_exists_only_where_required_and_denies_there():
    assert RULE not in {c.rule for c in admission.checks("prod", {}, CORPUS_PREFIX, PROXY_IMAGE, PROBE_IMAGE)}
    assert admission.validation_actions(check(), "dev") == ["Deny"]
    assert admission.EPHEMERAL_CONTAINERS in check().kinds
    assert check().match_conditions == (), "controllers' and service accounts' requests are held too"


# -- the plan ------------------------------------------------------------------------------------------

def plan_verdict(obj: Mapping[str, Any], context: Context) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = Resource(type=f"kubernetes:{group or 'core'}/{version}:{obj['kind']}", name="triage", props=obj,
                        urn="urn:plan")
    outcome = assess(get_rule(RULE), [resource], context)
    return tuple(f.message if hasattr(f, "message") else str(f) for f in outcome.findings), outcome.not_evaluable


def test_the_plan_rule_binds_only_when_required():
    required = Context(environment="prod", require_own_registry=True, agent_registry=REGISTRY)
    assert plan_verdict(deployment(OWN), required) == ((), ())
    findings, _ = plan_verdict(deployment("ghcr.io/acme/triage-agent:1.4.2"), required)
    assert findings and "not the agent's own repository by digest" in findings[0]
    assert plan_verdict(deployment("ghcr.io/acme/triage-agent:1.4.2"), Context(environment="dev")) == ((), ())


def test_the_plan_rule_without_a_known_registry_is_not_evaluable():
    findings, unknown = plan_verdict(deployment(OWN), Context(environment="prod", require_own_registry=True))
    assert findings == () and len(unknown) == 1


def test_the_plan_exempts_the_platforms_pods_by_label_and_skips_non_agent_objects():
    required = Context(environment="prod", require_own_registry=True, agent_registry=REGISTRY)
    proxy = deployment(PROXY_IMAGE)
    proxy["spec"]["template"]["metadata"]["labels"][names.NAME_LABEL] = names.EGRESS_PROXY_NAME
    assert plan_verdict(proxy, required) == ((), ())
    platform = copy.deepcopy(deployment("postgres:16.15"))
    platform["metadata"]["labels"] = {}
    assert plan_verdict(platform, required) == ((), ())


@pytest.mark.parametrize("config, environment, required", [
    ({}, "prod", True), ({}, "staging", False), ({}, "dev", False),
    ({"maas:delivery": {"require_own_registry": True}}, "staging", True),
    ({"maas:delivery": '{"require_own_registry": true}'}, "dev", True),
])
def test_the_gate_reads_the_requirement_from_config_or_the_environment(config, environment, required):
    facts = own_registry({"maas:region": "eu-west-1", **config}, environment, None, ACCOUNT)
    assert facts["require_own_registry"] is required
    assert facts["agent_registry"] == f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/maas-{environment}"


def test_a_team_stack_uses_its_platforms_region_and_prefix():
    facts = own_registry({"maas:delivery": {"require_own_registry": False}}, "prod",
                         {"region": "us-west-2", "prefix": "maas-prod"}, ACCOUNT)
    assert facts == {"require_own_registry": True,
                     "agent_registry": f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/maas-prod"}


def test_the_repository_is_the_registry_engineers_name():
    assert f"{REGISTRY}/triage" == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{names.repository_name('maas-dev', 'triage')}"
    assert agent_registry(ACCOUNT, "cn-north-1", "maas-prod").startswith(f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/")
    assert own_image(OWN, f"{REGISTRY}/triage") and not own_image(f"{REGISTRY}/triage:1{DIGEST}", f"{REGISTRY}/triage")
