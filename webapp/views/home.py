"""``/``: send a signed-in person to their first workspace."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.accounts.workspaces import workspaces_of

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():  # noqa: ANN201
    memberships = workspaces_of(current_user)
    if not memberships:
        return render_template("dashboard/no_workspace.html")
    return redirect(url_for("dashboard.index", ws_id=memberships[0].workspace_id))
