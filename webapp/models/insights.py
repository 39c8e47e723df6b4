"""What the daily pull stores per connection: the campaign / ad group / ad hierarchy, daily
metrics per entity, the sync state, and the platform's own offline-conversion diagnostics.

Metrics are keyed by (connection, level, entity, day) under a unique constraint so that a re-pull
of an overlapping window overwrites late numbers instead of adding rows.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow

Money = Numeric(18, 4)
BigId = BigInteger().with_variant(db.Integer, "sqlite")  # SQLite autoincrements INTEGER only
LEVELS = ("campaign", "ad_group", "ad")


class AdEntity(db.Model):
    """A campaign, ad group or ad of a connected account, as last seen by the hierarchy pull.

    Entities the platform no longer returns are kept (their metrics still refer to them) and
    marked with ``removed_at``; a rename or pause simply overwrites ``name`` / ``status``."""

    __tablename__ = "ad_entities"
    __table_args__ = (
        UniqueConstraint("connection_id", "level", "entity_id", name="uq_ad_entities_key"),
        Index("ix_ad_entities_parent", "connection_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(32), default="")
    kind: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InsightDaily(db.Model):
    """One entity's numbers on one day (in the account's time zone and currency)."""

    __tablename__ = "insight_daily"
    __table_args__ = (
        UniqueConstraint("connection_id", "level", "entity_id", "day", name="uq_insight_daily_key"),
        Index("ix_insight_daily_connection_level_day", "connection_id", "level", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    conversions: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InsightSyncState(db.Model):
    """Where the pull of one connection stands: whether the first backfill is done, the last
    window pulled, and how the last run ended (shown on the dashboard and connection page)."""

    __tablename__ = "insight_sync_states"

    RUNNING, SUCCEEDED, FAILED, ABANDONED = "running", "succeeded", "failed", "abandoned"
    CANCELLED = "cancelled"  # its job was cancelled by Disconnect

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    backfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    metric_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    entities: Mapped[int] = mapped_column(default=0)


class GoalDiagnosticsDaily(db.Model):
    """The platform's own account of uploaded offline conversions for one goal and upload day:
    how many it attributed, how many it could not, and why (reason → count)."""

    __tablename__ = "goal_diagnostics_daily"
    __table_args__ = (
        UniqueConstraint("connection_id", "goal_id", "day", name="uq_goal_diagnostics_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    goal_id: Mapped[str] = mapped_column(String(64))
    goal_name: Mapped[str] = mapped_column(String(255), default="")
    day: Mapped[date] = mapped_column(Date)
    success_count: Mapped[int] = mapped_column(default=0)
    unattributed_count: Mapped[int] = mapped_column(default=0)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
