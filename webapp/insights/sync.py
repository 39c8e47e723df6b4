"""The pull of one connection, step by step: which window, the hierarchy, the daily metrics, the
auto-tagging check and the platform's conversion diagnostics, with the sync state kept current.

The job (``jobs/pull.py``) only sequences these calls and reports progress; everything that
touches the database lives here so the CLI, the job and tests share it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import requests
from flask import current_app
from sqlalchemy import func, select

from platforms.base import AccountRef, DateWindow, Platform, Receipt
from webapp.common.errors import NotFound, ServiceError
from webapp.connections.credentials import session_for_connection
from webapp.connections.lifecycle import record_auto_tagging
from webapp.extensions import db, platform_registry
from webapp.insights import store as insights_store
from webapp.models import Connection, InsightSyncState
from webapp.models.push import ConversionDelivery, GoalMapping
from webapp.models.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_BACKFILL_DAYS = 90
ROLLING_DAYS = 14  # late attribution settles within two weeks
DIAGNOSTIC_DAYS = 14
# Receipts of the last two UTC days are asked about on every pull: each day's counts are rebuilt
# from all of its receipts, and processing settles within hours (Google: poll after 30 minutes).
PROCESSING_STATUS_DAYS = 2
MAX_DAYS = 3 * 365


def state_for(connection_id: int) -> InsightSyncState | None:
    return db.session.get(InsightSyncState, connection_id)


def _state(connection_id: int) -> InsightSyncState:
    state = state_for(connection_id)
    if state is None:
        state = InsightSyncState(connection_id=connection_id)
        db.session.add(state)
    return state


def last_complete_day(now: datetime | None = None) -> date:
    """Yesterday in UTC: a day that has begun in every account time zone (UTC-12 … UTC+14), so
    the window never ends after the account's "today" (platforms reject that)."""
    return (now or datetime.now(UTC)).astimezone(UTC).date() - timedelta(days=1)


def plan_window(
    connection_id: int, days: int | None = None, *, end: date | None = None
) -> DateWindow:
    """First pull backfills the configured history; later pulls re-sync the rolling 14 days."""
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ServiceError(f"--days must be between 1 and {MAX_DAYS}.")
    state = state_for(connection_id)
    if days is None:
        backfilled = state is not None and state.backfilled_at is not None
        days = (
            ROLLING_DAYS
            if backfilled
            else int(current_app.config.get("INSIGHTS_BACKFILL_DAYS", DEFAULT_BACKFILL_DAYS))
        )
    end = end or last_complete_day()
    return DateWindow(end - timedelta(days=days - 1), end)


def connection_plugin(connection_id: int) -> tuple[Connection, Platform, AccountRef]:
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise NotFound("No such connection.")
    platform = platform_registry().get(connection.platform_key)
    if platform is None:
        raise NotFound(f"The {connection.platform_key} platform plugin is not installed.")
    return connection, platform, AccountRef(connection.account_id, connection.customer_id)


def mark_started(connection_id: int, window: DateWindow) -> None:
    state = _state(connection_id)
    state.last_status = InsightSyncState.RUNNING
    state.last_started_at = utcnow()
    state.last_error = None
    state.window_start, state.window_end = window.start, window.end
    db.session.commit()


def mark_succeeded(connection_id: int, *, rows: int, entities: int) -> None:
    state = _state(connection_id)
    now = utcnow()
    state.last_status = InsightSyncState.SUCCEEDED
    state.last_finished_at = state.last_success_at = now
    state.backfilled_at = state.backfilled_at or now
    state.metric_rows, state.entities = rows, entities
    connection = db.session.get(Connection, connection_id)
    if connection is not None:
        connection.last_pull_at = now
    db.session.commit()


def mark_failed(connection_id: int, error: str) -> None:
    db.session.rollback()
    state = _state(connection_id)
    state.last_status = InsightSyncState.FAILED
    state.last_finished_at = utcnow()
    state.last_error = error[:1000]
    db.session.commit()


def diagnostic_goal_ids(connection_id: int, platform: Platform, session, account) -> list[str]:  # noqa: ANN001
    """The goals whose diagnostics to read: the push mapping's goals when the connection has
    mappings; otherwise every offline goal the account has.

    A database error is raised, not taken for "no mappings": the job fails and retries rather
    than reading every goal's diagnostics."""
    mapped = list(
        db.session.scalars(
            select(GoalMapping.goal_id).where(GoalMapping.connection_id == connection_id).distinct()
        )
    )
    db.session.commit()  # the platform calls that follow hold no transaction
    if mapped:
        return sorted(mapped)
    return [goal.id for goal in platform.list_conversion_goals(session, account)]


def pull_diagnostics(
    connection_id: int,
    platform: Platform,
    session: requests.Session,
    account: AccountRef,
    end: date,
) -> int | None:
    """Store the platform's per-goal diagnostics for the last two weeks (capability
    ``diagnostics``) and what it reports about the processing of the rows it accepted in the last
    days (capability ``processing_status``); None when the platform declares neither."""
    caps = platform.capabilities
    if not (caps.diagnostics or caps.processing_status):
        return None
    stored = 0
    if caps.diagnostics:
        goal_ids = diagnostic_goal_ids(connection_id, platform, session, account)
        window = DateWindow(end - timedelta(days=DIAGNOSTIC_DAYS - 1), end)
        goals = (
            platform.offline_conversion_diagnostics(session, account, goal_ids, window)
            if goal_ids
            else []
        )
        stored += insights_store.store_diagnostics(connection_id, goals, utcnow())
    if caps.processing_status:
        since = datetime.combine(end - timedelta(days=PROCESSING_STATUS_DAYS - 1), time.min, UTC)
        receipts = delivery_receipts(connection_id, since)
        goals = platform.processing_status(session, account, receipts) if receipts else []
        stored += insights_store.store_diagnostics(connection_id, goals, utcnow())
    return stored


def delivery_receipts(connection_id: int, since: datetime) -> list[Receipt]:
    """The platform's receipts of rows sent since ``since``: per receipt and goal, the UTC day
    of its first row and how many rows it carried."""
    D = ConversionDelivery
    rows = db.session.execute(
        select(D.receipt, D.goal_id, func.min(D.sent_at), func.count())
        .where(D.connection_id == connection_id, D.receipt.is_not(None), D.sent_at >= since)
        .group_by(D.receipt, D.goal_id)
    ).all()
    db.session.commit()  # the platform calls that follow hold no transaction
    return [
        Receipt(id=receipt, goal_id=goal_id, day=first.astimezone(UTC).date(), rows=count)
        for receipt, goal_id, first, count in rows
        if receipt and first is not None
    ]


def run_pull(
    connection_id: int,
    *,
    days: int | None = None,
    progress: Callable[[int, str], None] = lambda pct, msg: None,
) -> str:
    """Pull everything for one connection; the summary is what the job run shows."""
    connection, platform, account = connection_plugin(connection_id)
    window = plan_window(connection_id, days)
    mark_started(connection_id, window)
    try:
        session = session_for_connection(connection_id)
        entities = 0
        if platform.capabilities.pull_structure:
            progress(5, "Reading campaigns, ad groups and ads")
            entities, removed = insights_store.sync_entities(
                connection_id, platform.pull_structure(session, account)
            )
            log.info("pull %s: %s entities, %s newly removed", connection_id, entities, removed)
        if platform.capabilities.auto_tagging:
            progress(20, "Checking auto-tagging")
            record_auto_tagging(connection_id, platform.get_auto_tagging(session, account))
        rows = 0
        if platform.capabilities.pull_insights:
            progress(25, f"Reading daily metrics {window.start} to {window.end}")
            rows = insights_store.upsert_metrics(
                connection_id,
                platform.pull_insights(session, account, window),
                on_batch=lambda n: progress(min(85, 25 + n // 500), f"{n} daily rows stored"),
            )
        progress(90, "Reading conversion diagnostics")
        # Diagnostics are by UTC upload day, and today's uploads matter most.
        today = datetime.now(UTC).date()
        diagnosed = pull_diagnostics(connection_id, platform, session, account, today)
    except Exception as exc:
        mark_failed(connection_id, getattr(exc, "message", None) or str(exc) or type(exc).__name__)
        raise
    mark_succeeded(connection_id, rows=rows, entities=entities)
    summary = f"{entities} entities, {rows} daily rows for {window.start} to {window.end}"
    if diagnosed is not None:
        summary += f", {diagnosed} diagnostic days"
    return summary
