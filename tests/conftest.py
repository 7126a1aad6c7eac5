"""Shared fixtures: the shipped environments planned once per test session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maas_platform.plan import Plan, plan_project

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


def named(plan: Plan, type_token: str, name: str) -> dict[str, Any]:
    """The one resource of a type with a logical name."""
    found = [r for r in plan.of_type(type_token) if r["name"] == name]
    assert len(found) == 1, f"expected one {type_token} named {name}, found {len(found)}"
    return found[0]


def policy(document: str) -> dict[str, Any]:
    return json.loads(document)
