"""The one state model: where each mapped conversion stands with each connection, with a reason
code from ``platforms.base.Reason``. Every count and filter on Troubleshoot, the connection page
and the read API comes from here, so two pages can never disagree.

A conversion's state for a connection is one SQL ``CASE`` over three sources, in this order:

1. its ledger row (``conversion_deliveries``): sent (accepted by the API), adjusted (sent, then a
   refund/value change accepted), rejected (the platform's code), sending, queued (due, or a
   stalled claim), waiting (a retryable refusal, until ``next_attempt_at``);
2. no ledger row and older than the platform's window: not eligible, ``too_old``;
3. the push plan's last verdict (``push_decisions``, written by ``ledger.plan`` whenever it
   changes): waiting (why, until when; once ``until`` has passed: queued, it goes with the next
   push) or not eligible (why);
4. nothing yet: waiting, ``unchecked`` (the next push decides), or ``push_off`` when pushing is
   off for the connection.

The population of a connection is the workspace's conversions that have a ledger row for it or
whose event is mapped to one of its goals. What the platform later said (its diagnostics for the
goal and upload day) is attached to each sent row; it is the platform's count for that day, not
a per-conversion verdict, because platforms report it that way.

Words (text and fix) come from the reason code through the plugin's wording
(``eligibility.wording``); nothing here reads a sentence back.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import Select, Subquery

from platforms.base import Platform, Reason, ReasonFacts, UploadRules, humanise_code
from webapp.extensions import db, platform_registry
from webapp.intake import identity
from webapp.models import (
    AdClick,
    AdjustmentDelivery,
    Connection,
    Conversion,
    ConversionClickId,
    ConversionDelivery,
    GoalDiagnosticsDaily,
    PushDecision,
    Visitor,
)
from webapp.models.types import UTCDateTime, utcnow
from webapp.push import config as push_config
from webapp.push.eligibility import generic_wording, wording

D, PD, A = ConversionDelivery, PushDecision, AdjustmentDelivery

NOT_ELIGIBLE, WAITING, QUEUED, SENDING, SENT, REJECTED, ADJUSTED = (
    "not_eligible",
    "waiting",
    "queued",
    "sending",
    "sent",
    "rejected",
    "adjusted",
)
STATES = (NOT_ELIGIBLE, WAITING, QUEUED, SENDING, SENT, REJECTED, ADJUSTED)
STATE_LABELS = {
    NOT_ELIGIBLE: "Not eligible",
    WAITING: "Waiting",
    QUEUED: "Queued to send",
    SENDING: "Sending",
    SENT: "Accepted by the API",
    REJECTED: "Rejected",
    ADJUSTED: "Adjusted",
}
REASONS = tuple(r.value for r in Reason)
MAX_LIMIT = 200
PAGE_SIZE = 50  # Troubleshoot's rows per page
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadQuery(ValueError):
    """A filter, date or cursor that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Scope:
    """What the state of one connection's conversions depends on, read once per request."""

    connection: Connection
    platform: Platform | None
    events: tuple[str, ...]
    goal_names: dict[str, str]  # event → mapped goal name
    rules: UploadRules
    push_on: bool
    mappings: tuple[Any, ...] = ()  # the connection's goal mappings, read once per request
    config: Any = None  # its push settings


def scope_for(connection: Connection) -> Scope:
    """Read once per request and handed to every function below that takes ``scope`` (a page
    asks for counts, rows and coverage of one connection: one read of its settings)."""
    platform = platform_registry().get(connection.platform_key)
    mappings = push_config.mappings_for(connection.id)
    config = push_config.config_for(connection.id)
    return Scope(
        connection,
        platform,
        tuple(m.event for m in mappings),
        {m.event: m.goal_name for m in mappings},
        platform.upload_rules if platform is not None else UploadRules(),
        bool(config.enabled and connection.is_active and platform is not None),
        tuple(mappings),
        config,
    )


def _scopes(workspace_id: int, connection_id: int | None, scope: Scope | None) -> list[Scope]:
    if scope is not None and connection_id == scope.connection.id:
        return [scope]
    return [scope_for(c) for c in _connections(workspace_id, connection_id)]


def _connections(workspace_id: int, connection_id: int | None) -> list[Connection]:
    query = select(Connection).where(Connection.workspace_id == workspace_id)
    if connection_id is not None:
        query = query.where(Connection.id == connection_id)
    return list(db.session.scalars(query.order_by(Connection.id)))


# --- the rules: one list per source --------------------------------------------------------------
#
# A row's state comes from exactly one source: its ledger row, else the plan's decision, else
# nothing yet (the plan keeps the first two apart: a conversion with a ledger row has no
# decision). Each source has one list of rules whose conditions exclude each other and cover the
# source; everything below is built from these lists: the CASE that names a row's state
# (``rows_query``), the counts (one index range per rule, no per-row CASE, so 100,000
# conversions count in milliseconds) and the filtered listings (only the rules that can match).
# Ledger rows and decisions copy the conversion's time and event, which never change.


@dataclass(frozen=True)
class Rule:
    state: Any  # a state name, or a column (a decision keeps its own)
    reason: Any  # a reason code, or a column
    when: Any  # SQL condition on the source's columns
    until: Any = None  # the wait's end, where there is one


def ledger_rules(now: datetime) -> list[Rule]:
    adjusted = exists().where(A.delivery_id == D.id, A.status == D.SENT)
    stale = or_(D.claimed_until.is_(None), D.claimed_until < now)
    later = and_(D.next_attempt_at.is_not(None), D.next_attempt_at > now)
    return [
        Rule(ADJUSTED, Reason.ADJUSTED.value, and_(D.status == D.SENT, adjusted)),
        Rule(SENT, Reason.SENT.value, and_(D.status == D.SENT, ~adjusted)),
        Rule(REJECTED, Reason.REFUSED.value, D.status == D.FAILED),
        Rule(QUEUED, Reason.STALLED.value, and_(D.status == D.SENDING, stale)),
        Rule(SENDING, Reason.SENDING.value, and_(D.status == D.SENDING, ~stale)),
        Rule(
            WAITING, Reason.RETRY_LATER.value, and_(D.status == D.PENDING, later), D.next_attempt_at
        ),  # fmt: skip
        Rule(QUEUED, Reason.QUEUED.value, and_(D.status == D.PENDING, ~later)),
    ]


def decision_rules(scope: Scope, now: datetime, occurred: Any = None) -> list[Rule]:
    """Out of the window a decision no longer matters (too old); a wait whose end has passed is
    queued (the next push plans it); otherwise the decision's own state and reason."""
    old = (PD.occurred_at if occurred is None else occurred) < now - scope.rules.window
    over = and_(PD.state == PD.WAITING, PD.until.is_not(None), PD.until <= now)
    return [
        Rule(NOT_ELIGIBLE, Reason.TOO_OLD.value, old),
        Rule(QUEUED, Reason.QUEUED.value, and_(~old, over)),
        Rule(
            PD.state,
            PD.reason,
            and_(~old, ~over),
            case((PD.state == PD.WAITING, PD.until), else_=None),
        ),  # fmt: skip
    ]


def neither_rules(scope: Scope, now: datetime, occurred: Any) -> list[Rule]:
    """A mapped conversion with neither: too old, or not checked yet (or pushing is off)."""
    old = occurred < now - scope.rules.window
    unchecked = Reason.UNCHECKED.value if scope.push_on else Reason.PUSH_OFF.value
    return [
        Rule(NOT_ELIGIBLE, Reason.TOO_OLD.value, old),
        Rule(WAITING, unchecked, ~old),
    ]


def _case(rules: Sequence[Rule]):  # noqa: ANN202
    """(state, reason, until) of a row of one source."""
    waits = [(r.when, r.until) for r in rules if r.until is not None]
    return (
        case(*((r.when, r.state) for r in rules)),
        case(*((r.when, r.reason) for r in rules)),
        case(*waits, else_=None) if waits else cast(null(), UTCDateTime),  # typed for UNION
    )


def _matches(rule: Rule, state: str | None, reason: str | None) -> Any:
    """The rule's condition narrowed to a state and reason; None when it cannot match."""
    found = [rule.when]
    for value, wanted in ((rule.state, state), (rule.reason, reason)):
        if wanted is None:
            continue
        if isinstance(value, str):
            if value != wanted:
                return None
        else:
            found.append(value == wanted)
    return and_(*found)


def _mapped(scope: Scope, column):  # noqa: ANN001, ANN202
    return column.in_(scope.events) if scope.events else false()


def _in_range(column, since: datetime | None, until: datetime | None) -> list:  # noqa: ANN001
    return [c for c in (since and column >= since, until and column < until) if c is not None]


def rows_query(
    scope: Scope,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Subquery:
    """One row per (conversion, ledger row) of the connection's population, with its state,
    reason code and wait end, over a join ordered by time (the unfiltered page, searches, one
    conversion); a subquery, so callers filter and page on named columns."""
    cid = scope.connection.id
    ledger = _case(ledger_rules(now))
    decided = _case(decision_rules(scope, now))
    neither = _case(neither_rules(scope, now, Conversion.occurred_at))
    has_row, has_decision = D.id.is_not(None), PD.id.is_not(None)
    state, reason, wait_end = (
        case((has_row, ledger[i]), (has_decision, decided[i]), else_=neither[i]) for i in range(3)
    )
    return (
        select(
            literal(cid).label("connection_id"),
            Conversion.id.label("conversion_id"),
            Conversion.occurred_at.label("occurred_at"),
            func.coalesce(D.id, 0).label("row_key"),
            state.label("state"),
            reason.label("reason"),
            wait_end.label("until"),
        )
        .select_from(Conversion)
        .outerjoin(D, and_(D.conversion_id == Conversion.id, D.connection_id == cid))
        .outerjoin(PD, and_(PD.conversion_id == Conversion.id, PD.connection_id == cid))
        .where(
            Conversion.workspace_id == scope.connection.workspace_id,
            or_(has_row, _mapped(scope, Conversion.event)),
            *_in_range(Conversion.occurred_at, since, until),
        )
        .subquery()
    )


# --- counts ----------------------------------------------------------------------------------


def _count(*where: Any) -> int:
    return db.session.scalar(select(func.count()).where(*where)) or 0


def _counts(conditions: Sequence[Any], *where: Any) -> list[int]:
    """One count per condition over the rows ``where`` selects. PostgreSQL: one pass
    (``count(*) FILTER (WHERE ...)``, its planner scans the table once anyway); SQLite: one count
    per condition, each an index range (a single pass there evaluates every condition on every
    row and was ten times slower at 100,000 rows)."""
    if not conditions:
        return []
    if db.engine.dialect.name != "postgresql":
        return [_count(c, *where) for c in conditions]
    row = db.session.execute(select(*(func.count().filter(c) for c in conditions)).where(*where))
    return [n or 0 for n in row.one()]


def _tally(
    scope: Scope, now: datetime, since: datetime | None, until: datetime | None
) -> tuple[Counter, Counter]:
    """(state, reason) → rows of one connection, and the part of it with neither a ledger row
    nor a decision: each source's rules counted in one pass over
    its table, and the mapped conversions with neither counted by subtraction (all mapped ones,
    less those with a ledger row or a decision: the plan gives a conversion one ledger row at
    most, and never both)."""
    cid, counts = scope.connection.id, Counter()
    neither = {
        source: neither_rules(scope, now, column)
        for source, column in (
            ("mapped", Conversion.occurred_at),
            ("ledger", D.conversion_time),
            ("decided", PD.occurred_at),
        )
    }
    # The ledger: its rules (sent and adjusted below: an EXISTS per sent row would read them
    # all), every sent row, and its mapped rows by the window's edge.
    ledger = [r for r in ledger_rules(now) if r.state not in (SENT, ADJUSTED)]
    mapped_d = _mapped(scope, D.event)
    found = _counts(
        [r.when for r in ledger]
        + [D.status == D.SENT]
        + [and_(r.when, mapped_d) for r in neither["ledger"]],
        D.connection_id == cid,
        *_in_range(D.conversion_time, since, until),
    )
    for rule, n in zip(ledger, found, strict=False):
        counts[(rule.state, rule.reason)] += n
    sent, with_row = found[len(ledger)], found[len(ledger) + 1 :]
    # Sent rows with an accepted adjustment: the adjusted ledger rows are found from the (few)
    # adjustments, each looked up by its key. A join lets PostgreSQL's planner hash every sent
    # ledger row of the connection instead (three times slower at 100,000 conversions).
    restated = (
        select(A.delivery_id).where(A.connection_id == cid, A.status == D.SENT).distinct()
    ).subquery()
    status_of = (
        select(D.status)
        .where(D.id == restated.c.delivery_id, *_in_range(D.conversion_time, since, until))
        .scalar_subquery()
    )
    adjusted = db.session.scalar(
        select(func.count()).select_from(restated).where(status_of == D.SENT)
    )
    counts[(SENT, Reason.SENT.value)] += sent - (adjusted or 0)
    counts[(ADJUSTED, Reason.ADJUSTED.value)] += adjusted or 0
    if not scope.events:
        return +counts, Counter()
    decided_range = [
        PD.connection_id == cid,
        _mapped(scope, PD.event),
        *_in_range(PD.occurred_at, since, until),
    ]
    rules = decision_rules(scope, now)
    if db.engine.dialect.name == "postgresql":
        with_decision = _tally_decisions(rules, neither["decided"], decided_range, counts)
    else:
        with_decision = _tally_decisions_by_range(rules, neither["decided"], decided_range, counts)
    mapped = _counts(
        [r.when for r in neither["mapped"]],
        Conversion.workspace_id == scope.connection.workspace_id,
        _mapped(scope, Conversion.event),
        *_in_range(Conversion.occurred_at, since, until),
    )
    rest = Counter()
    for rule, total, planned, decided in zip(
        neither["mapped"], mapped, with_row, with_decision, strict=True
    ):
        rest[(rule.state, rule.reason)] = total - planned - decided
    counts.update(rest)
    return +counts, rest


def _tally_decisions(
    rules: Sequence[Rule], neither: Sequence[Rule], where: Sequence[Any], counts: Counter
) -> list[int]:
    """PostgreSQL: the decisions' (state, reason) and the window's edge in one grouped pass
    (two passes, a count per fixed rule then a group for the decision's own state, cost twice
    the time there). Adds to ``counts``; → the decisions per rule of ``neither`` (old, not)."""
    state, reason, _until = _case(rules)
    sides = case(*((r.when, i) for i, r in enumerate(neither)))
    sub = select(state.label("s"), reason.label("r"), sides.label("side")).where(*where).subquery()
    with_decision = [0] * len(neither)
    for st, why, side, n in db.session.execute(
        select(sub.c.s, sub.c.r, sub.c.side, func.count()).group_by(sub.c.s, sub.c.r, sub.c.side)
    ):
        counts[(st, why)] += n
        with_decision[side] += n
    return with_decision


def _tally_decisions_by_range(
    rules: Sequence[Rule], neither: Sequence[Rule], where: Sequence[Any], counts: Counter
) -> list[int]:
    """SQLite: one index-range count per fixed rule and per side of the window's edge, and a
    group for the rule whose state is the decision's own."""
    fixed = [r for r in rules if isinstance(r.state, str)]
    found = _counts([r.when for r in fixed] + [r.when for r in neither], *where)
    for rule, n in zip(fixed, found, strict=False):
        counts[(rule.state, rule.reason)] += n
    for rule in (r for r in rules if not isinstance(r.state, str)):
        sub = (
            select(rule.state.label("s"), rule.reason.label("r"))
            .where(rule.when, *where)
            .subquery()
        )
        for st, why, n in db.session.execute(
            select(sub.c.s, sub.c.r, func.count()).group_by(sub.c.s, sub.c.r)
        ):
            counts[(st, why)] += n
    return found[len(fixed) :]


def _count_connection(
    scope: Scope, now: datetime, since: datetime | None, until: datetime | None
) -> Counter:
    return _tally(scope, now, since, until)[0]


def _neither_counts(
    scope: Scope, now: datetime, since: datetime | None, until: datetime | None
) -> Counter:
    """The rows with neither a ledger row nor a decision, by (state, reason)."""
    return _tally(scope, now, since, until)[1]


def count_reasons(
    workspace_id: int,
    *,
    connection_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    scope: Scope | None = None,
) -> dict[str, dict[str, int]]:
    """state → reason code → count, for one connection (``scope``: its settings, already
    read) or all of the workspace's."""
    now = utcnow()
    result: dict[str, dict[str, int]] = {s: {} for s in STATES}
    for one in _scopes(workspace_id, connection_id, scope):
        for (st, reason), n in _count_connection(one, now, since, until).items():
            result[st][reason] = result[st].get(reason, 0) + n
    return result


def count_states(
    workspace_id: int,
    *,
    connection_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    scope: Scope | None = None,
) -> dict[str, int]:
    """state → count (every state present, zeros included), for one connection or all of the
    workspace's; a conversion mapped on two connections counts once per connection. ``since``
    and ``until`` bound the conversion time (``until`` exclusive)."""
    return {
        st: sum(reasons.values())
        for st, reasons in count_reasons(
            workspace_id, connection_id=connection_id, since=since, until=until, scope=scope
        ).items()
    }


# --- match rate and click-id coverage ---------------------------------------------------------

MATCH_DAYS = 30  # a connection's match rate and coverage look back this many days


@dataclass(frozen=True)
class MatchRate:
    """The match rate: of the uploads the platform has reported on (its diagnostics, per goal
    and upload day), the share it matched to an ad click. The one definition every page, the
    read API and the match-rate alert show; None (shown "—") until the platform reports."""

    attributed: int
    not_attributed: int
    first: date  # upload days, inclusive (UTC)
    last: date

    @property
    def reported(self) -> int:
        return self.attributed + self.not_attributed

    @property
    def percent(self) -> Decimal | None:
        return Decimal(self.attributed * 100) / self.reported if self.reported else None

    @property
    def figure(self) -> str:
        """How it is written everywhere (pages, alerts): "75.0% (3 of 4)", or "—"."""
        rate = self.percent
        return f"{rate:.1f}% ({self.attributed} of {self.reported})" if rate is not None else "—"

    def as_json(self) -> dict[str, Any]:
        rate = self.percent
        return {
            "percent": f"{rate:.1f}" if rate is not None else None,
            "attributed": self.attributed,
            "not_attributed": self.not_attributed,
            "from": self.first.isoformat(),
            "until": self.last.isoformat(),
        }


def _recent_days(days: int) -> tuple[date, date]:
    today = utcnow().date()
    return today - timedelta(days=days - 1), today


def match_rate(
    workspace_id: int,
    *,
    connection_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
) -> MatchRate:
    """The match rate of a workspace (or one of its connections) over upload days
    [first, last], the last ``MATCH_DAYS`` days by default: the platforms' own diagnostics
    summed, so it says what the platform did, not what SourceLoop hoped it would."""
    if first is None or last is None:
        first, last = _recent_days(MATCH_DAYS)
    G = GoalDiagnosticsDaily
    query = (
        select(func.coalesce(func.sum(G.success_count), 0),
               func.coalesce(func.sum(G.unattributed_count), 0))
        .join(Connection, Connection.id == G.connection_id)
        .where(Connection.workspace_id == workspace_id, G.day.between(first, last))
    )  # fmt: skip
    if connection_id is not None:
        query = query.where(G.connection_id == connection_id)
    attributed, not_attributed = db.session.execute(query).one()
    return MatchRate(int(attributed), int(not_attributed), first, last)


@dataclass(frozen=True)
class Coverage:
    """Click-id coverage: of the conversions the push has checked, how many carry a click id of
    the platform. Not the match rate (the platform decides that later); a low coverage says the
    pixel or auto-tagging loses clicks before anything is sent."""

    with_click: int
    checked: int
    days: int = MATCH_DAYS

    @property
    def figure(self) -> str:
        if not self.checked:
            return "—"
        return f"{100 * self.with_click / self.checked:.1f}% ({self.with_click} of {self.checked})"

    def as_json(self) -> dict[str, Any]:
        return {"with_click_id": self.with_click, "checked": self.checked, "days": self.days}


def click_id_coverage(
    connection: Connection, days: int = MATCH_DAYS, scope: Scope | None = None
) -> Coverage:
    """Ledger rows (with a click id) and decisions (the plan found a click, whatever it
    decided) among the connection's checked conversions of the last ``days``; conversions not
    checked yet are left out until the plan has seen them. Index counts, like every other
    figure here."""
    scope = scope if scope is not None else scope_for(connection)
    since = utcnow() - timedelta(days=days)
    ledger = _counts(
        [D.id.is_not(None), D.click_id.is_not(None)],
        D.connection_id == connection.id,
        D.conversion_time >= since,
    )
    decided = (
        _counts(
            [PD.id.is_not(None), PD.has_click.is_(True)],
            PD.connection_id == connection.id,
            _mapped(scope, PD.event),
            PD.occurred_at >= since,
        )
        if scope.events
        else [0, 0]
    )
    return Coverage(ledger[1] + decided[1], ledger[0] + decided[0], days)


def diagnostic_words(platform: Platform | None, reasons: dict[str, int]) -> dict[str, str]:
    """A platform's diagnostics reason codes → its words (``Platform.explain_diagnostic``);
    spelled out from the code when the plugin is not installed. Pages show the words with the
    code in small print; the read API returns both."""
    return {
        code: platform.explain_diagnostic(code) if platform is not None else humanise_code(code)
        for code in reasons
    }


def counts_by_connection(workspace_id: int) -> dict[int, dict[str, int]]:
    """connection id → state → count, for the connections API."""
    return {
        conn.id: count_states(workspace_id, connection_id=conn.id)
        for conn in _connections(workspace_id, None)
    }


# --- filtering and paging -------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    reason: str | None = None
    search: str = ""
    since: datetime | None = None
    until: datetime | None = None


def parse_filters(
    *,
    state: str | None = None,
    reason: str | None = None,
    search: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Filters:
    """Validated filters from request strings; ``BadQuery`` names the bad one."""
    state = (state or "").strip() or None
    reason = (reason or "").strip() or None
    if state is not None and state not in STATES:
        raise BadQuery(f"state must be one of {', '.join(STATES)}")
    if reason is not None and reason not in REASONS:
        raise BadQuery(f"reason must be one of {', '.join(REASONS)}")
    search = (search or "").strip()
    if len(search) > 255:
        raise BadQuery("search is limited to 255 characters")
    start, end = _instant(since, "since"), _instant(until, "until", end_of_day=True)
    if start and end and start >= end:
        raise BadQuery("since must be before until")
    return Filters(state, reason, search, start, end)


def _instant(raw: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end_of_day:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise BadQuery(
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time (2026-12-01T10:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if not EPOCH <= moment <= datetime(9000, 1, 1, tzinfo=UTC):
        raise BadQuery(f"{name} is out of range")
    return moment


def encode_cursor(occurred_at: datetime, conversion_id: int, row_key: int = 0) -> str:
    raw = json.dumps([occurred_at.astimezone(UTC).isoformat(), conversion_id, row_key])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int, int] | None:
    """The position after which the next page starts; ``BadQuery`` for anything forged."""
    if not cursor:
        return None
    try:
        if len(cursor) > 200:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, conversion_id, row_key = json.loads(raw)
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not all(
            type(v) is int and 0 <= v < 2**63 for v in (conversion_id, row_key)
        ):
            raise ValueError
        return at.astimezone(UTC), conversion_id, row_key
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise BadQuery(
            "cursor is not one this server gave out; start from the first page"
        ) from None


def _matching(workspace_id: int, search: str, platforms: Sequence[Platform | None]):  # noqa: ANN202
    """Conversion ids matching a search: external id, a click id (sent with the conversion,
    captured for its visitor, or on its ledger row), or an email, hashed here first."""
    if "@" in search:
        digests, _unusable = identity.hash_identity(email=search)
        digest = digests.email
        if digest is None:
            return select(Conversion.id).where(false())
        by_visitor = select(Visitor.id).where(
            Visitor.workspace_id == workspace_id, Visitor.email_sha256 == digest
        )
        return select(Conversion.id).where(
            Conversion.workspace_id == workspace_id,
            or_(Conversion.email_sha256 == digest, Conversion.visitor_id.in_(by_visitor)),
        )
    params = sorted({c.name for p in platforms if p is not None for c in p.click_ids})
    supplied = select(ConversionClickId.conversion_id).where(
        ConversionClickId.click_param.in_(params or ["\x00"]),
        ConversionClickId.click_id == search,
    )
    clicked = select(AdClick.visitor_id).where(
        AdClick.workspace_id == workspace_id,
        AdClick.click_param.in_(params or ["\x00"]),
        AdClick.click_id == search,
    )
    ledger = (
        select(D.conversion_id)
        .join(Connection, Connection.id == D.connection_id)
        .where(Connection.workspace_id == workspace_id, D.click_id == search)
    )
    return select(Conversion.id).where(
        Conversion.workspace_id == workspace_id,
        or_(
            Conversion.external_id == search,
            Conversion.id.in_(supplied),
            Conversion.visitor_id.in_(clicked),
            Conversion.id.in_(ledger),
        ),
    )


@dataclass
class Row:
    """One conversion with one connection: its state, reason and words, for pages and the API."""

    connection_id: int
    platform_key: str
    account_id: str
    conversion_id: int
    external_id: str | None
    event: str
    occurred_at: datetime
    value: Decimal | None
    currency: str | None
    goal_name: str
    state: str
    reason: str
    text: str
    fix: str
    until: datetime | None = None
    error_code: str | None = None
    attempts: int = 0
    last_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    row_key: int = 0
    platform_said: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    def as_json(self) -> dict[str, Any]:
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return {
            "connection_id": self.connection_id,
            "platform": self.platform_key,
            "account_id": self.account_id,
            "goal": self.goal_name,
            "state": self.state,
            "reason": self.reason,
            "reason_text": self.text,
            "fix": self.fix or None,
            "until": iso(self.until),
            "attempts": self.attempts,
            "last_attempt_at": iso(self.last_attempt_at),
            "sent_at": iso(self.sent_at),
            "platform_answer": {
                "accepted": self.state in (SENT, ADJUSTED),
                "error_code": self.error_code,
                "diagnostics": self.platform_said,
            },
        }


COLUMNS = ("connection_id", "conversion_id", "occurred_at", "row_key", "state", "reason", "until")


def _keyset(keys: Sequence, after: tuple | None) -> list:
    """Rows after the cursor, newest first: (time, conversion id[, row key])."""
    if after is None:
        return []
    return [tuple_(*keys[: len(after)]) < tuple_(*after)]


def _labelled(*columns: Any) -> list:
    return [c.label(name) for c, name in zip(columns, COLUMNS, strict=True)]


def _narrowed(rules: Sequence[Rule], filters: Filters) -> Any:
    """The source's rows a state/reason filter keeps; None when none can match."""
    found = [m for r in rules if (m := _matches(r, filters.state, filters.reason)) is not None]
    return or_(*found) if found else None


def _listing(
    scope: Scope, filters: Filters, now: datetime, after: tuple | None, n: int, ids: Any
) -> list[Select]:
    """Selects of ``COLUMNS``, each newest first and at most ``n`` rows, whose union holds the
    connection's first ``n`` rows after ``after`` that match the filters. Unfiltered: the join
    (ordered by time, it stops after ``n``); by state or reason: each source whose rules can
    match, read from its own table."""
    cid = scope.connection.id
    if not filters.state and not filters.reason:
        rows = rows_query(scope, now, since=filters.since, until=filters.until)
        keys = (rows.c.occurred_at, rows.c.conversion_id, rows.c.row_key)
        query = select(*(rows.c[name] for name in COLUMNS)).where(*_keyset(keys, after))
        if ids is not None:
            query = query.where(rows.c.conversion_id.in_(ids))
        return [query.order_by(*(k.desc() for k in keys)).limit(n)]
    found = []
    rules = ledger_rules(now)
    wanted = _narrowed(rules, filters)
    if wanted is not None:
        keys = (D.conversion_time, D.conversion_id, D.id)
        found.append(
            select(*_labelled(literal(cid), D.conversion_id, D.conversion_time, D.id,
                              *_case(rules)))
            .where(
                D.connection_id == cid,
                wanted,
                *_in_range(D.conversion_time, filters.since, filters.until),
                *([D.conversion_id.in_(ids)] if ids is not None else []),
                *_keyset(keys, after),
            )
            .order_by(*(k.desc() for k in keys))
            .limit(n)
        )  # fmt: skip
    if not scope.events:
        return found
    rules = decision_rules(scope, now)
    wanted = _narrowed(rules, filters)
    if wanted is not None:
        keys = (PD.occurred_at, PD.conversion_id, literal(0))
        found.append(
            select(*_labelled(literal(cid), PD.conversion_id, PD.occurred_at, literal(0),
                              *_case(rules)))
            .where(
                PD.connection_id == cid,
                _mapped(scope, PD.event),
                wanted,
                *_in_range(PD.occurred_at, filters.since, filters.until),
                *([PD.conversion_id.in_(ids)] if ids is not None else []),
                *_keyset(keys, after),
            )
            .order_by(PD.occurred_at.desc(), PD.conversion_id.desc())
            .limit(n)
        )  # fmt: skip
    rules = neither_rules(scope, now, Conversion.occurred_at)
    if _narrowed(rules, filters) is None:
        return found  # the filter names no state of this source: no need to count it
    present = _neither_counts(scope, now, filters.since, filters.until)
    rules = [r for r in rules if present[(r.state, r.reason)]]  # none: nothing to look for
    wanted = _narrowed(rules, filters) if rules else None
    if wanted is not None:
        keys = (Conversion.occurred_at, Conversion.id, literal(0))
        found.append(
            select(*_labelled(literal(cid), Conversion.id, Conversion.occurred_at, literal(0),
                              *_case(rules)))
            .where(
                Conversion.workspace_id == scope.connection.workspace_id,
                _mapped(scope, Conversion.event),
                ~exists().where(D.connection_id == cid, D.conversion_id == Conversion.id),
                ~exists().where(PD.connection_id == cid, PD.conversion_id == Conversion.id),
                wanted,
                *_in_range(Conversion.occurred_at, filters.since, filters.until),
                *([Conversion.id.in_(ids)] if ids is not None else []),
                *_keyset(keys, after),
            )
            .order_by(Conversion.occurred_at.desc(), Conversion.id.desc())
            .limit(n)
        )  # fmt: skip
    return found


def _first(selects: Sequence[Select], n: int, *, per_conversion: bool = False) -> list:
    """The first ``n`` rows of the union of ``selects`` (each already ordered and limited),
    newest first; ``per_conversion``: one row per conversion (the API pages conversions)."""
    if not selects:
        return []
    parts = [select(s.subquery()) for s in selects]
    union = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    if per_conversion:
        keys = (union.c.occurred_at, union.c.conversion_id)
        query = select(*keys).group_by(*keys)
    else:
        keys = (union.c.occurred_at, union.c.conversion_id, union.c.row_key)
        query = select(*(union.c[name] for name in COLUMNS))
    return db.session.execute(query.order_by(*(k.desc() for k in keys)).limit(n)).all()


SEARCH_LIMIT = 1000  # conversions one search may match (an email can match many)


def _search_ids(workspace_id: int, filters: Filters, scopes: Sequence[Scope]) -> list | None:
    """The conversions a search matches, read first (a handful of index lookups), so the page
    query looks up these rows instead of testing every row against the search."""
    if not filters.search:
        return None
    query = _matching(workspace_id, filters.search, [s.platform for s in scopes])
    return list(db.session.scalars(query.limit(SEARCH_LIMIT))) or [0]


@dataclass
class Page:
    rows: list[Row] = field(default_factory=list)
    next_cursor: str | None = None


def page(
    connection: Connection,
    filters: Filters,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    scope: Scope | None = None,
) -> Page:
    """One page of a connection's rows, newest first, by keyset (occurred_at, id, row)."""
    scope = scope if scope is not None else scope_for(connection)
    now = utcnow()
    after = decode_cursor(cursor)
    ids = _search_ids(connection.workspace_id, filters, [scope])
    found = _first(_listing(scope, filters, now, after, limit + 1, ids), limit + 1)
    more = len(found) > limit
    found = found[:limit]
    result = Page(describe(scope, found, now))
    if more and found:
        last = found[-1]
        result.next_cursor = encode_cursor(_aware(last.occurred_at), last.conversion_id,
                                           last.row_key)  # fmt: skip
    return result


def iter_rows(connection: Connection, filters: Filters, chunk: int = 500) -> Iterator[Row]:
    """Every filtered row, newest first, a keyset chunk at a time (constant memory)."""
    cursor = None
    while True:
        batch = page(connection, filters, cursor=cursor, limit=chunk)
        yield from batch.rows
        db.session.expunge_all()
        if batch.next_cursor is None:
            return
        cursor = batch.next_cursor


def conversions_page(
    workspace_id: int,
    filters: Filters,
    *,
    connection_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[tuple[Conversion, list[Row]]], str | None]:
    """The read API's page: conversions (newest first) that have a row matching the filters on
    any (or the given) connection, each with its rows on every connection."""
    now = utcnow()
    scopes = [scope_for(c) for c in _connections(workspace_id, connection_id)]
    after = decode_cursor(cursor)
    after = after[:2] if after is not None else None
    ids = _search_ids(workspace_id, filters, scopes)
    if connection_id is None and not filters.state and not filters.reason:
        # Every conversion of the workspace, mapped anywhere or not (its delivery may be empty).
        keys = (Conversion.occurred_at.label("occurred_at"), Conversion.id.label("conversion_id"))
        selects = [
            select(*keys)
            .where(
                Conversion.workspace_id == workspace_id,
                *_in_range(Conversion.occurred_at, filters.since, filters.until),
                *([Conversion.id.in_(ids)] if ids is not None else []),
                *_keyset((Conversion.occurred_at, Conversion.id), after),
            )
            .order_by(Conversion.occurred_at.desc(), Conversion.id.desc())
            .limit(limit + 1)
        ]
        found = _first(selects, limit + 1, per_conversion=True)
        return _api_page(scopes, found, limit, now)
    # Each source's first limit+1 conversions (a conversion has at most a few rows per source).
    selects = [
        s for scope in scopes for s in _listing(scope, filters, now, after, 3 * limit + 3, ids)
    ]
    found = _first(selects, limit + 1, per_conversion=True)
    return _api_page(scopes, found, limit, now)


def _api_page(
    scopes: Sequence[Scope], found: Sequence, limit: int, now: datetime
) -> tuple[list[tuple[Conversion, list[Row]]], str | None]:
    """The found conversions (one more than a page: the cursor's sign) with their rows."""
    more = len(found) > limit
    found = found[:limit]
    chosen = [r.conversion_id for r in found]
    per_conversion: dict[int, list[Row]] = {i: [] for i in chosen}
    for scope in scopes:
        sub = rows_query(scope, now)
        mine = db.session.execute(
            select(*(sub.c[name] for name in COLUMNS))
            .where(sub.c.conversion_id.in_(chosen or [0]))
            .order_by(sub.c.row_key)
        ).all()
        for row in describe(scope, mine, now):
            per_conversion[row.conversion_id].append(row)
    conversions = {
        c.id: c
        for c in db.session.scalars(
            select(Conversion)
            .where(Conversion.id.in_(chosen or [0]))
            .options(selectinload(Conversion.visitor))  # the API names each one's visitor
        )
    }
    next_cursor = None
    if more and found:
        next_cursor = encode_cursor(_aware(found[-1].occurred_at), found[-1].conversion_id)
    return [(conversions[i], per_conversion[i]) for i in chosen], next_cursor


def rows_for_conversion(conversion: Conversion) -> list[Row]:
    """The conversion's rows on every connection of its workspace where it belongs."""
    now = utcnow()
    result: list[Row] = []
    for conn in _connections(conversion.workspace_id, None):
        scope = scope_for(conn)
        sub = rows_query(scope, now)
        found = db.session.execute(
            select(*(sub.c[name] for name in COLUMNS)).where(sub.c.conversion_id == conversion.id)
        ).all()
        result += describe(scope, found, now)
    return result


# --- words ----------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    if isinstance(moment, str):  # SQLite hands back text through a union / subquery
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def describe(scope: Scope, found: Sequence, now: datetime) -> list[Row]:
    """Rows with words: the ledger, decision, goal and diagnostics facts of the found keys,
    read in three queries whatever the page size."""
    if not found:
        return []
    conn = scope.connection
    conversion_ids = [r.conversion_id for r in found]
    conversions = {
        c.id: c
        for c in db.session.scalars(select(Conversion).where(Conversion.id.in_(conversion_ids)))
    }
    deliveries = {
        d.id: d
        for d in db.session.scalars(
            select(D).where(D.id.in_([r.row_key for r in found if r.row_key] or [0]))
        )
    }
    decisions = {
        d.conversion_id: d
        for d in db.session.scalars(
            select(PD).where(PD.connection_id == conn.id, PD.conversion_id.in_(conversion_ids))
        )
    }
    goals = push_config.goal_facts(conn.id)
    goal_ids = {m.event: m.goal_id for m in scope.mappings}
    said = _diagnostics(
        conn.id, scope.platform, [d for d in deliveries.values() if d.sent_at is not None]
    )
    params = tuple(c.name for c in scope.platform.click_ids) if scope.platform else ()
    result = []
    for r in found:
        conversion = conversions[r.conversion_id]
        delivery = deliveries.get(r.row_key)
        decision = decisions.get(r.conversion_id) if delivery is None else None
        goal_id = delivery.goal_id if delivery else goal_ids.get(conversion.event, "")
        goal = goals.get(goal_id)
        until = _aware(r.until) if r.until is not None else None
        facts = ReasonFacts(
            goal_name=goal.name if goal else scope.goal_names.get(conversion.event, ""),
            goal_status=goal.status if goal else "",
            click_params=params,
            window=scope.rules.window,
            click_settle=scope.rules.click_settle,
            goal_settle=scope.rules.goal_settle,
            hash_hint=(decision.facts or {}).get("hash_hint", "") if decision else "",
            click_time_known=(decision.facts or {}).get("click_time_known", True)
            if decision
            else True,
            error_message=delivery.error_message if delivery else None,
            consent=(decision.facts or {}).get("consent", "") if decision else "",
            at=(delivery.sent_at if r.reason in (Reason.SENT, Reason.ADJUSTED) else until)
            if delivery
            else until,
            auto_tagging=conn.auto_tagging,
        )
        code = Reason(r.reason)
        if scope.platform is None:
            words = generic_wording(code, facts, conn.platform_key)
        else:
            words = wording(scope.platform, code, facts)
        result.append(
            Row(
                conn.id,
                conn.platform_key,
                conn.account_id,
                conversion.id,
                conversion.external_id,
                conversion.event,
                conversion.occurred_at,
                conversion.value,
                conversion.currency,
                delivery.goal_name if delivery else scope.goal_names.get(conversion.event, ""),
                r.state,
                r.reason,
                words.text,
                words.fix,
                until,
                delivery.error_code if delivery else None,
                delivery.attempts if delivery else 0,
                delivery.last_attempt_at if delivery else None,
                delivery.sent_at if delivery else None,
                r.row_key,
                said.get((delivery.goal_id, delivery.sent_at.date()))
                if delivery is not None and delivery.sent_at is not None
                else None,
            )  # fmt: skip
        )
    return result


def _diagnostics(
    connection_id: int, platform: Platform | None, sent: Sequence[ConversionDelivery]
) -> dict:
    """(goal id, upload day) → what the platform later said about that goal's uploads that day:
    its counts, its reason codes, and the plugin's words for each (``reason_text``)."""
    if not sent:
        return {}
    days = {d.sent_at.date() for d in sent}
    goal_ids = {d.goal_id for d in sent}
    found = {}
    for row in db.session.scalars(
        select(GoalDiagnosticsDaily).where(
            GoalDiagnosticsDaily.connection_id == connection_id,
            GoalDiagnosticsDaily.goal_id.in_(goal_ids),
            GoalDiagnosticsDaily.day.in_(days),
        )
    ):
        found[(row.goal_id, row.day)] = {
            "day": row.day.isoformat(),
            "attributed": row.success_count,
            "not_attributed": row.unattributed_count,
            "reasons": dict(row.reasons or {}),
            "reason_text": diagnostic_words(platform, dict(row.reasons or {})),
        }
    return found


# --- recording the plan's verdicts --------------------------------------------------------------


def record_decisions(
    connection_id: int, verdicts: dict[int, tuple[Any, str, datetime, bool]], now: datetime
) -> list[int]:
    """Keep ``push_decisions`` equal to the plan's verdicts (conversion id → (verdict, event,
    time, a click found)): a waiting or not-eligible verdict is stored (written only when it changed), an
    eligible one removes the row (the conversion now has a ledger row, and a conversion never
    has both). Runs in the plan's transaction. Returns the conversions whose waiting /
    not-eligible decision is new or changed (the timeline's)."""
    if not verdicts:
        return []
    changed: list[int] = []
    existing = {
        d.conversion_id: d
        for d in db.session.scalars(
            select(PD).where(PD.connection_id == connection_id, PD.conversion_id.in_(verdicts))
        )
    }
    gone, new = [], []
    for conversion_id, (verdict, event, occurred_at, has_click) in verdicts.items():
        current = existing.get(conversion_id)
        if verdict.eligible:
            if current is not None:
                gone.append(current.id)
            continue
        facts = {
            k: v
            for k, v in (
                ("hash_hint", verdict.facts.hash_hint),
                ("consent", verdict.facts.consent),
                ("click_time_known", verdict.facts.click_time_known),
            )
            if v not in ("", True)
        }
        until = verdict.retry_at if verdict.state == PD.WAITING else None
        values = (verdict.state, verdict.code.value, until, facts, has_click)
        if current is None:
            changed.append(conversion_id)
            new.append(
                {
                    "connection_id": connection_id,
                    "conversion_id": conversion_id,
                    "event": event,
                    "occurred_at": occurred_at,
                    "state": verdict.state,
                    "reason": verdict.code.value,
                    "until": until,
                    "facts": facts,
                    "has_click": has_click,
                    "decided_at": now,
                }
            )
        elif (
            current.state,
            current.reason,
            current.until,
            current.facts or {},
            current.has_click,
        ) != values:
            changed.append(conversion_id)
            (current.state, current.reason, current.until, current.facts,
             current.has_click) = values  # fmt: skip
            current.decided_at = now
    if gone:
        db.session.execute(delete(PD).where(PD.id.in_(gone)))
    if new:
        dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(PD.__table__).on_conflict_do_nothing(
            index_elements=["connection_id", "conversion_id"]
        )
        db.session.execute(stmt, new)
    return changed


REASON_LABELS = {
    r.value: r.value.replace("_", " ").capitalize() for r in Reason
}  # a filter names a reason; a row's sentence comes from ``wording``


def reason_labels() -> dict[str, str]:
    return dict(REASON_LABELS)
