"""The cron list, and its reconciliation with rq-scheduler.

Cron strings are UTC. rq-scheduler evaluates them in the process's local time zone, so every
process that registers them (the scheduler entry, ``flask jobs schedule --sync``) first calls
``use_utc_clock()``.

``SCHEDULE`` is the single source of truth. When the scheduler process starts it calls
``reconcile``: entries already in Redis with the same definition are kept (so their next run time
survives a restart), changed ones are replaced, missing ones added, and entries we once created
but no longer list are removed. A restart therefore never doubles or drops an entry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from rq_scheduler import Scheduler

from jobs.queues import DEFAULT

META_KEY = "sourceloop_schedule"


def scheduler_interval() -> float:
    """Seconds between the scheduler's looks for due jobs (``SCHEDULER_INTERVAL``, default 5):
    a job scheduled for a moment starts up to this much later."""
    return float(os.environ.get("SCHEDULER_INTERVAL", "5"))


def use_utc_clock() -> None:
    """Make this process's local time UTC, so "0 5 * * *" means 05:00 UTC on any server."""
    os.environ["TZ"] = "UTC"
    time.tzset()


@dataclass(frozen=True)
class ScheduledJob:
    id: str  # stable RQ job id: [A-Za-z0-9_-]
    cron: str  # UTC
    func: str  # import path of a jobs.runtime.job
    queue: str
    description: str

    @property
    def fingerprint(self) -> str:
        return f"{self.cron}|{self.func}|{self.queue}"


SCHEDULE: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        "schedule-push-fanout",
        "*/2 * * * *",
        "jobs.fanout.push_fanout",
        DEFAULT,
        "Push conversions: one push job per active connection, every 2 minutes",
    ),
    ScheduledJob(
        "schedule-pull-fanout",
        "0 5 * * *",
        "jobs.fanout.pull_fanout",
        DEFAULT,
        "Pull insights: one pull job per active connection, each customer's spread over a window",
    ),
    ScheduledJob(
        "schedule-attribution-fanout",
        "*/10 * * * *",
        "jobs.attribution.attribution_fanout",
        DEFAULT,
        "Attribute new and changed conversions: one job per workspace, every 10 minutes",
    ),
    ScheduledJob(
        "schedule-alerts",
        "*/5 * * * *",
        "jobs.alerts.evaluate_alerts",
        DEFAULT,
        "Alerts: open and resolve incidents, tell Owners and Admins once each, every 5 minutes",
    ),
    ScheduledJob(
        "schedule-retention",
        "30 3 * * *",
        "jobs.retention.retention_run",
        DEFAULT,
        "Retention: delete page views and conversions older than each workspace keeps them",
    ),
)


def configured(config: Mapping[str, object]) -> tuple[ScheduledJob, ...]:
    """``SCHEDULE`` with the push fan-out's cron taken from the ``PUSH_SCHEDULE`` setting.
    The scheduler and ``flask jobs schedule`` both use this, so they agree on the list."""
    push_cron = str(config.get("PUSH_SCHEDULE") or "").strip()
    return tuple(
        replace(entry, cron=push_cron)
        if push_cron and entry.func == "jobs.fanout.push_fanout"
        else entry
        for entry in SCHEDULE
    )


@dataclass(frozen=True)
class ReconcileReport:
    added: tuple[str, ...]
    kept: tuple[str, ...]
    replaced: tuple[str, ...]
    removed: tuple[str, ...]


def reconcile(scheduler: Scheduler, schedule: Iterable[ScheduledJob] = SCHEDULE) -> ReconcileReport:
    wanted = {entry.id: entry for entry in schedule}
    added: list[str] = []
    kept: list[str] = []
    replaced: list[str] = []
    removed: list[str] = []
    present = {job.id: job for job in scheduler.get_jobs()}
    for job_id, job in present.items():
        fingerprint = job.meta.get(META_KEY)
        if fingerprint is None:
            continue  # not ours: one-off retries and other scheduled work stay untouched
        entry = wanted.get(job_id)
        if entry is None:
            scheduler.cancel(job)
            job.delete()
            removed.append(job_id)
        elif fingerprint != entry.fingerprint:
            scheduler.cancel(job)
            job.delete()
            replaced.append(job_id)
        else:
            kept.append(job_id)
    for job_id, entry in wanted.items():
        if job_id in kept:
            continue
        scheduler.cron(
            entry.cron,
            func=entry.func,
            id=entry.id,
            queue_name=entry.queue,
            description=entry.description,
            meta={META_KEY: entry.fingerprint},
            use_local_timezone=False,
            result_ttl=3600,
        )
        if job_id not in replaced:
            added.append(job_id)
    return ReconcileReport(tuple(added), tuple(kept), tuple(replaced), tuple(removed))


@dataclass(frozen=True)
class ScheduleRow:
    id: str
    cron: str
    func: str
    queue: str
    next_run: datetime | None
    registered: bool


def listing(scheduler: Scheduler, schedule: Iterable[ScheduledJob] = SCHEDULE) -> list[ScheduleRow]:
    times = {job.id: when for job, when in scheduler.get_jobs(with_times=True)}
    return [
        ScheduleRow(e.id, e.cron, e.func, e.queue, times.get(e.id), e.id in times) for e in schedule
    ]
