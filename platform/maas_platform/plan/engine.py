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

from ..markers import SECRET, UNKNOWN_VALUE  # the plan's markers, re-exported
from .fake_cloud import FakeCloud

# Sentinels of Pulumi's wire format.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def clean(value: Any) -> Any:
    """Wire values -> plain JSON: secrets masked, references by URN, integral floats as ints."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return SECRET
        if sig == RESOURCE_SIG:
            return value.get("urn")
        if sig == OUTPUT_SIG:
            if value.get("secret"):
                return SECRET
            return clean(value["value"]) if "value" in value else UNKNOWN_VALUE
        if sig in (ASSET_SIG, ARCHIVE_SIG):
            return {k: v for k, v in value.items() if k in ("path", "uri", "text") and not isinstance(v, dict)}
        return {k: clean(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN:
        return UNKNOWN_VALUE
    return value


def unwrap(value: Any) -> tuple[Any, bool]:
    """Wire values -> plain values another program can read, and whether a secret was inside.

    Like :func:`clean`, but secrets keep their value. A value not known yet becomes
    ``"[unknown]"``, as in the plan JSON: the engine's own unknown sentinel would reach a
    reading program as a missing output, so the marker is what shows where it flows.
    """
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return unwrap(value.get("value"))[0], True
        if sig == OUTPUT_SIG:
            inner, secret = unwrap(value["value"]) if "value" in value else (UNKNOWN_VALUE, False)
            return inner, secret or bool(value.get("secret"))
        if sig in (RESOURCE_SIG, ASSET_SIG, ARCHIVE_SIG):
            return clean(value), False
        pairs = {k: unwrap(v) for k, v in sorted(value.items())}
        return {k: v for k, (v, _) in pairs.items()}, any(secret for _, secret in pairs.values())
    if isinstance(value, list):
        items = [unwrap(v) for v in value]
        return [v for v, _ in items], any(secret for _, secret in items)
    return clean(value), False


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    custom: bool
    provider: Optional[str]
    protect: bool
    dependencies: list[str]
    inputs: dict[str, Any]


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
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
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
            inputs=clean(inputs),
        )
        self.capture.resources.append(registration)
        if self.on_register is not None:
            self.on_register(registration)
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.capture.raw_outputs = json_format.MessageToDict(request.outputs)
            self.capture.outputs = clean(self.capture.raw_outputs)
        return super().RegisterResourceOutputs(request)


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
