from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class JobRun(db.Model):
    """One execution of a background job, recorded so that pages can show status and progress."""

    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_connection_created", "connection_id", "created_at"),
        Index("ix_job_runs_kind_created", "kind", "created_at"),
    )

    QUEUED, RUNNING, SUCCEEDED, FAILED, RETRYING, ABANDONED, CANCELLED = (
        "queued",
        "running",
        "succeeded",
        "failed",
        "retrying",
        "abandoned",  # its worker died mid-run (SIGKILL, dyno restart); closed by the next cycle
        "cancelled",  # stopped on purpose (its connection was disconnected)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rq_job_id: Mapped[str | None] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.SUCCEEDED, self.FAILED, self.ABANDONED, self.CANCELLED)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
