"""Setup → a connection's Configure (goal mapping, values, switches) and Troubleshoot (runs,
per-conversion states, Push now / Retry failed with live progress) pages."""

from __future__ import annotations

import logging
from functools import partial

from flask import abort, flash, redirect, render_template, request, url_for

from platforms.base import human_span
from platforms.errors import PlatformError
from webapp import policy
from webapp.background import enqueue as background
from webapp.background import job_runs
from webapp.common.errors import ServiceError
from webapp.connections import lifecycle as connections
from webapp.forms import ConfirmForm
from webapp.inputs import db_int
from webapp.intake.conversions import DELIVERY_STATUS_PROVIDERS
from webapp.models import GoalMapping
from webapp.policy import Action
from webapp.push import config as push_config
from webapp.push import realtime as push_realtime
from webapp.push import send as push
from webapp.push import status as push_status
from webapp.views.scope import current_membership, require, workspace_blueprint

log = logging.getLogger(__name__)

bp = workspace_blueprint("push", __name__, "/setup/connections/<int:connection_id>/push")


@bp.record_once
def _provide_delivery_status(state) -> None:  # noqa: ANN001
    """Let GET /api/v1/conversions show this ledger's status per platform."""
    if push_status.delivery_status not in DELIVERY_STATUS_PROVIDERS:
        DELIVERY_STATUS_PROVIDERS.append(push_status.delivery_status)


@bp.route("/configure", methods=["GET", "POST"])
def configure(connection_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_PLATFORMS)
    conn = connections.get_in_workspace(actor.workspace_id, connection_id)
    form = ConfirmForm()
    events = push_config.events_for(conn.workspace_id)
    mapped = {m.event: m for m in push_config.mappings_for(conn.id)}
    events = sorted(set(events) | set(mapped))
    errors: dict[str, str] = {}
    values = request.form if request.method == "POST" else None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, "The form expired. Reload the page and try again.")
        errors = push_config.save(
            actor,
            conn,
            enabled=request.form.get("enabled") == "on",
            enhanced_conversions=request.form.get("enhanced_conversions") == "on",
            default_currency=request.form.get("default_currency", ""),
            mappings=push_config.mapping_inputs(request.form, events),
        )
        if not errors:
            if push_config.config_for(conn.id).enabled and conn.is_active:
                background.enqueue_push(conn.id)  # backfill the last 90 days now
            flash("Push settings saved.", "success")
            return redirect(url_for("push.configure", connection_id=conn.id), 303)
    goals_error = None
    try:
        goals = push_config.fetch_goals(conn.id)
    except PlatformError as exc:
        log.info("listing goals for connection %s failed: %s", conn.id, exc)
        goals_error = exc.message
        goals = push_config.stored_goals(conn.id)
    platform = push_config.platform_for(conn)
    return render_template(
        "push/configure.html",
        connection=conn,
        config=push_config.config_for(conn.id),
        events=events,
        mapped=mapped,
        goals=[g for g in goals if not g.missing],
        is_new=partial(push_config.goal_is_new, settle=platform.upload_rules.goal_settle),
        platform=platform,
        settle_words=human_span(platform.upload_rules.goal_settle),
        goals_error=goals_error,
        errors=errors,
        values=values,
        modes=[
            (GoalMapping.EVENT_VALUE, "The event's value"),
            (GoalMapping.FIXED_VALUE, "A fixed value"),
            (GoalMapping.NO_VALUE, "No value"),
        ],
        form=form,
    ), (400 if errors else 200)


@bp.get("/troubleshoot")
def troubleshoot(connection_id: int):  # noqa: ANN201
    membership = current_membership()
    conn = connections.get_in_workspace(membership.workspace_id, connection_id)
    state = request.args.get("state") or None
    event = request.args.get("event") or None
    if state is not None and state not in push_status.STATES:
        state = None
    matched, total = push_status.match_rate(conn)
    return render_template(
        "push/troubleshoot.html",
        match_figure=push_status.match_rate_figure(matched, total),
        connection=conn,
        platform=push_config.platform_for(conn),
        config=push_config.config_for(conn.id),
        mappings=push_config.mappings_for(conn.id),
        runs=push_status.recent_runs(conn.id),
        items=push_status.conversion_states(conn, state=state, event=event),
        counts=push_status.ledger_counts(conn.id),
        realtime=push_realtime.status(push_config.platform_for(conn), conn.id),
        matched=matched,
        total=total,
        state=state,
        event=event,
        states=push_status.STATE_LABELS,
        watch_run=_unfinished_run(
            membership.workspace_id, conn.id, request.args.get("run", type=db_int)
        ),
        can_run=policy.can(membership.role, Action.RUN_JOBS),
        last_dry_run=next(
            iter(job_runs.recent(connection_id=conn.id, kind="dry_run", limit=1)), None
        ),
        form=ConfirmForm(),
    )


def _unfinished_run(workspace_id: int, connection_id: int, run_id: int | None):  # noqa: ANN202
    """The run a Push now / Retry failed click started, while it still runs (page polls it)."""
    run = job_runs.get_for_workspace(workspace_id, run_id) if run_id else None
    if run is None or run.connection_id != connection_id or run.is_finished:
        return None
    return run


def _job_action(connection_id: int, retry: bool, dry_run: bool = False):  # noqa: ANN202
    actor = require(Action.RUN_JOBS)
    conn = connections.get_in_workspace(actor.workspace_id, connection_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired. Reload the page and try again.")
    try:
        if dry_run:
            run_id = push.request_dry_run(actor, conn)
            flash("Dry run started: the platform checks the waiting conversions.", "success")
        elif retry:
            count, run_id = push.retry_failed(actor, conn)
            flash(f"{count} failed conversion(s) will be sent again.", "success")
        else:
            run_id = push.push_now(actor, conn)
            flash("Push started.", "success")
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("push.troubleshoot", connection_id=conn.id), 303)
    return redirect(url_for("push.troubleshoot", connection_id=conn.id, run=run_id), 303)


@bp.post("/push-now")
def push_now(connection_id: int):  # noqa: ANN201
    return _job_action(connection_id, retry=False)


@bp.post("/retry-failed")
def retry_failed(connection_id: int):  # noqa: ANN201
    return _job_action(connection_id, retry=True)


@bp.post("/dry-run")
def dry_run(connection_id: int):  # noqa: ANN201
    return _job_action(connection_id, retry=False, dry_run=True)
