"""Pushing through real processes: the RQ worker (``python -m jobs.worker``), the scheduler
(``python -m jobs.scheduler``), a real Redis and the emulator process. Conversions reach
Microsoft within one scheduler cycle, survive a SIGKILLed worker without being counted twice,
get through a storm of throttling, server errors and dropped connections, and wait out a revoked
grant until Reconnect."""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from rq_scheduler import Scheduler
from sqlalchemy import select

from jobs.queues import DEFAULT
from tests.conftest import make_world, msads_environ, test_environ
from tests.helpers import push as h
from tests.helpers.processes import python_process, stop, wait_for
from webapp.extensions import db
from webapp.models import Connection, ConversionDelivery
from webapp.models.types import utcnow

pytestmark = pytest.mark.e2e
D = ConversionDelivery


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def env(_migrated: str, redis_url: str, emulator: str) -> dict[str, str]:
    return test_environ(
        _migrated,
        redis_url,
        SCHEDULER_INTERVAL="1",
        JOB_RETRY_SCALE="0.01",  # 117's 60 s → 0.6 s; backoff 15 s → 0.15 s
        PUSH_LEASE_SECONDS="3",
        **msads_environ(emulator),
    )


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    return connection_id


def counted(emulator: str) -> Counter:
    """How many times Microsoft counted each click id (ignored duplicates are not counted)."""
    return Counter(h.accepted_click_ids(emulator))


def statuses(connection_id: int) -> Counter:
    db.session.expire_all()
    db.session.commit()
    return Counter(db.session.scalars(select(D.status).where(D.connection_id == connection_id)))


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_a_conversion_from_the_api_reaches_microsoft_within_one_scheduler_cycle(
    ms_app, world, emulator, env, connection_id, redis, tmp_path: Path
) -> None:
    from webapp.services import conversions

    click = h.click_id()
    row = conversions.ConversionInput(
        event="purchase",
        # The msclkid comes with the conversion, so the click's time is unknown and the wait
        # after the click (an hour in these tests) runs from the conversion.
        occurred_at=utcnow() - timedelta(minutes=61),
        external_id="order-1001",
        value=__import__("decimal").Decimal("49.90"),
        currency="USD",
        click_ids={"msclkid": click},
    )
    conversions.insert(db.session.connection(), world.workspace_id, [row], "api")
    db.session.commit()
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    scheduler_proc = python_process(["-m", "jobs.scheduler"], env, tmp_path / "scheduler.log")
    try:
        # The cron entry fires every 2 minutes; schedule the same fan-out 1 s out instead.
        Scheduler(queue_name=DEFAULT, connection=redis).enqueue_in(
            timedelta(seconds=1), "jobs.fanout.push_fanout"
        )
        wait_for(lambda: counted(emulator) == {click: 1}, timeout=40, what="the conversion")
    finally:
        stop(scheduler_proc)
        stop(worker)
    [sent] = [r["Request"] for r in h.received(emulator)]
    assert (sent["ConversionName"], sent["ConversionValue"]) == ("Closed won", 49.9)
    assert statuses(connection_id) == {"sent": 1}


def test_a_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(
    ms_app, world, emulator, env, connection_id, redis, tmp_path: Path
) -> None:
    from webapp.services.background import request_push

    clicks = [h.add_conversion(world.workspace_id)[1] for _ in range(6)]
    h.arm(emulator, "ApplyOfflineConversions", "slow", delay_seconds=4)
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker1.log")
    try:
        request_push(connection_id)
        wait_for(lambda: statuses(connection_id) == {"sending": 6}, timeout=30, what="a claim")
        horses = children(worker.pid)
        for pid in [*horses, worker.pid]:  # the work horse is mid-request: kill it too
            os.kill(pid, signal.SIGKILL)
        worker.wait(5)
    finally:
        stop(worker)
    assert statuses(connection_id) == {"sending": 6}  # stranded with a lease
    restarted = python_process(["-m", "jobs.worker"], env, tmp_path / "worker2.log")
    try:
        wait_for(
            lambda: (
                D.SENDING not in statuses(connection_id)
                or db.session.scalar(select(D.claimed_until).limit(1)) < utcnow()
            ),
            timeout=10,
            what="the lease to expire",
        )
        request_push(connection_id)
        wait_for(lambda: statuses(connection_id) == {"sent": 6}, timeout=40, what="all sent")
    finally:
        stop(restarted)
    assert counted(emulator) == Counter({click: 1 for click in clicks})


def test_throttling_server_errors_and_dropped_connections_still_get_everything_sent(
    ms_app, world, emulator, env, connection_id, redis, tmp_path: Path
) -> None:
    from webapp.services.background import request_push

    clicks = [h.add_conversion(world.workspace_id)[1] for _ in range(5)]
    h.arm(emulator, "ApplyOfflineConversions", "throttle", count=2)
    h.arm(emulator, "ApplyOfflineConversions", "internal", count=1)
    h.arm(emulator, "ApplyOfflineConversions", "drop", count=1)
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    scheduler_proc = python_process(["-m", "jobs.scheduler"], env, tmp_path / "scheduler.log")
    try:
        request_push(connection_id)
        wait_for(lambda: statuses(connection_id) == {"sent": 5}, timeout=60, what="all sent")
    finally:
        stop(scheduler_proc)
        stop(worker)
    assert counted(emulator) == Counter({click: 1 for click in clicks})
    calls = requests.get(f"{emulator}/_emulator/calls", timeout=10).json()
    applies = [c for c in calls["calls"] if c.get("operation") == "ApplyOfflineConversions"]
    assert len(applies) >= 5  # four refused calls, then the one that went through


def test_a_revoked_grant_keeps_rows_pending_until_reconnect_then_the_backlog_drains(
    ms_app, world, emulator, env, connection_id, redis, tmp_path: Path
) -> None:
    from webapp.services.background import request_push

    h.revoke_grant(emulator, connection_id)
    clicks = [h.add_conversion(world.workspace_id)[1] for _ in range(3)]
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    try:
        request_push(connection_id)

        def needs_reconnect() -> bool:
            db.session.expire_all()
            db.session.commit()
            return db.session.get(Connection, connection_id).status == Connection.RECONNECT_NEEDED

        wait_for(needs_reconnect, timeout=30, what="Reconnect needed")
        assert h.received(emulator) == []
        assert set(statuses(connection_id)) <= {"pending"}  # nothing lost, nothing failed
        h.reconnect(ms_app, world, emulator, connection_id)  # its hook enqueues the push
        wait_for(lambda: statuses(connection_id) == {"sent": 3}, timeout=40, what="the backlog")
    finally:
        stop(worker)
    assert counted(emulator) == Counter({click: 1 for click in clicks})
