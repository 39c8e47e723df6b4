"""The delivery ledger's state machine: plan rows for eligible conversions, claim them with an
expiring lease, record the platform's verdicts, release what was not sent.

pending → sending (claimed, lease running) → sent | failed | pending again (retryable, or the
call never completed). A worker that dies mid-batch leaves rows in ``sending`` whose lease then
expires, and the next claim takes them again; the platform ignores a repeat of the same
(click id, goal name, time), so resending cannot double-count.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from platforms.base import Platform, PushOutcome
from webapp.extensions import db
from webapp.intake import identity, tracking
from webapp.models import (
    AdjustmentDelivery,
    Connection,
    Conversion,
    ConversionAdjustment,
    ConversionDelivery,
    GoalMapping,
    PushConfig,
    Visitor,
)
from webapp.privacy import consent
from webapp.push.eligibility import Candidate, assess, supplied_click_ids

D = ConversionDelivery
PLAN_CHUNK = 1000
RETRYABLE_ROW_DELAY = timedelta(minutes=15)
# Bulk updates by id: the session's copies are not read again, so skip syncing them (slow).
_NO_SYNC = {"synchronize_session": False}


def _insert(table):  # noqa: ANN001, ANN202
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@dataclass
class PlanResult:
    planned: int = 0
    waiting: int = 0
    not_eligible: int = 0


def _value(mapping: GoalMapping, conversion_value, conversion_currency, currency_default):  # noqa: ANN001, ANN202
    if mapping.value_mode == GoalMapping.NO_VALUE:
        return None, None
    if mapping.value_mode == GoalMapping.FIXED_VALUE:
        return mapping.fixed_value, currency_default
    if conversion_value is None:
        return None, None
    return conversion_value, (conversion_currency or currency_default)


def plan(
    connection: Connection,
    config: PushConfig,
    mappings: Sequence[GoalMapping],
    goals: dict,
    *,
    platform: Platform,
    now: datetime,
) -> PlanResult:
    """Create a pending ledger row for every mapped conversion inside the platform's window that
    is eligible now and has none yet. Streams conversions in chunks, so memory stays flat."""
    result = PlanResult()
    by_event = {m.event: m for m in mappings}
    if not by_event:
        return result
    rules = platform.upload_rules
    goal_for_event = {event: goals.get(m.goal_id) for event, m in by_event.items()}
    currency_default = config.default_currency or connection.currency
    consent_required = tracking.consent_required(connection.workspace_id)
    last_id = 0
    while True:
        rows = db.session.execute(
            select(
                Conversion.id,
                Conversion.visitor_id,
                Conversion.occurred_at,
                Conversion.event,
                Conversion.value,
                Conversion.currency,
                Conversion.identity_digests,
                Visitor.identity_digests,
                Conversion.consent_state,
                Visitor.consent_state,
            )
            .outerjoin(Visitor, Visitor.id == Conversion.visitor_id)
            .where(
                Conversion.workspace_id == connection.workspace_id,
                Conversion.event.in_(by_event),
                Conversion.occurred_at >= now - rules.window,
                Conversion.id > last_id,
                ~exists().where(D.connection_id == connection.id, D.conversion_id == Conversion.id),
            )
            .order_by(Conversion.id)
            .limit(PLAN_CHUNK)
        ).all()
        if not rows:
            return result
        last_id = rows[-1][0]
        supplied = supplied_click_ids(r[0] for r in rows)
        candidates = [
            Candidate(
                cid, vid, occurred, event, supplied.get(cid, {}),
                *identity.digests_for(platform, c_digests, v_digests),
                consent.effective(c_consent, v_consent),
            )
            for cid, vid, occurred, event, _v, _c, c_digests, v_digests, c_consent, v_consent
            in rows
        ]  # fmt: skip
        assessed = assess(
            platform,
            candidates,
            goal_for_event=goal_for_event,
            enhanced_opt_in=config.enhanced_conversions,
            now=now,
            consent_required=consent_required,
        )
        new_rows = []
        for cid, _vid, occurred, event, value, cur, *_digests in rows:
            mapping = by_event[event]
            verdict = assessed[cid].verdict
            if verdict.state == "waiting":
                result.waiting += 1
                continue
            if not verdict.eligible:
                result.not_eligible += 1
                continue
            amount, currency = _value(mapping, value, cur, currency_default)
            new_rows.append(
                {
                    "connection_id": connection.id,
                    "conversion_id": cid,
                    "goal_id": mapping.goal_id,
                    "goal_name": mapping.goal_name,
                    "click_id": verdict.click_id,
                    "click_param": verdict.click.param if verdict.click else None,
                    "hashed_email": assessed[cid].hashed_email,
                    "hashed_phone": assessed[cid].hashed_phone,
                    "consent": assessed[cid].consent,
                    "conversion_time": occurred,
                    "value": amount,
                    "currency": currency,
                    "status": D.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
            )
        if new_rows:
            # Two planners racing (a manual push beside the scheduled one) insert once.
            stmt = _insert(D.__table__).on_conflict_do_nothing(
                index_elements=["connection_id", "conversion_id", "goal_id"]
            )
            result.planned += db.session.execute(stmt, new_rows).rowcount or 0
        db.session.commit()


def _claimable(model, connection_id: int, now: datetime):  # noqa: ANN001, ANN202
    ready = model.status == D.PENDING
    if model is D:
        ready = and_(ready, or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now))
    expired = and_(model.status == D.SENDING, model.claimed_until < now)
    return and_(model.connection_id == connection_id, or_(ready, expired))


def claim(model, connection_id: int, limit: int, lease: timedelta, now: datetime):  # noqa: ANN001, ANN201
    """Take up to ``limit`` rows (pending and due, or sending with an expired lease) under a new
    token; returns ``(token, rows)``. The update re-checks the condition, so two claimers never
    hold the same row."""
    ids = list(
        db.session.scalars(
            select(model.id)
            .where(_claimable(model, connection_id, now))
            .order_by(model.id)
            .limit(limit)
        )
    )
    if not ids:
        return None, []
    token = secrets.token_hex(16)
    db.session.execute(
        update(model)
        .where(model.id.in_(ids), _claimable(model, connection_id, now))
        .values(
            status=D.SENDING,
            claim_token=token,
            claimed_until=now + lease,
            attempts=model.attempts + 1,
            **({"last_attempt_at": now} if model is D else {}),
        ),
        execution_options=_NO_SYNC,
    )
    db.session.commit()
    mine = select(model).where(model.claim_token == token).order_by(model.id)
    if model is D:
        # Plain rows, not ORM objects: a push reads a thousand of them per call and changes
        # them with UPDATE statements, so identity-map bookkeeping would only cost time.
        rows = db.session.execute(
            select(*D.__table__.columns).where(D.claim_token == token).order_by(D.id)
        ).all()
    else:
        rows = list(db.session.scalars(mine.options(joinedload(model.delivery))))
        for row in rows:  # read as values from here on; the ledger changes by UPDATE
            db.session.expunge(row)
            if row.delivery in db.session:
                db.session.expunge(row.delivery)
    # The claim is committed and the rows are read: end this read's transaction too, so the
    # platform call that comes next holds no lock (webapp.connections.platform_calls).
    db.session.commit()
    return token, rows


@dataclass
class Recorded:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    too_recent_goals: frozenset[str] = frozenset()


def record(
    model,  # noqa: ANN001
    token: str,
    rows: Sequence,
    outcomes: Iterable[PushOutcome],
    *,
    now: datetime,
    retryable: Callable[[str | None], bool],
    explain: Callable[[str | None, str | None], str],
    goal_too_recent: Callable[[str | None], bool] = lambda code: False,
) -> Recorded:
    """Apply one outcome per row: accepted → sent; retryable refusal → pending again later;
    anything else → failed with the platform's code and a plain explanation."""
    by_id = {row.id: row for row in rows}
    result = Recorded()
    # Accepted row ids by the platform's receipt (kept on conversion rows only).
    accepted: dict[str | None, list[int]] = {}
    too_recent: set[str] = set()
    mine = model.claim_token == token
    for outcome in outcomes:
        row = by_id.get(outcome.row_id)
        if row is None:
            continue
        if outcome.accepted:
            receipt = ((outcome.receipt or "")[:128] or None) if model is D else None
            accepted.setdefault(receipt, []).append(row.id)
            continue
        message = explain(outcome.error_code, outcome.error_message)
        values = {
            "error_code": (outcome.error_code or "")[:32] or None,
            "error_message": message,
            "claim_token": None,
            "claimed_until": None,
        }
        if retryable(outcome.error_code):
            result.retry_later += 1
            values["status"] = D.PENDING
            if model is D:
                values["next_attempt_at"] = now + RETRYABLE_ROW_DELAY
                if goal_too_recent(outcome.error_code):
                    too_recent.add(row.goal_name)
        else:
            result.failed += 1
            values["status"] = D.FAILED
        db.session.execute(
            update(model).where(model.id == row.id, mine).values(**values),
            execution_options=_NO_SYNC,
        )
    for receipt, ids in accepted.items():
        extra = {"receipt": receipt} if model is D else {}
        for start in range(0, len(ids), 500):
            db.session.execute(
                update(model)
                .where(model.id.in_(ids[start : start + 500]), mine)
                .values(
                    status=D.SENT,
                    sent_at=now,
                    error_code=None,
                    error_message=None,
                    claim_token=None,
                    claimed_until=None,
                    **extra,
                ),
                execution_options=_NO_SYNC,
            )
    result.sent = sum(len(ids) for ids in accepted.values())
    result.too_recent_goals = frozenset(too_recent)
    return result


def release(model, token: str) -> None:  # noqa: ANN001
    """The call did not complete: give the rows back (still pending) for the next attempt."""
    db.session.rollback()
    db.session.execute(
        update(model)
        .where(model.claim_token == token, model.status == D.SENDING)
        .values(status=D.PENDING, claim_token=None, claimed_until=None),
        execution_options=_NO_SYNC,
    )
    db.session.commit()


def plan_adjustments(connection: Connection, mappings: Sequence[GoalMapping], now: datetime) -> int:
    """One adjustment row per refund/value change of a conversion already sent: a full refund
    retracts; otherwise the new value is restated (only for goals that carry the event value)."""
    modes = {m.goal_id: m.value_mode for m in mappings}
    A, CA = AdjustmentDelivery, ConversionAdjustment
    pairs = db.session.execute(
        select(CA, D)
        .join(D, D.conversion_id == CA.conversion_id)
        .where(
            D.connection_id == connection.id,
            D.status == D.SENT,
            ~exists().where(A.delivery_id == D.id, A.adjustment_id == CA.id),
        )
        .order_by(CA.id)
    ).all()
    for adjustment, delivery in pairs:
        retract = adjustment.new_value <= 0
        adjusted_at = min(max(adjustment.occurred_at, delivery.conversion_time), now)
        row = A(
            connection_id=connection.id,
            delivery_id=delivery.id,
            adjustment_id=adjustment.id,
            kind=A.RETRACT if retract else A.RESTATE,
            value=None if retract else adjustment.new_value,
            currency=None if retract else (adjustment.currency or delivery.currency),
            adjusted_at=adjusted_at,
            created_at=now,
        )
        if not retract and modes.get(delivery.goal_id, GoalMapping.EVENT_VALUE) != "event":
            row.status = "skipped"
            row.error_message = "This goal is sent without the event's value; nothing to restate."
        db.session.add(row)
    db.session.commit()
    return len(pairs)


def retry_failed(connection_id: int) -> int:
    """Put failed rows back to pending (a person fixed the cause, e.g. the goal mapping)."""
    count = 0
    for model in (D, AdjustmentDelivery):
        values = {"status": D.PENDING, "claim_token": None, "claimed_until": None}
        if model is D:
            values["next_attempt_at"] = None
        count += (
            db.session.execute(
                update(model)
                .where(model.connection_id == connection_id, model.status == D.FAILED)
                .values(**values),
                execution_options=_NO_SYNC,
            ).rowcount
            or 0
        )
    db.session.commit()
    return count
