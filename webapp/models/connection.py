from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.crypto import EncryptedText
from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class Credential(db.Model):
    """One OAuth grant of one platform user, shared by every account connected through it.

    Agencies connect many ad accounts with one sign-in. The accounts share this grant so that a
    refresh-token rotation is seen by all of them, and one Reconnect revives them all.
    """

    __tablename__ = "credentials"

    PENDING = "pending"  # signed in, no account picked yet
    ACTIVE = "active"
    REVOKED = "revoked"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    platform_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    platform_user: Mapped[str | None] = mapped_column(String(254))
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connections = relationship("Connection", back_populates="credential")


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
    manager_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default=ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL"), index=True
    )
    auto_tagging: Mapped[bool | None] = mapped_column()
    auto_tagging_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    workspace = relationship("Workspace")
    connected_by = relationship("User", lazy="joined")
    credential = relationship("Credential", back_populates="connections")

    @property
    def is_active(self) -> bool:
        return self.status == self.ACTIVE

    @property
    def audit_target(self) -> str:
        return f"{self.platform_key}:{self.account_id}"

    @property
    def status_label(self) -> str:
        """The connection's status in words. Whether it works is ``connections.health.check``."""
        return {
            self.ACTIVE: "Connected",
            self.RECONNECT_NEEDED: "Reconnect needed",
            self.PAUSED: "Paused",
            self.DISCONNECTED: "Disconnected",
        }.get(self.status, self.status)
