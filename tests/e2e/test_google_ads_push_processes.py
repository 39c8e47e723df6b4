"""Pushing to Google through real processes: the RQ worker (``python -m jobs.worker``), a real
Redis and the Google emulator process. Conversions with a gclid reach the Data Manager API within
one push, a refused row is isolated while the others are delivered, and a second push sends
nothing again."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import google_environ, make_world, test_environ
from tests.connections.test_connect_google_ads import connect
from tests.helpers.google_ads import CLOSED_WON, US, add_conversion, click, configure, received
from tests.helpers.processes import python_process, stop, wait_for
from webapp.extensions import db
from webapp.models import ConversionDelivery, JobRun

pytestmark = pytest.mark.e2e
D = ConversionDelivery


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
        add_conversion(world, gclid)
    bad = click(google_emulator)
    add_conversion(world, bad, "10", currency="ZZZ")  # well formed, not ISO 4217: Google refuses it

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
    gclids = Counter(e["ad_identifiers"].get("gclid") for e in events)
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
