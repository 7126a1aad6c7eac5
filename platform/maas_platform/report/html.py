"""The report page: the view model rendered by a Jinja2 template into one self-contained file.

The stylesheet is inlined and the diagram and chart are inline SVG, so the file opens
offline from disk or a CI artifact; the page runs no script. The template escapes every
value (autoescape); only the diagram (labels escaped when the DOT was written) and the
chart (escaped as it is built) are inserted as markup.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Optional

import jinja2
from markupsafe import Markup

from .charts import cost_chart
from .diagram import anchor
from .model import Report, type_label


def usd(value: Optional[float]) -> str:
    """Money as the CLI prints it: ``1,234.50``; ``-`` when unknown."""
    return "-" if value is None else f"{value:,.2f}"


def percent(fraction: Optional[float]) -> str:
    return "-" if fraction is None else f"{fraction * 100:.0f}%"


def plural(count: int, singular: str, many: Optional[str] = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(lambda name: resources.files(__package__).joinpath("templates", name).read_text())
    environment = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(usd=usd, percent=percent, type_label=type_label)
    environment.globals.update(anchor=anchor, plural=plural)
    return environment


def render(report: Report, diagram_svg: str) -> str:
    """The page for ``report`` with ``diagram_svg`` (from :func:`..diagram.render_svg`)."""
    environment = _environment()
    context: dict[str, Any] = {
        "report": report,
        "diagram": Markup(diagram_svg),
        "chart": cost_chart(report.cost) if report.cost else None,
        "stylesheet": Markup(environment.loader.get_source(environment, "report.css")[0]),  # type: ignore[union-attr]
    }
    return environment.get_template("report.html.j2").render(context)
