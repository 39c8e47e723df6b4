"""Insights: the dashboard of pulled spend beside SourceLoop's own revenue, and Sync now."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from webapp import policy
from webapp.background import enqueue as background
from webapp.background import job_runs
from webapp.charts import bar_chart
from webapp.common.errors import ServiceError
from webapp.connections import lifecycle as connections
from webapp.forms import ConfirmForm
from webapp.inputs import db_int
from webapp.insights import reports as insights_report
from webapp.insights.sync import state_for
from webapp.policy import Action
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("insights", __name__, "/insights")


@bp.get("/")
def index():  # noqa: ANN201
    membership = current_membership()
    error = None
    try:
        start, end = insights_report.parse_range(
            request.args.get("from"), request.args.get("to"), include_today=True
        )
    except ServiceError as exc:
        error = exc.message
        start, end = insights_report.parse_range(None, None, include_today=True)
    partial_from = insights_report.partial_from()
    data = insights_report.dashboard(
        membership.workspace_id,
        start,
        end,
        connection_id=request.args.get("connection", type=db_int),
        parent_level=request.args.get("parent_level"),
        parent_id=request.args.get("parent_id"),
    )
    accounts = data.accounts
    charts = {
        a.connection.id: [
            bar_chart(
                f"Daily spend ({a.currency})",
                [(d, t.spend) for d, t in a.daily],
                fmt=lambda v: f"{v:,.2f}",
                testid=f"chart-spend-{a.connection.id}",
                partial_from=partial_from,
            ),
            bar_chart(
                "Daily clicks",
                [(d, t.clicks) for d, t in a.daily],
                testid=f"chart-clicks-{a.connection.id}",
                partial_from=partial_from,
            ),
            bar_chart(
                "Daily impressions",
                [(d, t.impressions) for d, t in a.daily],
                testid=f"chart-impressions-{a.connection.id}",
                partial_from=partial_from,
            ),
        ]
        for a in accounts
    }
    return render_template(
        "insights/index.html",
        accounts=accounts,
        charts=charts,
        start=start,
        end=end,
        partial=end >= partial_from,
        error=error,
        cross=data.cross,
        sole_account=data.sole_account,
        can_sync=policy.can(membership.role, Action.RUN_JOBS),
        form=ConfirmForm(),
    )


@bp.post("/sync/<int:connection_id>")
def sync_now(connection_id: int):  # noqa: ANN201
    actor = require(Action.RUN_JOBS)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form expired. Reload the page and try again.", "error")
        return redirect(url_for("platforms.connection", connection_id=connection_id), 303)
    connection = connections.get_in_workspace(actor.workspace_id, connection_id)
    if not connection.is_active:
        flash("Reconnect this account before syncing it.", "error")
    elif background.enqueue_pull_now(connection.id, actor.workspace_id) is None:
        flash("A sync of this account is already running.", "info")
    else:
        flash(
            f"Syncing {connection.account_name}: campaigns, daily metrics, diagnostics.", "success"
        )
    target = request.form.get("next") == "insights"
    if target:
        return redirect(url_for("insights.index"), 303)
    return redirect(url_for("platforms.connection", connection_id=connection.id), 303)


@bp.app_template_global("insights_sync_info")
def sync_info(connection_id: int) -> dict:
    """What the connection page's Sync block shows: sync state and the latest pull run."""
    runs = job_runs.recent(connection_id=connection_id, kind="pull", limit=1)
    membership = current_membership()
    return {
        "state": state_for(connection_id),
        "run": runs[0] if runs else None,
        "can_sync": policy.can(membership.role, Action.RUN_JOBS),
        "form": ConfirmForm(),
    }
