"""The offline plan: what ``pulumi up`` would create, computed without a cloud or a CLI."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from ..config.loader import ConfigError, is_secure, read_stack_file, stack_name_from_file
from .engine import SECRET, Capture, ProgramError, run_program
from .fake_cloud import FAKE_ACCOUNT_ID, FakeCloud

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


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    violations: list[dict[str, Any]] = field(default_factory=list)
    cost: Optional[dict[str, Any]] = None

    @classmethod
    def from_capture(cls, project: str, stack: str, capture: Capture) -> "Plan":
        resources = [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "dependencies": r.dependencies,
                "inputs": r.inputs,
                "custom": r.custom,
                "provider": r.provider,
                "protect": r.protect,
            }
            for r in capture.resources
        ]
        return cls(project=project, stack=stack, resources=resources, outputs=capture.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": self.resources,
            "outputs": self.outputs,
            "violations": self.violations,
            "cost": self.cost,
        }

    def to_json(self) -> str:
        """Deterministic JSON: the same config gives a byte-identical file."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    # -- queries used by the CLI, exports and tests ---------------------------------------

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def get(self, urn: str) -> dict[str, Any]:
        for resource in self.resources:
            if resource["urn"] == urn:
                return resource
        raise KeyError(urn)

    def cloud_resources(self) -> list[dict[str, Any]]:
        """Resources a provider creates (components and providers excluded)."""
        return [r for r in self.resources if r["custom"] and not r["type"].startswith("pulumi:providers:")]

    def component_of(self, resource: dict[str, Any]) -> str:
        """The top-most component below the stack that owns ``resource``, as ``type name``."""
        by_urn = {r["urn"]: r for r in self.resources}
        chain = [resource]
        while chain[-1]["parent"] in by_urn:
            chain.append(by_urn[chain[-1]["parent"]])
        components = [r for r in chain if not r["custom"]]
        if len(components) >= 2:  # below the environment's own component, name its part
            owner = components[-2]
        elif components:
            owner = components[-1]
        else:
            return "(stack)"
        siblings = [r for r in self.resources if r["type"] == owner["type"] and r["parent"] == owner["parent"]]
        # Components of a kind that repeats (agents) are told apart by name.
        return f"{owner['type']} {owner['name']}" if len(siblings) > 1 else owner["type"]

    def summary(self) -> dict[str, Counter]:
        """Resource counts: component -> type -> count."""
        table: dict[str, Counter] = {}
        for resource in self.cloud_resources():
            table.setdefault(self.component_of(resource), Counter())[resource["type"]] += 1
        return table


def load_stack_config(path: Path) -> tuple[dict[str, Any], list[str]]:
    """A stack file's config as the CLI hands it to the program, and its secret keys.

    Encrypted values cannot be read offline: they reach the program as ``[secret]``.
    """
    config = read_stack_file(path)
    secrets = sorted(k for k, v in config.items() if is_secure(v))
    return {k: (SECRET if is_secure(v) else v) for k, v in config.items()}, secrets


def plan_project(project_dir: Path, stack: Optional[str] = None, config_file: Optional[Path] = None) -> Plan:
    """Plan one stack of the project in ``project_dir`` offline."""
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
    # The fake account answers in the stack's region, as the account the stack names (if any).
    region = str(config.get("maas:region") or config.get("aws:region") or DEFAULT_REGION)
    account = str(config.get("maas:account_id") or FAKE_ACCOUNT_ID)
    try:
        capture = run_program(
            project.main, project=project.name, stack=stack, config=config, secret_keys=secrets,
            cloud=FakeCloud(region=region, account_id=account),
        )
    except ProgramError as error:
        raise ConfigError(str(error), _relative(config_file)) from None
    return Plan.from_capture(project.name, stack, capture)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
