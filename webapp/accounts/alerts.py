"""Alerts: incidents a workspace's Owners and Admins are told about, once when each opens and once
when it resolves.

``evaluate(workspace_id)`` (the scheduled ``alerts`` job, every 5 minutes) finds which conditions
hold now, per connection, from the same service functions the pages use (never a second count):

- reconnect needed        ``connections.health.check`` (the connection page, cards, dashboard);
- grant close to lapsing  the grant's last refresh + the plugin's ``refresh_token_idle_lifetime``;
- pushes failing          ``push_status.recent_runs`` (Troubleshoot): every run for 30 minutes failed;
- match rate under the workspace's threshold: ``push_states.match_rate`` (what the platform said
  about the last 30 days' uploads; Troubleshoot, the connection page, the dashboard and the API);
- pull failed             ``connections.health.check``'s ``last_pull`` check (problem ``pull_failed``).

A condition that holds and has no open incident opens one; an open incident whose condition no
longer holds resolves. Each opening and each resolution is delivered once (``alert_delivery``):
e-mail over SMTP when ``SMTP_URL`` is set, and the workspace's webhook when it has one. Without
either the Alerts page is where they show.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp import policy
from webapp.accounts import alert_delivery
from webapp.common import audit
from webapp.common.errors import Forbidden, ServiceError
from webapp.connections import health
from webapp.extensions import db, platform_registry
from webapp.models import (
    AlertIncident,
    AlertOptOut,
    AlertSettings,
    Connection,
    Credential,
    Membership,
    User,
    Workspace,
)
from webapp.models.types import utcnow
from webapp.policy import Action, Role
from webapp.push import states as push_states
from webapp.push import status as push_status

log = logging.getLogger(__name__)

PUSH_FAILING_FOR = timedelta(minutes=30)
GRANT_WARNING = timedelta(days=14)
MATCH_RATE_MIN_CONVERSIONS = 20  # uploads the platform reported on; below this a rate says nothing
RECIPIENT_ROLES = (Role.OWNER.value, Role.ADMIN.value)


@dataclass(frozen=True)
class Condition:
    key: str
    kind: str
    connection_id: int | None
    title: str
    detail: str
    figure: str = ""


# --- the facts, from the pages' own functions -----------------------------------------------


def _label(connection: Connection) -> str:
    return (
        f"{connection.account_name or connection.account_id} (Account ID {connection.account_id})"
    )


def push_failing_since(connection_id: int, now: datetime) -> datetime | None:
    """When the current run of failed pushes began, if every push since then failed."""
    since = None
    for run in push_status.recent_runs(connection_id, limit=50):
        if run.finished_at is None:
            continue
        if not push_run_failed(run):
            break
        since = run.started_at
    return since


push_run_failed = health.push_run_failed  # one definition, shared with the health check


def grant_lapses_at(connection: Connection) -> datetime | None:
    platform = platform_registry().get(connection.platform_key)
    lifetime = getattr(platform, "refresh_token_idle_lifetime", None)
    if lifetime is None or connection.credential_id is None:
        return None
    credential = db.session.get(Credential, connection.credential_id)
    if credential is None or credential.status != Credential.ACTIVE:
        return None
    return (credential.refreshed_at or credential.created_at) + lifetime


def conditions(workspace_id: int, now: datetime | None = None) -> list[Condition]:
    now = now or utcnow()
    settings = settings_of(workspace_id)
    found: list[Condition] = []
    for connection in db.session.scalars(
        select(Connection)
        .where(
            Connection.workspace_id == workspace_id, Connection.status != Connection.DISCONNECTED
        )
        .order_by(Connection.id)
    ):
        found.extend(_connection_conditions(connection, settings, now))
    return found


def _connection_conditions(
    connection: Connection, settings: AlertSettings, now: datetime
) -> Iterator[Condition]:
    label, cid = _label(connection), connection.id
    state = health.check(connection, now)
    if state.state == health.RECONNECT:
        yield Condition(
            f"reconnect:{cid}",
            AlertIncident.RECONNECT,
            cid,
            f"{label} needs to be reconnected",
            state.checks[0].detail
            + " Pushes are paused until an Admin reconnects; nothing is lost.",
        )
        return  # the other checks cannot run without a grant
    lapses = grant_lapses_at(connection)
    if lapses is not None and lapses - now <= GRANT_WARNING:
        yield Condition(
            f"grant:{cid}",
            AlertIncident.GRANT_LAPSING,
            cid,
            f"{label}: its sign-in lapses on {lapses:%Y-%m-%d}",
            "The platform ends a grant that goes unused this long. Reconnect (or let a push or "
            "pull run) before then to keep it.",
            f"{lapses:%Y-%m-%d %H:%M} UTC",
        )
    since = push_failing_since(cid, now)
    if since is not None and now - since >= PUSH_FAILING_FOR:
        minutes = int((now - since).total_seconds() // 60)
        yield Condition(
            f"push:{cid}",
            AlertIncident.PUSH_FAILING,
            cid,
            f"{label}: pushes have failed for {minutes} minutes",
            "Every push since then failed. Troubleshoot shows each run's error.",
            f"since {since:%Y-%m-%d %H:%M} UTC",
        )
    threshold = settings.match_rate_threshold
    if threshold is not None:
        match = push_states.match_rate(connection.workspace_id, connection_id=cid)
        if (
            match.reported >= MATCH_RATE_MIN_CONVERSIONS
            and 100 * match.attributed < threshold * match.reported
        ):
            yield Condition(
                f"match:{cid}",
                AlertIncident.MATCH_RATE_LOW,
                cid,
                f"{label}: match rate {match.figure} is under {threshold}%",
                f"Of the uploads of the last {push_states.MATCH_DAYS} days the platform reported "
                "on, fewer than that were matched to an ad click. Troubleshoot lists the "
                "platform's reasons; check that the pixel runs on landing pages, that "
                "auto-tagging is on and that conversions go to the account that ran the ad.",
                match.figure,
            )
    pull = state.get("last_pull")
    if pull is not None and pull.problem == "pull_failed":
        yield Condition(
            f"pull:{cid}",
            AlertIncident.PULL_FAILED,
            cid,
            f"{label}: the last insights pull failed",
            pull.detail[:400],
            "last pull failed",
        )


# --- incidents -------------------------------------------------------------------------------


def evaluate(workspace_id: int, now: datetime | None = None) -> tuple[int, int]:
    """Open and resolve incidents; deliver each change once. Returns (opened, resolved)."""
    now = now or utcnow()
    holding = {c.key: c for c in conditions(workspace_id, now)}
    open_incidents = {i.key: i for i in open_for(workspace_id)}
    opened: list[AlertIncident] = []
    resolved: list[AlertIncident] = []
    for key, condition in holding.items():
        incident = open_incidents.get(key)
        if incident is None:
            incident = AlertIncident(
                workspace_id=workspace_id,
                connection_id=condition.connection_id,
                key=key,
                kind=condition.kind,
                title=condition.title[:255],
                detail=condition.detail,
                figure=condition.figure[:64],
                opened_at=now,
            )
            db.session.add(incident)
            opened.append(incident)
        else:  # still open: keep its figure current for the page, send nothing
            incident.figure = condition.figure[:64]
    for key, incident in open_incidents.items():
        if key not in holding:
            incident.resolved_at = now
            resolved.append(incident)
    db.session.commit()
    for incident in opened:
        _deliver(incident, opening=True)
    for incident in resolved:
        _deliver(incident, opening=False)
    return len(opened), len(resolved)


def _deliver(incident: AlertIncident, *, opening: bool) -> None:
    settings = settings_of(incident.workspace_id)
    workspace = db.session.get(Workspace, incident.workspace_id)
    message = alert_delivery.Message.for_incident(
        workspace.name if workspace else "", incident, opening=opening
    )
    errors = alert_delivery.send(message, recipients(incident.workspace_id), settings.webhook_url)
    if opening:
        incident.opened_sent_at = utcnow()
    else:
        incident.resolved_sent_at = utcnow()
    incident.delivery_error = "; ".join(errors)[:2000] or None
    db.session.commit()


def open_for(workspace_id: int) -> list[AlertIncident]:
    return list(
        db.session.scalars(
            select(AlertIncident)
            .where(AlertIncident.workspace_id == workspace_id, AlertIncident.resolved_at.is_(None))
            .order_by(AlertIncident.opened_at.desc(), AlertIncident.id.desc())
        )
    )


def past_for(workspace_id: int, limit: int = 100) -> list[AlertIncident]:
    return list(
        db.session.scalars(
            select(AlertIncident)
            .where(
                AlertIncident.workspace_id == workspace_id, AlertIncident.resolved_at.is_not(None)
            )
            .order_by(AlertIncident.resolved_at.desc(), AlertIncident.id.desc())
            .limit(limit)
        )
    )


def recipients(workspace_id: int) -> list[str]:
    """E-mail addresses of the workspace's Owners and Admins who have not opted out."""
    return list(
        db.session.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.workspace_id == workspace_id,
                Membership.role.in_(RECIPIENT_ROLES),
                Membership.id.not_in(select(AlertOptOut.membership_id)),
                User.is_active_user.is_(True),
            )
            .order_by(Membership.id)
        )
    )


# --- settings and opt-outs -------------------------------------------------------------------


def settings_of(workspace_id: int) -> AlertSettings:
    """The workspace's alert settings (an unsaved default row when it has none)."""
    return db.session.get(AlertSettings, workspace_id) or AlertSettings(workspace_id=workspace_id)


def save_settings(
    workspace_id: int, actor: Membership, *, threshold: int | None, webhook_url: str | None
) -> AlertSettings:
    """``webhook_url`` None keeps the stored one; "" removes it."""
    if not policy.can(actor.role, Action.EDIT_WORKSPACE):
        raise Forbidden(policy.reason(Action.EDIT_WORKSPACE))
    if threshold is not None and not 1 <= threshold <= 100:
        raise ServiceError("The match-rate threshold is a percentage from 1 to 100 (or empty).")
    settings = db.session.get(AlertSettings, workspace_id)
    if settings is None:
        settings = AlertSettings(workspace_id=workspace_id)
        db.session.add(settings)
    settings.match_rate_threshold = threshold
    if webhook_url is not None:
        webhook_url = webhook_url.strip()
        if webhook_url and not webhook_url.startswith(("https://", "http://")):
            raise ServiceError("The webhook URL must start with https://.")
        settings.webhook_url = webhook_url[:2000] or None
    audit.record(
        "alerts.settings_changed",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target="alerts",
        threshold=threshold,
        webhook="set" if settings.webhook_url else "none",
    )
    db.session.commit()
    return settings


def is_opted_out(membership_id: int) -> bool:
    return db.session.get(AlertOptOut, membership_id) is not None


def set_opt_out(membership: Membership, opted_out: bool) -> None:
    """Each person chooses for themselves whether alerts are e-mailed to them."""
    row = db.session.get(AlertOptOut, membership.id)
    if opted_out and row is None:
        db.session.add(AlertOptOut(membership_id=membership.id))
    elif not opted_out and row is not None:
        db.session.delete(row)
    db.session.commit()


def workspaces_to_evaluate() -> list[int]:
    return list(db.session.scalars(select(Workspace.id).order_by(Workspace.id)))
