"""Pushing to Google through real processes: the RQ worker (``python -m jobs.worker``), a real
Redis and the Google emulator process. Conversions with a gclid reach the Data Manager API within
one push, a refused row is isolated while the others are delivered, and a second push sends
nothing again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from tests.conftest import google_environ, make_world, test_environ
from tests.connections.test_connect_google_ads import connect
from tests.helpers.processes import python_process, stop, wait_for
from webapp.extensions import db
from webapp.models import Connection, ConversionDelivery, JobRun
from webapp.models.types import utcnow

pytestmark = pytest.mark.e2e
D = ConversionDelivery
US = "1234567890"
CLOSED_WON = "700000001"


@pytest.fixture
def world(gads_app, redis):
    return make_world()


@pytest.fixture
def env(_migrated: str, redis_url: str, google_emulator: str) -> dict[str, str]:
    return test_environ(
        _migrated,
        redis_url,
        JOB_RETRY_SCALE="0.01",
        PUSH_LEASE_SECONDS="3",
        **google_environ(google_emulator),
    )


def configure(world, connection_id: int, goals: dict[str, str]) -> None:
    from tests.helpers.push import admin_membership
    from webapp.push import config as push_config

    push_config.fetch_goals(connection_id)
    connection = db.session.get(Connection, connection_id)
    errors = push_config.save(
        admin_membership(world),
        connection,
        enabled=True,
        enhanced_conversions=False,
        default_currency="USD",
        mappings=[push_config.MappingInput(e, g, "event", "") for e, g in goals.items()],
    )
    assert not errors, errors


def click(emulator: str, hours_ago: float = 2) -> str:
    answer = requests.post(
        f"{emulator}/_emulator/clicks",
        json={"customer_id": US, "kind": "gclid", "hours_ago": hours_ago},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["gclid"]


def add(world, gclid: str, value: str, currency: str = "USD") -> None:
    from webapp.intake import conversions

    row = conversions.ConversionInput(
        event="purchase",
        occurred_at=utcnow() - timedelta(minutes=61),
        external_id=f"order-{gclid[-8:]}",
        value=Decimal(value),
        currency=currency,
        click_ids={"gclid": gclid},
    )
    conversions.insert(db.session.connection(), world.workspace_id, [row], "api")
    db.session.commit()


def received(emulator: str) -> list[dict]:
    answer = requests.get(f"{emulator}/_emulator/events", timeout=10)
    answer.raise_for_status()
    body = answer.json()
    return body["events"] if isinstance(body, dict) else body


def statuses(connection_id: int) -> Counter:
    db.session.expire_all()
    db.session.commit()
    return Counter(db.session.scalars(select(D.status).where(D.connection_id == connection_id)))


def test_conversions_reach_google_through_a_worker_and_a_bad_one_is_isolated(
    gads_app, world, google_emulator, env, redis, tmp_path: Path
) -> None:
    from webapp.background.enqueue import request_push

    connection_id = connect(gads_app, world, google_emulator, US)
    configure(world, connection_id, {"purchase": CLOSED_WON})
    good = [click(google_emulator) for _ in range(5)]
    for gclid in good:
        add(world, gclid, "49.90")
    bad = click(google_emulator)
    add(world, bad, "10", currency="ZZZ")  # well formed, not ISO 4217: Google refuses it

    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    try:
        request_push(connection_id)
        wait_for(
            lambda: statuses(connection_id) == {"sent": 5, "failed": 1},
            timeout=90,
            what="the push",
        )
        again = request_push(connection_id)  # nothing left: Google receives nothing again
        wait_for(lambda: finished(again), timeout=60, what="the second push")
    finally:
        stop(worker)

    events = received(google_emulator)
    gclids = Counter(e["adIdentifiers"]["gclid"] for e in events if e.get("adIdentifiers"))
    assert {g: gclids[g] for g in good} == dict.fromkeys(good, 1)  # each delivered once
    failed = db.session.scalar(
        select(D).where(D.connection_id == connection_id, D.status == "failed")
    )
    assert failed.error_code == "INVALID_CURRENCY_CODE" and failed.click_id == bad


def finished(run_id: int) -> bool:
    db.session.expire_all()
    db.session.commit()
    run = db.session.get(JobRun, run_id)
    return run is not None and run.finished_at is not None
