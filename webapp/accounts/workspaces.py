"""Workspace-level changes: rename and delete."""

from __future__ import annotations

from sqlalchemy import select

from webapp import policy
from webapp.common import audit
from webapp.common.errors import Conflict, Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import Membership, User, Workspace
from webapp.policy import Action


def workspaces_of(user: User) -> list[Membership]:
    return sorted(user.memberships, key=lambda m: m.workspace.name.lower())


def rename(workspace_id: int, actor: Membership, name: str) -> Workspace:
    if not policy.can(actor.role, Action.EDIT_WORKSPACE):
        raise Forbidden(policy.reason(Action.EDIT_WORKSPACE))
    name = name.strip()
    if not name:
        raise ServiceError("Workspace name is required.")
    clash = db.session.scalar(
        select(Workspace).where(Workspace.name == name, Workspace.id != workspace_id)
    )
    if clash:
        raise Conflict("Another workspace already has that name.")
    workspace = db.session.get(Workspace, workspace_id)
    old = workspace.name
    workspace.name = name
    audit.record(
        "workspace.renamed", workspace_id=workspace_id, actor_id=actor.user_id, target=name, old=old
    )
    db.session.commit()
    return workspace


def delete(workspace_id: int, actor: Membership, confirm_name: str) -> None:
    if not policy.can(actor.role, Action.DELETE_WORKSPACE):
        raise Forbidden(policy.reason(Action.DELETE_WORKSPACE))
    workspace = db.session.get(Workspace, workspace_id)
    if confirm_name.strip() != workspace.name:
        raise ServiceError("Type the workspace name exactly to confirm deletion.")
    audit.record(
        "workspace.deleted",
        workspace_id=None,
        actor_id=actor.user_id,
        target=workspace.name,
        workspace_id_deleted=workspace_id,
    )
    db.session.delete(workspace)
    db.session.commit()
