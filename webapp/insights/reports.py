"""Reading insights back: per-account totals, daily series and the campaign → ad group → ad table,
with SourceLoop's own conversions and revenue beside the platform's.

Money is never summed across currencies: everything is grouped per connection (one account, one
currency). SourceLoop's figures are the attribution credits of the platform under the workspace's
model for ad platforms (``webapp.attribution.by_platform``, the one read the cross-platform table
and the dashboard share): a campaign gets the credit of touches that named it (campaign id, name
or ad group name on the landing URL); the platform's credit whose campaign is not known goes to
the account when it is the platform's only connected account, else it shows for the platform in
the cross-platform table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from webapp.attribution import by_platform
from webapp.common.errors import ServiceError
from webapp.extensions import db, platform_registry
from webapp.inputs import MAX_DAY, MIN_DAY, parse_day
from webapp.insights.sync import last_complete_day
from webapp.models import (
    AdEntity,
    Connection,
    GoalDiagnosticsDaily,
    InsightDaily,
    InsightSyncState,
)
from webapp.models.insights import LEVELS
from webapp.models.types import utcnow
from webapp.push import states as push_states

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
    sl_conversions: Decimal = ZERO
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
    sl_other_currency: Decimal = ZERO
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


def _credit(
    account: AccountInsights,
    credited: dict[by_platform.CreditKey, by_platform.Credited],
    *,
    claim_unmatched: bool,
) -> None:
    """SourceLoop's credited conversions and revenue: per campaign row (campaign level), in the
    account's totals, and the part whose campaign is not known when ``claim_unmatched``."""
    connection = account.connection
    rows = {r.entity_id: r for r in account.rows} if account.level == "campaign" else {}
    for (platform_key, connection_id, entity_id, currency), figures in credited.items():
        if platform_key != connection.platform_key:
            continue
        mine = connection_id == connection.id
        if not mine and not (connection_id is None and claim_unmatched):
            continue
        if currency != account.currency:
            account.sl_other_currency += figures.conversions
            continue
        if mine and entity_id in rows:
            rows[entity_id].totals.sl_conversions += figures.conversions
            rows[entity_id].totals.sl_revenue += figures.revenue
        elif not mine and account.level == "campaign":
            account.unattributed.sl_conversions += figures.conversions
            account.unattributed.sl_revenue += figures.revenue
        account.totals.sl_conversions += figures.conversions
        account.totals.sl_revenue += figures.revenue


def _credit_ad_groups(
    account: AccountInsights, groups: dict[tuple[str | None, str], by_platform.Credited]
) -> None:
    """One campaign's SourceLoop figures per ad group row; the part whose ad group is not known
    in ``unattributed`` (the rows and that part add up to the campaign's figures)."""
    rows = {r.entity_id: r for r in account.rows}
    for (group, currency), figures in groups.items():
        if currency != account.currency:
            continue  # counted in the account's "other currency" note already
        bucket = rows[group].totals if group in rows else account.unattributed
        bucket.sl_conversions += figures.conversions
        bucket.sl_revenue += figures.revenue


def _diagnostics(connection: Connection, start: date, end: date) -> list[dict]:
    """The platform's diagnostics per goal over the range, with its reasons in its own words
    (``reason_text``, from the plugin; the codes stay in ``reasons``)."""
    connection_id = connection.id
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
    platform = platform_registry().get(connection.platform_key)
    for goal in found.values():
        goal["reason_text"] = push_states.diagnostic_words(platform, goal["reasons"])
    return sorted(found.values(), key=lambda g: g["name"])


def account_insights(
    connection: Connection,
    start: date,
    end: date,
    *,
    parent_level: str | None = None,
    parent_id: str | None = None,
    credited: dict[by_platform.CreditKey, by_platform.Credited] | None = None,
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
    currency = by_platform.currencies_of([connection])[connection.id]
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
            connection, start, end + timedelta(days=int(end >= last_complete_day()))
        ),
    )
    if credited is not None:
        _credit(account, credited, claim_unmatched=claim_unmatched)
    return account


def workspace_connections(workspace_id: int, platform_key: str | None = None) -> list[Connection]:
    """The workspace's connections to ``platform_key``, or to every installed platform that pulls
    insights."""
    if platform_key is None:
        return by_platform.insights_connections(workspace_id)
    return list(
        db.session.scalars(
            select(Connection)
            .where(Connection.workspace_id == workspace_id, Connection.platform_key == platform_key)
            .order_by(Connection.account_name, Connection.id)
        )
    )


@dataclass
class Dashboard:
    accounts: list[AccountInsights]
    cross: by_platform.CrossPlatform
    # platform key → whether it has exactly one account (which then also takes the credit whose
    # campaign is not known; with several, that credit shows in the cross-platform table only)
    sole_account: dict[str, bool]


def dashboard(
    workspace_id: int,
    start: date,
    end: date,
    *,
    connection_id: int | None = None,
    parent_level: str | None = None,
    parent_id: str | None = None,
    model: str | None = None,
) -> Dashboard:
    """All connected ad accounts of the workspace (or one) with SourceLoop's credited figures,
    and the cross-platform table they add up to."""
    cross = by_platform.cross_platform(workspace_id, start, end, model)
    accounts = workspace_connections(workspace_id)
    per_platform: dict[str, int] = {}
    for c in accounts:
        per_platform[c.platform_key] = per_platform.get(c.platform_key, 0) + 1
    credited = by_platform.credited(workspace_id, start, end, cross.model.key, sorted(per_platform))
    shown = [c for c in accounts if connection_id is None or c.id == connection_id]
    pages = [
        account_insights(
            c,
            start,
            end,
            parent_level=parent_level if connection_id == c.id else None,
            parent_id=parent_id if connection_id == c.id else None,
            credited=credited,
            claim_unmatched=per_platform[c.platform_key] == 1,
        )
        for c in shown
    ]
    for page in pages:
        if page.level == "ad_group" and page.parent is not None:
            _credit_ad_groups(
                page,
                by_platform.credited_ad_groups(
                    workspace_id, start, end, cross.model.key, page.connection.id,
                    page.parent.entity_id,
                ),
            )  # fmt: skip
    return Dashboard(pages, cross, {key: n == 1 for key, n in per_platform.items()})


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
