"""The per-connection push job (PUSH queue). It is enqueued through
``webapp.services.background`` (fan-out, Push now, after connecting)."""

from __future__ import annotations

from jobs.runtime import JobContext, job
from webapp.services import push


@job("push")
def push_connection(ctx: JobContext, *, connection_id: int, workspace_id: int | None = None) -> str:
    return push.run(connection_id, job_run_id=ctx.run_id, progress=ctx.progress).text
