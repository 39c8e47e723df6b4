"""Attribution jobs (default queue): a fan-out every 10 minutes finds workspaces with conversions
lacking current credits and enqueues one job each; conversions' intake may also call
``enqueue_for_workspace`` right after new conversions arrive."""

from __future__ import annotations

from datetime import timedelta

from jobs.runtime import JobContext, job

RUN_BUDGET = timedelta(minutes=8)  # leave the rest to the next run rather than pile up
SLOT_SECONDS = 600


@job("attribution")
def attribute_workspace(ctx: JobContext, *, workspace_id: int) -> str:
    from webapp.models.types import utcnow
    from webapp.services import multitouch

    done = multitouch.run(
        workspace_id,
        progress=lambda n: ctx.progress(min(99, n // 100), f"{n} conversions attributed"),
        deadline=utcnow() + RUN_BUDGET,
    )
    return f"{done} conversion(s) attributed"


def enqueue_for_workspace(workspace_id: int) -> int | None:
    """Queue one attribution run; a run already pending for the workspace is enough."""
    from jobs.enqueue import enqueue
    from jobs.fanout import slot
    from jobs.queues import DEFAULT

    return enqueue(
        attribute_workspace,
        queue=DEFAULT,
        job_id=f"attribution-ws{workspace_id}-{slot(SLOT_SECONDS)}",
        workspace_id=workspace_id,
    )


@job("attribution_fanout")
def attribution_fanout(ctx: JobContext) -> str:
    from webapp.services.multitouch import workspaces_with_pending

    workspace_ids = workspaces_with_pending()
    enqueued = sum(1 for ws in workspace_ids if enqueue_for_workspace(ws) is not None)
    return f"{enqueued} attribution job(s) enqueued for {len(workspace_ids)} workspace(s)"
