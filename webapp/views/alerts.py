"""Alerts: open and past incidents, the workspace's alert settings, and each person's opt-out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for

from webapp import policy
from webapp.forms import AlertOptOutForm, AlertSettingsForm
from webapp.policy import Action
from webapp.services import alerts
from webapp.services.errors import ServiceError
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("alerts", __name__, "/alerts")


def _render(settings_form=None, status=200):  # noqa: ANN001, ANN202
    membership = current_membership()
    settings = alerts.settings_of(membership.workspace_id)
    settings_form = settings_form or AlertSettingsForm(
        match_rate_threshold=settings.match_rate_threshold
    )
    return (
        render_template(
            "alerts/index.html",
            open_incidents=alerts.open_for(membership.workspace_id),
            past_incidents=alerts.past_for(membership.workspace_id),
            settings=settings,
            settings_form=settings_form,
            opt_out_form=AlertOptOutForm(opt_out=alerts.is_opted_out(membership.id)),
            can_edit=policy.can(membership.role, Action.EDIT_WORKSPACE),
            is_recipient=membership.role in alerts.RECIPIENT_ROLES,
            email_on=bool(current_app.config.get("SMTP_URL")),
        ),
        status,
    )


@bp.get("/")
def index():  # noqa: ANN201
    return _render()


@bp.post("/settings")
def save_settings():  # noqa: ANN201
    actor = require(Action.EDIT_WORKSPACE)
    form = AlertSettingsForm()
    if not form.validate_on_submit():
        return _render(settings_form=form, status=400)
    webhook = "" if form.remove_webhook.data else (form.webhook_url.data or None)
    try:
        alerts.save_settings(
            actor.workspace_id,
            actor,
            threshold=form.match_rate_threshold.data,
            webhook_url=webhook,
        )
    except ServiceError as exc:
        form.match_rate_threshold.errors = [*form.match_rate_threshold.errors, exc.message]
        return _render(settings_form=form, status=exc.status_code)
    flash("Alert settings saved.", "success")
    return redirect(url_for("alerts.index"), 303)


@bp.post("/opt-out")
def opt_out():  # noqa: ANN201
    membership = current_membership()
    form = AlertOptOutForm()
    if not form.validate_on_submit():
        return _render(status=400)
    alerts.set_opt_out(membership, bool(form.opt_out.data))
    flash(
        "You will not be e-mailed alerts." if form.opt_out.data else "You will be e-mailed alerts.",
        "success",
    )
    return redirect(url_for("alerts.index"), 303)
