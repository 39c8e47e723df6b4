"""Membership management: invites, role changes, removals. Every check goes through ``policy``."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select

from webapp import policy
from webapp.extensions import db
from webapp.models import Invite, Membership, User
from webapp.models.types import utcnow
from webapp.policy import Role
from webapp.services import audit
from webapp.services.accounts import create_user, normalise_email, revoke_sessions
from webapp.services.errors import Conflict, Forbidden, NotFound, ServiceError

INVITE_LIFETIME = timedelta(days=7)
_RANK = {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def membership_of(workspace_id: int, user_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )


def members(workspace_id: int) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .join(User)
            .where(Membership.workspace_id == workspace_id)
            .order_by(User.email)
        )
    )


def pending_invites(workspace_id: int) -> list[Invite]:
    invites = db.session.scalars(
        select(Invite).where(Invite.workspace_id == workspace_id).order_by(Invite.created_at.desc())
    )
    return [invite for invite in invites if invite.is_pending]


def _owner_count(workspace_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER.value)
        )
        or 0
    )


def _member_in(workspace_id: int, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.workspace_id != workspace_id:
        raise NotFound("No such member in this workspace.")
    return membership


def create_invite(
    workspace_id: int, actor: Membership, email: str, role: str
) -> tuple[Invite, str]:
    """Create an invite; returns it with the plaintext token, which is shown once and not kept."""
    email = normalise_email(email)
    try:
        new_role = Role(role)
    except ValueError as exc:
        raise ServiceError(f"Unknown role {role!r}.") from exc
    if new_role not in policy.assignable_roles(actor.role):
        raise Forbidden(f"You cannot invite someone as {new_role.label}.")
    existing = db.session.scalar(
        select(Membership)
        .join(User)
        .where(Membership.workspace_id == workspace_id, func.lower(User.email) == email)
    )
    if existing:
        raise Conflict(f"{email} is already a member of this workspace.")
    token = secrets.token_urlsafe(32)
    invite = Invite(
        workspace_id=workspace_id,
        email=email,
        role=new_role.value,
        token_hash=_hash_token(token),
        created_by_id=actor.user_id,
        expires_at=utcnow() + INVITE_LIFETIME,
    )
    db.session.add(invite)
    audit.record(
        "member.invited",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target=email,
        role=new_role.value,
    )
    db.session.commit()
    return invite, token


def find_invite(token: str) -> Invite:
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == _hash_token(token)))
    if invite is None or not invite.is_pending:
        raise NotFound("This invite link is invalid, expired, or has already been used.")
    return invite


def invite_is_for(invite: Invite, user: User) -> bool:
    """An invite names one person: whoever holds the link must be signed in as that email."""
    return user.email.strip().lower() == invite.email.strip().lower()


def accept_invite(token: str, user: User | None, *, password: str = "", name: str = "") -> User:
    """Accept as ``user`` (signed in) or create the invited account with ``password``."""
    invite = find_invite(token)
    if user is None:
        user = create_user(invite.email, password, name)
    elif not invite_is_for(invite, user):
        raise Forbidden(
            f"This invite was sent to {invite.email}, and you are signed in as {user.email}. "
            "Sign out, then open the link again to join with the invited address."
        )
    if membership_of(invite.workspace_id, user.id):
        raise Conflict("You are already a member of this workspace.")
    db.session.add(Membership(workspace_id=invite.workspace_id, user_id=user.id, role=invite.role))
    invite.accepted_at = utcnow()
    invite.accepted_by_id = user.id
    audit.record(
        "member.joined",
        workspace_id=invite.workspace_id,
        actor_id=user.id,
        target=user.email,
        role=invite.role,
    )
    db.session.commit()
    return user


def revoke_invite(workspace_id: int, actor: Membership, invite_id: int) -> None:
    invite = db.session.get(Invite, invite_id)
    if invite is None or invite.workspace_id != workspace_id or not invite.is_pending:
        raise NotFound("No such pending invite.")
    if not policy.can_change_role(actor.role, invite.role, invite.role):
        raise Forbidden("You cannot revoke an invite for this role.")
    invite.revoked_at = utcnow()
    audit.record(
        "member.invite_revoked",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target=invite.email,
    )
    db.session.commit()


def change_role(workspace_id: int, actor: Membership, membership_id: int, role: str) -> Membership:
    target = _member_in(workspace_id, membership_id)
    try:
        new_role = Role(role)
    except ValueError as exc:
        raise ServiceError(f"Unknown role {role!r}.") from exc
    if not policy.can_change_role(actor.role, target.role, new_role):
        raise Forbidden("Your role does not allow this change.")
    if target.role == Role.OWNER and new_role != Role.OWNER and _owner_count(workspace_id) <= 1:
        raise Conflict("A workspace needs at least one Owner: promote someone else first.")
    old = target.role
    target.role = new_role.value
    if _RANK[new_role] < _RANK[Role(old)]:
        revoke_sessions(target.user_id)  # a demoted member signs in again
    audit.record(
        "member.role_changed",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target=target.user.email,
        old=old,
        new=new_role.value,
    )
    db.session.commit()
    return target


def remove_member(workspace_id: int, actor: Membership, membership_id: int) -> None:
    target = _member_in(workspace_id, membership_id)
    if not policy.can_manage_member(actor.role, target.role):
        raise Forbidden("Your role does not allow removing this member.")
    if target.role == Role.OWNER and _owner_count(workspace_id) <= 1:
        raise Conflict("The last Owner cannot be removed.")
    email = target.user.email
    revoke_sessions(target.user_id)  # open tabs of a removed member stop working now
    db.session.delete(target)
    audit.record("member.removed", workspace_id=workspace_id, actor_id=actor.user_id, target=email)
    db.session.commit()
