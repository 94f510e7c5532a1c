"""Inline SVG charts for the HTML reports: pure functions from numbers to SVG text.

Every chart has ``width``, ``height`` and a ``viewBox`` (so it scales on a phone), ``role="img"`` with a
``<title>`` and ``<desc>`` for screen readers, and colours as presentation attributes rather than ``style``
attributes, so the report's Content-Security-Policy needs no ``'unsafe-inline'``. Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import escape

# Colours stay distinguishable for the common colour-vision deficiencies (blue/orange, not red/green).
COLOUR_RECOMMENDED = "#1f6fb2"
COLOUR_NOT_RECOMMENDED = "#d9822b"
COLOUR_NEUTRAL = "#8a8f98"
COLOUR_LINE = "#1f6fb2"
COLOUR_GRID = "#d5d8dc"
COLOUR_TEXT = "#222222"
FONT = "system-ui, sans-serif"
FONT_SIZE = 12

BAR_HEIGHT = 20
BAR_GAP = 8
BAR_LABEL_WIDTH = 120
BAR_AREA_WIDTH = 280
BAR_VALUE_WIDTH = 40
CHART_PAD = 10

LINE_WIDTH = 480
LINE_HEIGHT = 200
LINE_LEFT = 36
LINE_BOTTOM = 28
LINE_TOP = 12
LINE_RIGHT = 12
LINE_GRID_STEPS = 5
POINT_RADIUS = 3
X_LABEL_MAX = 12
"""Most turn numbers written under the trust chart, so they never overlap."""


def _num(value: float) -> str:
    """Return a coordinate with at most two decimals and no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _open(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}"'
        f' viewBox="0 0 {_num(width)} {_num(height)}" role="img" aria-labelledby="{cid}-title {cid}-desc"'
        f' class="chart" id="{cid}" font-family="{FONT}" font-size="{FONT_SIZE}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float]],
    colours: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Return a horizontal bar chart: one bar per ``(key, value)``, labelled and coloured by key."""
    colours = colours or {}
    labels = labels or {}
    top = max((value for _, value in bars), default=0.0)
    height = CHART_PAD * 2 + max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    width = CHART_PAD * 2 + BAR_LABEL_WIDTH + BAR_AREA_WIDTH + BAR_VALUE_WIDTH
    desc = "; ".join(f"{labels.get(key, key)}: {value:g}" for key, value in bars) or "no data"
    out = _open(chart_id, width, height, title, desc)
    for index, (key, value) in enumerate(bars):
        y = CHART_PAD + index * (BAR_HEIGHT + BAR_GAP)
        length = BAR_AREA_WIDTH * value / top if top > 0 else 0.0
        x0 = CHART_PAD + BAR_LABEL_WIDTH
        text_y = _num(y + BAR_HEIGHT / 2)
        name = escape(labels.get(key, key))
        out.append(
            f'<text x="{_num(x0 - 6)}" y="{text_y}" text-anchor="end" dominant-baseline="middle"'
            f' fill="{COLOUR_TEXT}">{name}</text>'
        )
        out.append(
            f'<rect x="{_num(x0)}" y="{_num(y)}" width="{_num(max(length, 0.0))}" height="{BAR_HEIGHT}"'
            f' fill="{escape(colours.get(key, COLOUR_NEUTRAL))}" data-key="{escape(key)}"><title>{name}: '
            f"{value:g}</title></rect>"
        )
        out.append(
            f'<text x="{_num(x0 + length + 6)}" y="{text_y}" dominant-baseline="middle"'
            f' fill="{COLOUR_TEXT}">{value:g}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def question_type_chart(
    counts: Sequence[tuple[str, int]],
    recommended: frozenset[str],
    labels: Mapping[str, str],
    title: str,
    neutral: frozenset[str] = frozenset({"other"}),
) -> str:
    """Return the bar chart of question types: recommended ones blue, others orange, neutral grey."""
    colours = {
        key: COLOUR_RECOMMENDED
        if key in recommended
        else COLOUR_NEUTRAL
        if key in neutral
        else COLOUR_NOT_RECOMMENDED
        for key, _ in counts
    }
    return bar_chart("chart-question-types", title, [(k, float(v)) for k, v in counts], colours, labels)


def line_chart(
    chart_id: str,
    title: str,
    values: Sequence[float],
    low: float,
    high: float,
    x_label: str = "",
    first_x: int = 0,
) -> str:
    """Return a line chart of ``values`` (x = first_x, first_x + 1, ...) on a y axis from low to high."""
    width, height = LINE_WIDTH, LINE_HEIGHT
    plot_w = width - LINE_LEFT - LINE_RIGHT
    plot_h = height - LINE_TOP - LINE_BOTTOM
    span = high - low if high > low else 1.0
    steps = max(len(values) - 1, 1)

    def x_of(index: int) -> float:
        return LINE_LEFT + plot_w * index / steps

    def y_of(value: float) -> float:
        clamped = min(high, max(low, value))
        return LINE_TOP + plot_h * (1 - (clamped - low) / span)

    desc = ", ".join(f"{first_x + i}: {v:g}" for i, v in enumerate(values)) or "no data"
    out = _open(chart_id, width, height, title, desc)
    for step in range(LINE_GRID_STEPS + 1):
        value = low + span * step / LINE_GRID_STEPS
        y = _num(y_of(value))
        out.append(
            f'<line x1="{LINE_LEFT}" y1="{y}" x2="{width - LINE_RIGHT}" y2="{y}" stroke="{COLOUR_GRID}"'
            ' stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LINE_LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle"'
            f' fill="{COLOUR_TEXT}">{value:g}</text>'
        )
    every = max(1, -(-len(values) // X_LABEL_MAX))
    for index in range(0, len(values), every):
        out.append(
            f'<text x="{_num(x_of(index))}" y="{height - LINE_BOTTOM + 16}" text-anchor="middle"'
            f' fill="{COLOUR_TEXT}">{first_x + index}</text>'
        )
    if x_label:
        out.append(
            f'<text x="{width - LINE_RIGHT}" y="{height - 2}" text-anchor="end"'
            f' fill="{COLOUR_TEXT}">{escape(x_label)}</text>'
        )
    if values:
        points = " ".join(f"{_num(x_of(i))},{_num(y_of(v))}" for i, v in enumerate(values))
        out.append(
            f'<polyline points="{points}" fill="none" stroke="{COLOUR_LINE}" stroke-width="2"'
            ' stroke-linejoin="round"/>'
        )
        for index, value in enumerate(values):
            out.append(
                f'<circle cx="{_num(x_of(index))}" cy="{_num(y_of(value))}" r="{POINT_RADIUS}"'
                f' fill="{COLOUR_LINE}"><title>{first_x + index}: {value:g}</title></circle>'
            )
    out.append("</svg>")
    return "".join(out)


def trust_chart(values: Sequence[float], low: float, high: float, title: str, x_label: str) -> str:
    """Return the trust-over-turns chart; ``values[0]`` is the value before the first turn."""
    return line_chart("chart-trust", title, values, low, high, x_label=x_label, first_x=0)
