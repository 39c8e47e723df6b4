"""What every ``/api/v1`` blueprint shares: the workspace API key (``Authorization: Bearer
sl_live_...``) decides the workspace, and errors answer as ``{"error": {"status", "message"}}``.

Each API blueprint registers ``require_workspace`` as its ``before_request``: a request without a
valid key gets a 401 before any view runs, and views read ``g.api_workspace_id``."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from webapp.accounts import api_keys

UNAUTHORIZED = "Send a valid workspace API key: Authorization: Bearer sl_live_..."


def api_error(status: int, message: str, **more: Any) -> Response:
    """The API's error body; a 401 also names the scheme (``WWW-Authenticate``)."""
    response = jsonify(error={"status": status, "message": message, **more})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sourceloop"'
    return response


def bearer_workspace() -> int | None:
    """The workspace of the request's API key, or None (no key, another scheme, unknown key)."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return api_keys.authenticate(presented.strip()) if scheme.lower() == "bearer" else None


def require_workspace() -> Response | None:
    """``before_request`` of every API blueprint: a 401 without a valid key."""
    workspace_id = bearer_workspace()
    if workspace_id is None:
        return api_error(401, UNAUTHORIZED, title="Sign in required")
    g.api_workspace_id = workspace_id
    return None
