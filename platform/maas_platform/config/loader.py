"""Reading the ``maas:`` namespace into :class:`PlatformConfig`.

Two sources, one result: a stack config file (``stacks/Pulumi.<stack>.yaml``, read by
``maas plan`` before anything runs) and the Pulumi runtime config (read by the program
under ``pulumi up``). Both end in :func:`parse_platform_config`, and every failure is a
:class:`ConfigError` with a single line naming the key and what is expected.
"""

from __future__ import annotations

import difflib
import json
import re
import typing
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, TypeVar

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


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The config models a field's annotation can hold: through Optional, unions, lists,
    mappings and ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def known_keys(model: Optional[type[BaseModel]], loc: tuple[Any, ...]) -> list[str]:
    """The keys valid where ``loc`` (a pydantic error location, its last part the key at fault)
    points inside ``model``: the fields of every model that can stand there. A part that is
    no field (a list index, a mapping's own key, a union's tag) keeps the models it reached."""
    if model is None:
        return []
    models: list[type[BaseModel]] = [model]
    for part in loc[:-1]:
        if not isinstance(part, str):
            continue
        fields = [m.model_fields[part] for m in models if part in m.model_fields]
        if fields:
            models = [found for field in fields for found in _models_in(field.annotation)]
        else:  # a union tagged by ``kind`` puts the tag in the location: keep the tagged model
            models = [m for m in models if "kind" in m.model_fields and m.model_fields["kind"].default == part] \
                or models
    return sorted({name for m in models for name in m.model_fields})


def nearest_key(key: Any, valid: list[str]) -> Optional[str]:
    """The valid key closest to a misspelt one (``regoin`` -> ``region``), if any is close."""
    if not isinstance(key, str) or not valid:
        return None
    found = difflib.get_close_matches(key, valid, n=1, cutoff=0.6) or \
        difflib.get_close_matches(key.lower().replace("-", "_"), valid, n=1, cutoff=0.6)
    return found[0] if found else None


def _misspelt(problems: list[Any], model: Optional[type[BaseModel]]) -> Optional[Any]:
    """An unknown key whose nearest valid key is one reported missing beside it (``platform_stak``
    for ``platform_stack``): the misspelling is the problem, the missing key its echo."""
    missing = {tuple(p["loc"]) for p in problems if p["type"] == "missing"}
    for problem in problems:
        loc = tuple(problem["loc"])
        if problem["type"] == "extra_forbidden" and loc:
            nearest = nearest_key(loc[-1], known_keys(model, loc))
            if nearest is not None and loc[:-1] + (nearest,) in missing:
                return problem
    return None


def format_validation_error(error: ValidationError, root: str = f"{NAMESPACE}:", data: Any = None,
                            model: Optional[type[BaseModel]] = None) -> str:
    """One line for the first problem, naming the full key: ``maas:network.cidr: ...``.

    Inside an agent, the agent is named too: ``maas:agents[2].replicas.min (agent 'triage'): ...``.
    An unknown key names the nearest valid one when ``model`` (the model validated) is given.
    """
    problems = error.errors(include_url=False)
    # Without a valid environment no defaults apply: the other "missing" keys are its echo.
    environment = [p for p in problems if tuple(p["loc"])[:1] == ("environment",)]
    misspelt = None if environment else _misspelt(problems, model)
    first = environment[0] if environment else misspelt or problems[0]
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
        loc = tuple(first["loc"])
        nearest = nearest_key(loc[-1] if loc else None, known_keys(model, loc))
        message = (f"unknown key; did you mean '{_join(root, _location(loc[:-1] + (nearest,)))}'?"
                   if nearest else "unknown key; check the spelling against docs/configuration.md")
    elif first["type"] == "union_tag_invalid":
        path = _join(path, str(first["ctx"]["discriminator"]).strip("'"))
        message = f"'{first['ctx']['tag']}' is not one of {first['ctx']['expected_tags'].replace(chr(39), '')}"
    elif first["type"] == "missing":
        message = "required key is missing"
    elif first["type"] in {"model_type", "model_attributes_type", "dict_type"}:
        message = f"expected a mapping of keys, got {type(first['input']).__name__} {first['input']!r}"
    elif "input" in first and first["type"].endswith("_type"):
        message = f"{message}, got {type(first['input']).__name__} {first['input']!r}"
    more = 0 if environment else error.error_count() - (2 if misspelt else 1)
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{_join(root, path)}{_agent_named(path, data)}: {message}{suffix}"


def validate(model: type[M], data: Any, root: str = f"{NAMESPACE}:", source: Optional[str] = None) -> M:
    """Validate ``data`` into ``model`` or raise a one-line :class:`ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, root, data, model), source) from None


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping.

    YAML requires the keys of a mapping to be unique (the spec's representation model: "an
    unordered set of key/value node pairs, with the restriction that each of the keys is unique";
    the !!map type, yaml.org/type/map.html; checked 2026-12-03), but PyYAML keeps the last value
    silently, so the first of two ``maas:agents:`` would vanish without a word.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, typing.Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (first written on line {seen[key]}); keep one of the two",
                    key_node.start_mark)
            if isinstance(key, typing.Hashable):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


# PyYAML's problem (the start of its message) -> what it means in a stack file, and the fix.
_YAML_PROBLEMS = (
    (r"found character '\\t'", "a tab character; YAML indents with spaces only: replace the tab with spaces"),
    (r"mapping values are not allowed here",
     "a ': ' inside an unquoted value, or a key indented deeper than the key above it: quote the value "
     "(e.g. \"a: b\") or line the key up with its siblings"),
    (r"expected <block end>", "this line is indented differently from the keys above it: line it up with its siblings"),
    (r"could not find expected ':'",
     "a line that is neither 'key: value' nor a list item '- ...': add the ':' or indent it under its key"),
    (r"found unexpected end of stream", "a quote opened here is never closed: close it"),
    (r"expected ',' or '[\]}]'", "a [ ... ] or { ... } not closed, or a missing comma between its items"),
    (r"found undefined alias", "'*' starts an alias in YAML: quote a value that starts with '*'"),
    (r"found character '[@`]'", "'@' and '`' cannot start a plain value: quote the value"),
)


def yaml_problem(error: yaml.YAMLError) -> tuple[Optional[int], str]:
    """The line (1-based, if known) and a one-line account of what is wrong in a YAML text."""
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    mark = getattr(error, "problem_mark", None)
    opened = problem.startswith("found unexpected end of stream") or re.match(r"expected ',' or '[\]}]'", problem)
    if opened and getattr(error, "context_mark", None) is not None:
        mark = error.context_mark  # where the quote or bracket opened, not where the parser gave up
    meaning = next((meaning for known, meaning in _YAML_PROBLEMS if re.match(known, problem)), problem)
    return (mark.line + 1 if mark is not None else None), meaning


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file, keys namespaced as Pulumi writes them."""
    try:
        document = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except FileNotFoundError:
        raise ConfigError(f"stack config file not found: {path}") from None
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
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
