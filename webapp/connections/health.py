"""Whether a connection works, and if not, what to do: one function, ``check(connection)``, used
by the connection page, the platform card (the worst of its connections), the dashboard, alerts
and the connections API, so no two places can disagree about what "Healthy" means.

A connection is Healthy only when every check passes:

- ``grant``         connected, with a valid sign-in (not disconnected, not "reconnect needed");
- ``auto_tagging``  on in the ad account, where the platform can report it (capability);
- ``goals_mapped``  at least one SourceLoop event is mapped to a platform goal;
- ``last_push``     the last push succeeded, or had nothing to send;
- ``last_pull``     the last pull succeeded, within 26 hours (where the platform pulls insights).

Each failing check carries its name, what was found, the fix in words and an ``action`` key
(``reconnect``, ``auto_tagging``, ``configure``, ``troubleshoot``, ``sync``) that pages turn into
a button or link.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp.extensions import db, platform_registry
from webapp.models import (
    Connection,
    Credential,
    GoalMapping,
    InsightSyncState,
    JobRun,
    PushRun,
)
from webapp.models.types import utcnow

PULL_FRESH_FOR = timedelta(hours=26)

HEALTHY = "healthy"
ATTENTION = "attention"
RECONNECT = "reconnect_needed"
DISCONNECTED = "disconnected"
PAUSED = "paused"
LABELS = {
    HEALTHY: "Healthy",
    ATTENTION: "Needs attention",
    RECONNECT: "Reconnect needed",
    DISCONNECTED: "Disconnected",
    PAUSED: "Paused",
}
# The platform card shows the worst state of its connections: higher is worse.
SEVERITY = {HEALTHY: 0, PAUSED: 1, ATTENTION: 2, DISCONNECTED: 3, RECONNECT: 4}

CHECK_NAMES = {
    "grant": "Sign-in valid",
    "auto_tagging": "Auto-tagging on",
    "goals_mapped": "A goal is mapped",
    "last_push": "Last push succeeded",
    "last_pull": "Last pull within 26 hours",
}


@dataclass(frozen=True)
class Check:
    key: str
    passed: bool
    detail: str  # what was found, in words
    fix: str = ""  # what to do about it ("" when passed)
    action: str = ""  # reconnect | auto_tagging | configure | troubleshoot | sync
    problem: str = ""  # a finer code for alerts: pull_failed, pull_stale, push_failed...

    @property
    def name(self) -> str:
        return CHECK_NAMES[self.key]

    def as_dict(self) -> dict[str, object]:
        return {
            "check": self.key,
            "name": self.name,
            "passed": self.passed,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Health:
    state: str
    checks: tuple[Check, ...]

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def healthy(self) -> bool:
        return self.state == HEALTHY

    @property
    def failing(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def to_fix(self) -> list[Check]:
        """What pages list: without a valid sign-in only that (nothing else can be fixed before
        a Reconnect); otherwise every failing check."""
        grant = self.get("grant")
        return [grant] if grant is not None and not grant.passed else self.failing

    def get(self, key: str) -> Check | None:
        return next((c for c in self.checks if c.key == key), None)

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "label": self.label,
            "failing": [c.as_dict() for c in self.failing],
            "checks": [c.as_dict() for c in self.checks],
        }


def push_run_failed(run: PushRun) -> bool:
    """A push run that stopped on an error, or whose every row was refused."""
    return run.outcome.startswith("stopped:") or (run.failed > 0 and run.sent == 0)


def _grant(connection: Connection) -> Check:
    if connection.status == Connection.DISCONNECTED:
        return Check(
            "grant",
            False,
            "Disconnected: SourceLoop holds no sign-in for this account; nothing is pushed or "
            "pulled.",
            "Reconnect the account to resume pushing and pulling (its history is kept).",
            "reconnect",
            "disconnected",
        )
    if connection.status == Connection.RECONNECT_NEEDED:
        return Check(
            "grant",
            False,
            connection.status_reason or "The platform refused the sign-in (revoked or expired).",
            "Reconnect: sign in again with a user who can reach this account. Conversions wait "
            "meanwhile; nothing is lost.",
            "reconnect",
            "reconnect_needed",
        )
    if connection.status == Connection.PAUSED:
        return Check("grant", False, "Paused.", "Resume the connection.", "", "paused")
    credential = (
        db.session.get(Credential, connection.credential_id) if connection.credential_id else None
    )
    if credential is None or credential.status != Credential.ACTIVE:
        return Check(
            "grant",
            False,
            "The stored sign-in is missing.",
            "Reconnect the account.",
            "reconnect",
            "reconnect_needed",
        )
    return Check("grant", True, "Signed in.")


def _auto_tagging(connection: Connection, click_param: str) -> Check:
    if connection.auto_tagging:
        return Check("auto_tagging", True, "On.")
    if connection.auto_tagging is None:
        return Check(
            "auto_tagging",
            False,
            "Not checked yet: the check runs right after connecting and with every pull.",
            "Wait for the first check, or run Sync now.",
            "sync",
            "auto_tagging_unknown",
        )
    return Check(
        "auto_tagging",
        False,
        f"Auto-tagging is off in this account: ad clicks carry no {click_param}, so offline "
        "conversions cannot be matched to them.",
        "Switch auto-tagging on.",
        "auto_tagging",
        "auto_tagging_off",
    )


def _goals_mapped(connection: Connection) -> Check:
    mapped = db.session.scalar(
        select(func.count()).where(GoalMapping.connection_id == connection.id)
    )
    if mapped:
        return Check("goals_mapped", True, f"{mapped} event(s) mapped to goals.")
    return Check(
        "goals_mapped",
        False,
        "No SourceLoop event is mapped to a goal of this account, so nothing is pushed.",
        "Configure pushing: map an event to a conversion goal.",
        "configure",
        "no_goal",
    )


def _last_push(connection: Connection) -> Check:
    run = db.session.scalars(
        select(PushRun)
        .where(PushRun.connection_id == connection.id, PushRun.finished_at.is_not(None))
        .order_by(PushRun.started_at.desc(), PushRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return Check("last_push", True, "No push has run yet: nothing to send so far.")
    when = f"{run.finished_at:%Y-%m-%d %H:%M} UTC"
    if run.is_abandoned:
        return Check(
            "last_push",
            False,
            f"The push at {when} was cut short (its worker stopped); the next push resends.",
            "Check that a worker runs the push queue.",
            "troubleshoot",
            "push_abandoned",
        )
    if push_run_failed(run):
        what = (
            run.outcome.removeprefix("stopped:").strip()
            if run.outcome.startswith("stopped:")
            else f"the platform refused all {run.failed} row(s)"
        )
        return Check(
            "last_push",
            False,
            f"The push at {when} failed: {what}"[:500],
            "Open Troubleshoot for each row's error and its fix.",
            "troubleshoot",
            "push_failed",
        )
    if run.sent == 0 and run.failed == 0:
        return Check("last_push", True, f"Nothing to send at {when}.")
    return Check("last_push", True, f"{run.sent} sent at {when}.")


def _last_pull(connection: Connection, now: datetime) -> Check:
    latest = db.session.scalars(
        select(JobRun)
        .where(JobRun.connection_id == connection.id, JobRun.kind == "pull")
        .order_by(JobRun.created_at.desc(), JobRun.id.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.status == JobRun.FAILED:
        return Check(
            "last_pull",
            False,
            f"The last pull failed: {latest.error or 'no error recorded'}"[:500],
            "Run Sync now once the cause is fixed; the connection page lists the job's error.",
            "sync",
            "pull_failed",
        )
    state = db.session.get(InsightSyncState, connection.id)
    success = state.last_success_at if state is not None else None
    if success is None:
        return Check(
            "last_pull",
            False,
            "No pull has succeeded yet.",
            "Run Sync now (the first pull also runs right after connecting).",
            "sync",
            "pull_never",
        )
    if now - success > PULL_FRESH_FOR:
        return Check(
            "last_pull",
            False,
            f"The last successful pull was {success:%Y-%m-%d %H:%M} UTC, more than 26 hours ago.",
            "Check that the scheduler and a worker run; then run Sync now.",
            "sync",
            "pull_stale",
        )
    return Check("last_pull", True, f"Succeeded {success:%Y-%m-%d %H:%M} UTC.")


def check(connection: Connection, now: datetime | None = None) -> Health:
    """Every check of one connection, and its state: the one definition of its health."""
    now = now or utcnow()
    platform = platform_registry().get(connection.platform_key)
    checks = [_grant(connection)]
    if platform is not None and platform.capabilities.auto_tagging:
        param = platform.click_ids[0].name if platform.click_ids else "click id"
        checks.append(_auto_tagging(connection, param))
    checks.append(_goals_mapped(connection))
    if platform is None or platform.capabilities.push_conversions:
        checks.append(_last_push(connection))
    if platform is None or platform.capabilities.pull_insights:
        checks.append(_last_pull(connection, now))
    grant = checks[0]
    if grant.passed:
        state = HEALTHY if all(c.passed for c in checks) else ATTENTION
    else:
        state = {"disconnected": DISCONNECTED, "paused": PAUSED}.get(grant.problem, RECONNECT)
    return Health(state, tuple(checks))


def worst(healths: Iterable[Health]) -> str | None:
    """The worst state among ``healths`` (None when there are none): the platform card's."""
    states = [h.state for h in healths]
    return max(states, key=SEVERITY.__getitem__) if states else None


def for_workspace(workspace_id: int, now: datetime | None = None) -> dict[int, Health]:
    """Each connection of the workspace (by id) with its health, in connection order."""
    now = now or utcnow()
    return {
        c.id: check(c, now)
        for c in db.session.scalars(
            select(Connection)
            .where(Connection.workspace_id == workspace_id)
            .order_by(Connection.connected_at, Connection.id)
        )
    }
