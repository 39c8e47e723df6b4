"""Reading insights back: per-account totals, daily series and the campaign → ad group → ad table,
with SourceLoop's own conversions and revenue beside the platform's.

Money is never summed across currencies: everything is grouped per connection (one account, one
currency). SourceLoop conversions are those whose visitor arrived through a click of the
platform's own click-id parameters (``Platform.click_ids``) before converting, or that were sent
with such a click id; a click id alone does not say which campaign it came from, so a conversion
is credited to a campaign only when that click's landing URL named it (utm_campaign equal to the
campaign's id or name). The rest show as the account's "not attributable" line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from webapp.extensions import db, platform_registry
from webapp.inputs import MAX_DAY, MIN_DAY, parse_day
from webapp.models import (
    AdClick,
    AdEntity,
    Connection,
    Conversion,
    ConversionAdjustment,
    GoalDiagnosticsDaily,
    InsightDaily,
    InsightSyncState,
    Touchpoint,
)
from webapp.models.insights import LEVELS
from webapp.models.types import utcnow
from webapp.services.attribution import supplied_click_ids
from webapp.services.errors import ServiceError
from webapp.services.insights_sync import last_complete_day

MAX_RANGE_DAYS = 731
ZERO = Decimal(0)
CHILD = {"campaign": "ad_group", "ad_group": "ad"}


def parse_range(
    start: str | None, end: str | None, *, default_days: int = 14, include_today: bool = False
) -> tuple[date, date]:
    """``from``/``to`` as YYYY-MM-DD (both optional); a bad or reversed range is a user error.

    Without ``to`` the range ends yesterday (complete days), or today with ``include_today``
    (the dashboard: a live workspace sees today's conversions; the day is marked partial)."""
    try:
        default_end = today() if include_today else last_complete_day()
        last = parse_day(end) if end else default_end
        first = parse_day(start) if start else last - timedelta(days=default_days - 1)
    except ValueError:
        raise ServiceError(
            f"Dates must look like 2026-10-31, between {MIN_DAY} and {MAX_DAY}."
        ) from None
    if first > last:
        raise ServiceError("The start date is after the end date.")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ServiceError(f"Choose a range of at most {MAX_RANGE_DAYS} days.")
    return first, last


def today() -> date:
    return utcnow().date()


def partial_from() -> date:
    """The first day whose figures are not final yet (today, UTC: pulls cover complete days)."""
    return last_complete_day() + timedelta(days=1)


def parse_level(level: str | None) -> str:
    level = level or "campaign"
    if level not in LEVELS:
        raise ServiceError("level must be campaign, ad_group or ad.")
    return level


@dataclass
class Totals:
    impressions: int = 0
    clicks: int = 0
    spend: Decimal = ZERO
    conversions: Decimal = ZERO
    revenue: Decimal = ZERO
    sl_conversions: int = 0
    sl_revenue: Decimal = ZERO

    def add(self, other: Totals) -> None:
        for name in ("impressions", "clicks", "spend", "conversions", "revenue"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def ctr(self) -> Decimal | None:
        return Decimal(self.clicks * 100) / self.impressions if self.impressions else None

    @property
    def cpa(self) -> Decimal | None:
        return self.spend / self.conversions if self.conversions else None

    @property
    def roas(self) -> Decimal | None:
        return self.revenue / self.spend if self.spend else None

    @property
    def sl_cpa(self) -> Decimal | None:
        return self.spend / self.sl_conversions if self.sl_conversions else None

    @property
    def sl_roas(self) -> Decimal | None:
        return self.sl_revenue / self.spend if self.spend else None


@dataclass
class Row:
    entity_id: str
    name: str
    status: str
    level: str
    totals: Totals
    removed: bool = False


@dataclass
class AccountInsights:
    connection: Connection
    currency: str
    totals: Totals
    daily: list[tuple[date, Totals]]
    rows: list[Row]
    level: str
    parent: AdEntity | None
    sync: InsightSyncState | None
    unattributed: Totals = field(default_factory=Totals)
    sl_other_currency: int = 0
    diagnostics: list[dict] = field(default_factory=list)


def _metric_sums(connection_id: int, level: str, start: date, end: date, by):  # noqa: ANN001, ANN202
    return db.session.execute(
        select(
            by,
            func.sum(InsightDaily.impressions),
            func.sum(InsightDaily.clicks),
            func.sum(InsightDaily.spend),
            func.sum(InsightDaily.conversions),
            func.sum(InsightDaily.revenue),
        )
        .where(
            InsightDaily.connection_id == connection_id,
            InsightDaily.level == level,
            InsightDaily.day.between(start, end),
        )
        .group_by(by)
        .order_by(by)
    ).all()


def _totals(row) -> Totals:  # noqa: ANN001
    money = [Decimal(str(v)) if v is not None else ZERO for v in row[3:6]]
    return Totals(int(row[1] or 0), int(row[2] or 0), *money)


def _entities(connection_id: int, level: str, parent_id: str | None) -> dict[str, AdEntity]:
    query = select(AdEntity).where(AdEntity.connection_id == connection_id, AdEntity.level == level)
    if parent_id is not None:
        query = query.where(AdEntity.parent_id == parent_id)
    return {e.entity_id: e for e in db.session.scalars(query)}


def click_params(connections: Iterable[Connection]) -> list[str]:
    """The click-id parameters of the connections' (installed) platforms."""
    registry = platform_registry()
    names: list[str] = []
    for key in dict.fromkeys(c.platform_key for c in connections):
        platform = registry.get(key)
        names.extend(d.name for d in (platform.click_ids if platform else ()))
    return list(dict.fromkeys(names))


def sourceloop_conversions(
    workspace_id: int, start: date, end: date, params: Collection[str]
) -> list[tuple[Decimal, str | None, str]]:
    """(current value, currency, utm_campaign of the click) per conversion that followed a click
    of one of ``params``. Refunds and value changes count: the latest adjustment is the value."""
    if not params:
        return []
    since = datetime.combine(start, time.min, UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, UTC)
    conversions = db.session.execute(
        select(
            Conversion.id,
            Conversion.visitor_id,
            Conversion.occurred_at,
            Conversion.value,
            Conversion.currency,
        ).where(
            Conversion.workspace_id == workspace_id,
            Conversion.occurred_at >= since,
            Conversion.occurred_at < until,
        )
    ).all()
    if not conversions:
        return []
    visitor_ids = {c.visitor_id for c in conversions if c.visitor_id is not None}
    clicks: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    by_click_id: dict[str, str] = {}
    if visitor_ids:
        for visitor_id, clicked_at, click_id, campaign in db.session.execute(
            select(AdClick.visitor_id, AdClick.clicked_at, AdClick.click_id, Touchpoint.campaign)
            .outerjoin(Touchpoint, Touchpoint.id == AdClick.touchpoint_id)
            .where(
                AdClick.workspace_id == workspace_id,
                AdClick.click_param.in_(list(params)),
                AdClick.visitor_id.in_(visitor_ids),
            )
        ):
            clicks[visitor_id].append((clicked_at, click_id, campaign or ""))
            by_click_id[click_id] = campaign or ""
    latest_adjustment = dict(
        db.session.execute(
            select(ConversionAdjustment.conversion_id, func.max(ConversionAdjustment.id))
            .where(ConversionAdjustment.conversion_id.in_([c.id for c in conversions]))
            .group_by(ConversionAdjustment.conversion_id)
        ).all()
    )
    adjusted = {}
    if latest_adjustment:
        adjusted = dict(
            db.session.execute(
                select(ConversionAdjustment.conversion_id, ConversionAdjustment.new_value).where(
                    ConversionAdjustment.id.in_(latest_adjustment.values())
                )
            ).all()
        )
    supplied = {
        cid: next((ids[p] for p in params if p in ids), None)
        for cid, ids in supplied_click_ids(c.id for c in conversions).items()
    }
    found = []
    for c in conversions:
        given = supplied.get(c.id)
        campaign = by_click_id.get(given) if given else None
        if campaign is None:
            before = [k for k in clicks.get(c.visitor_id, []) if k[0] <= c.occurred_at]
            if not before and not given:
                continue  # not a conversion from this platform's clicks
            campaign = max(before)[2] if before else ""
        value = adjusted.get(c.id, c.value)
        found.append((Decimal(str(value)) if value is not None else ZERO, c.currency, campaign))
    return found


def _credit(
    rows: list[Row],
    account: AccountInsights,
    conversions: list[tuple[Decimal, str | None, str]],
    level: str,
    *,
    claim_unmatched: bool,
) -> None:
    """Credit each SourceLoop conversion to the campaign its click named; the rest to the account
    when it is the workspace's only one (``claim_unmatched``: a click id does not say which
    account it belongs to, so with several accounts the rest is shown for the workspace)."""
    if level != "campaign":
        return  # a click names its campaign at most; ad groups and ads are never attributable
    by_key = {}
    for row in rows:
        by_key[row.entity_id.lower()] = row
        by_key.setdefault(row.name.lower(), row)
    for value, currency, campaign in conversions:
        if currency and currency != account.currency:
            account.sl_other_currency += 1
            continue
        target = by_key.get(campaign.lower()) if campaign else None
        if target is None and not claim_unmatched:
            continue
        bucket = target.totals if target is not None else account.unattributed
        bucket.sl_conversions += 1
        bucket.sl_revenue += value
        account.totals.sl_conversions += 1
        account.totals.sl_revenue += value


def _diagnostics(connection_id: int, start: date, end: date) -> list[dict]:
    found: dict[str, dict] = {}
    for d in db.session.scalars(
        select(GoalDiagnosticsDaily).where(
            GoalDiagnosticsDaily.connection_id == connection_id,
            GoalDiagnosticsDaily.day.between(start, end),
        )
    ):
        goal = found.setdefault(
            d.goal_id,
            {
                "goal_id": d.goal_id,
                "name": d.goal_name,
                "accepted": 0,
                "unattributed": 0,
                "reasons": {},
            },
        )
        goal["accepted"] += d.success_count
        goal["unattributed"] += d.unattributed_count
        for reason, count in (d.reasons or {}).items():
            goal["reasons"][reason] = goal["reasons"].get(reason, 0) + int(count)
    return sorted(found.values(), key=lambda g: g["name"])


def account_insights(
    connection: Connection,
    start: date,
    end: date,
    *,
    parent_level: str | None = None,
    parent_id: str | None = None,
    conversions: list | None = None,
    claim_unmatched: bool = True,
) -> AccountInsights:
    """One account's dashboard: totals and daily series at campaign level (what the account
    spent), and the table one level below ``parent`` (campaigns when no parent)."""
    level = CHILD[parent_level] if parent_level in CHILD and parent_id else "campaign"
    parent = None
    if level != "campaign":
        parent = db.session.scalar(
            select(AdEntity).where(
                AdEntity.connection_id == connection.id,
                AdEntity.level == parent_level,
                AdEntity.entity_id == parent_id,
            )
        )
        if parent is None:
            level, parent_id = "campaign", None
    daily = [
        (r[0], _totals(r))
        for r in _metric_sums(connection.id, "campaign", start, end, InsightDaily.day)
    ]
    totals = Totals()
    for _, t in daily:
        totals.add(t)
    sums = {
        r[0]: _totals(r)
        for r in _metric_sums(connection.id, level, start, end, InsightDaily.entity_id)
    }
    entities = _entities(connection.id, level, parent_id if level != "campaign" else None)
    ids = set(entities) | (set(sums) if level == "campaign" else set(sums) & set(entities))
    rows = [
        Row(
            entity_id=i,
            name=entities[i].name if i in entities else f"#{i}",
            status=entities[i].status if i in entities else "",
            level=level,
            totals=sums.get(i, Totals()),
            removed=i in entities and entities[i].removed_at is not None,
        )
        for i in ids
    ]
    rows.sort(key=lambda r: (-r.totals.spend, r.name.lower()))
    currency = (connection.currency or "").upper()
    account = AccountInsights(
        connection=connection,
        currency=currency,
        totals=totals,
        daily=daily,
        rows=rows,
        level=level,
        parent=parent,
        sync=db.session.get(InsightSyncState, connection.id),
        # Upload days are UTC; a range reaching yesterday includes today's uploads too.
        diagnostics=_diagnostics(
            connection.id, start, end + timedelta(days=int(end >= last_complete_day()))
        ),
    )
    if conversions is not None:
        _credit(rows, account, conversions, level, claim_unmatched=claim_unmatched)
    return account


def workspace_connections(workspace_id: int, platform_key: str | None = None) -> list[Connection]:
    """The workspace's connections to ``platform_key``, or to every installed platform that pulls
    insights."""
    if platform_key is None:
        keys = [p.key for p in platform_registry() if p.capabilities.pull_insights]
    else:
        keys = [platform_key]
    return list(
        db.session.scalars(
            select(Connection)
            .where(Connection.workspace_id == workspace_id, Connection.platform_key.in_(keys))
            .order_by(Connection.account_name, Connection.id)
        )
    )


def dashboard(
    workspace_id: int,
    start: date,
    end: date,
    *,
    connection_id: int | None = None,
    parent_level: str | None = None,
    parent_id: str | None = None,
) -> tuple[list[AccountInsights], bool]:
    """All connected ad accounts of the workspace (or one), and whether SourceLoop conversions
    could be shown per account (only when the workspace has exactly one account)."""
    accounts = workspace_connections(workspace_id)
    per_account = len(accounts) == 1
    # Always credited by campaign (the SourceLoop columns are always there); only the single
    # account also takes the conversions whose campaign is unknown.
    conversions = sourceloop_conversions(workspace_id, start, end, click_params(accounts))
    shown = [c for c in accounts if connection_id is None or c.id == connection_id]
    return [
        account_insights(
            c,
            start,
            end,
            parent_level=parent_level if connection_id == c.id else None,
            parent_id=parent_id if connection_id == c.id else None,
            conversions=conversions,
            claim_unmatched=per_account,
        )
        for c in shown
    ], per_account


def sourceloop_totals_by_currency(workspace_id: int, start: date, end: date) -> dict[str, Totals]:
    """SourceLoop's conversions from ad clicks for the whole workspace, per currency (used when
    several accounts share the workspace and a click cannot be told apart by account)."""
    out: dict[str, Totals] = {}
    params = click_params(workspace_connections(workspace_id))
    for value, currency, _ in sourceloop_conversions(workspace_id, start, end, params):
        t = out.setdefault((currency or "—").upper(), Totals())
        t.sl_conversions += 1
        t.sl_revenue += value
    return out


def api_rows(workspace_id: int, start: date, end: date, level: str) -> list[dict]:
    """Daily rows for the warehouse API: one per account, entity and day, money as strings."""
    accounts = {c.id: c for c in workspace_connections(workspace_id)}
    if not accounts:
        return []
    names = {
        (e.connection_id, e.entity_id): e
        for e in db.session.scalars(
            select(AdEntity).where(AdEntity.connection_id.in_(accounts), AdEntity.level == level)
        )
    }
    rows = []
    for m in db.session.scalars(
        select(InsightDaily)
        .where(
            InsightDaily.connection_id.in_(accounts),
            InsightDaily.level == level,
            InsightDaily.day.between(start, end),
        )
        .order_by(InsightDaily.day, InsightDaily.connection_id, InsightDaily.entity_id)
    ):
        entity = names.get((m.connection_id, m.entity_id))
        connection = accounts[m.connection_id]
        rows.append(
            {
                "date": m.day.isoformat(),
                "platform": connection.platform_key,
                "account_id": connection.account_id,
                "level": level,
                "entity_id": m.entity_id,
                "name": entity.name if entity else None,
                "parent_id": entity.parent_id if entity else None,
                "status": entity.status if entity else None,
                "impressions": m.impressions,
                "clicks": m.clicks,
                "spend": f"{Decimal(m.spend):.2f}",
                "currency": m.currency,
                "conversions": f"{Decimal(m.conversions):.2f}",
                "revenue": f"{Decimal(m.revenue):.2f}",
            }
        )
    return rows
