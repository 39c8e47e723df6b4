"""Setup → Workspace: rename, delete, and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from webapp import policy
from webapp.forms import CurrencyForm, DeleteWorkspaceForm, RenameWorkspaceForm
from webapp.policy import Action
from webapp.services import audit, workspaces
from webapp.services.errors import ServiceError
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("workspace", __name__, "/setup/workspace")


def _render(rename_form=None, delete_form=None, status=200, currency_form=None):  # noqa: ANN001, ANN202
    membership = current_membership()
    rename_form = rename_form or RenameWorkspaceForm(name=membership.workspace.name)
    currency_form = currency_form or CurrencyForm(currency=membership.workspace.default_currency)
    return (
        render_template(
            "setup/workspace.html",
            rename_form=rename_form,
            currency_form=currency_form,
            currency=workspaces.default_currency(membership.workspace_id),
            delete_form=delete_form or DeleteWorkspaceForm(),
            events=audit.recent(membership.workspace_id, limit=100),
            can_edit=policy.can(membership.role, Action.EDIT_WORKSPACE),
            can_delete=policy.can(membership.role, Action.DELETE_WORKSPACE),
            delete_reason=policy.reason(Action.DELETE_WORKSPACE),
        ),
        status,
    )


@bp.get("/")
def index():  # noqa: ANN201
    return _render()


@bp.post("/rename")
def rename():  # noqa: ANN201
    actor = require(Action.EDIT_WORKSPACE)
    form = RenameWorkspaceForm()
    if not form.validate_on_submit():
        return _render(rename_form=form, status=400)
    try:
        workspaces.rename(actor.workspace_id, actor, form.name.data)
    except ServiceError as exc:
        form.name.errors.append(exc.message)
        return _render(rename_form=form, status=exc.status_code)
    flash("Workspace renamed.", "success")
    return redirect(url_for("workspace.index"), 303)


@bp.post("/currency")
def currency():  # noqa: ANN201
    actor = require(Action.EDIT_WORKSPACE)
    form = CurrencyForm()
    if not form.validate_on_submit():
        return _render(currency_form=form, status=400)
    try:
        workspaces.set_default_currency(actor.workspace_id, actor, form.currency.data or "")
    except ServiceError as exc:
        form.currency.errors = [*form.currency.errors, exc.message]
        return _render(currency_form=form, status=exc.status_code)
    flash("Default currency saved.", "success")
    return redirect(url_for("workspace.index"), 303)


@bp.post("/delete")
def delete():  # noqa: ANN201
    actor = require(Action.DELETE_WORKSPACE)
    form = DeleteWorkspaceForm()
    if not form.validate_on_submit():
        return _render(delete_form=form, status=400)
    try:
        workspaces.delete(actor.workspace_id, actor, form.confirm_name.data)
    except ServiceError as exc:
        form.confirm_name.errors.append(exc.message)
        return _render(delete_form=form, status=exc.status_code)
    flash("Workspace deleted.", "success")
    return redirect(url_for("home.index"), 303)
