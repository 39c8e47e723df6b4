"""Workspace-level changes: rename, default currency and delete."""

from __future__ import annotations

from sqlalchemy import select

from webapp import policy
from webapp.common import audit
from webapp.common.errors import Conflict, Forbidden, ServiceError
from webapp.extensions import db
from webapp.intake import currencies
from webapp.models import Connection, Membership, User, Workspace
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


def default_currency(workspace_id: int) -> str | None:
    """The workspace's currency: its setting, else its first connected account's currency."""
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is not None and workspace.default_currency:
        return workspace.default_currency
    return db.session.scalar(
        select(Connection.currency)
        .where(Connection.workspace_id == workspace_id, Connection.currency.is_not(None))
        .order_by(Connection.connected_at, Connection.id)
        .limit(1)
    )


def set_default_currency(workspace_id: int, actor: Membership, code: str) -> None:
    """``code`` "" goes back to following the first connected account."""
    if not policy.can(actor.role, Action.EDIT_WORKSPACE):
        raise Forbidden(policy.reason(Action.EDIT_WORKSPACE))
    code = code.strip().upper()
    if code and not currencies.is_currency(code):
        raise ServiceError(f"{code[:8]} is not an ISO 4217 currency code (for example USD, EUR).")
    workspace = db.session.get(Workspace, workspace_id)
    workspace.default_currency = code or None
    audit.record(
        "workspace.currency_set",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target=code or "first connected account",
    )
    db.session.commit()


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
