"""Bar charts drawn on the server as inline SVG: read at a glance, no script, no style
attribute (the pages' Content-Security-Policy forbids inline styles; colours come from
classes of ``office.css``, sizes from SVG geometry attributes, which CSP leaves alone).

Every chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` that say what it shows
in words; the page puts the same numbers in a table next to it for screen readers and
for anyone who wants the exact figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

#: Geometry of the column chart (viewBox units; the SVG scales to its container).
COLUMN_HEIGHT = 180
COLUMN_TOP = 24
COLUMN_AXIS = 28
COLUMN_LEFT = 44
COLUMN_STEP = 56
COLUMN_MIN_WIDTH = 480
#: Past this many columns the value above each one would crowd: the table has them all.
COLUMN_VALUES_UP_TO = 16

#: Geometry of the horizontal bar chart.
ROW_HEIGHT = 30
LABEL_WIDTH = 215
BAR_AREA = 200
VALUE_WIDTH = 150
LABEL_CHARS = 30


@dataclass(frozen=True)
class Bar:
    """One bar: its label on the axis, its length (``value`` of ``maximum``), the text
    written next to it, and its name in words for the bar's tooltip when the axis label
    is an abbreviation (``S48`` for "semaine 48 de 2026")."""

    label: str
    value: float
    text: str
    name: str = ""

    @property
    def title(self) -> str:
        return self.name or self.label


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _share(value: float, maximum: float) -> float:
    if maximum <= 0:
        return 0.0
    return min(1.0, max(0.0, value / maximum))


def _frame(chart_id: str, title: str, summary: str, width: int, height: int, body: str) -> Markup:
    # Every text and attribute value put in the SVG is escaped here or by its caller.
    return Markup(  # noqa: S704
        f'<svg class="chart" id="{_attr(chart_id)}" role="img" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{_attr(chart_id)}-desc">{escape(summary)}</desc>'
        f"{body}</svg>"
    )


def column_chart(
    chart_id: str,
    title: str,
    summary: str,
    bars: list[Bar],
    maximum: float,
    gridlines: list[tuple[float, str]],
) -> Markup:
    """Vertical bars side by side (one per week...), with labelled gridlines."""
    width = max(COLUMN_MIN_WIDTH, COLUMN_LEFT + COLUMN_STEP * len(bars) + 8)
    height = COLUMN_TOP + COLUMN_HEIGHT + COLUMN_AXIS
    base = COLUMN_TOP + COLUMN_HEIGHT
    parts = []
    for level, text in gridlines:
        y = base - COLUMN_HEIGHT * _share(level, maximum)
        parts.append(
            f'<line class="grid" x1="{COLUMN_LEFT}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{COLUMN_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(text)}</text>'
        )
    show_values = len(bars) <= COLUMN_VALUES_UP_TO
    label_every = 1 if len(bars) <= 20 else (len(bars) + 19) // 20
    for i, bar in enumerate(bars):
        x = COLUMN_LEFT + COLUMN_STEP * i + 8
        bar_width = COLUMN_STEP - 16
        bar_height = COLUMN_HEIGHT * _share(bar.value, maximum)
        parts.append(
            f'<rect class="bar" x="{x}" y="{base - bar_height:.1f}" width="{bar_width}" '
            f'height="{bar_height:.1f}"><title>{escape(bar.title)}: {escape(bar.text)}</title>'
            "</rect>"
        )
        if show_values:
            parts.append(
                f'<text class="value" x="{x + bar_width / 2:.1f}" '
                f'y="{base - bar_height - 5:.1f}" text-anchor="middle">{escape(bar.text)}</text>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_width / 2:.1f}" y="{base + 18}" '
                f'text-anchor="middle">{escape(_short(bar.label, 8))}</text>'
            )
    parts.append(
        f'<line class="baseline" x1="{COLUMN_LEFT}" x2="{width - 4}" y1="{base}" y2="{base}"/>'
    )
    return _frame(chart_id, title, summary, width, height, "".join(parts))


def bar_chart(chart_id: str, title: str, summary: str, bars: list[Bar], maximum: float) -> Markup:
    """Horizontal bars one under the other (one per category, commune...): label, bar,
    then the value in words."""
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    height = max(1, len(bars)) * ROW_HEIGHT + 8
    parts = []
    for i, bar in enumerate(bars):
        y = 4 + i * ROW_HEIGHT
        length = BAR_AREA * _share(bar.value, maximum)
        parts.append(
            f'<text class="axis" x="{LABEL_WIDTH - 8}" y="{y + 19}" '
            f'text-anchor="end">{escape(_short(bar.label))}</text>'
            f'<rect class="track" x="{LABEL_WIDTH}" y="{y + 4}" width="{BAR_AREA}" '
            f'height="{ROW_HEIGHT - 8}"/>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" '
            f'height="{ROW_HEIGHT - 8}"><title>{escape(bar.title)}: {escape(bar.text)}</title>'
            "</rect>"
            f'<text class="value" x="{LABEL_WIDTH + BAR_AREA + 8}" y="{y + 19}">'
            f"{escape(bar.text)}</text>"
        )
    return _frame(chart_id, title, summary, width, height, "".join(parts))
