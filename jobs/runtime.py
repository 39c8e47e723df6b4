"""The one wrapper every job runs in.

It gives the job an app context, a ``JobRun`` record that pages show (status, progress, message,
error), the RQ job id in every log line (see ``webapp.logging_setup``), database session cleanup,
and one mapping from the platform's typed errors to what happens next:

- ``RateLimited``      → run again after the platform's ``retry_after`` (attempts are bounded);
- ``TransientError``   → run again with exponential backoff and jitter (bounded);
- ``ReconnectRequired``→ mark the connection "reconnect needed"; no retry until a person acts;
- ``Deferred``         → not now and not a failure (a per-customer report slot is taken): run
                         again after ``retry_after`` as the same attempt;
- SQLite's "database is locked" (past the busy timeout) → like a transient error, sooner;
- anything else        → failed, with the error kept for troubleshooting.

The run record is written in a fresh session with a bounded retry (``_record``), so it is
closed even when the failure being recorded is the database's own.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from rq import get_current_job
from rq_scheduler import Scheduler
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from jobs.queues import DEFAULT, redis_connection
from platforms.errors import (
    AccessTokenExpired,
    PlatformError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from webapp.background import job_runs
from webapp.connections import credentials
from webapp.connections.platform_calls import job_scope
from webapp.core import create_base_app
from webapp.extensions import db
from webapp.models import Connection
from webapp.sqlite import is_lock_error, writing

log = logging.getLogger(__name__)
T = TypeVar("T")


MAX_ATTEMPTS = 6
RECORD_ATTEMPTS = 8
DATABASE_BUSY_BASE_SECONDS = 2.0
BACKOFF_BASE_SECONDS = 15.0
BACKOFF_CAP_SECONDS = 15 * 60.0


class Deferred(Exception):
    """Raised by a job body that cannot start yet; it runs again later without using an attempt."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_bound_app: Flask | None = None
_bound_pid: int | None = None


def bind_app(app: Flask) -> None:
    """Called by the worker entry: jobs run in this app (and its forked children)."""
    global _bound_app, _bound_pid
    _bound_app, _bound_pid = app, os.getpid()


def _app_context():  # noqa: ANN202
    global _bound_pid
    if has_app_context():
        return nullcontext()
    if _bound_app is None:
        bind_app(create_base_app())
    assert _bound_app is not None
    if _bound_pid != os.getpid():
        # A forked work horse must not share the parent's pooled database connections.
        with _bound_app.app_context():
            db.engine.dispose(close=False)
        _bound_pid = os.getpid()
    return _bound_app.app_context()


def backoff_delay(
    attempt: int, *, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS
) -> float:
    """Full-jitter exponential backoff: random in [base/2, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(min(base / 2, ceiling), ceiling)


@dataclass
class JobContext:
    """Handed to a job body: progress reporting and the run record."""

    run_id: int
    attempt: int

    def progress(self, percent: int, message: str = "") -> None:
        job_runs.update_progress(self.run_id, percent, message)


def job(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a job body ``body(ctx, **kwargs)``; enqueue the result by import path.

    The wrapped callable takes keyword arguments only (ids and values, never ORM objects), plus
    the optional ``run_id`` and ``attempt`` that the runtime uses itself.
    """

    def decorate(body: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(body)
        def wrapper(*, run_id: int | None = None, attempt: int = 1, **kwargs: Any) -> Any:
            with _app_context():
                return _run(kind, body, wrapper, run_id, attempt, kwargs)

        wrapper.job_kind = kind  # type: ignore[attr-defined]
        return wrapper

    return decorate


class DatabaseBusy(TransientError):
    """SQLite said "database is locked" past its busy timeout: the job runs again shortly."""


def _call(body: Callable[..., Any], ctx: JobContext, kwargs: dict[str, Any]) -> Any:
    """The body, and the commit of whatever it left pending, with SQLite's lock as transient."""
    try:
        result = body(ctx, **kwargs)
        db.session.commit()
        return result
    except OperationalError as exc:
        if is_lock_error(exc):
            raise DatabaseBusy(f"the database was busy: {exc.orig}") from exc
        raise


def _record(op: Callable[[], T]) -> T:
    """Write the run record in a fresh session, retried while SQLite is busy.

    The record is what pages show; it must be written even when the job's own session is broken
    (the error being recorded may be the lock itself), so each try starts from a new session
    and takes the write lock at BEGIN."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        db.session.remove()
        try:
            with writing():
                return op()
        except OperationalError as exc:
            db.session.rollback()
            if not is_lock_error(exc) or attempt == RECORD_ATTEMPTS:
                raise
            log.warning("run record busy (try %s of %s): %s", attempt, RECORD_ATTEMPTS, exc.orig)
            time.sleep(random.uniform(0.5, 1.0) * attempt)
    raise AssertionError("unreachable")


def _close(run_id: int, *, message: str = "", error: str | None = None) -> None:
    """Close the run record; a failure to do so is logged, never allowed to hide the job's."""
    try:
        _record(lambda: job_runs.finish(run_id, message=message, error=error))
    except SQLAlchemyError:
        log.exception("run %s: could not record its end (error was: %s)", run_id, error)


def _run(kind, body, wrapper, run_id, attempt, kwargs):  # noqa: ANN001, ANN202
    run_id = _record(
        lambda: job_runs.start(
            run_id,
            kind=kind,
            attempt=attempt,
            connection_id=kwargs.get("connection_id"),
            workspace_id=kwargs.get("workspace_id"),
        )
    )
    if _record(lambda: job_runs.is_cancelled(run_id)):
        log.info("%s run %s was cancelled before it started", kind, run_id)
        db.session.remove()
        return None
    credentials.forget_last_used()
    ctx = JobContext(run_id=run_id, attempt=attempt)
    log.info("%s run %s started (attempt %s)", kind, run_id, attempt)
    try:
        with job_scope():
            result = _call(body, ctx, kwargs)
    except job_runs.JobCancelled as exc:
        db.session.rollback()
        log.info("%s run %s stopped: %s", kind, run_id, exc)
        return None
    except ReconnectRequired as exc:
        db.session.rollback()
        _close(run_id, error=str(exc))
        connection_id = kwargs.get("connection_id")
        if connection_id is not None:
            credentials.mark_reconnect_needed(
                connection_id, exc.message, credential_id=credentials.last_used_credential()
            )
        log.warning("%s run %s needs a reconnect: %s", kind, run_id, exc)
        return None
    except Deferred as exc:
        db.session.rollback()
        delay = exc.retry_after * float(current_app.config.get("JOB_RETRY_SCALE", 1.0))
        job_runs.mark_retrying(run_id, f"waiting {delay:.0f}s: {exc}")
        schedule_retry(wrapper, delay, attempt=attempt, kwargs={**kwargs, "run_id": run_id})
        log.info("%s run %s deferred %.0fs: %s", kind, run_id, delay, exc)
        return None
    except (RateLimited, TransientError) as exc:
        db.session.rollback()
        if attempt >= MAX_ATTEMPTS:
            _close(run_id, error=f"gave up after {attempt} attempts: {exc}")
            log.error("%s run %s gave up after %s attempts: %s", kind, run_id, attempt, exc)
            return None
        if isinstance(exc, AccessTokenExpired):
            with job_scope():
                _force_refresh(kwargs.get("connection_id"))
        if isinstance(exc, RateLimited):
            delay = exc.retry_after
        elif isinstance(exc, DatabaseBusy):
            delay = backoff_delay(attempt, base=DATABASE_BUSY_BASE_SECONDS)
        else:
            delay = backoff_delay(attempt)
        delay *= float(current_app.config.get("JOB_RETRY_SCALE", 1.0))
        note = f"retrying in {delay:.0f}s: {exc}"
        try:
            _record(lambda: job_runs.mark_retrying(run_id, note))
            schedule_retry(wrapper, delay, attempt=attempt + 1, kwargs={**kwargs, "run_id": run_id})
        except Exception:  # the retry could not be scheduled: the record must not say "retrying"
            _close(run_id, error=f"could not schedule a retry after: {exc}")
            raise
        log.warning("%s run %s will retry in %.0fs: %s", kind, run_id, delay, exc)
        return None
    except PlatformError as exc:
        db.session.rollback()
        _close(run_id, error=str(exc))
        log.error("%s run %s failed: %s", kind, run_id, exc)
        return None
    except Exception as exc:
        db.session.rollback()
        _close(run_id, error=f"{type(exc).__name__}: {exc}")
        log.exception("%s run %s crashed", kind, run_id)
        raise
    else:
        _close(run_id, message=result if isinstance(result, str) else "")
        log.info("%s run %s succeeded: %s", kind, run_id, result if isinstance(result, str) else "")
        return result
    finally:
        db.session.remove()


def _force_refresh(connection_id: int | None) -> None:
    """The platform said the access token expired early: refresh now so the retry has a new one."""
    if connection_id is None:
        return
    connection = db.session.get(Connection, connection_id)
    if connection is None or connection.credential_id is None:
        return
    credential_id = connection.credential_id
    db.session.commit()
    # On ReconnectRequired, revoke() already marked the connection; the retry stops there.
    with contextlib.suppress(ReconnectRequired):
        credentials.fresh_token(credential_id, force=True)


def schedule_retry(
    func: Callable[..., Any], delay: float, *, attempt: int, kwargs: dict[str, Any]
) -> None:
    current = get_current_job()
    queue_name = current.origin if current is not None else DEFAULT
    scheduler = Scheduler(
        queue_name=queue_name, connection=redis_connection(current_app.config["REDIS_URL"])
    )
    scheduler.enqueue_in(timedelta(seconds=delay), func, attempt=attempt, **kwargs)
