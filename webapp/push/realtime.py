"""Sending a connection's conversions down its platform's real-time event path (capability
``realtime_events``), exactly once, through a ledger of its own (``RealtimeDelivery``) that
works like the push ledger: plan a row per conversion, claim rows under an expiring lease,
call the plugin with no transaction open, record one outcome per row.

pending → sending → sent | failed | pending again (a retryable refusal, or a call that never
completed); ``held`` when the workspace requires consent and the conversion has none (checked
again on every run, so consent given later releases it). The event id is fixed when a row is
planned and is the id the pixel's browser tag used for the same conversion: resending after a
crash repeats the same event, which the platform counts once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from platforms.base import AccountRef, Platform, PushOutcome, RealtimeEvent, Reason, ReasonFacts
from webapp.common.errors import NotFound
from webapp.connections.platform_calls import GuardedSession
from webapp.extensions import db, platform_registry
from webapp.intake import identity, tracking
from webapp.intake.click_matching import platform_params, resolve_clicks, supplied_click_ids
from webapp.models import Connection, Conversion, RealtimeConfig, RealtimeDelivery, Visitor
from webapp.models.types import utcnow
from webapp.privacy import consent as consent_rules
from webapp.push import config as push_config
from webapp.push.eligibility import wording
from webapp.push.realtime_settings import config_for, settings_values, spec_for

log = logging.getLogger(__name__)
R = RealtimeDelivery
PLAN_CHUNK = 1000
RETRY_DELAY = timedelta(minutes=5)
PIXEL_PREFIX = "px:"
_NO_SYNC = {"synchronize_session": False}


def event_id_for(conversion_id: int, external_id: str | None) -> str:
    """The id the platform de-duplicates on: the pixel's own event id for a pixel conversion
    (what its browser tag reported), the sender's ``external_id`` otherwise."""
    if external_id and external_id.startswith(PIXEL_PREFIX):
        return external_id[len(PIXEL_PREFIX) :]
    return external_id or f"sourceloop-{conversion_id}"


@dataclass
class RealtimeSummary:
    connection_id: int
    planned: int = 0
    held: int = 0
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    api_calls: int = 0
    skipped: str = ""

    @property
    def text(self) -> str:
        if self.skipped:
            return f"connection {self.connection_id}: real-time skipped ({self.skipped})"
        return (
            f"connection {self.connection_id}: real-time {self.sent} sent, {self.failed} "
            f"failed, {self.retry_later} to retry, {self.held} held for consent, "
            f"{self.api_calls} call(s)"
        )


def _insert():  # noqa: ANN202
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(R.__table__)


def _allowed(consent: str, required: bool) -> bool:
    return not required or consent == "granted"


def plan(connection: Connection, config: RealtimeConfig, window: timedelta, now: datetime) -> int:
    """A row for every conversion of the chosen events inside the platform's window that has
    none: pending, or held when consent is required and missing. Held rows whose consent has
    since been given (or is no longer required) become pending. → rows planned."""
    events = list(config.events or [])
    if not events:
        return 0
    required = tracking.consent_required(connection.workspace_id)
    planned = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(
                Conversion.id,
                Conversion.event,
                Conversion.external_id,
                Conversion.consent_state,
                Visitor.consent_state,
            )
            .outerjoin(Visitor, Visitor.id == Conversion.visitor_id)
            .where(
                Conversion.workspace_id == connection.workspace_id,
                Conversion.event.in_(events),
                Conversion.occurred_at >= now - window,
                Conversion.id > last_id,
                ~exists().where(R.connection_id == connection.id, R.conversion_id == Conversion.id),
            )
            .order_by(Conversion.id)
            .limit(PLAN_CHUNK)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        new_rows = []
        for cid, event, external_id, c_consent, v_consent in rows:
            state = consent_rules.effective(c_consent, v_consent)
            held = not _allowed(state, required)
            new_rows.append(
                {
                    "connection_id": connection.id,
                    "conversion_id": cid,
                    "event_id": event_id_for(cid, external_id)[:255],
                    "event_name": event,
                    "consent": state,
                    "status": R.HELD if held else R.PENDING,
                    "reason": Reason.CONSENT_MISSING.value if held else None,
                    "attempts": 0,
                    "created_at": now,
                }
            )
        stmt = _insert().on_conflict_do_nothing(index_elements=["connection_id", "conversion_id"])
        planned += db.session.execute(stmt, new_rows).rowcount or 0
        db.session.commit()
    _release_held(connection.id, required)
    return planned


def _release_held(connection_id: int, required: bool) -> None:
    held = db.session.execute(
        select(R.id, Conversion.consent_state, Visitor.consent_state)
        .join(Conversion, Conversion.id == R.conversion_id)
        .outerjoin(Visitor, Visitor.id == Conversion.visitor_id)
        .where(R.connection_id == connection_id, R.status == R.HELD)
    ).all()
    ready = {}
    for row_id, c_consent, v_consent in held:
        state = consent_rules.effective(c_consent, v_consent)
        if _allowed(state, required):
            ready.setdefault(state, []).append(row_id)
    for state, ids in ready.items():
        for start in range(0, len(ids), 500):
            db.session.execute(
                update(R)
                .where(R.id.in_(ids[start : start + 500]), R.status == R.HELD)
                .values(status=R.PENDING, reason=None, consent=state),
                execution_options=_NO_SYNC,
            )
    db.session.commit()


def _claimable(connection_id: int, now: datetime):  # noqa: ANN202
    ready = and_(R.status == R.PENDING, or_(R.next_attempt_at.is_(None), R.next_attempt_at <= now))
    expired = and_(R.status == R.SENDING, R.claimed_until < now)
    return and_(R.connection_id == connection_id, or_(ready, expired))


def claim(connection_id: int, limit: int, lease: timedelta, now: datetime) -> tuple[str, list]:
    """Take up to ``limit`` due rows under a new token (the update re-checks the condition, so
    two claimers never hold the same row); commits, so nothing is held during the call."""
    ids = list(
        db.session.scalars(
            select(R.id).where(_claimable(connection_id, now)).order_by(R.id).limit(limit)
        )
    )
    token = secrets.token_hex(16)
    if ids:
        db.session.execute(
            update(R)
            .where(R.id.in_(ids), _claimable(connection_id, now))
            .values(
                status=R.SENDING,
                claim_token=token,
                claimed_until=now + lease,
                attempts=R.attempts + 1,
                last_attempt_at=now,
            ),
            execution_options=_NO_SYNC,
        )
    db.session.commit()
    rows = db.session.execute(
        select(R.id, R.conversion_id, R.event_id, R.event_name)
        .where(R.claim_token == token)
        .order_by(R.id)
    ).all()
    return token, list(rows)


def build_events(
    platform: Platform,
    rows: Sequence[Any],
    *,
    hashes: bool,
    visitor_ids: bool,
    required: bool,
) -> tuple[list[RealtimeEvent], list[int]]:
    """The plugin's events for claimed rows, read from the conversions now; → (events, ids of
    rows to hold because consent is required and, by now, missing)."""
    by_id = {row.conversion_id: row for row in rows}
    conversions = db.session.execute(
        select(
            Conversion.id,
            Conversion.visitor_id,
            Conversion.occurred_at,
            Conversion.value,
            Conversion.currency,
            Conversion.external_id,
            Conversion.identity_digests,
            Conversion.consent_state,
            Visitor.uid,
            Visitor.identity_digests,
            Visitor.consent_state,
        )
        .outerjoin(Visitor, Visitor.id == Conversion.visitor_id)
        .where(Conversion.id.in_(list(by_id)))
    ).all()
    supplied = supplied_click_ids(by_id)
    clicks = resolve_clicks(
        [(c.id, c.visitor_id, c.occurred_at, supplied.get(c.id, {})) for c in conversions],
        click_params=platform_params(platform),
    )
    events: list[RealtimeEvent] = []
    hold: list[int] = []
    for c in conversions:
        row = by_id[c.id]
        state = consent_rules.effective(c[7], c[10])
        if not _allowed(state, required):
            hold.append(row.id)
            continue
        email, phone = identity.digests_for(platform, c[6], c[9]) if hashes else (None, None)
        click = clicks[c.id].click
        uid = c.uid if visitor_ids and c.uid and not c.uid.startswith("api:") else None
        events.append(
            RealtimeEvent(
                row_id=row.id,
                event_id=row.event_id,
                event_name=row.event_name,
                occurred_at=c.occurred_at,
                value=c.value,
                currency=c.currency,
                click_id=click.click_id if click else None,
                click_param=click.param if click else None,
                hashed_email=email,
                hashed_phone=phone,
                visitor_id=uid,
                transaction_id=(c.external_id or None) and event_id_for(c.id, c.external_id),
                ad_storage_consent=state,
            )
        )
    return events, hold


def record(
    token: str,
    outcomes: Sequence[PushOutcome],
    *,
    retryable: frozenset[str],
    now: datetime,
    summary: RealtimeSummary,
) -> None:
    """One outcome per row: accepted → sent (a warning kept beside it); a retryable code →
    pending again after ``RETRY_DELAY``; anything else → failed with the plugin's code and
    words. Only rows still under ``token`` change."""
    mine = R.claim_token == token
    for outcome in outcomes:
        code = (outcome.error_code or "")[:32] or None
        values: dict[str, Any] = {
            "claim_token": None,
            "claimed_until": None,
            "error_code": code,
            "error_message": outcome.error_message if code else None,
        }
        if outcome.accepted:
            summary.sent += 1
            values |= {"status": R.SENT, "sent_at": now, "reason": Reason.SENT.value}
        elif code in retryable:
            summary.retry_later += 1
            values |= {
                "status": R.PENDING,
                "next_attempt_at": now + RETRY_DELAY,
                "reason": Reason.RETRY_LATER.value,
            }
        else:
            summary.failed += 1
            values |= {"status": R.FAILED, "reason": Reason.REFUSED.value}
        db.session.execute(
            update(R).where(R.id == outcome.row_id, mine).values(**values),
            execution_options=_NO_SYNC,
        )


def release(token: str) -> None:
    """The call did not complete: the rows go back to pending for the next attempt."""
    db.session.rollback()
    db.session.execute(
        update(R)
        .where(R.claim_token == token, R.status == R.SENDING)
        .values(status=R.PENDING, claim_token=None, claimed_until=None),
        execution_options=_NO_SYNC,
    )
    db.session.commit()


def _lease() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("PUSH_LEASE_SECONDS", 300)))


def run(connection_id: int) -> RealtimeSummary:
    """One real-time run of one connection: plan, then claim, send and record batches until
    nothing is due. A rate limit or an unreachable platform releases the batch and raises (the
    job runtime retries)."""
    summary = RealtimeSummary(connection_id)
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise NotFound("No such connection.")
    config = config_for(connection_id)
    platform = platform_registry().get(connection.platform_key)
    spec = spec_for(platform)
    if spec is None or platform is None:
        summary.skipped = "the platform has no real-time path"
        return summary
    if connection.status != Connection.ACTIVE:
        summary.skipped = f"connection is {connection.status_label.lower()}"
        return summary
    if not config.enabled:
        summary.skipped = "the real-time path is off"
        return summary
    summary.planned = plan(connection, config, spec.window, utcnow())
    settings = settings_values(config)
    hashes = push_config.config_for(connection_id).enhanced_conversions
    required = tracking.consent_required(connection.workspace_id)
    account = AccountRef(connection.account_id, connection.customer_id)
    session = GuardedSession()
    try:
        while True:
            token, rows = claim(connection_id, spec.max_batch, _lease(), utcnow())
            if not rows:
                break
            events, hold = build_events(
                platform,
                rows,
                hashes=hashes,
                visitor_ids=bool(config.browser_tag and spec.browser_tag),
                required=required,
            )
            _hold(token, hold, summary)
            db.session.commit()  # nothing open while the platform is called
            if not events:
                continue
            try:
                outcomes = platform.send_realtime_events(session, settings, account, events)
            except BaseException:
                release(token)
                raise
            summary.api_calls += 1
            record(token, outcomes, retryable=spec.retryable_codes, now=utcnow(), summary=summary)
            db.session.commit()
    finally:
        session.close()
    summary.held += _count(connection_id, R.HELD)
    return summary


def _hold(token: str, ids: list[int], summary: RealtimeSummary) -> None:
    if not ids:
        return
    db.session.execute(
        update(R)
        .where(R.id.in_(ids), R.claim_token == token)
        .values(
            status=R.HELD,
            reason=Reason.CONSENT_MISSING.value,
            claim_token=None,
            claimed_until=None,
        ),
        execution_options=_NO_SYNC,
    )


def _count(connection_id: int, status: str) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(R.connection_id == connection_id, R.status == status)
        )
        or 0
    )


def due_connection_ids(now: datetime | None = None) -> list[int]:
    """Active connections whose real-time path is on and has work: rows due, a lease expired,
    a conversion of a chosen event inside the window with no row yet, or held rows (consent may
    have been given since)."""
    now = now or utcnow()
    due: list[int] = []
    configs = db.session.execute(
        select(Connection, RealtimeConfig)
        .join(RealtimeConfig, RealtimeConfig.connection_id == Connection.id)
        .where(Connection.status == Connection.ACTIVE, RealtimeConfig.enabled.is_(True))
        .order_by(Connection.id)
    ).all()
    for connection, config in configs:
        spec = spec_for(platform_registry().get(connection.platform_key))
        if spec is None or not config.events:
            continue
        work = or_(
            exists().where(_claimable(connection.id, now)),
            exists().where(R.connection_id == connection.id, R.status == R.HELD),
            exists().where(
                Conversion.workspace_id == connection.workspace_id,
                Conversion.event.in_(list(config.events)),
                Conversion.occurred_at >= now - spec.window,
                ~exists().where(R.connection_id == connection.id, R.conversion_id == Conversion.id),
            ),
        )
        if db.session.scalar(select(work)):
            due.append(connection.id)
    return due


@dataclass(frozen=True)
class RealtimeRow:
    conversion_id: int
    event_id: str
    event_name: str
    status: str
    reason: str | None
    error_code: str | None
    error_message: str | None
    attempts: int
    last_attempt_at: datetime | None
    consent: str


@dataclass(frozen=True)
class RealtimeStatus:
    enabled: bool
    counts: dict[str, int]
    problems: list[RealtimeRow]  # failed, held and warned rows, newest first


def status(platform: Platform, connection_id: int, limit: int = 50) -> RealtimeStatus | None:
    """For Troubleshoot: counts by state and the rows that need a look, newest first, each
    with its reason code and words (None: the path was never set up)."""
    config = db.session.get(RealtimeConfig, connection_id)
    if config is None or spec_for(platform) is None:
        return None
    grouped = db.session.execute(
        select(R.status, func.count()).where(R.connection_id == connection_id).group_by(R.status)
    ).all()
    counts = {str(state): int(n) for state, n in grouped}
    rows = db.session.execute(
        select(
            R.conversion_id,
            R.event_id,
            R.event_name,
            R.status,
            R.reason,
            R.error_code,
            R.error_message,
            R.attempts,
            R.last_attempt_at,
            R.consent,
        )
        .where(
            R.connection_id == connection_id,
            or_(R.status.in_([R.FAILED, R.HELD]), R.error_code.is_not(None)),
        )
        .order_by(R.id.desc())
        .limit(limit)
    ).all()
    problems = []
    for row in rows:
        item = RealtimeRow(*row)
        if item.status == R.HELD and not item.error_message:
            facts = ReasonFacts(consent=item.consent)
            words = wording(platform, Reason.CONSENT_MISSING, facts)
            item = replace(item, error_message=words.text)
        problems.append(item)
    return RealtimeStatus(config.enabled, counts, problems)
