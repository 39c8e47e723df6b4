"""Put a job on its queue with a job-run record, so the page that asked can show progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.worker import Worker

from jobs.queues import get_queue, redis_connection
from webapp.services import job_runs


def is_alive(job_id: str) -> bool:
    """Whether RQ still has this job queued, or a live worker running it.

    A SIGKILLed worker leaves its job "started" until RQ's own cleanup runs; its worker key,
    which the worker renews while a job runs (RQ's job-monitoring heartbeat, 90 s), is what
    disappears. So a started job counts as alive only while the worker that took it is there."""
    connection = redis_connection(current_app.config["REDIS_URL"])
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=True)
    if status in ("queued", "deferred", "scheduled"):
        return True
    if status != "started":
        return False
    if not job.worker_name:
        return True  # RQ did not say who runs it: give it the benefit of the doubt
    return bool(connection.exists(Worker.redis_worker_namespace_prefix + job.worker_name))


def is_pending(job_id: str) -> bool:
    """Whether a job with this id is queued, scheduled or running right now."""
    try:
        job = Job.fetch(job_id, connection=redis_connection(current_app.config["REDIS_URL"]))
    except NoSuchJobError:
        return False
    return job.get_status(refresh=True) in ("queued", "started", "deferred", "scheduled")


def enqueue(
    func: Callable[..., Any],
    *,
    queue: str,
    job_id: str | None = None,
    connection_id: int | None = None,
    workspace_id: int | None = None,
    **kwargs: Any,
) -> int | None:
    """Enqueue ``func`` (a ``jobs.runtime.job``) and return its run id.

    With ``job_id`` the call is idempotent: when a job with that id is still pending, nothing
    is enqueued and None is returned. RQ ids may only hold ``[A-Za-z0-9_-]``.
    """
    if job_id is not None and is_pending(job_id):
        return None
    kind = getattr(func, "job_kind", func.__name__)
    run_id = job_runs.create_queued(
        kind, rq_job_id=job_id, connection_id=connection_id, workspace_id=workspace_id
    )
    if connection_id is not None:
        kwargs["connection_id"] = connection_id
    if workspace_id is not None:
        kwargs["workspace_id"] = workspace_id
    job = get_queue(queue, current_app.config["REDIS_URL"]).enqueue(
        func, job_id=job_id, run_id=run_id, result_ttl=3600, failure_ttl=7 * 86400, **kwargs
    )
    if job_id is None:
        from webapp.extensions import db
        from webapp.models import JobRun

        db.session.get(JobRun, run_id).rq_job_id = job.id
        db.session.commit()
    return run_id
