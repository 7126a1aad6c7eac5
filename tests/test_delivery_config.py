"""``delivery`` of an agent and ``maas:delivery``: where an agent's image comes from and how its new
versions roll out. Each mistake is one line naming the key and the fix, exit 2."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from maas_platform.config import parse_platform_config
from maas_platform.config.delivery import CANARY_STEPS, DeliverySpec, SourceSpec, canary_steps
from test_config import assert_one_line_error, build, config_error, maas_plan, write_stack


def delivery(agent: str, value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(values: dict[str, Any]) -> None:
        next(a for a in values["agents"] if a["name"] == agent)["delivery"] = value
    return change


def index(name: str) -> int:
    return [a["name"] for a in build("dev")["agents"]].index(name)


@pytest.mark.parametrize("value, line", [
    ({"source": {"repository": "triage-agent"}},
     "delivery.source.repository (agent 'triage'): 'triage-agent' is not a GitHub repository; write owner/name, e.g. acme/triage-agent"),
    ({"source": {"repository": "acme/triage-agent", "branches": ["release/*"]}},
     "delivery.source.branches (agent 'triage'): 'release/*' is not a branch name (no '*', '?', ':', spaces or '..'): name each "
     "protected branch exactly"),
    ({"source": {"repository": "acme/triage-agent", "tags": ["*"]}},
     "delivery.source.tags (agent 'triage'): '*' is not a tag pattern; write a prefix and '*', e.g. v*"),
    ({"source": {"repository": "acme/triage-agent", "branches": [], "tags": []}},
     "delivery.source (agent 'triage'): no branch, tag or environment may push: name at least one (e.g. branches: [main])"),
    ({"source": {"repository": "acme/triage-agent", "branches": ["main", "main"]}},
     "delivery.source.branches (agent 'triage'): branch 'main' is listed twice"),
    ({"steps": [{"weight": 50, "pause_minutes": 5}, {"weight": 25, "pause_minutes": 5}]},
     "delivery.steps (agent 'triage'): weights [50, 25] must increase step by step (the last step before 100 % is the largest)"),
    ({"steps": [{"weight": 100, "pause_minutes": 5}]},
     "delivery.steps[0].weight (agent 'triage'): Input should be less than or equal to 99"),
    ({"rollout": "none", "steps": [{"weight": 10, "pause_minutes": 5}]},
     "delivery.steps (agent 'triage'): a plain Deployment (rollout: none) has no canary steps; drop steps or use "
     "rollout: canary"),
    ({"rollout": "blue-green"}, "delivery.rollout (agent 'triage'): Input should be 'canary' or 'none'"),
], ids=["repository-form", "branch-wildcard", "tag-everything", "no-ref", "branch-twice", "weights-decrease",
        "weight-100", "steps-without-canary", "unknown-strategy"])
def test_a_bad_delivery_is_one_line_naming_its_key(value, line):
    assert config_error(build("dev", delivery("triage", value))) == f"maas:agents[{index('triage')}].{line}"


@pytest.mark.parametrize("rule", ["require_signatures", "require_own_registry"])
def test_prod_cannot_run_unsigned_or_foreign_images(rule):
    values = build("prod")
    values["delivery"] = {rule: False}
    assert rule in config_error(values) and "prod runs only its agents' own signed images" in config_error(values)


def test_signatures_and_own_registry_bind_in_prod_only():
    for env, required in (("dev", False), ("staging", False), ("prod", True)):
        config = parse_platform_config(build(env))
        assert (config.delivery.require_signatures, config.delivery.require_own_registry) == (required, required)
        assert config.delivery.registry_scanning and config.delivery.github_oidc_provider_arn is None


def test_another_provider_than_githubs_is_refused():
    values = build("dev")
    values["delivery"] = {"github_oidc_provider_arn": "arn:aws:iam::111122223333:oidc-provider/gitlab.com"}
    assert "is not an IAM OIDC provider for GitHub Actions" in config_error(values)


def test_every_dev_agent_names_the_repository_that_builds_it():
    config = parse_platform_config(build("dev"))
    assert {a.name: a.delivery.source.repository for a in config.agents} == {
        "triage": "acme/triage-agent", "research": "acme/research-agent", "reports": "acme/report-agent"}


def test_the_oidc_subjects_name_the_repository_and_each_ref():
    source = SourceSpec(repository="acme/triage-agent", branches=["main"], tags=["v*"], environments=["prod"])
    assert source.subjects() == ["repo:acme/triage-agent:ref:refs/heads/main", "repo:acme/triage-agent:ref:refs/tags/v*",
                                 "repo:acme/triage-agent:environment:prod"]


def test_canary_steps_default_by_environment_and_an_agents_own_win():
    assert canary_steps(DeliverySpec(), "dev") == ()  # no users to protect: straight through
    assert [s.weight for s in canary_steps(DeliverySpec(), "prod")] == [10, 25, 50]
    assert [s.weight for s in canary_steps(DeliverySpec(), "staging")] == [25, 50]
    own = DeliverySpec.model_validate({"steps": [{"weight": 5, "pause_minutes": 30}]})
    assert [(s.weight, s.pause_minutes) for s in canary_steps(own, "prod")] == [(5, 30)]
    assert canary_steps(DeliverySpec.model_validate({"steps": []}), "prod") == ()
    for steps in CANARY_STEPS.values():  # the defaults obey the agents' own rule
        DeliverySpec.model_validate({"steps": [s.model_dump() for s in steps]})


def test_cli_refuses_a_bad_source_with_one_line_exit_2(tmp_path):
    path = write_stack(tmp_path / "Pulumi.bad.yaml", "dev", delivery("reports", {"source": {"repository": "x"}}))
    assert_one_line_error(maas_plan("--config-file", str(path)), f"maas:agents[{index('reports')}].delivery.source.repository (agent 'reports'): 'x' is not")
