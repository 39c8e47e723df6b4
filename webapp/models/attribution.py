"""Multi-touch attribution results: per-workspace settings, the precomputed credits (one row per
conversion × model × credited touchpoint) that every report reads, and which conversions are done.

Credits are stored as integers (value in 1/10,000 of the currency unit, conversions in
millionths): sums stay exact on every database, where SQLite would add NUMERIC as floats.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.tracking import BigId
from webapp.models.types import UTCDateTime, utcnow

VALUE_PLACES = 4  # value_e4: the conversions table keeps four decimals
SHARE_PLACES = 6  # conversions_e6


class AttributionSettings(db.Model):
    """No row yet means the defaults: 90-day lookback, 7-day half-life, linear for external attribution."""

    __tablename__ = "attribution_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    lookback_days: Mapped[int] = mapped_column(default=90)
    half_life_days: Mapped[int] = mapped_column(default=7)
    # The model whose credit is sent to goals set up for external attribution.
    external_model: Mapped[str] = mapped_column(String(24), default="linear")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class AttributionCredit(db.Model):
    """One touchpoint's share of one conversion under one model (touchpoint None: no touch was
    in the lookback window). Channel and campaign are copied in so reports are one GROUP BY;
    times are the conversion's and the touchpoint's own (joined), to keep the rows narrow."""

    __tablename__ = "attribution_credits"
    __table_args__ = (Index("ix_attribution_credits_conversion", "conversion_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Derived data, millions of rows: only the conversion is a foreign key (its deletion, and
    # so the workspace's, removes the credits). The other ids are plain columns, so writing a
    # credit checks one parent and deleting a touchpoint or connection never scans this table.
    workspace_id: Mapped[int]
    conversion_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversions.id", ondelete="CASCADE")
    )
    model: Mapped[str] = mapped_column(String(24))
    touchpoint_id: Mapped[int | None] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(32))
    campaign: Mapped[str] = mapped_column(String(255), default="")
    # The ad platform campaign the touch belongs to, when it could be resolved.
    connection_id: Mapped[int | None]
    campaign_entity_id: Mapped[str | None] = mapped_column(String(64))
    # Its ad group, when the landing named one of that campaign's pulled ad groups.
    ad_group_entity_id: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    value_e4: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions_e6: Mapped[int] = mapped_column(BigInteger, default=0)


class AttributedConversion(db.Model):
    """A conversion whose credits are current: recomputed when a later adjustment arrives or the
    workspace's settings change (``settings_key``), never on a page view."""

    __tablename__ = "attributed_conversions"
    __table_args__ = (Index("ix_attributed_conversions_workspace", "workspace_id"),)

    conversion_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversions.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    last_adjustment_id: Mapped[int | None] = mapped_column(BigInteger)
    settings_key: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
