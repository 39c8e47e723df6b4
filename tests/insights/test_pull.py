"""The daily pull against the real emulator process: totals per level equal the emulator's, an
overlapping re-pull picks up late conversions without duplicating, and every reporting fault
(Pending too long, expired link, no-data success, Error, 117, 207) is handled."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from platforms.base import AccountRef, DateWindow
from platforms.microsoft_ads.reporting import PollPolicy
from tests.conftest import client_as, make_world
from tests.connections.test_connect_microsoft_ads import pick, sign_in
from webapp.connections.credentials import session_for_connection
from webapp.extensions import db, platform_registry
from webapp.insights.sync import last_complete_day, run_pull
from webapp.models import (
    AdEntity,
    Connection,
    GoalDiagnosticsDaily,
    InsightDaily,
    InsightSyncState,
    JobRun,
)

pytestmark = pytest.mark.e2e
LEVELS = ("campaign", "ad_group", "ad")


@pytest.fixture
def world(ms_app):
    return make_world()


@pytest.fixture
def msads(ms_app):
    """The app's Microsoft plugin with a recording, non-waiting sleep."""
    platform = platform_registry().get("microsoft_ads")
    platform.sleeps = []
    platform.sleep = platform.sleeps.append
    return platform


def connect(app, world, emulator: str, account_id: str = "80000011") -> int:
    admin = client_as(app, "admin")
    picker = sign_in(admin, emulator, world.workspace_id)
    assert pick(admin, picker, account_id).status_code == 303
    return db.session.scalar(select(Connection.id).where(Connection.account_id == account_id))


def expected(emulator: str, account_id: str, level: str, start: date, end: date) -> dict:
    url = f"{emulator}/_emulator/metrics"
    params = {"account_id": account_id, "level": level, "start": start, "end": end}
    return requests.get(url, params=params, timeout=10).json()


def stored(connection_id: int, level: str, start: date, end: date) -> dict:
    row = db.session.execute(
        select(
            func.count(),
            func.sum(InsightDaily.impressions),
            func.sum(InsightDaily.clicks),
            func.sum(InsightDaily.spend),
            func.sum(InsightDaily.conversions),
            func.sum(InsightDaily.revenue),
        ).where(
            InsightDaily.connection_id == connection_id,
            InsightDaily.level == level,
            InsightDaily.day.between(start, end),
        )
    ).one()
    money = [Decimal(str(v or 0)).quantize(Decimal("0.01")) for v in row[3:]]
    return {
        "rows": row[0],
        "impressions": row[1] or 0,
        "clicks": row[2] or 0,
        "spend": str(money[0]),
        "conversions": str(money[1]),
        "revenue": str(money[2]),
    }


def assert_totals_match(emulator: str, cid: int, account_id: str, start: date, end: date) -> None:
    for level in LEVELS:
        want = expected(emulator, account_id, level, start, end)
        got = stored(cid, level, start, end)
        assert got == {k: want[k] for k in got}, level


def test_pulled_totals_equal_the_emulator_per_level(ms_app, world, emulator, msads) -> None:
    cid = connect(ms_app, world, emulator, "80000012")
    summary = run_pull(cid, days=10)
    end = last_complete_day()
    start = end - timedelta(days=9)
    assert f"for {start} to {end}" in summary
    assert_totals_match(emulator, cid, "80000012", start, end)
    assert_totals_match(emulator, cid, "80000012", end - timedelta(days=3), end)  # a sub-range
    currencies = set(db.session.scalars(select(InsightDaily.currency).distinct()))
    assert currencies == {"GBP"}
    kinds = {(e.level, e.status) for e in db.session.scalars(select(AdEntity))}
    assert ("campaign", "Active") in kinds and any(level == "ad" for level, _ in kinds)
    state = db.session.get(InsightSyncState, cid)
    assert state.last_status == "succeeded" and state.backfilled_at is not None
    connection = db.session.get(Connection, cid)
    assert connection.last_pull_at is not None and connection.auto_tagging is True
    assert db.session.scalar(select(func.count()).select_from(GoalDiagnosticsDaily)) >= 0


def test_overlapping_repull_updates_late_numbers_and_duplicates_nothing(
    ms_app, world, emulator, msads
) -> None:
    cid = connect(ms_app, world, emulator)
    end = last_complete_day()
    ms_app.config["INSIGHTS_BACKFILL_DAYS"] = 20
    run_pull(cid)  # first pull: the (configured) backfill
    start = end - timedelta(days=19)
    assert db.session.get(InsightSyncState, cid).window_start == start
    before = stored(cid, "campaign", start, end)
    old_days = (start, end - timedelta(days=14))
    old_before = stored(cid, "ad", *old_days)
    since = end - timedelta(days=4)
    requests.post(
        f"{emulator}/_emulator/late_attribution",
        json={"account_id": "80000011", "since": since.isoformat(), "percent": 25},
        timeout=10,
    ).raise_for_status()
    run_pull(cid)  # later pulls: the rolling 14 days
    assert db.session.get(InsightSyncState, cid).window_start == end - timedelta(days=13)
    after = stored(cid, "campaign", start, end)
    assert after["rows"] == before["rows"] and after["spend"] == before["spend"]
    assert Decimal(after["conversions"]) > Decimal(before["conversions"])
    assert_totals_match(emulator, cid, "80000011", start, end)
    assert stored(cid, "ad", *old_days) == old_before
    keys = (
        select(InsightDaily.level, InsightDaily.entity_id, InsightDaily.day).distinct().subquery()
    )
    assert db.session.scalar(select(func.count()).select_from(keys)) == db.session.scalar(
        select(func.count()).select_from(InsightDaily)
    )


def _arm(emulator: str, **fault: object) -> None:
    requests.post(f"{emulator}/_emulator/faults", json=fault, timeout=10).raise_for_status()


def _calls(emulator: str, operation: str) -> list[dict]:
    calls = requests.get(f"{emulator}/_emulator/calls", timeout=10).json()["calls"]
    return [c for c in calls if c["operation"] == operation]


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ({"operation": "SubmitGenerateReport", "kind": "report_error", "count": 1}, "resubmit"),
        ({"operation": "DownloadReport", "kind": "internal", "status": 403, "count": 1}, "expired"),
        ({"operation": "SubmitGenerateReport", "kind": "throttle", "count": 2}, 60),
        ({"operation": "PollGenerateReport", "kind": "throttle", "count": 1}, 60),
        ({"operation": "SubmitGenerateReport", "kind": "too_many_reports", "count": 1}, 30),
    ],
    ids=["error-resubmits", "expired-url-repolls", "117-submit", "117-poll", "207"],
)
def test_reporting_faults_are_ridden_out(ms_app, world, emulator, msads, fault, check) -> None:
    cid = connect(ms_app, world, emulator)
    _arm(emulator, **fault)
    run_pull(cid, days=5)
    end = last_complete_day()
    assert_totals_match(emulator, cid, "80000011", end - timedelta(days=4), end)
    if check == "resubmit":
        assert len(_calls(emulator, "SubmitGenerateReport")) == 4  # 3 reports + 1 resubmit
    elif check == "expired":
        downloads = _calls(emulator, "DownloadReport")
        assert [c["status"] for c in downloads][:2] == [403, 200]
    else:
        assert any(s >= check for s in msads.sleeps), msads.sleeps


def test_pending_too_long_fails_the_run_for_a_retry_then_recovers(
    ms_app, world, emulator, msads, redis
) -> None:
    from jobs.pull import pull

    cid = connect(ms_app, world, emulator)
    msads.poll_policy = PollPolicy(max_wait=0)  # the emulator answers Pending twice first
    pull(connection_id=cid, days=3)
    run = db.session.scalars(select(JobRun).where(JobRun.kind == "pull")).one()
    run_id = run.id
    assert run.status == "retrying" and "still pending" in run.message
    state = db.session.get(InsightSyncState, cid)
    assert state.last_status == "failed" and "still pending" in state.last_error
    assert state.backfilled_at is None  # the next run backfills again
    msads.poll_policy = PollPolicy()
    pull(connection_id=cid, days=3, run_id=run_id, attempt=2)
    assert db.session.get(JobRun, run_id).status == "succeeded"
    end = last_complete_day()
    assert_totals_match(emulator, cid, "80000011", end - timedelta(days=2), end)


def test_success_without_a_link_means_no_data(ms_app, world, emulator, msads) -> None:
    cid = connect(ms_app, world, emulator)
    account = AccountRef("80000011", db.session.get(Connection, cid).customer_id)
    long_ago = date.today() - timedelta(days=900)  # before the account had any data
    window = DateWindow(long_ago, long_ago + timedelta(days=6))
    rows = list(msads.pull_insights(session_for_connection(cid), account, window))
    assert rows == []
    assert len(_calls(emulator, "SubmitGenerateReport")) == 3
    assert _calls(emulator, "DownloadReport") == []


def test_fanout_pulls_every_active_account_on_the_pull_queue(
    ms_app, world, emulator, msads, redis, burst_worker
) -> None:
    from rq_scheduler import Scheduler

    from jobs.fanout import pull_fanout

    first = connect(ms_app, world, emulator, "80000011")
    second = connect(ms_app, world, emulator, "80000012")
    ms_app.config["INSIGHTS_BACKFILL_DAYS"] = 3
    # The first account's reports all fail: its pull fails; the other account's still lands.
    _arm(emulator, operation="SubmitGenerateReport", kind="report_error", count=3)
    pull_fanout()
    # Both accounts are of one customer with a cap of 2 report slots: scheduled, staggered, on
    # the pull queue; the scheduler process would move them there at their time.
    scheduler = Scheduler(connection=redis)
    planned = list(scheduler.get_jobs(with_times=True))
    assert sorted(job.kwargs["connection_id"] for job, _ in planned) == sorted([first, second])
    assert {job.origin for job, _ in planned} == {"pull"}
    for job, _ in planned:
        scheduler.enqueue_job(job)
    assert redis.llen("rq:queue:pull") == 2
    burst_worker()
    db.session.expire_all()
    states = {s.connection_id: s.last_status for s in db.session.scalars(select(InsightSyncState))}
    assert sorted(states.values()) == ["failed", "succeeded"]
    ok = next(cid for cid, status in states.items() if status == "succeeded")
    assert ok in (first, second)
    assert db.session.scalar(
        select(func.count()).select_from(InsightDaily).where(InsightDaily.connection_id == ok)
    )


def test_cli_pulls_one_connection_or_all(ms_app, world, emulator, msads) -> None:
    cid = connect(ms_app, world, emulator, "80000012")
    runner = ms_app.test_cli_runner()
    result = runner.invoke(args=["jobs", "pull", "--connection", str(cid), "--days", "2"])
    assert result.exit_code == 0, result.output
    end = last_complete_day()
    assert (
        f"connection {cid}: " in result.output
        and f"{end - timedelta(days=1)} to {end}" in result.output
    )
    assert_totals_match(emulator, cid, "80000012", end - timedelta(days=1), end)
    assert runner.invoke(args=["jobs", "pull", "--days", "0"]).exit_code == 2
    _arm(emulator, operation="GetCampaignsByAccountId", kind="internal", count=20)
    failed = runner.invoke(args=["jobs", "pull", "--days", "1"])
    assert failed.exit_code == 1 and "FAILED" in failed.output


def test_diagnostics_say_why_an_upload_was_not_attributed(ms_app, world, emulator, msads) -> None:
    from datetime import UTC, datetime

    from platforms.base import ConversionUpload

    cid = connect(ms_app, world, emulator)
    account = AccountRef("80000011", db.session.get(Connection, cid).customer_id)
    upload = ConversionUpload(
        row_id=1,
        goal_name="Closed won",
        occurred_at=datetime.now(UTC) - timedelta(hours=1),
        click_id="f" * 32,  # a click Microsoft never saw
        value=Decimal("10"),
        currency="USD",
    )
    assert msads.push_conversions(session_for_connection(cid), account, [upload])[0].accepted
    run_pull(cid, days=1)
    rows = db.session.scalars(select(GoalDiagnosticsDaily)).all()
    closed_won = [r for r in rows if r.goal_name == "Closed won"]
    assert sum(r.unattributed_count for r in closed_won) == 1
    assert any("NoMatchingClickFound" in r.reasons for r in closed_won)
    page = client_as(ms_app, "member").get(f"/w/{world.workspace_id}/insights/")
    assert "NoMatchingClickFound (1)" in page.get_data(as_text=True)
