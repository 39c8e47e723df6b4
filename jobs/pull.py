"""The daily pull of one connection (hierarchy, daily metrics, diagnostics) on the PULL queue.

Each connection is its own job on its own queue, so a slow report never delays pushes and a
failing account only fails (and retries) its own job. The fan-out reaches ``enqueue_for_connection``
through ``jobs.fanout.PER_CONNECTION["pull"]``; Sync now and the CLI call the same job.
"""

from __future__ import annotations

from jobs.enqueue import enqueue
from jobs.fanout import PULL_SLOT_SECONDS, slot
from jobs.queues import PULL
from jobs.runtime import JobContext, job


@job("pull")
def pull(
    ctx: JobContext, *, connection_id: int, days: int | None = None, workspace_id: int | None = None
) -> str:
    """``days`` overrides the window (CLI ``--days``); None means backfill first, then 14 days.
    ``workspace_id`` only files the run under the workspace (Sync now shows its progress)."""
    from webapp.services.insights_sync import run_pull

    return run_pull(connection_id, days=days, progress=ctx.progress)


def enqueue_for_connection(connection_id: int) -> bool:
    """The daily fan-out's entry: at most one scheduled pull per connection and day."""
    run_id = enqueue(
        pull,
        queue=PULL,
        connection_id=connection_id,
        job_id=f"pull-{connection_id}-{slot(PULL_SLOT_SECONDS)}",
    )
    return run_id is not None


def enqueue_now(connection_id: int, workspace_id: int, days: int | None = None) -> int | None:
    """Sync now: one manual pull per connection at a time; None when one is already pending."""
    kwargs = {} if days is None else {"days": days}
    return enqueue(
        pull,
        queue=PULL,
        connection_id=connection_id,
        workspace_id=workspace_id,
        job_id=f"pull-{connection_id}-now",
        **kwargs,
    )
