"""Which ad click a conversion (or a visitor) goes back to.

``resolve_click_id`` is the one answer the push uses: a click id the sender gave with the
conversion wins; otherwise the visitor's most recent captured click of that kind inside the
platform's window before the conversion (clicks after the conversion never count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AdClick, Conversion, Visitor
from webapp.models.types import utcnow

DEFAULT_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class ResolvedClick:
    param: str  # msclkid, gclid, fbclid
    click_id: str
    clicked_at: datetime | None  # None when the sender supplied the id without a captured click
    ad_click_id: int | None  # the AdClick row, when SourceLoop captured the click
    supplied: bool  # True when the conversion carried the id itself (API ``msclkid``)


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
        reference = target.occurred_at
        if param == "msclkid" and target.msclkid:
            captured = db.session.scalar(
                select(AdClick).where(
                    AdClick.workspace_id == target.workspace_id,
                    AdClick.click_param == "msclkid",
                    AdClick.click_id == target.msclkid,
                )
            )
            return ResolvedClick(
                "msclkid",
                target.msclkid,
                captured.clicked_at if captured else None,
                captured.id if captured else None,
                supplied=True,
            )
        visitor_id = target.visitor_id
    else:
        reference = at or utcnow()
        visitor_id = target.id
    if visitor_id is None:
        return None
    click = db.session.scalar(
        select(AdClick)
        .where(
            AdClick.visitor_id == visitor_id,
            AdClick.click_param == param,
            AdClick.clicked_at <= reference,
            AdClick.clicked_at >= reference - within,
        )
        .order_by(AdClick.clicked_at.desc(), AdClick.id.desc())
        .limit(1)
    )
    if click is None:
        return None
    return ResolvedClick(param, click.click_id, click.clicked_at, click.id, supplied=False)
