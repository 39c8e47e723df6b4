"""Fan-outs: the scheduler runs these. The pull fan-out schedules one job per active connection,
spread over a window per customer (``webapp.insights.pull_plan``); the push fan-out enqueues only
the connections with push work due (``webapp.push.due``)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from jobs.enqueue import is_alive
from jobs.runtime import JobContext, job
from jobs.schedule import scheduler_interval
from webapp.background import enqueue as background
from webapp.background.job_runs import reap_abandoned
from webapp.connections.lifecycle import active_connection_ids
from webapp.extensions import platform_registry
from webapp.insights.pull_plan import daily_pull_plan
from webapp.push.due import connections_with_due_work
from webapp.push.realtime import due_connection_ids as realtime_due


def _fan_out(enqueue_one: Callable[[int], bool], connection_ids: list[int]) -> int:
    return sum(int(enqueue_one(connection_id)) for connection_id in connection_ids)


@job("push_fanout")
def push_fanout(ctx: JobContext) -> str:
    reaped = reap_abandoned(is_alive)
    due = connections_with_due_work(platform_registry())
    enqueued = _fan_out(background.enqueue_push, due)
    summary = f"{enqueued} push job(s) enqueued for {len(due)} connection(s) with work due"
    realtime = realtime_due()
    if realtime:
        sent = _fan_out(background.enqueue_realtime, realtime)
        summary += f"; {sent} real-time job(s) for {len(realtime)} connection(s)"
    return f"{summary}; {reaped} abandoned run(s) closed" if reaped else summary


@job("pull_fanout")
def pull_fanout(ctx: JobContext) -> str:
    connection_ids = active_connection_ids()
    window = float(current_app.config.get("PULL_WINDOW_MINUTES", 240)) * 60
    # rq-scheduler keeps whole seconds, and the scheduler looks for due jobs every interval.
    plan = daily_pull_plan(
        connection_ids, window_seconds=window, resolution=1.0 + scheduler_interval()
    )
    scheduled = background.schedule_daily_pulls([(p.connection_id, p.delay) for p in plan.pulls])
    summary = (
        f"{scheduled} pull job(s) scheduled for {len(connection_ids)} active connection(s) "
        f"over {plan.span / 60:.0f} min"
    )
    if plan.squeezed:
        summary += f"; {len(plan.squeezed)} customer(s) squeezed into the window"
    return summary
