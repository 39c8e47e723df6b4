"""No database transaction is open while a job waits on a platform.

Every job that calls Microsoft (push with adjustments and a token refresh, pull with hierarchy,
metrics, auto-tagging and diagnostics, the connection check, switching auto-tagging) runs
through the real job runtime against the emulator process with ``PLATFORM_CALL_GUARD=raise``:
a request sent inside a transaction fails the job. On PostgreSQL, a push stalled inside the
upload call is watched from outside: no backend is "idle in transaction" and ``ALTER TABLE``'s
lock on the ledger is granted at once.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select, text

from tests.conftest import make_world
from tests.helpers import push as h
from webapp.extensions import db, platform_registry
from webapp.models import Connection, ConversionAdjustment, Credential, JobRun
from webapp.models.types import utcnow
from webapp.services import push, push_config
from webapp.services.background import enqueue_pull_now, request_push
from webapp.services.credentials import session_for_connection
from webapp.services.job_runs import enqueue
from webapp.services.platform_calls import TransactionOpenDuringPlatformCall, job_scope


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    return connection_id


def _goals_call(connection_id: int):
    connection = db.session.get(Connection, connection_id)
    platform = push_config.platform_for(connection)
    account = push_config.account_ref(connection)
    session = session_for_connection(connection_id)
    return lambda: platform.list_conversion_goals(session, account)


def test_a_platform_call_inside_a_transaction_fails_a_job_and_passes_after_commit(
    ms_app, connection_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.services import platform_calls

    logged: list[str] = []
    monkeypatch.setattr(platform_calls.log, "error", lambda message, *args: logged.append(message))
    with job_scope():
        call = _goals_call(connection_id)
        assert not db.session().in_transaction()  # the session helper ends its own reads
        assert call()
        db.session.execute(select(Connection.id)).all()  # a read: a transaction is open
        with pytest.raises(TransactionOpenDuringPlatformCall, match="GET|POST"):
            call()
        db.session.commit()
        assert call()
        ms_app.config["PLATFORM_CALL_GUARD"] = "log"  # production: say so, do not break
        db.session.execute(select(Connection.id)).all()
        assert call()
        assert "transaction is open while calling the platform" in " ".join(logged)
        db.session.commit()
    db.session.execute(select(Connection.id)).all()
    assert call()  # outside a job (a web request) the check stays out of the way


def _succeeded(run_id: int) -> None:
    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    assert (run.status, run.error) == (JobRun.SUCCEEDED, None), run.kind


def test_every_job_calls_the_platform_with_no_transaction_open(
    ms_app, world, emulator, connection_id: int, burst_worker
) -> None:
    assert ms_app.config["PLATFORM_CALL_GUARD"] == "raise"
    conversion_id, click = h.add_conversion(world.workspace_id, value="200")
    first = request_push(connection_id)
    burst_worker()
    _succeeded(first)
    assert h.accepted_click_ids(emulator) == [click]

    # A refund to send as an adjustment, with an access token that has expired: the push
    # refreshes it at the token endpoint first.
    db.session.add(
        ConversionAdjustment(
            workspace_id=world.workspace_id,
            conversion_id=conversion_id,
            kind="refund",
            new_value=Decimal("0"),
            currency="USD",
            occurred_at=utcnow() - timedelta(minutes=1),
            external_id="re_1",
        )
    )
    credential = db.session.get(Credential, db.session.get(Connection, connection_id).credential_id)
    credential.expires_at = utcnow() - timedelta(minutes=1)
    stale, credential_id = credential.access_token, credential.id
    db.session.commit()
    run_id = request_push(connection_id)
    burst_worker()
    _succeeded(run_id)
    db.session.expire_all()
    assert db.session.get(Credential, credential_id).access_token != stale  # it did refresh
    assert "1 adjustment(s) sent" in db.session.get(JobRun, run_id).message

    ms_app.config["INSIGHTS_BACKFILL_DAYS"] = 3
    platform = platform_registry().get("microsoft_ads")
    platform.sleep = lambda seconds: None  # report polling without waiting
    pull_id = enqueue_pull_now(connection_id, world.workspace_id)
    check_id = enqueue("check_connection", connection_id=connection_id)
    switch_id = enqueue("set_auto_tagging", connection_id=connection_id, enabled=True)
    burst_worker()
    for run_id in (pull_id, check_id, switch_id):
        _succeeded(run_id)
    assert "diagnostic days" in db.session.get(JobRun, pull_id).message


@pytest.mark.postgres
def test_a_push_stalled_in_the_upload_holds_no_transaction_or_lock(
    ms_app, world, emulator, connection_id: int, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("watches PostgreSQL's pg_stat_activity (run with TEST_DATABASE_URL)")
    for _ in range(3):
        h.add_conversion(world.workspace_id)
    h.arm(emulator, "ApplyOfflineConversions", "slow", delay_seconds=4)
    db.session.commit()
    done: list[object] = []

    def run_push() -> None:
        with ms_app.app_context():
            done.append(push.run(connection_id))

    watcher = create_engine(database_url, poolclass=__import__("sqlalchemy.pool").pool.NullPool)
    thread = threading.Thread(target=run_push)
    started = time.monotonic()
    thread.start()
    samples = []
    try:
        while thread.is_alive() and time.monotonic() - started < 30:
            time.sleep(0.3)
            with watcher.connect() as conn:
                idle = (
                    conn.execute(
                        text(
                            "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%' "
                            # between two statements a worker is idle in a transaction for a
                            # moment; waiting on the platform would be seconds
                            "AND state_change < clock_timestamp() - interval '1 second'"
                        )
                    )
                    .scalars()
                    .all()
                )
                conn.execute(text("SET lock_timeout = '1s'"))
                conn.execute(text("LOCK TABLE conversion_deliveries IN ACCESS EXCLUSIVE MODE"))
                conn.rollback()
            samples.append((time.monotonic() - started, idle, thread.is_alive()))
    finally:
        thread.join(60)
        watcher.dispose()
    assert done and done[0].sent == 3
    during_call = [s for s in samples if s[0] > 1.0 and s[2]]
    assert len(during_call) >= 3, samples  # the watcher really looked while the call stalled
    assert all(idle == [] for _, idle, _ in samples), samples
