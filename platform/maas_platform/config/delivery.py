"""How an agent's new versions reach its users: the repository that builds its image, the canary
steps a new version goes through, and the platform's delivery settings (``maas:delivery``).

The agent's image lives in its own ECR repository, pushed and signed only by the CI role its
``delivery.source`` names; a new version rolls out in ``delivery.steps`` judged by the agent's SLOs
(docs/delivery.md).
"""

from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from .base import StrictModel, first_repeated

# GitHub's names: an owner is 1-39 letters, digits or single hyphens, not starting or ending with one;
# a repository 1-100 letters, digits, '.', '_' or '-' (and not '.' or '..').
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
# A branch or environment named exactly (the OIDC ``sub`` claim is matched with StringLike, where '*'
# and '?' are wildcards: a branch must be named, never matched). Git refuses '..', '~', '^', ':',
# spaces and a few more in ref names; ':' would also end the claim's field.
_EXACT_REF = re.compile(r"^(?!.*\.\.)(?!/)(?!.*//)(?!.*/$)[A-Za-z0-9._/-]{1,200}$")
# Tag patterns may end in '*' (v*, release-*); '?' and '*' elsewhere too, as StringLike reads them.
_TAG_PATTERN = re.compile(r"^(?!.*\.\.)[A-Za-z0-9._/*?-]{1,200}$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)


class SourceSpec(StrictModel):
    """The GitHub repository that builds the agent's image, and the refs whose workflow runs may
    push and sign it (the CI role's OIDC trust, docs/delivery.md). Protect those branches and tags
    in GitHub: the trust can only name them."""

    repository: str = Field(description="GitHub repository, owner/name (e.g. acme/triage-agent).")
    branches: list[str] = Field(
        default_factory=lambda: ["main"],
        description="Branches (named exactly, protected in GitHub) whose workflow runs may push. Default [main].")
    tags: list[str] = Field(
        default_factory=lambda: ["v*"],
        description="Tag patterns ('*' matches any characters; protect them with a tag rule in GitHub) whose "
                    "workflow runs may push. Default [v*].")
    environments: list[str] = Field(
        default_factory=list,
        description="GitHub environments whose jobs may push (a job that names an environment presents it instead "
                    "of its branch or tag). Default none.")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _GITHUB_REPOSITORY.match(value):
            raise ValueError(f"'{value}' is not a GitHub repository; write owner/name, e.g. acme/triage-agent")
        return value

    @field_validator("branches")
    @classmethod
    def _branches(cls, value: list[str]) -> list[str]:
        for branch in value:
            if not _EXACT_REF.match(branch):
                raise ValueError(f"'{branch}' is not a branch name (no '*', '?', ':', spaces or '..'): name each "
                                 "protected branch exactly")
        return _unique(value, "branch")

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not _TAG_PATTERN.match(tag) or tag.strip("*?") == "":
                raise ValueError(f"'{tag}' is not a tag pattern; write a prefix and '*', e.g. v*")
        return _unique(value, "tag")

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str]) -> list[str]:
        for environment in value:
            if not _ENVIRONMENT.match(environment):
                raise ValueError(f"'{environment}' is not a GitHub environment name (letters, digits, '.', '_', '-')")
        return _unique(value, "environment")

    @model_validator(mode="after")
    def _some_ref(self) -> "SourceSpec":
        if not (self.branches or self.tags or self.environments):
            raise ValueError("no branch, tag or environment may push: name at least one (e.g. branches: [main])")
        return self

    def subjects(self) -> list[str]:
        """The OIDC ``sub`` claims GitHub Actions presents for these refs (docs.github.com, "About security
        hardening with OpenID Connect", example subject claims), as StringLike patterns."""
        base = f"repo:{self.repository}"
        return ([f"{base}:ref:refs/heads/{branch}" for branch in self.branches]
                + [f"{base}:ref:refs/tags/{tag}" for tag in self.tags]
                + [f"{base}:environment:{environment}" for environment in self.environments])


def _unique(values: list[str], what: str) -> list[str]:
    repeated = first_repeated(values)
    if repeated is not None:
        raise ValueError(f"{what} '{repeated}' is listed twice")
    return values


class CanaryStep(StrictModel):
    """One step of a canary: send ``weight`` % of the traffic (or of the replicas) to the new
    version, then hold for ``pause_minutes`` while the analysis judges it."""

    weight: int = Field(ge=1, le=99, description="Share of traffic (ALB) or replicas on the new version, in %.")
    pause_minutes: int = Field(ge=1, le=1440, description="How long the step holds while the analysis runs.")


# Each environment's canary when an agent states no ``delivery.steps``: dev has no users to protect and
# rolls straight through; staging and prod hold long enough for the 5-minute ratios to see the new
# version (the analysis reads ``slo:sli_error:ratio_rate5m``).
CANARY_STEPS: dict[str, tuple[CanaryStep, ...]] = {
    "dev": (),
    "staging": (CanaryStep(weight=25, pause_minutes=10), CanaryStep(weight=50, pause_minutes=10)),
    "prod": (CanaryStep(weight=10, pause_minutes=10), CanaryStep(weight=25, pause_minutes=10),
             CanaryStep(weight=50, pause_minutes=15)),
}


class DeliverySpec(StrictModel):
    """How the agent's image is built and its new versions rolled out (docs/delivery.md)."""

    source: Optional[SourceSpec] = Field(
        None, description="The GitHub repository (and its protected branches and tags) whose workflow pushes and "
                          "signs the agent's image; its CI role may push to the agent's repository and nothing "
                          "else. Default none: the repository exists, nobody can push.")
    rollout: Literal["canary", "none"] = Field(
        "canary", description="canary (default): a Rollout moves traffic in steps judged by the agent's SLOs and rolls "
                              "back on burn; none: a plain Deployment with a rolling update.")
    change: Literal["feature", "fix"] = Field(
        "feature", description="What the release in `image` is, set with it: feature (default) waits for error budget "
                               "left; fix ships on a spent budget too (the canary's gate, docs/error-budgets.md).")
    steps: Optional[list[CanaryStep]] = Field(
        None, description="Canary steps, each {weight: %, pause_minutes}, weights increasing. Default: the "
                          "environment's (dev none, staging 25/50 %, prod 10/25/50 %).")
    keep_images: int = Field(
        20, ge=1, le=1000, description="Tagged images the repository keeps (older ones expire; untagged after a day).")

    @field_validator("steps")
    @classmethod
    def _increasing(cls, value: Optional[list[CanaryStep]]) -> Optional[list[CanaryStep]]:
        if value:
            weights = [step.weight for step in value]
            if any(later <= earlier for earlier, later in zip(weights, weights[1:])):
                raise ValueError(f"weights {weights} must increase step by step (the last step before 100 % is the "
                                 "largest)")
        return value

    @model_validator(mode="after")
    def _steps_need_canary(self) -> "DeliverySpec":
        if self.rollout == "none" and self.steps:
            raise ValueError("steps: a plain Deployment (rollout: none) has no canary steps; drop steps or use "
                             "rollout: canary")
        return self


def canary_steps(delivery: DeliverySpec, environment: str) -> tuple[CanaryStep, ...]:
    """The canary steps of an agent in ``environment``: its own, else the environment's (unknown: dev's)."""
    if delivery.steps is not None:
        return tuple(delivery.steps)
    return CANARY_STEPS.get(environment, CANARY_STEPS["dev"])


class DeliveryConfig(StrictModel):
    """``maas:delivery``: what the platform stack sets up for every agent's delivery."""

    github_oidc_provider_arn: Optional[str] = Field(
        None, description="The account's existing IAM OIDC provider for token.actions.githubusercontent.com (IAM keeps "
                          "one per URL and account: a second stack in the account reuses the first's). Default: this "
                          "stack creates it.")
    require_signatures: bool = Field(
        description="The cluster admits an agent's image only when signed by the agent's CI key (Kyverno). Default: "
                    "prod only.")
    require_own_registry: bool = Field(
        description="Agents run images from their own repository, pinned by digest (MAAS-K8S-041). Default: prod only.")
    registry_scanning: bool = Field(
        True, description="Turn on Amazon Inspector scanning of the agents' repositories (on push and continuously) "
                          "for this account; false where the account's security team manages it. Default true.")

    @field_validator("github_oidc_provider_arn")
    @classmethod
    def _provider(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not _OIDC_PROVIDER_ARN.match(value):
            raise ValueError(f"'{value}' is not an IAM OIDC provider for GitHub Actions; write "
                             "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com")
        return value
