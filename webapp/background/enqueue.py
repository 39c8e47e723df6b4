"""What the app asks of the background: one function per kind of request, each with the RQ job id
that keeps it from queueing twice. Views, services and the fan-out jobs all enqueue through here;
the jobs themselves are named, never imported (``jobs.enqueue`` is the only part of ``jobs/``
the web app imports).

Push: the RQ job id carries the 2-minute slot, and a connection with a push job still queued gets
no second one; the ledger's leases, not the queue, are what keep two running jobs from sending
the same row.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from jobs.enqueue import (
    ATTRIBUTION_SLOT_SECONDS,
    PULL_SLOT_SECONDS,
    PUSH_SLOT_SECONDS,
    REALTIME_SLOT_SECONDS,
    claim_planned,
    is_pending,
    pending_ids,
    schedule_job,
    slot,
    unclaim_planned,
)
from webapp.background.job_runs import enqueue
from webapp.extensions import db
from webapp.models import Connection, JobRun


def queued_push_run_id(connection_id: int) -> int | None:
    """The run id of a push job for this connection that is still waiting in the queue."""
    runs = db.session.scalars(
        select(JobRun)
        .where(
            JobRun.connection_id == connection_id,
            JobRun.kind == "push",
            JobRun.status == JobRun.QUEUED,
        )
        .order_by(JobRun.id.desc())
        .limit(5)
    )
    for run in runs:
        if run.rq_job_id and is_pending(run.rq_job_id):
            return run.id
    return None


def _workspace_of(connection_id: int) -> int | None:
    connection = db.session.get(Connection, connection_id)
    return connection.workspace_id if connection is not None else None


def enqueue_push(connection_id: int) -> bool:
    """The push fan-out's entry: False when a push of this connection is already queued."""
    if queued_push_run_id(connection_id) is not None:
        return False
    run_id = enqueue(
        "push",
        job_id=f"push-{connection_id}-{slot(PUSH_SLOT_SECONDS)}",
        connection_id=connection_id,
        workspace_id=_workspace_of(connection_id),
    )
    return run_id is not None


def request_push(connection_id: int) -> int:
    """Push now (and Retry failed): the queued run if there is one, else a new job's run id."""
    existing = queued_push_run_id(connection_id)
    if existing is not None:
        return existing
    run_id = enqueue(
        "push",
        job_id=f"push-{connection_id}-now-{int(time.time())}",
        connection_id=connection_id,
        workspace_id=_workspace_of(connection_id),
    )
    return run_id if run_id is not None else (queued_push_run_id(connection_id) or 0)


def enqueue_realtime(connection_id: int, workspace_id: int | None = None) -> bool:
    """A connection's real-time event job (the fan-out, and a conversion that just arrived);
    the slot in the id keeps a burst of arrivals to one job. False when one is already queued."""
    run_id = enqueue(
        "realtime",
        job_id=f"realtime-{connection_id}-{slot(REALTIME_SLOT_SECONDS)}",
        connection_id=connection_id,
        workspace_id=workspace_id if workspace_id is not None else _workspace_of(connection_id),
    )
    return run_id is not None


def request_dry_run(connection_id: int) -> int:
    """A dry run of the connection's waiting rows (Troubleshoot); its run id."""
    run_id = enqueue(
        "dry_run",
        job_id=f"dry-run-{connection_id}-{int(time.time())}",
        connection_id=connection_id,
        workspace_id=_workspace_of(connection_id),
    )
    return run_id or 0


def enqueue_pull(connection_id: int) -> bool:
    """The daily pull fan-out's entry: at most one scheduled pull per connection and day."""
    run_id = enqueue(
        "pull",
        connection_id=connection_id,
        job_id=f"pull-{connection_id}-{slot(PULL_SLOT_SECONDS)}",
    )
    return run_id is not None


def schedule_daily_pulls(starts: Sequence[tuple[int, float]], now: datetime | None = None) -> int:
    """The daily pull fan-out's entry: each ``(connection_id, delay)`` becomes one pull that
    rq-scheduler starts ``delay`` seconds after ``now``. A connection already planned this UTC
    day (a fan-out that ran twice) or with this day's pull pending is left alone. Returns the
    pulls scheduled.

    Built for a thousand connections at once: one Redis round trip to check, one to claim, the
    run records in one transaction, then one schedule call per pull."""
    now = now or datetime.now(UTC)
    day = slot(PULL_SLOT_SECONDS, now.timestamp())
    job_ids = {connection_id: f"pull-{connection_id}-{day}" for connection_id, _ in starts}
    busy = pending_ids(job_ids.values())
    fresh = set(claim_planned(day, [cid for cid in job_ids if job_ids[cid] not in busy]))
    wanted = [(cid, delay) for cid, delay in starts if cid in fresh]
    if not wanted:
        return 0
    workspaces = dict(
        db.session.execute(
            select(Connection.id, Connection.workspace_id).where(Connection.id.in_(fresh))
        ).all()
    )
    runs = [
        JobRun(
            kind="pull",
            rq_job_id=job_ids[cid],
            connection_id=cid,
            workspace_id=workspaces.get(cid),
            status=JobRun.QUEUED,
            message=f"Scheduled for {now + timedelta(seconds=delay):%H:%M:%S} UTC",
        )
        for cid, delay in wanted
    ]
    try:
        db.session.add_all(runs)
        db.session.flush()
        run_ids = [run.id for run in runs]
        db.session.commit()
    except Exception:
        db.session.rollback()
        unclaim_planned(day, fresh)
        raise
    done = 0
    try:
        for run_id, (cid, delay) in zip(run_ids, wanted, strict=True):
            schedule_job(
                "pull",
                run_id=run_id,
                job_id=job_ids[cid],
                at=now + timedelta(seconds=delay),
                connection_id=cid,
            )
            done += 1
    except Exception:  # Redis failed part-way: the rest are not planned after all
        with contextlib.suppress(RedisError):
            unclaim_planned(day, [cid for cid, _ in wanted[done:]])
        db.session.rollback()
        for run_id in run_ids[done:]:
            run = db.session.get(JobRun, run_id)
            run.status, run.finished_at = JobRun.FAILED, datetime.now(UTC)
            run.error = run.message = "Could not be scheduled: Redis failed during the fan-out"
        db.session.commit()
        raise
    return done


def enqueue_pull_now(connection_id: int, workspace_id: int, days: int | None = None) -> int | None:
    """Sync now: one manual pull per connection at a time; None when one is already pending."""
    kwargs = {} if days is None else {"days": days}
    return enqueue(
        "pull",
        connection_id=connection_id,
        workspace_id=workspace_id,
        job_id=f"pull-{connection_id}-now",
        **kwargs,
    )


def enqueue_attribution(workspace_id: int) -> int | None:
    """Queue one attribution run; a run already pending for the workspace is enough."""
    return enqueue(
        "attribution",
        job_id=f"attribution-ws{workspace_id}-{slot(ATTRIBUTION_SLOT_SECONDS)}",
        workspace_id=workspace_id,
    )


def enqueue_set_auto_tagging(connection_id: int, enabled: bool) -> int | None:
    return enqueue("set_auto_tagging", connection_id=connection_id, enabled=enabled)


def on_connected(connection_id: int) -> None:
    """After a connection is created or reconnected: check it (auto-tagging) and backfill the
    last 90 days right away (draining what waited while the connection needed a reconnect)."""
    if not current_app.config.get("RUN_CONNECTION_CHECKS", True):
        return
    enqueue("check_connection", connection_id=connection_id, job_id=f"check-{connection_id}")
    # Not the slot id: the run that just hit "reconnect needed" may still hold it in RQ for a
    # moment, and this push must not be refused because of it.
    request_push(connection_id)
