"""The real-time event path through real processes: the RQ worker (``python -m jobs.worker``), a
real Redis and the emulator process. A conversion posted to the API is sent to Microsoft's UET
Conversions API within seconds (the API nudges the connection's job; no scheduler cycle), once,
and a throttled call is retried by the job runtime (through the scheduler process) until it
goes through, still once."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from tests.conftest import client_as, make_world, msads_environ, test_environ
from tests.helpers import push as h
from tests.helpers.processes import python_process, stop, wait_for
from webapp.accounts import api_keys
from webapp.extensions import db
from webapp.models import ConversionEvent, RealtimeDelivery
from webapp.models.types import utcnow

pytestmark = pytest.mark.e2e
R = RealtimeDelivery


@pytest.fixture
def world(ms_app, redis):
    world = make_world()
    db.session.add(ConversionEvent(workspace_id=world.workspace_id, name="purchase", label="P"))
    db.session.commit()
    return world


@pytest.fixture
def env(_migrated: str, redis_url: str, emulator: str) -> dict[str, str]:
    return test_environ(
        _migrated,
        redis_url,
        SCHEDULER_INTERVAL="1",
        JOB_RETRY_SCALE="0.01",  # the retry-after of a throttled call, scaled down
        PUSH_LEASE_SECONDS="3",
        **msads_environ(emulator),
    )


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    connection_id = h.connect(ms_app, world, emulator)
    assert h.enable_realtime(world, connection_id) == {}
    return connection_id


def uet_events(emulator: str) -> list[dict]:
    return requests.get(f"{emulator}/_emulator/uet/events", timeout=10).json()["events"]


def statuses(connection_id: int) -> Counter:
    db.session.expire_all()
    db.session.commit()
    return Counter(db.session.scalars(select(R.status).where(R.connection_id == connection_id)))


def post_conversion(ms_app, world, external_id: str) -> None:
    _, secret = api_keys.create(world.workspace_id, "e2e")
    answer = ms_app.test_client().post(
        "/api/v1/conversions",
        json={"event": "purchase", "external_id": external_id, "value": 80, "currency": "USD",
              "occurred_at": utcnow().isoformat(), "msclkid": h.click_id()},
        headers={"Authorization": f"Bearer {secret}"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.get_data(as_text=True)
    # The in-process request shares this test's session: end its read, or SQLite keeps the
    # worker's writes waiting (a real web process ends its session with each request).
    db.session.commit()


def test_a_conversion_from_the_api_reaches_the_uet_conversions_api_within_seconds(
    ms_app, world, emulator, env, connection_id, tmp_path: Path
) -> None:
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    try:
        external_id = "order-" + secrets.token_hex(4)
        post_conversion(ms_app, world, external_id)
        wait_for(lambda: len(uet_events(emulator)) == 1, timeout=60, what="the UET event")
        wait_for(lambda: statuses(connection_id) == {"sent": 1}, timeout=20, what="the ledger")
    finally:
        stop(worker)
    [event] = uet_events(emulator)
    assert (event["event_id"], event["event_name"], event["repeats"]) == (
        external_id,
        "purchase",
        0,
    )
    assert event["event"]["customData"]["value"] == 80


def test_a_throttled_call_is_retried_by_the_worker_and_counted_once(
    ms_app, world, emulator, env, connection_id, tmp_path: Path
) -> None:
    h.arm(emulator, "UetCapiEvents", "throttle", count=2)
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    # Retries are scheduled jobs: the scheduler process puts them back on the queue.
    scheduler = python_process(["-m", "jobs.scheduler"], env, tmp_path / "scheduler.log")
    try:
        post_conversion(ms_app, world, "order-throttled")
        wait_for(lambda: statuses(connection_id) == {"sent": 1}, timeout=120, what="the retries")
    finally:
        stop(scheduler)
        stop(worker)
    [event] = uet_events(emulator)
    assert (event["event_id"], event["repeats"]) == ("order-throttled", 0)
    calls = requests.get(f"{emulator}/_emulator/calls", timeout=10).json()["calls"]
    assert [c["status"] for c in calls if c["operation"] == "UetCapiEvents"] == [429, 429, 200]


def test_a_stripe_payment_reaches_the_uet_conversions_api_once_and_its_page_says_so(
    ms_app, world, emulator, env, connection_id, tmp_path: Path
) -> None:
    """The webhook nudges the worker's job (a replay does not: the event goes once), and the
    conversion page and the read API then show it sent, with the same event id."""
    from webapp.intake import tracking
    from webapp.intake.stripe_webhooks import sign
    from webapp.models import Conversion, Membership

    secret = "whsec_e2e_realtime_0123456789"
    tracking.provision(world.workspace_id)
    tracking.set_stripe_secret(
        world.workspace_id, db.session.get(Membership, world.memberships["owner"]), secret
    )
    # The saved token is kept (an empty one changes nothing).
    assert h.enable_realtime(world, connection_id, ("payment_received",), token="") == {}
    hook = f"/webhooks/stripe/{tracking.settings_for(world.workspace_id).public_key}"
    body = json.dumps(
        {"id": "evt_e2e", "type": "checkout.session.completed",
         "data": {"object": {"id": "cs_e2e", "payment_intent": "pi_e2e", "payment_status": "paid",
                             "amount_total": 12000, "currency": "usd",
                             "metadata": {"msclkid": h.click_id()}}}}
    ).encode()  # fmt: skip
    db.session.commit()
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    try:
        for outcome in ("created", "duplicate"):  # Stripe delivers again: a replay
            answer = ms_app.test_client().post(
                hook, data=body, content_type="application/json",
                headers={"Stripe-Signature": sign(body, secret)},
            )  # fmt: skip
            assert answer.status_code == 200 and answer.json["outcome"] == outcome
            db.session.commit()  # end the in-process request's read (see post_conversion)
        wait_for(lambda: len(uet_events(emulator)) == 1, timeout=60, what="the UET event")
        wait_for(lambda: statuses(connection_id) == {"sent": 1}, timeout=20, what="the ledger")
    finally:
        stop(worker)
    [event] = uet_events(emulator)
    assert (event["event_id"], event["event_name"], event["repeats"]) == (
        "stripe:pi_e2e",
        "payment_received",
        0,
    )
    conversion = db.session.scalar(select(Conversion))
    _, key = api_keys.create(world.workspace_id, "read")
    read = ms_app.test_client().get(
        "/api/v1/conversions",
        query_string={"external_id": "stripe:pi_e2e"},
        headers={"Authorization": f"Bearer {key}"},
    )
    [state] = read.json["conversion"]["realtime"]
    assert (state["state"], state["event_id"], state["attempts"]) == ("sent", "stripe:pi_e2e", 1)
    page = client_as(ms_app, "member").get(f"/w/{world.workspace_id}/conversions/{conversion.id}")
    html = page.get_data(as_text=True)
    assert 'data-testid="realtime-now"' in html and 'data-state="sent"' in html
    assert 'data-kind="realtime" data-outcome="sent"' in html
