"""Workspace API keys: created once (the caller shows the key, we keep its SHA-256), revoked."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update

from webapp import policy
from webapp.extensions import db
from webapp.models import ApiKey, Membership, Workspace
from webapp.models.types import utcnow
from webapp.policy import Action
from webapp.services import audit
from webapp.services.errors import Forbidden, NotFound, ServiceError

KEY_PREFIX = "sl_live_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keys(workspace_id: int) -> list[ApiKey]:
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.workspace_id == workspace_id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )


def create(workspace_id: int, name: str, actor: Membership | None = None) -> tuple[ApiKey, str]:
    """→ (row, the key in clear). ``actor`` None: the operator's CLI."""
    if actor is not None and not policy.can(actor.role, Action.MANAGE_API_KEYS):
        raise Forbidden(policy.reason(Action.MANAGE_API_KEYS))
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ServiceError("Give the key a name of at most 120 characters (for example CRM sync).")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=secret[: len(KEY_PREFIX) + 4],
        key_hash=_hash(secret),
        created_by_id=actor.user_id if actor else None,
    )
    db.session.add(row)
    audit.record(
        "api_key.created",
        workspace_id=workspace_id,
        actor_id=actor.user_id if actor else None,
        target=name,
    )
    db.session.commit()
    return row, secret


def create_for_workspace_name(workspace_name: str, name: str) -> str:
    workspace = db.session.scalar(select(Workspace).where(Workspace.name == workspace_name))
    if workspace is None:
        raise NotFound(f"No workspace named {workspace_name!r}.")
    return create(workspace.id, name)[1]


def revoke(workspace_id: int, actor: Membership, key_id: int) -> ApiKey:
    if not policy.can(actor.role, Action.MANAGE_API_KEYS):
        raise Forbidden(policy.reason(Action.MANAGE_API_KEYS))
    row = db.session.get(ApiKey, key_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("That API key does not exist.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            "api_key.revoked", workspace_id=workspace_id, actor_id=actor.user_id, target=row.name
        )
        db.session.commit()
    return row


def authenticate(presented: str) -> int | None:
    """The workspace id of an active key, or None. Marks the key used."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    row = db.session.execute(
        select(ApiKey.id, ApiKey.workspace_id).where(
            ApiKey.key_hash == _hash(presented), ApiKey.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    db.session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=utcnow()))
    db.session.commit()
    return row.workspace_id
