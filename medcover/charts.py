"""Horizontal bar charts for server pages (templates/_chart_macros.html draws them).

Each bar is a share of the largest in per cent, so the template draws it in an SVG that stretches to its box while
the labels and values stay HTML text at the page's own size: readable at any width, never shrunk with the drawing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

Number = int | Decimal


@dataclass(frozen=True)
class Segment:
    #: the part's key: its CSS class and pattern (``d30``), the same in every bar and in the legend
    key: str
    #: the part in words ("31-60 days")
    label: str
    value: Number
    text: str
    #: where the part starts and how wide it is, in per cent of the chart's width
    start: float
    width: float


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number
    text: str
    segments: tuple[Segment, ...]


def _share(value: Number, largest: Number) -> float:
    return round(float(value) / float(largest) * 100, 2) if largest else 0.0


def stacked_bars(
    rows: Iterable[tuple[str, Sequence[tuple[str, str, Number]]]], *, text: Callable[[Number], str] = str
) -> list[Bar]:
    """One bar per ``(label, [(key, part label, value), ...])``, its parts side by side, scaled so the largest
    total fills the width. Parts of zero are left out; ``text`` writes a value for the page."""
    rows = [(label, [part for part in parts if part[2]]) for label, parts in rows]
    totals = [sum((part[2] for part in parts), 0) for _label, parts in rows]
    largest = max(totals, default=0)
    bars = []
    for (label, parts), total in zip(rows, totals, strict=True):
        start, segments = 0.0, []
        for key, part_label, value in parts:
            width = _share(value, largest)
            segments.append(Segment(key, part_label, value, text(value), start, width))
            start = round(start + width, 2)
        bars.append(Bar(label, total, text(total), tuple(segments)))
    return bars


def bars(rows: Iterable[tuple[str, Number]], *, text: Callable[[Number], str] = str) -> list[Bar]:
    """One plain bar per ``(label, value)``, scaled so the largest fills the width."""
    return stacked_bars(((label, [("bar", label, value)]) for label, value in rows), text=text)
