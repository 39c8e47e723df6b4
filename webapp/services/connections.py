"""Connections between a workspace and one ad account of a platform."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Connection
from webapp.services import audit


def active_connection_ids(platform_keys: list[str] | None = None) -> list[int]:
    query = select(Connection.id).where(Connection.status == Connection.ACTIVE)
    if platform_keys is not None:
        query = query.where(Connection.platform_key.in_(platform_keys))
    return list(db.session.scalars(query.order_by(Connection.id)))


def mark_reconnect_needed(connection_id: int, reason: str) -> None:
    connection = db.session.get(Connection, connection_id)
    if connection is None or connection.status == Connection.RECONNECT_NEEDED:
        return
    connection.status = Connection.RECONNECT_NEEDED
    connection.status_reason = reason[:1000]
    audit.record(
        "connection.reconnect_needed",
        workspace_id=connection.workspace_id,
        actor_id=None,
        target=f"{connection.platform_key}:{connection.account_id}",
        reason=reason[:200],
    )
    db.session.commit()
