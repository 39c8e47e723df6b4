"""The per-connection push job and its dry run (PUSH queue). They are enqueued through
``webapp.background.enqueue`` (fan-out, Push now, after connecting; Dry run on Troubleshoot)."""

from __future__ import annotations

from jobs.runtime import JobContext, job
from webapp.push import send as push


@job("push")
def push_connection(ctx: JobContext, *, connection_id: int, workspace_id: int | None = None) -> str:
    return push.run(connection_id, job_run_id=ctx.run_id, progress=ctx.progress).text


@job("dry_run")
def dry_run(ctx: JobContext, *, connection_id: int, workspace_id: int | None = None) -> str:
    return push.dry_run(connection_id)
