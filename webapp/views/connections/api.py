"""``GET /api/v1/connections``: each ad-account connection of the workspace with its health
(failing checks by name) and its conversions counted by state (``webapp.push.states``, the same
counts Troubleshoot shows).

Authenticated like the conversion API, with a workspace API key (``Authorization: Bearer ...``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from webapp.accounts import api_keys
from webapp.connections import lifecycle as connections
from webapp.extensions import platform_registry
from webapp.models import Connection
from webapp.push import config as push_config
from webapp.push import states as push_states

bp = Blueprint("api_connections", __name__, url_prefix="/api/v1")


def _error(status: int, message: str):  # noqa: ANN202
    response = jsonify(error={"status": status, "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sourceloop"'
    return response


def connection_health(connection: Connection) -> dict[str, Any]:
    """The connection's health as one value (state, label, failing checks by name): the single
    call to swap for the connections capability's health check when it lands."""
    failing = []
    if connection.status in (Connection.DISCONNECTED, Connection.RECONNECT_NEEDED):
        failing.append({"check": "grant", "name": "Sign-in valid", "passed": False})
    if connection.auto_tagging is False:
        failing.append({"check": "auto_tagging", "name": "Auto-tagging on", "passed": False})
    if not push_config.mappings_for(connection.id):
        failing.append({"check": "goals_mapped", "name": "A goal is mapped", "passed": False})
    state = "healthy" if not failing else connection.status
    return {"state": state, "label": connection.health, "failing": failing}


@bp.get("/connections")
def list_connections():  # noqa: ANN201
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    workspace_id = api_keys.authenticate(presented.strip()) if scheme.lower() == "bearer" else None
    if workspace_id is None:
        return _error(401, "Send a valid workspace API key: Authorization: Bearer sl_live_...")
    registry = platform_registry()
    rows = []
    for conn in connections.for_workspace(workspace_id):
        platform = registry.get(conn.platform_key)
        rows.append(
            {
                "id": conn.id,
                "platform": conn.platform_key,
                "platform_name": platform.display_name if platform else conn.platform_key,
                "account": {
                    "id": conn.account_id,
                    "name": conn.account_name,
                    "number": conn.account_number,
                    "currency": conn.currency,
                },
                "status": conn.status,
                "health": connection_health(conn),
                "counts": push_states.count_states(workspace_id, connection_id=conn.id),
                "last_push_at": conn.last_push_at.isoformat() if conn.last_push_at else None,
                "last_pull_at": conn.last_pull_at.isoformat() if conn.last_pull_at else None,
            }
        )
    return jsonify(connections=rows, states=list(push_states.STATES))
