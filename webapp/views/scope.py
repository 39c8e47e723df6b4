"""Workspace-scoped blueprints: "load or 404, then authorize or 403" in one place.

Every URL under ``/w/<ws_id>/`` belongs to one workspace. Before any view runs, the signed-in
user's membership in that workspace is loaded; a workspace they do not belong to answers 404 (we
never confirm that someone else's workspace exists). Views then call ``require(action)``.
"""

from __future__ import annotations

from flask import Blueprint, abort, g
from flask_login import current_user

from webapp import policy
from webapp.models import Membership
from webapp.policy import Action
from webapp.services.members import membership_of
from webapp.web_extensions import login_manager


def workspace_blueprint(name: str, import_name: str, prefix: str = "") -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=f"/w/<int:ws_id>{prefix}")

    @bp.url_value_preprocessor
    def _pull_ws_id(endpoint, values) -> None:  # noqa: ANN001
        g.ws_id = values.pop("ws_id") if values else None

    @bp.url_defaults
    def _add_ws_id(endpoint, values) -> None:  # noqa: ANN001
        if "ws_id" not in values and getattr(g, "ws_id", None) is not None:
            values["ws_id"] = g.ws_id

    @bp.before_request
    def _load_membership():  # noqa: ANN202
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        membership = membership_of(g.ws_id, current_user.id)
        if membership is None:
            abort(404)
        g.membership = membership
        g.workspace = membership.workspace
        return None

    return bp


def current_membership() -> Membership:
    return g.membership


def require(action: Action) -> Membership:
    membership: Membership = g.membership
    if not policy.can(membership.role, action):
        abort(403, policy.reason(action))
    return membership
