"""Every connected ad platform side by side: spend, clicks and the platform's own conversions
(pulled insights) beside SourceLoop's conversions and revenue credited to the platform under one
attribution model (the stored credits), and the ROAS of both.

Computed here once and read by Insights, Attribution and the dashboard: ``cross_platform`` for
the table, ``credited`` for SourceLoop's figures per account and campaign (Insights' columns).
Nothing here names a platform: a platform is a registry key, and a credit belongs to it when its
channel is that key (a landing with one of its click ids, or a click id sent with the
conversion). Money is never summed across currencies: a row is one platform in one currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from webapp.attribution import credits as multitouch
from webapp.attribution import settings as multitouch_settings
from webapp.attribution.weights import BY_KEY, Model
from webapp.extensions import db, platform_registry
from webapp.models import AttributionCredit, Connection, Conversion, InsightDaily
from webapp.models.attribution import SHARE_PLACES, VALUE_PLACES

ZERO = Decimal(0)


@dataclass
class Figures:
    """One platform in one currency (or the total of a currency: ``platform_key`` "")."""

    platform_key: str
    label: str
    currency: str
    accounts: int = 0
    impressions: int = 0
    clicks: int = 0
    spend: Decimal = ZERO
    platform_conversions: Decimal = ZERO
    platform_revenue: Decimal = ZERO
    sl_conversions: Decimal = ZERO
    sl_revenue: Decimal = ZERO

    def add(self, other: Figures) -> None:
        for name in ("accounts", "impressions", "clicks", "spend", "platform_conversions",
                     "platform_revenue", "sl_conversions", "sl_revenue"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def roas(self) -> Decimal | None:
        """SourceLoop's credited revenue per unit of spend."""
        return self.sl_revenue / self.spend if self.spend else None

    @property
    def platform_roas(self) -> Decimal | None:
        return self.platform_revenue / self.spend if self.spend else None

    @property
    def cpa(self) -> Decimal | None:
        return self.spend / self.sl_conversions if self.sl_conversions else None


@dataclass
class CrossPlatform:
    start: date
    end: date
    model: Model
    rows: list[Figures]  # by platform label, then currency
    totals: dict[str, Figures] = field(default_factory=dict)  # per currency
    pending: int = 0  # conversions not attributed yet (not in these figures)

    def row(self, platform_key: str, currency: str) -> Figures | None:
        return next(
            (r for r in self.rows if (r.platform_key, r.currency) == (platform_key, currency)),
            None,
        )


def model_of(workspace_id: int, model: str | None = None) -> Model:
    """``model`` when it is one, else the workspace's model for ad platforms (its settings)."""
    if model in BY_KEY:
        return BY_KEY[model]
    return BY_KEY[multitouch_settings.get(workspace_id).external_model]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time.min, UTC),
        datetime.combine(end + timedelta(days=1), time.min, UTC),
    )


@dataclass(frozen=True)
class Credited:
    conversions: Decimal
    revenue: Decimal


# (platform key, connection id or None, campaign entity id or None, currency) → credited figures
CreditKey = tuple[str, int | None, str | None, str]


def credited(
    workspace_id: int, start: date, end: date, model: str, platform_keys: list[str]
) -> dict[CreditKey, Credited]:
    """SourceLoop's conversions and revenue credited to each platform's campaigns under
    ``model``, for conversions in the range (UTC days): one grouped read of the credits. A
    connection and campaign of None: the platform's touches whose campaign is not known."""
    if not platform_keys:
        return {}
    low, high = _bounds(start, end)
    c = AttributionCredit
    rows = db.session.execute(
        select(c.channel, c.connection_id, c.campaign_entity_id, c.currency,
               func.sum(c.conversions_e6), func.sum(c.value_e4))
        .join(Conversion, Conversion.id == c.conversion_id)
        .where(c.workspace_id == workspace_id, c.model == model,
               c.channel.in_(platform_keys),
               Conversion.occurred_at >= low, Conversion.occurred_at < high)
        .group_by(c.channel, c.connection_id, c.campaign_entity_id, c.currency)
    )  # fmt: skip
    found: dict[CreditKey, Credited] = {}
    for channel, connection_id, entity_id, currency, conv_e6, value_e4 in rows:
        key = (channel, connection_id, entity_id if connection_id else None, currency or "")
        before = found.get(key, Credited(ZERO, ZERO))
        found[key] = Credited(
            before.conversions + Decimal(int(conv_e6 or 0)).scaleb(-SHARE_PLACES),
            before.revenue + Decimal(int(value_e4 or 0)).scaleb(-VALUE_PLACES),
        )
    return found


def credited_ad_groups(
    workspace_id: int, start: date, end: date, model: str, connection_id: int, campaign_id: str
) -> dict[tuple[str | None, str], Credited]:
    """SourceLoop's figures credited to one pulled campaign, per ad group and currency (ad group
    None: the landing named no ad group of that campaign). They add up to the campaign's."""
    low, high = _bounds(start, end)
    c = AttributionCredit
    rows = db.session.execute(
        select(c.ad_group_entity_id, c.currency, func.sum(c.conversions_e6), func.sum(c.value_e4))
        .join(Conversion, Conversion.id == c.conversion_id)
        .where(c.workspace_id == workspace_id, c.model == model,
               c.connection_id == connection_id, c.campaign_entity_id == campaign_id,
               Conversion.occurred_at >= low, Conversion.occurred_at < high)
        .group_by(c.ad_group_entity_id, c.currency)
    )  # fmt: skip
    return {
        (group, currency or ""): Credited(
            Decimal(int(conv_e6 or 0)).scaleb(-SHARE_PLACES),
            Decimal(int(value_e4 or 0)).scaleb(-VALUE_PLACES),
        )
        for group, currency, conv_e6, value_e4 in rows
    }


def currencies_of(connections: list[Connection]) -> dict[int, str]:
    """Each connection's currency: the account's, else the one its pulled metrics are in (an
    account whose details did not name one), else "" (one query for all)."""
    found = {c.id: (c.currency or "").upper() for c in connections}
    missing = [cid for cid, code in found.items() if not code]
    if missing:
        for connection_id, code in db.session.execute(
            select(InsightDaily.connection_id, func.max(InsightDaily.currency))
            .where(InsightDaily.connection_id.in_(missing))
            .group_by(InsightDaily.connection_id)
        ):
            found[connection_id] = (code or "").upper()
    return found


def insights_connections(workspace_id: int) -> list[Connection]:
    """The workspace's connections to every installed platform that pulls insights."""
    keys = [p.key for p in platform_registry() if p.capabilities.pull_insights]
    return list(
        db.session.scalars(
            select(Connection)
            .where(Connection.workspace_id == workspace_id, Connection.platform_key.in_(keys))
            .order_by(Connection.account_name, Connection.id)
        )
    )


def cross_platform(
    workspace_id: int, start: date, end: date, model: str | None = None
) -> CrossPlatform:
    """The cross-platform table: one row per connected platform and currency."""
    chosen = model_of(workspace_id, model)
    registry = platform_registry()
    connections = insights_connections(workspace_id)
    by_id = {c.id: c for c in connections}
    rows: dict[tuple[str, str], Figures] = {}

    def row(platform_key: str, currency: str) -> Figures:
        found = rows.get((platform_key, currency))
        if found is None:
            platform = registry.get(platform_key)
            label = platform.display_name if platform else platform_key
            found = rows[(platform_key, currency)] = Figures(platform_key, label, currency)
        return found

    currency = currencies_of(connections)
    for connection in connections:
        row(connection.platform_key, currency[connection.id]).accounts += 1
    if by_id:
        metrics = db.session.execute(
            select(InsightDaily.connection_id, func.sum(InsightDaily.impressions),
                   func.sum(InsightDaily.clicks), func.sum(InsightDaily.spend),
                   func.sum(InsightDaily.conversions), func.sum(InsightDaily.revenue))
            .where(InsightDaily.connection_id.in_(list(by_id)), InsightDaily.level == "campaign",
                   InsightDaily.day.between(start, end))
            .group_by(InsightDaily.connection_id)
        )  # fmt: skip
        for connection_id, impressions, clicks, spend, conversions, revenue in metrics:
            connection = by_id[connection_id]
            target = row(connection.platform_key, currency[connection_id])
            target.impressions += int(impressions or 0)
            target.clicks += int(clicks or 0)
            target.spend += Decimal(str(spend or 0))
            target.platform_conversions += Decimal(str(conversions or 0))
            target.platform_revenue += Decimal(str(revenue or 0))
    keys = sorted({c.platform_key for c in connections})
    # A conversion without a value (a form, a booking) adds to a count, not to money: it joins
    # its platform's row when the platform's accounts use one currency, instead of a row of its
    # own with no accounts and no spend.
    money_of: dict[str, set[str]] = {}
    for connection in connections:
        money_of.setdefault(connection.platform_key, set()).add(currency[connection.id])
    for (platform_key, _, _, credit_currency), figures in credited(
        workspace_id, start, end, chosen.key, keys
    ).items():
        own = money_of.get(platform_key, set()) - {""}
        if not credit_currency and not figures.revenue and len(own) == 1:
            credit_currency = next(iter(own))
        target = row(platform_key, credit_currency)
        target.sl_conversions += figures.conversions
        target.sl_revenue += figures.revenue
    ordered = sorted(rows.values(), key=lambda r: (r.label.lower(), r.currency))
    totals: dict[str, Figures] = {}
    for r in ordered:
        totals.setdefault(r.currency, Figures("", "All platforms", r.currency)).add(r)
    pending = len(
        multitouch.pending_ids(workspace_id, multitouch_settings.settings_key(workspace_id), 10_000)
    )
    return CrossPlatform(start, end, chosen, ordered, totals, pending)
