"""``maas diff``: what a change adds, changes and removes, read from two offline plans.

* :mod:`.compute`: :func:`diff_plans` compares two plans (resources by URN, inputs by
  property path, cost, policy findings) and judges the change (:data:`REMOVED_WITHOUT_RETIRING`);
* :mod:`.stateful`: the resource types that hold data and the inputs that replace them;
* :mod:`.markdown`: the diff as a pull-request comment.

Only plan data is read: a diff needs no program, SDK runtime or cloud.
"""

from __future__ import annotations

from .compute import (DIFF_RULES, REMOVED_WITHOUT_RETIRING, SCHEMA, Change, DiffError, DiffRule, Finding, PlanDiff,
                      ResourceChange, diff_plans)
from .markdown import COMMENT_MARKER, render_markdown

__all__ = [
    "COMMENT_MARKER", "DIFF_RULES", "REMOVED_WITHOUT_RETIRING", "SCHEMA", "Change", "DiffError", "DiffRule",
    "Finding", "PlanDiff", "ResourceChange", "diff_plans", "render_markdown",
]
