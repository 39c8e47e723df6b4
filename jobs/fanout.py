"""Fan-outs: the scheduler runs these; each enqueues one job per active connection."""

from __future__ import annotations

from collections.abc import Callable

from jobs.enqueue import is_alive
from jobs.runtime import JobContext, job
from webapp.services import background
from webapp.services.connections import active_connection_ids
from webapp.services.job_runs import reap_abandoned


def _fan_out(kind: str, enqueue_one: Callable[[int], bool]) -> str:
    connection_ids = active_connection_ids()
    enqueued = sum(int(enqueue_one(connection_id)) for connection_id in connection_ids)
    return f"{enqueued} {kind} job(s) enqueued for {len(connection_ids)} active connection(s)"


@job("push_fanout")
def push_fanout(ctx: JobContext) -> str:
    reaped = reap_abandoned(is_alive)
    summary = _fan_out("push", background.enqueue_push)
    return f"{summary}; {reaped} abandoned run(s) closed" if reaped else summary


@job("pull_fanout")
def pull_fanout(ctx: JobContext) -> str:
    return _fan_out("pull", background.enqueue_pull)
