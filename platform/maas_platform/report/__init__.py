"""The plan as one self-contained HTML page: architecture diagram, agent cards, findings, cost.

``maas plan --html PATH`` writes it. The page is what a reviewer opens instead of reading
the plan JSON: :mod:`.model` reads the plan, :mod:`.diagram` draws the architecture with
Graphviz, :mod:`.charts` draws the cost, :mod:`.html` puts them in the template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

from ..plan.model import Plan
from ..policy.core import Rule
from .diagram import DiagramError, render_svg, require_dot, to_dot
from .html import render
from .model import Report, build

__all__ = ["DiagramError", "Report", "build", "render_report", "require_dot", "write_report"]


def render_report(plan: Plan, rules: Optional[Mapping[str, Rule]] = None) -> str:
    """The report page of ``plan`` as HTML text (runs Graphviz's ``dot``)."""
    report = build(plan, rules)
    return render(report, render_svg(to_dot(report)))


def write_report(plan: Plan, path: Path, rules: Optional[Mapping[str, Rule]] = None) -> Path:
    """Write the report page of ``plan`` to ``path`` (folders created as needed)."""
    page = render_report(plan, rules)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
