"""Alerts (issue 12, item 7): incidents open and resolve once, reach Owners and Admins by a real
SMTP exchange (aiosmtpd as a separate process) and a Slack-compatible webhook (a local HTTP
receiver), respect opt-outs, and use the same figures as the pages."""

from __future__ import annotations

import json
import mailbox
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

import tests.helpers.push as h
from tests.conftest import client_as, csrf_token, make_world
from tests.helpers.processes import free_port, port_open, python_process, stop, wait_for
from webapp.accounts import alerts
from webapp.background import job_runs
from webapp.extensions import db
from webapp.models import (
    AlertIncident,
    Connection,
    Credential,
    GoalDiagnosticsDaily,
    JobRun,
    PushRun,
)
from webapp.models.types import utcnow
from webapp.push import send as push


@pytest.fixture
def world(ms_app):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    return h.connect(ms_app, world, emulator)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real SMTP server process writing what it receives to a Maildir."""
    port, maildir = free_port(), tmp_path / "maildir"
    process = python_process(
        ["-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox",
         str(maildir)],
        {},
        tmp_path / "smtpd.log",
    )  # fmt: skip
    try:
        wait_for(lambda: port_open(port), timeout=30, what="aiosmtpd")
        yield f"smtp://127.0.0.1:{port}", maildir
    finally:
        stop(process)


def _mails(maildir: Path) -> list:
    return list(mailbox.Maildir(str(maildir), create=False)) if maildir.exists() else []


def _subject(mail) -> str:
    return " ".join(mail["Subject"].split())  # unfold the header


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def _membership(world, role: str):
    from webapp.models import Membership

    return db.session.get(Membership, world.memberships[role])


def test_reconnect_incident_is_told_once_when_it_opens_and_once_when_it_resolves(
    ms_app, world, connection_id, smtp, webhook
) -> None:
    smtp_url, maildir = smtp
    hook_url, posts = webhook
    current_app.config["SMTP_URL"] = smtp_url
    owner = _membership(world, "owner")
    alerts.save_settings(world.workspace_id, owner, threshold=None, webhook_url=hook_url)
    alerts.set_opt_out(_membership(world, "admin"), True)  # the Admin opted out of e-mail
    connection = db.session.get(Connection, connection_id)
    connection.status, connection.status_reason = Connection.RECONNECT_NEEDED, "Grant revoked."
    db.session.commit()

    assert alerts.evaluate(world.workspace_id) == (1, 0)
    assert alerts.evaluate(world.workspace_id) == (0, 0)  # still broken: no second message
    assert alerts.evaluate(world.workspace_id) == (0, 0)
    assert db.session.scalar(select(AlertIncident.delivery_error)) is None
    mails = _mails(maildir)
    assert len(mails) == 1 and len(posts) == 1
    mail = mails[0]
    assert _subject(mail).startswith(
        "[SourceLoop] Alert:"
    ) and "needs to be reconnected" in _subject(mail)
    rcpt = mail["X-RcptTo"]
    assert "owner@example.com" in rcpt
    assert "admin@example.com" not in rcpt and "member@example.com" not in rcpt
    assert "Grant revoked." in mail.get_payload() and "needs to be reconnected" in posts[0]["text"]

    connection.status = Connection.ACTIVE
    db.session.commit()
    assert alerts.evaluate(world.workspace_id) == (0, 1)
    assert alerts.evaluate(world.workspace_id) == (0, 0)
    mails = _mails(maildir)
    assert len(mails) == 2 and len(posts) == 2
    assert any(_subject(m).startswith("[SourceLoop] Resolved:") for m in mails)
    incident = db.session.scalar(select(AlertIncident))
    assert incident.resolved_at is not None and incident.delivery_error is None
    page = client_as(ms_app, "member").get(f"/w/{world.workspace_id}/alerts/")
    html = page.get_data(as_text=True)
    assert (
        page.status_code == 200 and "Past incidents" in html and "needs to be reconnected" in html
    )
    assert hook_url not in html  # the webhook URL is a secret


def test_without_smtp_alerts_show_in_the_app_only(ms_app, world, connection_id) -> None:
    current_app.config["SMTP_URL"] = ""
    connection = db.session.get(Connection, connection_id)
    connection.status = Connection.RECONNECT_NEEDED
    db.session.commit()
    assert alerts.evaluate(world.workspace_id) == (1, 0)
    incident = db.session.scalar(select(AlertIncident))
    assert incident.delivery_error is None and incident.opened_sent_at is not None
    html = client_as(ms_app, "admin").get(f"/w/{world.workspace_id}/alerts/").get_data(as_text=True)
    assert "e-mail is not configured" in html and "needs to be reconnected" in html


def test_match_rate_alert_uses_the_troubleshoot_figure(
    ms_app, world, emulator, connection_id
) -> None:
    """The alert's match rate is what the platform said about the last 30 days' uploads (its
    diagnostics), the figure Troubleshoot shows; not the share of conversions with a click id."""
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    for _ in range(6):
        h.add_conversion(world.workspace_id)  # every one with a click id: coverage is 100 %
    push.run(connection_id)
    today = utcnow().date()
    for day, success, missed in ((today, 10, 4), (today - timedelta(days=3), 5, 2),
                                 (today - timedelta(days=40), 0, 50)):  # fmt: skip
        db.session.add(
            GoalDiagnosticsDaily(
                connection_id=connection_id, goal_id=h.CLOSED_WON, goal_name="Closed won",
                day=day, success_count=success, unattributed_count=missed,
                reasons={"NoMatchingClickFound": missed},
            )
        )  # fmt: skip
    db.session.commit()
    alerts.save_settings(
        world.workspace_id, _membership(world, "owner"), threshold=90, webhook_url=None
    )
    assert alerts.evaluate(world.workspace_id) == (1, 0)
    incident = db.session.scalar(select(AlertIncident))
    assert incident.kind == AlertIncident.MATCH_RATE_LOW
    page = client_as(ms_app, "member").get(
        f"/w/{world.workspace_id}/setup/connections/{connection_id}/push/troubleshoot"
    )
    html = page.get_data(as_text=True)
    cell = html.split('data-testid="match-rate"')[1].split("</td>")[0]
    assert incident.figure == "71.4% (15 of 21)"  # the 40-day-old day is out of the 30 days
    assert incident.figure in cell  # the alert's figure is the page's
    coverage = html.split('data-testid="click-id-coverage">')[1].split("</td>")[0]
    assert "100.0% (6 of 6)" in coverage  # the other measure, named differently
    alerts.save_settings(
        world.workspace_id, _membership(world, "owner"), threshold=50, webhook_url=None
    )
    assert alerts.evaluate(world.workspace_id) == (0, 1)


def test_no_match_rate_alert_before_the_platform_reported_on_enough_uploads(
    ms_app, world, emulator, connection_id
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    for _ in range(25):
        h.add_conversion(world.workspace_id, with_click=False)  # no click id at all
    push.run(connection_id)
    alerts.save_settings(
        world.workspace_id, _membership(world, "owner"), threshold=90, webhook_url=None
    )
    assert alerts.evaluate(world.workspace_id) == (0, 0)  # nothing reported yet: no rate


def test_pushes_failing_for_30_minutes_and_a_failed_pull_open_incidents(
    ms_app, world, connection_id
) -> None:
    now = utcnow()
    for minutes in (40, 30, 20, 10, 0):
        db.session.add(
            PushRun(
                connection_id=connection_id,
                started_at=now - timedelta(minutes=minutes),
                finished_at=now - timedelta(minutes=minutes),
                outcome="stopped: [500] server error",
            )
        )
    db.session.commit()
    run_id = job_runs.create_queued("pull", rq_job_id=None, connection_id=connection_id)
    job_runs.finish(run_id, error="[500] the report failed")
    kinds = {c.kind for c in alerts.conditions(world.workspace_id, now)}
    assert kinds == {AlertIncident.PUSH_FAILING, AlertIncident.PULL_FAILED}
    # 20 minutes of failures is not yet an incident
    assert AlertIncident.PUSH_FAILING not in {
        c.kind for c in alerts.conditions(world.workspace_id, now - timedelta(minutes=20))
    }
    db.session.add(
        PushRun(connection_id=connection_id, started_at=now, finished_at=now, sent=3, outcome="ok")
    )
    db.session.commit()
    assert AlertIncident.PUSH_FAILING not in {
        c.kind for c in alerts.conditions(world.workspace_id, now + timedelta(seconds=1))
    }
    assert db.session.get(JobRun, run_id).status == JobRun.FAILED


def test_a_grant_close_to_lapsing_is_named_from_the_plugin_declaration(
    ms_app, world, connection_id
) -> None:
    connection = db.session.get(Connection, connection_id)
    credential = db.session.get(Credential, connection.credential_id)
    credential.refreshed_at = utcnow() - timedelta(days=80)  # unused 80 of Microsoft's 90 days
    db.session.commit()
    found = [c for c in alerts.conditions(world.workspace_id) if c.kind == "grant_lapsing"]
    assert len(found) == 1 and "lapses on" in found[0].title
    credential.refreshed_at = utcnow() - timedelta(days=1)
    db.session.commit()
    assert not [c for c in alerts.conditions(world.workspace_id) if c.kind == "grant_lapsing"]


def test_alert_settings_form_rejects_bad_input_and_keeps_the_webhook_secret(ms_app, world) -> None:
    admin = client_as(ms_app, "admin")
    path = f"/w/{world.workspace_id}/alerts/settings"
    token = csrf_token(admin, f"/w/{world.workspace_id}/alerts/")
    bad = admin.post(path, data={"csrf_token": token, "match_rate_threshold": "400"})
    assert bad.status_code == 400 and "between 1 and 100" in bad.get_data(as_text=True)
    bad_url = admin.post(path, data={"csrf_token": token, "webhook_url": "not a url"})
    assert bad_url.status_code == 400
    ok = admin.post(
        path,
        data={
            "csrf_token": token,
            "match_rate_threshold": "35",
            "webhook_url": "https://hooks.example.com/services/T/B/secret",
        },
    )
    assert ok.status_code == 303
    html = admin.get(f"/w/{world.workspace_id}/alerts/").get_data(as_text=True)
    assert (
        "A webhook is saved" in html and "secret" not in html.split("A webhook is saved")[0][-300:]
    )
    assert "hooks.example.com" not in html
    assert alerts.settings_of(world.workspace_id).match_rate_threshold == 35


def test_the_scheduled_alerts_job_evaluates_every_workspace(
    ms_app, world, connection_id, burst_worker, redis
) -> None:
    from jobs.schedule import SCHEDULE

    assert any(entry.func == "jobs.alerts.evaluate_alerts" for entry in SCHEDULE)
    connection = db.session.get(Connection, connection_id)
    connection.status = Connection.RECONNECT_NEEDED
    db.session.commit()
    run_id = job_runs.enqueue("alerts")
    burst_worker()
    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    assert run.status == JobRun.SUCCEEDED and "1 incident(s) opened" in run.message
    assert len(alerts.open_for(world.workspace_id)) == 1
