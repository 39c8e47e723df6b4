"""Small server-side SVG bar charts: no JavaScript, no CDN, nothing the CSP has to allow.

The SVG is built from numbers only (labels are escaped), so it is safe to mark up as HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 180
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 56, 22, 12


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def bar_chart(
    title: str,
    series: Sequence[tuple[date, Decimal | int]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    testid: str = "",
) -> Markup:
    """A labelled bar per day; the y axis shows 0 and a rounded maximum."""
    top = _nice_max(float(max((v for _, v in series), default=0)))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    n = max(len(series), 1)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.75)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" data-testid="{escape(testid)}" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}" '
        'stroke="#98a2b3" stroke-width="1"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 8}" text-anchor="end" font-size="11" '
        f'fill="#667085">{escape(fmt(top))}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + plot_h}" text-anchor="end" font-size="11" '
        'fill="#667085">0</text>',
    ]
    for i, (day, value) in enumerate(series):
        h = plot_h * float(value) / top
        x = PAD_LEFT + i * slot + (slot - bar_w) / 2
        y = PAD_TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="#2563eb" data-day="{day.isoformat()}" data-value="{value}">'
            f"<title>{day.isoformat()}: {escape(fmt(float(value)))}</title></rect>"
        )
    if series:
        for i in sorted({0, len(series) // 2, len(series) - 1}):
            x = PAD_LEFT + i * slot + slot / 2
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11" '
                f'fill="#667085">{series[i][0].strftime("%b %d")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only
