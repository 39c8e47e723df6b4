"""The job runtime on a real Redis with an in-process burst worker: records and error mapping."""

from __future__ import annotations

import pytest
from rq_scheduler import Scheduler
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from jobs.enqueue import JOBS, JobSpec
from jobs.queues import DEFAULT
from jobs.runtime import JobContext, backoff_delay, job
from platforms.errors import InvalidRequest, RateLimited, ReconnectRequired, TransientError
from webapp.extensions import db
from webapp.models import Connection, Credential, JobRun
from webapp.services.job_runs import enqueue

CALLS: list[int] = []


@job("test_ok")
def ok_job(ctx: JobContext, *, number: int) -> str:
    ctx.progress(50, "halfway")
    CALLS.append(number)
    return f"got {number}"


@job("test_fail")
def failing_job(ctx: JobContext, *, kind: str, connection_id: int | None = None) -> None:
    errors = {
        "rate": RateLimited("slow down", retry_after=42, code="117"),
        "transient": TransientError("server error"),
        "reconnect": ReconnectRequired("grant revoked", code="invalid_grant"),
        "invalid": InvalidRequest("bad request", code="1234"),
        "crash": ZeroDivisionError("boom"),
    }
    raise errors[kind]


@pytest.fixture(autouse=True)
def _test_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs are enqueued by name: name this module's jobs for the test."""
    monkeypatch.setitem(JOBS, "test_ok", JobSpec(f"{__name__}.ok_job", DEFAULT))
    monkeypatch.setitem(JOBS, "test_fail", JobSpec(f"{__name__}.failing_job", DEFAULT))


def _run(run_id: int) -> JobRun:
    db.session.expire_all()
    return db.session.get(JobRun, run_id)


def test_success_records_progress_and_message(app, burst_worker, redis) -> None:
    run_id = enqueue("test_ok", number=7)
    assert _run(run_id).status == JobRun.QUEUED
    burst_worker()
    run = _run(run_id)
    assert (run.status, run.progress, run.message) == ("succeeded", 100, "got 7")
    assert run.started_at and run.finished_at


def test_same_job_id_is_not_enqueued_twice(app, redis) -> None:
    assert enqueue("test_ok", job_id="push-1-123", number=1) is not None
    assert enqueue("test_ok", job_id="push-1-123", number=1) is None


def test_rate_limited_is_rescheduled_after_retry_after(app, burst_worker, redis) -> None:
    run_id = enqueue("test_fail", kind="rate")
    burst_worker()
    run = _run(run_id)
    assert run.status == JobRun.RETRYING and "42s" in run.message
    scheduled = list(Scheduler(queue_name=DEFAULT, connection=redis).get_jobs(with_times=True))
    assert len(scheduled) == 1
    retry, _when = scheduled[0]
    assert retry.kwargs["attempt"] == 2 and retry.kwargs["run_id"] == run_id


def test_transient_backs_off_and_gives_up_after_max_attempts(app, burst_worker, redis) -> None:
    run_id = enqueue("test_fail", kind="transient")
    burst_worker()
    assert _run(run_id).status == JobRun.RETRYING
    failing_job(kind="transient", run_id=run_id, attempt=6)
    run = _run(run_id)
    assert run.status == JobRun.FAILED and "gave up after 6 attempts" in run.error


def test_backoff_grows_and_is_capped() -> None:
    assert 7.5 <= backoff_delay(1) <= 15
    assert backoff_delay(3) <= 60
    assert max(backoff_delay(30) for _ in range(50)) <= 15 * 60


def test_reconnect_required_marks_the_connection(app, world, burst_worker, redis) -> None:
    credential = Credential(
        workspace_id=world.workspace_id,
        platform_key="fake",
        access_token="a",
        refresh_token="r",
        status="active",
    )
    db.session.add(credential)
    db.session.flush()
    connection = Connection(
        workspace_id=world.workspace_id,
        platform_key="fake",
        account_id="901",
        account_name="Fake Shop",
        credential_id=credential.id,
    )
    db.session.add(connection)
    db.session.commit()
    connection_id, credential_id = connection.id, credential.id
    run_id = enqueue("test_fail", kind="reconnect", connection_id=connection_id)
    burst_worker()
    assert _run(run_id).status == JobRun.FAILED
    db.session.expire_all()
    assert db.session.get(Connection, connection_id).status == Connection.RECONNECT_NEEDED
    assert db.session.get(Credential, credential_id).status == Credential.REVOKED


def test_invalid_request_fails_without_retry(app, burst_worker, redis) -> None:
    run_id = enqueue("test_fail", kind="invalid")
    burst_worker()
    run = _run(run_id)
    assert run.status == JobRun.FAILED and "[1234] bad request" in run.error
    assert not list(Scheduler(queue_name=DEFAULT, connection=redis).get_jobs())


def test_crash_is_recorded_and_raised_to_rq(app, burst_worker, redis) -> None:
    from rq.registry import FailedJobRegistry

    from jobs.queues import get_queue

    run_id = enqueue("test_fail", kind="crash")
    burst_worker()
    assert "ZeroDivisionError" in _run(run_id).error
    assert len(FailedJobRegistry(queue=get_queue(DEFAULT, app.config["REDIS_URL"]))) == 1


def test_fanout_runs_with_no_connections(app, burst_worker, redis) -> None:

    enqueue("pull_fanout")
    burst_worker()
    runs = db.session.scalars(select(JobRun).where(JobRun.kind == "pull_fanout")).all()
    assert runs[0].status == "succeeded"


def test_a_refusal_of_a_replaced_grant_does_not_undo_a_reconnect(app, world) -> None:
    from webapp.services.credentials import mark_reconnect_needed

    old, new = (
        Credential(
            workspace_id=world.workspace_id,
            platform_key="fake",
            access_token="a",
            refresh_token="r",
            status="active",
        )
        for _ in range(2)
    )
    db.session.add_all([old, new])
    db.session.flush()
    connection = Connection(
        workspace_id=world.workspace_id,
        platform_key="fake",
        account_id="901",
        account_name="Fake Shop",
        credential_id=new.id,
    )
    db.session.add(connection)
    db.session.commit()
    ids = connection.id, old.id, new.id
    # A job that started on the old grant is refused after a person reconnected.
    mark_reconnect_needed(ids[0], "refused", credential_id=ids[1])
    db.session.expire_all()
    assert db.session.get(Connection, ids[0]).status == Connection.ACTIVE
    assert db.session.get(Credential, ids[2]).status == "active"
    # The same refusal about the grant the connection really uses does count.
    mark_reconnect_needed(ids[0], "refused", credential_id=ids[2])
    db.session.expire_all()
    assert db.session.get(Connection, ids[0]).status == Connection.RECONNECT_NEEDED


def test_runs_of_a_killed_worker_are_closed_by_the_next_fanout(app, burst_worker, redis) -> None:
    from datetime import timedelta

    from webapp.models.types import utcnow

    long_ago = utcnow() - timedelta(hours=1)
    dead = JobRun(kind="push", status=JobRun.RUNNING, rq_job_id="push-9-1", started_at=long_ago)
    recent = JobRun(kind="push", status=JobRun.RUNNING, rq_job_id="push-9-2", started_at=utcnow())
    db.session.add_all([dead, recent])
    db.session.commit()
    dead_id, recent_id = dead.id, recent.id
    enqueue("push_fanout")
    burst_worker()
    assert "worker stopped" in _run(dead_id).error and _run(dead_id).status == JobRun.ABANDONED
    assert _run(recent_id).status == JobRun.RUNNING  # may still be working: left alone


def _locked() -> OperationalError:
    return OperationalError("UPDATE job_runs ...", {}, Exception("database is locked"))


@job("test_locked")
def locked_job(ctx: JobContext) -> None:
    raise _locked()


def test_a_locked_database_is_retried_not_failed(app, burst_worker, redis, monkeypatch) -> None:
    monkeypatch.setitem(JOBS, "test_locked", JobSpec(f"{__name__}.locked_job", DEFAULT))
    run_id = enqueue("test_locked")
    burst_worker()
    run = _run(run_id)
    assert run.status == JobRun.RETRYING and "database was busy" in run.message
    assert len(list(Scheduler(queue_name=DEFAULT, connection=redis).get_jobs())) == 1


def test_the_run_record_is_closed_when_recording_the_failure_hits_the_lock(
    app, burst_worker, redis, monkeypatch
) -> None:
    """Recording the failure itself meets "database is locked" twice: a fresh session and a
    retry still close the record (it used to stay "running" forever)."""
    from webapp.services import job_runs

    real_finish, refusals = job_runs.finish, []

    def busy_finish(run_id: int, **kwargs: object) -> None:
        if len(refusals) < 2:
            refusals.append(run_id)
            raise _locked()
        real_finish(run_id, **kwargs)

    monkeypatch.setattr(job_runs, "finish", busy_finish)
    monkeypatch.setattr("jobs.runtime.time.sleep", lambda seconds: None)
    run_id = enqueue("test_fail", kind="invalid")
    burst_worker()
    run = _run(run_id)
    assert refusals == [run_id, run_id]
    assert run.status == JobRun.FAILED and "[1234] bad request" in run.error
    assert run.finished_at is not None


def test_a_job_asked_for_twice_leaves_no_record_queued(app, burst_worker, redis) -> None:
    """Two callers enqueue the same idempotent job id at once; RQ runs it once, and the other
    record is closed as run by its twin rather than left "queued"."""
    from webapp.services import job_runs

    first = job_runs.create_queued("test_ok", rq_job_id="twin-1")
    second = job_runs.create_queued("test_ok", rq_job_id="twin-1")
    from jobs.enqueue import enqueue_job

    enqueue_job("test_ok", run_id=second, job_id="twin-1", number=1)
    burst_worker()
    assert _run(second).status == JobRun.SUCCEEDED
    assert _run(first).status == JobRun.SUCCEEDED
    assert f"Ran as run {second}" in _run(first).message
