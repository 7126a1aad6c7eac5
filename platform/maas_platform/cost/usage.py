"""Usage assumptions (``usage.yaml``): the quantities of usage-priced services.

``defaults`` apply everywhere, ``environments.<env>`` overrides them for one environment
and ``agents.<name>`` overrides the ``agent`` section for one agent. The shipped file is
the schema: another file (``maas plan --usage FILE``) is laid over it, so it may state
only what it changes; it names only keys the shipped ``defaults`` have (a typo fails with
the key's path) and every value is a number >= 0, except under the open mappings
(``logs.groups``: name pattern -> GB; ``agent.llm.models``: model -> the token keys of
``agent.llm``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import yaml

from ..config.loader import ConfigError

from ..config.defaults import _deep_merge

USAGE_FILE = Path(__file__).with_name("usage.yaml")
# Mappings whose keys are the user's (patterns, model ids), not the schema's.
OPEN_MAPS = {("logs", "groups"), ("agent", "llm", "models")}
# An open mapping whose values are sections: each entry takes the keys of its parent section (but these).
SECTION_MAPS = {("agent", "llm", "models"): ("models",)}


class Usage:
    """Assumptions resolved for one environment; :meth:`agent` adds an agent's overrides."""

    def __init__(self, document: dict[str, Any], environment: Optional[str], source: str = "usage.yaml"):
        self.source = source
        shipped = _shipped()
        _check_document(document, shipped["defaults"], source)
        merged = _deep_merge(shipped, {k: v for k, v in document.items() if v})
        environments = merged.get("environments") or {}
        self.environment = environment
        self.values = _deep_merge(merged["defaults"], environments.get(environment) or {}) if environment else merged["defaults"]
        self.agents: dict[str, dict[str, Any]] = merged.get("agents") or {}

    def get(self, *path: str) -> Any:
        node: Any = self.values
        for part in path:
            node = node[part]
        return node

    def agent(self, name: Optional[str]) -> dict[str, Any]:
        """The ``agent`` section for agent ``name`` (its overrides laid over the environment's)."""
        section = self.values["agent"]
        override = self.agents.get(name) if name else None
        return _deep_merge(section, override) if override else section


def load_usage(source: Union[None, Path, dict[str, Any]] = None, environment: Optional[str] = None) -> Usage:
    """Usage assumptions from a file (default: the shipped ``usage.yaml``) or a mapping."""
    if isinstance(source, dict):
        return Usage(source, environment, source="usage assumptions")
    path = source or USAGE_FILE
    name = path.name if path == USAGE_FILE else str(path)
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--usage: file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--usage: {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    return Usage(document if isinstance(document, dict) else {}, environment, source=name)


_SHIPPED: dict[str, Any] = {}


def _shipped() -> dict[str, Any]:
    """The shipped usage.yaml, checked against itself once: the schema of every other file."""
    if not _SHIPPED:
        document = yaml.safe_load(USAGE_FILE.read_text())
        _check_document(document, document["defaults"], USAGE_FILE.name)
        _SHIPPED.update(document)
    return _SHIPPED


def _check_document(document: Any, defaults: dict[str, Any], source: str) -> None:
    """``document`` names only assumptions ``defaults`` (the shipped file's) has, as numbers >= 0."""
    if not isinstance(document, dict):
        raise ConfigError("expected a mapping with defaults, environments and agents", source)
    unknown = sorted(set(document) - {"defaults", "environments", "agents"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section; use defaults, environments or agents", source)
    _check_values(document.get("defaults") or {}, defaults, "defaults", (), source)
    environments = document.get("environments") or {}
    if not isinstance(environments, dict):
        raise ConfigError("environments: expected environment -> overrides", source)
    for env, override in environments.items():
        _check_values(override or {}, defaults, f"environments.{env}", (), source)
    agents = document.get("agents") or {}
    if not isinstance(agents, dict):
        raise ConfigError("agents: expected agent name -> overrides of the agent section", source)
    for agent, override in agents.items():
        _check_values(override or {}, defaults["agent"], f"agents.{agent}", ("agent",), source)


def _schema_at(path: tuple[str, ...]) -> dict[str, Any]:
    """The shipped ``defaults`` at ``path``."""
    node: Any = _shipped()["defaults"] if _SHIPPED else yaml.safe_load(USAGE_FILE.read_text())["defaults"]
    for part in path:
        node = node[part]
    return node


def _check_values(node: Any, schema: Any, where: str, path: tuple[str, ...], source: str) -> None:
    if not isinstance(node, dict):
        raise ConfigError(f"{where}: expected a mapping", source)
    for key, value in node.items():
        here = f"{where}.{key}"
        open_map = path in OPEN_MAPS
        if not open_map and key not in schema:
            known = ", ".join(sorted(schema)) if isinstance(schema, dict) else ""
            raise ConfigError(f"{here}: unknown assumption; known here: {known}", source)
        expected = None if open_map else schema[key]
        if path in SECTION_MAPS:
            parent = _schema_at(path[:-1])
            expected = {k: v for k, v in parent.items() if k not in SECTION_MAPS[path]}
            _check_values(value, expected, here, path + ("*",), source)
        elif isinstance(expected, dict) or (expected is None and isinstance(value, dict)):
            _check_values(value, expected or {}, here, path + (str(key),), source)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{here}: expected a number >= 0, got {value!r}", source)
