"""One conversion's delivery to each connection as a timeline, for the conversion page: the
push plan's eligibility decisions, each attempt with its push run and the platform's answer,
retries, adjustments, where it stands now (the state model's row, the same one Troubleshoot and
the API show), and what the platform later said about its goal and upload day; beside it, where
it stands on the connection's real-time event path (``realtime_status``, the same state the API
shows) with its send as a step.

Words come from the reason codes through the plugin's wording (``eligibility.wording``), as on
every other page. The push writes events only for what its ledger row cannot tell later (a decision
that changed, a refusal, a retry, a call that did not complete, an adjustment): the plan that made
the row and its acceptance are read from the ledger row itself (``_from_ledger``), so the common
path costs the push no write per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from platforms.base import Platform, Reason, ReasonFacts, Wording
from webapp.extensions import db
from webapp.models import Connection, Conversion, ConversionDelivery, DeliveryEvent, PushRun
from webapp.push import realtime_status, states
from webapp.push.eligibility import generic_wording, wording
from webapp.push.realtime_status import RealtimeState

E = DeliveryEvent


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: str  # decision | attempt | adjustment | said
    outcome: str  # waiting, not_eligible, eligible, sent, rejected, retry, released, said
    title: str
    text: str = ""
    fix: str = ""
    push_run_id: int | None = None
    error_code: str | None = None
    reason: str = ""
    # "said" steps: the platform's reason codes → count, and its words for each (shown with the
    # code in small print).
    said_reasons: dict[str, int] = field(default_factory=dict)
    said_words: dict[str, str] = field(default_factory=dict)


@dataclass
class Delivery:
    connection: Connection
    platform_name: str
    now: list[states.Row] = field(default_factory=list)  # where it stands (one per goal)
    steps: list[Step] = field(default_factory=list)
    realtime: RealtimeState | None = None  # where it stands on the real-time path, if set up


def _words(platform: Platform | None, name: str, code: Reason, facts: ReasonFacts) -> Wording:
    if platform is None:
        return generic_wording(code, facts, name)
    return wording(platform, code, facts)


def _facts(scope: states.Scope, event: E | None = None, **more: object) -> ReasonFacts:
    stored = (event.facts or {}) if event is not None else {}
    values: dict[str, object] = {
        "goal_name": (event.goal_name if event is not None else "") or "",
        "click_params": tuple(c.name for c in scope.platform.click_ids) if scope.platform else (),
        "window": scope.rules.window,
        "click_settle": scope.rules.click_settle,
        "goal_settle": scope.rules.goal_settle,
        "hash_hint": stored.get("hash_hint", ""),
        "click_time_known": stored.get("click_time_known", True),
        "consent": stored.get("consent", ""),
        "auto_tagging": scope.connection.auto_tagging,
    }
    values.update(more)
    return ReasonFacts(**values)  # type: ignore[arg-type]


def _step(scope: states.Scope, name: str, event: E) -> Step:
    platform = scope.platform
    code = Reason(event.reason)
    base = {
        "at": event.at,
        "kind": event.kind,
        "outcome": event.outcome,
        "push_run_id": event.push_run_id,
        "error_code": event.error_code,
        "reason": event.reason,
    }
    goal = f" for “{event.goal_name}”" if event.goal_name else ""
    if event.kind == E.DECISION:
        words = _words(platform, name, code, _facts(scope, event, at=event.until))
        title = {
            "eligible": f"Eligible{goal}",
            "waiting": f"Waiting{goal}",
            "not_eligible": f"Not eligible{goal}",
        }.get(event.outcome, event.outcome)
        return Step(title=title, text=words.text, fix=words.fix, **base)
    what = "Adjustment" if event.kind == E.ADJUSTMENT else "Upload"
    if event.kind == E.ADJUSTMENT:
        kind = (event.facts or {}).get("kind", "")
        value = (event.facts or {}).get("value")
        currency = (event.facts or {}).get("currency") or ""
        what = "Retraction" if kind == "retract" else f"Restatement to {value} {currency}".strip()
    run = f" (push run {event.push_run_id})" if event.push_run_id else ""
    if event.outcome == "sent":
        words = _words(platform, name, Reason.SENT, _facts(scope, event, at=event.at))
        return Step(title=f"{what} accepted by {name}{run}", text=words.text, **base)
    if event.outcome == "rejected":
        words = _words(
            platform, name, Reason.REFUSED, _facts(scope, event, error_message=event.message)
        )
        code_note = f" with code {event.error_code}" if event.error_code else ""
        return Step(
            title=f"{what} refused by {name}{code_note}{run}",
            text=event.message or words.text,
            fix=words.fix,
            **base,
        )
    if event.outcome == "retry":
        words = _words(
            platform,
            name,
            Reason.RETRY_LATER,
            _facts(scope, event, error_message=event.message, at=event.until),
        )
        return Step(title=f"{name} asked to retry later{run}", text=words.text, **base)
    return Step(
        title=f"The call to {name} did not complete{run}",
        text=f"{event.message or 'No answer.'} Nothing was lost: the row stays queued and goes "
        "with the next push.",
        **base,
    )


def _run_at(connection_id: int, at: datetime) -> int | None:
    """The push run of the connection that was going on at ``at`` (the last one started by then)."""
    return db.session.scalar(
        select(PushRun.id)
        .where(PushRun.connection_id == connection_id, PushRun.started_at <= at)
        .order_by(PushRun.started_at.desc(), PushRun.id.desc())
        .limit(1)
    )


def _from_ledger(
    scope: states.Scope, name: str, row: ConversionDelivery, stored: list[E]
) -> list[Step]:
    """The steps the ledger row itself records, so the push writes no event for them: the plan
    that made the row (eligible, by click or by hashed identity) and the final answer (accepted,
    or, for rows delivered before refusals were recorded as events, refused). Events already
    stored for the same step (written by earlier versions) are not repeated."""
    mine = [e for e in stored if e.goal_name in (row.goal_name, None)]
    has = {(e.kind, e.outcome) for e in mine}
    goal = f" for “{row.goal_name}”"
    steps = []
    if (E.DECISION, "eligible") not in has:
        code = Reason.ELIGIBLE_BY_CLICK if row.click_id else Reason.ELIGIBLE_BY_HASH
        words = _words(scope.platform, name, code, _facts(scope, goal_name=row.goal_name))
        steps.append(
            Step(row.created_at, E.DECISION, "eligible", f"Eligible{goal}", words.text or
                 "Planned for upload.", reason=code.value)
        )  # fmt: skip
    if (
        row.status == ConversionDelivery.SENT
        and row.sent_at is not None
        and (E.ATTEMPT, "sent") not in has
    ):
        words = _words(scope.platform, name, Reason.SENT, _facts(scope, at=row.sent_at))
        run_id = _run_at(row.connection_id, row.sent_at)
        run = f" (push run {run_id})" if run_id else ""
        steps.append(
            Step(row.sent_at, E.ATTEMPT, "sent", f"Upload accepted by {name}{run}", words.text,
                 push_run_id=run_id, reason=Reason.SENT.value)
        )  # fmt: skip
    elif (
        row.status == ConversionDelivery.FAILED
        and row.last_attempt_at is not None
        and (E.ATTEMPT, "rejected") not in has
    ):
        words = _words(
            scope.platform, name, Reason.REFUSED, _facts(scope, error_message=row.error_message)
        )
        steps.append(
            Step(
                row.last_attempt_at,
                E.ATTEMPT,
                "rejected",
                f"Upload refused by {name}"
                + (f" with code {row.error_code}" if row.error_code else ""),
                row.error_message or words.text,
                words.fix,
                error_code=row.error_code,
                reason=Reason.REFUSED.value,
            )
        )
    return steps


def _said(name: str, row: states.Row) -> Step | None:
    said = row.platform_said
    if not said or row.sent_at is None:
        return None
    return Step(
        at=row.sent_at,
        kind="said",
        outcome="said",
        title=f"What {name} later said about “{row.goal_name}” uploads of {said['day']}",
        text=(
            f"{said['attributed']} attributed to an ad click, {said['not_attributed']} not. "
            f"{name} reports this per goal and upload day, not per conversion."
        ),
        said_reasons=dict(said.get("reasons") or {}),
        said_words=dict(said.get("reason_text") or {}),
    )


def _realtime_step(name: str, rt: RealtimeState) -> Step | None:
    """The real-time send as a step, read from the same state the page and the API show."""
    what = f"Real-time event ({rt.path})"
    if rt.state == realtime_status.SENT and rt.sent_at is not None:
        return Step(rt.sent_at, "realtime", "sent", f"{what} accepted by {name}", rt.text,
                    error_code=rt.error_code, reason=rt.reason)  # fmt: skip
    if rt.state == realtime_status.FAILED and rt.last_attempt_at is not None:
        code = f" with code {rt.error_code}" if rt.error_code else ""
        return Step(rt.last_attempt_at, "realtime", "rejected", f"{what} refused by {name}{code}",
                    rt.text, rt.fix, error_code=rt.error_code, reason=rt.reason)  # fmt: skip
    if rt.reason == Reason.RETRY_LATER.value and rt.last_attempt_at is not None:
        return Step(rt.last_attempt_at, "realtime", "retry", f"{name} asked to retry the {what}",
                    rt.text, rt.fix, error_code=rt.error_code, reason=rt.reason)  # fmt: skip
    return None


def for_conversion(conversion: Conversion) -> list[Delivery]:
    """The conversion's delivery to each connection it belongs to (by the offline push or the
    real-time path), oldest step first."""
    events = list(
        db.session.scalars(select(E).where(E.conversion_id == conversion.id).order_by(E.at, E.id))
    )
    ledger = list(
        db.session.scalars(
            select(ConversionDelivery).where(ConversionDelivery.conversion_id == conversion.id)
        )
    )
    now_rows = states.rows_for_conversion(conversion)
    realtime = {rt.connection_id: rt for rt in realtime_status.for_conversion(conversion)}
    connection_ids = (
        {r.connection_id for r in now_rows}
        | {e.connection_id for e in events}
        | {d.connection_id for d in ledger}
        | set(realtime)
    )
    result = []
    for connection in db.session.scalars(
        select(Connection).where(Connection.id.in_(connection_ids)).order_by(Connection.id)
    ):
        scope = states.scope_for(connection)
        name = scope.platform.display_name if scope.platform else connection.platform_key
        delivery = Delivery(connection, name, realtime=realtime.get(connection.id))
        mine = [e for e in events if e.connection_id == connection.id]
        steps = [_step(scope, name, e) for e in mine]
        for row in ledger:
            if row.connection_id == connection.id:
                steps += _from_ledger(scope, name, row, mine)
        if delivery.realtime is not None:
            step = _realtime_step(name, delivery.realtime)
            if step is not None:
                steps.append(step)
        # Stored events and the ledger's own steps, in time order (a stable sort: a decision and
        # the plan made at the same instant keep their order).
        delivery.steps = sorted(steps, key=lambda step: step.at)
        delivery.now = [r for r in now_rows if r.connection_id == connection.id]
        for row in delivery.now:
            said = _said(name, row)
            if said is not None:
                delivery.steps.append(said)
        result.append(delivery)
    return result
