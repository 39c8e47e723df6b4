"""Small server-side SVG bar charts: no JavaScript, no CDN, nothing the CSP has to allow.

The SVG is built from numbers only (labels are escaped), so it is safe to mark up as HTML.
It is drawn at its real pixel size (it only shrinks on a narrow screen), so its text is the size
it says: a visible title, y-axis values at 0, half and the top, and dated x-axis ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 440, 220
PAD_LEFT, PAD_RIGHT, PAD_BOTTOM, PAD_TOP = 64, 10, 28, 34
FONT, TITLE_FONT = 12, 14
INK, MUTED, GRID = "#1d2939", "#475467", "#e4e7ec"
BAR, BAR_PARTIAL = "#2563eb", "#93b4f5"
MAX_X_LABELS = 6


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def _x_ticks(n: int) -> list[int]:
    """Evenly spaced day indexes, the last day always among them, never two side by side."""
    if n <= MAX_X_LABELS:
        return list(range(n))
    step = -(-(n - 1) // (MAX_X_LABELS - 1))  # ceil
    ticks = list(range(0, n - 1, step))
    if n - 1 - ticks[-1] < max(2, step // 2):
        ticks.pop()
    return [*ticks, n - 1]


def bar_chart(
    title: str,
    series: Sequence[tuple[date, Decimal | int]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    testid: str = "",
    partial_from: date | None = None,
) -> Markup:
    """A bar per day. Days from ``partial_from`` on are drawn lighter and labelled partial."""
    top = _nice_max(float(max((v for _, v in series), default=0)))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP
    base_y = PAD_TOP + plot_h
    n = max(len(series), 1)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.75)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" data-testid="{escape(testid)}" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="0" y="{TITLE_FONT + 2}" font-size="{TITLE_FONT}" '
        f'font-weight="600" fill="{INK}">{escape(title)}</text>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = base_y - plot_h * fraction
        colour = MUTED if fraction == 0 else GRID
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-axis y" x="{PAD_LEFT - 6}" y="{y + FONT / 3:.1f}" text-anchor="end" '
            f'font-size="{FONT}" fill="{MUTED}">{escape(fmt(top * fraction))}</text>'
        )
    for i, (day, value) in enumerate(series):
        h = plot_h * float(value) / top
        x = PAD_LEFT + i * slot + (slot - bar_w) / 2
        partial = partial_from is not None and day >= partial_from
        label = f"{day.isoformat()}{' (partial day)' if partial else ''}: {fmt(float(value))}"
        parts.append(
            f'<rect class="bar{" partial" if partial else ""}" x="{x:.1f}" y="{base_y - h:.1f}" '
            f'width="{bar_w:.1f}" height="{h:.1f}" fill="{BAR_PARTIAL if partial else BAR}" '
            f'data-day="{day.isoformat()}" data-value="{value}"><title>{escape(label)}</title></rect>'
        )
    for i in _x_ticks(len(series)):
        day = series[i][0]
        x = PAD_LEFT + i * slot + slot / 2
        text = "Today (partial)" if partial_from is not None and day >= partial_from else (
            day.strftime("%b %d")
        )  # fmt: skip
        anchor = "end" if i == len(series) - 1 and len(series) > 1 else "middle"
        parts.append(
            f'<text class="chart-axis x" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
            f'font-size="{FONT}" fill="{MUTED}">{escape(text)}</text>'
        )
    if not series:
        parts.append(
            f'<text x="{PAD_LEFT + plot_w / 2:.1f}" y="{PAD_TOP + plot_h / 2:.1f}" '
            f'text-anchor="middle" font-size="{FONT}" fill="{MUTED}">No data in this range</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only
