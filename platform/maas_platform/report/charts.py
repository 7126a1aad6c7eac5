"""The cost chart: the monthly estimate as an inline SVG bar chart, no script or library.

One horizontal bar per platform component and per agent, split into the baseline (what
exists all month) and the usage priced from the assumptions; every priced resource is in
exactly one bar, so the bars add up to the estimate. Each bar carries its figures as
``data-`` attributes and a ``<title>`` tooltip.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from markupsafe import Markup, escape

from .model import Cost, CostBar

WIDTH = 900
LABEL_WIDTH = 190
VALUE_WIDTH = 100
ROW = 28
BAR = 18
TOP, BOTTOM = 28, 30
COLOURS = {
    ("shared", "baseline"): "#52606d", ("shared", "usage"): "#9aa5b1",
    ("agent", "baseline"): "#2f6fde", ("agent", "usage"): "#8fb3f5",
}


def nice_step(largest: float, ticks: int = 5) -> float:
    """A round grid step (1, 2 or 5 times a power of ten) giving about ``ticks`` lines."""
    if largest <= 0:
        return 1.0
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def cost_chart(cost: Cost) -> Markup:
    """The bar chart of ``cost.bars`` as an ``<svg class="cost-chart">`` element."""
    bars: Sequence[CostBar] = cost.bars
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    largest = max((bar.monthly for bar in bars), default=0.0)
    step = nice_step(largest)
    top = step * max(1, math.ceil(largest / step)) if largest > 0 else 1.0
    height = TOP + ROW * len(bars) + BOTTOM

    def x(value: float) -> float:
        return LABEL_WIDTH + plot * value / top

    parts = [
        f'<svg class="cost-chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="estimated monthly cost by component and agent" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="axis-title" x="{LABEL_WIDTH}" y="14">{escape(cost.currency)} per month '
        f'(dark: baseline, light: usage)</text>',
    ]
    for index in range(int(round(top / step)) + 1):
        value = index * step
        gx = x(value)
        parts.append(f'<line class="gridline" x1="{gx:.1f}" y1="{TOP - 6}" x2="{gx:.1f}" y2="{TOP + ROW * len(bars)}"/>')
        parts.append(f'<text class="tick" x="{gx:.1f}" y="{height - 10}" text-anchor="middle">{_number(value)}</text>')
    for row, bar in enumerate(bars):
        parts.append(_bar(bar, TOP + row * ROW, x, cost.currency))
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _bar(bar: CostBar, y: float, x: Callable[[float], float], currency: str) -> str:
    middle = y + ROW / 2
    top = middle - BAR / 2
    start, split, end = x(0), x(bar.baseline), x(bar.baseline + bar.usage)
    tip = (f"{bar.label}: {bar.monthly:,.2f} {currency}/month "
           f"(baseline {bar.baseline:,.2f}, usage {bar.usage:,.2f})")
    label = f"agent {bar.label}" if bar.kind == "agent" else bar.label
    return (
        f'<g class="bar {escape(bar.kind)}" data-label="{escape(bar.label)}" data-kind="{escape(bar.kind)}" '
        f'data-monthly="{bar.monthly:.2f}" data-baseline="{bar.baseline:.2f}" data-usage="{bar.usage:.2f}">'
        f"<title>{escape(tip)}</title>"
        f'<text class="label" x="{LABEL_WIDTH - 10}" y="{middle + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        f'<rect x="{start:.1f}" y="{top:.1f}" width="{max(split - start, 0):.2f}" height="{BAR}" rx="2" '
        f'fill="{COLOURS[(bar.kind, "baseline")]}"/>'
        f'<rect x="{split:.1f}" y="{top:.1f}" width="{max(end - split, 0):.2f}" height="{BAR}" rx="2" '
        f'fill="{COLOURS[(bar.kind, "usage")]}"/>'
        f'<text class="value" x="{end + 6:.1f}" y="{middle + 4:.1f}">{bar.monthly:,.2f}</text>'
        "</g>"
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"
