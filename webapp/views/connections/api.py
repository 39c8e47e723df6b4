"""``GET /api/v1/connections``: each ad-account connection of the workspace with its health
(failing checks by name), its conversions counted by state, its match rate (what the platform
said about the last 30 days' uploads) and its click-id coverage, all from the state model
(``webapp.push.states``), the same figures Troubleshoot and the connection page show.

Authenticated like the conversion API, with a workspace API key (``Authorization: Bearer ...``).
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from webapp.connections import health
from webapp.connections import lifecycle as connections
from webapp.extensions import platform_registry
from webapp.push import states as push_states
from webapp.views.api_auth import require_workspace

bp = Blueprint("api_connections", __name__, url_prefix="/api/v1")
bp.before_request(require_workspace)


@bp.get("/connections")
def list_connections():  # noqa: ANN201
    workspace_id = g.api_workspace_id
    registry = platform_registry()
    rows = []
    for conn in connections.for_workspace(workspace_id):
        platform = registry.get(conn.platform_key)
        scope = push_states.scope_for(conn)
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
                "health": health.check(conn).as_dict(),
                "counts": push_states.count_states(
                    workspace_id, connection_id=conn.id, scope=scope
                ),
                "match_rate": push_states.match_rate(workspace_id, connection_id=conn.id).as_json(),
                "click_id_coverage": push_states.click_id_coverage(conn, scope=scope).as_json(),
                "last_push_at": conn.last_push_at.isoformat() if conn.last_push_at else None,
                "last_pull_at": conn.last_pull_at.isoformat() if conn.last_pull_at else None,
            }
        )
    return jsonify(connections=rows, states=list(push_states.STATES))
