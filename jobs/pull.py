"""The daily pull of one connection (hierarchy, daily metrics, diagnostics) on the PULL queue.

Each connection is its own job on its own queue, so a slow report never delays pushes and a
failing account only fails (and retries) its own job. The fan-out, Sync now and the CLI enqueue
it through ``webapp.services.background``.
"""

from __future__ import annotations

from jobs.runtime import JobContext, job
from webapp.services.insights_sync import run_pull


@job("pull")
def pull(
    ctx: JobContext, *, connection_id: int, days: int | None = None, workspace_id: int | None = None
) -> str:
    """``days`` overrides the window (CLI ``--days``); None means backfill first, then 14 days.
    ``workspace_id`` only files the run under the workspace (Sync now shows its progress)."""
    return run_pull(connection_id, days=days, progress=ctx.progress)
