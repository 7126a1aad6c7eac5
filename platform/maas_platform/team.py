"""Team stacks: what a product team's own Pulumi program needs besides :class:`AgentService`.

A team stack owns its agents in its own Pulumi project and reads the platform through a
``StackReference`` (``stacks/teams/example/`` is the worked example)::

    config = load_team_config()                          # maas:environment, name, region, account_id, platform_stack
    platform = pulumi.StackReference(config.platform_stack)
    refs = platform_refs(platform, config)               # PlatformRefs from the platform's outputs
    ...
    with user_errors():
        AgentService("intake", AgentServiceArgs(spec=agent_spec(name="intake", ...), platform=refs), opts=...)

Every mistake ends the program with a one-line ``pulumi.RunError`` that names the key, or
the agent and the field (``agent 'intake': storage: 'mongo' is not one of ...``): Pulumi
prints it without a traceback, and ``maas plan`` exits 2 with it.

Beyond each spec, the plan checks what spans stacks: an agent name the platform stack
deploys, a name declared twice in this program, an agent of another team than ``maas:team``
or not registered to it in the platform's ``maas:teams``, and a publisher the topic's
policy refuses (neither named in ``team_publishers`` nor of a team in ``publisher_teams``).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Annotated, Any, Iterator, Optional

import pulumi
from pulumi.runtime.sync_await import _sync_await
from pydantic import AfterValidator, Field, ValidationError

from .components.agent.service import program_run
from .components.contract import PlatformOutputs, PlatformRefs, refs_from_outputs
from .config.agents import AgentSpec
from .config.base import StrictModel
from .config.loader import ConfigError, format_validation_error, runtime_namespace_values, validate
from .config.models import DnsLabel, Environment, Region
from .config.policy import PolicyConfig

def _account_id(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise ValueError(f"'{value}' is not a 12-digit AWS account id; write it quoted, e.g. \"111122223333\"")
    return value


class TeamConfig(StrictModel):
    """The ``maas:`` namespace of a team stack's config."""

    environment: Environment = Field(description="Environment of the platform stack the agents join: dev, staging or prod.")
    name: DnsLabel = Field("maas", description="The platform's name; physical names are prefixed <name>-<environment>.")
    region: Region = Field(description="AWS region of the platform stack.")
    account_id: Optional[Annotated[str, AfterValidator(_account_id)]] = Field(
        None,
        description="The only AWS account this stack may touch, 12 digits quoted. Default: the platform's account_id output.",
    )
    platform_stack: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$",
        description="Fully qualified name of the platform stack, <org>/<project>/<stack> (e.g. acme/maas/dev).",
    )
    team: Optional[DnsLabel] = Field(
        None,
        description="The team whose agents this stack deploys; required when the platform stack registers teams "
                    "(maas:teams). Every agent's team must be this one, and the platform must register the agent to it.",
    )
    policy: PolicyConfig = Field(
        PolicyConfig(), description="Policy enforcement levels and exemptions of the plan gate and the CrossGuard pack (docs/policies.md).",
    )

    @property
    def prefix(self) -> str:
        return f"{self.name}-{self.environment}"


def load_team_config() -> TeamConfig:
    """Inside a Pulumi program: validate the stack's ``maas:`` namespace into a :class:`TeamConfig`."""
    with user_errors():
        return validate(TeamConfig, runtime_namespace_values())


def platform_outputs(reference: pulumi.StackReference) -> dict[str, Any]:
    """The referenced stack's outputs as plain values, secrets included.

    A StackReference is a read, so its outputs are known under ``pulumi preview`` too; this
    waits for them the way the SDK waits for a synchronous invoke (``_sync_await``).
    """
    return dict(_sync_await(reference.outputs.future()) or {})


def platform_refs(reference: pulumi.StackReference, config: TeamConfig) -> PlatformRefs:
    """:class:`PlatformRefs` from the platform stack's outputs, after checking the team config agrees.

    The outputs are parsed into :class:`~maas_platform.components.contract.PlatformOutputs`, the model the
    platform exports them with: one that does not parse stops the program with one line naming the
    output and the platform stack. ``AccountContext`` builds ARNs and policies from plain strings,
    so the account id is resolved now: ``maas:account_id`` when set, else the platform's
    ``account_id`` output. Tags, ingress class, budget notifications, data protection and the
    broker's settings are the platform's, so team agents look and behave like platform agents.
    """
    stack = config.platform_stack
    outputs = PlatformOutputs.parse(platform_outputs(reference), stack)
    for key, mine in (("environment", config.environment), ("region", config.region), ("prefix", config.prefix)):
        theirs = getattr(outputs, key)
        if theirs != mine:
            what = "name" if key == "prefix" else key  # the prefix is <name>-<environment>
            raise pulumi.RunError(
                f"maas:{what}: this stack's {key} is '{mine}' but platform stack '{stack}' has '{theirs}'; they must match"
            )
    account_id = config.account_id or outputs.account_id
    if outputs.account_id != account_id:
        raise pulumi.RunError(
            f"maas:account_id: '{account_id}' but platform stack '{stack}' is in account '{outputs.account_id}'"
        )
    registered = ", ".join(sorted(outputs.teams))
    if outputs.teams and config.team is None:
        raise pulumi.RunError(
            f"maas:team: required: platform stack '{stack}' registers teams ({registered}); name this stack's team"
        )
    if outputs.teams and config.team not in outputs.teams:
        raise pulumi.RunError(
            f"maas:team: '{config.team}' is not a team of platform stack '{stack}' ({registered}); "
            "register it in maas:teams there"
        )
    # AgentService checks every agent of this program against the stack's team and names the stack.
    run = program_run()
    run.platform_stack, run.team = stack, config.team
    return refs_from_outputs(outputs, reference, account_id=account_id)


def agent_spec(**fields: Any) -> AgentSpec:
    """An :class:`AgentSpec` from keyword fields; a mistake is a one-line ``RunError`` naming agent and field."""
    try:
        return AgentSpec.model_validate(fields)
    except ValidationError as error:
        name = fields.get("name")
        who = f"agent '{name}'" if isinstance(name, str) and name else "an agent without a valid name"
        raise pulumi.RunError(f"{who}: {format_validation_error(error, root='', data=fields).lstrip(': ')}") from None


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn configuration mistakes raised in the block into one-line ``pulumi.RunError``.

    Wrap the agent declarations in it: ``AgentService`` raises :class:`ConfigError` for
    problems only the environment reveals (a name too long under the prefix, IRSA without
    the cluster's OIDC provider).
    """
    try:
        yield
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    except ValidationError as error:
        raise pulumi.RunError(f"{error.title}: {format_validation_error(error, root='').lstrip(': ')}") from None
