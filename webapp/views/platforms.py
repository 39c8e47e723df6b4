"""Setup → Ad Platforms: one card per registered platform plugin."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from sqlalchemy import select

from webapp import platform_registry, policy
from webapp.extensions import db
from webapp.forms import ConfirmForm
from webapp.models import Connection
from webapp.policy import Action
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("platforms", __name__, "/setup")


@bp.get("/")
def setup_index():  # noqa: ANN201
    return redirect(url_for("platforms.index"))


@bp.get("/platforms")
def index():  # noqa: ANN201
    membership = current_membership()
    connections = db.session.scalars(
        select(Connection)
        .where(Connection.workspace_id == membership.workspace_id)
        .order_by(Connection.connected_at)
    ).all()
    by_platform: dict[str, list[Connection]] = {}
    for connection in connections:
        by_platform.setdefault(connection.platform_key, []).append(connection)
    return render_template(
        "setup/platforms.html",
        platforms=list(platform_registry()),
        connections=by_platform,
        can_manage=policy.can(membership.role, Action.MANAGE_PLATFORMS),
        manage_reason=policy.reason(Action.MANAGE_PLATFORMS),
        form=ConfirmForm(),
    )


@bp.post("/platforms/<key>/connect")
def connect(key: str):  # noqa: ANN201
    require(Action.MANAGE_PLATFORMS)
    if platform_registry().get(key) is None:
        abort(404)
    abort(501, "Connecting this platform is not available yet.")
