"""Team stacks: what a product team's own Pulumi program needs besides :class:`AgentService`.

A team stack owns its agents in its own Pulumi project and reads the platform through a
``StackReference`` (``stacks/teams/example/`` is the worked example)::

    config = load_team_config()                          # maas:environment, name, region, account_id, platform_stack
    platform = pulumi.StackReference(config.platform_stack)
    refs = platform_refs(platform, config)               # PlatformRefs from the platform's outputs
    ...
    intake = agent_service(agent_spec(name="intake", ...), refs, opts=...)  # the component is named "intake"

Every mistake ends the program with a one-line ``pulumi.RunError`` that names the key, or
the agent and the field: Pulumi prints it without a traceback, and ``maas plan`` exits 2 with
it. A mistake in the program's own call names the program's file and line, where the fix goes
(``__main__.py:62: agent 'summarizer': storage.kind: 'mongo' is not one of ...``), not the stack's
config file.

Beyond each spec, the plan checks what spans stacks: an agent name the platform stack
deploys, a name declared twice in this program, an agent of another team than ``maas:team``
or not registered to it in the platform's ``maas:teams``, and a publisher the topic's
policy refuses (neither named in ``team_publishers`` nor of a team in ``publisher_teams``).
"""

from __future__ import annotations

import ast
import os
import re
import sys
import sysconfig
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import FrameType, TracebackType
from typing import Annotated, Any, Iterator, Optional

import pulumi
from pulumi.runtime.sync_await import _sync_await
from pydantic import AfterValidator, Field, ValidationError

from .components.agent.service import AgentService, AgentServiceArgs, program_run
from .components.contract import PlatformOutputs, PlatformRefs, refs_from_outputs
from .components.flows import FlowSLOs, flow_args, flows_output
from .config.agents import AgentSpec
from .config.base import StrictModel
from .config.flows import FlowSpec, flows_problem
from .config.loader import ConfigError, format_validation_error, runtime_namespace_values, validate
from .config.models import DnsLabel, Environment, Region, RetirementConfig
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
    retirement: Optional[RetirementConfig] = Field(
        None,
        description="Retention of this stack's retired agents' data before delete_data is accepted. "
                    "Default: the environment's (dev 7, staging 30, prod 90 days).",
    )
    flows: list[FlowSpec] = Field(
        default_factory=list,
        description="Flows among this stack's own agents, through the platform's topics, with end-to-end objectives "
                    "(docs/slos.md); the program builds them with team_flows. Default: none.",
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
    run.retention_days = config.retirement.retention_days if config.retirement else None
    return refs_from_outputs(outputs, reference, account_id=account_id)


def team_flows(config: TeamConfig, platform: PlatformRefs, *agents: AgentService,
               opts: Optional[pulumi.ResourceOptions] = None) -> dict[str, dict[str, Any]]:
    """The flows of ``maas:flows`` among ``agents`` (the program's AgentServices): each flow's
    SLO rules and dashboard (:class:`~maas_platform.components.flows.FlowSLOs`, named
    ``flow-<name>``), and the stack's ``flows`` output; ``{}`` and nothing built without flows.

    A flow passes only this stack's agents, through the platform's topics, each hop published by
    the agent before and subscribed by the hop's agent; a mistake is one ``RunError`` line naming
    ``maas:flows[i].<field>``. ``opts`` carries the Kubernetes provider; the objects of a flow
    live in its entry agent's namespace and wait for it.
    """
    specs = [agent.spec for agent in agents]
    elsewhere = {name: "the platform stack" for name in platform.taken_names}
    elsewhere.update({name: f"team '{team}'" for team, names_ in platform.teams.items() for name in names_
                      if team != config.team})
    problem = flows_problem(config.flows, specs, sorted(platform.messaging.topics), elsewhere=elsewhere,
                            agents_key="the program's agents", topics_key="the platform's maas:broker.topics")
    if problem:
        raise pulumi.RunError(f"maas:{problem}")
    by_name = {agent.spec.name: agent for agent in agents}
    flows = {flow.name: FlowSLOs(f"flow-{flow.name}", flow_args(flow, by_name, runbook_base=platform.runbook_base),
                                 opts=opts)
             for flow in config.flows}
    return flows_output(flows)


def agents_output(*agents: Any) -> dict[str, dict[str, Any]]:
    """The ``agents`` output of a team stack: each AgentService's namespace, lifecycle and role
    (None once retired), as the platform stack exports its own agents."""
    return {
        agent.spec.name: {
            "namespace": agent.spec.namespace,
            "lifecycle": agent.lifecycle,
            "role_arn": agent.role.arn if agent.role is not None else None,
        }
        for agent in agents
    }


class ProgramMistake(pulumi.RunError):
    """A mistake in the team program's own code, located where the fix goes: ``file:line: message``.

    ``filename`` is absolute; the message names it relative to the working directory (the
    project's, under ``pulumi up``). ``maas plan`` names it relative to where it runs
    (``stacks/teams/example/__main__.py:62``) and as a configuration error, not the stack file's.
    """

    def __init__(self, message: str, filename: str, line: int):
        self.message, self.filename, self.line = message, filename, line
        super().__init__(f"{_shown(filename)}:{line}: {message}")


def _shown(filename: str) -> str:
    try:
        return os.path.relpath(filename)
    except ValueError:  # another drive
        return filename


_PACKAGE = Path(__file__).resolve().parent
_LIBRARIES = {Path(path).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")
              if (path := sysconfig.get_paths().get(key))}


def _is_program_file(filename: str) -> bool:
    """A file of the team's program: not this package, not the standard library, not an installed one."""
    if filename.startswith("<"):
        return False
    path = Path(filename).resolve()
    return not any(path.is_relative_to(library) for library in (_PACKAGE, *_LIBRARIES)) \
        and "site-packages" not in path.parts


def _program_site(frame: Optional[FrameType]) -> Optional[tuple[str, int]]:
    """The innermost frame of the program on a live stack, from ``frame`` outwards."""
    while frame is not None:
        if _is_program_file(frame.f_code.co_filename):
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return None


def _program_site_in(tb: Optional[TracebackType]) -> Optional[tuple[str, int]]:
    """The innermost frame of the program in a traceback (its call that failed)."""
    found = None
    while tb is not None:
        if _is_program_file(tb.tb_frame.f_code.co_filename):
            found = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return found


@lru_cache(maxsize=32)
def _calls(filename: str, mtime: float) -> tuple[ast.Call, ...]:
    try:
        tree = ast.parse(Path(filename).read_text(), filename)
    except (OSError, SyntaxError, ValueError):
        return ()
    return tuple(node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _keyword_line(filename: str, line: int, function: str, keyword: str) -> int:
    """The line of ``keyword=`` in the call of ``function`` made on ``line``, else ``line``: an
    error in ``storage`` then points at ``storage="mongo"``, not at ``agent_spec(``."""
    try:
        calls = _calls(filename, os.path.getmtime(filename))
    except OSError:
        return line
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
        if name == function and call.lineno <= line <= (call.end_lineno or call.lineno):
            for given in call.keywords:
                if given.arg == keyword:
                    return given.value.lineno
    return line


def _located(message: str, site: Optional[tuple[str, int]]) -> pulumi.RunError:
    return ProgramMistake(message, *site) if site else pulumi.RunError(message)


def agent_spec(**fields: Any) -> AgentSpec:
    """An :class:`AgentSpec` from keyword fields; a mistake is a one-line ``RunError`` naming the
    program's line of the field at fault, the agent and the field."""
    try:
        return AgentSpec.model_validate(fields)
    except ValidationError as error:
        name = fields.get("name")
        who = f"agent '{name}'" if isinstance(name, str) and name else "an agent without a valid name"
        site = _program_site(sys._getframe(1))
        problems = error.errors(include_url=False)
        if site and problems and problems[0]["loc"] and isinstance(problems[0]["loc"][0], str):
            site = site[0], _keyword_line(site[0], site[1], "agent_spec", str(problems[0]["loc"][0]))
        detail = format_validation_error(error, root="", data=fields, model=AgentSpec).lstrip(": ")
        raise _located(f"{who}: {detail}", site) from None


def agent_service(spec: AgentSpec, platform: PlatformRefs,
                  opts: Optional[pulumi.ResourceOptions] = None) -> AgentService:
    """The :class:`AgentService` of ``spec``, named after the agent: the name is written once.

    The component's name is ``spec.name``, as a team stack has always named it
    (``AgentService("intake", ...spec=agent_spec(name="intake", ...))``), so its URNs, and those
    of everything below it, do not change. Mistakes name the program's line of this call.
    """
    with user_errors():
        return AgentService(spec.name, AgentServiceArgs(spec=spec, platform=platform), opts=opts)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn configuration mistakes raised in the block into one-line ``pulumi.RunError``, naming
    the program's file and line of the call that failed.

    Wrap the agent declarations in it: ``AgentService`` raises :class:`ConfigError` for
    problems only the environment reveals (a name too long under the prefix, IRSA without
    the cluster's OIDC provider, a topic the platform does not declare).
    """
    try:
        yield
    except ConfigError as error:
        raise _located(str(error), _site_of(error)) from None
    except ValidationError as error:
        detail = format_validation_error(error, root="").lstrip(": ")
        raise _located(f"{error.title}: {detail}", _site_of(error)) from None


def _site_of(error: BaseException) -> Optional[tuple[str, int]]:
    """Where the program made the call that raised ``error``: in its traceback when the error
    crossed the program's code, else on the live stack (a block inside :func:`agent_service`)."""
    return _program_site_in(error.__traceback__) or _program_site(sys._getframe(1))
