"""Setup → Tracking: the snippet, install status, allowed domains, conversion events, Stripe."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from webapp import policy
from webapp.common.errors import ServiceError
from webapp.extensions import platform_registry
from webapp.forms import ConfirmForm
from webapp.intake import click_ids, tracking
from webapp.policy import Action
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("tracking", __name__, "/setup/tracking")


def _public_url() -> str:
    return current_app.config["PUBLIC_URL"]


@bp.get("/")
def index():  # noqa: ANN201
    membership = current_membership()
    settings = tracking.settings_for(membership.workspace_id)
    return render_template(
        "setup/tracking.html",
        settings=settings,
        click_params=click_ids.catalog().names,
        url_suffixes=[
            (p.display_name, p.final_url_suffix) for p in platform_registry() if p.final_url_suffix
        ],
        events=tracking.events(membership.workspace_id),
        public_url=_public_url(),
        stripe_url=f"{_public_url()}{url_for('webhooks.stripe', key=settings.public_key)}",
        can_manage=policy.can(membership.role, Action.MANAGE_TRACKING),
        manage_reason=policy.reason(Action.MANAGE_TRACKING),
        form=ConfirmForm(),
    )


def _apply(change) -> object:  # noqa: ANN001
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form expired. Reload the page and try again.", "error")
        return redirect(url_for("tracking.index"), 303)
    try:
        message = change()
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(message, "success")
    return redirect(url_for("tracking.index"), 303)


@bp.post("/domains")
def domains():  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        saved = tracking.set_allowed_domains(
            actor.workspace_id, actor, request.form.get("domains", "")
        )
        return "Allowed domains saved: " + (", ".join(saved) or "any domain") + "."

    return _apply(change)


@bp.post("/consent")
def consent():  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        required = bool(request.form.get("required"))
        tracking.set_require_consent(actor.workspace_id, actor, required)
        if required:
            return (
                "Consent is now required before storing. Paste the updated snippet, and call "
                "sourceloop('consent', ...) from your consent banner (or use an IAB TCF CMP)."
            )
        return "Consent is no longer required before storing."

    return _apply(change)


@bp.post("/forms")
def forms():  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        enabled = bool(request.form.get("forms"))
        tracking.set_auto_track_forms(actor.workspace_id, actor, enabled)
        return (
            "Every form submission is recorded."
            if enabled
            else "Form submissions are recorded only when your page says so."
        )

    return _apply(change)


@bp.post("/rotate-key")
def rotate_key():  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        tracking.rotate_public_key(actor.workspace_id, actor)
        return "New pixel key created: update the snippet on your site."

    return _apply(change)


@bp.post("/events")
def add_event():  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        form = request.form
        event = tracking.add_event(
            actor.workspace_id, actor, form.get("name", ""), form.get("label", "")
        )
        return f"Event {event.name} added."

    return _apply(change)


@bp.post("/events/<int:event_id>/remove")
def remove_event(event_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        tracking.remove_event(actor.workspace_id, actor, event_id)
        return "Event removed. Conversions already recorded keep it."

    return _apply(change)


@bp.post("/phone-region")
def phone_region():  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        code = tracking.set_phone_region(actor.workspace_id, actor, request.form.get("region", ""))
        if code is None:
            return "Phone numbers without a country code are now left out."
        return f"Phone numbers without a country code are read as {code} numbers."

    return _apply(change)


@bp.post("/stripe")
def stripe_secret():  # noqa: ANN201
    actor = require(Action.MANAGE_TRACKING)

    def change() -> str:
        secret = request.form.get("secret", "") if not request.form.get("clear") else ""
        tracking.set_stripe_secret(actor.workspace_id, actor, secret)
        return "Stripe signing secret saved." if secret else "Stripe webhook turned off."

    return _apply(change)
