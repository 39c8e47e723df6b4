"""What the pixel and the intake APIs record: visitors, their sessions and touchpoints, the ad
click ids they arrived with, and the conversions (with refunds/value changes) that follow."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow

# Money: 18 digits with 4 decimals holds any realistic order value in any ISO 4217 currency.
Money = Numeric(18, 4)
BigId = BigInteger().with_variant(db.Integer, "sqlite")  # SQLite autoincrements INTEGER only


class Visitor(db.Model):
    """A browser (first-party cookie id) or a person known to the intake API."""

    __tablename__ = "visitors"
    __table_args__ = (
        UniqueConstraint("workspace_id", "uid"),
        # Troubleshoot's search by email (hashed on the server first).
        Index("ix_visitors_workspace_email", "workspace_id", "email_sha256"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(64))  # the pixel's visitor id, or "api:<hash>"
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # SHA-256 of the normalised email / E.164 phone, when a form or the API supplied one.
    email_sha256: Mapped[str | None] = mapped_column(String(64))
    phone_sha256: Mapped[str | None] = mapped_column(String(64))
    # {identity rules id: {"email": digest, "phone": digest}} (webapp.intake.identity).
    identity_digests: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # Consent to ad storage (granted, denied, unknown) and where it came from (pixel, tcf, api,
    # default): webapp.privacy.consent.
    consent_state: Mapped[str] = mapped_column(
        String(8), default="unknown", server_default="unknown"
    )
    consent_source: Mapped[str] = mapped_column(
        String(8), default="default", server_default="default"
    )


class VisitSession(db.Model):
    """Consecutive hits of one visitor with less than 30 minutes between them."""

    __tablename__ = "visit_sessions"
    # /collect's lookup of a visitor's session around a hit orders by start time
    # (webapp.intake.collect); last_hit_at changes on every hit, so no index holds it.
    __table_args__ = (Index("ix_visit_sessions_visitor_started", "visitor_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_hit_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hits: Mapped[int] = mapped_column(default=1)
    landing_url: Mapped[str] = mapped_column(Text, default="")
    referrer: Mapped[str] = mapped_column(Text, default="")


class Touchpoint(db.Model):
    """How a session arrived: one row per session start, classified by channel."""

    __tablename__ = "touchpoints"
    __table_args__ = (
        Index("ix_touchpoints_visitor_occurred", "visitor_id", "occurred_at"),
        Index("ix_touchpoints_workspace_occurred", "workspace_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    # Indexed: /collect joins every hit's session to its touchpoint.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit_sessions.id", ondelete="SET NULL"), index=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a platform key (the plugin whose click id or utm_source it carried), paid_other,
    # organic_search, email, referral, direct...
    channel: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255), default="")
    medium: Mapped[str] = mapped_column(String(255), default="")
    campaign: Mapped[str] = mapped_column(String(255), default="")
    utm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    landing_url: Mapped[str] = mapped_column(Text, default="")
    referrer: Mapped[str] = mapped_column(Text, default="")
    # A click-id parameter declared by a platform plugin (ClickIdParam.name), and its value.
    click_param: Mapped[str | None] = mapped_column(String(16))
    click_id: Mapped[str | None] = mapped_column(String(255))


class AdClick(db.Model):
    """An ad click id captured for a visitor, with its click time. Kept forever against the
    visitor, so a conversion months later can still be matched (within the platform's window)."""

    __tablename__ = "ad_clicks"
    __table_args__ = (
        UniqueConstraint("workspace_id", "click_param", "click_id"),
        Index("ix_ad_clicks_visitor_param_time", "visitor_id", "click_param", "clicked_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    touchpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("touchpoints.id", ondelete="SET NULL")
    )
    click_param: Mapped[str] = mapped_column(String(16))
    click_id: Mapped[str] = mapped_column(String(255))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    landing_url: Mapped[str] = mapped_column(Text, default="")


class Conversion(db.Model):
    """A business outcome (form submitted, meeting booked, payment received...), with revenue."""

    __tablename__ = "conversions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_conversions_workspace_occurred", "workspace_id", "occurred_at"),
        Index("ix_conversions_visitor", "visitor_id"),
        Index("ix_conversions_workspace_email", "workspace_id", "email_sha256"),
        # Counting a connection's mapped conversions (webapp.push.states).
        Index("ix_conversions_workspace_event_occurred", "workspace_id", "event", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitors.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    # Idempotency key from the sender (API external_id, Stripe object id, pixel event id).
    external_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16))  # pixel, api, stripe
    email_sha256: Mapped[str | None] = mapped_column(String(64))
    phone_sha256: Mapped[str | None] = mapped_column(String(64))
    # {identity rules id: {"email": digest, "phone": digest}} (webapp.intake.identity).
    identity_digests: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Consent to ad storage (granted, denied, unknown) and where it came from (pixel, tcf, api,
    # default): webapp.privacy.consent.
    consent_state: Mapped[str] = mapped_column(
        String(8), default="unknown", server_default="unknown"
    )
    consent_source: Mapped[str] = mapped_column(
        String(8), default="default", server_default="default"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visitor = relationship("Visitor")
    adjustments = relationship(
        "ConversionAdjustment", back_populates="conversion", order_by="ConversionAdjustment.id"
    )
    supplied_clicks = relationship(
        "ConversionClickId", order_by="ConversionClickId.click_param", lazy="selectin"
    )

    @property
    def click_ids(self) -> dict[str, str]:
        """The click ids the sender supplied with the conversion, by parameter."""
        return {c.click_param: c.click_id for c in self.supplied_clicks}


class ConversionClickId(db.Model):
    """A click id the sender supplied with a conversion (API ``click_ids``, Stripe metadata), as a
    (parameter, id) pair; it wins over the visitor's captured clicks of the same parameter."""

    __tablename__ = "conversion_click_ids"
    __table_args__ = (Index("ix_conversion_click_ids_param_id", "click_param", "click_id"),)

    conversion_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversions.id", ondelete="CASCADE"), primary_key=True
    )
    click_param: Mapped[str] = mapped_column(String(16), primary_key=True)
    click_id: Mapped[str] = mapped_column(String(255))


class ConversionAdjustment(db.Model):
    """A later change to a conversion's value: a full or partial refund, or a corrected value.
    The push issue turns each into a platform adjustment (retract / restate)."""

    __tablename__ = "conversion_adjustments"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    REFUND = "refund"
    VALUE_CHANGE = "value_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversion_id: Mapped[int] = mapped_column(
        ForeignKey("conversions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # The conversion's value after this adjustment (0 for a full refund).
    new_value: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(255))  # e.g. the Stripe refund id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversion = relationship("Conversion", back_populates="adjustments")
