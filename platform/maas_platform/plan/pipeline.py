"""The offline plan's pipeline: run the program, price it, gate it.

:func:`plan_project` runs a stack's program under the mock engine (:mod:`.engine`) against
the fake cloud, turns what it registered into a :class:`~.model.Plan`, prices it (:mod:`..cost`),
then runs the policy gate over it (:mod:`..policy.gate`). Readers of a plan (exports, report, ``maas verify``) take
the :class:`~.model.Plan` this returns, or one read back from its JSON.

A stack that reads another stack through a ``StackReference`` (a team stack reading its
platform stack, named by ``maas:platform_stack``) is planned against that stack's outputs,
taken in this order:

1. ``stack_outputs`` given by the caller (``name -> StackOutputs``);
2. ``platform_outputs``: a JSON file of output name -> value (e.g. from
   ``pulumi stack output --json --show-secrets``) for the ``maas:platform_stack``;
3. otherwise the platform stack is planned offline first: its project is ``platform_dir``, or
   the nearest directory above the team project whose ``Pulumi.yaml`` is the project the
   reference names (``org/<project>/stack``); its stack file is ``Pulumi.<stack>.yaml`` of
   the referenced stack, or ``Pulumi.<maas:environment>.yaml`` when there is none.

A reference to any other stack stops the plan with a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from ..config.loader import ConfigError, is_secure, read_stack_file, stack_name_from_file
from ..cost import estimate
from ..markers import SECRET
from ..policy.gate import checked_policy_config, gate, resolved
from .engine import Capture, OnRegister, ProgramError, run_program
from .fake_cloud import FAKE_ACCOUNT_ID, FakeCloud, UnknownStackReference
from .model import Plan, PlannedResource, StackOutputs

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Project:
    """A Pulumi project on disk (``Pulumi.yaml``)."""

    root: Path
    name: str
    main: Path
    stack_config_dir: Path

    @classmethod
    def load(cls, root: Path) -> "Project":
        path = root / "Pulumi.yaml"
        if not path.is_file():
            raise ConfigError(f"no Pulumi.yaml in {root}; run from a Pulumi project or pass --project-dir")
        document = yaml.safe_load(path.read_text()) or {}
        name = document.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}: 'name' is required")
        return cls(
            root=root,
            name=name,
            main=root / document.get("main", "."),
            stack_config_dir=root / document.get("stackConfigDir", "."),
        )

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


def load_stack_config(path: Path) -> tuple[dict[str, Any], list[str]]:
    """A stack file's config as the CLI hands it to the program, and its secret keys.

    Encrypted values cannot be read offline: they reach the program as ``[secret]``.
    """
    config = read_stack_file(path)
    secrets = sorted(k for k, v in config.items() if is_secure(v))
    return {k: (SECRET if is_secure(v) else _dates_as_text(v)) for k, v in config.items()}, secrets


def _dates_as_text(value: Any) -> Any:
    """``value`` with YAML dates (``expires: 2027-03-01``) as the text the Pulumi CLI hands a program.

    The CLI reads stack files with go-yaml (pulumi sdk/go/common/encoding/marshal.go,
    ``yamlMarshaler``), whose v3 decoder keeps a timestamp-like scalar a string when decoding
    into an ``interface{}`` (decode.go ``d.scalar``, "for backward compatibility reasons we set
    it as a string"; both checked on 2026-12-02, go-yaml v3.0.1 as vendored by kubernetes), and
    object values reach the program as JSON.
    """
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value


def plan_project(
    project_dir: Path,
    stack: Optional[str] = None,
    config_file: Optional[Path] = None,
    *,
    platform_dir: Optional[Path] = None,
    platform_outputs: Optional[Path] = None,
    stack_outputs: Optional[dict[str, StackOutputs]] = None,
    usage: Optional[Path] = None,
    on_register: Optional[OnRegister] = None,
    today: Optional[datetime.date] = None,
    _planning: tuple[str, ...] = (),
    _account_id: Optional[str] = None,
) -> Plan:
    """Plan one stack of the project in ``project_dir`` offline.

    ``platform_dir``, ``platform_outputs`` and ``stack_outputs`` answer the program's
    ``StackReference`` to its platform stack (see the module docstring for the order).
    ``usage`` is the usage-assumptions file of the cost estimate (default: the shipped one).
    ``on_register`` is called with each resource as the program registers it, the platform
    stack's first when that is planned too (a registration's URN names its stack). ``today``:
    the date exemptions and loosenings expire against (default: the current date).
    """
    project = Project.load(project_dir)
    if config_file is not None:
        stack = stack or stack_name_from_file(config_file)
        if not stack:
            raise ConfigError(f"{config_file}: cannot tell the stack name; name the file Pulumi.<stack>.yaml or pass --stack")
    elif stack:
        config_file = project.stack_file(stack)
    else:
        raise ConfigError("name the stack: --stack NAME (reads stacks/Pulumi.NAME.yaml) or --config-file PATH")
    config, secrets = load_stack_config(config_file)
    source = _relative(config_file)
    checked_policy_config(config, source)  # a wrong maas:policy stops the plan before anything is planned
    stacks = dict(stack_outputs or {})
    platform_stack = config.get("maas:platform_stack")
    if platform_outputs is not None and not platform_stack:
        raise ConfigError(f"--platform-outputs: {source} sets no maas:platform_stack, so no StackReference reads them")
    if platform_stack and platform_stack not in stacks:
        if not isinstance(platform_stack, str):
            raise ConfigError("maas:platform_stack: expected the platform stack's name, e.g. acme/maas/dev", source)
        if platform_outputs is not None:
            stacks[platform_stack] = read_outputs_file(platform_outputs)
        else:
            stacks[platform_stack] = _plan_referenced_stack(
                platform_stack, project, platform_dir, config, source, _planning + (str(project.root.resolve()),),
                on_register, today,
            )
    # The fake account answers in the stack's region, as the account the stack names (if any),
    # else as the account of the platform stack it reads, else as the caller's (``_account_id``).
    region = str(config.get("maas:region") or config.get("aws:region") or DEFAULT_REGION)
    platform_account = stacks[platform_stack].values.get("account_id") if platform_stack in stacks else None
    if not isinstance(platform_account, str):
        platform_account = None
    account = str(config.get("maas:account_id") or platform_account or _account_id or FAKE_ACCOUNT_ID)
    environment = config.get("maas:environment")
    environment = environment if isinstance(environment, str) else stack
    platform = stacks[platform_stack].values if platform_stack else None
    # maas:policy's mistakes (a bare loosening, an expiry too far ahead) stop the plan before the program runs.
    resolved(config, environment, source, today=today, platform=platform)
    cloud = FakeCloud(region=region, account_id=account, stacks=stacks)
    try:
        capture = run_program(
            project.main, project=project.name, stack=stack, config=config, secret_keys=secrets, cloud=cloud,
            on_register=on_register,
        )
    except ProgramError as error:
        raise ConfigError(str(error), source) from None
    except UnknownStackReference as error:
        hint = "; set maas:platform_stack to it (planned offline from its project) or pass --platform-outputs FILE"
        raise ConfigError(error.message + hint, source) from None
    plan = plan_from_capture(project.name, stack, capture,
                             stack_references={name: stacks[name].source for name in cloud.stacks_read})
    plan = dataclasses.replace(plan, cost=estimate(plan, region=region, environment=environment, usage=usage))
    # A team stack is gated under its platform's policy and environment (policy.gate).
    # The account rules compare against is one the configuration names (this stack's, its platform's,
    # or the team stack's that planned this one); the fake cloud's stand-in account is no fact about it.
    known_account = config.get("maas:account_id") or platform_account or _account_id
    found = gate(plan, config, environment, source, today=today, platform=platform,
                 account_id=str(known_account) if known_account else None)
    return dataclasses.replace(plan, violations=list(found.violations), exempted=list(found.exempted),
                               not_evaluable=list(found.not_evaluable))


def platform_outputs_of(
    project_dir: Path, config: dict[str, Any], source: str, *, platform_dir: Optional[Path] = None,
    platform_outputs: Optional[Path] = None,
) -> Optional[StackOutputs]:
    """The outputs of the platform stack a team stack's config names (``maas:platform_stack``),
    found as :func:`plan_project` finds them; None for a stack that names none."""
    platform_stack = config.get("maas:platform_stack")
    if not platform_stack:
        return None
    if not isinstance(platform_stack, str):
        raise ConfigError("maas:platform_stack: expected the platform stack's name, e.g. acme/maas/dev", source)
    if platform_outputs is not None:
        return read_outputs_file(platform_outputs)
    project = Project.load(project_dir)
    return _plan_referenced_stack(platform_stack, project, platform_dir, config, source, (str(project.root.resolve()),))


def plan_from_capture(project: str, stack: str, capture: Capture,
                      stack_references: Optional[dict[str, str]] = None) -> Plan:
    """The plan of what a program registered, before it is priced and gated. ``stack_references``:
    the stacks the program read (name -> where their outputs came from)."""
    resources = [
        PlannedResource(
            urn=r.urn, type=r.type, name=r.name, parent=r.parent, dependencies=tuple(r.dependencies),
            inputs=r.inputs, custom=r.custom, provider=r.provider, protect=r.protect, aliases=tuple(r.aliases),
            property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()}, id=r.id,
            outputs=r.outputs, remote=r.remote, written_credentials=tuple(r.written_credentials),
            hooks=tuple(r.hooks),
        )
        for r in capture.resources
    ]
    return Plan(project=project, stack=stack, resources=resources, outputs=capture.outputs,
                raw_outputs=capture.raw_outputs, stack_references=dict(stack_references or {}),
                warnings=list(capture.warnings))


def read_outputs_file(path: Path) -> StackOutputs:
    """A JSON object of stack output name -> value (``pulumi stack output --json --show-secrets``).

    Values written as ``"[secret]"`` (the output was shown without ``--show-secrets``) are
    read as secrets.
    """
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--platform-outputs: file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--platform-outputs: {path} is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not document:
        raise ConfigError(f"--platform-outputs: {path} must be a JSON object of output name -> value")
    secrets = frozenset(name for name, value in document.items() if value == SECRET)
    return StackOutputs(values=document, secret_names=secrets, source=f"outputs file {_relative(path)}")


def _plan_referenced_stack(
    reference: str, team: Project, platform_dir: Optional[Path], config: dict[str, Any], source: str,
    planning: tuple[str, ...], on_register: Optional[OnRegister] = None, today: Optional[datetime.date] = None,
) -> StackOutputs:
    """Plan the stack ``reference`` names offline and return its outputs.

    A platform stack that pins no account is planned in the account the team stack pins
    (its credentials' account), so the two agree offline as they would in the cloud.
    """
    environment = config.get("maas:environment")
    parts = reference.split("/")
    wanted = parts[-2] if len(parts) == 3 else None  # org/project/stack names the project
    platform = Project.load(platform_dir) if platform_dir is not None else _find_project(team.root, wanted, reference, source)
    if str(platform.root.resolve()) in planning:
        raise ConfigError(f"maas:platform_stack: '{reference}' leads back to a project already being planned", source)
    names = [parts[-1]] + ([environment] if isinstance(environment, str) and environment != parts[-1] else [])
    files = [platform.stack_file(name) for name in names]
    stack_file = next((f for f in files if f.is_file()), None)
    if stack_file is None:
        tried = " or ".join(_relative(f) for f in files)
        raise ConfigError(
            f"maas:platform_stack: no stack file for '{reference}' ({tried}); pass --platform-outputs FILE", source
        )
    account = config.get("maas:account_id")
    plan = plan_project(
        platform.root, config_file=stack_file, on_register=on_register, today=today, _planning=planning,
        _account_id=str(account) if account else None,
    )
    return plan.stack_outputs(source=f"offline plan of {_relative(stack_file)}")


def _find_project(start: Path, name: Optional[str], reference: str, source: str) -> Project:
    """The nearest project above ``start`` called ``name`` (any project when ``name`` is None)."""
    for directory in start.resolve().parents:
        if (directory / "Pulumi.yaml").is_file():
            project = Project.load(directory)
            if name is None or project.name == name:
                return project
    which = f"project '{name}'" if name else "Pulumi project"
    raise ConfigError(
        f"maas:platform_stack: no {which} above {_relative(start)} to plan '{reference}' from; "
        "pass --platform-dir DIR or --platform-outputs FILE",
        source,
    )


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
