"""The daily pull fan-out through real processes: the scheduler process hands the fan-out to a
real worker, the fan-out schedules one customer's pulls staggered in rq-scheduler, the scheduler
releases each at its time, and the workers pull them from the Microsoft Ads emulator: all succeed,
spread out instead of all at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Worker
from rq_scheduler import Scheduler
from sqlalchemy import select

from jobs.queues import DEFAULT
from tests.conftest import make_world, msads_environ, test_environ
from tests.helpers.processes import python_process, stop, wait_for
from tests.insights.test_pull import connect
from webapp.extensions import db
from webapp.models import Connection, Credential, InsightSyncState, JobRun, Workspace

pytestmark = pytest.mark.e2e

PAST_PULL_SECONDS = 4.0  # yesterday's pulls, whose median the fan-out plans with


@pytest.fixture
def env(_migrated: str, redis_url: str, emulator: str) -> dict[str, str]:
    return test_environ(
        _migrated,
        redis_url,
        SCHEDULER_INTERVAL="1",
        JOB_RETRY_SCALE="0.01",  # a pull deferred for want of a slot comes back within a second
        MSADS_REPORT_POLL_SECONDS="0.2",
        PUBLIC_URL="http://127.0.0.1:5000",
        **msads_environ(emulator),
    )


def _more_connections(first_id: int, count: int) -> list[int]:
    """``count`` more workspaces with a connection to an account of the same customer, on the
    same grant (as an agency's client workspaces are), each pulled daily before."""
    first = db.session.get(Connection, first_id)
    grant = db.session.get(Credential, first.credential_id)
    ids = [first_id]
    for index in range(count):
        workspace = Workspace(name=f"Client {index}")
        db.session.add(workspace)
        db.session.flush()
        credential = Credential(
            workspace_id=workspace.id,
            platform_key=grant.platform_key,
            status=Credential.ACTIVE,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
            scope=grant.scope,
        )
        db.session.add(credential)
        db.session.flush()
        connection = Connection(
            workspace_id=workspace.id,
            platform_key=first.platform_key,
            account_id=("80000011", "80000012")[index % 2],
            customer_id=first.customer_id,
            account_name="Client account",
            credential_id=credential.id,
            currency="USD",
        )
        db.session.add(connection)
        db.session.flush()
        ids.append(connection.id)
    finished = datetime.now(UTC) - timedelta(hours=20)
    for connection_id in ids:
        state = db.session.get(InsightSyncState, connection_id) or InsightSyncState(
            connection_id=connection_id
        )
        state.backfilled_at = finished - timedelta(days=2)
        state.last_status = InsightSyncState.SUCCEEDED
        state.last_started_at = finished - timedelta(seconds=PAST_PULL_SECONDS)
        state.last_finished_at = finished
        db.session.add(state)
    db.session.commit()
    return ids


def _pull_runs() -> list[JobRun]:
    db.session.expire_all()
    db.session.commit()
    return list(db.session.scalars(select(JobRun).where(JobRun.kind == "pull")))


def _fanout_runs() -> list[JobRun]:
    db.session.expire_all()
    db.session.commit()
    return list(db.session.scalars(select(JobRun).where(JobRun.kind == "pull_fanout")))


def test_the_daily_fanout_starts_one_customers_pulls_staggered_and_all_succeed(
    ms_app, redis, env, emulator, tmp_path: Path
) -> None:
    world = make_world()
    ids = _more_connections(connect(ms_app, world, emulator, "80000011"), 3)
    # The connect flow queued its own check and first pull: they are not the daily pull.
    redis.flushdb()
    db.session.execute(JobRun.__table__.delete())
    db.session.commit()

    workers = [
        # More workers than the customer's cap: enqueued all at once, three pulls would start
        # together and the third would be deferred (its run counts as started then).
        python_process(["-m", "jobs.worker"], env, tmp_path / f"worker{n}.log")
        for n in range(3)
    ]
    scheduler_proc = python_process(["-m", "jobs.scheduler"], env, tmp_path / "scheduler.log")
    try:
        wait_for(
            lambda: len(Worker.all(connection=redis)) == len(workers),
            timeout=120,
            what="the workers to register",
        )
        # The cron entry is daily at 05:00: schedule the same job one second out.
        scheduler = Scheduler(queue_name=DEFAULT, connection=redis)
        scheduler.enqueue_in(timedelta(seconds=1), "jobs.fanout.pull_fanout")
        planned: dict[int, datetime] = {}

        def fanned_out() -> bool:
            # Read the pulls waiting in rq-scheduler right as the fan-out finishes (the first
            # may already be on its way: its delay is under a second).
            waiting = {
                job.kwargs["connection_id"]: when.replace(tzinfo=UTC)
                for job, when in scheduler.get_jobs(with_times=True)
                if job.func_name == "jobs.pull.pull"
            }
            planned.update(waiting)
            return bool(waiting) and any(r.status == JobRun.SUCCEEDED for r in _fanout_runs())

        wait_for(fanned_out, timeout=120, interval=0.1, what="the fan-out to schedule the pulls")
        wait_for(
            lambda: (
                len(_pull_runs()) == len(ids)
                and all(r.status in (JobRun.SUCCEEDED, JobRun.FAILED) for r in _pull_runs())
            ),
            timeout=240,
            interval=0.5,
            what="the fan-out's pulls to finish",
        )
    finally:
        stop(scheduler_proc)
        for worker in workers:
            stop(worker)

    runs = _pull_runs()
    assert sorted(r.connection_id for r in runs) == sorted(ids)
    assert [r.status for r in runs] == [JobRun.SUCCEEDED] * len(ids), [r.error for r in runs]
    states = db.session.scalars(
        select(InsightSyncState).where(InsightSyncState.connection_id.in_(ids))
    ).all()
    assert all(s.last_status == InsightSyncState.SUCCEEDED for s in states)
    assert all(s.last_finished_at > datetime.now(UTC) - timedelta(minutes=10) for s in states)
    # Cap 2, 4 s pulls, 1 s scheduler: a start every (4 + 2) / 1.8 ≈ 3.3 s, jittered by at most
    # a fifth of that; rq-scheduler keeps whole seconds. Seen waiting: at least the last three.
    times = sorted(planned.values())
    assert len(times) >= len(ids) - 1, planned
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= 2 for gap in gaps), gaps
    # Each pull started at its time, not before; and the pulls did not start all at once.
    started = {r.connection_id: r.started_at for r in runs}
    assert all(started[cid] >= when for cid, when in planned.items()), (started, planned)
    starts = sorted(started.values())
    assert (starts[-1] - starts[0]).total_seconds() >= 2 * 3.3 - 2, starts
