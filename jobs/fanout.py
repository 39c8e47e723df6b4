"""Fan-outs: the scheduler runs these; each enqueues one job per active connection."""

from __future__ import annotations

import importlib
import time

from jobs.runtime import JobContext, job

PUSH_SLOT_SECONDS = 120
PULL_SLOT_SECONDS = 86400


def slot(seconds: int, now: float | None = None) -> int:
    """The time slot a job id carries, so that one slot never queues a connection twice."""
    return int((now if now is not None else time.time()) // seconds)


def _fan_out(ctx: JobContext, kind: str) -> str:
    from webapp.services.connections import active_connection_ids

    connection_ids = active_connection_ids()
    enqueued = 0
    for connection_id in connection_ids:
        enqueued += int(_enqueue_for(kind, connection_id))
    return f"{enqueued} {kind} job(s) enqueued for {len(connection_ids)} active connection(s)"


def _enqueue_for(kind: str, connection_id: int) -> bool:
    """Enqueue ``kind``'s per-connection job; False when one is already pending."""
    target = PER_CONNECTION.get(kind)
    if target is None:
        return False
    module_name, _, attr = target.partition(":")
    enqueue_one = getattr(importlib.import_module(module_name), attr)
    return bool(enqueue_one(connection_id))


# kind → "module:function(connection_id) -> bool" enqueuing that kind's per-connection job.
# Resolved when a fan-out runs, so importing this module imports nothing else.
PER_CONNECTION: dict[str, str] = {
    "pull": "jobs.pull:enqueue_for_connection",
    "push": "jobs.push:enqueue_for_connection",
}


@job("push_fanout")
def push_fanout(ctx: JobContext) -> str:
    from jobs.enqueue import is_alive
    from webapp.services.job_runs import reap_abandoned

    reaped = reap_abandoned(is_alive)
    summary = _fan_out(ctx, "push")
    return f"{summary}; {reaped} abandoned run(s) closed" if reaped else summary


@job("pull_fanout")
def pull_fanout(ctx: JobContext) -> str:
    return _fan_out(ctx, "pull")
