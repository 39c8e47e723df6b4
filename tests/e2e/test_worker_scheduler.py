"""The real ``rq worker`` and the real scheduler, as processes, on a real Redis."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rq_scheduler import Scheduler
from sqlalchemy import select

from jobs.queues import DEFAULT
from jobs.schedule import SCHEDULE, listing
from tests.conftest import test_environ
from tests.helpers.processes import python_process, stop, wait_for
from webapp.extensions import db
from webapp.models import JobRun

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(_migrated: str, redis_url: str) -> dict[str, str]:
    return test_environ(_migrated, redis_url, SCHEDULER_INTERVAL="1")


def _runs(kind: str) -> list[JobRun]:
    db.session.expire_all()
    db.session.commit()
    return list(db.session.scalars(select(JobRun).where(JobRun.kind == kind)))


def test_scheduled_job_runs_on_real_worker(app, redis, env, tmp_path: Path) -> None:
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    scheduler_proc = python_process(["-m", "jobs.scheduler"], env, tmp_path / "scheduler.log")
    try:
        scheduler = Scheduler(queue_name=DEFAULT, connection=redis)
        wait_for(
            lambda: all(row.registered for row in listing(scheduler)),
            timeout=20,
            what="the scheduler to register the cron list",
        )
        # The cron entries run every 2 minutes / daily; schedule the same job one second out
        # so the test sees the scheduler hand it to the worker without waiting for the clock.
        scheduler.enqueue_in(timedelta(seconds=1), "jobs.fanout.push_fanout")
        wait_for(
            lambda: any(r.status == JobRun.SUCCEEDED for r in _runs("push_fanout")),
            timeout=30,
            what="push_fanout to run on the worker",
        )
        run = _runs("push_fanout")[0]
        assert run.rq_job_id and run.finished_at is not None
        assert "0 push job(s) enqueued for 0 connection(s) with work due" in run.message
        log = (tmp_path / "worker.log").read_text()
        assert f"[job={run.rq_job_id}]" in log  # the job id is in the job's log lines
    finally:
        stop(scheduler_proc)
        stop(worker)


def test_restarting_the_scheduler_keeps_the_schedule(app, redis, env, tmp_path: Path) -> None:
    scheduler = Scheduler(queue_name=DEFAULT, connection=redis)

    def snapshot() -> list[tuple[str, object]]:
        return sorted((job.id, when) for job, when in scheduler.get_jobs(with_times=True))

    first = python_process(["-m", "jobs.scheduler"], env, tmp_path / "s1.log")
    try:
        wait_for(lambda: len(snapshot()) == len(SCHEDULE), timeout=20, what="first registration")
        before = snapshot()
    finally:
        stop(first)
    second = python_process(["-m", "jobs.scheduler"], env, tmp_path / "s2.log")
    try:
        wait_for(
            lambda: "schedule reconciled" in (tmp_path / "s2.log").read_text(),
            timeout=20,
            what="second scheduler to reconcile",
        )
        after = snapshot()
    finally:
        stop(second)
    assert after == before  # same ids, same next run times: nothing doubled or dropped
    assert {job_id for job_id, _ in after} == {entry.id for entry in SCHEDULE}
    log = (tmp_path / "s2.log").read_text()
    assert "added=[] kept=" in log and "replaced=[] removed=[]" in log
