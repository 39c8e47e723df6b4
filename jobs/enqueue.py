"""The enqueue side of the jobs: which jobs exist, on which queue, and putting one on its queue.

A leaf: it imports RQ and ``jobs.queues`` only, never ``webapp`` and never a job body, so the web
app can ask for background work without importing the code that does it (which imports the web
app's services). Jobs are named by their ``jobs.runtime.job`` kind; RQ imports the body by its
path when a worker runs it. The job-run record a page shows is written by
``webapp.background.job_runs.enqueue``, which calls ``enqueue_job`` here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.worker import Worker

from jobs.queues import DEFAULT, PULL, PUSH, get_queue, redis_connection

PUSH_SLOT_SECONDS = 120
# A new conversion nudges its connection's real-time job at most once per slot.
REALTIME_SLOT_SECONDS = 10
PULL_SLOT_SECONDS = 86400
ATTRIBUTION_SLOT_SECONDS = 600


@dataclass(frozen=True)
class JobSpec:
    func: str  # import path of a jobs.runtime.job, resolved by the worker
    queue: str


# kind → where its body lives and which queue runs it. tests/test_layers.py checks that each path
# names a job of that kind.
JOBS: dict[str, JobSpec] = {
    "push": JobSpec("jobs.push.push_connection", PUSH),
    "realtime": JobSpec("jobs.realtime.send_realtime", PUSH),
    "dry_run": JobSpec("jobs.push.dry_run", PUSH),
    "pull": JobSpec("jobs.pull.pull", PULL),
    "attribution": JobSpec("jobs.attribution.attribute_workspace", DEFAULT),
    "retention": JobSpec("jobs.retention.retention_run", DEFAULT),
    "check_connection": JobSpec("jobs.connection_jobs.check_connection", DEFAULT),
    "set_auto_tagging": JobSpec("jobs.connection_jobs.set_auto_tagging", DEFAULT),
    "push_fanout": JobSpec("jobs.fanout.push_fanout", DEFAULT),
    "pull_fanout": JobSpec("jobs.fanout.pull_fanout", DEFAULT),
    "attribution_fanout": JobSpec("jobs.attribution.attribution_fanout", DEFAULT),
    "alerts": JobSpec("jobs.alerts.evaluate_alerts", DEFAULT),
}


def slot(seconds: int, now: float | None = None) -> int:
    """The time slot a job id carries, so that one slot never queues a connection twice."""
    return int((now if now is not None else time.time()) // seconds)


def is_pending(job_id: str) -> bool:
    """Whether a job with this id is queued, scheduled or running right now."""
    try:
        job = Job.fetch(job_id, connection=redis_connection(current_app.config["REDIS_URL"]))
    except NoSuchJobError:
        return False
    return job.get_status(refresh=True) in ("queued", "started", "deferred", "scheduled")


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


def cancel_if_waiting(job_id: str) -> bool:
    """Take a job that has not started off its queue (a running one is told by its run record,
    which its next progress report reads). True when a waiting job was cancelled."""
    try:
        job = Job.fetch(job_id, connection=redis_connection(current_app.config["REDIS_URL"]))
    except NoSuchJobError:
        return False
    if job.get_status(refresh=True) not in ("queued", "deferred", "scheduled"):
        return False
    job.cancel()
    return True


def enqueue_job(name: str, *, run_id: int, job_id: str | None = None, **kwargs: Any) -> str:
    """Put job ``name`` (a key of ``JOBS``) on its queue; returns the RQ job id.

    RQ ids may only hold ``[A-Za-z0-9_-]``."""
    spec = JOBS[name]
    job = get_queue(spec.queue, current_app.config["REDIS_URL"]).enqueue(
        spec.func, job_id=job_id, run_id=run_id, result_ttl=3600, failure_ttl=7 * 86400, **kwargs
    )
    return str(job.id)
