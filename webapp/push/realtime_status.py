"""Where a conversion stands on each connection's real-time event path (capability
``realtime_events``): sent, refused, waiting, held for consent or skipped, with a reason code and
words. Computed here once per conversion and shown as is by the conversion page (its delivery
card and timeline, ``timeline.for_conversion``) and by the read API (``GET /api/v1/conversions``),
so the two never disagree.

The state comes from the conversion's ``realtime_deliveries`` row when it has one; without a row,
from why the real-time run has not planned it: the path is off or the event not chosen for it,
the connection is not active, the conversion is older than the platform's window (never sent
this way), or it simply was not planned yet (the next run does). Connections whose path was
never set up are left out.

Words: the reason codes of the offline push where they mean the same thing (``SENT``,
``REFUSED``, ``RETRY_LATER``, ``CONSENT_MISSING``, ``TOO_OLD``, ``SENDING``, ``STALLED``), worded
by the plugin (``eligibility.wording``); the platform's own message for a refused event; the
host's generic words, naming only the plugin's ``display_name`` and its path's ``title``, for
the states only this path has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from platforms.base import Platform, RealtimeSpec, Reason, ReasonFacts
from webapp.extensions import db, platform_registry
from webapp.models import Connection, Conversion, RealtimeConfig, RealtimeDelivery
from webapp.models.types import utcnow
from webapp.push.eligibility import wording
from webapp.push.realtime_settings import spec_for

R = RealtimeDelivery

SENT, FAILED, PENDING, SENDING, HELD, SKIPPED = (
    "sent",
    "failed",
    "pending",
    "sending",
    "held",
    "skipped",
)
STATES = (SENT, FAILED, PENDING, SENDING, HELD, SKIPPED)
LABELS = {
    SENT: "Sent in real time",
    FAILED: "Refused in real time",
    PENDING: "Real time: waiting to send",
    SENDING: "Real time: sending",
    HELD: "Real time: held for consent",
    SKIPPED: "Not sent in real time",
}
# Reasons only this path has (the others are ``platforms.base.Reason`` values).
NOT_PLANNED = "not_planned"
PATH_OFF = "realtime_off"
EVENT_NOT_CHOSEN = "event_not_chosen"
CONNECTION_INACTIVE = "connection_inactive"


@dataclass(frozen=True)
class RealtimeState:
    """One conversion on one connection's real-time path."""

    connection_id: int
    platform_name: str
    path: str  # the plugin's name for its real-time path (``RealtimeSpec.title``)
    state: str  # one of STATES
    reason: str  # a ``Reason`` value or one of this module's reasons
    text: str
    fix: str = ""
    event_id: str | None = None  # what the platform de-duplicates on (fixed once planned)
    error_code: str | None = None  # the platform's code: an error, or a warning on a sent event
    attempts: int = 0
    last_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None

    @property
    def label(self) -> str:
        return LABELS[self.state]

    def as_json(self) -> dict[str, Any]:
        def moment(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "connection_id": self.connection_id,
            "platform": self.platform_name,
            "path": self.path,
            "state": self.state,
            "label": self.label,
            "reason": self.reason,
            "message": self.text,
            "fix": self.fix or None,
            "event_id": self.event_id,
            "error_code": self.error_code,
            "attempts": self.attempts,
            "last_attempt_at": moment(self.last_attempt_at),
            "sent_at": moment(self.sent_at),
            "next_attempt_at": moment(self.next_attempt_at),
        }


@dataclass(frozen=True)
class _Path:
    connection: Connection
    platform: Platform
    spec: RealtimeSpec
    config: RealtimeConfig | None


def _paths(workspace_ids: set[int], connection_ids: set[int]) -> dict[int, _Path]:
    """Every connection of these workspaces whose real-time path was set up, and those that hold
    a ledger row of these conversions (a path set up, then removed, keeps its rows)."""
    set_up = and_(
        Connection.workspace_id.in_(sorted(workspace_ids)),
        RealtimeConfig.connection_id.is_not(None),
    )
    found = db.session.execute(
        select(Connection, RealtimeConfig)
        .outerjoin(RealtimeConfig, RealtimeConfig.connection_id == Connection.id)
        .where(or_(set_up, Connection.id.in_(sorted(connection_ids))) if connection_ids else set_up)
        .order_by(Connection.id)
    ).all()
    paths = {}
    for connection, config in found:
        platform = platform_registry().get(connection.platform_key)
        spec = spec_for(platform)
        if platform is not None and spec is not None:
            paths[connection.id] = _Path(connection, platform, spec, config)
    return paths


def _from_row(path: _Path, row: RealtimeDelivery, now: datetime) -> RealtimeState:
    name = path.platform.display_name
    base: dict[str, Any] = {
        "connection_id": path.connection.id,
        "platform_name": name,
        "path": path.spec.title,
        "event_id": row.event_id,
        "error_code": row.error_code,
        "attempts": row.attempts or 0,
        "last_attempt_at": row.last_attempt_at,
        "sent_at": row.sent_at,
    }
    if row.status == R.SENT:
        words = wording(path.platform, Reason.SENT, ReasonFacts(at=row.sent_at))
        text = words.text
        if row.error_code:  # accepted with a warning (a field the platform dropped)
            text += f" {name} warned: {row.error_message or row.error_code}"
        return RealtimeState(state=SENT, reason=Reason.SENT.value, text=text, **base)
    if row.status == R.FAILED:
        words = wording(path.platform, Reason.REFUSED, ReasonFacts(error_message=row.error_message))
        fix = (
            f"Save the corrected settings of the {path.spec.title} on the connection page: "
            "events refused for the old ones go again."
            if row.error_code in path.spec.auth_codes
            else "It is not sent again this way; the offline upload of the event (when it is "
            "mapped to a goal) is separate."
        )
        return RealtimeState(
            state=FAILED, reason=Reason.REFUSED.value, text=words.text, fix=fix, **base
        )
    if row.status == R.HELD:
        words = wording(path.platform, Reason.CONSENT_MISSING, ReasonFacts(consent=row.consent))
        return RealtimeState(
            state=HELD, reason=Reason.CONSENT_MISSING.value, text=words.text, fix=words.fix, **base
        )
    if row.status == R.SENDING:
        code = Reason.SENDING
        if row.claimed_until is not None and row.claimed_until < now:
            code = Reason.STALLED
        words = wording(path.platform, code, ReasonFacts())
        return RealtimeState(state=SENDING, reason=code.value, text=words.text, **base)
    if row.reason == Reason.RETRY_LATER.value and row.next_attempt_at is not None:
        facts = ReasonFacts(error_message=row.error_message, at=row.next_attempt_at)
        words = wording(path.platform, Reason.RETRY_LATER, facts)
        return RealtimeState(
            state=PENDING,
            reason=Reason.RETRY_LATER.value,
            text=words.text,
            fix=words.fix,
            next_attempt_at=row.next_attempt_at,
            **base,
        )
    return RealtimeState(
        state=PENDING,
        reason=Reason.QUEUED.value,
        text=f"Planned; goes to {name} with the connection's next real-time run (seconds after "
        "a conversion arrives, else within 2 minutes).",
        **base,
    )


def _without_row(path: _Path, conversion: Conversion, now: datetime) -> RealtimeState | None:
    """Why a conversion has no row on a path that was set up (None: the path never sends this
    event and was never meant to, so the conversion page says nothing about it)."""
    name, title = path.platform.display_name, path.spec.title
    config = path.config
    chosen = config is not None and conversion.event in (config.events or [])

    def skipped(reason: str, text: str, fix: str = "") -> RealtimeState:
        return RealtimeState(path.connection.id, name, title, SKIPPED, reason, text, fix)

    if not chosen and (config is None or not config.enabled):
        return None
    if not path.connection.is_active:
        return skipped(
            CONNECTION_INACTIVE,
            f"The connection is {path.connection.status_label.lower()}, so nothing goes to "
            f"{name} in real time.",
            "Reconnect or resume the connection on its page.",
        )
    if config is None or not config.enabled:
        return skipped(
            PATH_OFF,
            f"The {title} is off for this connection, so “{conversion.event}” goes to {name} "
            "with the offline upload only (when it is mapped to a goal).",
            "Switch it on on the connection page (Setup → Ad Platforms).",
        )
    if not chosen:
        return skipped(
            EVENT_NOT_CHOSEN,
            f"“{conversion.event}” is not one of the events this connection sends through the "
            f"{title}.",
            "Choose the event on the connection page if it should go in real time.",
        )
    if conversion.occurred_at < now - path.spec.window:
        words = wording(path.platform, Reason.TOO_OLD, ReasonFacts(window=path.spec.window))
        return skipped(Reason.TOO_OLD.value, words.text, words.fix)
    return RealtimeState(
        path.connection.id,
        name,
        title,
        PENDING,
        NOT_PLANNED,
        f"Not planned yet: the connection's next real-time run (seconds after a conversion "
        f"arrives, else within 2 minutes) sends it to {name}.",
    )


def for_conversions(
    conversions: Sequence[Conversion], now: datetime | None = None
) -> dict[int, list[RealtimeState]]:
    """The real-time states of each conversion (by id), one per connection, in connection
    order: the one computation behind the conversion page and the read API."""
    if not conversions:
        return {}
    now = now or utcnow()
    ids = [c.id for c in conversions]
    rows: dict[tuple[int, int], RealtimeDelivery] = {}
    for start in range(0, len(ids), 500):
        for row in db.session.scalars(
            select(R).where(R.conversion_id.in_(ids[start : start + 500]))
        ):
            rows[(row.conversion_id, row.connection_id)] = row
    paths = _paths({c.workspace_id for c in conversions}, {cid for _, cid in rows})
    result: dict[int, list[RealtimeState]] = {}
    for conversion in conversions:
        states = []
        for connection_id, path in paths.items():
            if path.connection.workspace_id != conversion.workspace_id:
                continue
            row = rows.get((conversion.id, connection_id))
            state = (
                _from_row(path, row, now)
                if row is not None
                else _without_row(path, conversion, now)
            )
            if state is not None:
                states.append(state)
        result[conversion.id] = states
    return result


def for_conversion(conversion: Conversion, now: datetime | None = None) -> list[RealtimeState]:
    return for_conversions([conversion], now)[conversion.id]
