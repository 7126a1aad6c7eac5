"""Reading the ``maas:`` namespace into :class:`PlatformConfig`.

Two sources, one result: a stack config file (``stacks/Pulumi.<stack>.yaml``, read by
``maas plan`` before anything runs) and the Pulumi runtime config (read by the program
under ``pulumi up``). Both end in :func:`parse_platform_config`, and every failure is a
:class:`ConfigError` with a single line naming the key and what is expected.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping, Optional, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..markers import SECRET as SECRET_PLACEHOLDER
from .models import PlatformConfig

NAMESPACE = "maas"

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """An invalid configuration; ``str(error)`` is one line meant for the user."""

    def __init__(self, message: str, source: Optional[str] = None):
        self.message = message
        self.source = source
        super().__init__(f"{message} ({source})" if source else message)


_KEY_PREFIX = re.compile(r"^([a-z_][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z_][a-z0-9_]*(?:\[\d+\])?)*): (.*)$", re.S)


# Fields holding a union tagged by ``kind``: pydantic puts the tag in the error location.
_TAGGED_UNIONS = {"storage", "exposure"}


def _location(loc: tuple[Any, ...]) -> str:
    path = ""
    loc = tuple(part for i, part in enumerate(loc) if not (i and loc[i - 1] in _TAGGED_UNIONS and isinstance(part, str)))
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in {"function-after", "function-before", "function-wrap"} or str(part).startswith("function-"):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def _join(base: str, key: str) -> str:
    if not base:
        return key
    if base.endswith(":"):
        return base + key
    return f"{base}{key}" if key.startswith("[") else f"{base}.{key}"


_AGENT_PATH = re.compile(r"^agents\[(\d+)\]")


def _agent_named(path: str, data: Any) -> str:
    """`` (agent 'triage')`` when ``path`` lies inside the i-th agent of ``data`` and it has a name."""
    match = _AGENT_PATH.match(path)
    agents = data.get("agents") if isinstance(data, dict) else None
    if not match or not isinstance(agents, list) or int(match.group(1)) >= len(agents):
        return ""
    agent = agents[int(match.group(1))]
    name = agent.get("name") if isinstance(agent, dict) else None
    return f" (agent '{name}')" if isinstance(name, str) and name else ""


def format_validation_error(error: ValidationError, root: str = f"{NAMESPACE}:", data: Any = None) -> str:
    """One line for the first problem, naming the full key: ``maas:network.cidr: ...``.

    Inside an agent, the agent is named too: ``maas:agents[2].replicas.min (agent 'triage'): ...``.
    """
    problems = error.errors(include_url=False)
    # Without a valid environment no defaults apply: the other "missing" keys are its echo.
    environment = [p for p in problems if tuple(p["loc"])[:1] == ("environment",)]
    first = environment[0] if environment else problems[0]
    path = _location(tuple(first["loc"]))
    message = str(first["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    match = _KEY_PREFIX.match(message)
    if match:  # validators name the sub-key they judge: "min_size: 5 must not exceed ..."
        path = _join(path, match.group(1))
        message = match.group(2)
    if first["type"] == "extra_forbidden":
        message = "unknown key; check the spelling against docs/configuration.md"
    elif first["type"] == "union_tag_invalid":
        path = _join(path, str(first["ctx"]["discriminator"]).strip("'"))
        message = f"'{first['ctx']['tag']}' is not one of {first['ctx']['expected_tags'].replace(chr(39), '')}"
    elif first["type"] == "missing":
        message = "required key is missing"
    elif first["type"] in {"model_type", "model_attributes_type", "dict_type"}:
        message = f"expected a mapping of keys, got {type(first['input']).__name__} {first['input']!r}"
    elif "input" in first and first["type"].endswith("_type"):
        message = f"{message}, got {type(first['input']).__name__} {first['input']!r}"
    more = 0 if environment else error.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{_join(root, path)}{_agent_named(path, data)}: {message}{suffix}"


def validate(model: type[M], data: Any, root: str = f"{NAMESPACE}:", source: Optional[str] = None) -> M:
    """Validate ``data`` into ``model`` or raise a one-line :class:`ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, root, data), source) from None


def _namespace_values(config: Mapping[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """The keys of one namespace, with its prefix stripped."""
    prefix = f"{namespace}:"
    return {key[len(prefix):]: value for key, value in config.items() if key.startswith(prefix)}


def parse_platform_config(values: Mapping[str, Any], source: Optional[str] = None) -> PlatformConfig:
    """Validate the ``maas:`` keys (prefix stripped) into a :class:`PlatformConfig`."""
    return validate(PlatformConfig, dict(values), source=source)


# --- stack config files ---------------------------------------------------------------

def stack_name_from_file(path: Path) -> Optional[str]:
    match = re.match(r"^Pulumi\.(.+)\.ya?ml$", path.name)
    return match.group(1) if match else None


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file, keys namespaced as Pulumi writes them."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"stack config file not found: {path}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'config:' key")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: 'config:' must be a mapping of namespace:key to value")
    for key in config:
        if not isinstance(key, str) or ":" not in key:
            raise ConfigError(f"{key}: config keys are written 'namespace:key' (e.g. maas:environment)", str(path))
    return config


def is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def load_platform_config_file(path: Path) -> PlatformConfig:
    """Read and validate the ``maas:`` namespace of a stack file."""
    config = read_stack_file(path)
    values = {k: (SECRET_PLACEHOLDER if is_secure(v) else v) for k, v in _namespace_values(config).items()}
    return parse_platform_config(values, source=str(path))


# --- the Pulumi runtime -----------------------------------------------------------------

def _decode(raw: Any) -> Any:
    """Pulumi passes objects and lists as JSON text and every scalar as plain text.

    Only structured values and booleans are decoded: a quoted ``"111122223333"`` must stay
    the string it was written as.
    """
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text in ("true", "false") or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return raw
    return raw


def runtime_namespace_values(namespace: str = NAMESPACE) -> dict[str, Any]:
    """Every key of ``namespace`` from the running Pulumi program's config, decoded."""
    from pulumi.runtime.config import CONFIG, get_config_env

    config = {**get_config_env(), **CONFIG.get()}
    return {key: _decode(value) for key, value in _namespace_values(config, namespace).items()}


def load_platform_config() -> PlatformConfig:
    """Inside a Pulumi program: validate the stack's ``maas:`` namespace."""
    return parse_platform_config(runtime_namespace_values())
