"""Append audit events inside the caller's transaction (the caller commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEvent


def record(
    action: str,
    *,
    workspace_id: int | None,
    actor_id: int | None,
    target: str = "",
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        workspace_id=workspace_id,
        actor_id=actor_id,
        action=action,
        target=target[:200],
        details=details,
    )
    db.session.add(event)
    return event


def recent(workspace_id: int, limit: int = 50) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.workspace_id == workspace_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
