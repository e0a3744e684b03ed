"""Server-rendered SVG charts for the admin (no JavaScript, no CDN): bars with their numbers.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``; the pages put the
same numbers in a table beside it, so screen readers and exports need not read the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT = 22
BAR_GAP = 10
LABEL_WIDTH = 220
CHART_WIDTH = 720
VALUE_WIDTH = 120
COLUMN_CHART_HEIGHT = 180
# Wagtail admin colours that keep a 3:1 contrast on white (bars) and 4.5:1 (text).
COLOURS = ("#2e1f5e", "#007d7e", "#cd4444")
TEXT_COLOUR = "#262626"


@dataclass(frozen=True)
class Series:
    """One set of bars: a name and one value per category."""

    name: str
    values: Sequence[int]


def bar_chart(*, title: str, categories: Sequence[str], series: Sequence[Series]) -> SafeString:
    """Horizontal grouped bars, one group per category, each bar labelled with its value."""
    group = len(series) * BAR_HEIGHT + BAR_GAP
    top = 28
    height = top + max(len(categories), 1) * group
    largest = max([value for item in series for value in item.values] + [1])
    scale = (CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH) / largest
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="t d" class="academy-chart" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" width="100%" style="max-width:{CHART_WIDTH}px">',
        f'<title id="t">{escape(title)}</title>',
        f'<desc id="d">{escape(_describe(categories, series))}</desc>',
    ]
    x = LABEL_WIDTH
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="16" font-size="12" fill="{TEXT_COLOUR}">{escape(item.name)}</text>')
        x += 16 + 8 * len(item.name) + 20
    for row, category in enumerate(categories):
        y = top + row * group
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 6}" font-size="13" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{escape(_short(category))}</text>'
        )
        for index, item in enumerate(series):
            value = item.values[row]
            bar_y = y + index * BAR_HEIGHT
            width = max(value * scale, 1 if value else 0)
            colour = COLOURS[index % len(COLOURS)]
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{bar_y + 2}" width="{width:.1f}" height="{BAR_HEIGHT - 4}" fill="{colour}">'
                f"<title>{escape(category)}: {escape(item.name)} {value}</title></rect>"
            )
            parts.append(
                f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{bar_y + BAR_HEIGHT - 7}" font-size="12" '
                f'fill="{TEXT_COLOUR}">{value}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def column_chart(*, title: str, labels: Sequence[str], values: Sequence[int]) -> SafeString:
    """Vertical bars over time (one per label), the largest value marked on the axis."""
    count = max(len(labels), 1)
    width = (CHART_WIDTH - 60) / count
    largest = max([*values, 1])
    scale = (COLUMN_CHART_HEIGHT - 40) / largest
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="ct cd" class="academy-chart" '
        f'viewBox="0 0 {CHART_WIDTH} {COLUMN_CHART_HEIGHT}" width="100%" style="max-width:{CHART_WIDTH}px">',
        f'<title id="ct">{escape(title)}</title>',
        f'<desc id="cd">{escape(", ".join(f"{label}: {value}" for label, value in zip(labels, values, strict=True)))}</desc>',
        f'<text x="0" y="24" font-size="12" fill="{TEXT_COLOUR}">{largest}</text>',
        f'<line x1="50" y1="{COLUMN_CHART_HEIGHT - 20}" x2="{CHART_WIDTH}" y2="{COLUMN_CHART_HEIGHT - 20}" stroke="{TEXT_COLOUR}"/>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = value * scale
        x = 55 + index * width
        parts.append(
            f'<rect x="{x:.1f}" y="{COLUMN_CHART_HEIGHT - 20 - height:.1f}" width="{max(width - 2, 1):.1f}" '
            f'height="{height:.1f}" fill="{COLOURS[1]}"><title>{escape(label)}: {value}</title></rect>'
        )
    if labels:
        parts.append(f'<text x="55" y="{COLUMN_CHART_HEIGHT - 4}" font-size="12" fill="{TEXT_COLOUR}">{escape(labels[0])}</text>')
        parts.append(
            f'<text x="{CHART_WIDTH}" y="{COLUMN_CHART_HEIGHT - 4}" font-size="12" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{escape(labels[-1])}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(categories: Sequence[str], series: Sequence[Series]) -> str:
    return "; ".join(
        f"{category}: " + ", ".join(f"{item.name} {item.values[row]}" for item in series)
        for row, category in enumerate(categories)
    )
