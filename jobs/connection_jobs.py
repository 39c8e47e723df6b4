"""Jobs about a connection itself: the checks after connecting, and switching auto-tagging."""

from __future__ import annotations

from flask import current_app

from jobs.enqueue import enqueue
from jobs.queues import DEFAULT
from jobs.runtime import JobContext, job


def _platform_and_session(connection_id: int):  # noqa: ANN202
    from platforms.base import AccountRef
    from webapp import platform_registry
    from webapp.extensions import db
    from webapp.models import Connection
    from webapp.services.credentials import session_for_connection

    connection = db.session.get(Connection, connection_id)
    platform = platform_registry().get(connection.platform_key)
    account = AccountRef(connection.account_id, connection.customer_id)
    return platform, session_for_connection(connection_id), account


@job("check_connection")
def check_connection(ctx: JobContext, *, connection_id: int) -> str:
    """Read what the connection needs to work (auto-tagging) right after it is connected."""
    from webapp.services.connections import record_auto_tagging

    platform, session, account = _platform_and_session(connection_id)
    if not platform.capabilities.auto_tagging:
        return "auto-tagging: not applicable"
    enabled = platform.get_auto_tagging(session, account)
    record_auto_tagging(connection_id, enabled)
    state = "unknown" if enabled is None else ("on" if enabled else "OFF")
    return f"auto-tagging is {state}"


@job("set_auto_tagging")
def set_auto_tagging(ctx: JobContext, *, connection_id: int, enabled: bool) -> str:
    from webapp.services.connections import record_auto_tagging

    platform, session, account = _platform_and_session(connection_id)
    platform.set_auto_tagging(session, account, enabled)
    ctx.progress(60, "reading the setting back")
    confirmed = platform.get_auto_tagging(session, account)
    record_auto_tagging(connection_id, confirmed)
    return f"auto-tagging is now {'on' if confirmed else 'off'}"


def on_connected(connection_id: int) -> None:
    """Hook from ``services.connections``: check the new connection in the background."""
    if current_app.config.get("RUN_CONNECTION_CHECKS", True):
        enqueue(
            check_connection,
            queue=DEFAULT,
            connection_id=connection_id,
            job_id=f"check-{connection_id}",
        )
