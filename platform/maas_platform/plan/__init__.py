"""The offline plan: what ``pulumi up`` would create, computed without a cloud or a CLI.

* :mod:`.model`: the plan's data (:class:`Plan`, :class:`PlannedResource`) and its JSON;
* :mod:`.pipeline`: :func:`plan_project` runs a stack's program (:mod:`.engine`, against
  :mod:`.fake_cloud`), prices it and gates it;
* :mod:`.exports` and :mod:`.tfplan`: the files ``maas plan --out`` writes from a plan.

Reading a plan needs only :mod:`.model`; the pipeline (the SDK runtime, the policy rules,
the price table) is imported the first time one of its names is asked for.
"""

from __future__ import annotations

from typing import Any

from .model import AgentComponent, Plan, PlannedResource, StackOutputs

_PIPELINE = ("Project", "load_stack_config", "plan_from_capture", "plan_project", "read_outputs_file")

__all__ = ["AgentComponent", "Plan", "PlannedResource", "StackOutputs", *_PIPELINE]


def __getattr__(name: str) -> Any:
    if name in _PIPELINE:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
