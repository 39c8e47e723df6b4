"""Setup → Members: invite people, change roles, remove members."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from webapp import policy
from webapp.accounts import members
from webapp.common.errors import ServiceError
from webapp.forms import ConfirmForm, InviteForm, RoleForm
from webapp.policy import Action
from webapp.views.scope import current_membership, require, workspace_blueprint

bp = workspace_blueprint("members", __name__, "/setup/members")


def _render(invite_form: InviteForm | None = None, invite_link: str | None = None, status=200):  # noqa: ANN001, ANN202
    membership = current_membership()
    invite_form = invite_form or InviteForm()
    invite_form.role.choices = [
        (role.value, role.label) for role in policy.assignable_roles(membership.role)
    ] or [("member", "Member")]
    if not invite_form.is_submitted():
        invite_form.role.data = "member"
    return (
        render_template(
            "setup/members.html",
            members=members.members(membership.workspace_id),
            invites=members.pending_invites(membership.workspace_id),
            invite_form=invite_form,
            invite_link=invite_link,
            role_form=RoleForm(),
            confirm_form=ConfirmForm(),
            can_manage=policy.can(membership.role, Action.MANAGE_MEMBERS),
            manage_reason=policy.reason(Action.MANAGE_MEMBERS),
            can_manage_member=lambda target: policy.can_manage_member(membership.role, target),
            assignable=policy.assignable_roles(membership.role),
        ),
        status,
    )


@bp.get("/")
def index():  # noqa: ANN201
    return _render()


@bp.post("/invite")
def invite():  # noqa: ANN201
    actor = require(Action.MANAGE_MEMBERS)
    form = InviteForm()
    form.role.choices = [(r.value, r.label) for r in policy.assignable_roles(actor.role)]
    if not form.validate_on_submit():
        return _render(form, status=400)
    try:
        _, token = members.create_invite(actor.workspace_id, actor, form.email.data, form.role.data)
    except ServiceError as exc:
        form.email.errors.append(exc.message)
        return _render(form, status=exc.status_code)
    link = url_for("auth.accept_invite", token=token, _external=True)
    flash(
        f"Invite created for {form.email.data}. Copy the link now: it is shown only once.",
        "success",
    )
    return _render(invite_link=link)


@bp.post("/<int:membership_id>/role")
def change_role(membership_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_MEMBERS)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose a valid role.", "error")
        return redirect(url_for("members.index")), 303
    target = members.change_role(actor.workspace_id, actor, membership_id, form.role.data)
    flash(f"{target.user.email} is now {target.role_enum.label}.", "success")
    return redirect(url_for("members.index"), 303)


@bp.post("/<int:membership_id>/remove")
def remove(membership_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_MEMBERS)
    members.remove_member(actor.workspace_id, actor, membership_id)
    flash("Member removed.", "success")
    return redirect(url_for("members.index"), 303)


@bp.post("/invites/<int:invite_id>/revoke")
def revoke_invite(invite_id: int):  # noqa: ANN201
    actor = require(Action.MANAGE_MEMBERS)
    members.revoke_invite(actor.workspace_id, actor, invite_id)
    flash("Invite revoked.", "success")
    return redirect(url_for("members.index"), 303)
