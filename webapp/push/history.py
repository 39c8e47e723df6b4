"""The delivery timeline's records (``DeliveryEvent``): appended by the push plan (a waiting or
not-eligible decision that changed) and by the send loop (a refusal, a retry, a call that did not
complete, an adjustment's answer), in the transaction of the change they record. Read back by
``webapp.push.timeline``, which reads the common path (a row planned, then accepted) from the
ledger row itself, so that path writes no event.

Bulk inserts, one statement per batch: the send loop's cost stays one statement per call."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from platforms.base import Reason
from webapp.extensions import db
from webapp.models import DeliveryEvent
from webapp.push.eligibility import Verdict

E = DeliveryEvent


def add(events: Iterable[dict[str, Any]]) -> None:
    rows = [{"facts": {}, **e} for e in events]
    if rows:
        db.session.execute(insert(E.__table__), rows)


def decision(
    connection_id: int,
    conversion_id: int,
    verdict: Verdict,
    now: datetime,
    goal_name: str | None = None,
) -> dict[str, Any]:
    """A verdict of the push plan: waiting (until when), not eligible (why) or eligible (how)."""
    facts = {
        k: v
        for k, v in (
            ("hash_hint", verdict.facts.hash_hint),
            ("consent", verdict.facts.consent),
            ("click_time_known", verdict.facts.click_time_known),
            ("click_param", verdict.click.param if getattr(verdict, "click", None) else None),
        )
        if v not in ("", True, None)
    }
    outcome = "eligible" if verdict.eligible else verdict.state
    return {
        "connection_id": connection_id,
        "conversion_id": conversion_id,
        "at": now,
        "kind": E.DECISION,
        "outcome": outcome,
        "reason": verdict.code.value,
        "goal_name": goal_name,
        "until": getattr(verdict, "retry_at", None) if outcome == "waiting" else None,
        "facts": facts,
    }


def answer(
    *,
    adjustment: bool,
    connection_id: int,
    conversion_id: int,
    goal_name: str,
    push_run_id: int | None,
    now: datetime,
    outcome: str,
    error_code: str | None = None,
    message: str | None = None,
    until: datetime | None = None,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The platform's answer to one row of one call (or the call's failure: ``released``)."""
    reason = {
        "sent": Reason.SENT,
        "rejected": Reason.REFUSED,
        "retry": Reason.RETRY_LATER,
        "released": Reason.QUEUED,
    }[outcome]
    return {
        "connection_id": connection_id,
        "conversion_id": conversion_id,
        "push_run_id": push_run_id,
        "at": now,
        "kind": E.ADJUSTMENT if adjustment else E.ATTEMPT,
        "outcome": outcome,
        "reason": reason.value,
        "goal_name": goal_name,
        "error_code": error_code,
        "message": message,
        "until": until,
        "facts": facts or {},
    }
