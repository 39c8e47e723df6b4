"""Every path that creates conversions nudges the real-time job (capability ``realtime_events``)
once per new conversion, never for a duplicate it ignored, and never fails the request it rides
on: the Stripe webhook, the conversion API and the pixel. A nudge that cannot be queued (Redis
down) leaves the conversion stored and the push fan-out's run sends it."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs.queues import PUSH, get_queue
from tests.conftest import make_world
from tests.helpers import push as h
from tests.intake.helpers import api_key, bearer, hit, pageview, pixel_key
from webapp.extensions import db
from webapp.intake import tracking
from webapp.intake.stripe_webhooks import sign
from webapp.models import (
    Conversion,
    ConversionEvent,
    JobRun,
    Membership,
    RealtimeDelivery,
)
from webapp.models.types import utcnow
from webapp.push import realtime

SECRET = "whsec_test_realtime_0123456789"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def world(ms_app, redis):
    world = make_world()
    tracking.provision(world.workspace_id)  # the built-in events, payment_received among them
    db.session.add(ConversionEvent(workspace_id=world.workspace_id, name="purchase", label="P"))
    db.session.commit()
    return world


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    """A Microsoft connection sending ``payment_received`` and ``purchase`` in real time."""
    connection_id = h.connect(ms_app, world, emulator)
    assert h.enable_realtime(world, connection_id, ("payment_received", "purchase")) == {}
    return connection_id


def realtime_jobs(app) -> list[int]:
    """The connection ids of the real-time jobs waiting in the queue."""
    queue = get_queue(PUSH, app.config["REDIS_URL"])
    return [j.kwargs["connection_id"] for j in queue.jobs if j.func_name.endswith("send_realtime")]


def realtime_runs() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).where(JobRun.kind == "realtime"))


def run_jobs(app) -> None:
    """What a worker would do: the queued jobs are taken (here: dropped), so a later nudge is a
    new job, not one refused as "already queued" by its id's time slot."""
    get_queue(PUSH, app.config["REDIS_URL"]).empty()


# --- Stripe -----------------------------------------------------------------------------------


@pytest.fixture
def stripe_hook(world) -> str:
    owner = db.session.get(Membership, world.memberships["owner"])
    tracking.set_stripe_secret(world.workspace_id, owner, SECRET)
    return f"/webhooks/stripe/{tracking.settings_for(world.workspace_id).public_key}"


def checkout(payment: str) -> dict:
    return {
        "id": "evt_" + secrets.token_hex(4),
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_" + secrets.token_hex(4),
                "payment_intent": payment,
                "payment_status": "paid",
                "amount_total": 4999,
                "currency": "usd",
                "metadata": {"msclkid": h.click_id()},
                "created": int(time.time()) - 60,
            }
        },
    }


def twin(payment: str) -> dict:
    """payment_intent.succeeded of the same payment: the same conversion."""
    return {
        "id": "evt_" + secrets.token_hex(4),
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment, "amount_received": 4999, "currency": "usd"}},
    }


def post_stripe(client, url: str, event: dict):
    body = json.dumps(event).encode()
    return client.post(
        url, data=body, headers={"Stripe-Signature": sign(body, SECRET)},
        content_type="application/json",
    )  # fmt: skip


def test_a_stripe_payment_nudges_the_real_time_job_once_and_a_replay_does_not(
    ms_app, world, connection_id, stripe_hook
) -> None:
    client = ms_app.test_client()
    first = post_stripe(client, stripe_hook, checkout("pi_rt_1"))
    assert first.status_code == 200 and first.json["outcome"] == "created"
    assert realtime_jobs(ms_app) == [connection_id]
    assert realtime_runs() == 1

    run_jobs(ms_app)
    replay = post_stripe(client, stripe_hook, checkout("pi_rt_1"))
    twin_event = post_stripe(client, stripe_hook, twin("pi_rt_1"))
    assert (replay.json["outcome"], twin_event.json["outcome"]) == ("duplicate", "duplicate")
    assert realtime_jobs(ms_app) == [] and realtime_runs() == 1

    # The nudged job sends it (the same run a worker makes).
    assert realtime.run(connection_id).sent == 1
    row = db.session.scalar(select(RealtimeDelivery))
    assert (row.event_id, row.status) == ("stripe:pi_rt_1", "sent")


def test_a_refund_is_no_new_conversion_and_nudges_nothing(
    ms_app, world, connection_id, stripe_hook
) -> None:
    client = ms_app.test_client()
    post_stripe(client, stripe_hook, checkout("pi_rt_2"))
    run_jobs(ms_app)
    refund = {
        "id": "evt_refund",
        "type": "charge.refunded",
        "data": {"object": {"id": "ch_1", "payment_intent": "pi_rt_2", "currency": "usd",
                            "amount": 4999, "amount_refunded": 1000}},
    }  # fmt: skip
    assert post_stripe(client, stripe_hook, refund).json["outcome"] == "adjusted"
    assert realtime_jobs(ms_app) == [] and realtime_runs() == 1


def test_a_stripe_payment_while_redis_is_down_is_stored_answered_and_sent_later(
    ms_app, world, connection_id, stripe_hook
) -> None:
    good = ms_app.config["REDIS_URL"]
    ms_app.config["REDIS_URL"] = DEAD_REDIS
    try:
        answer = post_stripe(ms_app.test_client(), stripe_hook, checkout("pi_rt_3"))
    finally:
        ms_app.config["REDIS_URL"] = good
    assert answer.status_code == 200 and answer.json["outcome"] == "created"
    assert db.session.scalar(select(Conversion.external_id)) == "stripe:pi_rt_3"
    assert realtime_jobs(ms_app) == []
    # The push fan-out's check finds the work and its run sends it.
    assert realtime.due_connection_ids() == [connection_id]
    assert realtime.run(connection_id).sent == 1


def test_a_nudge_that_fails_in_any_other_way_does_not_fail_the_request(
    ms_app, world, connection_id, stripe_hook, monkeypatch
) -> None:
    from webapp.background import enqueue as background

    def broken(*args, **kwargs):
        raise RuntimeError("the queue is on fire")

    monkeypatch.setattr(background, "enqueue_realtime", broken)
    answer = post_stripe(ms_app.test_client(), stripe_hook, checkout("pi_rt_4"))
    assert answer.status_code == 200 and answer.json["outcome"] == "created"
    api = post_api(ms_app, api_key(world.workspace_id), "order-broken")
    assert api.status_code == 201, api.get_data(as_text=True)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Conversion)) == 2


# --- the conversion API -------------------------------------------------------------------------


def post_api(ms_app, key: str, *rows: str):
    body = [
        {"event": "purchase", "external_id": ext, "occurred_at": utcnow().isoformat(),
         "msclkid": h.click_id()}
        for ext in rows
    ]  # fmt: skip
    payload = body[0] if len(body) == 1 else {"conversions": body}
    return ms_app.test_client().post("/api/v1/conversions", json=payload, headers=bearer(key))


def test_the_api_nudges_for_new_conversions_only(ms_app, world, connection_id) -> None:
    key = api_key(world.workspace_id)
    assert post_api(ms_app, key, "order-1").status_code == 201
    assert realtime_jobs(ms_app) == [connection_id] and realtime_runs() == 1
    run_jobs(ms_app)
    assert post_api(ms_app, key, "order-1").status_code == 200  # a retry: "existing"
    batch = post_api(ms_app, key, "order-1", "order-1")
    assert batch.json["created"] == 0
    assert realtime_jobs(ms_app) == [] and realtime_runs() == 1
    both = post_api(ms_app, key, "order-2", "order-3")
    assert both.json["created"] == 2
    assert realtime_jobs(ms_app) == [connection_id] and realtime_runs() == 2  # one job for both


def test_a_backfill_older_than_the_platforms_window_nudges_nothing(
    ms_app, world, connection_id
) -> None:
    """The run never plans a conversion the platform would refuse as too old, so its arrival
    queues no job; a batch that also holds a recent one does."""
    key = api_key(world.workspace_id)
    old = (utcnow() - timedelta(days=8)).isoformat()  # the UET window is 7 days
    rows = [{"event": "purchase", "external_id": f"history-{i}", "occurred_at": old,
             "msclkid": h.click_id()} for i in range(3)]  # fmt: skip
    client = ms_app.test_client()
    answer = client.post("/api/v1/conversions", json={"conversions": rows}, headers=bearer(key))
    assert answer.json["created"] == 3
    assert realtime_jobs(ms_app) == [] and realtime_runs() == 0
    rows.append({**rows[0], "external_id": "today", "occurred_at": utcnow().isoformat()})
    rows.append({**rows[0], "external_id": "history-3"})
    answer = client.post("/api/v1/conversions", json={"conversions": rows}, headers=bearer(key))
    assert answer.json["created"] == 2
    assert realtime_jobs(ms_app) == [connection_id] and realtime_runs() == 1


# --- the pixel ----------------------------------------------------------------------------------


def test_a_pixel_event_nudges_once_and_a_retried_beacon_does_not(
    ms_app, world, connection_id
) -> None:
    key = pixel_key(world.workspace_id)
    client = ms_app.test_client()
    event = pageview(
        "https://a.example/thanks", t="event", e="purchase", id="evt_rt_0123456789",
        p={"value": "20", "currency": "USD"},
    )  # fmt: skip
    assert hit(client, key, event).status_code == 204
    assert realtime_jobs(ms_app) == [connection_id] and realtime_runs() == 1
    run_jobs(ms_app)
    assert hit(client, key, event).status_code == 204  # the same event id again
    assert realtime_jobs(ms_app) == [] and realtime_runs() == 1
    # A page view nudges nothing; another event does.
    assert hit(client, key, pageview("https://a.example/")).status_code == 204
    assert realtime_jobs(ms_app) == []
    other = {**event, "id": "evt_rt_9876543210"}
    assert hit(client, key, other).status_code == 204
    assert realtime_jobs(ms_app) == [connection_id] and realtime_runs() == 2
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Conversion)) == 2


def test_a_pixel_event_while_redis_is_down_is_stored_and_answered(
    ms_app, world, connection_id
) -> None:
    key = pixel_key(world.workspace_id)
    event = pageview("https://a.example/thanks", t="event", e="purchase", id="evt_rt_down_0001")
    good = ms_app.config["REDIS_URL"]
    ms_app.config["REDIS_URL"] = DEAD_REDIS
    try:
        assert hit(ms_app.test_client(), key, event).status_code == 204
    finally:
        ms_app.config["REDIS_URL"] = good
    db.session.commit()
    assert db.session.scalar(select(Conversion.external_id)) == "px:evt_rt_down_0001"
    assert realtime.due_connection_ids() == [connection_id]


def test_an_event_no_connection_sends_in_real_time_nudges_nothing(ms_app, world) -> None:
    key = api_key(world.workspace_id)
    assert post_api(ms_app, key, "order-nobody").status_code == 201
    assert realtime_jobs(ms_app) == [] and realtime_runs() == 0


# --- the list of paths --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Each module that creates conversions, and the module that nudges the real-time job for it.
CREATORS = {
    "webapp/views/intake/conversion_api.py": (
        "webapp/views/intake/conversion_api.py",
        "after_save(",
    ),
    "webapp/intake/stripe_webhooks.py": ("webapp/views/intake/webhooks.py", "after_save("),
    "webapp/intake/collect.py": ("webapp/views/intake/pixel.py", "after_save("),
}
_CREATES = re.compile(r"\bconversions\.(?:insert|save)\(|\bConversion\(|insert\(Conversion\b")


def test_every_path_that_creates_conversions_nudges_the_real_time_job() -> None:
    """A new way in (an import, a CRM sync, manual entry) must join this list with its nudge."""
    creators = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "webapp").rglob("*.py")
        if _CREATES.search(path.read_text()) and "models" not in path.parts
    }
    assert creators == set(CREATORS)
    for nudger, call in CREATORS.values():
        assert call in (ROOT / nudger).read_text(), nudger
