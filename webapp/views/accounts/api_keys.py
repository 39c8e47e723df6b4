"""Setup → API keys: create (the key is shown once), list, revoke. Members see the list only."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from webapp import policy
from webapp.accounts import api_keys
from webapp.common.errors import ServiceError
from webapp.forms import ConfirmForm
from webapp.policy import Action
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("apikeys", __name__, "/setup/api-keys")


def _render(new_key: str | None = None, status: int = 200):  # noqa: ANN202
    membership = current_membership()
    return (
        render_template(
            "setup/api_keys.html",
            keys=api_keys.keys(membership.workspace_id),
            new_key=new_key,
            can_manage=policy.can(membership.role, Action.MANAGE_API_KEYS),
            manage_reason=policy.reason(Action.MANAGE_API_KEYS),
            form=ConfirmForm(),
        ),
        status,
    )


@bp.get("/")
def index():  # noqa: ANN201
    return _render()


@bp.post("/")
def create():  # noqa: ANN201
    actor = require(Action.MANAGE_API_KEYS)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Reload the page and try again.", "error")
        return redirect(url_for("apikeys.index"), 303)
    try:
        _, secret = api_keys.create(actor.workspace_id, request.form.get("name", ""), actor)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _render(status=exc.status_code)
    flash("API key created. Copy it now: it is shown only once.", "success")
    return _render(new_key=secret)


@bp.post("/<int:key_id>/revoke")
def revoke(key_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_API_KEYS)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Reload the page and try again.", "error")
        return redirect(url_for("apikeys.index"), 303)
    row = api_keys.revoke(actor.workspace_id, actor, key_id)
    flash(f"API key {row.name} revoked: requests with it now get 401.", "success")
    return redirect(url_for("apikeys.index"), 303)
