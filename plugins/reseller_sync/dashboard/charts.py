"""Horizontal bar charts as inline SVG, drawn on the server: no script, no CDN.

Every text in a chart (labels come from partner files: shop names, codes) is
escaped here, so the returned markup is safe to insert into any page or e-mail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_HEIGHT = 18
BAR_GAP = 6
LABEL_WIDTH = 220
BAR_AREA_WIDTH = 300
VALUE_WIDTH = 140
TITLE_HEIGHT = 22
LABEL_CHARACTERS = 32
BAR_COLOUR = "#3b6ea5"
TEXT_COLOUR = "#1f2933"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown_value: str | None = None
    """The value as a person reads it (``68.50 EUR``); the number itself when absent."""


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    value_format: Callable[[float], str] = lambda value: f"{value:g}",
) -> Markup:
    """One horizontal bar per item, longest first as given, with its label and value.

    Bars are scaled to the largest value; a chart of no bar says so in words.
    """
    width = LABEL_WIDTH + BAR_AREA_WIDTH + VALUE_WIDTH
    if not bars:
        height = TITLE_HEIGHT + BAR_HEIGHT
        body = _text(0, TITLE_HEIGHT + BAR_HEIGHT - 4, "no data", colour="#6b7280")
        return _svg(width, height, title, body)
    largest = max((bar.value for bar in bars), default=0) or 1
    height = TITLE_HEIGHT + len(bars) * (BAR_HEIGHT + BAR_GAP)
    parts: list[str] = []
    for index, bar in enumerate(bars):
        top = TITLE_HEIGHT + index * (BAR_HEIGHT + BAR_GAP)
        baseline = top + BAR_HEIGHT - 5
        length = max(1.0, BAR_AREA_WIDTH * max(bar.value, 0) / largest)
        label = _shortened(bar.label)
        shown = bar.shown_value if bar.shown_value is not None else value_format(bar.value)
        parts.append(
            f"<g><title>{escape(bar.label)}: {escape(shown)}</title>"
            + _text(0, baseline, label)
            + f'<rect x="{LABEL_WIDTH}" y="{top}" width="{length:.1f}" height="{BAR_HEIGHT}"'
            f' fill="{BAR_COLOUR}" rx="2"/>'
            + _text(LABEL_WIDTH + length + 6, baseline, shown)
            + "</g>"
        )
    return _svg(width, height, title, "".join(parts))


def _shortened(label: str) -> str:
    if len(label) <= LABEL_CHARACTERS:
        return label
    return label[: LABEL_CHARACTERS - 1] + "…"


def _text(x: float, y: float, content: str, *, colour: str = TEXT_COLOUR) -> str:
    return f'<text x="{x:.1f}" y="{y}" fill="{colour}">{escape(content)}</text>'


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' font-family="sans-serif" font-size="12" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<text x="0" y="14" font-weight="bold" fill="{TEXT_COLOUR}">{escape(title)}</text>'
        f"{body}</svg>"
    )
