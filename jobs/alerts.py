"""The alerts job (default queue, every 5 minutes): open and resolve each workspace's incidents
and deliver each change once (``webapp.services.alerts``)."""

from __future__ import annotations

from jobs.runtime import JobContext, job
from webapp.services import alerts


@job("alerts")
def evaluate_alerts(ctx: JobContext) -> str:
    opened = resolved = 0
    workspace_ids = alerts.workspaces_to_evaluate()
    for workspace_id in workspace_ids:
        o, r = alerts.evaluate(workspace_id)
        opened, resolved = opened + o, resolved + r
    return f"{opened} incident(s) opened, {resolved} resolved in {len(workspace_ids)} workspace(s)"
