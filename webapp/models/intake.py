"""How a workspace lets data in: its pixel settings, its conversion events and its API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from webapp.crypto import EncryptedText
from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class TrackingSettings(db.Model):
    """One row per workspace: the pixel's public key, where it may run, and what it has seen."""

    __tablename__ = "tracking_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Public by design (it is pasted into web pages); identifies the workspace, grants nothing
    # beyond recording page views and pixel events.
    public_key: Mapped[str] = mapped_column(String(40), unique=True)
    # Host names the pixel may report from (a domain also covers its subdomains). Empty: any.
    allowed_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    auto_track_forms: Mapped[bool] = mapped_column(Boolean, default=False)
    last_hit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_hit_domain: Mapped[str | None] = mapped_column(String(255))
    # Payloads /collect refused (4xx) or dropped, by reason; bumped with atomic UPDATEs.
    rejected_malformed: Mapped[int] = mapped_column(default=0)
    rejected_oversized: Mapped[int] = mapped_column(default=0)
    rejected_foreign_origin: Mapped[int] = mapped_column(default=0)
    dropped_bots: Mapped[int] = mapped_column(default=0)
    stripe_signing_secret: Mapped[str | None] = mapped_column(EncryptedText)
    # ISO 3166 region for phone numbers written without a country code (None: refused).
    default_phone_region: Mapped[str | None] = mapped_column(String(2))
    # Require consent before storing: no cookie, no click id and nothing sent to a platform
    # until the visitor grants ad storage (webapp.privacy.consent).
    require_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Retention in days (webapp.privacy.retention): page views (sessions, touchpoints, click
    # ids, idle visitors) and conversions older than this are deleted every night.
    retention_pageview_days: Mapped[int] = mapped_column(default=395, server_default="395")
    retention_conversion_days: Mapped[int] = mapped_column(default=1095, server_default="1095")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversionEvent(db.Model):
    """A conversion a workspace records: the three built-ins plus its own custom ones."""

    __tablename__ = "conversion_events"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    FORM_SUBMITTED = "form_submitted"
    MEETING_BOOKED = "meeting_booked"
    PAYMENT_RECEIVED = "payment_received"
    BUILT_INS = {
        FORM_SUBMITTED: "Form submitted",
        MEETING_BOOKED: "Meeting booked",
        PAYMENT_RECEIVED: "Payment received",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))  # what senders use: [a-z][a-z0-9_]*
    label: Mapped[str] = mapped_column(String(120))
    built_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(db.Model):
    """A workspace's secret key for the conversion API. Only its SHA-256 is stored; the key is
    shown once, at creation. Keys are long random strings, so a fast hash is enough."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None
