"""Setup → Ad Platforms: cards, the connect flow's account picker, and each connection's page."""

from __future__ import annotations

import logging
from itertools import groupby

from flask import abort, flash, redirect, render_template, request, url_for

from platforms.base import AdAccount, Platform
from platforms.errors import PlatformError
from webapp import policy
from webapp.background import enqueue as background
from webapp.background import job_runs
from webapp.common.errors import ServiceError
from webapp.connections import credentials, health, oauth
from webapp.connections import lifecycle as connections
from webapp.extensions import platform_registry
from webapp.forms import ConfirmForm
from webapp.inputs import db_int
from webapp.policy import Action
from webapp.push import config as push_config
from webapp.push import realtime_settings
from webapp.push import states as push_states
from webapp.views.scope import current_membership, require, workspace_blueprint

log = logging.getLogger(__name__)

bp = workspace_blueprint("platforms", __name__, "/setup")


def _platform_or_404(key: str) -> Platform:
    platform = platform_registry().get(key)
    if platform is None:
        abort(404)
    return platform


@bp.get("/")
def setup_index():  # noqa: ANN201
    return redirect(url_for("platforms.index"))


@bp.get("/platforms")
def index():  # noqa: ANN201
    membership = current_membership()
    by_platform: dict[str, list] = {}
    for connection in connections.for_workspace(membership.workspace_id):
        by_platform.setdefault(connection.platform_key, []).append(connection)
    healths = health.for_workspace(membership.workspace_id)
    card_states = {
        key: health.worst(healths[c.id] for c in conns) for key, conns in by_platform.items()
    }
    return render_template(
        "setup/platforms.html",
        platforms=list(platform_registry()),
        connections=by_platform,
        healths=healths,
        card_states=card_states,
        health_labels=health.LABELS,
        can_manage=policy.can(membership.role, Action.MANAGE_PLATFORMS),
        manage_reason=policy.reason(Action.MANAGE_PLATFORMS),
        form=ConfirmForm(),
    )


@bp.post("/platforms/<key>/connect")
def connect(key: str):  # noqa: ANN201
    actor = require(Action.MANAGE_PLATFORMS)
    platform = _platform_or_404(key)
    configured, why_not = platform.is_configured()
    if not configured:
        flash(f"{platform.display_name} is not configured on this server: {why_not}", "error")
        return redirect(url_for("platforms.index"), 303)
    reconnect_id = request.form.get("reconnect", type=db_int)
    if reconnect_id is not None:
        connections.get_in_workspace(actor.workspace_id, reconnect_id)
    credentials.discard_unused(actor.workspace_id)
    url = oauth.begin(
        platform,
        workspace_id=actor.workspace_id,
        user_id=actor.user_id,
        reconnect_connection_id=reconnect_id,
    )
    return redirect(url, 302)


def _list_accounts(platform: Platform, credential_id: int) -> list[AdAccount]:
    session = credentials.session_for_credential(credential_id)
    return platform.list_accounts(session)


def _group_by_manager(accounts: list[AdAccount]) -> list[tuple[str, list[AdAccount]]]:
    managers = {a.ref.account_id: a.name for a in accounts if a.is_manager}

    def group_key(account: AdAccount) -> str:
        if account.is_manager:
            return account.name
        return account.manager_name or managers.get(account.manager_id or "", "") or "Direct"

    ordered = sorted(
        accounts, key=lambda a: (group_key(a).lower(), not a.is_manager, a.name.lower())
    )
    return [(name, list(items)) for name, items in groupby(ordered, key=group_key)]


@bp.route("/platforms/<key>/accounts", methods=["GET", "POST"])
def accounts(key: str):  # noqa: ANN201
    actor = require(Action.MANAGE_PLATFORMS)
    platform = _platform_or_404(key)
    grant_id = request.values.get("grant", type=db_int)
    if grant_id is None:
        abort(400, "The sign-in reference is missing. Click Connect to start again.")
    credential = connections.pending_credential(actor.workspace_id, actor.user_id, grant_id)
    if credential.platform_key != key:
        abort(404)
    reconnect_id = request.values.get("reconnect", type=db_int)
    reconnecting = (
        connections.get_in_workspace(actor.workspace_id, reconnect_id)
        if reconnect_id is not None
        else None
    )
    try:
        listed = _list_accounts(platform, credential.id)
    except PlatformError as exc:
        log.warning("listing %s accounts failed: %s", key, exc)
        flash(f"{platform.display_name} could not list your accounts: {exc.message}", "error")
        return redirect(url_for("platforms.index"), 303)

    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, "The form expired. Reload the page and try again.")
        if reconnecting is not None:
            reachable = {a.ref.account_id for a in listed}
            try:
                connections.reconnect(actor, reconnecting, credential, reachable)
            except ServiceError as exc:
                flash(exc.message, "error")
                return redirect(url_for("platforms.index"), 303)
            flash(f"{reconnecting.account_name} is reconnected; syncing resumes.", "success")
            return redirect(url_for("platforms.index"), 303)
        account_id = request.form.get("account_id", "")
        chosen = next((a for a in listed if a.ref.account_id == account_id), None)
        if chosen is None:
            abort(400, "That account is not one your sign-in can reach.")
        try:
            connection = connections.connect_account(actor, credential, chosen)
        except ServiceError as exc:
            flash(exc.message, "error")
            return redirect(url_for("platforms.accounts", key=key, grant=credential.id), 303)
        flash(
            f"Connected {connection.account_name} (Account ID {connection.account_id}).",
            "success",
        )
        connected = connections.connected_account_ids(actor.workspace_id, key)
        if any(
            a.eligible and a.ref.account_id not in connected for a in listed
        ):  # agencies connect many accounts from one sign-in
            return redirect(url_for("platforms.accounts", key=key, grant=credential.id), 303)
        return redirect(url_for("platforms.index"), 303)

    already = connections.connected_account_ids(actor.workspace_id, key)
    eligible = [a for a in listed if a.eligible and a.ref.account_id not in already]
    return render_template(
        "setup/accounts.html",
        platform=platform,
        groups=_group_by_manager(listed),
        already=already,
        eligible_count=len(eligible),
        credential=credential,
        reconnecting=reconnecting,
        form=form,
    )


def _render_connection(conn, membership, *, realtime_errors=None, realtime_values=None):  # noqa: ANN001, ANN202
    platform = platform_registry().get(conn.platform_key)
    spec = realtime_settings.spec_for(platform)
    realtime = None
    if spec is not None:
        config = realtime_settings.config_for(conn.id)
        realtime = {
            "spec": spec,
            "config": config,
            "events": sorted(
                set(push_config.events_for(conn.workspace_id)) | set(config.events or [])
            ),
            "saved_secrets": realtime_settings.saved_secret_names(config),
            "overlap": realtime_settings.overlapping_events(conn.id, config.events or []),
            "errors": realtime_errors or {},
            "submitted": realtime_values,
        }
    watched = request.args.get("run", type=db_int)
    return render_template(
        "setup/connection.html",
        connection=conn,
        health=health.check(conn),
        platform=platform,
        realtime=realtime,
        runs=job_runs.recent(connection_id=conn.id, limit=20),
        state_counts=push_states.count_states(conn.workspace_id, connection_id=conn.id),
        match=push_states.match_rate(conn.workspace_id, connection_id=conn.id),
        state_labels=push_states.STATE_LABELS,
        # The run a button started: its outcome is shown once it has finished, and until then
        # the page says queued / running and polls (never "succeeded" while still queued).
        watch_run=_run_of(conn, watched) or _switch_in_progress(conn),
        can_manage=policy.can(membership.role, Action.MANAGE_PLATFORMS),
        manage_reason=policy.reason(Action.MANAGE_PLATFORMS),
        form=ConfirmForm(),
    ), (400 if realtime_errors else 200)


@bp.get("/connections/<int:connection_id>")
def connection(connection_id: int):  # noqa: ANN201
    membership = current_membership()
    conn = connections.get_in_workspace(membership.workspace_id, connection_id)
    return _render_connection(conn, membership)


@bp.post("/connections/<int:connection_id>/realtime")
def realtime(connection_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_PLATFORMS)
    conn = connections.get_in_workspace(actor.workspace_id, connection_id)
    spec = realtime_settings.spec_for(platform_registry().get(conn.platform_key))
    if spec is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired. Reload the page and try again.")
    form = realtime_settings.RealtimeInput(
        enabled=request.form.get("realtime_enabled") == "on",
        events=tuple(e[:64] for e in request.form.getlist("realtime_events")[:200]),
        browser_tag=request.form.get("realtime_browser_tag") == "on",
        values={f.name: request.form.get(f"realtime_{f.name}", "")[:4096] for f in spec.fields},
    )
    errors = realtime_settings.save(actor, conn, form)
    if errors:
        return _render_connection(conn, actor, realtime_errors=errors, realtime_values=form)
    if form.enabled and conn.is_active:
        background.enqueue_realtime(conn.id, conn.workspace_id)
    flash(f"{spec.title}: settings saved.", "success")
    return redirect(url_for("platforms.connection", connection_id=conn.id) + "#realtime", 303)


def _run_of(conn, run_id: int | None):  # noqa: ANN001, ANN202
    run = job_runs.get_for_workspace(conn.workspace_id, run_id) if run_id else None
    return run if run is not None and run.connection_id == conn.id else None


def _switch_in_progress(conn):  # noqa: ANN001, ANN202
    latest = job_runs.recent(connection_id=conn.id, kind="set_auto_tagging", limit=1)
    return latest[0] if latest and not latest[0].is_finished else None


@bp.post("/connections/<int:connection_id>/auto-tagging")
def enable_auto_tagging(connection_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_PLATFORMS)
    conn = connections.get_in_workspace(actor.workspace_id, connection_id)
    platform = platform_registry().get(conn.platform_key)
    if platform is None or not platform.capabilities.auto_tagging:
        abort(400, "This platform's auto-tagging cannot be changed from SourceLoop.")
    run_id = connections.request_auto_tagging(actor, conn)
    return redirect(url_for("platforms.connection", connection_id=conn.id, run=run_id), 303)


@bp.post("/connections/<int:connection_id>/disconnect")
def disconnect(connection_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_PLATFORMS)
    conn = connections.get_in_workspace(actor.workspace_id, connection_id)
    connections.disconnect(actor, conn)
    flash(f"Disconnected {conn.account_name}. Its tokens are deleted; history is kept.", "success")
    return redirect(url_for("platforms.index"), 303)


@bp.post("/connections/<int:connection_id>/reset")
def reset(connection_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_PLATFORMS)
    conn = connections.get_in_workspace(actor.workspace_id, connection_id)
    name = conn.account_name
    connections.reset(actor, conn)
    flash(f"Reset {name}: the connection and its synced data are deleted.", "success")
    return redirect(url_for("platforms.index"), 303)
