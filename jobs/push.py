"""The per-connection push job, and how it is enqueued (fan-out, Push now, after connecting).

The RQ job id carries the 2-minute slot, and a connection with a push job still queued gets no
second one; the ledger's leases, not the queue, are what keep two running jobs from sending the
same row.
"""

from __future__ import annotations

import time

from jobs.enqueue import enqueue, is_pending
from jobs.fanout import PUSH_SLOT_SECONDS, slot
from jobs.queues import PUSH
from jobs.runtime import JobContext, job


@job("push")
def push_connection(ctx: JobContext, *, connection_id: int, workspace_id: int | None = None) -> str:
    from webapp.services import push

    return push.run(connection_id, job_run_id=ctx.run_id, progress=ctx.progress).text


def queued_run_id(connection_id: int) -> int | None:
    """The run id of a push job for this connection that is still waiting in the queue."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import JobRun

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
    from webapp.extensions import db
    from webapp.models import Connection

    connection = db.session.get(Connection, connection_id)
    return connection.workspace_id if connection is not None else None


def enqueue_for_connection(connection_id: int) -> bool:
    """The fan-out's hook (``jobs.fanout.PER_CONNECTION["push"]``): False when one is queued."""
    if queued_run_id(connection_id) is not None:
        return False
    run_id = enqueue(
        push_connection,
        queue=PUSH,
        job_id=f"push-{connection_id}-{slot(PUSH_SLOT_SECONDS)}",
        connection_id=connection_id,
        workspace_id=_workspace_of(connection_id),
    )
    return run_id is not None


def request_push(connection_id: int) -> int:
    """Push now (and Retry failed): the queued run if there is one, else a new job's run id."""
    existing = queued_run_id(connection_id)
    if existing is not None:
        return existing
    run_id = enqueue(
        push_connection,
        queue=PUSH,
        job_id=f"push-{connection_id}-now-{int(time.time())}",
        connection_id=connection_id,
        workspace_id=_workspace_of(connection_id),
    )
    return run_id if run_id is not None else (queued_run_id(connection_id) or 0)


def on_connected(connection_id: int) -> None:
    """Hook from ``services.connections.ON_CONNECTED``: backfill the last 90 days right away
    (and drain what waited while the connection needed a reconnect)."""
    from flask import current_app

    if current_app.config.get("RUN_CONNECTION_CHECKS", True):
        # Not the slot id: the run that just hit "reconnect needed" may still hold it in RQ for
        # a moment, and this push must not be refused because of it.
        request_push(connection_id)
