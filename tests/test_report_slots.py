"""Per-customer report slots: the daily pull stays under a platform's declared report limit."""

from __future__ import annotations

import time

import pytest
from rq_scheduler import Scheduler
from sqlalchemy import select

from jobs.queues import PULL, get_queue
from jobs.report_slots import give_back, report_slot, take
from tests.conftest import make_world
from tests.fake_platform import FakePlatform
from webapp.extensions import db
from webapp.models import Connection, JobRun
from webapp.services.job_runs import enqueue
from webapp.services.report_limits import report_gate


def test_a_customer_never_has_more_slots_than_its_cap(redis) -> None:
    key = "report-slots:test:cust-1"
    assert take(redis, key, 2, "a", 60) and take(redis, key, 2, "b", 60)
    assert not take(redis, key, 2, "c", 60)
    assert take(redis, "report-slots:test:cust-2", 2, "c", 60)  # another customer is apart
    give_back(redis, key, "a")
    assert take(redis, key, 2, "c", 60)


def test_a_dead_holders_slot_frees_when_its_lease_ends(redis) -> None:
    key = "report-slots:test:lease"
    assert take(redis, key, 1, "dead", 1)
    assert not take(redis, key, 1, "next", 60)
    time.sleep(1.1)
    assert take(redis, key, 1, "next", 60)


def test_the_slot_is_given_back_when_the_pull_ends_or_fails(redis) -> None:
    key = "report-slots:test:ctx"
    with pytest.raises(RuntimeError), report_slot(redis, key, 1, "x", 60) as taken:
        assert taken
        raise RuntimeError("pull failed")
    with report_slot(redis, key, 1, "y", 60) as taken:
        assert taken


@pytest.fixture
def limited(monkeypatch):
    from platforms.base import ReportLimits

    monkeypatch.setattr(FakePlatform, "report_limits", ReportLimits(in_flight_per_customer=1))


def _connection(customer: str) -> int:
    world = make_world()
    c = Connection(
        workspace_id=world.workspace_id, platform_key="fake", account_id="a1", customer_id=customer
    )
    db.session.add(c)
    db.session.commit()
    return c.id


def test_the_gate_follows_the_plugins_declaration(app, limited) -> None:
    gate = report_gate(_connection("cust-9"))
    assert gate is not None and gate.cap == 1 and gate.key == "report-slots:fake:cust-9"


def test_no_declared_limit_means_no_gate(app) -> None:
    assert report_gate(_connection("cust-9")) is None


def test_a_pull_with_its_customers_slots_taken_waits_without_using_an_attempt(
    app, redis, limited
) -> None:
    from rq import SimpleWorker

    connection_id = _connection("cust-7")
    gate = report_gate(connection_id)
    assert take(redis, gate.key, gate.cap, "another-pull", 60)
    run_id = enqueue("pull", connection_id=connection_id)
    pull_queue = get_queue(PULL, app.config["REDIS_URL"])
    SimpleWorker([pull_queue], connection=redis).work(burst=True)

    run = db.session.scalars(select(JobRun).where(JobRun.id == run_id)).one()
    db.session.refresh(run)
    assert run.status == JobRun.RETRYING and "already running" in run.message
    scheduled = list(Scheduler(queue_name=PULL, connection=redis).get_jobs())  # every queue's
    assert len(scheduled) == 1
    assert scheduled[0].kwargs["attempt"] == 1  # a wait, not a failed attempt
    assert scheduled[0].kwargs["connection_id"] == connection_id
