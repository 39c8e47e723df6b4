"""The daily pull's staggering plan: each customer's pulls start spread by its report cap and the
expected pull time, with bounded jitter, inside the window, each connection once; the fan-out
schedules them through rq-scheduler and plans a connection once a day however often it runs."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from rq_scheduler import Scheduler
from sqlalchemy import func, select

from tests.conftest import make_world
from tests.fake_platform import FakePlatform
from webapp.extensions import db
from webapp.insights.pull_plan import (
    DEFAULT_PULL_SECONDS,
    PullTarget,
    daily_pull_plan,
    expected_pull_seconds,
    plan_pulls,
)
from webapp.models import Connection, InsightSyncState, JobRun


def _targets(sizes: dict[str, tuple[int, int]], expected: float = 30.0) -> list[PullTarget]:
    """``{group: (connections, cap)}``, connection ids numbered across groups."""
    targets, next_id = [], 1
    for group, (count, cap) in sizes.items():
        for _ in range(count):
            targets.append(PullTarget(next_id, group, cap, expected))
            next_id += 1
    return targets


def _starts_by_group(plan) -> dict[str, list[float]]:
    starts: dict[str, list[float]] = defaultdict(list)
    for pull in plan.pulls:
        starts[pull.group].append(pull.delay)
    return {group: sorted(delays) for group, delays in starts.items()}


@pytest.mark.parametrize("seed", range(5))
def test_no_more_than_the_cap_of_a_customer_is_planned_at_once(seed: int) -> None:
    expected = 30.0
    sizes = {"a": (40, 2), "b": (17, 1), "c": (9, 3), "d": (1, 2)}
    plan = plan_pulls(
        _targets(sizes, expected), window_seconds=4 * 3600, jitter=0.2, rng=random.Random(seed)
    )
    assert plan.squeezed == ()
    for group, starts in _starts_by_group(plan).items():
        cap = sizes[group][1]
        # A pull that takes the expected time has ended before the one ``cap`` places later starts,
        # even once rq-scheduler has cut each start to whole seconds (the 1 s resolution).
        for first, later in zip(starts, starts[cap:], strict=False):
            assert later - first >= expected + 1.0 - 1e-9, (group, first, later)
            assert math.floor(later) - math.floor(first) >= expected, (group, first, later)
        # And the group is not spread wider than it needs: about expected/cap between starts.
        assert starts[-1] <= len(starts) * (expected + 1.0) / (cap - 0.2)


def test_jitter_moves_each_start_by_at_most_its_share_of_the_spacing() -> None:
    expected, cap, jitter = 30.0, 2, 0.25
    spacing = (expected + 1.0) / (cap - jitter)  # 1 s: rq-scheduler's resolution
    targets = _targets({"a": (50, cap)}, expected)
    plans = [
        plan_pulls(targets, jitter=jitter, rng=random.Random(seed)).pulls for seed in range(20)
    ]
    offsets = []
    for pulls in plans:
        for index, pull in enumerate(sorted(pulls, key=lambda p: p.connection_id)):
            offset = pull.delay - index * spacing
            assert -1e-9 <= offset <= jitter * spacing + 1e-9
            offsets.append(offset)
    # The jitter is there: offsets cover most of their range, not one fixed point.
    assert max(offsets) - min(offsets) > 0.8 * jitter * spacing
    still = plan_pulls(targets, jitter=0.0, resolution=0.0, rng=random.Random(1)).pulls
    assert sorted(p.delay for p in still) == pytest.approx([i * expected / 2 for i in range(50)])


def test_a_customer_too_big_for_the_window_is_squeezed_into_it() -> None:
    window = 600.0
    targets = _targets({"agency": (100, 2), "small": (3, 2)}, expected=60.0)  # 50 min at cap
    plan = plan_pulls(targets, window_seconds=window, rng=random.Random(3))
    assert plan.squeezed == ("agency",)
    assert all(0 <= p.delay <= window for p in plan.pulls)
    agency = _starts_by_group(plan)["agency"]
    assert agency[-1] > 0.9 * window  # spread over the whole window, not bunched at its start
    assert max(b - a for a, b in zip(agency, agency[1:], strict=False)) < 2 * window / 100


def test_every_connection_is_planned_exactly_once() -> None:
    targets = _targets({"a": (30, 2), "b": (5, 1)})
    no_limit = [PullTarget(100 + i, None, None, 30.0) for i in range(4)]
    plan = plan_pulls([*targets, *targets[:7], *no_limit], rng=random.Random(0))
    ids = [p.connection_id for p in plan.pulls]
    assert sorted(ids) == sorted({t.connection_id for t in [*targets, *no_limit]})
    # A platform without a declared limit is pulled at once, as before.
    assert {p.delay for p in plan.pulls if p.connection_id >= 100} == {0.0}


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        plan_pulls([], jitter=1.0)
    with pytest.raises(ValueError):
        plan_pulls([], window_seconds=0)


# --- measured durations and the fan-out, on the database and a real Redis ---


@pytest.fixture
def limited(monkeypatch):
    from platforms.base import ReportLimits

    monkeypatch.setattr(FakePlatform, "report_limits", ReportLimits(in_flight_per_customer=1))


def _connections(count: int, customer: str = "cust-1") -> list[int]:
    world = make_world()
    rows = [
        Connection(
            workspace_id=world.workspace_id,
            platform_key="fake",
            account_id=f"a{index}",
            customer_id=customer,
            status=Connection.ACTIVE,
        )
        for index in range(count)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [c.id for c in rows]


def _last_pull(connection_id: int, seconds: float, *, backfill: bool = False, ok: bool = True):
    finished = datetime.now(UTC) - timedelta(hours=20)
    db.session.add(
        InsightSyncState(
            connection_id=connection_id,
            last_status=InsightSyncState.SUCCEEDED if ok else InsightSyncState.FAILED,
            last_started_at=finished - timedelta(seconds=seconds),
            last_finished_at=finished,
            backfilled_at=finished if backfill else finished - timedelta(days=3),
        )
    )


def test_the_expected_pull_time_is_the_median_of_recent_daily_pulls(app) -> None:
    ids = _connections(6)
    for connection_id, seconds in zip(ids[:3], (10, 20, 40), strict=True):
        _last_pull(connection_id, seconds)
    _last_pull(ids[3], 900, backfill=True)  # a first 90-day backfill is not a daily pull
    _last_pull(ids[4], 700, ok=False)
    db.session.commit()
    assert expected_pull_seconds() == {"fake": 20.0}
    db.session.delete(db.session.get(InsightSyncState, ids[0]))
    db.session.commit()
    assert expected_pull_seconds() == {}  # two samples: not enough, the default applies


def _scheduled(redis) -> dict[int, datetime]:
    jobs = Scheduler(connection=redis).get_jobs(with_times=True)
    return {job.kwargs["connection_id"]: when for job, when in jobs}


def test_the_fanout_staggers_one_customer_and_plans_each_connection_once_a_day(
    app, redis, limited, burst_worker
) -> None:
    from jobs.fanout import pull_fanout

    ids = _connections(4)
    pull_fanout()
    scheduled = _scheduled(redis)
    assert sorted(scheduled) == ids
    times = sorted(scheduled.values())
    # Cap 1, no recent pulls: one start per default pull time, plus the scheduler's resolution.
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= DEFAULT_PULL_SECONDS for gap in gaps), gaps
    runs = db.session.scalars(select(JobRun).where(JobRun.kind == "pull")).all()
    assert sorted(r.connection_id for r in runs) == ids
    assert all(r.status == JobRun.QUEUED and r.message.startswith("Scheduled for") for r in runs)

    pull_fanout()  # the fan-out ran twice (a second scheduler, a retried job): nothing doubles
    assert _scheduled(redis) == scheduled
    assert db.session.scalar(select(func.count()).where(JobRun.kind == "pull")) == len(ids)

    # Even once the first pull has run and left the queue, the day's plan holds.
    scheduler = Scheduler(connection=redis)
    first = next(job for job in scheduler.get_jobs() if job.kwargs["connection_id"] == ids[0])
    scheduler.enqueue_job(first)
    burst_worker()
    pull_fanout()
    assert sorted(_scheduled(redis)) == ids[1:]
    assert db.session.scalar(select(func.count()).where(JobRun.kind == "pull")) == len(ids)


def test_a_redis_failure_mid_fanout_leaves_the_rest_for_the_next_run(
    app, redis, limited, monkeypatch
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from webapp.background import enqueue as background

    ids = _connections(5)
    plan = daily_pull_plan(ids)
    real = background.schedule_job
    calls = []

    def flaky(*args, **kwargs):
        calls.append(kwargs["connection_id"])
        if len(calls) == 3:
            raise RedisConnectionError("connection lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(background, "schedule_job", flaky)
    starts = [(p.connection_id, p.delay) for p in plan.pulls]
    with pytest.raises(RedisConnectionError):
        background.schedule_daily_pulls(starts)
    assert len(_scheduled(redis)) == 2
    failed = db.session.scalars(select(JobRun).where(JobRun.status == JobRun.FAILED)).all()
    assert len(failed) == 3 and all("Could not be scheduled" in r.error for r in failed)
    monkeypatch.setattr(background, "schedule_job", real)
    assert background.schedule_daily_pulls(starts) == 3  # the rest, not the two already planned
    assert sorted(_scheduled(redis)) == ids
