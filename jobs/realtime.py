"""The per-connection real-time event job (PUSH queue): sends a connection's conversions down
its platform's server-side event path (capability ``realtime_events``). Enqueued through
``webapp.background.enqueue`` by the push fan-out and when a conversion arrives."""

from __future__ import annotations

from jobs.runtime import JobContext, job
from webapp.push import realtime


@job("realtime")
def send_realtime(ctx: JobContext, *, connection_id: int, workspace_id: int | None = None) -> str:
    return realtime.run(connection_id).text
