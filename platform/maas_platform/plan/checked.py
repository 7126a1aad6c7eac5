"""What the engine knows of a registration that its recorded inputs do not show.

Three facts the mock monitor sees and a rule needs, kept apart from :mod:`.engine` (which
records registrations) because each is a judgement of its own:

* **Checked inputs.** ``pulumi up`` hands policies the inputs the provider's ``Check`` returned,
  not the program's: pulumi/pulumi ``pkg/resource/deploy/step_generator.go`` (commit
  1b5949891b, read 2026-12-02) sets ``inputs = resp.Properties`` after ``checkInputs`` and then
  runs ``sg.analyzeAll(ctx, analyzers, new, inputs, goal)``. pulumi-kubernetes' ``Check`` gives
  an object without ``metadata.name`` its auto-name (``provider/pkg/metadata/naming.go``
  ``AssignNameIfAutonamable``, v4.32.0: ``<logical name>-<random suffix>``), so an object written
  the normal Pulumi way is judged, and paired with what refers to it, by that name.
  :func:`kubernetes_name` answers it; the fake cloud assigns it.
* **Secrets written in the program.** The SDK marks some inputs secret whatever the program
  passes (a Kubernetes Secret's ``stringData``, an SSM parameter's ``value``), and the plan masks
  them. Offline, a stack's encrypted config reaches the program as ``"[secret]"``, so a secret
  input with plain text that no other resource computed (a generated password, a key another
  resource issued) was written in the program, or in plain stack config: it sits in the
  repository whatever the state does with it. :func:`written_credentials` names the input and
  what it holds (a detector's kind of credential, else "a value its provider keeps secret"),
  never the value.
* **Resource hooks** (``ResourceOptions.hooks``) run the program's code at deployment, which the
  offline plan cannot run or judge: :func:`bound_hooks` names the hooks a registration binds.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Optional

from .. import credentials
from ..markers import SECRET, UNKNOWN_VALUE
from ..wire import SECRET_SIG, SIG_KEY, UNKNOWN

# Kubernetes types that are not one object the provider names: releases, bundles, patches
# (a patch names its target), lists and providers.
_NOT_NAMED = re.compile(r"^kubernetes:(helm\.sh|yaml|kustomize)/|Patch$|List$|^pulumi:providers:")


def autonamed_kubernetes(type_token: str, inputs: Mapping[str, Any]) -> bool:
    """Whether the Kubernetes provider would name this object itself: a ``kubernetes:`` object
    whose ``metadata`` sets neither ``name`` nor ``generateName``."""
    if not type_token.startswith("kubernetes:") or _NOT_NAMED.search(type_token):
        return False
    metadata = inputs.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    return not metadata.get("name") and not metadata.get("generateName")


def kubernetes_name(state: Mapping[str, Any]) -> Optional[str]:
    """``metadata.name`` of an object's state, when it is a plain string."""
    metadata = state.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) and name else None


def _secrets(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(path, plain text)`` of every string inside a secret, in wire-form inputs."""
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            yield from _strings(value.get("value"), path)
            return
        for key, item in value.items():
            if key != SIG_KEY:
                yield from _secrets(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secrets(item, f"{path}[{index}]")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != SIG_KEY:
                yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def written_credentials(inputs: Mapping[str, Any], computed: frozenset[str]) -> list[dict[str, str]]:
    """``{"path", "kind"}`` of each secret input whose plain text holds a credential, leaving out
    the top-level inputs in ``computed`` (computed from another resource: a generated password,
    a key another resource issued). Never the value."""
    found: list[dict[str, str]] = []
    for key, value in inputs.items():
        if key in computed:
            continue
        for path, text in _secrets(value, str(key)):
            if text in (SECRET, UNKNOWN_VALUE, UNKNOWN):  # encrypted config, a value not known yet
                continue
            if not text.strip():
                continue
            name = path.rsplit(".", 1)[-1]
            matches = credentials.scan_named(name, text)
            # Secret by the provider's schema (or marked so by the program) and written as a literal:
            # a secret in the source, whatever a detector says of its shape.
            kind = matches[0].description if matches else "a value its provider keeps secret"
            entry = {"path": path, "kind": kind}
            if entry not in found:
                found.append(entry)
    return found


def bound_hooks(request: Any) -> list[str]:
    """The resource hooks a ``RegisterResourceRequest`` binds (``before_create``...), by kind."""
    if not request.HasField("hooks"):
        return []
    hooks = request.hooks
    return sorted(field.name for field, value in hooks.ListFields() if value)
