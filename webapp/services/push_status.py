"""What the Troubleshoot page and the conversion API show about pushing: recent runs, each
conversion's state with its reason and fix, counts per state, and the match rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Connection, Conversion, ConversionDelivery, PushRun
from webapp.models.types import utcnow
from webapp.services import push_config
from webapp.services.push_eligibility import decide, resolve_clicks

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


def _ledger_state(row: ConversionDelivery, now: datetime) -> tuple[str, str, str]:
    if row.status == D.SENT:
        return "sent", f"Accepted by the platform at {row.sent_at:%Y-%m-%d %H:%M} UTC.", ""
    if row.status == D.FAILED:
        return (
            "failed",
            row.error_message or "Rejected.",
            ("Fix the cause, then click Retry failed."),
        )
    if row.status == D.SENDING:
        if row.claimed_until and row.claimed_until < now:
            return "pending", "A push stopped mid-way; the next push sends it again.", ""
        return "sending", "Being sent right now.", ""
    if row.next_attempt_at and row.next_attempt_at > now:
        return (
            "waiting",
            row.error_message or "Waiting before the next attempt.",
            (f"Nothing: retried automatically after {row.next_attempt_at:%H:%M} UTC."),
        )
    return "pending", "Eligible; goes out with the next push (every 2 minutes).", ""


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
    clicks = resolve_clicks(
        [(c.id, c.visitor_id, c.occurred_at, c.msclkid) for c in undecided],
        click_param=platform.click_id_param or "msclkid",
        window=rules.window,
    )
    result = []
    for conversion, delivery in rows:
        mapping = mappings[conversion.event]
        if delivery is not None:
            st, reason, fix = _ledger_state(delivery, now)
            item = ConversionState(
                conversion.id, conversion.external_id, conversion.event, conversion.occurred_at,
                conversion.value, conversion.currency, st, delivery.goal_name, reason, fix,
                delivery.error_code, delivery.attempts,
                delivery.sent_at or delivery.last_attempt_at or delivery.created_at,
            )  # fmt: skip
        else:
            finding = clicks[conversion.id]
            email = conversion.email_sha256 or (
                conversion.visitor and conversion.visitor.email_sha256
            )
            phone = conversion.phone_sha256 or (
                conversion.visitor and conversion.visitor.phone_sha256
            )
            verdict = decide(
                rules=rules,
                occurred_at=conversion.occurred_at,
                now=now,
                goal=goals.get(mapping.goal_id),
                click=finding.click,
                click_after_conversion=finding.click_after_conversion,
                enhanced_opt_in=config.enhanced_conversions,
                has_hash=bool(email or phone),
            )
            st = "pending" if verdict.eligible else verdict.state
            reason = (
                "Eligible; goes out with the next push (every 2 minutes)."
                if verdict.eligible
                else verdict.reason
            )
            item = ConversionState(
                conversion.id, conversion.external_id, conversion.event, conversion.occurred_at,
                conversion.value, conversion.currency, st, mapping.goal_name, reason, verdict.fix,
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
        select(Conversion.id, Conversion.visitor_id, Conversion.occurred_at, Conversion.msclkid)
        .where(
            Conversion.workspace_id == connection.workspace_id,
            Conversion.occurred_at >= utcnow() - timedelta(days=days),
        )
        .order_by(Conversion.id.desc())
        .limit(sample)
    ).all()
    if not rows:
        return 0, 0
    found = resolve_clicks(
        [tuple(r) for r in rows],
        click_param=platform.click_id_param or "msclkid",
        window=platform.upload_rules.window,
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
        state, reason, _ = _ledger_state(delivery, now)
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
