"""Setup → Privacy: what SourceLoop stores, for how long, what goes to which platform, the
consent setting; and a person's data request (export or erase), for Admins and Owners."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for

from webapp import policy
from webapp.common.errors import ServiceError
from webapp.extensions import platform_registry
from webapp.forms import ConfirmForm
from webapp.intake import tracking
from webapp.policy import Action
from webapp.privacy import data_requests as privacy
from webapp.privacy import retention
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("privacy", __name__, "/setup/privacy")


@bp.get("/")
def index():  # noqa: ANN201
    membership = current_membership()
    return render_template(
        "setup/privacy.html",
        settings=tracking.settings_for(membership.workspace_id),
        platforms=list(platform_registry()),
        selectors=privacy.SELECTORS,
        can_manage=policy.can(membership.role, Action.MANAGE_PRIVACY),
        manage_reason=policy.reason(Action.MANAGE_PRIVACY),
        form=ConfirmForm(),
    )


def _selector() -> tuple[str, str]:
    kind = request.form.get("kind", "")
    if kind not in privacy.SELECTORS:
        raise privacy.InvalidSelector("Choose what identifies the person.")
    return privacy.parse_selector({kind: request.form.get("value", "")})


def _refused(message: str):  # noqa: ANN202
    flash(message, "error")
    return redirect(url_for("privacy.index"), 303)


@bp.post("/retention")
def retention_limits():  # noqa: ANN201
    actor = require(Action.MANAGE_PRIVACY)
    if not ConfirmForm().validate_on_submit():
        return _refused("The form expired. Reload the page and try again.")
    try:
        pages = int(request.form.get("pageview_days", "").strip() or "x")
        conversions = int(request.form.get("conversion_days", "").strip() or "x")
    except ValueError:
        return _refused("Enter whole numbers of days.")
    try:
        retention.set_limits(actor.workspace_id, pages, conversions, actor_id=actor.user_id)
    except ServiceError as exc:
        return _refused(exc.message)
    flash(f"Page views are kept {pages} days, conversions {conversions} days.", "success")
    return redirect(url_for("privacy.index"), 303)


@bp.post("/export")
def export():  # noqa: ANN201
    actor = require(Action.MANAGE_PRIVACY)
    if not ConfirmForm().validate_on_submit():
        return _refused("The form expired. Reload the page and try again.")
    try:
        data = privacy.export(actor.workspace_id, *_selector(), actor_id=actor.user_id)
    except ServiceError as exc:
        return _refused(exc.message)
    response = Response(json.dumps(data, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="sourceloop-export.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/erase")
def erase():  # noqa: ANN201
    actor = require(Action.MANAGE_PRIVACY)
    if not ConfirmForm().validate_on_submit():
        return _refused("The form expired. Reload the page and try again.")
    try:
        result = privacy.erase(
            actor.workspace_id,
            *_selector(),
            actor_id=actor.user_id,
            retract=bool(request.form.get("retract")),
        )
    except ServiceError as exc:
        return _refused(exc.message)
    if result.total == 0:
        flash("Nothing is held about that person (or it was erased before).", "success")
    else:
        done = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in result.counts.items() if n)
        flash(f"Erased: {done}.", "success")
    return redirect(url_for("privacy.index"), 303)
