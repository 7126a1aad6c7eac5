"""Run a Pulumi program under the SDK's mock engine and capture what it registers.

The program is the real one (``stacks/__main__.py`` or a team stack's), executed with
its stack config exactly as ``pulumi up`` would hand it over, against
:class:`~maas_platform.plan.fake_cloud.FakeCloud`. The monitor records every
``RegisterResource`` request as the engine receives it: parent, dependencies, provider,
protect flag and inputs (camelCase, as the engine sees them).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from .. import names
from ..markers import SECRET, UNKNOWN_VALUE
from .fake_cloud import FakeCloud
from ..wire import ARCHIVE_SIG, ASSET_SIG, OUTPUT_SIG, RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN, clean, unwrap

# The plan's markers and the wire format are read from the engine that produces them.
__all__ = [
    "ARCHIVE_SIG", "ASSET_SIG", "OUTPUT_SIG", "RESOURCE_SIG", "SECRET", "SECRET_SIG", "SIG_KEY", "UNKNOWN",
    "UNKNOWN_VALUE", "Capture", "CapturingMonitor", "OnRegister", "ProgramError", "Registration", "clean",
    "run_program", "unwrap",
]


@dataclass
class Registration:
    """One ``RegisterResource`` request as the monitor records it (the plan's record of it is
    :class:`~.model.PlannedResource`)."""

    urn: str
    type: str
    name: str
    parent: Optional[str]
    custom: bool
    provider: Optional[str]
    protect: bool
    dependencies: list[str]
    inputs: dict[str, Any]
    # The URNs this resource had before (``ResourceOptions.aliases``), as the engine computes them.
    aliases: list[str] = field(default_factory=list)
    # The URNs each input was computed from (``RegisterResourceRequest.propertyDependencies``).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    # The fake cloud's answer: the id, and what the state holds beyond the inputs (ARN, auto-name).
    id: Optional[str] = None
    outputs: dict[str, Any] = field(default_factory=dict)
    remote: bool = False  # a multi-language component (``RegisterResourceRequest.remote``)


@dataclass
class Capture:
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # cleaned: secrets masked
    raw_outputs: dict[str, Any] = field(default_factory=dict)  # as the engine received them (wire form)
    warnings: list[str] = field(default_factory=list)  # what the program logged with pulumi.log.warn


# Called once per recorded registration, as it happens: what a progress display counts.
OnRegister = Callable[[Registration], None]


class _Collect(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(level=logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.into.append(record.getMessage())


def _collecting_logger(into: list[str]) -> logging.Logger:
    """What the program logs as a warning (``pulumi.log.warn``) lands in ``into``, not on stderr."""
    logger = logging.getLogger(f"maas.plan.{id(into)}")
    logger.handlers = [_Collect(into)]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    return logger


class CapturingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, recording each registration as the engine would see it."""

    def __init__(self, cloud: FakeCloud, on_register: Optional[OnRegister] = None):
        super().__init__(cloud)
        self.capture = Capture()
        self.on_register = on_register

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine builds them: the parent's full qualified type, none for the stack's children."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != names.STACK:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == names.STACK:
            return response
        inputs = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        cleaned = clean(inputs)
        provider = request.provider.split("::")
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            provider="::".join(provider[:-1]) if len(provider) > 1 else None,
            protect=bool(getattr(request, "protect", False)),
            dependencies=sorted(set(request.dependencies)),
            inputs=cleaned,
            aliases=self._alias_urns(request),
            property_dependencies={key: sorted(set(deps.urns)) for key, deps in request.propertyDependencies.items()
                                   if deps.urns},
            id=(response.id or None) if request.custom else None,
            outputs=_beyond(cleaned, response.object) if request.custom else {},
            remote=bool(getattr(request, "remote", False)),
        )
        self.capture.resources.append(registration)
        if self.on_register is not None:
            self.on_register(registration)
        return response

    def _alias_urns(self, request) -> list[str]:
        """The old URNs a registration names, as the engine resolves alias specs: each field of
        a spec defaults to the resource's own name, type and parent (``noParent`` means none)."""
        urns = []
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                urns.append(alias.urn)
                continue
            spec = alias.spec
            if spec.noParent:
                parent = ""
            elif spec.parentUrn:
                parent = spec.parentUrn
            else:
                parent = request.parent
            urns.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return sorted(set(urns))

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.split("::")[2] == names.STACK:
            self.capture.raw_outputs = json_format.MessageToDict(request.outputs)
            self.capture.outputs = clean(self.capture.raw_outputs)
        return super().RegisterResourceOutputs(request)


# What the fake cloud computes that the program does not set, and rules never pair by.
_NOT_REFERENCES = frozenset({"tagsAll"})


def _beyond(inputs: dict[str, Any], state) -> dict[str, Any]:
    """The top-level values of a resource's state that its inputs do not hold (the ARN, a name
    Pulumi generated): what other resources may refer to it by."""
    keys = [key for key in state.keys() if key not in inputs and key not in _NOT_REFERENCES and key != "id"]
    if not keys:
        return {}
    answered = json_format.MessageToDict(state)
    return {key: clean(answered[key]) for key in sorted(keys) if key in answered}


class ProgramError(RuntimeError):
    """The program stopped with a message meant for the user (``pulumi.RunError``)."""

    def __init__(self, message: str, registered: int):
        super().__init__(message)
        self.registered = registered  # resources registered before the program stopped


def _wire_config(config: dict[str, Any]) -> dict[str, str]:
    """Config as the Pulumi CLI hands it to a program: objects as JSON, scalars as text."""
    wired = {}
    for key, value in config.items():
        if isinstance(value, (dict, list)):
            wired[key] = json.dumps(value)
        elif isinstance(value, bool):
            wired[key] = "true" if value else "false"
        else:
            wired[key] = str(value)
    return wired


def run_program(
    program: Path,
    *,
    project: str,
    stack: str,
    config: dict[str, Any],
    secret_keys: Optional[list[str]] = None,
    cloud: FakeCloud,
    on_register: Optional[OnRegister] = None,
) -> Capture:
    """Execute ``program`` (a directory with ``__main__.py`` or a file) under mocks.

    ``on_register`` hears of each resource as the program registers it; the total is not
    known before the program has run, so a caller can show a count, not a fraction.
    """
    entry = (program / "__main__.py" if program.is_dir() else program).resolve()
    monitor = CapturingMonitor(cloud, on_register)
    pulumi.runtime.set_mocks(cloud, project=project, stack=stack, preview=False, monitor=monitor,
                             logger=_collecting_logger(monitor.capture.warnings))
    pulumi.runtime.set_all_config(_wire_config(config), secret_keys or [])
    settings.ROOT.set(None)

    def main() -> None:
        sys.path.insert(0, str(entry.parent))
        cwd = os.getcwd()
        os.chdir(entry.parent)
        try:
            runpy.run_path(str(entry), run_name="__main__")
        finally:
            os.chdir(cwd)
            sys.path.remove(str(entry.parent))

    # Registering a resource allocates thousands of short-lived objects; with the imported SDK
    # frozen out of collections and far fewer collections, a big plan runs about half
    # the time (docs/scale.md). Both are restored afterwards.
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(500_000, 1000, 1000)
    try:
        _sync_await(run_in_stack(main))
    except pulumi.RunError as error:
        raise ProgramError(str(error), registered=len(monitor.capture.resources)) from None
    finally:
        pulumi.runtime.set_all_config({}, [])
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    monitor.capture.resources.sort(key=lambda r: r.urn)
    return monitor.capture
