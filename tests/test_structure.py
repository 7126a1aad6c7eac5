"""The package's shape: no import cycles, no module past 800 lines, shared names declared once.

Computed from the sources with ``ast``, so the checks hold for every module, including ones
no test imports.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "platform" / "maas_platform"
MAX_LINES = 800
# Where every name that several modules must agree on is declared.
NAMES_MODULE = "maas_platform.names"
TYPE_TOKEN = re.compile(r"""["']((?:aws|kubernetes|maas):[A-Za-z0-9.-]+(?:/[A-Za-z0-9.-]+)*:[A-Za-z][A-Za-z0-9]*)["']""")
LABEL_KEY = re.compile(r"""["']((?:maas\.dev|app\.kubernetes\.io|pod-security\.kubernetes\.io)/[a-z-]+)["']""")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that importing ``name`` runs: what it imports (at any depth of
    its code, except under ``if TYPE_CHECKING:``) and the packages those live in."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                targets.add(candidate if candidate in known else module)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    own_packages = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")) + 1)}
    runs: set[str] = set()
    for target in targets:
        if not target.startswith("maas_platform"):
            continue
        parts = target.split(".")
        # Importing a.b.c runs the packages a and a.b first, unless the importer is inside them.
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in known and prefix not in own_packages:
                runs.add(prefix)
    return runs - {name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_importing_a_submodule_runs_its_packages(tmp_path):
    package = tmp_path / "maas_platform"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "__init__.py").write_text("from .leaf import X\n")
    (package / "sub" / "leaf.py").write_text("from ..other import Y\n")
    (package / "other.py").write_text("from maas_platform.sub.leaf import X\n")
    known = {"maas_platform.sub", "maas_platform.sub.leaf", "maas_platform.other"}
    assert imported("maas_platform.other", package / "other.py", known) == {"maas_platform.sub", "maas_platform.sub.leaf"}
    assert imported("maas_platform.sub.leaf", package / "sub" / "leaf.py", known) == {"maas_platform.other"}


def test_no_import_cycles_among_the_packages_modules():
    assert cycles(import_graph()) == []


# What each package (or top-level module) may import: the layers docs/architecture.md draws.
# Anything not listed here is a new dependency between layers to decide on, not to slip in.
LAYERS: dict[str, set[str]] = {
    "names": set(),
    "markers": set(),
    # Credential detectors: pure functions the agent schema and the policy rules share.
    "credentials": set(),
    "wire": {"markers"},
    "config": {"names", "markers", "credentials"},
    "iam": {"names", "markers", "config"},
    "tagging": {"names"},
    "slo": {"names", "config"},
    "cost": {"names", "config"},
    "components": {"names", "config", "iam", "slo", "tagging", "policy"},
    "team": {"names", "config", "components"},
    "policy": {"names", "markers", "wire", "config", "tagging", "credentials"},
    "plan": {"names", "markers", "wire", "credentials", "config", "cost", "policy"},
    "report": {"names", "markers", "plan", "policy"},
    "verify": {"names", "markers", "plan"},
    "preflight": {"names", "markers", "plan", "config", "verify"},
    # The golden-set probe: a program of its own (maas-probe), reading only names and config's errors.
    "probe": {"names", "config"},
    "cli": {"names", "markers", "config", "plan", "policy", "report", "verify", "preflight", "cost"},
}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def test_every_package_imports_only_the_layers_below_it():
    found: dict[str, set[str]] = defaultdict(set)
    for module, targets in import_graph().items():
        for target in targets:
            if layer(module) != layer(target) and layer(target) != "(package)":
                found[layer(module)].add(layer(target))
    unknown = sorted(set(found) - set(LAYERS))
    assert not unknown, f"packages missing from LAYERS: {unknown}"
    beyond = {package: sorted(targets - LAYERS[package]) for package, targets in found.items()
              if targets - LAYERS[package]}
    assert beyond == {}, f"imports across layers that docs/architecture.md does not allow: {beyond}"


def test_names_imports_nothing_of_the_package():
    graph = import_graph()
    assert graph[NAMES_MODULE] == set() and graph["maas_platform.iam.actions"] == set()


@pytest.mark.parametrize("name, path", sorted(modules().items()))
def test_no_module_is_longer_than_800_lines(name, path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it along its parts"


def _literals(pattern: re.Pattern) -> dict[str, set[str]]:
    where: dict[str, set[str]] = defaultdict(set)
    for name, path in modules().items():
        for literal in pattern.findall(path.read_text()):
            where[literal].add(name)
    return where


@pytest.mark.parametrize("what, pattern", [("type token", TYPE_TOKEN), ("label key", LABEL_KEY)])
def test_names_several_modules_share_are_declared_only_in_names(what, pattern):
    """A type token or label key written in two modules is a contract only tests would tie
    together: it lives in maas_platform/names.py and everyone imports it."""
    shared = {
        literal: sorted(where - {NAMES_MODULE})
        for literal, where in _literals(pattern).items() if len(where - {NAMES_MODULE}) > 1
    }
    assert shared == {}, f"{what}s written in several modules; declare them in names.py: {shared}"
