"""Attribution reports, read from the precomputed credits: conversions and revenue per channel
and per campaign under every model side by side, cost and ROAS per campaign from the pulled
insights, and one conversion's journey with each touch's credit."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from webapp.accounts import workspaces
from webapp.attribution import credits as multitouch
from webapp.attribution import settings as multitouch_settings
from webapp.attribution.weights import MODEL_KEYS
from webapp.common.errors import NotFound, ServiceError
from webapp.extensions import db, platform_registry
from webapp.inputs import MAX_DAY, MIN_DAY, parse_day
from webapp.intake.channels import label as channel_label
from webapp.models import (
    AdEntity,
    AttributionCredit,
    Connection,
    Conversion,
    InsightDaily,
    Touchpoint,
    Visitor,
)
from webapp.models.attribution import SHARE_PLACES, VALUE_PLACES

MAX_DAYS = 731
NO_CURRENCY = ""


@dataclass
class Cell:
    conversions: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)


@dataclass
class Row:
    label: str
    channel: str
    cells: dict[str, Cell] = field(default_factory=lambda: {m: Cell() for m in MODEL_KEYS})
    cost: Decimal | None = None
    cost_currency: str | None = None

    def roas(self, model: str, currency: str) -> Decimal | None:
        """Credited revenue per unit of cost; only when both are in the same currency."""
        if not self.cost or self.cost_currency != currency:
            return None
        return (self.cells[model].revenue / self.cost).quantize(Decimal("0.01"))


@dataclass
class Report:
    start: date
    end: date
    currency: str
    currencies: list[str]
    channels: list[Row]
    campaigns: list[Row]
    totals: dict[str, Cell]
    pending: int


def parse_range(start: str | None, end: str | None, today: date | None = None) -> tuple[date, date]:
    """``YYYY-MM-DD`` bounds, both inclusive; the last 30 days by default."""
    today = today or datetime.now(UTC).date()
    try:
        last = parse_day(end) if end else today
        first = parse_day(start) if start else last - timedelta(days=29)
    except ValueError:
        raise ServiceError(
            f"Dates must look like 2026-03-01, between {MIN_DAY} and {MAX_DAY}."
        ) from None
    if first > last:
        raise ServiceError("The start date must not be after the end date.")
    if (last - first).days >= MAX_DAYS:
        raise ServiceError(f"Choose a range of at most {MAX_DAYS} days.")
    return first, last


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time.min, UTC),
        datetime.combine(end + timedelta(days=1), time.min, UTC),
    )


def _in_range(workspace_id: int, start: date, end: date):  # noqa: ANN202
    low, high = _bounds(start, end)
    return (
        AttributionCredit.workspace_id == workspace_id,
        Conversion.id == AttributionCredit.conversion_id,
        Conversion.occurred_at >= low,
        Conversion.occurred_at < high,
    )


def _currencies(workspace_id: int, start: date, end: date) -> list[str]:
    # Group by the raw column: PostgreSQL does not treat two bound copies of a COALESCE default
    # as the same expression, so the "no currency" label is applied here instead.
    rows = db.session.execute(
        select(AttributionCredit.currency, func.count())
        .select_from(AttributionCredit)
        .join(Conversion, Conversion.id == AttributionCredit.conversion_id)
        .where(*_in_range(workspace_id, start, end))
        .group_by(AttributionCredit.currency)
    ).all()
    counts: Counter[str] = Counter()
    for code, count in rows:
        counts[code or NO_CURRENCY] += count
    return [code for code, _ in counts.most_common()]


def _cell_sums(value_e4: int | None, conversions_e6: int | None) -> tuple[Decimal, Decimal]:
    return (
        Decimal(int(conversions_e6 or 0)).scaleb(-SHARE_PLACES),
        Decimal(int(value_e4 or 0)).scaleb(-VALUE_PLACES),
    )


def _default_currency(workspace_id: int, currencies: list[str]) -> str:
    """The workspace's currency when it has credits in it; else its most credited real currency
    (never "no currency" while a real one has revenue), so revenue shows on first open."""
    preferred = workspaces.default_currency(workspace_id)
    if preferred in currencies:
        return preferred
    real = [c for c in currencies if c != NO_CURRENCY]
    return (real or currencies or [preferred or "USD"])[0]


def report(workspace_id: int, start: date, end: date, currency: str | None = None) -> Report:
    currencies = _currencies(workspace_id, start, end)
    if currency is None or currency not in currencies:
        currency = _default_currency(workspace_id, currencies)
    c = AttributionCredit
    where = (*_in_range(workspace_id, start, end),
             func.coalesce(c.currency, NO_CURRENCY) == currency)  # fmt: skip
    channels: dict[str, Row] = {}
    campaigns: dict[tuple, Row] = {}
    names = {p.key: p.display_name for p in platform_registry()}
    totals = {m: Cell() for m in MODEL_KEYS}
    grouped = db.session.execute(
        select(c.model, c.channel, c.campaign, c.connection_id, c.campaign_entity_id,
               func.sum(c.value_e4), func.sum(c.conversions_e6))
        .select_from(c).join(Conversion, Conversion.id == c.conversion_id).where(*where)
        .group_by(c.model, c.channel, c.campaign, c.connection_id, c.campaign_entity_id)
    )  # fmt: skip
    for model, channel, campaign, connection_id, entity_id, value_e4, conv_e6 in grouped:
        conversions, revenue = _cell_sums(value_e4, conv_e6)
        for row in (
            channels.setdefault(channel, Row(channel_label(channel, names), channel)),
            campaigns.setdefault(
                (channel, connection_id, entity_id, campaign if entity_id is None else ""),
                Row(campaign or "(not set)", channel),
            ),
            None,
        ):
            cell = totals[model] if row is None else row.cells[model]
            cell.conversions += conversions
            cell.revenue += revenue
    _add_costs(workspace_id, start, end, campaigns)
    return Report(
        start, end, currency, currencies,
        sorted(channels.values(), key=lambda r: -r.cells["linear"].revenue),
        sorted(campaigns.values(), key=lambda r: (-(r.cost or 0), -r.cells["linear"].revenue)),
        totals, len(multitouch.pending_ids(workspace_id, multitouch_settings.settings_key(workspace_id), 10_000)),
    )  # fmt: skip


def _add_costs(workspace_id: int, start: date, end: date, campaigns: dict[tuple, Row]) -> None:
    """Spend of every pulled campaign in the range, also those no conversion was credited to."""
    spend = db.session.execute(
        select(InsightDaily.connection_id, InsightDaily.entity_id, InsightDaily.currency,
               func.sum(InsightDaily.spend), Connection.platform_key, AdEntity.name)
        .join(Connection, Connection.id == InsightDaily.connection_id)
        .outerjoin(AdEntity, (AdEntity.connection_id == InsightDaily.connection_id)
                   & (AdEntity.level == "campaign") & (AdEntity.entity_id == InsightDaily.entity_id))
        .where(Connection.workspace_id == workspace_id, InsightDaily.level == "campaign",
               InsightDaily.day >= start, InsightDaily.day <= end)
        .group_by(InsightDaily.connection_id, InsightDaily.entity_id, InsightDaily.currency,
                  Connection.platform_key, AdEntity.name)
    )  # fmt: skip
    for connection_id, entity_id, currency, total, platform_key, name in spend:
        row = campaigns.setdefault(
            (platform_key, connection_id, entity_id, ""), Row(name or entity_id, platform_key)
        )
        row.cost = (row.cost or Decimal(0)) + Decimal(str(total or 0))
        row.cost_currency = currency


@dataclass
class JourneyTouch:
    touch: Touchpoint
    in_window: bool
    credits: dict[str, Decimal]  # model → credited value
    shares: dict[str, Decimal]  # model → share of the conversion


@dataclass
class ClickCredit:
    """A click id sent with the conversion whose visit was not captured: a paid touch of its
    platform (``channel``), credited like a touchpoint."""

    channel: str
    campaign: str
    credits: dict[str, Decimal]
    shares: dict[str, Decimal]


@dataclass
class JourneyView:
    conversion: Conversion
    touches: list[JourneyTouch]
    unattributed: dict[str, Decimal]
    computed: bool
    window_start: datetime
    clicks: list[ClickCredit] = field(default_factory=list)
    # Why nothing took credit (code, words), when the conversion is unattributed.
    why: tuple[str, str] | None = None


def unattributed_reason(
    *,
    has_visitor: bool,
    touches: int,
    touches_in_window: int,
    click_ids: int,
    consent_denied: bool,
    lookback_days: int,
) -> tuple[str, str]:
    """Why a conversion has no touch in its lookback window, in the admin's words. Pure: the
    journey page and the tests call it with counts."""
    consent = (
        " The visitor refused consent to ad storage, so ad click ids were not kept."
        if consent_denied
        else ""
    )
    if touches and not touches_in_window:
        return "outside_lookback", (
            f"The visitor's {touches} visit(s) happened more than {lookback_days} days before "
            "the conversion, outside the lookback window (Attribution → Settings)." + consent
        )
    if click_ids:
        return "click_outside_lookback", (
            "The click id sent with the conversion belongs to a click older than the lookback "
            f"window ({lookback_days} days), or to an ad platform that is not installed." + consent
        )
    if consent_denied:
        return "consent", "The visitor refused consent to ad storage: no visit or click was kept."
    if not has_visitor:
        return "no_visitor", (
            "The conversion came without a visitor id and without a click id, so it cannot be "
            "linked to any visit or ad click. Send the pixel's visitor id or the click id with it."
        )
    return "no_visit", (
        "No visit of this visitor was captured before the conversion (the pixel did not run on "
        "the landing page, or was blocked), and no click id came with the conversion."
    )


def journey(workspace_id: int, conversion_id: int) -> JourneyView:
    conversion = db.session.get(Conversion, conversion_id)
    if conversion is None or conversion.workspace_id != workspace_id:
        raise NotFound("That conversion does not exist in this workspace.")
    config = multitouch_settings.get(workspace_id)
    window_start = conversion.occurred_at - config.engine.lookback
    credits = db.session.execute(
        select(AttributionCredit.touchpoint_id, AttributionCredit.channel,
               AttributionCredit.campaign, AttributionCredit.model,
               AttributionCredit.value_e4, AttributionCredit.conversions_e6)
        .where(AttributionCredit.conversion_id == conversion_id)
    ).all()  # fmt: skip
    credited_touch_ids = {r[0] for r in credits if r[0] is not None}
    touches: list[Touchpoint] = []
    if conversion.visitor_id is not None or credited_touch_ids:
        who = []
        if conversion.visitor_id is not None:
            who.append(Touchpoint.visitor_id == conversion.visitor_id)
        if credited_touch_ids:  # a click id sent with the conversion, captured for another visit
            who.append(Touchpoint.id.in_(credited_touch_ids))
        touches = list(db.session.scalars(
            select(Touchpoint)
            .where(or_(*who), Touchpoint.occurred_at <= conversion.occurred_at)
            .order_by(Touchpoint.occurred_at, Touchpoint.id)
        ))  # fmt: skip
    by_touch: dict[int | None, dict[str, tuple[Decimal, Decimal]]] = {}
    clicks: dict[tuple[str, str], ClickCredit] = {}
    unattributed: dict[str, Decimal] = {}
    for touchpoint_id, channel, campaign, model, value_e4, conv_e6 in credits:
        shares, value = _cell_sums(value_e4, conv_e6)
        if touchpoint_id is not None:
            by_touch.setdefault(touchpoint_id, {})[model] = (value, shares)
        elif channel == multitouch.NONE:
            unattributed[model] = value
        else:
            click = clicks.setdefault(
                (channel, campaign), ClickCredit(channel, campaign or "", {}, {})
            )
            click.credits[model], click.shares[model] = value, shares
    zero = (Decimal(0), Decimal(0))
    rows = [
        JourneyTouch(
            t,
            t.occurred_at >= window_start,
            {m: by_touch.get(t.id, {}).get(m, zero)[0] for m in MODEL_KEYS},
            {m: by_touch.get(t.id, {}).get(m, zero)[1] for m in MODEL_KEYS},
        )
        for t in touches
    ]
    for click in clicks.values():
        for m in MODEL_KEYS:
            click.credits.setdefault(m, Decimal(0))
            click.shares.setdefault(m, Decimal(0))
    why = None
    if unattributed:
        visitor = db.session.get(Visitor, conversion.visitor_id) if conversion.visitor_id else None
        why = unattributed_reason(
            has_visitor=conversion.visitor_id is not None,
            touches=len(rows),
            touches_in_window=sum(1 for r in rows if r.in_window),
            click_ids=len(conversion.click_ids),
            consent_denied="denied"
            in (conversion.consent_state, visitor.consent_state if visitor else ""),
            lookback_days=config.lookback_days,
        )
    return JourneyView(
        conversion, rows, unattributed, bool(credits), window_start, list(clicks.values()), why
    )


def recent_conversions(
    workspace_id: int, start: date, end: date, limit: int = 25
) -> list[Conversion]:
    low, high = _bounds(start, end)
    return list(db.session.scalars(
        select(Conversion)
        .where(Conversion.workspace_id == workspace_id,
               Conversion.occurred_at >= low, Conversion.occurred_at < high)
        .order_by(Conversion.occurred_at.desc(), Conversion.id.desc())
        .limit(limit)
    ))  # fmt: skip
