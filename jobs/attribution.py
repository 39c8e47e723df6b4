"""Attribution jobs (default queue): a fan-out every 10 minutes finds workspaces with conversions
lacking current credits and enqueues one job each (``background.enqueue_attribution``, which the
attribution settings page also calls right after a change)."""

from __future__ import annotations

from datetime import timedelta

from jobs.runtime import JobContext, job
from webapp.models.types import utcnow
from webapp.services import background, multitouch

RUN_BUDGET = timedelta(minutes=8)  # leave the rest to the next run rather than pile up


@job("attribution")
def attribute_workspace(ctx: JobContext, *, workspace_id: int) -> str:
    done = multitouch.run(
        workspace_id,
        progress=lambda n: ctx.progress(min(99, n // 100), f"{n} conversions attributed"),
        deadline=utcnow() + RUN_BUDGET,
    )
    return f"{done} conversion(s) attributed"


@job("attribution_fanout")
def attribution_fanout(ctx: JobContext) -> str:
    workspace_ids = multitouch.workspaces_with_pending()
    enqueued = sum(1 for ws in workspace_ids if background.enqueue_attribution(ws) is not None)
    return f"{enqueued} attribution job(s) enqueued for {len(workspace_ids)} workspace(s)"
