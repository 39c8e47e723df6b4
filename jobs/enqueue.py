"""The enqueue side of the jobs: which jobs exist, on which queue, and putting one on its queue.

A leaf: it imports RQ and ``jobs.queues`` only, never ``webapp`` and never a job body, so the web
app can ask for background work without importing the code that does it (which imports the web
app's services). Jobs are named by their ``jobs.runtime.job`` kind; RQ imports the body by its
path when a worker runs it. The job-run record a page shows is written by
``webapp.background.job_runs.enqueue``, which calls ``enqueue_job`` here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
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
PULL_PLAN_TTL_SECONDS = 2 * 86400  # a day's set of planned pulls outlives its day
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


def pending_ids(job_ids: Iterable[str]) -> set[str]:
    """Which of these job ids are queued, scheduled, running or deferred (one round trip)."""
    ids = list(job_ids)
    if not ids:
        return set()
    pipe = redis_connection(current_app.config["REDIS_URL"]).pipeline(transaction=False)
    for job_id in ids:
        pipe.hget(Job.key_for(job_id), "status")
    pending = {b"queued", b"started", b"deferred", b"scheduled"}
    return {job_id for job_id, status in zip(ids, pipe.execute(), strict=True) if status in pending}


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


def schedule_job(name: str, *, run_id: int, job_id: str, at: datetime, **kwargs: Any) -> str:
    """Put job ``name`` into rq-scheduler for ``at`` (timezone-aware); the scheduler process
    moves it onto its queue then. Returns the RQ job id."""
    from rq_scheduler import Scheduler  # only the pull's planner schedules; most callers enqueue

    spec = JOBS[name]
    scheduler = Scheduler(
        queue_name=spec.queue, connection=redis_connection(current_app.config["REDIS_URL"])
    )
    job = scheduler.enqueue_at(
        at, spec.func, job_id=job_id, queue_name=spec.queue, job_result_ttl=3600,
        run_id=run_id, **kwargs,
    )  # fmt: skip
    return str(job.id)


def claim_planned(day: int, connection_ids: Iterable[int]) -> list[int]:
    """Mark connections as planned for ``day`` (a ``PULL_SLOT_SECONDS`` slot) in one Redis round
    trip; returns those not planned before, so a fan-out that runs twice plans each once."""
    ids = list(connection_ids)
    if not ids:
        return []
    key = f"pull-plan:{day}"
    pipe = redis_connection(current_app.config["REDIS_URL"]).pipeline(transaction=False)
    for connection_id in ids:
        pipe.sadd(key, connection_id)
    pipe.expire(key, PULL_PLAN_TTL_SECONDS)
    added = pipe.execute()[:-1]
    return [connection_id for connection_id, new in zip(ids, added, strict=True) if new]


def unclaim_planned(day: int, connection_ids: Iterable[int]) -> None:
    """Undo ``claim_planned`` for connections whose pull could not be scheduled after all."""
    ids = list(connection_ids)
    if ids:
        redis_connection(current_app.config["REDIS_URL"]).srem(f"pull-plan:{day}", *ids)
