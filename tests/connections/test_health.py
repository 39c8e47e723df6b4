"""Truthful health (issue 12 item 6): Healthy only when every check passes; each failing check is
named with its fix; the card shows the worst state; alerts read the same checks; a job cancelled
by Disconnect says cancelled; the auto-tagging switch's result shows only once its job finished.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import delete, select

import tests.helpers.push as h
from jobs.pull import pull
from tests.conftest import client_as, csrf_token, make_world
from webapp.accounts import alerts
from webapp.background import job_runs
from webapp.connections import health
from webapp.extensions import db, platform_registry
from webapp.models import (
    AlertIncident,
    Connection,
    GoalMapping,
    InsightSyncState,
    JobRun,
    PushRun,
)
from webapp.models.types import utcnow


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    return h.connect(ms_app, world, emulator)


def make_healthy(world, connection_id: int, goal: str = h.CLOSED_WON) -> Connection:
    """Every check passing: auto-tagging on, a goal mapped, a push that sent, a fresh pull."""
    h.configure(world, connection_id, {"purchase": goal})
    connection = db.session.get(Connection, connection_id)
    connection.auto_tagging = True
    now = utcnow()
    db.session.add(
        PushRun(connection_id=connection_id, started_at=now, finished_at=now, sent=2, outcome="ok")
    )
    db.session.merge(
        InsightSyncState(
            connection_id=connection_id,
            last_status=InsightSyncState.SUCCEEDED,
            last_success_at=now - timedelta(hours=1),
        )
    )
    db.session.commit()
    return connection


def failing(connection: Connection) -> dict[str, health.Check]:
    return {c.key: c for c in health.check(connection).failing}


def test_a_fresh_connection_is_not_healthy_and_says_what_is_missing(ms_app, connection_id) -> None:
    result = health.check(db.session.get(Connection, connection_id))
    assert result.state == health.ATTENTION and result.label == "Needs attention"
    found = {c.key: c for c in result.failing}
    # Nothing mapped, auto-tagging not checked yet, never pulled; no push yet is not a failure.
    assert set(found) == {"goals_mapped", "auto_tagging", "last_pull"}
    assert found["goals_mapped"].action == "configure" and found["goals_mapped"].fix
    assert found["last_pull"].problem == "pull_never"
    assert result.get("last_push").passed


def test_healthy_only_when_every_check_passes(ms_app, world, connection_id) -> None:
    connection = make_healthy(world, connection_id)
    result = health.check(connection)
    assert result.state == health.HEALTHY and result.failing == []
    assert [c.key for c in result.checks] == [
        "grant",
        "auto_tagging",
        "goals_mapped",
        "last_push",
        "last_pull",
    ]


def test_auto_tagging_off_fails_with_its_switch(ms_app, world, connection_id) -> None:
    connection = make_healthy(world, connection_id)
    connection.auto_tagging = False
    db.session.commit()
    found = failing(connection)
    assert list(found) == ["auto_tagging"]
    assert found["auto_tagging"].action == "auto_tagging"
    assert "msclkid" in found["auto_tagging"].detail  # the plugin's own click-id parameter
    assert health.check(connection).state == health.ATTENTION


def test_auto_tagging_is_not_checked_where_the_platform_cannot_report_it(
    ms_app, world, connection_id, monkeypatch
) -> None:
    connection = make_healthy(world, connection_id)
    connection.auto_tagging = None
    db.session.commit()
    platform = platform_registry().get(connection.platform_key)
    monkeypatch.setattr(
        platform, "capabilities", dataclasses.replace(platform.capabilities, auto_tagging=False)
    )
    result = health.check(connection)
    assert result.get("auto_tagging") is None and result.state == health.HEALTHY


def test_no_goal_mapped_fails(ms_app, world, connection_id) -> None:
    connection = make_healthy(world, connection_id)
    db.session.execute(delete(GoalMapping).where(GoalMapping.connection_id == connection_id))
    db.session.commit()
    assert list(failing(connection)) == ["goals_mapped"]


@pytest.mark.parametrize(
    ("run", "passes", "problem"),
    [
        ({"sent": 0, "failed": 0, "outcome": "nothing to send"}, True, ""),
        ({"sent": 3, "failed": 1, "outcome": "ok"}, True, ""),
        ({"sent": 0, "failed": 4, "outcome": "ok"}, False, "push_failed"),
        ({"outcome": "stopped: [500] server error"}, False, "push_failed"),
        ({"outcome": PushRun.ABANDONED_OUTCOME}, False, "push_abandoned"),
    ],
)
def test_the_last_push_decides_the_push_check(
    ms_app, world, connection_id, run, passes, problem
) -> None:
    connection = make_healthy(world, connection_id)
    later = utcnow() + timedelta(seconds=5)
    db.session.add(PushRun(connection_id=connection_id, started_at=later, finished_at=later, **run))
    # A push still running does not count: the last finished one does.
    db.session.add(PushRun(connection_id=connection_id, started_at=later + timedelta(seconds=1)))
    db.session.commit()
    check = health.check(connection).get("last_push")
    assert check.passed is passes and check.problem == problem
    if not passes:
        assert check.action == "troubleshoot" and check.fix


def test_a_pull_older_than_26_hours_or_failed_fails(ms_app, world, connection_id) -> None:
    connection = make_healthy(world, connection_id)
    state = db.session.get(InsightSyncState, connection_id)
    state.last_success_at = utcnow() - timedelta(hours=25, minutes=50)
    db.session.commit()
    assert health.check(connection).state == health.HEALTHY
    state.last_success_at = utcnow() - timedelta(hours=26, minutes=10)
    db.session.commit()
    assert failing(connection)["last_pull"].problem == "pull_stale"

    state.last_success_at = utcnow()
    run_id = job_runs.create_queued("pull", rq_job_id=None, connection_id=connection_id)
    job_runs.finish(run_id, error="[500] the report failed")
    check = failing(connection)["last_pull"]
    assert check.problem == "pull_failed" and "the report failed" in check.detail
    # alerts read the same check
    assert AlertIncident.PULL_FAILED in {c.kind for c in alerts.conditions(world.workspace_id)}


def test_reconnect_needed_and_disconnected_offer_reconnect(ms_app, world, connection_id) -> None:
    connection = make_healthy(world, connection_id)
    connection.status = Connection.RECONNECT_NEEDED
    connection.status_reason = "The grant was revoked."
    db.session.commit()
    result = health.check(connection)
    assert result.state == health.RECONNECT
    assert result.failing[0].key == "grant" and result.failing[0].action == "reconnect"
    assert result.failing[0].detail == "The grant was revoked."
    assert [c.key for c in result.to_fix] == ["grant"]  # pages list what can be fixed first

    connection.status = Connection.DISCONNECTED
    connection.credential_id = None
    db.session.commit()
    result = health.check(connection)
    assert result.state == health.DISCONNECTED and result.failing[0].action == "reconnect"
    page = client_as(ms_app, "admin").get(f"/w/{world.workspace_id}/setup/platforms")
    html = page.get_data(as_text=True)
    assert 'data-testid="reconnect"' in html and 'data-state="disconnected"' in html
    # a member sees the state but no button
    html = (
        client_as(ms_app, "member")
        .get(f"/w/{world.workspace_id}/setup/platforms")
        .get_data(as_text=True)
    )
    assert 'data-state="disconnected"' in html and 'data-testid="reconnect"' not in html


def test_worst_state_orders_reconnect_over_attention_over_healthy() -> None:
    def of(state: str) -> health.Health:
        return health.Health(state, ())

    assert health.worst([]) is None
    assert health.worst([of(health.HEALTHY)]) == health.HEALTHY
    assert health.worst([of(health.HEALTHY), of(health.ATTENTION)]) == health.ATTENTION
    assert (
        health.worst([of(health.DISCONNECTED), of(health.RECONNECT), of(health.ATTENTION)])
        == health.RECONNECT
    )
    assert health.worst([of(health.HEALTHY), of(health.DISCONNECTED)]) == health.DISCONNECTED


def test_the_platform_card_shows_the_worst_of_its_connections(ms_app, world, emulator) -> None:
    first = h.connect(ms_app, world, emulator, "80000011")
    second = h.connect(ms_app, world, emulator, "80000012")
    make_healthy(world, first)
    make_healthy(world, second, "60000012")
    admin = client_as(ms_app, "admin")
    url = f"/w/{world.workspace_id}/setup/platforms"
    assert 'data-testid="card-state" data-state="healthy"' in admin.get(url).get_data(as_text=True)
    connection = db.session.get(Connection, second)
    connection.status = Connection.RECONNECT_NEEDED
    db.session.commit()
    html = admin.get(url).get_data(as_text=True)
    assert 'data-testid="card-state" data-state="reconnect_needed"' in html
    assert "Reconnect needed" in html and ">Connected<" not in html


def test_connection_page_lists_failing_checks_by_name_with_fixes(
    ms_app, world, connection_id
) -> None:
    html = (
        client_as(ms_app, "admin")
        .get(f"/w/{world.workspace_id}/setup/connections/{connection_id}")
        .get_data(as_text=True)
    )
    assert "Needs attention" in html and ">Healthy<" not in html
    for name in ("A goal is mapped", "Auto-tagging on", "Last pull within 26 hours"):
        assert name in html
    assert "Configure pushing" in html


def test_disconnect_cancels_a_running_pull_and_it_shows_as_cancelled(
    ms_app, world, connection_id, monkeypatch
) -> None:
    """A pull running when the admin disconnects stops at its next step and reads "cancelled",
    not "running 25%" (the job runs in this process; Disconnect happens mid-pull)."""
    platform = platform_registry().get("microsoft_ads")
    original = platform.pull_structure
    run_id = job_runs.create_queued("pull", rq_job_id=None, connection_id=connection_id)

    def disconnect_meanwhile(session, account):
        admin = client_as(ms_app, "admin")
        page = f"/w/{world.workspace_id}/setup/connections/{connection_id}"
        assert (
            admin.post(
                f"{page}/disconnect", data={"csrf_token": csrf_token(admin, page)}
            ).status_code
            == 303
        )
        db.session.commit()  # the host's rule: no transaction open during a platform call
        return original(session, account)

    monkeypatch.setattr(platform, "pull_structure", disconnect_meanwhile)
    pull(connection_id=connection_id, run_id=run_id)
    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    assert run.status == JobRun.CANCELLED and run.is_finished
    assert run.progress < 100 and "disconnected" in run.message
    assert db.session.get(InsightSyncState, connection_id).last_status == "cancelled"
    member = client_as(ms_app, "member")
    status = member.get(f"/w/{world.workspace_id}/jobs/{run_id}").get_json()
    assert (status["status"], status["finished"]) == ("cancelled", True)
    page = member.get(f"/w/{world.workspace_id}/setup/connections/{connection_id}")
    assert 'run-status" class="pill pill-cancelled">cancelled<' in page.get_data(as_text=True)
    assert 'pill-running">running<' not in page.get_data(as_text=True)
    # a retry of the cancelled run does nothing
    pull(connection_id=connection_id, run_id=run_id)
    db.session.expire_all()
    assert db.session.get(JobRun, run_id).status == JobRun.CANCELLED


def test_disconnect_takes_a_waiting_job_off_the_queue(ms_app, world, connection_id, redis) -> None:
    from rq.job import Job

    run_id = job_runs.enqueue("pull", connection_id=connection_id, job_id="pull-test-waiting")
    admin = client_as(ms_app, "admin")
    page = f"/w/{world.workspace_id}/setup/connections/{connection_id}"
    admin.post(f"{page}/disconnect", data={"csrf_token": csrf_token(admin, page)})
    db.session.expire_all()
    assert db.session.get(JobRun, run_id).status == JobRun.CANCELLED
    assert Job.fetch("pull-test-waiting", connection=redis).get_status() == "canceled"


def test_the_switch_result_shows_when_the_job_finished_not_when_queued(
    ms_app, world, emulator, burst_worker
) -> None:
    connection_id = h.connect(ms_app, world, emulator, "80000011")
    burst_worker()  # the connection check
    connection = db.session.get(Connection, connection_id)
    connection.auto_tagging = False
    db.session.commit()
    admin = client_as(ms_app, "admin")
    page = f"/w/{world.workspace_id}/setup/connections/{connection_id}"
    response = admin.post(f"{page}/auto-tagging", data={"csrf_token": csrf_token(admin, page)})
    run_id = int(parse_qs(urlsplit(response.location).query)["run"][0])
    queued = admin.get(response.location).get_data(as_text=True)
    assert 'data-state="succeeded"' not in queued and "now on" not in queued
    assert 'data-testid="watched-run" data-state="queued"' in queued
    assert "Switching on: the result shows here when the job has finished." in queued
    # the row does not offer the switch again while it is queued, even without ?run=
    assert "Switch auto-tagging on</button>" not in admin.get(page).get_data(as_text=True)
    burst_worker()
    done = admin.get(response.location).get_data(as_text=True)
    assert 'data-testid="watched-run" data-state="succeeded"' in done
    assert "Done: auto-tagging is now on" in done
    assert "data-job-status-url" not in done.split('data-testid="sync-block"')[0]  # no polling
    db.session.expire_all()
    assert db.session.get(JobRun, run_id).status == JobRun.SUCCEEDED
    assert db.session.scalar(select(Connection.auto_tagging)) is True


def test_the_connection_page_names_the_platforms_click_id_when_auto_tagging_is_off(
    ms_app, world, connection_id
) -> None:
    connection = make_healthy(world, connection_id)
    connection.auto_tagging = False
    db.session.commit()
    html = (
        client_as(ms_app, "admin")
        .get(f"/w/{world.workspace_id}/setup/connections/{connection_id}")
        .get_data(as_text=True)
    )
    assert "ad clicks carry no msclkid, so" in html
    assert "landing URL will carry msclkid." in html


def test_the_connection_page_says_when_a_platform_cannot_report_auto_tagging(
    ms_app, world, connection_id, monkeypatch
) -> None:
    connection = make_healthy(world, connection_id)
    connection.auto_tagging = None
    db.session.commit()
    platform = platform_registry().get(connection.platform_key)
    monkeypatch.setattr(
        platform, "capabilities", dataclasses.replace(platform.capabilities, auto_tagging=False)
    )
    html = (
        client_as(ms_app, "admin")
        .get(f"/w/{world.workspace_id}/setup/connections/{connection_id}")
        .get_data(as_text=True)
    )
    assert "Not reported by Microsoft Ads" in html and "Not checked yet" not in html
