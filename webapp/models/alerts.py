"""Alerts: a workspace's alert settings, the incidents it has had, and who opted out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.crypto import EncryptedText
from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class AlertSettings(db.Model):
    """One row per workspace (created on first save); no row means the defaults."""

    __tablename__ = "alert_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Alert when a connection's match rate (conversions a platform can attribute) is under this
    # percentage; None: no match-rate alert.
    match_rate_threshold: Mapped[int | None] = mapped_column()
    # A Slack-compatible incoming-webhook URL: it is a secret (anyone holding it can post).
    webhook_url: Mapped[str | None] = mapped_column(EncryptedText)


class AlertIncident(db.Model):
    """A condition that was true from ``opened_at`` until ``resolved_at`` (None: still open).

    ``key`` names the condition (kind and connection): at most one open incident per key, so an
    evaluation that finds the same condition again changes nothing and sends nothing."""

    __tablename__ = "alert_incidents"
    __table_args__ = (Index("ix_alert_incidents_workspace_opened", "workspace_id", "opened_at"),)

    RECONNECT = "reconnect_needed"
    GRANT_LAPSING = "grant_lapsing"
    PUSH_FAILING = "push_failing"
    MATCH_RATE_LOW = "match_rate_low"
    PULL_FAILED = "pull_failed"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connections.id", ondelete="SET NULL")
    )
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="")
    figure: Mapped[str] = mapped_column(String(64), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What was sent, so a crash between deciding and sending never sends twice nor drops one.
    opened_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_error: Mapped[str | None] = mapped_column(Text)


class AlertOptOut(db.Model):
    """A member who asked not to be e-mailed alerts of this workspace (the page still lists)."""

    __tablename__ = "alert_opt_outs"

    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
