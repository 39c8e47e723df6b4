"""One push of one connection: refresh the goals, plan eligible conversions into the ledger,
then send claimed batches (≤ the platform's batch size) and record every row's verdict.

Errors follow the job runtime's mapping: a rate limit, server error or timeout releases the batch
in flight (rows already recorded as sent stay sent, so nothing accepted is resent) and raises,
and the runtime retries with backoff; an access token refused as expired is refreshed once and
the call repeated; a revoked grant releases the batch and raises ``ReconnectRequired``, so rows
wait, pending, until a person reconnects.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import requests
from flask import current_app
from sqlalchemy import func, select

from platforms.base import (
    AccountRef,
    ConversionAdjustment,
    ConversionUpload,
    Platform,
    PushOutcome,
)
from platforms.errors import AccessTokenExpired
from webapp.attribution.external_credit import upload_fields_for
from webapp.background import enqueue as background
from webapp.common import audit
from webapp.common.errors import NotFound, ServiceError
from webapp.connections.credentials import CredentialSession, session_for_connection
from webapp.extensions import db
from webapp.models import AdjustmentDelivery, Connection, ConversionDelivery, PushRun
from webapp.models.types import utcnow
from webapp.privacy import data_requests as privacy
from webapp.push import config as push_config
from webapp.push import ledger as push_ledger

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class PushSummary:
    connection_id: int
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    planned: int = 0
    adjustments_sent: int = 0
    adjustments_failed: int = 0
    api_calls: int = 0
    skipped: str = ""
    run_id: int | None = None  # the push run, named on each row's timeline
    calls_by_goal: dict[str, int] = field(default_factory=dict)

    @property
    def text(self) -> str:
        if self.skipped:
            return f"connection {self.connection_id}: skipped ({self.skipped})"
        return (
            f"connection {self.connection_id}: {self.sent} sent, {self.failed} failed, "
            f"{self.waiting} waiting, {self.adjustments_sent} adjustment(s) sent, "
            f"{self.api_calls} upload call(s)"
        )


class _Caller:
    """Calls the plugin, refreshing an access token the platform called expired once per run."""

    def __init__(self, session: CredentialSession) -> None:
        self.session = session
        self.refreshed = False

    def __call__(self, fn: Callable[[], T]) -> T:
        return self.wait(fn, fn)

    def wait(self, first: Callable[[], T], again: Callable[[], T]) -> T:
        """``first()`` (the call, or waiting for one already on the wire); when the platform
        calls the token expired, refresh it once and make the call again with ``again``."""
        try:
            return first()
        except AccessTokenExpired:
            if self.refreshed:
                raise
            self.refreshed = True
            log.info("access token refused as expired; refreshing once")
            self.session.force_refresh()
            return again()


def _lease() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("PUSH_LEASE_SECONDS", 300)))


def run(
    connection_id: int,
    *,
    job_run_id: int | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> PushSummary:
    summary = PushSummary(connection_id)
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise NotFound("No such connection.")
    if connection.status != Connection.ACTIVE:
        summary.skipped = f"connection is {connection.status_label.lower()}"
        return summary
    config = push_config.config_for(connection_id)
    if not config.enabled:
        summary.skipped = "pushing is switched off"
        return summary
    platform = push_config.platform_for(connection)
    account = push_config.account_ref(connection)
    push_run = PushRun(connection_id=connection_id, job_run_id=job_run_id, started_at=utcnow())
    db.session.add(push_run)
    db.session.commit()
    run_id = summary.run_id = push_run.id
    try:
        session = session_for_connection(connection_id)
        call = _Caller(session)
        goals = call(lambda: platform.list_conversion_goals(session, account))
        push_config.record_goals(connection_id, goals)
        mappings = push_config.mappings_for(connection_id)
        # New rows are planned, claimed and sent batch by batch; then whatever else is due
        # (retries, expired leases, rows planned by an earlier run) is claimed and sent.
        plan = push_ledger.PlanResult()
        planned = push_ledger.plan_claimed(
            connection,
            config,
            mappings,
            push_config.goal_facts(connection_id),
            platform=platform,
            now=utcnow(),
            batch_size=platform.max_batch_size,
            lease=_lease(),
            result=plan,
        )
        external_goals = frozenset(
            g.id
            for g in goals
            if g.external_attribution and platform.capabilities.external_attribution
        )
        try:
            _send_conversions(
                summary, platform, session, account, call, progress, external_goals, planned, plan
            )
        finally:
            summary.planned, summary.waiting = plan.planned, plan.waiting
        if platform.capabilities.adjustments:
            push_ledger.plan_adjustments(connection, mappings, utcnow())
            _send_adjustments(summary, platform, session, account, call)
            privacy.finish_retractions(connection.workspace_id)
        summary.waiting += _count_waiting(connection_id)
        return summary
    except Exception as exc:
        _finish(run_id, summary, f"stopped: {exc}"[:500])
        raise
    finally:
        if db.session.get(PushRun, run_id).finished_at is None:
            _finish(run_id, summary, summary.text[:500])


@dataclass(frozen=True)
class Lane:
    """What differs between sending conversions and sending adjustments; everything else (claim,
    call, release on error, record, count) is the one loop in ``_send``."""

    model: type  # the ledger table: ConversionDelivery or AdjustmentDelivery
    build: Callable[[Sequence[Any]], list[Any]]  # claimed rows → the plugin's value objects
    send: Callable[[Any, AccountRef, list[Any]], list[PushOutcome]]  # the plugin method
    goal_name: Callable[[Any], str]  # a claimed row's goal, for calls_by_goal
    holds_goals: bool  # a "goal too recent" refusal holds the goal's other rows


def _conversion_lane(platform: Platform, external_goals: frozenset[str]) -> Lane:
    def build(rows: Sequence[Any]) -> list[ConversionUpload]:
        # One batch of queries for the rows of externally attributed goals, none for the rest.
        extra = upload_fields_for(
            [
                (row.conversion_id, row.click_id, True)
                for row in rows
                if row.goal_id in external_goals
            ]
        )
        return [
            ConversionUpload(
                row_id=row.id,
                goal_name=row.goal_name,
                occurred_at=row.conversion_time,
                click_id=row.click_id,
                click_param=row.click_param,
                value=row.value,
                currency=row.currency,
                hashed_email=row.hashed_email,
                hashed_phone=row.hashed_phone,
                ad_storage_consent=row.consent,
                **extra.get(row.conversion_id, {}),
            )
            for row in rows
        ]

    return Lane(
        ConversionDelivery, build, platform.push_conversions, lambda row: row.goal_name, True
    )


def _adjustment_lane(platform: Platform) -> Lane:
    def build(rows: Sequence[Any]) -> list[ConversionAdjustment]:
        return [
            ConversionAdjustment(
                row_id=row.id,
                kind=row.kind,
                goal_name=row.delivery.goal_name,
                occurred_at=row.delivery.conversion_time,
                adjusted_at=row.adjusted_at,
                click_id=row.delivery.click_id,
                click_param=row.delivery.click_param,
                value=row.value,
                currency=row.currency,
                hashed_email=row.delivery.hashed_email,
                hashed_phone=row.delivery.hashed_phone,
            )
            for row in rows
        ]

    return Lane(
        AdjustmentDelivery,
        build,
        platform.push_adjustments,
        lambda row: row.delivery.goal_name,
        False,
    )


def _send(
    lane: Lane,
    summary: PushSummary,
    platform: Platform,
    session: requests.Session,
    account: AccountRef,
    call: _Caller,
    on_batch: Callable[[int, int], None],
    claimed: Iterable[tuple[str, Sequence[Any]]] = (),
) -> None:
    """Send batches of ``lane`` rows (first the ones ``claimed`` hands over already claimed,
    then whatever ``claim`` finds due), each in one call, and record every row's outcome;
    ``on_batch(sent, failed)`` adds a batch's counts to the summary.

    Pipelined: while a batch is on the wire (the call runs on a second thread), this thread
    plans and claims the next one, so the database work and the platform's answer overlap. One
    call is in flight at a time, and a batch is handed to the platform only after the previous
    one's verdicts are recorded. No transaction is open while waiting for the answer. A call
    that does not complete releases its rows (still pending), and the next batch, claimed but
    never sent, is released too; then the error is raised. If planning the next batch fails,
    the call in flight is still waited for and recorded before the error is raised."""
    source = itertools.chain(claimed, _claims(lane, summary, platform))
    upcoming = next(source, None)
    if upcoming is None:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="platform-call") as wire:
        while upcoming is not None:
            token, rows = upcoming
            upcoming = None
            batch = lane.build(rows)
            db.session.commit()  # claim and commit, call, record and commit: nothing held
            try:
                ensure = getattr(session, "ensure_active_token", None)
                if ensure is not None:
                    ensure()  # a refresh happens here, never on the call's thread
                in_flight = wire.submit(_in_app_context, app, lane.send, session, account, batch)
            except BaseException as exc:  # the refresh failed: nothing was sent
                note = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                push_ledger.release(lane.model, token, note=note, push_run_id=summary.run_id)
                raise
            planning_failed: BaseException | None = None
            try:
                upcoming = next(source, None)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 (raised below, once the call in flight is recorded)
                db.session.rollback()
                planning_failed = exc
            try:
                outcomes = call.wait(
                    in_flight.result, lambda b=batch: lane.send(session, account, b)
                )
            except BaseException as exc:
                note = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                push_ledger.release(lane.model, token, note=note, push_run_id=summary.run_id)
                if upcoming is not None:
                    push_ledger.release(lane.model, upcoming[0], attempted=False)
                raise
            _record(lane, summary, platform, token, rows, outcomes, on_batch)
            if planning_failed is not None:
                raise planning_failed


def _in_app_context(app: Any, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` on the call's thread inside an application context of its own (its own
    database session, should a token refresh need one)."""
    with app.app_context():
        return fn(*args)


def _record(
    lane: Lane,
    summary: PushSummary,
    platform: Platform,
    token: str,
    rows: Sequence[Any],
    outcomes: list[PushOutcome],
    on_batch: Callable[[int, int], None],
) -> None:
    summary.api_calls += 1
    for name in {lane.goal_name(row) for row in rows}:
        summary.calls_by_goal[name] = summary.calls_by_goal.get(name, 0) + 1
    done = push_ledger.record(
        lane.model,
        token,
        rows,
        outcomes,
        now=utcnow(),
        retryable=platform.row_error_is_retryable,
        explain=platform.explain_error,
        goal_too_recent=platform.row_error_is_goal_too_recent,
        push_run_id=summary.run_id,
    )
    if lane.holds_goals:
        push_config.mark_goal_too_recent(
            summary.connection_id,
            set(done.too_recent_goals),
            utcnow() + push_ledger.RETRYABLE_ROW_DELAY,
        )
    db.session.commit()
    on_batch(done.sent, done.failed)


def _claims(lane: Lane, summary: PushSummary, platform: Platform) -> Iterator[tuple[str, list]]:
    while True:
        token, rows = push_ledger.claim(
            lane.model, summary.connection_id, platform.max_batch_size, _lease(), utcnow()
        )
        if not rows:
            return
        yield token, rows


def _send_conversions(
    summary: PushSummary,
    platform: Platform,
    session: requests.Session,
    account: AccountRef,
    call: _Caller,
    progress: Callable[[int, str], None] | None,
    external_goals: frozenset[str] = frozenset(),
    planned: Iterable[tuple[str, Sequence[Any]]] = (),
    plan: push_ledger.PlanResult | None = None,
) -> None:
    def counted(sent: int, failed: int) -> None:
        summary.sent += sent
        summary.failed += failed
        if progress is not None:
            # Planning goes on while batches go out, so the total is what is planned so far.
            total = max(1, summary.planned, plan.planned if plan else 0)
            pct = min(95, int(100 * (summary.sent + summary.failed) / total))
            progress(pct, f"{summary.sent} sent, {summary.failed} failed")

    lane = _conversion_lane(platform, external_goals)
    _send(lane, summary, platform, session, account, call, counted, planned)


def _send_adjustments(
    summary: PushSummary,
    platform: Platform,
    session: requests.Session,
    account: AccountRef,
    call: _Caller,
) -> None:
    def counted(sent: int, failed: int) -> None:
        summary.adjustments_sent += sent
        summary.adjustments_failed += failed

    _send(_adjustment_lane(platform), summary, platform, session, account, call, counted)


def _count_waiting(connection_id: int) -> int:
    D = ConversionDelivery
    return (
        db.session.scalar(
            select(func.count()).where(
                D.connection_id == connection_id,
                D.status == D.PENDING,
                D.next_attempt_at > utcnow(),
            )
        )
        or 0
    )


def _finish(run_id: int, summary: PushSummary, outcome: str) -> None:
    db.session.rollback()
    push_run = db.session.get(PushRun, run_id)
    push_run.finished_at = utcnow()
    push_run.sent, push_run.failed, push_run.waiting = summary.sent, summary.failed, summary.waiting
    push_run.planned, push_run.api_calls = summary.planned, summary.api_calls
    push_run.adjustments_sent = summary.adjustments_sent
    push_run.outcome = outcome
    connection = db.session.get(Connection, summary.connection_id)
    if connection is not None and summary.api_calls:
        connection.last_push_at = push_run.finished_at
    db.session.commit()


def push_now(actor, connection: Connection) -> int:  # noqa: ANN001
    """Enqueue a push for a person (the queued one if there is one); returns its run id."""
    if connection.status != Connection.ACTIVE:
        raise ServiceError("Reconnect this account before pushing; nothing is lost meanwhile.")
    audit.record(
        "push.requested",
        workspace_id=connection.workspace_id,
        actor_id=actor.user_id,
        target=f"{connection.platform_key}:{connection.account_id}",
    )
    db.session.commit()
    return background.request_push(connection.id)


# Rows a dry run checks at most (pending first, then failed), within the platform's batch size.
DRY_RUN_ROWS = 200


def dry_run(connection_id: int) -> str:
    """Capability ``dry_run``: ask the platform to check the rows waiting to be sent (and the
    failed ones) without storing anything, and say what it would answer. Nothing in the ledger
    changes: no claim, no attempt counted."""
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise NotFound("No such connection.")
    platform = push_config.platform_for(connection)
    if not platform.capabilities.dry_run:
        return f"{platform.display_name} offers no dry run."
    account = push_config.account_ref(connection)
    D = ConversionDelivery
    rows = list(
        db.session.scalars(
            select(D)
            .where(D.connection_id == connection_id, D.status.in_((D.PENDING, D.FAILED)))
            .order_by((D.status == D.FAILED).asc(), D.id)
            .limit(min(DRY_RUN_ROWS, platform.max_batch_size))
        )
    )
    if not rows:
        return "Dry run: no conversion is waiting to be sent or has failed; nothing to check."
    batch = _conversion_lane(platform, frozenset()).build(rows)
    db.session.commit()  # no transaction open while the platform answers
    session = session_for_connection(connection_id)
    call = _Caller(session)
    outcomes = call(lambda: platform.validate_conversions(session, account, batch))
    return dry_run_summary(platform, outcomes)


def dry_run_summary(platform: Platform, outcomes: Sequence[PushOutcome]) -> str:
    """ "Dry run of 12 conversion(s): 10 would be accepted, 2 refused. [code] explanation (×2)"."""
    refused: dict[str | None, list[PushOutcome]] = {}
    for outcome in outcomes:
        if not outcome.accepted:
            refused.setdefault(outcome.error_code, []).append(outcome)
    accepted = len(outcomes) - sum(len(v) for v in refused.values())
    text = (
        f"Dry run of {len(outcomes)} conversion(s) at {platform.display_name}: "
        f"{accepted} would be accepted, {len(outcomes) - accepted} refused."
    )
    for code, items in sorted(refused.items(), key=lambda kv: -len(kv[1])):
        words = platform.explain_error(code, items[0].error_message)
        text += f" [{code or '?'}] ×{len(items)}: {words}"
    return text


def request_dry_run(actor, connection: Connection) -> int:  # noqa: ANN001
    """Enqueue a dry run for a person; returns its run id."""
    if connection.status != Connection.ACTIVE:
        raise ServiceError("Reconnect this account before a dry run; nothing is lost meanwhile.")
    audit.record(
        "push.dry_run_requested",
        workspace_id=connection.workspace_id,
        actor_id=actor.user_id,
        target=f"{connection.platform_key}:{connection.account_id}",
    )
    db.session.commit()
    return background.request_dry_run(connection.id)


def retry_failed(actor, connection: Connection) -> tuple[int, int]:  # noqa: ANN001
    """Failed rows back to pending, then a push; returns (rows requeued, run id)."""
    count = push_ledger.retry_failed(connection.id)
    audit.record(
        "push.retry_failed",
        workspace_id=connection.workspace_id,
        actor_id=actor.user_id,
        target=f"{connection.platform_key}:{connection.account_id}",
        rows=count,
    )
    db.session.commit()
    return count, push_now(actor, connection)
