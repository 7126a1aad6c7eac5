"""Shared fixtures: the shipped environments planned once per test session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maas_platform.plan import Plan, PlannedResource, plan_project

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """dev, staging and prod planned offline from the shipped stack configs."""
    return {env: plan_project(ROOT, stack=env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def prod(plans) -> Plan:
    return plans["prod"]


@pytest.fixture(scope="session")
def dev(plans) -> Plan:
    return plans["dev"]


def named(plan: Plan, type_token: str, name: str) -> PlannedResource:
    """The one resource of a type with a logical name."""
    found = [r for r in plan.of_type(type_token) if r.name == name]
    assert len(found) == 1, f"expected one {type_token} named {name}, found {len(found)}"
    return found[0]


def policy(document: str) -> dict[str, Any]:
    return json.loads(document)


# -- components planned alone (tests of one component under the mock engine) -------------------

def plan_program(tmp_path_factory, name: str, source: str, region: str = "us-east-1"):
    """Run a small program (its source) under the mock engine; the capture of what it registered."""
    from maas_platform.plan.engine import run_program
    from maas_platform.plan.fake_cloud import FakeCloud

    program = tmp_path_factory.mktemp(name) / "__main__.py"
    program.write_text(source)
    return run_program(program.parent, project="t", stack="dev", config={}, cloud=FakeCloud(region))


def only(capture, type_token: str, suffix: str):
    found = [r for r in capture.resources if r.type == type_token and r.name.endswith(suffix)]
    assert len(found) == 1, f"expected one {type_token} named *{suffix}, found {[r.name for r in found]}"
    return found[0]


def urn_of(capture, type_token: str, name: str) -> str:
    return next(r.urn for r in capture.resources if r.type == type_token and r.name == name)


def statements(document: str) -> list[dict[str, Any]]:
    return json.loads(document)["Statement"]


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
