"""``GET /api/v1/insights?from=&to=&level=``: the daily rows, for loading into a warehouse;
``GET /api/v1/figures``: the dashboard's figures.

Authenticated like the conversion API, with a workspace API key (``Authorization: Bearer ...``):
the key decides the workspace. Bad parameters answer 400 with a message, never a 500.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from webapp.accounts import api_keys
from webapp.common.errors import ServiceError
from webapp.insights import figures
from webapp.insights import reports as insights_report

bp = Blueprint("api_insights", __name__, url_prefix="/api/v1")
MAX_API_DAYS = 92  # a quarter per call keeps responses bounded; page by date range


def _error(status: int, message: str):  # noqa: ANN202
    response = jsonify(error={"status": status, "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sourceloop"'
    return response


@bp.get("/insights")
def insights():  # noqa: ANN201
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    workspace_id = api_keys.authenticate(presented.strip()) if scheme.lower() == "bearer" else None
    if workspace_id is None:
        return _error(401, "Send a valid workspace API key: Authorization: Bearer sl_live_...")
    try:
        start, end = insights_report.parse_range(request.args.get("from"), request.args.get("to"))
        level = insights_report.parse_level(request.args.get("level"))
    except ServiceError as exc:
        return _error(400, exc.message)
    if (end - start).days >= MAX_API_DAYS:
        return _error(400, f"Ask for at most {MAX_API_DAYS} days per call.")
    rows = insights_report.api_rows(workspace_id, start, end, level)
    return jsonify(from_=start.isoformat(), to=end.isoformat(), level=level, rows=rows)


@bp.get("/figures")
def figures_api():  # noqa: ANN201
    """The dashboard's figures (today and the last 7 days), computed by the same function."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    workspace_id = api_keys.authenticate(presented.strip()) if scheme.lower() == "bearer" else None
    if workspace_id is None:
        return _error(401, "Send a valid workspace API key: Authorization: Bearer sl_live_...")
    return jsonify({name: f.as_json() for name, f in figures.dashboard(workspace_id).items()})
