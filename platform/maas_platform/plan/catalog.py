"""Synthetic agent catalogs: N agents of every storage kind, for scale checks and the benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml

from ..config.loader import read_stack_file

STORAGE_CYCLE = ("dynamodb", "postgres", "s3", "none")


def synthetic_agents(count: int, topics: Sequence[str] = ()) -> list[dict[str, Any]]:
    """``count`` valid agent specs cycling through the storage kinds and teams, wired over ``topics``."""
    agents = []
    for index in range(count):
        storage = STORAGE_CYCLE[index % len(STORAGE_CYCLE)]
        agent: dict[str, Any] = {
            "name": f"agent-{index:04d}",
            "team": f"team-{index % 7}",
            "cost_center": f"cc-{1000 + index % 5}",
            "image": f"registry.example.com/agents/agent-{index % 11}:1.{index % 3}.0",
            "storage": storage,
            "secrets": ["llm-api-key"] if index % 2 == 0 else [],
            # Every agent budgeted, as the policy gate requires (MAAS-STK-006, MAAS-STK-008).
            "budget": {"monthly_usd": float(20 + index % 4 * 10), "llm_monthly_usd": float(100 + index % 3 * 50)},
        }
        if topics:  # a mesh over the stack's topics: every agent publishes to one, consumes another
            agent["messaging"] = {
                "publishes": [topics[index % len(topics)]],
                "subscribes": [topics[(index + 1) % len(topics)]],
            }
        agents.append(agent)
    return agents


def write_catalog_stack(base: Path, out: Path, count: int) -> Path:
    """A copy of the stack file ``base`` whose ``maas:agents`` is a synthetic catalog of ``count``
    (without ``base``'s flows: they name agents the catalog does not have)."""
    config = read_stack_file(base)
    config.pop("maas:flows", None)
    broker = config.get("maas:broker") or {}
    topics = [t["name"] for t in broker.get("topics", []) if not t.get("ordered")]
    config["maas:agents"] = synthetic_agents(count, topics)
    out.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return out
