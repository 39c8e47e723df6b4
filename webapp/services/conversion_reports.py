"""Reading conversions back for people: the filtered list and one conversion's journey."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db, platform_registry
from webapp.models import AdClick, Conversion, ConversionClickId, Touchpoint, Visitor
from webapp.services.attribution import ResolvedClick, resolve_click_id
from webapp.services.errors import NotFound

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    event: str = ""
    source: str = ""
    search: str = ""  # external id, visitor id or click id
    since: datetime | None = None
    until: datetime | None = None


def listing(workspace_id: int, filters: Filters, page: int = 1) -> tuple[list[Conversion], int]:
    query = select(Conversion).where(Conversion.workspace_id == workspace_id)
    if filters.event:
        query = query.where(Conversion.event == filters.event)
    if filters.source:
        query = query.where(Conversion.source == filters.source)
    if filters.since:
        query = query.where(Conversion.occurred_at >= filters.since)
    if filters.until:
        query = query.where(Conversion.occurred_at < filters.until)
    if filters.search:
        term = filters.search.strip()
        clicked = select(AdClick.visitor_id).where(
            AdClick.workspace_id == workspace_id, AdClick.click_id == term
        )

        by_uid = select(Visitor.id).where(Visitor.workspace_id == workspace_id, Visitor.uid == term)
        query = query.where(
            or_(
                Conversion.external_id == term,
                Conversion.id.in_(
                    select(ConversionClickId.conversion_id).where(
                        ConversionClickId.click_id == term
                    )
                ),
                Conversion.visitor_id.in_(clicked),
                Conversion.visitor_id.in_(by_uid),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(selectinload(Conversion.visitor))
        .order_by(Conversion.occurred_at.desc(), Conversion.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total or 0


def click_ids_by_visitor(visitor_ids: set[int]) -> dict[int, list[AdClick]]:
    found: dict[int, list[AdClick]] = {}
    if not visitor_ids:
        return found
    for click in db.session.scalars(
        select(AdClick).where(AdClick.visitor_id.in_(visitor_ids)).order_by(AdClick.clicked_at)
    ):
        found.setdefault(click.visitor_id, []).append(click)
    return found


def get(workspace_id: int, conversion_id: int) -> Conversion:
    conversion = db.session.get(Conversion, conversion_id)
    if conversion is None or conversion.workspace_id != workspace_id:
        raise NotFound("That conversion does not exist.")
    return conversion


def journey(conversion: Conversion, limit: int = 100) -> list[Touchpoint]:
    """The visitor's touchpoints up to the conversion, oldest first."""
    if conversion.visitor_id is None:
        return []
    rows = db.session.scalars(
        select(Touchpoint)
        .where(
            Touchpoint.visitor_id == conversion.visitor_id,
            Touchpoint.occurred_at <= conversion.occurred_at,
        )
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


@dataclass(frozen=True)
class PlatformClick:
    platform: str  # display name
    param: str
    resolved: ResolvedClick | None
    window_days: int


def resolved_clicks(conversion: Conversion) -> list[PlatformClick]:
    """The click each installed platform would be sent for this conversion, per parameter."""
    return [
        PlatformClick(
            platform.display_name,
            declared.name,
            resolve_click_id(conversion, declared.name, declared.window),
            declared.window.days,
        )
        for platform in platform_registry()
        for declared in platform.click_ids
    ]
