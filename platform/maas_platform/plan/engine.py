"""Run a Pulumi program under the SDK's mock engine and capture what it registers.

The program is the real one (``stacks/__main__.py`` or a team stack's), executed with
its stack config exactly as ``pulumi up`` would hand it over, against
:class:`~maas_platform.plan.fake_cloud.FakeCloud`. The monitor records every
``RegisterResource`` request as the engine acts on it: parent, dependencies, provider,
protect flag and inputs (camelCase, as the engine sees them), after the transforms the
engine runs (``ResourceOptions.transforms``, stack and invoke transforms), which the SDK's
mock monitor only records.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import inspect
import json
import logging
import os
import runpy
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Callable, Iterator, Optional

import pulumi
from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message
from pulumi.runtime import mocks, settings
from pulumi.runtime._callbacks import _CallbackServicer
from pulumi.runtime.proto import alias_pb2, resource_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from .. import names
from ..config.loader import ConfigError
from ..markers import SECRET, UNKNOWN_VALUE
from . import checked
from .fake_cloud import CALL_SITE, FakeCloud, UnknownStackReference, UnsupportedDataSource
from ..wire import ARCHIVE_SIG, ASSET_SIG, OUTPUT_SIG, RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN, clean, unwrap

# The plan's markers and the wire format are read from the engine that produces them.
__all__ = [
    "ARCHIVE_SIG", "ASSET_SIG", "OUTPUT_SIG", "RESOURCE_SIG", "SECRET", "SECRET_SIG", "SIG_KEY", "UNKNOWN",
    "UNKNOWN_VALUE", "Capture", "CapturingMonitor", "OnRegister", "ProgramError", "ProgramFailure", "Registration",
    "TransformRefused", "clean",
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
    # Secret inputs whose plain text is a credential the program wrote ({"path", "kind"}), and the
    # resource hooks it binds (:mod:`.checked`).
    written_credentials: list[dict[str, str]] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


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


# --- Transforms, run as the engine runs them -------------------------------------------------------
# ``pulumi up`` applies what a program's transforms return; the SDK's mock monitor records them
# and runs none (pulumi/runtime/mocks.py: ``MockResourceArgs.transforms``, ``RegisterStackTransform``),
# so without this a transform could switch a control off unseen. The order, what a transform is
# handed and what the engine keeps of its answer follow pulumi/pulumi
# pkg/resource/deploy/source_eval.go at commit 1b5949891b3cefcb9974752b24a5ecef0acc86c8
# (2026-08-21; checked 2026-12-02): ``resmon.RegisterResource`` runs the resource's own
# transforms, then those declared on its parent, its parent's parent... up to the stack, then the
# stack transforms registered so far, each on what the previous one returned; a transform answers
# properties and options, either absent meaning unchanged (``wrapTransformCallback``);
# ``resmon.Invoke`` runs the stack invoke transforms on every invoke's args and options. A
# transform cannot change a resource's type, name, parent or custom flag (``TransformResponse``
# holds properties and options only). Each runs through the SDK's own callback code, as the
# engine calls it over gRPC, so its arguments and result are (de)serialized as in ``pulumi up``.
#
# Options the plan records from the transformed request: ``protect``, ``provider``, ``depends_on``
# and ``aliases``. The rest (``ignore_changes``, ``retain_on_delete``, ``custom_timeouts``...) are
# applied to the request as the engine applies them and change nothing a rule judges. Refused:
# options that change which code runs beyond the program, which the offline plan cannot run or
# judge: resource hooks and the provider plugin's source (version, download URL, checksums).
_REFUSED_OPTIONS = {
    "hooks": "resource hooks, which run code at deployment the offline plan cannot run",
    "version": "the provider plugin's version, which the offline plan does not model",
    "plugin_download_url": "the provider plugin's download URL, a plugin the offline plan cannot judge",
    "plugin_checksums": "the provider plugin's checksums, a plugin the offline plan cannot judge",
}


# How long a transform may take: nothing it awaits offline is slow, so one that does not answer
# waits on something that never comes, and the plan says so rather than hanging.
_TRANSFORM_SECONDS = 120


class TransformRefused(RuntimeError):
    """A transform the offline plan cannot run, or whose answer it cannot judge: the plan stops
    (exit 3) naming the transform's ``file:line`` rather than judging something else than
    ``pulumi up`` would deploy."""

    def __init__(self, message: str, function: Optional[Callable] = None):
        super().__init__(message)
        self.message = message
        self.filename: Optional[str] = None
        self.line: Optional[int] = None
        try:
            target = inspect.unwrap(function) if function is not None else None
            if target is not None:
                self.filename = inspect.getsourcefile(target)
                self.line = inspect.getsourcelines(target)[1]
        except (OSError, TypeError):
            pass


@dataclass(frozen=True)
class _Transform:
    """One transform callback the program registered with the SDK's callback server."""

    token: str
    servicer: Any  # the SDK's _CallbackServicer that holds it
    function: Optional[Callable]  # the program's function, for its file:line

    @staticmethod
    def of(token: str) -> "_Transform":
        for servicer in list(_CallbackServicer._servicers):
            if token in servicer._callbacks:
                function = next((fn for fn, held in servicer._transforms.items() if held == token), None)
                return _Transform(token, servicer, function)
        raise TransformRefused(f"a transform (callback {token}) is served outside this program; "
                               "the offline plan cannot run it")

    def __call__(self, request: Message) -> Any:
        """Run the transform on the program's event loop, as the engine's gRPC call would, and
        wait for its answer (the monitor is called from an executor thread, never the loop)."""
        loop = self.servicer._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise TransformRefused("a transform was reached from the program's own event loop; the offline "
                                   "plan cannot run it there", self.function)
        callback = self.servicer._callbacks[self.token]
        answer = asyncio.run_coroutine_threadsafe(callback(request.SerializeToString()), loop)
        try:
            return answer.result(timeout=_TRANSFORM_SECONDS)
        except concurrent.futures.TimeoutError:
            answer.cancel()
            raise TransformRefused(f"a transform did not answer within {_TRANSFORM_SECONDS} s offline (does it wait "
                                   "on a resource registered after the one it transforms?)", self.function) from None

    def refuse_changes(self, before: Message, after: Message, what: str) -> None:
        """Stop when the transform sets an option the offline plan cannot honour."""
        for option, reason in _REFUSED_OPTIONS.items():
            if option not in after.DESCRIPTOR.fields_by_name:
                continue
            new, old = getattr(after, option), getattr(before, option)
            if new != old and (after.HasField(option) if option == "hooks" else bool(new)):
                raise TransformRefused(f"a transform sets {option} on {what}: {reason}; remove it from "
                                       "the transform", self.function)


def _to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


def _to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _as_output_values(value: Any) -> Any:
    """Secrets and unknowns as output values, as the engine reads a registration's inputs
    (``plugin.MarshalOptions.UpgradeToOutputValues``): what a transform is handed."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return {SIG_KEY: OUTPUT_SIG, "secret": True, "value": value.get("value")}
        if sig in (OUTPUT_SIG, RESOURCE_SIG, ASSET_SIG, ARCHIVE_SIG):
            return value
        return {key: _as_output_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_output_values(item) for item in value]
    if value == UNKNOWN:
        return {SIG_KEY: OUTPUT_SIG}
    return value


def _with_dependencies(props: dict[str, Any], request) -> dict[str, Any]:
    """Each input computed from other resources as an output value carrying their URNs, as the
    engine hands it to the resource's own transforms (``upgradeOutputValues``); without property
    dependencies on the request, every input depends on all its dependencies."""
    if request.propertyDependencies or request.remote:
        deps = {key: list(entry.urns) for key, entry in request.propertyDependencies.items()}
    else:
        deps = {key: list(request.dependencies) for key in props}
    upgraded = {}
    for key, value in props.items():
        wanted = deps.get(key) or []
        if wanted and not set(wanted) <= _output_dependencies(value):
            if isinstance(value, dict) and value.get(SIG_KEY) == OUTPUT_SIG:
                value = {**value, "dependencies": sorted(set(value.get("dependencies") or []) | set(wanted))}
            else:
                value = {SIG_KEY: OUTPUT_SIG, "value": value, "dependencies": sorted(set(wanted))}
        upgraded[key] = value
    return upgraded


def _output_dependencies(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = set(value.get("dependencies") or []) if value.get(SIG_KEY) == OUTPUT_SIG else set()
        for item in value.values():
            found |= _output_dependencies(item)
        return found
    if isinstance(value, list):
        return set().union(*(_output_dependencies(item) for item in value)) if value else set()
    return set()


def _plain(value: Any) -> Any:
    """Output values back to what the SDK sends without them: the value, a secret, or unknown."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == OUTPUT_SIG:
            inner = _plain(value["value"]) if "value" in value else UNKNOWN
            return {SIG_KEY: SECRET_SIG, "value": inner} if value.get("secret") else inner
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _resource_options(request) -> resource_pb2.TransformResourceOptions:
    """The options a transform is handed: the request's, as ``resmon.RegisterResource`` builds them."""
    aliases = [alias_pb2.Alias(urn=urn) for urn in request.aliasURNs] + list(request.aliases)
    options = resource_pb2.TransformResourceOptions(
        depends_on=list(request.dependencies), ignore_changes=list(request.ignoreChanges),
        replace_on_changes=list(request.replaceOnChanges), version=request.version, aliases=aliases,
        provider=request.provider, providers=dict(request.providers), plugin_download_url=request.pluginDownloadURL,
        deleted_with=request.deletedWith, replace_with=list(request.replace_with),
        additional_secret_outputs=list(request.additionalSecretOutputs),
        plugin_checksums=dict(request.pluginChecksums), hide_diff=list(request.hideDiffs),
    )
    setattr(options, "import", request.importId)
    for option, field_name in (("protect", "protect"), ("retain_on_delete", "retainOnDelete"),
                               ("custom_timeouts", "customTimeouts"), ("hooks", "hooks"),
                               ("replacement_trigger", "replacement_trigger")):
        if request.HasField(field_name):
            target = getattr(request, field_name)
            if isinstance(target, Message):
                getattr(options, option).CopyFrom(target)
            else:
                setattr(options, option, target)
    if request.deleteBeforeReplaceDefined or request.deleteBeforeReplace:
        options.delete_before_replace = request.deleteBeforeReplace
    return options


def _transformed_request(request, props: dict[str, Any], options: resource_pb2.TransformResourceOptions):
    """The registration the engine goes on with: the transformed inputs and options. Dependencies
    are recomputed only when the resource declares transforms of its own, from the options'
    ``depends_on`` and the output values left in its inputs, as ``resmon.RegisterResource`` does."""
    new = resource_pb2.RegisterResourceRequest()
    new.CopyFrom(request)
    new.object.CopyFrom(_to_struct(_plain(props)))
    if request.transforms:
        per_key = {key: sorted(_output_dependencies(value)) for key, value in props.items()}
        new.ClearField("dependencies")
        new.dependencies.extend(sorted(set(options.depends_on).union(*per_key.values())))
        new.ClearField("propertyDependencies")
        for key, urns in per_key.items():
            new.propertyDependencies[key].urns.extend(urns)
    for field_name, option in (("ignoreChanges", "ignore_changes"), ("replaceOnChanges", "replace_on_changes"),
                               ("additionalSecretOutputs", "additional_secret_outputs"),
                               ("replace_with", "replace_with"), ("hideDiffs", "hide_diff")):
        new.ClearField(field_name)
        getattr(new, field_name).extend(getattr(options, option))
    new.ClearField("aliasURNs")
    new.ClearField("aliases")
    new.aliases.extend(options.aliases)
    for field_name, option in (("providers", "providers"), ("pluginChecksums", "plugin_checksums")):
        new.ClearField(field_name)
        getattr(new, field_name).update(dict(getattr(options, option)))
    new.version, new.provider, new.pluginDownloadURL = options.version, options.provider, options.plugin_download_url
    new.deletedWith, new.importId = options.deleted_with, getattr(options, "import")
    for field_name, option in (("protect", "protect"), ("retainOnDelete", "retain_on_delete"),
                               ("customTimeouts", "custom_timeouts"), ("hooks", "hooks"),
                               ("replacement_trigger", "replacement_trigger")):
        new.ClearField(field_name)
        if options.HasField(option):
            value = getattr(options, option)
            if isinstance(value, Message):
                getattr(new, field_name).CopyFrom(value)
            else:
                setattr(new, field_name, value)
    new.deleteBeforeReplaceDefined = options.HasField("delete_before_replace")
    new.deleteBeforeReplace = options.delete_before_replace
    return new


class CapturingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, recording each registration as the engine would see it."""

    def __init__(self, cloud: FakeCloud, on_register: Optional[OnRegister] = None):
        super().__init__(cloud)
        self.capture = Capture()
        self.on_register = on_register
        # What the engine keeps to run transforms: each resource's parent and its own transforms
        # (by URN), and the stack's resource and invoke transforms, in registration order.
        self._parents: dict[str, str] = {}
        self._own_transforms: dict[str, list[str]] = {}
        self._stack_transforms_tokens: list[str] = []
        self._invoke_transforms_tokens: list[str] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine builds them: the parent's full qualified type, none for the stack's children."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != names.STACK:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if request.type != names.STACK:
            request = self._transformed(request)
        response = super().RegisterResource(request)
        if request.type == names.STACK:
            return response
        self._parents[response.urn] = request.parent
        self._own_transforms[response.urn] = [callback.token for callback in request.transforms]
        inputs = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        cleaned = clean(inputs)
        if request.custom and checked.autonamed_kubernetes(request.type, cleaned):
            # Policies judge the inputs the provider's Check returned: with its auto-name (.checked).
            name = checked.kubernetes_name(json_format.MessageToDict(response.object))
            if name is not None:
                cleaned["metadata"] = {**(cleaned.get("metadata") or {}), "name": name}
        computed = frozenset(key for key, deps in request.propertyDependencies.items() if deps.urns)
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
            written_credentials=checked.written_credentials(inputs, computed),
            hooks=checked.bound_hooks(request),
        )
        self.capture.resources.append(registration)
        if self.on_register is not None:
            self.on_register(registration)
        return response

    def RegisterStackTransform(self, request):  # noqa: N802
        self._stack_transforms_tokens.append(request.token)
        return super().RegisterStackTransform(request)

    def RegisterStackInvokeTransform(self, request):  # noqa: N802
        self._invoke_transforms_tokens.append(request.token)
        return super().RegisterStackInvokeTransform(request)

    def Invoke(self, request):  # noqa: N802
        """An invoke after the stack invoke transforms, as ``resmon.Invoke`` runs them."""
        tokens = list(self._invoke_transforms_tokens)
        if not tokens:
            return super().Invoke(request)
        args = request.args
        options = resource_pb2.TransformInvokeOptions(
            provider=request.provider, version=request.version, plugin_download_url=request.pluginDownloadURL,
            plugin_checksums=dict(request.pluginChecksums))
        for token in tokens:
            transform = _Transform.of(token)
            answer = transform(resource_pb2.TransformInvokeRequest(token=request.tok, args=args, options=options))
            if answer.HasField("options"):
                transform.refuse_changes(options, answer.options, f"the invoke of {request.tok}")
                options = answer.options
            if answer.HasField("args"):
                args = answer.args
        new = resource_pb2.ResourceInvokeRequest()
        new.CopyFrom(request)
        new.args.CopyFrom(args)
        new.provider, new.version, new.pluginDownloadURL = options.provider, options.version, options.plugin_download_url
        new.ClearField("pluginChecksums")
        new.pluginChecksums.update(dict(options.plugin_checksums))
        return super().Invoke(new)

    def _transformed(self, request):
        """``request`` after its transforms: its own, its ancestors' (nearest first), then the
        stack's registered so far; unchanged when there are none."""
        tokens = [callback.token for callback in request.transforms]
        current = request.parent
        while current:
            tokens += self._own_transforms.get(current, [])
            current = self._parents.get(current, "")
        tokens += list(self._stack_transforms_tokens)
        if not tokens:
            return request
        props = _as_output_values(_to_dict(request.object))
        if request.transforms:
            props = _with_dependencies(props, request)
        options = _resource_options(request)
        what = f"{request.type} '{request.name}'"
        for token in tokens:
            transform = _Transform.of(token)
            answer = transform(resource_pb2.TransformRequest(
                type=request.type, name=request.name, parent=request.parent, custom=request.custom,
                properties=_to_struct(props), options=options))
            if answer.HasField("options"):
                transform.refuse_changes(options, answer.options, what)
                options = answer.options
            if answer.HasField("properties"):
                props = _to_dict(answer.properties)
        return _transformed_request(request, props, options)

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


class ProgramFailure(RuntimeError):
    """The program itself failed: it raised an exception (in its body, a callback given to
    ``apply`` or a component), did not compile, or called a data source the offline plan
    cannot answer. ``where`` is ``file:line`` in the program's own files (relative to the
    working directory) where it failed, or its entry file when no frame of it is known;
    ``details`` the full traceback, for ``--debug``."""

    def __init__(self, message: str, *, where: str, kind: str = "", details: str = "", registered: int = 0):
        self.where, self.kind, self.message, self.details, self.registered = where, kind, message, details, registered
        super().__init__(f"{where}: {kind}: {message}" if kind else f"{where}: {message}")


def _relative(path: Path, base: Optional[Path] = None) -> str:
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


class _ProgramFiles:
    """Which source files are the program's own: under its directory, outside any virtualenv."""

    def __init__(self, directory: Path, base: Path):
        self.directory = directory.resolve()
        self.base = base  # files are named relative to it: the working directory of ``maas plan``

    def owns(self, filename: str) -> bool:
        path = Path(filename)
        if not path.is_absolute() or "site-packages" in path.parts or ".venv" in path.parts:
            return False
        return path.is_relative_to(self.directory)

    def where(self, filename: str, line: Optional[int]) -> str:
        return f"{_relative(Path(filename), self.base)}:{line}" if line else _relative(Path(filename), self.base)

    def innermost_frame(self, frame: Optional[FrameType]) -> Optional[str]:
        """``file:line`` of the innermost frame of the program on a live stack (``frame`` outwards)."""
        while frame is not None:
            if self.owns(frame.f_code.co_filename):
                return self.where(frame.f_code.co_filename, frame.f_lineno)
            frame = frame.f_back
        return None

    def innermost_in(self, tb: Optional[TracebackType]) -> Optional[str]:
        """``file:line`` of the innermost frame of the program in a traceback."""
        found = None
        while tb is not None:
            if self.owns(tb.tb_frame.f_code.co_filename):
                found = self.where(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
            tb = tb.tb_next
        return found


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, then what caused it (``raise ... from``) or was being handled when it was raised."""
    seen: set[int] = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _failure(error: BaseException, files: _ProgramFiles, entry: Path, registered: int) -> ProgramFailure:
    """The one-line account of ``error``: where in the program it happened, its type and message."""
    _reported(error)
    details = "".join(traceback.format_exception(error))
    for cause in _chain(error):
        if isinstance(cause, UnsupportedDataSource):
            return ProgramFailure(cause.message, where=cause.site or _relative(entry), details=details,
                                  registered=registered)
    for cause in _chain(error):
        if isinstance(cause, SyntaxError) and cause.filename:  # IndentationError and TabError too
            return ProgramFailure(str(cause.msg), where=files.where(cause.filename, cause.lineno),
                                  kind=type(cause).__name__, details=details, registered=registered)
    for cause in _chain(error):
        where = files.innermost_in(cause.__traceback__)
        if where is not None:
            return ProgramFailure(_one_line(cause), where=where, kind=type(cause).__name__, details=details,
                                  registered=registered)
    return ProgramFailure(_one_line(error), where=_relative(entry), kind=type(error).__name__, details=details,
                          registered=registered)


def _in_program(error: BaseException, files: _ProgramFiles) -> Optional[ConfigError]:
    """A ``RunError`` that locates a mistake in the program (``filename``, ``line``, ``message``:
    ``maas_platform.team.ProgramMistake``) is a configuration error at that line of the program,
    named from the working directory, not one of the stack's config file."""
    filename, line, message = (getattr(error, key, None) for key in ("filename", "line", "message"))
    if not isinstance(filename, str) or not isinstance(message, str):
        return None
    return ConfigError(f"{files.where(filename, line if isinstance(line, int) else None)}: {message}")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or "(no message)"


# The SDK's invoke entry points, as generated provider SDKs call them (``pulumi.runtime.invoke(...)``).
_INVOKES = ("invoke", "invoke_single", "invoke_output", "invoke_output_single")


def _track_call_sites(files: _ProgramFiles) -> Callable[[], None]:
    """Wrap the SDK's invoke functions so each invoke carries the program's line that made it
    (:data:`~.fake_cloud.CALL_SITE`): a data source the fake cloud cannot answer is then
    reported where the program called it, also for the output form, answered later.
    Returns what restores the SDK's own functions."""
    runtime = pulumi.runtime
    originals = {name: getattr(runtime, name) for name in (*_INVOKES, "invoke_async")}

    def tracked(original: Callable) -> Callable:
        def invoke(*args: Any, **kwargs: Any) -> Any:
            token = CALL_SITE.set(files.innermost_frame(sys._getframe(1)))
            try:
                return original(*args, **kwargs)
            finally:
                CALL_SITE.reset(token)
        return invoke

    def tracked_async(original: Callable) -> Callable:
        async def invoke_async(*args: Any, **kwargs: Any) -> Any:
            token = CALL_SITE.set(files.innermost_frame(sys._getframe(1)))
            try:
                return await original(*args, **kwargs)
            finally:
                CALL_SITE.reset(token)
        return invoke_async

    for name in _INVOKES:
        setattr(runtime, name, tracked(originals[name]))
    runtime.invoke_async = tracked_async(originals["invoke_async"])

    def restore() -> None:
        for name, original in originals.items():
            setattr(runtime, name, original)

    return restore


class _Unretrieved(logging.Handler):
    """An exception asyncio reports only when a failed task or future is collected ("Task
    exception was never retrieved"): the program failed, though nothing awaited the failure."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        # Not a failure an earlier plan in this process reported, whose future is collected only now.
        if error is not None and not getattr(error, _REPORTED, False):
            self.errors.append(error)


# Set on each exception of a chain a plan has reported, so a later plan in the same process does
# not take it for its own when asyncio reports the future that held it.
_REPORTED = "_maas_plan_reported"


def _reported(error: BaseException) -> BaseException:
    for cause in _chain(error):
        try:
            setattr(cause, _REPORTED, True)
        except AttributeError:  # an exception type with __slots__
            pass
    return error


def _drop_pending() -> None:
    """Forget the finished outputs an earlier plan in this process left in the SDK's
    ``SETTINGS.outputs`` (one that failed leaves them there, and the next ``run_in_stack`` would
    await them and take their failure for its own). That plan reported their failures: they are
    marked retrieved. Outputs still running are left alone."""
    with settings.SETTINGS.lock:
        finished = [task for task in settings.SETTINGS.outputs if task.done()]
        for task in finished:
            settings.SETTINGS.outputs.remove(task)
    for task in finished:
        if not task.cancelled():
            task.exception()


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
    _drop_pending()
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
    files = _ProgramFiles(entry.parent, Path.cwd())
    restore_invokes = _track_call_sites(files)
    unretrieved = _Unretrieved()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(unretrieved)
    try:
        _sync_await(run_in_stack(main))
        gc.collect()  # failed futures nobody awaited report themselves when collected
    except pulumi.RunError as error:
        _reported(error)
        raise _in_program(error, files) or ProgramError(str(error), registered=len(monitor.capture.resources)) from None
    except Exception as error:  # noqa: BLE001 (whatever the program raised is reported as its failure)
        _reported(error)
        # Mistakes the platform's own code reports, and a StackReference nobody supplied, keep their one line.
        for cause in _chain(error):
            if isinstance(cause, TransformRefused):
                _reported(error)
                where = files.where(cause.filename, cause.line) if cause.filename else _relative(entry)
                raise ProgramFailure(cause.message, where=where, details="".join(traceback.format_exception(error)),
                                     registered=len(monitor.capture.resources)) from error
        for cause in _chain(error):
            if isinstance(cause, (ConfigError, UnknownStackReference, pulumi.RunError)):
                if isinstance(cause, pulumi.RunError):
                    raise _in_program(cause, files) or ProgramError(str(cause), registered=len(monitor.capture.resources)) from None
                raise cause from None
        raise _failure(error, files, entry, len(monitor.capture.resources)) from error
    finally:
        asyncio_logger.removeHandler(unretrieved)
        restore_invokes()
        pulumi.runtime.set_all_config({}, [])
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    if unretrieved.errors:
        raise _failure(unretrieved.errors[0], files, entry, len(monitor.capture.resources))
    monitor.capture.resources.sort(key=lambda r: r.urn)
    return monitor.capture
