"""Writing pulled data: hierarchy, daily metrics and diagnostics, each as a batched upsert.

Every write is ``INSERT ... ON CONFLICT (natural key) DO UPDATE`` in the database's own dialect
(SQLite and PostgreSQL both have it), so a re-pull of an overlapping window overwrites the late
numbers in place and can never add a second row for the same (connection, level, entity, day).
Rows are streamed in fixed-size batches, so memory does not grow with the size of a report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite

from platforms.base import DailyMetric, Entity, GoalDiagnostics
from webapp.extensions import db
from webapp.models import AdEntity, GoalDiagnosticsDaily, InsightDaily
from webapp.models.types import utcnow

BATCH_SIZE = 2000
_METRIC_KEY = ("connection_id", "level", "entity_id", "day")
_METRIC_VALUES = ("impressions", "clicks", "spend", "currency", "conversions", "revenue")


def _insert(table: Table):  # noqa: ANN202
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert_statement(table: Table, key: Sequence[str], values: Sequence[str]):  # noqa: ANN201
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET value = excluded.value`` for ``table``."""
    stmt = _insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in values}
    )


def batches(rows: Iterable[Any], size: int = BATCH_SIZE) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert_metrics(
    connection_id: int,
    metrics: Iterable[DailyMetric],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Store daily metrics (any levels, any order); returns how many rows were written.

    Each batch is committed on its own: a pull that fails half-way keeps what it stored, and the
    next pull of the same window simply overwrites it."""
    table = InsightDaily.__table__
    stmt = upsert_statement(table, _METRIC_KEY, (*_METRIC_VALUES, "pulled_at"))
    written = 0
    for batch in batches(metrics, batch_size):
        now = utcnow()
        db.session.execute(
            stmt,
            [
                {
                    "connection_id": connection_id,
                    "level": m.level,
                    "entity_id": m.entity_id,
                    "day": m.day,
                    "impressions": m.impressions,
                    "clicks": m.clicks,
                    "spend": m.spend,
                    "currency": m.currency,
                    "conversions": m.conversions,
                    "revenue": m.revenue,
                    "pulled_at": now,
                }
                for m in batch
            ],
        )
        db.session.commit()
        written += len(batch)
        if on_batch is not None:
            on_batch(written)
    return written


def sync_entities(connection_id: int, entities: Iterable[Entity]) -> tuple[int, int]:
    """Upsert the hierarchy as the platform returns it now; mark entities it no longer returns
    as removed (and un-mark any that came back). Returns (seen, newly removed)."""
    table = AdEntity.__table__
    started = utcnow()
    stmt = upsert_statement(
        table,
        ("connection_id", "level", "entity_id"),
        ("parent_id", "name", "status", "kind", "updated_at", "removed_at"),
    )
    seen = 0
    for batch in batches(entities):
        db.session.execute(
            stmt,
            [
                {
                    "connection_id": connection_id,
                    "level": e.level,
                    "entity_id": e.id,
                    "parent_id": e.parent_id,
                    "name": (e.name or "")[:500],
                    "status": (e.status or "")[:32],
                    "kind": e.kind,
                    "first_seen_at": started,
                    "updated_at": started,
                    "removed_at": None,
                }
                for e in batch
            ],
        )
        # Committed per batch: the platform's iterator fetches the next page when asked, and
        # no transaction may be open while it does (webapp.services.platform_calls).
        db.session.commit()
        seen += len(batch)
    removed = db.session.execute(
        update(AdEntity)
        .where(
            AdEntity.connection_id == connection_id,
            AdEntity.removed_at.is_(None),
            AdEntity.updated_at < started,
        )
        .values(removed_at=started, status="Deleted")
    ).rowcount
    db.session.commit()
    return seen, removed or 0


def store_diagnostics(
    connection_id: int, goals: Iterable[GoalDiagnostics], pulled_at: datetime
) -> int:
    """Upsert per-goal, per-day diagnostics (``platforms.base.GoalDiagnostics``)."""
    table = GoalDiagnosticsDaily.__table__
    stmt = upsert_statement(
        table,
        ("connection_id", "goal_id", "day"),
        ("goal_name", "success_count", "unattributed_count", "reasons", "pulled_at"),
    )
    rows = [
        {
            "connection_id": connection_id,
            "goal_id": goal.goal_id,
            "goal_name": (goal.goal_name or "")[:255],
            "day": day.day,
            "success_count": day.success_count,
            "unattributed_count": day.unattributed_count,
            "reasons": dict(day.reasons),
            "pulled_at": pulled_at,
        }
        for goal in goals
        for day in goal.days
    ]
    for batch in batches(rows):
        db.session.execute(stmt, batch)
    db.session.commit()
    return len(rows)
