"""The landing page of a workspace."""

from __future__ import annotations

from flask import render_template

from webapp.common import audit
from webapp.views.scope import current_membership, workspace_blueprint

bp = workspace_blueprint("dashboard", __name__)


@bp.get("/")
def index():  # noqa: ANN201
    membership = current_membership()
    return render_template(
        "dashboard/index.html", events=audit.recent(membership.workspace_id, limit=10)
    )
