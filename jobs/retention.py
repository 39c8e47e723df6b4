"""The nightly retention job (default queue): deletes what every workspace keeps no longer, in
bounded batches within a time budget; what is left is done by the next night's run."""

from __future__ import annotations

from datetime import timedelta

from jobs.runtime import JobContext, job
from webapp.models.types import utcnow
from webapp.privacy import retention

RUN_BUDGET = timedelta(minutes=20)


@job("retention")
def retention_run(ctx: JobContext) -> str:
    deadline = utcnow() + RUN_BUDGET
    totals: dict[str, int] = {}
    workspaces = retention.workspace_ids()
    for index, workspace_id in enumerate(workspaces):
        for kind, n in retention.purge(workspace_id, deadline=deadline).items():
            totals[kind] = totals.get(kind, 0) + n
        ctx.progress(min(99, 100 * (index + 1) // len(workspaces)), f"workspace {index + 1}")
    return ", ".join(f"{n} {kind}" for kind, n in sorted(totals.items())) + " deleted"
