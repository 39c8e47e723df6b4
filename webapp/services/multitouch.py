"""Multi-touch attribution, computed incrementally and stored for the reports.

``run(workspace_id)`` attributes the conversions that have no current credits: new ones, those
whose value changed through an adjustment since, and all of them after the settings changed.
Journeys are read in chunks of conversions (touches streamed in conversion order), so memory stays
bounded however many conversions wait. Pages never compute; they read ``attribution_credits``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select

from webapp.extensions import db
from webapp.models import (
    AttributedConversion,
    AttributionCredit,
    Conversion,
    ConversionAdjustment,
    Touchpoint,
    Workspace,
)
from webapp.models.multitouch import VALUE_PLACES
from webapp.models.types import utcnow
from webapp.multitouch.engine import split
from webapp.multitouch.journey import Settings, Touch
from webapp.multitouch.money import places_for, to_units
from webapp.services.multitouch_campaigns import CampaignResolver
from webapp.services.multitouch_settings import settings_key, settings_of
from webapp.sqlite import writing

CHUNK = 2000

_credits = AttributionCredit.__table__
_done = AttributedConversion.__table__


def pending_ids(workspace_id: int, key: str, limit: int) -> list[int]:
    """Conversions without current credits, oldest id first."""
    state = AttributedConversion
    newer_adjustment = exists().where(
        ConversionAdjustment.conversion_id == Conversion.id,
        ConversionAdjustment.id > func.coalesce(state.last_adjustment_id, 0),
    )
    query = (
        select(Conversion.id)
        .outerjoin(state, state.conversion_id == Conversion.id)
        .where(
            Conversion.workspace_id == workspace_id,
            or_(state.conversion_id.is_(None), state.settings_key != key, newer_adjustment),
        )
        .order_by(Conversion.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def journey_query(conversion_ids: list[int]) -> Any:
    """Every conversion of the chunk with the touches of its visitor up to the conversion,
    in conversion order (a conversion without touches comes once, with NULL touch columns)."""
    c, t = Conversion, Touchpoint
    return (
        select(
            c.id,
            c.occurred_at,
            c.value,
            c.currency,
            t.id,
            t.occurred_at,
            t.channel,
            t.campaign,
            t.utm["utm_id"].as_string(),
        )  # fmt: skip
        .outerjoin(t, and_(t.visitor_id == c.visitor_id, t.occurred_at <= c.occurred_at))
        .where(c.id.in_(conversion_ids))
        .order_by(c.id, t.occurred_at, t.id)
    )


def _latest_adjustments(conversion_ids: list[int]) -> dict[int, tuple[int, Decimal, str | None]]:
    rows = db.session.execute(
        select(
            ConversionAdjustment.conversion_id,
            ConversionAdjustment.id,
            ConversionAdjustment.new_value,
            ConversionAdjustment.currency,
        )
        .where(ConversionAdjustment.conversion_id.in_(conversion_ids))
        .order_by(ConversionAdjustment.id)
    )
    return {
        conversion_id: (adj_id, value, currency) for conversion_id, adj_id, value, currency in rows
    }


def _credit_rows(
    workspace_id: int,
    rows: Iterable[Any],
    adjustments: dict[int, tuple[int, Decimal, str | None]],
    settings: Settings,
    resolver: CampaignResolver,
) -> Iterator[tuple[Any, ...]]:
    lookback = settings.lookback
    for conversion_id, group in groupby(rows, key=lambda r: r[0]):
        first = next(group)
        _, converted_at, value, currency = first[:4]
        if conversion_id in adjustments:
            _, value, adj_currency = adjustments[conversion_id]
            currency = adj_currency or currency
        value = value if value is not None else Decimal(0)
        places = places_for(value, currency)
        scale = 10 ** (VALUE_PLACES - places)
        start = converted_at - lookback
        touches: list[Touch] = []
        extra: list[tuple[str, str | None, str | None]] = []
        for row in (first, *group):
            if row[4] is not None and row[5] >= start:
                touches.append(Touch(row[5], row[6], row[4]))
                extra.append((row[6], row[7], row[8]))
        campaigns = [resolver.resolve(*e) for e in extra]
        for model, i, money, share in split(touches, to_units(value, places), settings):
            if i < 0:
                touch_id, channel, label, connection_id, entity_id = None, "(none)", "", None, None
            else:
                touch, campaign = touches[i], campaigns[i]
                touch_id, channel = touch.id, touch.channel
                label, connection_id = campaign.label, campaign.connection_id
                entity_id = campaign.entity_id
            yield (
                workspace_id,
                conversion_id,
                model,
                touch_id,
                channel,
                label,
                connection_id,
                entity_id,
                currency,
                money * scale,
                share,
            )


_CREDIT_COLUMNS = (
    "workspace_id", "conversion_id", "model", "touchpoint_id", "channel", "campaign",
    "connection_id", "campaign_entity_id", "currency", "value_e4", "conversions_e6",
)  # fmt: skip


def _bulk_insert_sql() -> str:
    """A plain INSERT for the driver's executemany: credits are millions of narrow rows of ints
    and strings, and per-row SQLAlchemy parameter processing would cost more than the models."""
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    columns, marks = ", ".join(_CREDIT_COLUMNS), ", ".join([mark] * len(_CREDIT_COLUMNS))
    return f"INSERT INTO {_credits.name} ({columns}) VALUES ({marks})"  # noqa: S608 (constants)


def attribute_chunk(
    workspace_id: int, conversion_ids: list[int], settings: Settings, key: str,
    resolver: CampaignResolver,
) -> int:  # fmt: skip
    """Replace the credits of these conversions and mark them current; one transaction."""
    adjustments = _latest_adjustments(conversion_ids)
    rows = db.session.execute(journey_query(conversion_ids).execution_options(yield_per=5000))
    db.session.execute(delete(_credits).where(_credits.c.conversion_id.in_(conversion_ids)))
    db.session.execute(delete(_done).where(_done.c.conversion_id.in_(conversion_ids)))
    writer = _bulk_insert_sql()
    batch: list[tuple[Any, ...]] = []
    for credit in _credit_rows(workspace_id, list(rows), adjustments, settings, resolver):
        batch.append(credit)
        if len(batch) >= 10_000:
            db.session.connection().exec_driver_sql(writer, batch)
            batch = []
    if batch:
        db.session.connection().exec_driver_sql(writer, batch)
    now = utcnow()
    db.session.execute(
        insert(_done),
        [
            {
                "conversion_id": cid,
                "workspace_id": workspace_id,
                "last_adjustment_id": adjustments[cid][0] if cid in adjustments else None,
                "settings_key": key,
                "computed_at": now,
            }
            for cid in conversion_ids
        ],
    )
    db.session.commit()
    return len(conversion_ids)


def run(
    workspace_id: int,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    deadline: datetime | None = None,
) -> int:
    """Attribute every pending conversion of the workspace; returns how many were (re)done."""
    settings = settings_of(workspace_id)
    key = settings_key(workspace_id)
    resolver = CampaignResolver(workspace_id)
    done = 0
    while True:
        db.session.commit()  # end the read transaction: the chunk begins its own, writing
        with writing():
            ids = pending_ids(workspace_id, key, chunk)
            if not ids:
                db.session.commit()
                return done
            done += attribute_chunk(workspace_id, ids, settings, key, resolver)
        if progress is not None:
            progress(done)
        if deadline is not None and utcnow() >= deadline:
            return done


def workspaces_with_pending() -> list[int]:
    """Workspaces that have conversions without current credits (cheap check per workspace)."""
    result = []
    for workspace_id in db.session.scalars(select(Workspace.id).order_by(Workspace.id)):
        if pending_ids(workspace_id, settings_key(workspace_id), 1):
            result.append(workspace_id)
    return result
