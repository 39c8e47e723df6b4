"""Pushing conversions to an ad platform: each connection's push settings and goal mapping, the
goals seen at the platform, and the delivery ledger (one row per connection, conversion and goal)
that guarantees every eligible conversion is sent, and counted, exactly once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.tracking import BigId, Money
from webapp.models.types import UTCDateTime, utcnow


class PushConfig(db.Model):
    """Connection-wide push switches. No row yet means: pushing on, no enhanced conversions."""

    __tablename__ = "push_configs"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    # Opt-in: send SHA-256 of email/phone, and hash-only rows to goals that accept them.
    enhanced_conversions: Mapped[bool] = mapped_column(default=False)
    # Used when a conversion has no currency of its own (and for fixed values).
    default_currency: Mapped[str | None] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GoalMapping(db.Model):
    """Which platform goal one SourceLoop event feeds, and which value it carries."""

    __tablename__ = "push_goal_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "event"),)

    EVENT_VALUE, FIXED_VALUE, NO_VALUE = "event", "fixed", "none"
    VALUE_MODES = (EVENT_VALUE, FIXED_VALUE, NO_VALUE)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    goal_id: Mapped[str] = mapped_column(String(64))
    goal_name: Mapped[str] = mapped_column(String(255))
    value_mode: Mapped[str] = mapped_column(String(8), default=EVENT_VALUE)
    fixed_value: Mapped[Decimal | None] = mapped_column(Money)


class PlatformGoal(db.Model):
    """A conversion goal as last read from the platform, with when SourceLoop first saw it
    (many platforms do not expose a goal's creation time)."""

    __tablename__ = "platform_goals"
    __table_args__ = (UniqueConstraint("connection_id", "goal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    goal_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    count_type: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    enhanced_conversions: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the platform says
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the platform refused rows because the goal is too new
    # (``Platform.row_error_is_goal_too_recent``).
    too_recent_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missing: Mapped[bool] = mapped_column(default=False)  # no longer listed by the platform


class ConversionDelivery(db.Model):
    """The ledger: one conversion for one goal of one connection, and where its upload stands.

    ``conversion_time`` is copied once from the conversion and never recomputed, because the
    platform deduplicates (and adjustments match) on (click id, goal name, time)."""

    __tablename__ = "conversion_deliveries"
    __table_args__ = (
        UniqueConstraint("connection_id", "conversion_id", "goal_id"),
        Index("ix_conversion_deliveries_claim", "connection_id", "status", "next_attempt_at"),
        Index("ix_conversion_deliveries_conversion", "conversion_id"),
        # Troubleshoot's search by click id.
        Index("ix_conversion_deliveries_click", "connection_id", "click_id"),
        # Counting by state and listing a state newest first (webapp.push.states).
        Index(
            "ix_conversion_deliveries_state",
            "connection_id",
            "status",
            "conversion_time",
            "next_attempt_at",
            "claimed_until",
        ),
        Index("ix_conversion_deliveries_event", "connection_id", "event", "conversion_time"),
    )

    PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    conversion_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversions.id", ondelete="CASCADE")
    )
    goal_id: Mapped[str] = mapped_column(String(64))
    goal_name: Mapped[str] = mapped_column(String(255))
    # The conversion's event, copied once (it never changes), so the state model counts the
    # connection's mapped conversions without a join (webapp.push.states).
    event: Mapped[str] = mapped_column(String(64))
    click_id: Mapped[str | None] = mapped_column(String(255))
    # The plugin's own click-id parameter ``click_id`` belongs to.
    click_param: Mapped[str | None] = mapped_column(String(16))
    hashed_email: Mapped[str | None] = mapped_column(String(64))
    hashed_phone: Mapped[str | None] = mapped_column(String(64))
    # The consent to ad storage the row was planned with (granted, denied, unknown).
    consent: Mapped[str] = mapped_column(String(8), default="unknown", server_default="unknown")
    conversion_time: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The platform's reference of the request that carried the row (PushOutcome.receipt).
    receipt: Mapped[str | None] = mapped_column(String(128))

    conversion = relationship("Conversion")


class PushDecision(db.Model):
    """Why a mapped conversion has no ledger row for a connection yet: the last eligibility
    verdict the push plan reached (waiting until ``until``, or not eligible), with its reason
    code. Written by ``ledger.plan`` (only when it changes) and removed when the conversion is
    planned, so the state model (``webapp.push.states``) counts and filters in SQL."""

    __tablename__ = "push_decisions"
    __table_args__ = (
        UniqueConstraint("connection_id", "conversion_id"),
        # Counting by state (grouped in index order) and by time, and listing newest first.
        Index(
            "ix_push_decisions_count",
            "connection_id", "event", "state", "reason", "occurred_at", "until",
        ),
        Index("ix_push_decisions_time", "connection_id", "event", "occurred_at"),
        Index("ix_push_decisions_wait", "connection_id", "event", "state", "until"),
    )  # fmt: skip

    WAITING, NOT_ELIGIBLE = "waiting", "not_eligible"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    conversion_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversions.id", ondelete="CASCADE"), index=True
    )
    # Copied from the conversion (neither changes), so counts need no join.
    event: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # a ``platforms.base.Reason`` value
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a wait's end
    # The plan found a click of the platform for it (the match rate counts these).
    has_click: Mapped[bool] = mapped_column(default=False)
    # What the wording quotes about this conversion (hash hint, consent, click time known).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdjustmentDelivery(db.Model):
    """One refund or value change of a delivered conversion, sent as a retract or restate."""

    __tablename__ = "adjustment_deliveries"
    __table_args__ = (
        UniqueConstraint("delivery_id", "adjustment_id"),
        Index("ix_adjustment_deliveries_claim", "connection_id", "status"),
    )

    RESTATE, RETRACT = "restate", "retract"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversion_deliveries.id", ondelete="CASCADE")
    )
    adjustment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversion_adjustments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    adjusted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=ConversionDelivery.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    delivery = relationship("ConversionDelivery")


class PushRun(db.Model):
    """What one push of one connection did, for the Troubleshoot page."""

    __tablename__ = "push_runs"
    __table_args__ = (Index("ix_push_runs_connection_started", "connection_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    waiting: Mapped[int] = mapped_column(default=0)
    planned: Mapped[int] = mapped_column(default=0)
    adjustments_sent: Mapped[int] = mapped_column(default=0)
    api_calls: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str] = mapped_column(String(500), default="")

    ABANDONED_OUTCOME = (
        "Abandoned: the worker stopped mid-run (killed or restarted). Nothing is lost: the rows "
        "it held go out with a later push."
    )

    @property
    def is_abandoned(self) -> bool:
        return self.outcome == self.ABANDONED_OUTCOME

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None or self.is_abandoned:
            return None
        return (self.finished_at - self.started_at).total_seconds()
