"""What the Troubleshoot page and the conversion API show about pushing: recent runs, each
conversion's state with its reason and fix, counts per state, and the match rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from platforms.base import Platform, Reason, ReasonFacts
from webapp.extensions import db, platform_registry
from webapp.intake import identity, tracking
from webapp.intake.click_matching import platform_params, resolve_clicks
from webapp.models import Connection, Conversion, ConversionDelivery, PushRun
from webapp.models.types import utcnow
from webapp.privacy import consent
from webapp.push import config as push_config
from webapp.push.eligibility import (
    Candidate,
    assess,
    generic_wording,
    supplied_click_ids,
    wording,
)

D = ConversionDelivery
STATES = ("sent", "failed", "waiting", "pending", "sending", "not_eligible")
STATE_LABELS = {
    "sent": "Sent",
    "failed": "Failed",
    "waiting": "Waiting",
    "pending": "Queued to send",
    "sending": "Sending",
    "not_eligible": "Not eligible",
}


@dataclass(frozen=True)
class ConversionState:
    conversion_id: int
    external_id: str | None
    event: str
    occurred_at: datetime
    value: Decimal | None
    currency: str | None
    state: str
    goal_name: str
    reason: str
    fix: str
    code: Reason = Reason.QUEUED
    error_code: str | None = None
    attempts: int = 0
    updated_at: datetime | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def recent_runs(connection_id: int, limit: int = 15) -> list[PushRun]:
    return list(
        db.session.scalars(
            select(PushRun)
            .where(PushRun.connection_id == connection_id)
            .order_by(PushRun.started_at.desc(), PushRun.id.desc())
            .limit(limit)
        )
    )


def _ledger_reason(row: ConversionDelivery, now: datetime) -> tuple[str, Reason, ReasonFacts]:
    """A ledger row's state and reason code."""
    if row.status == D.SENT:
        return "sent", Reason.SENT, ReasonFacts(at=row.sent_at)
    if row.status == D.FAILED:
        return "failed", Reason.REFUSED, ReasonFacts(error_message=row.error_message)
    if row.status == D.SENDING:
        if row.claimed_until and row.claimed_until < now:
            return "pending", Reason.STALLED, ReasonFacts()
        return "sending", Reason.SENDING, ReasonFacts()
    if row.next_attempt_at and row.next_attempt_at > now:
        return (
            "waiting",
            Reason.RETRY_LATER,
            ReasonFacts(error_message=row.error_message, at=row.next_attempt_at),
        )
    return "pending", Reason.QUEUED, ReasonFacts()


def _ledger_state(
    platform: Platform | None, row: ConversionDelivery, now: datetime
) -> tuple[str, Reason, str, str]:
    """State, code and words; a connection whose plugin is gone gets the host's words."""
    state, code, facts = _ledger_reason(row, now)
    if platform is None:
        words = generic_wording(code, facts, "the platform")
    else:
        words = wording(platform, code, facts)
    return state, code, words.text, words.fix


def conversion_states(
    connection: Connection, *, state: str | None = None, event: str | None = None, limit: int = 100
) -> list[ConversionState]:
    """The most recent conversions of mapped events, each with one state (ledger rows first,
    the eligibility verdict for conversions that have none)."""
    now = utcnow()
    platform = push_config.platform_for(connection)
    rules = platform.upload_rules
    mappings = {m.event: m for m in push_config.mappings_for(connection.id)}
    events = [event] if event in mappings else list(mappings)
    if not events:
        return []
    query = (
        select(Conversion, D)
        .outerjoin(D, (D.conversion_id == Conversion.id) & (D.connection_id == connection.id))
        .where(
            Conversion.workspace_id == connection.workspace_id,
            Conversion.event.in_(events),
            Conversion.occurred_at >= now - rules.window - timedelta(days=30),
        )
        .order_by(Conversion.occurred_at.desc(), Conversion.id.desc())
    )
    if state in ("sent", "failed", "sending"):
        query = query.where(D.status == state)
    elif state == "not_eligible":
        query = query.where(D.id.is_(None))
    # Waiting/pending mix ledger and verdict states: filter after deciding (bounded scan).
    rows = db.session.execute(query.limit(limit if state not in ("waiting", "pending") else 2000))
    rows = rows.all()
    config = push_config.config_for(connection.id)
    goals = push_config.goal_facts(connection.id)
    undecided = [c for c, d in rows if d is None]
    assessed = assess(
        platform,
        [
            Candidate(
                c.id,
                c.visitor_id,
                c.occurred_at,
                c.event,
                c.click_ids,
                *identity.digests_for(
                    platform, c.identity_digests, c.visitor.identity_digests if c.visitor else None
                ),
                consent.effective(c.consent_state, c.visitor.consent_state if c.visitor else None),
            )
            for c in undecided
        ],  # fmt: skip
        goal_for_event={e: goals.get(m.goal_id) for e, m in mappings.items()},
        enhanced_opt_in=config.enhanced_conversions,
        now=now,
        consent_required=tracking.consent_required(connection.workspace_id),
    )
    result = []
    for conversion, delivery in rows:
        mapping = mappings[conversion.event]
        if delivery is not None:
            st, code, reason, fix = _ledger_state(platform, delivery, now)
            item = ConversionState(
                conversion.id, conversion.external_id, conversion.event, conversion.occurred_at,
                conversion.value, conversion.currency, st, delivery.goal_name, reason, fix, code,
                delivery.error_code, delivery.attempts,
                delivery.sent_at or delivery.last_attempt_at or delivery.created_at,
            )  # fmt: skip
        else:
            verdict = assessed[conversion.id].verdict
            st = "pending" if verdict.eligible else verdict.state
            code = Reason.QUEUED if verdict.eligible else verdict.code
            words = wording(platform, code, verdict.facts)
            item = ConversionState(
                conversion.id, conversion.external_id, conversion.event, conversion.occurred_at,
                conversion.value, conversion.currency, st, mapping.goal_name, words.text,
                words.fix if not verdict.eligible else "", code,
            )  # fmt: skip
        if state is None or item.state == state:
            result.append(item)
        if len(result) >= limit:
            break
    return result


def ledger_counts(connection_id: int) -> dict[str, int]:
    now = utcnow()
    counts = dict.fromkeys(("sent", "failed", "waiting", "pending", "sending"), 0)
    # A subquery names the comparison once: PostgreSQL cannot match two bound copies of
    # ``next_attempt_at > :now`` between SELECT and GROUP BY.
    flagged = (
        select(D.status.label("status"), (D.next_attempt_at > now).label("later"))
        .where(D.connection_id == connection_id)
        .subquery()
    )
    rows = db.session.execute(
        select(flagged.c.status, flagged.c.later, func.count()).group_by(
            flagged.c.status, flagged.c.later
        )
    )
    for status, later, count in rows:
        key = "waiting" if status == D.PENDING and later else status
        counts[key] = counts.get(key, 0) + count
    return counts


def match_rate(connection: Connection, days: int = 30, sample: int = 5000) -> tuple[int, int]:
    """(conversions carrying a click id, conversions) over the last ``days``: the share a
    platform can attribute at all."""
    platform = push_config.platform_for(connection)
    rows = db.session.execute(
        select(Conversion.id, Conversion.visitor_id, Conversion.occurred_at)
        .where(
            Conversion.workspace_id == connection.workspace_id,
            Conversion.occurred_at >= utcnow() - timedelta(days=days),
        )
        .order_by(Conversion.id.desc())
        .limit(sample)
    ).all()
    if not rows:
        return 0, 0
    supplied = supplied_click_ids(r[0] for r in rows)
    found = resolve_clicks(
        [(cid, vid, occurred, supplied.get(cid, {})) for cid, vid, occurred in rows],
        click_params=platform_params(platform),
    )
    return sum(1 for f in found.values() if f.click is not None), len(rows)


def match_rate_figure(matched: int, total: int) -> str:
    """How a match rate is written wherever it is shown (Troubleshoot, alerts)."""
    return f"{100 * matched / total:.1f}% ({matched} of {total})" if total else "—"


def delivery_status(conversion: Conversion) -> list[dict[str, Any]]:
    """Rows for the conversion API's ``delivery`` list: one per connection and goal."""
    rows = db.session.execute(
        select(D, Connection)
        .join(Connection, Connection.id == D.connection_id)
        .where(D.conversion_id == conversion.id)
        .order_by(D.id)
    ).all()
    now = utcnow()
    result = []
    for delivery, connection in rows:
        platform = platform_registry().get(connection.platform_key)
        state, _code, reason, _fix = _ledger_state(platform, delivery, now)
        result.append(
            {
                "platform": connection.platform_key,
                "account_id": connection.account_id,
                "goal": delivery.goal_name,
                "status": state,
                "error_code": delivery.error_code,
                "message": reason if state != "sent" else None,
                "attempts": delivery.attempts,
                "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
            }
        )
    return result
