"""``POST /api/v1/privacy/erase`` and ``GET /api/v1/privacy/export``: a person's data, erased or
exported on request, by ``email``, ``phone``, ``visitor_id`` or ``external_id`` (exactly one).

Authenticated like the conversion API, with a workspace API key: the key decides the workspace,
so one workspace can never reach another's data. Both are idempotent; bad input is a 4xx.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from webapp.accounts import api_keys
from webapp.common.errors import ServiceError
from webapp.intake.conversions import loads_strict
from webapp.privacy import data_requests as privacy
from webapp.web_extensions import csrf

bp = Blueprint("api_privacy", __name__, url_prefix="/api/v1/privacy")
csrf.exempt(bp)
MAX_BODY = 4096


def _error(status: int, message: str):  # noqa: ANN202
    response = jsonify(error={"status": status, "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sourceloop"'
    return response


def _workspace() -> int | None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return api_keys.authenticate(presented.strip()) if scheme.lower() == "bearer" else None


UNAUTHORIZED = "Send a valid workspace API key: Authorization: Bearer sl_live_..."


@bp.post("/erase")
def erase():  # noqa: ANN201
    workspace_id = _workspace()
    if workspace_id is None:
        return _error(401, UNAUTHORIZED)
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _error(413, f"Requests are limited to {MAX_BODY} bytes.")
    try:
        payload = loads_strict(body)
    except (ValueError, RecursionError):
        return _error(400, "the body is not valid JSON")
    if not isinstance(payload, dict):
        return _error(422, 'send a JSON object like {"email": "..."}')
    retract = payload.get("retract", False)
    if not isinstance(retract, bool):
        return _error(422, "retract must be true or false")
    try:
        name, value = privacy.parse_selector(payload)
        result = privacy.erase(workspace_id, name, value, retract=retract)
    except ServiceError as exc:
        return _error(exc.status_code, exc.message)
    return jsonify(erased=result.counts)


@bp.get("/export")
def export():  # noqa: ANN201
    workspace_id = _workspace()
    if workspace_id is None:
        return _error(401, UNAUTHORIZED)
    try:
        args = request.args.to_dict()
        if "retract" in args:
            raise privacy.InvalidSelector("retract applies to erase only")
        name, value = privacy.parse_selector(args)
        data = privacy.export(workspace_id, name, value)
    except ServiceError as exc:
        return _error(exc.status_code, exc.message)
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response
