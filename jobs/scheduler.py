"""Scheduler entry: ``python -m jobs.scheduler`` (Procfile ``scheduler``).

Reconciles ``jobs.schedule.SCHEDULE`` with Redis, then runs rq-scheduler, which moves due jobs
onto their queues. rq-scheduler's lock makes a second scheduler process harmless.
"""

from __future__ import annotations

import logging
import warnings

from rq_scheduler import Scheduler

from jobs.queues import DEFAULT, redis_connection
from jobs.schedule import configured, reconcile, scheduler_interval, use_utc_clock
from webapp.core import create_base_app

log = logging.getLogger(__name__)


def main() -> None:
    # rq-scheduler's crontab dependency warns about its own future default on every run; we
    # already pin the process clock to UTC (use_utc_clock), which is what that warning is about.
    warnings.filterwarnings("ignore", category=FutureWarning, module="rq_scheduler")

    use_utc_clock()
    app = create_base_app()
    interval = scheduler_interval()
    scheduler = Scheduler(
        queue_name=DEFAULT,
        connection=redis_connection(app.config["REDIS_URL"]),
        interval=interval,
    )
    report = reconcile(scheduler, configured(app.config))
    log.info(
        "schedule reconciled: added=%s kept=%s replaced=%s removed=%s",
        list(report.added),
        list(report.kept),
        list(report.replaced),
        list(report.removed),
    )
    scheduler.run()


if __name__ == "__main__":
    main()
