"""Connections between a workspace and one ad account of a platform: create, reconnect,
disconnect, reset. Each function owns its transaction and writes the audit log."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from platforms.base import AdAccount
from webapp.background import enqueue as background
from webapp.background import job_runs
from webapp.common import audit
from webapp.common.errors import Conflict, NotFound, ServiceError
from webapp.extensions import db
from webapp.models import Connection, Credential, Membership, RealtimeConfig, RealtimeDelivery
from webapp.models.insights import AdEntity, GoalDiagnosticsDaily, InsightDaily, InsightSyncState
from webapp.models.push import (
    AdjustmentDelivery,
    ConversionDelivery,
    DeliveryEvent,
    PlatformGoal,
    PushDecision,
    PushRun,
)
from webapp.models.types import utcnow

# Models holding data synced for one connection (``connection_id`` column), cleared by Reset in
# this order (adjustment deliveries before the deliveries they point at).
SYNCED_DATA_MODELS: tuple[type, ...] = (
    DeliveryEvent,
    AdEntity,
    GoalDiagnosticsDaily,
    InsightDaily,
    InsightSyncState,
    AdjustmentDelivery,
    ConversionDelivery,
    PushDecision,
    PushRun,
    PlatformGoal,
    RealtimeDelivery,
    RealtimeConfig,
)


def get_in_workspace(workspace_id: int, connection_id: int) -> Connection:
    connection = db.session.get(Connection, connection_id)
    if connection is None or connection.workspace_id != workspace_id:
        raise NotFound("No such connection in this workspace.")
    return connection


def connection_in_workspace(workspace_id: int, connection_id: int) -> bool:
    return (
        db.session.scalar(
            select(Connection.id).where(
                Connection.id == connection_id, Connection.workspace_id == workspace_id
            )
        )
        is not None
    )


def for_workspace(workspace_id: int) -> list[Connection]:
    return list(
        db.session.scalars(
            select(Connection)
            .where(Connection.workspace_id == workspace_id)
            .order_by(Connection.connected_at, Connection.id)
        )
    )


def active_connection_ids(platform_keys: list[str] | None = None) -> list[int]:
    query = select(Connection.id).where(Connection.status == Connection.ACTIVE)
    if platform_keys is not None:
        query = query.where(Connection.platform_key.in_(platform_keys))
    return list(db.session.scalars(query.order_by(Connection.id)))


def pending_credential(workspace_id: int, user_id: int, credential_id: int) -> Credential:
    credential = db.session.get(Credential, credential_id)
    if (
        credential is None
        or credential.workspace_id != workspace_id
        or credential.created_by_id != user_id
        or credential.status == Credential.REVOKED
    ):
        raise NotFound("This sign-in has expired or belongs to someone else. Start again.")
    return credential


def connected_account_ids(workspace_id: int, platform_key: str) -> set[str]:
    return set(
        db.session.scalars(
            select(Connection.account_id).where(
                Connection.workspace_id == workspace_id,
                Connection.platform_key == platform_key,
                Connection.status != Connection.DISCONNECTED,
            )
        )
    )


def connect_account(actor: Membership, credential: Credential, account: AdAccount) -> Connection:
    """Create the connection for ``account`` (already checked as listed for this grant)."""
    if not account.eligible:
        raise ServiceError(f"{account.name} cannot be connected: {account.ineligible_reason}")
    existing = db.session.scalar(
        select(Connection).where(
            Connection.workspace_id == actor.workspace_id,
            Connection.platform_key == credential.platform_key,
            Connection.account_id == account.ref.account_id,
        )
    )
    if existing is not None and existing.status != Connection.DISCONNECTED:
        raise Conflict(
            f"{account.name} (Account ID {account.ref.account_id}) is already connected to this "
            "workspace."
        )
    connection = existing or Connection(
        workspace_id=actor.workspace_id,
        platform_key=credential.platform_key,
        account_id=account.ref.account_id,
    )
    connection.customer_id = account.ref.customer_id
    connection.account_name = account.name
    connection.account_number = account.number
    connection.currency = account.currency
    connection.time_zone = account.time_zone
    connection.manager_name = account.manager_name
    connection.status = Connection.ACTIVE
    connection.status_reason = None
    connection.credential_id = credential.id
    connection.connected_by_id = actor.user_id
    connection.connected_at = utcnow()
    connection.disconnected_at = None
    credential.status = Credential.ACTIVE
    db.session.add(connection)
    db.session.flush()
    audit.record(
        "connection.created",
        workspace_id=actor.workspace_id,
        actor_id=actor.user_id,
        target=connection.audit_target,
        account_name=account.name,
        reconnected=existing is not None,
    )
    db.session.commit()
    background.on_connected(connection.id)
    return connection


def reconnect(
    actor: Membership,
    connection: Connection,
    credential: Credential,
    reachable_account_ids: set[str],
) -> Connection:
    """Attach a fresh grant to a connection whose grant was revoked, or that was disconnected;
    its history is kept."""
    if connection.account_id not in reachable_account_ids:
        raise ServiceError(
            f"The account you signed in with cannot reach {connection.account_name} "
            f"(Account ID {connection.account_id}). Sign in with a user who has access to it."
        )
    old_credential = connection.credential
    connection.credential_id = credential.id
    connection.status = Connection.ACTIVE
    connection.status_reason = None
    connection.disconnected_at = None
    credential.status = Credential.ACTIVE
    # Other connections that shared the dead grant are revived by the same sign-in when the new
    # grant reaches them too.
    if old_credential is not None and old_credential.id != credential.id:
        for sibling in old_credential.connections:
            if (
                sibling.status == Connection.RECONNECT_NEEDED
                and sibling.account_id in reachable_account_ids
            ):
                sibling.credential_id = credential.id
                sibling.status = Connection.ACTIVE
                sibling.status_reason = None
    audit.record(
        "connection.reconnected",
        workspace_id=actor.workspace_id,
        actor_id=actor.user_id,
        target=connection.audit_target,
    )
    db.session.commit()
    background.on_connected(connection.id)
    return connection


def _drop_credential_if_unused(credential_id: int | None) -> None:
    if credential_id is None:
        return
    credential = db.session.get(Credential, credential_id)
    if credential is not None and not any(
        c.credential_id == credential_id for c in credential.connections
    ):
        db.session.delete(credential)


def disconnect(actor: Membership, connection: Connection) -> None:
    """Delete the tokens (when no other connection shares them) and stop syncing; keep history."""
    credential_id = connection.credential_id
    connection.credential_id = None
    connection.status = Connection.DISCONNECTED
    connection.disconnected_at = utcnow()
    # Its queued and running jobs stop, and say so (not "running 25%" forever).
    job_runs.cancel_for_connection(connection.id)
    db.session.flush()
    _drop_credential_if_unused(credential_id)
    # A real-time path's secret settings are tokens too: deleted, and the path switched off.
    db.session.execute(
        update(RealtimeConfig)
        .where(RealtimeConfig.connection_id == connection.id)
        .values(secrets=None, enabled=False, browser_tag=False)
    )
    audit.record(
        "connection.disconnected",
        workspace_id=actor.workspace_id,
        actor_id=actor.user_id,
        target=connection.audit_target,
    )
    db.session.commit()


def reset(actor: Membership, connection: Connection) -> None:
    """Disconnect and delete everything synced for the connection."""
    if connection.status != Connection.DISCONNECTED:
        connection.credential_id, credential_id = None, connection.credential_id
        db.session.flush()
        _drop_credential_if_unused(credential_id)
    for model in SYNCED_DATA_MODELS:
        db.session.execute(delete(model).where(model.connection_id == connection.id))
    target = connection.audit_target
    db.session.delete(connection)
    audit.record(
        "connection.reset", workspace_id=actor.workspace_id, actor_id=actor.user_id, target=target
    )
    db.session.commit()


def record_auto_tagging(connection_id: int, enabled: bool | None) -> None:
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        return
    connection.auto_tagging = enabled
    connection.auto_tagging_checked_at = utcnow()
    db.session.commit()


def flag_reconnect_needed(connection: Connection, reason: str) -> None:
    """Mark an active connection as needing a person to sign in again (caller commits)."""
    if connection.status != Connection.ACTIVE:
        return
    connection.status = Connection.RECONNECT_NEEDED
    connection.status_reason = reason[:1000]
    audit.record(
        "connection.reconnect_needed",
        workspace_id=connection.workspace_id,
        actor_id=None,
        target=connection.audit_target,
        reason=reason[:200],
    )


def request_auto_tagging(actor: Membership, connection: Connection) -> int:
    """Ask the platform (in a job) to switch auto-tagging on; returns the run id to watch."""
    if connection.status != Connection.ACTIVE:
        raise ServiceError("Reconnect this account before changing its settings.")
    audit.record(
        "connection.auto_tagging_enable_requested",
        workspace_id=actor.workspace_id,
        actor_id=actor.user_id,
        target=connection.audit_target,
    )
    db.session.commit()
    run_id = background.enqueue_set_auto_tagging(connection.id, enabled=True)
    if run_id is None:
        raise Conflict("A change is already in progress for this account.")
    return run_id
