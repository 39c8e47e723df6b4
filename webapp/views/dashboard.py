"""The landing page of a workspace: today's and the last 7 days' figures, a health card per
connection, the setup checklist until every step is done, then the recent activity."""

from __future__ import annotations

from flask import render_template

from webapp import policy
from webapp.accounts import setup_checklist
from webapp.common import audit
from webapp.connections import health
from webapp.connections import lifecycle as connections
from webapp.extensions import platform_registry
from webapp.forms import ConfirmForm
from webapp.insights import figures
from webapp.policy import Action
from webapp.views.scope import current_membership, workspace_blueprint

bp = workspace_blueprint("dashboard", __name__)


@bp.get("/")
def index():  # noqa: ANN201
    membership = current_membership()
    workspace_id = membership.workspace_id
    steps = setup_checklist.steps(workspace_id)
    conns = connections.for_workspace(workspace_id)
    healths = health.for_workspace(workspace_id)
    return render_template(
        "dashboard/index.html",
        figures=figures.dashboard(workspace_id),
        steps=steps,
        steps_done=sum(s.done for s in steps),
        connections=conns,
        healths=healths,
        platforms={p.key: p for p in platform_registry()},
        can_manage=policy.can(membership.role, Action.MANAGE_PLATFORMS),
        form=ConfirmForm(),
        events=audit.recent(workspace_id, limit=10),
    )
