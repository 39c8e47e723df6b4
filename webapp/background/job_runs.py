"""Job-run records: the status and progress of background work that pages can show."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from rq import get_current_job
from sqlalchemy import select, update

from jobs.enqueue import cancel_if_waiting, enqueue_job, is_pending
from webapp.extensions import db
from webapp.models import Connection, InsightSyncState, JobRun, PushRun
from webapp.models.types import utcnow


def enqueue(
    name: str,
    *,
    job_id: str | None = None,
    connection_id: int | None = None,
    workspace_id: int | None = None,
    **kwargs: Any,
) -> int | None:
    """Enqueue job ``name`` (a key of ``jobs.enqueue.JOBS``) and return its run id.

    With ``job_id`` the call is idempotent: when a job with that id is still pending, nothing
    is enqueued and None is returned. RQ ids may only hold ``[A-Za-z0-9_-]``.
    """
    if job_id is not None and is_pending(job_id):
        return None
    run_id = create_queued(
        name, rq_job_id=job_id, connection_id=connection_id, workspace_id=workspace_id
    )
    if connection_id is not None:
        kwargs["connection_id"] = connection_id
    if workspace_id is not None:
        kwargs["workspace_id"] = workspace_id
    rq_job_id = enqueue_job(name, run_id=run_id, job_id=job_id, **kwargs)
    if job_id is None:
        db.session.get(JobRun, run_id).rq_job_id = rq_job_id
        db.session.commit()
    return run_id


def create_queued(
    kind: str,
    *,
    rq_job_id: str | None,
    connection_id: int | None = None,
    workspace_id: int | None = None,
    message: str = "Waiting for a worker",
) -> int:
    if workspace_id is None and connection_id is not None:
        connection = db.session.get(Connection, connection_id)
        workspace_id = connection.workspace_id if connection is not None else None
    run = JobRun(
        kind=kind,
        rq_job_id=rq_job_id,
        connection_id=connection_id,
        workspace_id=workspace_id,
        status=JobRun.QUEUED,
        message=message,
    )
    db.session.add(run)
    db.session.commit()
    return run.id


def start(
    run_id: int | None,
    *,
    kind: str,
    attempt: int,
    connection_id: int | None,
    workspace_id: int | None,
) -> int:
    current = get_current_job()
    run = db.session.get(JobRun, run_id) if run_id is not None else None
    if run is None:
        run = JobRun(kind=kind, connection_id=connection_id, workspace_id=workspace_id)
        db.session.add(run)
    elif run.status == JobRun.CANCELLED:  # a retry or a queued copy of a cancelled job
        return run.id
    run.status = JobRun.RUNNING
    run.attempt = attempt
    run.started_at = run.started_at or utcnow()
    run.rq_job_id = current.id if current is not None else run.rq_job_id
    run.message = "Running" if attempt == 1 else f"Running (attempt {attempt})"
    db.session.flush()
    if run.rq_job_id:
        # Two callers can ask for the same idempotent job id at once (both see nothing pending);
        # RQ keeps one job, so the other's record would wait "queued" forever. This run is it.
        db.session.execute(
            update(JobRun)
            .where(
                JobRun.rq_job_id == run.rq_job_id,
                JobRun.id != run.id,
                JobRun.status == JobRun.QUEUED,
            )
            .values(
                status=JobRun.SUCCEEDED,
                message=f"Ran as run {run.id} (the same job was asked for twice)"[:500],
                finished_at=utcnow(),
            )
        )
    db.session.commit()
    return run.id


class JobCancelled(Exception):
    """Raised in a running job when its run was cancelled (its connection was disconnected):
    the job stops at its next progress report, and its record stays "cancelled"."""


CANCELLED_BY_DISCONNECT = "Cancelled: the connection was disconnected."
OPEN_STATUSES = (JobRun.QUEUED, JobRun.RUNNING, JobRun.RETRYING)


def cancel_for_connection(connection_id: int, message: str = CANCELLED_BY_DISCONNECT) -> int:
    """Cancel every unfinished run of a connection (caller commits): waiting jobs leave their
    queue, running ones stop at their next progress report. Returns the runs cancelled."""
    runs = db.session.scalars(
        select(JobRun).where(
            JobRun.connection_id == connection_id, JobRun.status.in_(OPEN_STATUSES)
        )
    ).all()
    now = utcnow()
    for run in runs:
        if run.rq_job_id:
            with contextlib.suppress(RedisError):
                cancel_if_waiting(run.rq_job_id)
        run.status = JobRun.CANCELLED
        run.message = message[:500]
        run.finished_at = now
    sync = db.session.get(InsightSyncState, connection_id)
    if sync is not None and sync.last_status == InsightSyncState.RUNNING:
        sync.last_status = InsightSyncState.CANCELLED
        sync.last_finished_at = now
        sync.last_error = message
    return len(runs)


def is_cancelled(run_id: int) -> bool:
    run = db.session.get(JobRun, run_id)
    return run is not None and run.status == JobRun.CANCELLED


def update_progress(run_id: int, percent: int, message: str = "") -> None:
    run = db.session.get(JobRun, run_id)
    if run is None:
        return
    db.session.refresh(run)
    if run.status == JobRun.CANCELLED:
        db.session.rollback()
        raise JobCancelled(run.message or "Cancelled")
    run.progress = max(0, min(100, int(percent)))
    if message:
        run.message = message[:500]
    db.session.commit()


def mark_retrying(run_id: int, message: str) -> None:
    run = db.session.get(JobRun, run_id)
    if run.status == JobRun.CANCELLED:
        return
    run.status = JobRun.RETRYING
    run.message = message[:500]
    db.session.commit()


def finish(run_id: int, *, message: str = "", error: str | None = None) -> None:
    run = db.session.get(JobRun, run_id)
    if run.status == JobRun.CANCELLED:  # cancelled stays cancelled, whatever the job did after
        return
    run.status = JobRun.FAILED if error else JobRun.SUCCEEDED
    run.error = error
    run.progress = 100 if not error else run.progress
    run.message = (message or ("Failed" if error else "Done"))[:500]
    run.finished_at = utcnow()
    db.session.commit()


def get_for_workspace(workspace_id: int, run_id: int) -> JobRun | None:
    run = db.session.get(JobRun, run_id)
    return run if run is not None and run.workspace_id == workspace_id else None


def recent(
    *, connection_id: int | None = None, kind: str | None = None, limit: int = 20
) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.created_at.desc(), JobRun.id.desc()).limit(limit)
    if connection_id is not None:
        query = query.where(JobRun.connection_id == connection_id)
    if kind is not None:
        query = query.where(JobRun.kind == kind)
    return list(db.session.scalars(query))


ABANDONED_AFTER = timedelta(minutes=15)  # runs RQ cannot vouch for (no job id)
GRACE = timedelta(minutes=1)  # a run RQ says is dead, but that only just started
PULL_STARTS_WITHIN = timedelta(minutes=10)  # from a pull job's start to its sync state's
ABANDONED_MESSAGE = (
    "Abandoned: the worker stopped while running this job (killed or restarted). Nothing is "
    "lost: the next run picks up its work."
)


def reap_abandoned(is_alive: Callable[[str], bool], older_than: timedelta = ABANDONED_AFTER) -> int:
    """Close every run record whose worker died mid-job (SIGKILL, dyno restart), so no page says
    "running" forever: the job run, the push run it was writing and the connection's pull state.

    Their rows are safe (the push ledger's leases expire and the next run takes them); only the
    records would stay open. ``is_alive(rq_job_id)`` asks RQ (a job whose worker is gone is
    dead); a run without an RQ job id is given ``older_than``. Returns the job runs closed."""
    now = utcnow()
    running = db.session.scalars(
        select(JobRun).where(JobRun.status == JobRun.RUNNING, JobRun.started_at < now - GRACE)
    ).all()
    reaped = 0
    for run in running:
        if run.rq_job_id:
            if is_alive(run.rq_job_id):
                continue
        elif run.started_at >= now - older_than:
            continue
        run.status = JobRun.ABANDONED
        run.error = ABANDONED_MESSAGE
        run.message = "Abandoned"
        run.finished_at = now
        reaped += 1
    db.session.flush()

    open_pushes = db.session.execute(
        select(PushRun, JobRun)
        .outerjoin(JobRun, JobRun.id == PushRun.job_run_id)
        .where(PushRun.finished_at.is_(None))
    ).all()
    for push_run, job_run in open_pushes:
        over = (
            job_run.is_finished if job_run is not None else push_run.started_at < now - older_than
        )
        if over:
            push_run.finished_at = now
            push_run.outcome = PushRun.ABANDONED_OUTCOME

    pulling = db.session.scalars(
        select(InsightSyncState).where(InsightSyncState.last_status == InsightSyncState.RUNNING)
    ).all()
    for state in pulling:
        latest = db.session.scalars(
            select(JobRun)
            .where(JobRun.connection_id == state.connection_id, JobRun.kind == "pull")
            .where(JobRun.started_at.is_not(None))
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())
            .limit(1)
        ).first()
        # The state is that job run's pull when it started right after the run did (a pull
        # started by hand from the CLI has no job run, and is left alone).
        if (
            latest is not None
            and latest.status == JobRun.ABANDONED
            and state.last_started_at is not None
            and latest.started_at <= state.last_started_at <= latest.started_at + PULL_STARTS_WITHIN
        ):
            state.last_status = InsightSyncState.ABANDONED
            state.last_finished_at = now
            state.last_error = ABANDONED_MESSAGE
    db.session.commit()
    return reaped
