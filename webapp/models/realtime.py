"""The real-time event path (capability ``realtime_events``): each connection's settings for it
and its own delivery ledger, one row per connection and conversion, sent exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.crypto import EncryptedText
from webapp.extensions import db
from webapp.models.tracking import BigId
from webapp.models.types import UTCDateTime, utcnow


class RealtimeConfig(db.Model):
    """A connection's real-time path: on or off, which SourceLoop events go this way, whether the
    pixel runs the platform's browser tag, and the plugin's settings fields (``values`` holds the
    non-secret ones; ``secrets`` the others, as one encrypted JSON object)."""

    __tablename__ = "realtime_configs"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    browser_tag: Mapped[bool] = mapped_column(default=False)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets: Mapped[str | None] = mapped_column(EncryptedText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RealtimeDelivery(db.Model):
    """One conversion sent (or to send) down one connection's real-time path.

    pending → sending (claimed, lease running) → sent | failed | pending again; ``held``: the
    workspace requires consent and the conversion has none (re-checked on every run).
    ``event_id`` is fixed when the row is planned and is what the platform de-duplicates on."""

    __tablename__ = "realtime_deliveries"
    __table_args__ = (
        UniqueConstraint("connection_id", "conversion_id"),
        Index("ix_realtime_deliveries_claim", "connection_id", "status", "next_attempt_at"),
        Index("ix_realtime_deliveries_conversion", "conversion_id"),
    )

    PENDING, SENDING, SENT, FAILED, HELD = "pending", "sending", "sent", "failed", "held"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    conversion_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(255))
    event_name: Mapped[str] = mapped_column(String(64))
    consent: Mapped[str] = mapped_column(String(8), default="unknown")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    # The host's reason code (webapp ``Reason``) for held and failed rows.
    reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    # The platform's code and message: an error, or a warning on a sent row (a field dropped).
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
