"""Multi-touch attribution, computed incrementally and stored for the reports.

``run(workspace_id)`` attributes the conversions that have no current credits: new ones, those
whose value changed through an adjustment since, and all of them after the settings changed.
Journeys are read in chunks of conversions (touches streamed in conversion order), so memory stays
bounded however many conversions wait. Pages never compute; they read ``attribution_credits``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select

from webapp.attribution.campaigns import CampaignResolver
from webapp.attribution.engine import split
from webapp.attribution.journey import Settings, Touch
from webapp.attribution.money import places_for, to_units
from webapp.attribution.settings import settings_key, settings_of
from webapp.extensions import db
from webapp.intake import click_ids
from webapp.intake.click_matching import supplied_click_ids
from webapp.models import (
    AdClick,
    AttributedConversion,
    AttributionCredit,
    Conversion,
    ConversionAdjustment,
    Touchpoint,
    Workspace,
)
from webapp.models.attribution import VALUE_PLACES
from webapp.models.types import utcnow
from webapp.sqlite import writing

CHUNK = 2000
NONE = "(none)"  # the channel of a conversion with no touch in the lookback window

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
            t.utm["utm_content"].as_string(),
            t.click_id,
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


@dataclass(frozen=True, slots=True)
class ClickTouch:
    """A click id the conversion was sent with (CRM, payments) whose visit SourceLoop did not
    capture for the conversion's visitor: it is still a paid touch of the click id's platform,
    at the click's time when SourceLoop saw the click (else at the conversion), and of the
    click's campaign when the captured click's landing named it."""

    channel: str
    at: datetime | None
    touchpoint_id: int | None
    campaign: str | None
    utm_id: str | None
    utm_content: str | None


def supplied_click_touches(
    workspace_id: int, conversion_ids: list[int]
) -> dict[int, list[tuple[str, ClickTouch]]]:
    """Per conversion, ``(click id, touch)`` for every click id it carries of an installed
    platform's parameter (one query for the ids, one for the captured clicks)."""
    catalog = click_ids.catalog()
    supplied = {
        cid: [(param, value) for param, value in ids.items() if param in catalog.params and value]
        for cid, ids in supplied_click_ids(conversion_ids).items()
    }
    wanted = {value for pairs in supplied.values() for _, value in pairs}
    captured: dict[tuple[str, str], tuple[Any, ...]] = {}
    for start in range(0, len(wanted), 500):
        chunk = sorted(wanted)[start : start + 500]
        for row in db.session.execute(
            select(AdClick.click_param, AdClick.click_id, AdClick.clicked_at, Touchpoint.id,
                   Touchpoint.campaign, Touchpoint.utm["utm_id"].as_string(),
                   Touchpoint.utm["utm_content"].as_string())
            .outerjoin(Touchpoint, Touchpoint.id == AdClick.touchpoint_id)
            .where(AdClick.workspace_id == workspace_id, AdClick.click_id.in_(chunk))
        ):  # fmt: skip
            captured[(row[0], row[1])] = row[2:]
    found: dict[int, list[tuple[str, ClickTouch]]] = {}
    for cid, pairs in supplied.items():
        for param, value in pairs:
            at, touchpoint_id, campaign, utm_id, utm_content = captured.get(
                (param, value), (None, None, None, None, None)
            )
            touch = ClickTouch(
                catalog.channel_of(param), at, touchpoint_id, campaign, utm_id, utm_content
            )
            found.setdefault(cid, []).append((value, touch))
    return found


def _credit_rows(
    workspace_id: int,
    rows: Iterable[Any],
    adjustments: dict[int, tuple[int, Decimal, str | None]],
    settings: Settings,
    resolver: CampaignResolver,
    clicks: dict[int, list[tuple[str, ClickTouch]]] | None = None,
) -> Iterator[list[tuple[Any, ...]]]:
    """Per conversion, its credit rows in ``_CREDIT_COLUMNS`` order (a list per conversion:
    this loop makes every credit row of the job, so each row is one small tuple joined to its
    touch's part, built once per touch)."""
    lookback = settings.lookback
    clicks = clicks or {}
    resolve = resolver.resolve
    for conversion_id, group in groupby(rows, key=itemgetter(0)):
        first = next(group)
        _, converted_at, value, currency = first[:4]
        if conversion_id in adjustments:
            _, value, adj_currency = adjustments[conversion_id]
            currency = adj_currency or currency
        value = value if value is not None else Decimal(0)
        places = places_for(value, currency)
        scale = 10 ** (VALUE_PLACES - places)
        start = converted_at - lookback
        # (time, touchpoint id, channel, campaign, utm_id, utm_content), oldest first
        found: list[tuple[datetime, int | None, str, str | None, str | None, str | None]] = []
        seen_clicks: set[str] = set()
        for row in (first, *group):
            if row[4] is not None:
                if row[10]:
                    seen_clicks.add(row[10])
                if row[5] >= start:
                    found.append((row[5], row[4], row[6], row[7], row[8], row[9]))
        if conversion_id in clicks:
            seen_touches = {f[1] for f in found}
            for click_id, click in clicks[conversion_id]:
                at = click.at or converted_at
                if click_id in seen_clicks or (
                    click.touchpoint_id is not None and click.touchpoint_id in seen_touches
                ):
                    continue  # the visitor's own captured visit is the touch already
                if start <= at <= converted_at:
                    found.append((at, click.touchpoint_id, click.channel, click.campaign,
                                  click.utm_id, click.utm_content))  # fmt: skip
                    seen_touches.add(click.touchpoint_id)
        if len(found) > 1:
            found.sort(key=lambda f: (f[0], f[1] if f[1] is not None else 0))
        touches = [Touch(f[0], f[2], f[1]) for f in found]
        # The touch-dependent columns, one tuple per touch; the last entry is the "no touch in
        # the window" credit, which ``split`` reports as index -1.
        tails: list[tuple[Any, ...]] = []
        for f in found:
            campaign = resolve(f[2], f[3], f[4], f[5])
            tails.append((workspace_id, conversion_id, f[1], f[2], campaign.label,
                          campaign.connection_id, campaign.entity_id, campaign.ad_group_id,
                          currency))  # fmt: skip
        tails.append((workspace_id, conversion_id, None, NONE, "", None, None, None, currency))
        parts = split(touches, to_units(value, places), settings)
        if scale == 1:
            yield [(model, money, share) + tails[i] for model, i, money, share in parts]
        else:
            yield [(model, money * scale, share) + tails[i] for model, i, money, share in parts]


# The order of the values in a credit row: those that differ per model first.
_CREDIT_COLUMNS = (
    "model", "value_e4", "conversions_e6", "workspace_id", "conversion_id", "touchpoint_id",
    "channel", "campaign", "connection_id", "campaign_entity_id", "ad_group_entity_id", "currency",
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
    clicks = supplied_click_touches(workspace_id, conversion_ids)
    credits = _credit_rows(workspace_id, list(rows), adjustments, settings, resolver, clicks)
    for conversion_credits in credits:
        batch += conversion_credits
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
