"""``flask jobs ...``: operate the schedule and run jobs by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from redis.exceptions import RedisError
from rq_scheduler import Scheduler

from jobs.queues import DEFAULT, redis_connection
from jobs.schedule import listing, reconcile, use_utc_clock

jobs_cli = AppGroup("jobs", help="Background jobs and their schedule.")


def _scheduler() -> Scheduler:
    return Scheduler(
        queue_name=DEFAULT, connection=redis_connection(current_app.config["REDIS_URL"])
    )


@jobs_cli.command("schedule")
@click.option("--list", "list_only", is_flag=True, help="Show the schedule and next run times.")
@click.option("--sync", is_flag=True, help="Reconcile Redis with the schedule now.")
def schedule(list_only: bool, sync: bool) -> None:
    """Show (--list) or reconcile (--sync) the periodic schedule."""
    try:
        _scheduler().connection.ping()
    except RedisError as exc:
        raise click.ClickException(
            f"Redis at {current_app.config['REDIS_URL']} is unreachable ({type(exc).__name__})"
        ) from exc
    scheduler = _scheduler()
    if sync:
        use_utc_clock()
        report = reconcile(scheduler)
        click.echo(
            f"added={list(report.added)} kept={list(report.kept)} "
            f"replaced={list(report.replaced)} removed={list(report.removed)}"
        )
    for row in listing(scheduler):
        next_run = row.next_run.strftime("%Y-%m-%d %H:%M:%S UTC") if row.next_run else "-"
        state = "registered" if row.registered else "NOT REGISTERED (is the scheduler running?)"
        click.echo(
            f"{row.id:<24} {row.cron:<14} {row.queue:<8} next={next_run:<24} {row.func} [{state}]"
        )
