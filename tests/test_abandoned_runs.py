"""A killed worker's records are closed as abandoned by the next push fan-out, and pages say so.

The RQ side is real: jobs are real RQ jobs in a real Redis, left "started" by a worker whose key
is gone, exactly what a SIGKILL leaves (RQ cleans its own registries much later)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq.worker import Worker

from jobs.enqueue import is_alive
from tests.conftest import client_as
from webapp.extensions import db
from webapp.models import Connection, InsightSyncState, JobRun, PushRun
from webapp.models.types import utcnow
from webapp.services.job_runs import reap_abandoned


def _started_job(redis, job_id: str, worker_name: str) -> Job:
    """An RQ job in the state a worker leaves it while running it."""
    job = Queue("push", connection=redis).enqueue("jobs.fanout.push_fanout", job_id=job_id)
    job.set_status("started")
    job.worker_name = worker_name
    job.save()
    return job


@pytest.fixture
def connection_id(world) -> int:
    connection = Connection(
        workspace_id=world.workspace_id, platform_key="fake", account_id="901", account_name="Shop"
    )
    db.session.add(connection)
    db.session.commit()
    return connection.id


def _running(kind: str, rq_job_id: str | None, connection_id: int, ago: timedelta) -> JobRun:
    run = JobRun(
        kind=kind,
        rq_job_id=rq_job_id,
        connection_id=connection_id,
        status=JobRun.RUNNING,
        started_at=utcnow() - ago,
    )
    db.session.add(run)
    db.session.commit()
    return run


def test_a_started_job_is_alive_only_while_its_worker_is(app, redis) -> None:
    _started_job(redis, "push-1-dead", "killed-worker")
    _started_job(redis, "push-1-live", "live-worker")
    redis.hset(Worker.redis_worker_namespace_prefix + "live-worker", "state", "busy")
    assert not is_alive("push-1-dead")
    assert is_alive("push-1-live")
    assert not is_alive("no-such-job")
    Queue("push", connection=redis).enqueue("jobs.fanout.push_fanout", job_id="push-1-queued")
    assert is_alive("push-1-queued")


def test_the_next_cycle_closes_the_job_run_push_run_and_pull_state_of_a_killed_worker(
    app, world, redis, connection_id: int
) -> None:
    _started_job(redis, "push-9-dead", "killed-worker")
    _started_job(redis, "pull-9-dead", "killed-worker")
    _started_job(redis, "push-9-live", "live-worker")
    redis.hset(Worker.redis_worker_namespace_prefix + "live-worker", "state", "busy")
    push_dead = _running("push", "push-9-dead", connection_id, timedelta(minutes=3))
    pull_dead = _running("pull", "pull-9-dead", connection_id, timedelta(minutes=3))
    push_live = _running("push", "push-9-live", connection_id, timedelta(minutes=3))
    dead_push_run = PushRun(
        connection_id=connection_id, job_run_id=push_dead.id, started_at=utcnow() - timedelta(2)
    )
    live_push_run = PushRun(connection_id=connection_id, job_run_id=push_live.id)
    state = InsightSyncState(
        connection_id=connection_id,
        last_status=InsightSyncState.RUNNING,
        last_started_at=pull_dead.started_at + timedelta(seconds=1),
    )
    db.session.add_all([dead_push_run, live_push_run, state])
    db.session.commit()

    assert reap_abandoned(is_alive) == 2
    db.session.expire_all()
    assert (push_dead.status, pull_dead.status, push_live.status) == (
        JobRun.ABANDONED,
        JobRun.ABANDONED,
        JobRun.RUNNING,
    )
    assert push_dead.is_finished and push_dead.finished_at is not None
    assert dead_push_run.finished_at is not None and dead_push_run.is_abandoned
    assert live_push_run.finished_at is None
    assert state.last_status == InsightSyncState.ABANDONED
    assert "worker stopped" in state.last_error

    member = client_as(app, "member")
    base = f"/w/{world.workspace_id}/setup/connections/{connection_id}"
    troubleshoot = member.get(f"{base}/push/troubleshoot").get_data(as_text=True)
    assert "abandoned" in troubleshoot and "Abandoned: the worker stopped" in troubleshoot
    page = member.get(base).get_data(as_text=True)
    assert 'pill-abandoned">abandoned' in page


def test_a_run_without_an_rq_job_waits_for_the_long_cutoff(app, redis, connection_id: int) -> None:
    recent = _running("push", None, connection_id, timedelta(minutes=3))
    old = _running("push", None, connection_id, timedelta(minutes=30))
    assert reap_abandoned(is_alive) == 1
    db.session.expire_all()
    assert (recent.status, old.status) == (JobRun.RUNNING, JobRun.ABANDONED)


def test_a_pull_started_by_hand_is_not_taken_for_an_abandoned_job(
    app, redis, connection_id: int
) -> None:
    _started_job(redis, "pull-8-dead", "killed-worker")
    dead = _running("pull", "pull-8-dead", connection_id, timedelta(hours=3))
    dead.status = JobRun.ABANDONED
    state = InsightSyncState(
        connection_id=connection_id,
        last_status=InsightSyncState.RUNNING,
        last_started_at=utcnow() - timedelta(minutes=1),  # `flask jobs pull`, after that job
    )
    db.session.add(state)
    db.session.commit()
    reap_abandoned(is_alive)
    db.session.expire_all()
    assert state.last_status == InsightSyncState.RUNNING
