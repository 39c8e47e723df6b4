"""The delivery ledger's state machine: plan rows for eligible conversions, claim them with an
expiring lease, record the platform's verdicts, release what was not sent.

pending → sending (claimed, lease running) → sent | failed | pending again (retryable, or the
call never completed). A push plans its new rows straight into ``sending`` under its own claim
(``plan_claimed``): the same state, without a second write and read of every row. A worker that
dies mid-batch leaves rows in ``sending`` whose lease then expires, and the next claim takes them
again; the platform ignores a repeat of the same (click id, goal name, time), so resending cannot
double-count.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from platforms.base import Platform, PushOutcome
from webapp.common.sql import driver_insert
from webapp.extensions import db
from webapp.intake import identity, tracking
from webapp.intake.click_matching import platform_params
from webapp.models import (
    AdjustmentDelivery,
    Connection,
    Conversion,
    ConversionAdjustment,
    ConversionClickId,
    ConversionDelivery,
    GoalMapping,
    PushConfig,
    Visitor,
)
from webapp.models.types import utcnow
from webapp.privacy import consent
from webapp.push import history, states
from webapp.push.eligibility import ELIGIBLE, WAITING, Candidate, assess

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


class _ValueRule(NamedTuple):
    """What a goal mapping says about the value sent (a plain copy of the mapping's columns)."""

    value_mode: str
    fixed_value: Decimal | None


def _value(mapping: _ValueRule, conversion_value, conversion_currency, currency_default):  # noqa: ANN001, ANN202
    if mapping.value_mode == GoalMapping.NO_VALUE:
        return None, None
    if mapping.value_mode == GoalMapping.FIXED_VALUE:
        return mapping.fixed_value, currency_default
    if conversion_value is None:
        return None, None
    return conversion_value, (conversion_currency or currency_default)


class ClaimedRow(NamedTuple):
    """A claimed conversion row as a send uses it (what ``claim`` returns, and what
    ``plan_claimed`` hands over without reading it back)."""

    id: int
    conversion_id: int
    goal_id: str
    goal_name: str
    click_id: str | None
    click_param: str | None
    hashed_email: str | None
    hashed_phone: str | None
    consent: str
    conversion_time: datetime
    value: Decimal | None
    currency: str | None
    connection_id: int  # for the conversion's timeline


class Planned(NamedTuple):
    """A new ledger row for an eligible conversion, as the plan makes it (the columns that vary
    from row to row, in the order ``_PLANNED`` inserts them)."""

    conversion_id: int
    goal_id: str
    goal_name: str
    event: str
    click_id: str | None
    click_param: str | None
    hashed_email: str | None
    hashed_phone: str | None
    consent: str
    conversion_time: datetime
    value: Decimal | None
    currency: str | None


_PLANNED = Planned._fields


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
    for new_rows in _eligible(connection, config, mappings, goals, platform, now, result):
        if new_rows:
            pending = {
                "connection_id": connection.id,
                "status": D.PENDING,
                "attempts": 0,
                "created_at": now,
            }
            # Two planners racing (a manual push beside the scheduled one) insert once.
            # Counted from RETURNING: an executemany's rowcount is -1 on some drivers (psycopg).
            inserted = db.session.execute(
                _insert_rows().returning(D.id), [{**row._asdict(), **pending} for row in new_rows]
            ).all()
            result.planned += len(inserted)
        db.session.commit()
    return result


def plan_claimed(
    connection: Connection,
    config: PushConfig,
    mappings: Sequence[GoalMapping],
    goals: dict,
    *,
    platform: Platform,
    now: datetime,
    batch_size: int,
    lease: timedelta,
    result: PlanResult,
) -> Iterator[tuple[str, list[ClaimedRow]]]:
    """``plan`` for a push that sends at once: each new row is born claimed (``sending`` under
    a token and a lease, committed before the platform call, exactly as ``claim`` leaves it), and
    batches of ``batch_size`` are handed over as they fill, so the push neither claims nor reads
    back what it has just planned. A worker that dies with a batch leaves it to expire like any
    claim. Adds the counts to ``result``."""
    buffer: list[Planned] = []
    connection_id = connection.id  # read once: each commit expires the ORM object
    for new_rows in _eligible(connection, config, mappings, goals, platform, now, result):
        buffer.extend(new_rows)
        while len(buffer) >= batch_size:
            batch, buffer = buffer[:batch_size], buffer[batch_size:]
            claimed = _insert_claimed(connection_id, batch, now, lease, result)
            if claimed[1]:
                yield claimed
        db.session.commit()
    if buffer:
        claimed = _insert_claimed(connection_id, buffer, now, lease, result)
        if claimed[1]:
            yield claimed


def _insert_rows():  # noqa: ANN202
    return _insert(D.__table__).on_conflict_do_nothing(
        index_elements=["connection_id", "conversion_id", "goal_id"]
    )


def _insert_claimed(
    connection_id: int, batch: list[Planned], planned_at: datetime, lease: timedelta,
    result: PlanResult,
) -> tuple[str, list[ClaimedRow]]:  # fmt: skip
    """Insert a batch of planned rows born claimed under a new token, through the driver (one
    executemany; thousands of rows a push), and read back the ids of the rows this call inserted.
    Rows another planner inserted first are skipped by the insert and not read back: they are
    theirs."""
    token, at = secrets.token_hex(16), utcnow()
    conn = db.session.connection()
    driver_insert(
        conn,
        D.__table__,
        _PLANNED,
        batch,
        constants={
            "connection_id": connection_id,
            "status": D.SENDING,
            "claim_token": token,
            "claimed_until": at + lease,
            "attempts": 1,
            "last_attempt_at": at,
            "created_at": planned_at,
        },
        ignore_conflicts_on=("connection_id", "conversion_id", "goal_id"),
    )
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    inserted = dict(
        conn.exec_driver_sql(
            f"SELECT conversion_id, id FROM {D.__tablename__} WHERE claim_token = {mark}",  # noqa: S608
            (token,),
        ).all()
    )
    db.session.commit()
    rows = [
        ClaimedRow(
            inserted[p.conversion_id], p.conversion_id, p.goal_id, p.goal_name, p.click_id,
            p.click_param, p.hashed_email, p.hashed_phone, p.consent, p.conversion_time, p.value,
            p.currency, connection_id,
        )
        for p in batch
        if p.conversion_id in inserted
    ]  # fmt: skip
    result.planned += len(rows)
    return token, rows


def _eligible(
    connection: Connection,
    config: PushConfig,
    mappings: Sequence[GoalMapping],
    goals: dict,
    platform: Platform,
    now: datetime,
    result: PlanResult,
) -> Iterator[list[Planned]]:
    """Per chunk of candidate conversions, the new ledger rows of the eligible ones; counts the
    waiting and the never-eligible ones into ``result``."""
    by_event = {m.event: m for m in mappings}
    if not by_event:
        return
    rules = platform.upload_rules
    goal_for_event = {event: goals.get(m.goal_id) for event, m in by_event.items()}
    # Per event, what every row of it carries, and the connection's settings: read once as plain
    # values. Each chunk commits, which expires the ORM objects, and every attribute read after
    # that would load its object again.
    targets = {
        event: (m.goal_id, m.goal_name, _ValueRule(m.value_mode, m.fixed_value))
        for event, m in by_event.items()
    }
    connection_id, workspace_id = connection.id, connection.workspace_id
    enhanced_opt_in = config.enhanced_conversions
    currency_default = config.default_currency or connection.currency
    consent_required = tracking.consent_required(workspace_id)
    # The click ids the sender supplied, one column per parameter of this platform's (ids of other
    # platforms' parameters are never used for it), read with the conversions in one query.
    params = list(platform_params(platform))
    K = ConversionClickId
    supplied_columns = [
        select(K.click_id)
        .where(K.conversion_id == Conversion.id, K.click_param == param)
        .scalar_subquery()
        for param in params
    ]
    last_id = 0
    while True:
        query = (
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
                *supplied_columns,
            )
            .outerjoin(Visitor, Visitor.id == Conversion.visitor_id)
            .where(
                Conversion.workspace_id == workspace_id,
                Conversion.event.in_(by_event),
                Conversion.occurred_at >= now - rules.window,
                Conversion.id > last_id,
                ~exists().where(D.connection_id == connection_id, D.conversion_id == Conversion.id),
            )
            .order_by(Conversion.id)
            .limit(PLAN_CHUNK)
        )
        # Core, not the ORM: plain rows of columns, without the ORM's per-row loading.
        rows = db.session.connection().execute(query).all()
        if not rows:
            return
        last_id = rows[-1][0]
        candidates = [
            Candidate(
                cid, vid, occurred, event,
                {param: given for param, given in zip(params, ids, strict=True) if given},
                *identity.digests_for(platform, c_digests, v_digests),
                consent.effective(c_consent, v_consent),
            )
            for cid, vid, occurred, event, _v, _c, c_digests, v_digests, c_consent, v_consent, *ids
            in rows
        ]  # fmt: skip
        assessed = assess(
            platform,
            candidates,
            goal_for_event=goal_for_event,
            enhanced_opt_in=enhanced_opt_in,
            now=now,
            consent_required=consent_required,
        )
        # What the state model counts for conversions without a ledger row (webapp.push.states).
        verdicts = {r[0]: assessed[r[0]].verdict for r in rows}
        changed = states.record_decisions(
            connection_id,
            {r[0]: (verdicts[r[0]], r[3], r[2], assessed[r[0]].has_click) for r in rows},
            now,
        )
        goal_of = {cid: by_event[event].goal_name for cid, _v, _o, event, *_rest in rows}
        # The timeline: decisions that changed (a planned row records its own, ``timeline``).
        history.add(
            history.decision(connection_id, cid, verdicts[cid], now, goal_of[cid])
            for cid in changed
        )
        new_rows = []
        for cid, _vid, occurred, event, value, cur, *_digests in rows:
            goal_id, goal_name, mapping = targets[event]
            found = assessed[cid]
            verdict = found.verdict
            if verdict.state == WAITING:
                result.waiting += 1
                continue
            if verdict.state != ELIGIBLE:
                result.not_eligible += 1
                continue
            amount, currency = _value(mapping, value, cur, currency_default)
            click = verdict.click
            new_rows.append(
                Planned(
                    cid, goal_id, goal_name, event, click.click_id if click else None,
                    click.param if click else None, found.hashed_email, found.hashed_phone,
                    found.consent, occurred, amount, currency,
                )
            )  # fmt: skip
        yield new_rows


def _claimable(model, connection_id: int, now: datetime):  # noqa: ANN001, ANN202
    ready = model.status == D.PENDING
    if model is D:
        ready = and_(ready, or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now))
    expired = and_(model.status == D.SENDING, model.claimed_until < now)
    return and_(model.connection_id == connection_id, or_(ready, expired))


# What a send needs of a claimed conversion row (one UTC time to convert, not seven).
_CLAIMED = (
    D.id,
    D.conversion_id,
    D.goal_id,
    D.goal_name,
    D.click_id,
    D.click_param,
    D.hashed_email,
    D.hashed_phone,
    D.consent,
    D.conversion_time,
    D.value,
    D.currency,
    D.connection_id,
)


def claim(model, connection_id: int, limit: int, lease: timedelta, now: datetime):  # noqa: ANN001, ANN201
    """Take up to ``limit`` rows (pending and due, or sending with an expired lease) under a new
    token; returns ``(token, rows)``. The update re-checks the condition, so two claimers never
    hold the same row; on PostgreSQL the candidates are locked with SKIP LOCKED, so a second
    worker on the same connection takes the next rows instead of waiting for these."""
    token = secrets.token_hex(16)
    candidates = (
        select(model.id)
        .where(_claimable(model, connection_id, now))
        .order_by(model.id)
        .limit(limit)
    )
    chosen = candidates.scalar_subquery()
    if db.engine.dialect.name == "postgresql":
        # A materialized CTE runs once: an IN (subquery … FOR UPDATE SKIP LOCKED) may be rescanned
        # by the planner, and a rescan skips nothing it has locked itself, so it takes more rows
        # than the limit (seen: 2,500 rows claimed for a batch of 1,000).
        locked = (
            candidates.with_for_update(skip_locked=True)
            .cte("claim_candidates")
            .prefix_with("MATERIALIZED")
        )
        chosen = select(locked.c.id).scalar_subquery()
    claim_rows = (
        update(model)
        .where(model.id.in_(chosen), _claimable(model, connection_id, now))
        .values(
            status=D.SENDING,
            claim_token=token,
            claimed_until=now + lease,
            attempts=model.attempts + 1,
            **({"last_attempt_at": now} if model is D else {}),
        )
    )
    if model is D:
        # One statement claims and reads: plain rows of the columns a send uses, not ORM
        # objects (a push reads a thousand per call and changes them with UPDATE statements).
        rows = sorted(
            (
                ClaimedRow(*row)
                for row in db.session.execute(
                    claim_rows.returning(*_CLAIMED), execution_options=_NO_SYNC
                )
            ),
            key=lambda row: row.id,
        )
        db.session.commit()
        return (token, rows) if rows else (None, [])
    claimed = db.session.execute(claim_rows, execution_options=_NO_SYNC).rowcount
    db.session.commit()
    if not claimed:
        return None, []
    mine = select(model).where(model.claim_token == token).order_by(model.id)
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
    push_run_id: int | None = None,
) -> Recorded:
    """Apply one outcome per row: accepted → sent; retryable refusal → pending again later;
    anything else → failed with the platform's code and a plain explanation. Each refusal (and
    each adjustment's answer) is also appended to the conversion's timeline (``history``); an
    accepted conversion row is its own record of that."""
    by_id = {row.id: row for row in rows}
    result = Recorded()
    # Accepted row ids by the platform's receipt (kept on conversion rows only).
    accepted: dict[str | None, list[int]] = {}
    too_recent: set[str] = set()
    refused: set[int] = set()
    events: list[dict] = []
    mine = model.claim_token == token
    for outcome in outcomes:
        row = by_id.get(outcome.row_id)
        if row is None or row.id in refused:
            continue
        if outcome.accepted:
            receipt = ((outcome.receipt or "")[:128] or None) if model is D else None
            accepted.setdefault(receipt, []).append(row.id)
            if model is not D:  # a conversion row's acceptance is its own record (``timeline``)
                events.append(_answer(model, row, push_run_id, now, "sent"))
            continue
        refused.add(row.id)
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
        events.append(
            _answer(
                model, row, push_run_id, now,
                "retry" if values["status"] == D.PENDING else "rejected",
                error_code=values["error_code"], message=message,
                until=values.get("next_attempt_at"),
            )
        )  # fmt: skip
        db.session.execute(
            update(model).where(model.id == row.id, mine).values(**values),
            execution_options=_NO_SYNC,
        )
    sent = {
        "status": D.SENT,
        "sent_at": now,
        "error_code": None,
        "error_message": None,
        "claim_token": None,
        "claimed_until": None,
    }
    accepted_ids = {row_id for ids in accepted.values() for row_id in ids}
    complete = len(accepted_ids | refused) == len(by_id) and not accepted_ids & refused
    if len(accepted) == 1 and complete:
        # Every row has its verdict, the refused ones have left the claim and one receipt covers
        # the rest: what the token still holds is exactly the accepted rows, so one statement.
        (receipt,) = accepted
        extra = {"receipt": receipt} if model is D else {}
        db.session.execute(
            update(model).where(mine, model.status == D.SENDING).values(**sent, **extra),
            execution_options=_NO_SYNC,
        )
    else:
        for receipt, ids in accepted.items():
            extra = {"receipt": receipt} if model is D else {}
            for start in range(0, len(ids), 500):
                db.session.execute(
                    update(model)
                    .where(model.id.in_(ids[start : start + 500]), mine)
                    .values(**sent, **extra),
                    execution_options=_NO_SYNC,
                )
    result.sent = len(accepted_ids)
    result.too_recent_goals = frozenset(too_recent)
    history.add(events)
    return result


def _answer(model, row, push_run_id: int | None, now: datetime, outcome: str, **more) -> dict:  # noqa: ANN001, ANN003
    """A timeline event for one claimed row (a ledger row, or an adjustment and its delivery)."""
    if model is D:
        return history.answer(
            adjustment=False, connection_id=row.connection_id, conversion_id=row.conversion_id,
            goal_name=row.goal_name, push_run_id=push_run_id, now=now, outcome=outcome, **more,
        )  # fmt: skip
    facts = {"kind": row.kind}
    if row.value is not None:
        facts["value"], facts["currency"] = str(row.value), row.currency
    return history.answer(
        adjustment=True, connection_id=row.connection_id,
        conversion_id=row.delivery.conversion_id, goal_name=row.delivery.goal_name,
        push_run_id=push_run_id, now=now, outcome=outcome, facts=facts, **more,
    )  # fmt: skip


def release(
    model,  # noqa: ANN001
    token: str,
    *,
    note: str | None = None,
    push_run_id: int | None = None,
    now: datetime | None = None,
    attempted: bool = True,
) -> None:
    """The call did not complete: give the rows back (still pending) for the next attempt, and
    say so on their timelines (``note``: why the call did not complete). ``attempted=False``:
    the rows were claimed for a call that was never made (the call before them failed), so
    their claim does not count as an attempt."""
    db.session.rollback()
    if note is not None:
        held = db.session.scalars(
            select(model).where(model.claim_token == token, model.status == D.SENDING)
        ).all()
        history.add(
            _answer(model, row, push_run_id, now or datetime.now(UTC), "released",
                    message=note[:1000])
            for row in held
        )  # fmt: skip
    values = {"status": D.PENDING, "claim_token": None, "claimed_until": None}
    if not attempted:
        values["attempts"] = model.attempts - 1
    db.session.execute(
        update(model).where(model.claim_token == token, model.status == D.SENDING).values(**values),
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
