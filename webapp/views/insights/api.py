"""``GET /api/v1/insights?from=&to=&level=``: the daily rows, for loading into a warehouse;
``GET /api/v1/figures``: the dashboard's figures.

Authenticated like the conversion API, with a workspace API key (``Authorization: Bearer ...``):
the key decides the workspace. Bad parameters answer 400 with a message, never a 500.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from webapp.common.errors import ServiceError
from webapp.insights import figures
from webapp.insights import reports as insights_report
from webapp.views.api_auth import api_error, require_workspace

bp = Blueprint("api_insights", __name__, url_prefix="/api/v1")
bp.before_request(require_workspace)
MAX_API_DAYS = 92  # a quarter per call keeps responses bounded; page by date range


@bp.get("/insights")
def insights():  # noqa: ANN201
    workspace_id = g.api_workspace_id
    try:
        start, end = insights_report.parse_range(request.args.get("from"), request.args.get("to"))
        level = insights_report.parse_level(request.args.get("level"))
    except ServiceError as exc:
        return api_error(400, exc.message)
    if (end - start).days >= MAX_API_DAYS:
        return api_error(400, f"Ask for at most {MAX_API_DAYS} days per call.")
    rows = insights_report.api_rows(workspace_id, start, end, level)
    return jsonify(from_=start.isoformat(), to=end.isoformat(), level=level, rows=rows)


@bp.get("/figures")
def figures_api():  # noqa: ANN201
    """The dashboard's figures (today and the last 7 days), computed by the same function."""
    workspace_id = g.api_workspace_id
    return jsonify({name: f.as_json() for name, f in figures.dashboard(workspace_id).items()})
