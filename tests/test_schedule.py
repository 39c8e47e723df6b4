from __future__ import annotations

from rq_scheduler import Scheduler

from jobs.queues import DEFAULT
from jobs.schedule import SCHEDULE, ScheduledJob, reconcile


def test_reconcile_adds_keeps_replaces_and_removes(redis) -> None:
    scheduler = Scheduler(queue_name=DEFAULT, connection=redis)
    first = reconcile(scheduler)
    assert set(first.added) == {e.id for e in SCHEDULE} and not first.kept
    again = reconcile(scheduler)
    assert set(again.kept) == {e.id for e in SCHEDULE} and not again.added
    assert len(list(scheduler.get_jobs())) == len(SCHEDULE)

    changed = (
        ScheduledJob(SCHEDULE[0].id, "*/5 * * * *", SCHEDULE[0].func, SCHEDULE[0].queue, "changed"),
    )
    report = reconcile(scheduler, changed)
    assert report.replaced == (SCHEDULE[0].id,)
    assert set(report.removed) == {e.id for e in SCHEDULE[1:]}
    jobs = list(scheduler.get_jobs())
    assert [job.meta["cron_string"] for job in jobs] == ["*/5 * * * *"]


def test_reconcile_leaves_foreign_scheduled_jobs_alone(redis) -> None:
    from datetime import timedelta

    scheduler = Scheduler(queue_name=DEFAULT, connection=redis)
    retry = scheduler.enqueue_in(timedelta(minutes=5), "jobs.fanout.push_fanout")
    reconcile(scheduler)
    assert retry.id in {job.id for job in scheduler.get_jobs()}


def test_pull_runs_daily_at_five_utc_and_push_every_two_minutes() -> None:
    crons = {entry.func: entry.cron for entry in SCHEDULE}
    assert crons["jobs.fanout.push_fanout"] == "*/2 * * * *"
    assert crons["jobs.fanout.pull_fanout"] == "0 5 * * *"


def test_daily_pull_is_five_utc_whatever_the_server_time_zone(redis, monkeypatch) -> None:
    import time

    from jobs.schedule import use_utc_clock

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        use_utc_clock()
        scheduler = Scheduler(queue_name=DEFAULT, connection=redis)
        reconcile(scheduler)
        times = {job.id: when for job, when in scheduler.get_jobs(with_times=True)}
        pull = times["schedule-pull-fanout"]
        assert (pull.hour, pull.minute) == (5, 0)
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
