"""Retention: what is older than the workspace's limits is deleted, in bounded batches.

Page views (sessions with their touchpoints) and captured click ids older than
``retention_pageview_days`` (default 395, about 13 months), visitors idle that long with no
conversion left, and conversions older than ``retention_conversion_days`` (default 1095, three
years) with their ledger rows, adjustments and credits. Each batch is its own transaction and
the criteria are ages, so a run that stops (crash, deploy, time budget) loses nothing and the
next run resumes where it left off.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select

from webapp.common import audit
from webapp.common.errors import ServiceError
from webapp.extensions import db
from webapp.intake.tracking import settings_for
from webapp.models import (
    AdClick,
    Conversion,
    ConversionDelivery,
    DeliveryEvent,
    PushDecision,
    RealtimeDelivery,
    Touchpoint,
    TrackingSettings,
    Visitor,
    VisitSession,
)
from webapp.models.attribution import AttributedConversion, AttributionCredit
from webapp.models.types import utcnow

BATCH = 1000
MIN_DAYS, MAX_DAYS = 30, 3650


def _batches(
    ids_query: Callable[[], Any],
    remove: Callable[[list[int]], None],
    deadline: datetime | None,
) -> int:
    done = 0
    while deadline is None or utcnow() < deadline:
        ids = list(db.session.scalars(ids_query()))
        if not ids:
            break
        remove(ids)
        db.session.commit()
        done += len(ids)
    return done


def purge(
    workspace_id: int,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    deadline: datetime | None = None,
) -> dict[str, int]:
    """Delete what the workspace keeps no longer; → rows deleted by kind."""
    now = now or utcnow()
    settings = db.session.get(TrackingSettings, workspace_id)
    page_days = settings.retention_pageview_days if settings else 395
    conversion_days = settings.retention_conversion_days if settings else 1095
    page_cutoff = now - timedelta(days=page_days)
    conversion_cutoff = now - timedelta(days=conversion_days)
    counts: dict[str, int] = {}

    def drop_sessions(ids: list[int]) -> None:
        touchpoints = select(Touchpoint.id).where(Touchpoint.session_id.in_(ids))
        db.session.execute(delete(AdClick).where(AdClick.touchpoint_id.in_(touchpoints)))
        db.session.execute(delete(Touchpoint).where(Touchpoint.session_id.in_(ids)))
        db.session.execute(delete(VisitSession).where(VisitSession.id.in_(ids)))

    counts["sessions"] = _batches(
        lambda: (
            select(VisitSession.id)
            .where(
                VisitSession.workspace_id == workspace_id, VisitSession.last_hit_at < page_cutoff
            )
            .order_by(VisitSession.id)
            .limit(batch)
        ),
        drop_sessions,
        deadline,
    )

    counts["click_ids"] = _batches(
        lambda: (
            select(AdClick.id)
            .where(AdClick.workspace_id == workspace_id, AdClick.clicked_at < page_cutoff)
            .order_by(AdClick.id)
            .limit(batch)
        ),
        lambda ids: db.session.execute(delete(AdClick).where(AdClick.id.in_(ids))),
        deadline,
    )

    def drop_conversions(ids: list[int]) -> None:
        for model, column in (
            (AttributionCredit, AttributionCredit.conversion_id),
            (AttributedConversion, AttributedConversion.conversion_id),
            (DeliveryEvent, DeliveryEvent.conversion_id),
            (ConversionDelivery, ConversionDelivery.conversion_id),
            (PushDecision, PushDecision.conversion_id),
            (RealtimeDelivery, RealtimeDelivery.conversion_id),
        ):
            db.session.execute(delete(model).where(column.in_(ids)))
        db.session.execute(delete(Conversion).where(Conversion.id.in_(ids)))

    counts["conversions"] = _batches(
        lambda: (
            select(Conversion.id)
            .where(
                Conversion.workspace_id == workspace_id, Conversion.occurred_at < conversion_cutoff
            )
            .order_by(Conversion.id)
            .limit(batch)
        ),
        drop_conversions,
        deadline,
    )

    def drop_visitors(ids: list[int]) -> None:
        db.session.execute(delete(AdClick).where(AdClick.visitor_id.in_(ids)))
        db.session.execute(delete(Visitor).where(Visitor.id.in_(ids)))

    counts["visitors"] = _batches(
        lambda: (
            select(Visitor.id)
            .where(
                Visitor.workspace_id == workspace_id,
                Visitor.last_seen_at < page_cutoff,
                ~exists().where(Conversion.visitor_id == Visitor.id),
                ~exists().where(VisitSession.visitor_id == Visitor.id),
            )
            .order_by(Visitor.id)
            .limit(batch)
        ),
        drop_visitors,
        deadline,
    )
    return counts


def set_limits(
    workspace_id: int, pageview_days: int, conversion_days: int, *, actor_id: int | None = None
) -> None:
    for days in (pageview_days, conversion_days):
        if not MIN_DAYS <= days <= MAX_DAYS:
            raise ServiceError(f"Keep data between {MIN_DAYS} and {MAX_DAYS} days.")
    settings = settings_for(workspace_id)
    settings.retention_pageview_days = pageview_days
    settings.retention_conversion_days = conversion_days
    audit.record(
        "privacy.retention_changed",
        workspace_id=workspace_id,
        actor_id=actor_id,
        target=f"page views {pageview_days} d, conversions {conversion_days} d",
    )
    db.session.commit()


def workspace_ids() -> list[int]:
    return list(db.session.scalars(select(TrackingSettings.workspace_id)))
