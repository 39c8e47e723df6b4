"""``POST /api/v1/privacy/erase`` and ``GET /api/v1/privacy/export``: a person's data, erased or
exported on request, by ``email``, ``phone``, ``visitor_id`` or ``external_id`` (exactly one).

Authenticated like the conversion API, with a workspace API key: the key decides the workspace,
so one workspace can never reach another's data. Both are idempotent; bad input is a 4xx.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from webapp.common.errors import ServiceError
from webapp.intake.conversions import loads_strict
from webapp.privacy import data_requests as privacy
from webapp.views.api_auth import api_error, require_workspace
from webapp.web_extensions import csrf

bp = Blueprint("api_privacy", __name__, url_prefix="/api/v1/privacy")
bp.before_request(require_workspace)
csrf.exempt(bp)
MAX_BODY = 4096


@bp.post("/erase")
def erase():  # noqa: ANN201
    workspace_id = g.api_workspace_id
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return api_error(413, f"Requests are limited to {MAX_BODY} bytes.")
    try:
        payload = loads_strict(body)
    except (ValueError, RecursionError):
        return api_error(400, "the body is not valid JSON")
    if not isinstance(payload, dict):
        return api_error(422, 'send a JSON object like {"email": "..."}')
    retract = payload.get("retract", False)
    if not isinstance(retract, bool):
        return api_error(422, "retract must be true or false")
    try:
        name, value = privacy.parse_selector(payload)
        result = privacy.erase(workspace_id, name, value, retract=retract)
    except ServiceError as exc:
        return api_error(exc.status_code, exc.message)
    return jsonify(erased=result.counts)


@bp.get("/export")
def export():  # noqa: ANN201
    workspace_id = g.api_workspace_id
    try:
        args = request.args.to_dict()
        if "retract" in args:
            raise privacy.InvalidSelector("retract applies to erase only")
        name, value = privacy.parse_selector(args)
        data = privacy.export(workspace_id, name, value)
    except ServiceError as exc:
        return api_error(exc.status_code, exc.message)
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response
