"""SQLite as a fair single-host database for web, collect's writer thread, workers and scheduler.

SQLite has one writer at a time. WAL lets readers run beside it and ``busy_timeout`` makes a
writer wait for the lock instead of failing, but one case never waits: a transaction that
*read* first (a deferred ``BEGIN``) and then writes after another connection committed fails at
once with "database is locked" (its snapshot is stale, so waiting cannot help). Every
read-then-write unit hits it under load: an attribution chunk, a run record's update, a form post.

So code that is about to read-then-write says so with ``writing()``: its transactions start with
``BEGIN IMMEDIATE`` (emitted by the engine's ``begin`` event), which takes the write lock up front
(waiting up to ``busy_timeout``), so the snapshot it reads is the one it writes on. Web requests
that change data (POST and friends) and the job runtime's run records do this, as do the long
writers (collect's batches, attribution chunks). Keep such transactions short. PostgreSQL is
untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 10_000

_immediate: ContextVar[bool] = ContextVar("sqlite_begin_immediate", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock at ``BEGIN``.

    Enter it before the unit's first statement (after a commit or rollback): a transaction
    already begun keeps its mode. A no-op on other databases."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def set_writing(on: bool) -> object:
    """For request hooks: like ``writing()``; returns the token ``reset_writing`` takes."""
    return _immediate.set(on)


def reset_writing(token: object) -> None:
    _immediate.reset(token)  # type: ignore[arg-type]


def is_lock_error(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked" (retryable by waiting)."""
    text = str(getattr(exc, "orig", exc))
    return "database is locked" in text or "database table is locked" in text


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """SQLite ignores ON DELETE CASCADE unless asked (PostgreSQL always honours it), and serialises
    writers; these settings make it a fair development and single-host database."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # WAL lets readers run beside the one writer, and NORMAL syncs at checkpoints rather than
        # on every commit (still durable against a crashed process): /collect commits per hit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(conn: Connection) -> None:
    # Otherwise the driver keeps its own habit: reads outside a transaction (each sees the latest
    # commit, as PostgreSQL's READ COMMITTED does), an implicit BEGIN before the first write.
    # After our BEGIN IMMEDIATE the driver sees a transaction open and adds none.
    if conn.dialect.name == "sqlite" and _immediate.get():
        conn.exec_driver_sql("BEGIN IMMEDIATE")
