"""Which ad click a conversion (or a visitor) goes back to — one rule for every caller.

A click id the sender gave with the conversion wins; otherwise the visitor's most recent
captured click of that kind inside the platform's window before the conversion (clicks after
the conversion never count). ``best_click`` is the rule; ``resolve_clicks`` applies it to a batch
with one query (the push), ``resolve_click_id`` to one conversion or visitor (pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AdClick, Conversion, Visitor
from webapp.models.types import utcnow

DEFAULT_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Click:
    click_id: str
    clicked_at: datetime | None  # None: supplied by the sender, time unknown


@dataclass(frozen=True)
class ClickFinding:
    click: Click | None
    click_after_conversion: bool  # only clicks after the conversion were found


@dataclass(frozen=True)
class ResolvedClick:
    param: str  # msclkid, gclid, fbclid
    click_id: str
    clicked_at: datetime | None  # None when the sender supplied the id without a captured click
    ad_click_id: int | None  # the AdClick row, when SourceLoop captured the click
    supplied: bool  # True when the conversion carried the id itself (API ``msclkid``)


def best_click(
    clicks: Iterable[tuple[datetime, str]], occurred_at: datetime, window: timedelta
) -> ClickFinding:
    """The most recent ``(clicked_at, click_id)`` at or before ``occurred_at`` within ``window``."""
    best: tuple[datetime, str] | None = None
    later = False
    for clicked_at, click_id in clicks:
        if clicked_at > occurred_at:
            later = True
        elif clicked_at >= occurred_at - window and (best is None or clicked_at > best[0]):
            best = (clicked_at, click_id)
    return ClickFinding(Click(best[1], best[0]) if best else None, later and best is None)


def resolve_clicks(
    items: Sequence[tuple[int, int | None, datetime, str | None]],
    *,
    click_param: str,
    window: timedelta = DEFAULT_WINDOW,
) -> dict[int, ClickFinding]:
    """For ``(conversion_id, visitor_id, occurred_at, supplied_click_id)`` rows, the click each
    conversion goes back to. One query per call, however many conversions."""
    visitor_ids = {
        visitor_id for _, visitor_id, _, supplied in items if visitor_id and not supplied
    }
    by_visitor: dict[int, list[tuple[datetime, str]]] = {}
    if visitor_ids:
        earliest = min(occurred for _, _, occurred, _ in items) - window
        rows = db.session.execute(
            select(AdClick.visitor_id, AdClick.clicked_at, AdClick.click_id).where(
                AdClick.visitor_id.in_(visitor_ids),
                AdClick.click_param == click_param,
                AdClick.clicked_at >= earliest,
            )
        )
        for visitor_id, clicked_at, click_id in rows:
            by_visitor.setdefault(visitor_id, []).append((clicked_at, click_id))
    found: dict[int, ClickFinding] = {}
    for conversion_id, visitor_id, occurred_at, supplied in items:
        if supplied:
            found[conversion_id] = ClickFinding(Click(supplied, None), False)
        else:
            found[conversion_id] = best_click(
                by_visitor.get(visitor_id or -1, ()), occurred_at, window
            )
    return found


def resolve_click_id(
    target: Conversion | Visitor | int,
    param: str = "msclkid",
    within: timedelta = DEFAULT_WINDOW,
    *,
    at: datetime | None = None,
) -> ResolvedClick | None:
    """``target``: a Conversion, its id, or a Visitor. For a visitor the reference time is ``at``
    (default now); for a conversion, its ``occurred_at``."""
    if isinstance(target, int):
        target = db.session.get(Conversion, target)
        if target is None:
            return None
    if isinstance(target, Conversion):
        reference, visitor_id = target.occurred_at, target.visitor_id
        workspace_id = target.workspace_id
        supplied = target.msclkid if param == "msclkid" else None
    else:
        reference, visitor_id, workspace_id = at or utcnow(), target.id, target.workspace_id
        supplied = None
    finding = resolve_clicks(
        [(0, visitor_id, reference, supplied)], click_param=param, window=within
    )[0]
    if finding.click is None:
        return None
    captured = db.session.scalar(
        select(AdClick).where(
            AdClick.workspace_id == workspace_id,
            AdClick.click_param == param,
            AdClick.click_id == finding.click.click_id,
        )
    )
    return ResolvedClick(
        param,
        finding.click.click_id,
        captured.clicked_at if captured else None,
        captured.id if captured else None,
        supplied=bool(supplied),
    )
