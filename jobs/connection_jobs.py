"""Jobs about a connection itself: the checks after connecting, and switching auto-tagging.
``webapp.services.background`` enqueues them."""

from __future__ import annotations

from jobs.runtime import JobContext, job
from platforms.base import AccountRef, Platform
from webapp.extensions import db, platform_registry
from webapp.models import Connection
from webapp.services.connections import record_auto_tagging
from webapp.services.credentials import CredentialSession, session_for_connection
from webapp.services.errors import NotFound


def _platform_and_session(connection_id: int) -> tuple[Platform, CredentialSession, AccountRef]:
    connection = db.session.get(Connection, connection_id)
    platform = platform_registry().get(connection.platform_key) if connection else None
    if connection is None or platform is None:
        raise NotFound("No such connection, or its platform plugin is not installed.")
    account = AccountRef(connection.account_id, connection.customer_id)
    return platform, session_for_connection(connection_id), account


@job("check_connection")
def check_connection(ctx: JobContext, *, connection_id: int) -> str:
    """Read what the connection needs to work (auto-tagging) right after it is connected."""
    platform, session, account = _platform_and_session(connection_id)
    if not platform.capabilities.auto_tagging:
        return "auto-tagging: not applicable"
    enabled = platform.get_auto_tagging(session, account)
    record_auto_tagging(connection_id, enabled)
    state = "unknown" if enabled is None else ("on" if enabled else "OFF")
    return f"auto-tagging is {state}"


@job("set_auto_tagging")
def set_auto_tagging(ctx: JobContext, *, connection_id: int, enabled: bool) -> str:
    platform, session, account = _platform_and_session(connection_id)
    platform.set_auto_tagging(session, account, enabled)
    ctx.progress(60, "reading the setting back")
    confirmed = platform.get_auto_tagging(session, account)
    record_auto_tagging(connection_id, confirmed)
    return f"auto-tagging is now {'on' if confirmed else 'off'}"
