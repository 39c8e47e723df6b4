"""Setup → a connection's Configure (goal mapping, values, switches) and Troubleshoot (runs,
per-conversion states, Push now / Retry failed with live progress) pages."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta
from functools import partial

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

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
from webapp.push import states as push_states
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


def _filters(args) -> push_states.Filters:  # noqa: ANN001
    return push_states.parse_filters(
        state=args.get("state"),
        reason=args.get("reason"),
        search=args.get("q"),
        since=args.get("since"),
        until=args.get("until"),
    )


@bp.get("/troubleshoot")
def troubleshoot(connection_id: int):  # noqa: ANN201
    membership = current_membership()
    conn = connections.get_in_workspace(membership.workspace_id, connection_id)
    error = None
    scope = push_states.scope_for(conn)  # the connection's settings, read once for the page
    try:
        filters = _filters(request.args)
        page = push_states.page(conn, filters, cursor=request.args.get("cursor"), scope=scope)
    except push_states.BadQuery as exc:
        error = str(exc)
        filters, page = push_states.Filters(), push_states.Page()
    reasons = push_states.count_reasons(conn.workspace_id, connection_id=conn.id, scope=scope)
    counts = {st: sum(by_reason.values()) for st, by_reason in reasons.items()}
    platform = push_config.platform_for(conn)
    return render_template(
        "push/troubleshoot.html",
        match=push_states.match_rate(conn.workspace_id, connection_id=conn.id),
        coverage=push_states.click_id_coverage(conn, scope=scope),
        connection=conn,
        platform=platform,
        config=scope.config,
        mappings=list(scope.mappings),
        runs=push_status.recent_runs(conn.id),
        page=page,
        counts=counts,
        reasons=reasons,
        reason_labels=push_states.reason_labels(),
        realtime=push_realtime.status(push_config.platform_for(conn), conn.id),
        filters=filters,
        args={k: v for k, v in request.args.items() if k not in ("cursor", "run") and v},
        error=error,
        page_size=push_states.PAGE_SIZE,
        timedelta_day=timedelta(days=1),
        states=push_states.STATE_LABELS,
        watch_run=_unfinished_run(
            membership.workspace_id, conn.id, request.args.get("run", type=db_int)
        ),
        can_run=policy.can(membership.role, Action.RUN_JOBS),
        last_dry_run=next(
            iter(job_runs.recent(connection_id=conn.id, kind="dry_run", limit=1)), None
        ),
        form=ConfirmForm(),
    ), (400 if error else 200)


CSV_COLUMNS = (
    "conversion_id", "external_id", "event", "occurred_at", "value", "currency", "goal",
    "state", "reason", "reason_text", "fix", "until", "error_code", "attempts",
    "last_attempt_at", "sent_at",
)  # fmt: skip


@bp.get("/troubleshoot.csv")
def troubleshoot_csv(connection_id: int):  # noqa: ANN201
    """The filtered rows as CSV, streamed a keyset chunk at a time (constant memory)."""
    membership = current_membership()
    conn = connections.get_in_workspace(membership.workspace_id, connection_id)
    try:
        filters = _filters(request.args)
    except push_states.BadQuery as exc:
        abort(400, str(exc))

    def lines():  # noqa: ANN202
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for row in push_states.iter_rows(conn, filters):
            writer.writerow(
                [
                    row.conversion_id, row.external_id or "", row.event,
                    row.occurred_at.isoformat(), "" if row.value is None else row.value,
                    row.currency or "", row.goal_name, row.state, row.reason,
                    _csv_safe(row.text), _csv_safe(row.fix),
                    row.until.isoformat() if row.until else "", row.error_code or "",
                    row.attempts,
                    row.last_attempt_at.isoformat() if row.last_attempt_at else "",
                    row.sent_at.isoformat() if row.sent_at else "",
                ]
            )  # fmt: skip
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    name = f"troubleshoot-{conn.id}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_safe(text: str) -> str:
    """No spreadsheet formula from a cell (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


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
