"""The daily pull of one connection (hierarchy, daily metrics, diagnostics) on the PULL queue.

Each connection is its own job on its own queue, so a slow report never delays pushes and a
failing account only fails (and retries) its own job. The fan-out, Sync now and the CLI enqueue
it through ``webapp.background.enqueue``.

When the platform declares a report limit per customer (``platforms.base.ReportLimits``), the
05:00 fan-out staggers that customer's pulls by the cap and the expected pull time
(``webapp.insights.pull_plan``), and each pull takes one of the customer's report slots first
(``jobs.report_slots``): the safety net. With none free it is deferred by a jittered delay, so
the pulls of one customer stay under the limit instead of tripping the platform's throttle.
"""

from __future__ import annotations

import random

from flask import current_app

from jobs.queues import redis_connection
from jobs.report_slots import report_slot
from jobs.runtime import Deferred, JobContext, job
from webapp.insights.report_limits import report_gate
from webapp.insights.sync import run_pull

DEFER_SECONDS = 30.0  # mean wait for a slot; jittered ±50 % so deferred pulls do not bunch up
SLOT_LEASE_SECONDS = 1800  # a worker that dies holding a slot frees it after this


@job("pull")
def pull(
    ctx: JobContext, *, connection_id: int, days: int | None = None, workspace_id: int | None = None
) -> str:
    """``days`` overrides the window (CLI ``--days``); None means backfill first, then 14 days.
    ``workspace_id`` only files the run under the workspace (Sync now shows its progress)."""
    gate = report_gate(connection_id)
    if gate is None:
        return run_pull(connection_id, days=days, progress=ctx.progress)
    redis = redis_connection(current_app.config["REDIS_URL"])
    holder = f"run-{ctx.run_id}"
    with report_slot(redis, gate.key, gate.cap, holder, SLOT_LEASE_SECONDS) as taken:
        if not taken:
            raise Deferred(
                f"{gate.cap} pull(s) of this customer already running",
                retry_after=DEFER_SECONDS * random.uniform(0.5, 1.5),
            )
        return run_pull(connection_id, days=days, progress=ctx.progress)
