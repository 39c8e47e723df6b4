"""What a batch of pixel hits leaves in the database: each visitor (its last visit and consent),
their sessions (30 minutes of inactivity ends one; a new ad click or campaign starts one), each
session's touchpoint and every click id.

A batch is written with a handful of statements, whatever its size: ONE multi-row visitor
upsert, ONE read of the sessions around the batch's hits for all its visitors, then the
sessions are decided in Python, hit by hit in time order, exactly as writing the hits one at a
time would, and the result is written with one ``executemany`` per kind of change. The
statements run on the driver's cursor with values converted by the columns' own bind processors
(``webapp.common.sql.driver_insert`` does the same): SQLAlchemy's per-statement machinery cost
more than the database's work (about 150 µs of the writer's 180 µs per hit, under the web
worker's GIL).

Rows are locked in one order by every writer: visitors by (workspace, uid), in the upsert's
VALUES order, before anything else of theirs; each visitor's hits are decided in time order;
click ids, the one key two visitors can share, are inserted sorted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Dialect

from webapp.intake import click_ids as click_catalog
from webapp.intake.channels import classify, host_of
from webapp.models import AdClick, Touchpoint, Visitor, VisitSession
from webapp.models.types import UTCDateTime

SESSION_TIMEOUT = timedelta(minutes=30)
CHUNK = 500  # rows per multi-row statement (SQLite's and PostgreSQL's parameter limits allow it)

visitors_t = Visitor.__table__
sessions_t = VisitSession.__table__
touchpoints_t = Touchpoint.__table__
clicks_t = AdClick.__table__


@dataclass(eq=False)
class Session:
    """A visitor's session as the batch sees it: read from the database (``id`` set) or opened by
    this batch (``row`` to insert). ``hits`` and ``last_hit_at`` are current; ``stored_hits`` is
    what the database holds, so the update adds only this batch's hits (as the one-by-one
    statements did, ``hits = hits + n``)."""

    id: int | None
    order: int  # breaks ties of start time: ids grow with insertion
    started_at: datetime
    last_hit_at: datetime
    hits: int
    touchpoint_id: int | None
    click_id: str | None
    campaign: str | None
    source: str | None
    stored_hits: int = 0
    stored_last_hit: datetime | None = None
    row: dict[str, Any] | None = None  # a new session's columns
    touchpoint: dict[str, Any] | None = None  # a new session's touchpoint, or a stored one's update
    gone: bool = False  # folded into an earlier session

    @property
    def has_touchpoint(self) -> bool:
        return self.touchpoint_id is not None or self.id is None  # a new session has its own


@dataclass
class Plan:
    """The batch's changes, decided in memory, written by ``_apply``."""

    sessions: dict[int, list[Session]] = field(default_factory=dict)  # visitor id → sessions
    new: list[Session] = field(default_factory=list)  # in creation order
    clicks: list[tuple[Session, dict[str, Any]]] = field(default_factory=list)
    opened: int = 0

    def next_order(self) -> int:
        """New sessions sort after every stored one of the same start, in creation order (the
        order of the ids they get)."""
        self.opened += 1
        return (1 << 62) + self.opened


def lock_order(item: tuple) -> tuple:
    """The one order every writer takes rows in: by (workspace, visitor), then by time. Two
    batches that share visitors lock them in the same order, so neither can wait on the other
    while holding what the other waits for; a visitor's hits are written in time order."""
    site, hit, at = item
    return (site.workspace_id, hit.visitor_uid, at)


def write(conn: Connection, batch: Sequence[tuple[Any, Any, datetime]]) -> None:
    """Record ``batch`` (site, hit, time) in ``conn``'s transaction. The result is the one
    writing its hits one at a time in lock order leaves."""
    if not batch:
        return
    batch = sorted(batch, key=lock_order)
    sql = _statements(conn)
    cursor = conn.connection.cursor()
    try:
        visitor_ids = _upsert_visitors(cursor, sql, batch)
        plan = Plan()
        plan.sessions = _sessions_around(cursor, sql, batch, visitor_ids)
        catalog = click_catalog.catalog()
        for site, hit, at in batch:
            visitor_id = visitor_ids[(site.workspace_id, hit.visitor_uid)]
            sessions = plan.sessions.setdefault(visitor_id, [])
            if hit.kind == "consent":
                _attach_clicks(plan, sessions, site.workspace_id, visitor_id, hit, at, catalog)
            else:
                _record_session(plan, sessions, site.workspace_id, visitor_id, hit, at, catalog)
        _apply(cursor, sql, plan)
    finally:
        cursor.close()


# --- deciding, in memory -------------------------------------------------------------------


def _around(sessions: list[Session], now: datetime) -> tuple[Session | None, Session | None]:
    """The session in effect at ``now`` (the latest that began by then) and the one after it."""
    last = follower = None
    for s in sessions:
        if s.gone:
            continue
        if s.started_at <= now:
            if last is None or (s.started_at, s.order) > (last.started_at, last.order):
                last = s
        elif follower is None or (s.started_at, s.order) < (follower.started_at, follower.order):
            follower = s
    return last, follower


def _attach_clicks(plan, sessions, workspace_id, visitor_id, hit, now, catalog) -> None:  # noqa: ANN001
    """Consent granted after the page view: the click ids the pixel held back for the page join
    the session that page view started (its touchpoint had none), not a new session."""
    if not hit.click_ids:
        return
    last, _ = _around(sessions, now)
    if last is None or not last.has_touchpoint or last.click_id is not None:
        _record_session(plan, sessions, workspace_id, visitor_id, hit, now, catalog)
        return
    click_param = next(p for p in catalog.names if p in hit.click_ids)
    channel, source, medium = classify(
        hit.click_ids, hit.utm, hit.referrer, host_of(hit.url), catalog
    )
    change = {
        "channel": channel,
        "source": source[:255],
        "medium": medium[:255],
        "click_param": click_param,
        "click_id": hit.click_ids[click_param],
    }
    # A stored touchpoint is updated; one this batch opened is inserted so.
    last.touchpoint = {**(last.touchpoint or {}), **change}
    last.click_id, last.source = change["click_id"], change["source"]
    _add_clicks(plan, last, workspace_id, visitor_id, hit, now)


def _record_session(plan, sessions, workspace_id, visitor_id, hit, now, catalog) -> None:  # noqa: ANN001
    click_param = next((p for p in catalog.names if p in hit.click_ids), None)
    click_id = hit.click_ids.get(click_param) if click_param else None
    last, follower = _around(sessions, now)
    campaign = hit.utm.get("utm_campaign", "")
    new_source = (click_id is not None and (last is None or last.click_id != click_id)) or (
        click_id is None
        and campaign
        and (
            last is None
            or (last.campaign, last.source) != (campaign, hit.utm.get("utm_source", ""))
        )
    )
    if last is not None and not new_source and now - last.last_hit_at < SESSION_TIMEOUT:
        last_hit = max(now, last.last_hit_at)
        last.hits += 1
        last.last_hit_at = last_hit
        _absorb_followers(sessions, follower, now, last_hit, last)
        return
    # The session in effect may already hold hits after this one (written first): in time order
    # they would have continued this new session, so it takes over their span.
    last_hit = max(now, last.last_hit_at) if last is not None else now
    channel, source, medium = classify(
        hit.click_ids, hit.utm, hit.referrer, host_of(hit.url), catalog
    )
    session = Session(
        id=None,
        order=plan.next_order(),
        started_at=now,
        last_hit_at=last_hit,
        hits=1,
        touchpoint_id=None,
        click_id=click_id,
        campaign=campaign[:255],
        source=source[:255],
        row={
            "workspace_id": workspace_id,
            "visitor_id": visitor_id,
            "started_at": now,
            "landing_url": hit.url,
            "referrer": hit.referrer,
        },
        touchpoint={
            "workspace_id": workspace_id,
            "visitor_id": visitor_id,
            "occurred_at": now,
            "channel": channel,
            "source": source[:255],
            "medium": medium[:255],
            "campaign": campaign[:255],
            "utm": hit.utm,
            "landing_url": hit.url,
            "referrer": hit.referrer,
            "click_param": click_param,
            "click_id": click_id,
        },
    )
    sessions.append(session)
    plan.new.append(session)
    _absorb_followers(sessions, follower, now, last_hit, session)
    if hit.click_ids:
        _add_clicks(plan, session, workspace_id, visitor_id, hit, now)


def _absorb_followers(
    sessions: list[Session],
    follower: Session | None,
    now: datetime,
    last_hit: datetime,
    into: Session,
) -> None:
    """Make the result independent of the order hits are written in.

    A hit written late (another web worker's batch) may belong before sessions that were
    opened only because this hit was missing: a page view 40 minutes after the last one opened
    a "direct" session, and the ad click just before it arrives now. Written in time order that
    page view would have continued the click's session, so such followers are folded into this
    one, nearest first (their hits counted here, their stray touchpoints removed) and the click
    keeps last touch. ``last_hit`` is this session's latest hit so far.

    Not undone: an attribution that comes back after another one (ad A, ad B, ad A again) when
    B is written after A's second visit. Sessions keep counts, not their hits, so that visit
    stays in A's first session; the journey still reads A then B, in time order."""
    while follower is not None:
        own_attribution = (
            follower.click_id is not None and follower.click_id != into.click_id
        ) or (
            follower.click_id is None
            and follower.campaign
            and (follower.campaign, follower.source) != (into.campaign, into.source)
        )
        if own_attribution or follower.started_at - last_hit >= SESSION_TIMEOUT:
            return  # it would have been a session of its own in time order too
        into.hits += follower.hits
        into.last_hit_at = max(into.last_hit_at, follower.last_hit_at)
        follower.gone = True
        last_hit = max(last_hit, follower.last_hit_at)
        follower = _around(sessions, now)[1]


def _add_clicks(plan: Plan, session: Session, workspace_id, visitor_id, hit, now) -> None:  # noqa: ANN001
    for param, value in hit.click_ids.items():
        plan.clicks.append(
            (
                session,
                {
                    "workspace_id": workspace_id,
                    "visitor_id": visitor_id,
                    "click_param": param,
                    "click_id": value,
                    "clicked_at": now,
                    "landing_url": hit.url,
                },
            )
        )


# --- reading and writing, on the driver's cursor -------------------------------------------


@dataclass(frozen=True)
class Statements:
    mark: str  # the driver's placeholder
    returning_many: bool  # the driver returns a row per parameter set of an executemany
    latest: str  # the later of two values (SQLite's scalar MAX, PostgreSQL's GREATEST)
    bind: dict[str, Callable[[Any], Any]]  # column → the type's bind processor
    time: Callable[[Any], Any]  # a stored time → an aware datetime

    def values(self, n: int, width: int) -> str:
        row = "(" + ", ".join([self.mark] * width) + ")"
        return ", ".join([row] * n)


_cache: dict[str, Statements] = {}


def _statements(conn: Connection) -> Statements:
    return prepare(conn.dialect)


def prepare(dialect: Dialect) -> Statements:
    """The writer's statements and converters for ``dialect``, built once per process."""
    found = _cache.get(dialect.name)
    if found is None:
        bind = {}
        times = {}  # one converter per time type, remembering recent times (a hit's time is
        # written several times: visitor, session, touchpoint, click)
        for table in (visitors_t, sessions_t, touchpoints_t, clicks_t):
            for column in table.c:
                processor = column.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is None:
                    continue
                if isinstance(column.type, UTCDateTime):
                    processor = times.setdefault(
                        type(column.type), functools.lru_cache(maxsize=4096)(processor)
                    )
                bind[f"{table.name}.{column.name}"] = processor
        time_type = sessions_t.c.started_at.type.dialect_impl(dialect)
        found = _cache[dialect.name] = Statements(
            mark="?" if dialect.paramstyle == "qmark" else "%s",
            returning_many=dialect.name == "postgresql",
            latest="GREATEST" if dialect.name == "postgresql" else "MAX",
            bind=bind,
            time=time_type.result_processor(dialect, None) or (lambda value: value),
        )
    return found


def _converted(
    sql: Statements, table: str, columns: Sequence[str], rows: Iterable[Sequence]
) -> list:
    converters = [
        (i, proc) for i, name in enumerate(columns) if (proc := sql.bind.get(f"{table}.{name}"))
    ]
    out = []
    for row in rows:
        if converters:
            row = list(row)
            for i, proc in converters:
                if row[i] is not None:
                    row[i] = proc(row[i])
        out.append(tuple(row))
    return out


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_VISITOR_COLUMNS = (
    "workspace_id", "uid", "first_seen_at", "last_seen_at", "consent_state", "consent_source",
)  # fmt: skip


def _upsert_visitors(cursor: Any, sql: Statements, batch: Sequence) -> dict[tuple[int, str], int]:
    """One row per visitor, in lock order: first and last hit of the batch, and the consent the
    hits leave (the last explicit answer; a visitor new to the database starts with its first
    hit's). A stored visitor's consent changes only when a hit said granted or denied; a page
    where nothing was said yet keeps what an earlier page recorded."""
    rows: dict[tuple[int, str], list] = {}
    for site, hit, at in batch:
        key = (site.workspace_id, hit.visitor_uid)
        row = rows.get(key)
        if row is None:
            rows[key] = [key[0], key[1], at, at, hit.consent.state, hit.consent.source]
            continue
        row[3] = at
        if hit.consent.explicit:
            row[4], row[5] = hit.consent.state, hit.consent.source
    ids = {}
    for chunk in _chunks(list(rows.values())):
        statement = (
            f"INSERT INTO visitors ({', '.join(_VISITOR_COLUMNS)}) "  # noqa: S608
            f"VALUES {sql.values(len(chunk), len(_VISITOR_COLUMNS))} "
            "ON CONFLICT (workspace_id, uid) DO UPDATE SET "
            "last_seen_at = excluded.last_seen_at, "
            "consent_state = CASE WHEN excluded.consent_state <> 'unknown' "
            "THEN excluded.consent_state ELSE visitors.consent_state END, "
            "consent_source = CASE WHEN excluded.consent_state <> 'unknown' "
            "THEN excluded.consent_source ELSE visitors.consent_source END "
            "RETURNING id, workspace_id, uid"
        )
        params = _converted(sql, "visitors", _VISITOR_COLUMNS, chunk)
        cursor.execute(statement, [value for row in params for value in row])
        ids.update({(ws, uid): vid for vid, ws, uid in cursor.fetchall()})
    return ids


def sessions_query(sql: Statements, n: int) -> str:
    """The sessions of ``n`` visitors from the one in effect at each visitor's first hit of the
    batch onwards (every later hit's session, and every session a late hit may fold), with
    their touchpoints; both tables read by index."""
    return (
        f"WITH wanted (visitor_id, since) AS (VALUES {sql.values(n, 2)}) "  # noqa: S608
        "SELECT s.visitor_id, s.id, s.started_at, s.last_hit_at, s.hits, "
        "t.id, t.click_id, t.campaign, t.source "
        "FROM wanted JOIN visit_sessions s ON s.visitor_id = wanted.visitor_id "
        "AND s.started_at >= COALESCE((SELECT MAX(p.started_at) FROM visit_sessions p "
        "WHERE p.visitor_id = wanted.visitor_id AND p.started_at <= wanted.since), wanted.since) "
        "LEFT OUTER JOIN touchpoints t ON t.session_id = s.id"
    )


def _sessions_around(
    cursor: Any, sql: Statements, batch: Sequence, visitor_ids: dict[tuple[int, str], int]
) -> dict[int, list[Session]]:
    first: dict[int, datetime] = {}
    for site, hit, at in batch:
        visitor_id = visitor_ids[(site.workspace_id, hit.visitor_uid)]
        if visitor_id not in first or at < first[visitor_id]:
            first[visitor_id] = at
    to_stored = sql.bind.get("visit_sessions.started_at")
    wanted = [(vid, to_stored(at) if to_stored else at) for vid, at in first.items()]
    found: dict[int, list[Session]] = {}
    seen: set[int] = set()
    for chunk in _chunks(wanted):
        cursor.execute(sessions_query(sql, len(chunk)), [v for pair in chunk for v in pair])
        for visitor_id, sid, started, last_hit, hits, tid, click_id, campaign, source in cursor:
            if sid in seen:  # a session has one touchpoint; never read it twice
                continue
            seen.add(sid)
            last_hit = sql.time(last_hit)
            found.setdefault(visitor_id, []).append(
                Session(
                    sid,
                    sid,
                    sql.time(started),
                    last_hit,
                    hits,
                    tid,
                    click_id,
                    campaign,
                    source,
                    stored_hits=hits,
                    stored_last_hit=last_hit,
                )  # fmt: skip
            )
    return found


_SESSION_COLUMNS = (
    "workspace_id", "visitor_id", "started_at", "last_hit_at", "hits", "landing_url", "referrer",
)  # fmt: skip
_TOUCHPOINT_COLUMNS = (
    "workspace_id", "visitor_id", "session_id", "occurred_at", "channel", "source", "medium",
    "campaign", "utm", "landing_url", "referrer", "click_param", "click_id",
)  # fmt: skip
_TOUCHPOINT_CHANGE = ("channel", "source", "medium", "click_param", "click_id")
_CLICK_COLUMNS = (
    "workspace_id", "visitor_id", "touchpoint_id", "click_param", "click_id", "clicked_at",
    "landing_url",
)  # fmt: skip


def _apply(cursor: Any, sql: Statements, plan: Plan) -> None:
    m = sql.mark
    stored = [s for sessions in plan.sessions.values() for s in sessions if s.id is not None]
    grown = [
        (s.hits - s.stored_hits, s.last_hit_at, s.id)
        for s in stored
        if not s.gone and (s.hits != s.stored_hits or s.last_hit_at != s.stored_last_hit)
    ]
    if grown:
        cursor.executemany(
            f"UPDATE visit_sessions SET hits = hits + {m}, "  # noqa: S608
            f"last_hit_at = {sql.latest}(last_hit_at, {m}) WHERE id = {m}",
            _converted(sql, "visit_sessions", ("hits", "last_hit_at", "id"), grown),
        )
    changed = [
        (*(s.touchpoint[c] for c in _TOUCHPOINT_CHANGE), s.touchpoint_id)
        for s in stored
        if s.touchpoint is not None and not s.gone
    ]
    if changed:
        assignments = ", ".join(f"{c} = {m}" for c in _TOUCHPOINT_CHANGE)
        cursor.executemany(
            f"UPDATE touchpoints SET {assignments} WHERE id = {m}",  # noqa: S608
            _converted(sql, "touchpoints", (*_TOUCHPOINT_CHANGE, "id"), changed),
        )
    dropped = [s for s in stored if s.gone]
    if dropped:
        stray = [(s.touchpoint_id,) for s in dropped if s.touchpoint_id is not None]
        if stray:
            cursor.executemany(f"DELETE FROM touchpoints WHERE id = {m}", stray)  # noqa: S608
        cursor.executemany(
            f"DELETE FROM visit_sessions WHERE id = {m}",  # noqa: S608
            [(s.id,) for s in dropped],
        )
    new = [s for s in plan.new if not s.gone]
    if new:
        rows = [
            (*(s.row[c] for c in _SESSION_COLUMNS[:3]), s.last_hit_at, s.hits,
             s.row["landing_url"], s.row["referrer"])
            for s in new
        ]  # fmt: skip
        ids = _insert_returning_ids(cursor, sql, "visit_sessions", _SESSION_COLUMNS, rows)
        for s, sid in zip(new, ids, strict=True):
            s.id = sid
            s.touchpoint["session_id"] = sid
        rows = [tuple(s.touchpoint[c] for c in _TOUCHPOINT_COLUMNS) for s in new]
        ids = _insert_returning_ids(cursor, sql, "touchpoints", _TOUCHPOINT_COLUMNS, rows)
        for s, tid in zip(new, ids, strict=True):
            s.touchpoint_id = tid
    if plan.clicks:
        # Sorted by their unique key: two batches that insert the same click id wait for each
        # other in one order, never crosswise.
        rows = sorted(
            (
                (c["workspace_id"], c["visitor_id"], None if s.gone else s.touchpoint_id,
                 c["click_param"], c["click_id"], c["clicked_at"], c["landing_url"])
                for s, c in plan.clicks
            ),
            key=lambda r: (r[0], r[3], r[4]),
        )  # fmt: skip
        cursor.executemany(
            f"INSERT INTO ad_clicks ({', '.join(_CLICK_COLUMNS)}) "  # noqa: S608
            f"VALUES {sql.values(1, len(_CLICK_COLUMNS))} "
            "ON CONFLICT (workspace_id, click_param, click_id) DO NOTHING",
            _converted(sql, "ad_clicks", _CLICK_COLUMNS, rows),
        )


def _insert_returning_ids(
    cursor: Any, sql: Statements, table: str, columns: Sequence[str], rows: list[tuple]
) -> list[int]:
    """INSERT ``rows`` → their ids, in order."""
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES {sql.values(1, len(columns))} RETURNING id"
    )
    params = _converted(sql, table, columns, rows)
    if sql.returning_many:  # psycopg: one pipelined round trip, a result per row
        cursor.executemany(statement, params, returning=True)
        ids = []
        while True:
            ids.append(cursor.fetchone()[0])
            if not cursor.nextset():
                return ids
    ids = []
    for values in params:  # SQLite runs in-process: a statement per row costs microseconds
        cursor.execute(statement, values)
        ids.append(cursor.fetchone()[0])
    return ids
