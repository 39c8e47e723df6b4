from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.crypto import EncryptedText
from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class Connection(db.Model):
    """One ad account of one platform, connected to one workspace."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("workspace_id", "platform_key", "account_id"),)

    ACTIVE = "active"
    RECONNECT_NEEDED = "reconnect_needed"
    PAUSED = "paused"
    DISCONNECTED = "disconnected"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    platform_key: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    account_name: Mapped[str] = mapped_column(String(255), default="")
    account_number: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    platform_user: Mapped[str | None] = mapped_column(String(254))
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    workspace = relationship("Workspace")
    connected_by = relationship("User", lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.status == self.ACTIVE
