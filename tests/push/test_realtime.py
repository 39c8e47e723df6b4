"""The real-time event path (capability ``realtime_events``) against the Microsoft emulator's UET
Conversions API: per-connection settings (the token encrypted), the ledger (exactly once, per-event
errors, retries), consent, the pages, and what the pixel is told."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, text

from tests.conftest import client_as, csrf_token
from tests.helpers import push as h
from webapp.extensions import db, platform_registry
from webapp.models import (
    Connection,
    Conversion,
    RealtimeConfig,
    RealtimeDelivery,
    Visitor,
)
from webapp.models.types import utcnow
from webapp.push import realtime, realtime_settings

R = RealtimeDelivery
TAG, TOKEN = h.UET_TAG, h.UET_TOKEN


@pytest.fixture
def world(ms_app):
    return h.world_with_events("purchase", "signup")


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    return h.connect(ms_app, world, emulator)


def configure(world, connection_id: int, *, events=("purchase",), token=TOKEN, **extra) -> dict:
    return h.enable_realtime(world, connection_id, tuple(events), token=token, **extra)


def uet_events(emulator: str) -> list[dict]:
    answer = requests.get(f"{emulator}/_emulator/uet/events", timeout=10)
    answer.raise_for_status()
    return answer.json()["events"]


def statuses(connection_id: int) -> Counter:
    db.session.expire_all()
    return Counter(db.session.scalars(select(R.status).where(R.connection_id == connection_id)))


def test_a_conversion_is_sent_once_with_its_event_id_value_click_and_consent(
    world, connection_id, emulator
) -> None:
    assert configure(world, connection_id) == {}
    cid, click = h.add_conversion(world.workspace_id, value="49.90")
    conversion = db.session.get(Conversion, cid)
    conversion.external_id = "px:" + "ab" * 16  # a pixel conversion: the pixel's own event id
    conversion.consent_state = "granted"
    db.session.commit()

    summary = realtime.run(connection_id)
    again = realtime.run(connection_id)  # nothing left: nothing sent twice

    assert (summary.sent, summary.api_calls, again.sent, again.api_calls) == (1, 1, 0, 0)
    [event] = uet_events(emulator)
    sent = event["event"]
    assert (event["event_id"], event["event_name"], event["repeats"]) == ("ab" * 16, "purchase", 0)
    assert sent["eventType"] == "custom"
    assert sent["adStorageConsent"] == "G" and event["consent"] == "G"
    assert sent["customData"] == {"value": 49.9, "currency": "USD", "transactionId": "ab" * 16}
    uuid = f"{click[:8]}-{click[8:12]}-{click[12:16]}-{click[16:20]}-{click[20:]}"
    assert sent["userData"] == {"msclkid": uuid}  # no hashes: enhanced conversions are off
    assert statuses(connection_id) == {"sent": 1}


def test_hashes_go_only_with_the_enhanced_conversions_opt_in(
    world, connection_id, emulator
) -> None:
    email = "ec81f3ac7b2b19675bab9d54cf416f9f18cff87c97da5cca82c0f0891bc40602"  # john@contoso.com
    h.configure(world, connection_id, {"signup": h.QUALIFIED_LEAD}, enhanced=True)
    assert configure(world, connection_id) == {}
    h.add_conversion(world.workspace_id, with_click=False, email_sha256=email)
    realtime.run(connection_id)
    [event] = uet_events(emulator)
    assert event["event"]["userData"] == {"em": email}
    assert "adStorageConsent" not in event["event"]  # unknown: Microsoft's default applies


def test_per_event_errors_are_recorded_and_shown_on_troubleshoot(
    world, connection_id, emulator, ms_app
) -> None:
    assert configure(world, connection_id) == {}
    good, _ = h.add_conversion(world.workspace_id)
    # A conversion stamped in the future (beyond Microsoft's tolerance) is refused by
    # Microsoft (InvalidEventTime) while the other event of the same request is kept.
    future, _ = h.add_conversion(world.workspace_id, occurred_at=utcnow() + timedelta(hours=2))
    nothing, _ = h.add_conversion(world.workspace_id, with_click=False)  # no identifier at all

    summary = realtime.run(connection_id)

    assert (summary.sent, summary.failed, summary.api_calls) == (1, 2, 1)
    rows = {r.conversion_id: r for r in db.session.scalars(select(R))}
    assert rows[good].status == "sent"
    assert (rows[future].status, rows[future].error_code, rows[future].reason) == (
        "failed",
        "InvalidEventTime",
        "refused",
    )
    assert (rows[nothing].status, rows[nothing].error_code) == ("failed", "NoUserData")
    page = client_as(ms_app, "member").get(
        f"/w/{world.workspace_id}/setup/connections/{connection_id}/push/troubleshoot"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('data-testid="realtime-row"') == 2
    assert "InvalidEventTime" in html and "NoUserData" in html and "1 sent" in html


def test_a_refused_token_fails_the_events_and_a_new_token_sends_them(
    world, connection_id, emulator
) -> None:
    assert configure(world, connection_id, token="not-the-right-token") == {}
    h.add_conversion(world.workspace_id)
    realtime.run(connection_id)
    [row] = db.session.scalars(select(R))
    assert (row.status, row.error_code) == ("failed", "Unauthorized")
    assert "Copy the token again" in row.error_message
    assert uet_events(emulator) == []

    assert configure(world, connection_id) == {}  # the right token: the refused row goes again
    assert statuses(connection_id) == {"pending": 1}
    realtime.run(connection_id)
    assert statuses(connection_id) == {"sent": 1}
    assert len(uet_events(emulator)) == 1


def test_consent_required_and_missing_holds_the_event_until_consent_is_given(
    world, connection_id, emulator, ms_app
) -> None:
    from webapp.intake import tracking

    tracking.settings_for(world.workspace_id).require_consent = True
    db.session.commit()
    assert configure(world, connection_id) == {}
    denied, _ = h.add_conversion(world.workspace_id)
    unknown, _ = h.add_conversion(world.workspace_id)
    db.session.get(Conversion, denied).consent_state = "denied"
    db.session.commit()

    summary = realtime.run(connection_id)

    assert (summary.sent, summary.held) == (0, 2)
    assert uet_events(emulator) == []
    assert {r.reason for r in db.session.scalars(select(R))} == {"consent_missing"}
    html = client_as(ms_app, "member").get(
        f"/w/{world.workspace_id}/setup/connections/{connection_id}/push/troubleshoot"
    )
    assert "consent_missing" in html.get_data(as_text=True)

    # The visitor grants consent later: the unknown one goes, marked granted; denied stays.
    visitor_id = db.session.get(Conversion, unknown).visitor_id
    db.session.get(Visitor, visitor_id).consent_state = "granted"
    db.session.commit()
    realtime.run(connection_id)
    [event] = uet_events(emulator)
    assert event["consent"] == "G"
    assert statuses(connection_id) == {"sent": 1, "held": 1}


def test_denied_consent_is_sent_as_denied_when_the_workspace_does_not_require_consent(
    world, connection_id, emulator
) -> None:
    assert configure(world, connection_id) == {}
    cid, _ = h.add_conversion(world.workspace_id)
    db.session.get(Conversion, cid).consent_state = "denied"
    db.session.commit()
    realtime.run(connection_id)
    [event] = uet_events(emulator)
    assert (event["event"]["adStorageConsent"], event["excluded_from_attribution"]) == ("D", True)


def test_more_than_a_request_holds_goes_in_batches_of_the_platform_limit(
    world, connection_id, emulator, monkeypatch
) -> None:
    from dataclasses import replace

    from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform

    spec = MicrosoftAdsPlatform.realtime

    monkeypatch.setattr(MicrosoftAdsPlatform, "realtime", replace(spec, max_batch=2))
    assert configure(world, connection_id) == {}
    for _ in range(5):
        h.add_conversion(world.workspace_id)
    summary = realtime.run(connection_id)
    assert (summary.sent, summary.api_calls) == (5, 3)
    requests_seen = requests.get(f"{emulator}/_emulator/uet/events", timeout=10).json()["requests"]
    assert [r["events"] for r in requests_seen] == [2, 2, 1]
    assert all(r["continue_on_validation_error"] for r in requests_seen)


def test_a_throttled_call_releases_its_events_and_a_later_run_sends_them(
    world, connection_id, emulator
) -> None:
    from platforms.errors import RateLimited

    assert configure(world, connection_id) == {}
    h.add_conversion(world.workspace_id)
    h.arm(emulator, "UetCapiEvents", "throttle")
    with pytest.raises(RateLimited):
        realtime.run(connection_id)
    assert statuses(connection_id) == {"pending": 1}
    realtime.run(connection_id)
    assert statuses(connection_id) == {"sent": 1}


def test_the_token_is_stored_encrypted_and_never_shown(world, connection_id, ms_app) -> None:
    assert configure(world, connection_id) == {}
    raw = db.session.execute(
        text("SELECT secrets FROM realtime_configs WHERE connection_id = :c"), {"c": connection_id}
    ).scalar_one()
    assert TOKEN not in raw
    assert realtime_settings.settings_values(db.session.get(RealtimeConfig, connection_id)) == {
        "tag_id": TAG,
        "token": TOKEN,
    }
    page = client_as(ms_app, "admin").get(
        f"/w/{world.workspace_id}/setup/connections/{connection_id}"
    )
    html = page.get_data(as_text=True)
    assert TOKEN not in html
    assert "Saved — leave empty to keep it" in html
    assert "pilot that needs enabling on your Microsoft Advertising account" in html


def test_the_connection_page_form_saves_checks_and_keeps_the_saved_token(
    world, connection_id, ms_app
) -> None:
    admin = client_as(ms_app, "admin")
    url = f"/w/{world.workspace_id}/setup/connections/{connection_id}"
    token = csrf_token(admin, url)
    bad = admin.post(
        f"{url}/realtime",
        data={"csrf_token": token, "realtime_enabled": "on", "realtime_tag_id": "abc",
              "realtime_token": "", "realtime_events": ["purchase", "nope"]},
    )  # fmt: skip
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert "This is not a valid UET tag ID" in body and "Unknown event: nope" in body
    assert db.session.get(RealtimeConfig, connection_id) is None

    ok = admin.post(
        f"{url}/realtime",
        data={"csrf_token": token, "realtime_enabled": "on", "realtime_tag_id": TAG,
              "realtime_token": TOKEN, "realtime_events": ["purchase"],
              "realtime_browser_tag": "on"},
    )  # fmt: skip
    assert ok.status_code == 303
    again = admin.post(  # the token field left empty: the saved token is kept
        f"{url}/realtime",
        data={"csrf_token": token, "realtime_enabled": "on", "realtime_tag_id": TAG,
              "realtime_token": "", "realtime_events": ["purchase", "signup"]},
    )  # fmt: skip
    assert again.status_code == 303
    db.session.expire_all()
    config = db.session.get(RealtimeConfig, connection_id)
    assert config.events == ["purchase", "signup"] and config.browser_tag is False
    assert realtime_settings.settings_values(config)["token"] == TOKEN
    member = client_as(ms_app, "member")
    assert member.post(f"{url}/realtime", data={"csrf_token": token}).status_code in (400, 403)


def test_the_pixel_is_told_the_public_settings_only_of_connections_that_opted_in(
    world, connection_id, ms_app
) -> None:
    from webapp.intake import tracking

    key = tracking.settings_for(world.workspace_id).public_key
    client = ms_app.test_client()
    empty = client.get(f"/t/tags.js?k={key}").get_data(as_text=True)
    assert "function" not in empty and "sourceloop.tags([" in empty  # no platform code at all
    assert configure(world, connection_id, browser_tag=False) == {}
    assert "function" not in client.get(f"/t/tags.js?k={key}").get_data(as_text=True)
    assert configure(world, connection_id, browser_tag=True) == {}
    answer = client.get(f"/t/tags.js?k={key}")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert "max-age=300" in answer.headers["Cache-Control"]
    body = answer.get_data(as_text=True)
    customer = db.session.get(Connection, connection_id).customer_id
    assert (
        f'tag: "microsoft_ads", events: ["purchase"], config: {{"ti": "{TAG}", "cid": "{customer}"}}'
        in body
    )
    assert re.search(r"run: function \(config, api\)", body)
    assert TOKEN not in body
    assert client.get("/t/tags.js?k=pk_nope").status_code == 404
    assert "bat.js" not in client.get("/t.js").get_data(as_text=True)  # t.js stays neutral


def test_a_new_conversion_from_the_api_nudges_the_real_time_job(
    world, connection_id, ms_app, redis
) -> None:
    from jobs.queues import PUSH, get_queue
    from webapp.accounts import api_keys

    assert configure(world, connection_id) == {}
    _, secret = api_keys.create(world.workspace_id, "test")
    before = {j.func_name for j in get_queue(PUSH, ms_app.config["REDIS_URL"]).jobs}
    assert "jobs.realtime.send_realtime" not in before
    answer = ms_app.test_client().post(
        "/api/v1/conversions",
        json={"event": "purchase", "external_id": "order-" + secrets.token_hex(4),
              "occurred_at": utcnow().isoformat(), "msclkid": h.click_id()},
        headers={"Authorization": f"Bearer {secret}"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.get_data(as_text=True)
    queued = get_queue(PUSH, ms_app.config["REDIS_URL"]).jobs
    assert [j.kwargs["connection_id"] for j in queued if j.func_name.endswith("send_realtime")] == [
        connection_id
    ]


def test_disconnecting_deletes_the_token_and_switches_the_path_off(world, connection_id) -> None:
    from webapp.connections import lifecycle

    assert configure(world, connection_id, browser_tag=True) == {}
    lifecycle.disconnect(h.admin_membership(world), db.session.get(Connection, connection_id))
    db.session.expire_all()
    config = db.session.get(RealtimeConfig, connection_id)
    assert (config.secrets, config.enabled, config.browser_tag) == (None, False, False)
    assert realtime_settings.browser_tags(world.workspace_id) == []
    assert realtime.run(connection_id).skipped


def test_a_run_that_died_after_the_call_is_resent_after_its_lease_with_the_same_event_id(
    world, connection_id, emulator, ms_app
) -> None:
    from sqlalchemy import update

    from platforms.base import AccountRef

    assert configure(world, connection_id) == {}
    h.add_conversion(world.workspace_id)
    connection = db.session.get(Connection, connection_id)
    config = db.session.get(RealtimeConfig, connection_id)
    platform = platform_registry().get("microsoft_ads")
    realtime.plan(connection, config, timedelta(days=7), utcnow())
    # A worker claims the row, its call reaches Microsoft, and it dies before recording.
    token, rows = realtime.claim(connection_id, 1000, timedelta(minutes=5), utcnow())
    events, _ = realtime.build_events(
        platform, rows, hashes=False, visitor_ids=False, required=False
    )
    settings = realtime_settings.settings_values(config)
    account = AccountRef(connection.account_id, connection.customer_id)
    with requests.Session() as session:
        assert platform.send_realtime_events(session, settings, account, events)[0].accepted

    assert realtime.run(connection_id).api_calls == 0  # the lease still runs: nothing resent
    db.session.execute(update(R).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert realtime.run(connection_id).sent == 1
    [event] = uet_events(emulator)
    assert event["repeats"] == 1  # sent twice with one eventId: Microsoft counts it once
    assert statuses(connection_id) == {"sent": 1}
    db.session.expire_all()
    assert db.session.scalar(select(R.attempts)) == 2
