"""``GET /w/<ws>/jobs/<run_id>``: a job run's status as JSON, polled by static/job-progress.js.

Any page that starts background work renders an element with ``data-job-status-url`` pointing
here; the script shows progress and reloads the page when the run finishes.
"""

from __future__ import annotations

from flask import abort, jsonify

from webapp.background import job_runs
from webapp.views.scope import current_membership, workspace_blueprint

bp = workspace_blueprint("job_status", __name__, "/jobs")


@bp.get("/<int:run_id>")
def show(run_id: int):  # noqa: ANN201
    run = job_runs.get_for_workspace(current_membership().workspace_id, run_id)
    if run is None:
        abort(404)
    return jsonify(
        id=run.id,
        kind=run.kind,
        status=run.status,
        progress=run.progress,
        message=run.message,
        error=run.error,
        finished=run.is_finished,
    )
