"""Server-side SVG chart geometry (no JavaScript, no CDN: the CSP forbids both): views compute
rectangles and points here, templates draw them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # colour index
    title: str


@dataclass(frozen=True)
class GroupedBars:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # (y, category label)
    legend: list[tuple[int, str]]
    axis_y: float = 0.0  # the value axis under the bars
    ticks: list[tuple[float, str]] | None = None  # (x, value) at 0, half and the top


def grouped_bars(
    categories: list[str],
    series: list[str],
    values: dict[tuple[str, str], Decimal],
    *,
    fmt: str = "{:,.2f}",
    width: int = 640,
    label_width: int = 150,
    bar_height: int = 9,
) -> GroupedBars:
    """Horizontal bars: one group per category, one bar per series, scaled to the largest."""
    top = max([values.get((c, s), Decimal(0)) for c in categories for s in series] or [Decimal(0)])
    scale = float(width - label_width - 10) / float(top) if top > 0 else 0.0
    group = bar_height * len(series) + 12
    bars, labels = [], []
    for ci, category in enumerate(categories):
        y0 = ci * group + 6
        labels.append((y0 + group / 2 - 4, category))
        for si, name in enumerate(series):
            value = values.get((category, name), Decimal(0))
            bars.append(
                Bar(label_width, y0 + si * bar_height, max(0.0, float(value) * scale),
                    bar_height - 1, si, f"{category} · {name}: {fmt.format(value)}")
            )  # fmt: skip
    axis_y = max(group * len(categories) + 8, 36)
    plot = float(width - label_width - 10)
    ticks = [(label_width + plot * f, fmt.format(top * Decimal(str(f)))) for f in (0, 0.5, 1)]
    return GroupedBars(width, int(axis_y) + 22, bars, labels, list(enumerate(series)),
                       axis_y, ticks if top > 0 else [])  # fmt: skip


@dataclass(frozen=True)
class Dot:
    x: float
    radius: float
    label: str
    title: str
    in_window: bool


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    dots: list[Dot]
    window_x: float
    end_x: float


def timeline(
    start: datetime,
    end: datetime,
    points: list[tuple[datetime, Decimal, str, str, bool]],
    *,
    width: int = 640,
) -> Timeline:
    """Touches on a time axis ending at the conversion; a dot's area grows with its share."""
    first = min([start] + [p[0] for p in points])
    span = max((end - first).total_seconds(), 1.0)
    usable = width - 40

    def x(at: datetime) -> float:
        return 20 + usable * (at - first).total_seconds() / span

    dots = [
        Dot(x(at), 3 + 14 * float(share) ** 0.5, label, title, inside)
        for at, share, label, title, inside in points
    ]
    return Timeline(width, 90, dots, x(start), x(end))
