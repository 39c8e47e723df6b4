"""``flask jobs ...``: operate the schedule and run jobs by hand.

Part of the web app's CLI: it reaches ``jobs/`` only through the enqueue side (``jobs.queues``,
``jobs.schedule``) and runs pushes and pulls through the services the job bodies call.

Each command imports what it uses when it runs: ``flask jobs push`` runs often (cron, by hand,
benchmarks), and the scheduler, the pull's storage and the enqueue side are no part of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup

from config import redact_url
from platforms.errors import PlatformError, ReconnectRequired
from webapp.common.errors import ServiceError
from webapp.connections import lifecycle as connections

if TYPE_CHECKING:
    from rq_scheduler import Scheduler

jobs_cli = AppGroup("jobs", help="Background jobs and their schedule.")


def _scheduler() -> Scheduler:
    from rq_scheduler import Scheduler

    from jobs.queues import DEFAULT, redis_connection

    return Scheduler(
        queue_name=DEFAULT, connection=redis_connection(current_app.config["REDIS_URL"])
    )


@jobs_cli.command("schedule")
@click.option("--list", "list_only", is_flag=True, help="Show the schedule and next run times.")
@click.option("--sync", is_flag=True, help="Reconcile Redis with the schedule now.")
def schedule(list_only: bool, sync: bool) -> None:
    """Show (--list) or reconcile (--sync) the periodic schedule."""
    from redis.exceptions import RedisError

    from jobs.schedule import configured, listing, reconcile, use_utc_clock

    try:
        _scheduler().connection.ping()
    except RedisError as exc:
        raise click.ClickException(
            f"Redis at {redact_url(current_app.config['REDIS_URL'])} is unreachable "
            f"({type(exc).__name__})"
        ) from exc
    scheduler = _scheduler()
    if sync:
        use_utc_clock()
        report = reconcile(scheduler, configured(current_app.config))
        click.echo(
            f"added={list(report.added)} kept={list(report.kept)} "
            f"replaced={list(report.replaced)} removed={list(report.removed)}"
        )
    for row in listing(scheduler, configured(current_app.config)):
        next_run = row.next_run.strftime("%Y-%m-%d %H:%M:%S UTC") if row.next_run else "-"
        state = "registered" if row.registered else "NOT REGISTERED (is the scheduler running?)"
        click.echo(
            f"{row.id:<24} {row.cron:<14} {row.queue:<8} next={next_run:<24} {row.func} [{state}]"
        )


@jobs_cli.command("pull")
@click.option("--connection", "connection_id", type=int, help="Only this connection id.")
@click.option(
    "--days", type=click.IntRange(1, 3 * 365), help="Pull this many days up to yesterday."
)
@click.option("--enqueue", is_flag=True, help="Put the pulls on the pull queue instead.")
def pull_command(connection_id: int | None, days: int | None, enqueue: bool) -> None:
    """Pull hierarchy, daily metrics and diagnostics now (all active connections by default).

    Runs here, one connection after the other; a failing connection is reported and the others
    still run. Without --days: the first pull backfills, later ones re-sync 14 days."""
    from webapp.background import job_runs
    from webapp.insights.sync import run_pull

    ids = [connection_id] if connection_id is not None else connections.active_connection_ids()
    if not ids:
        click.echo("no active connections")
        return
    failed = 0
    for cid in ids:
        if enqueue:
            run_id = job_runs.enqueue("pull", connection_id=cid, **({"days": days} if days else {}))
            click.echo(f"connection {cid}: enqueued (run {run_id})")
            continue
        try:
            summary = run_pull(cid, days=days, progress=lambda pct, msg: None)
        except (PlatformError, ServiceError) as exc:
            failed += 1
            click.echo(f"connection {cid}: FAILED: {exc.message}", err=True)
            continue
        click.echo(f"connection {cid}: {summary}")
    if failed:
        raise click.ClickException(f"{failed} of {len(ids)} connection(s) failed")


@jobs_cli.command("push")
@click.option("--connection", "connection_id", type=int, help="Only this connection id.")
def push(connection_id: int | None) -> None:
    """Push conversions now, synchronously, and print what happened per connection."""
    from webapp.connections import credentials
    from webapp.push import send as push_service

    ids = [connection_id] if connection_id is not None else connections.active_connection_ids()
    if not ids:
        click.echo("No active connections.")
    failed = False
    for cid in ids:
        try:
            click.echo(push_service.run(cid).text)
        except ReconnectRequired as exc:
            credentials.mark_reconnect_needed(cid, exc.message)
            click.echo(f"connection {cid}: needs a reconnect ({exc.message}); rows stay pending")
            failed = True
        except (PlatformError, ServiceError) as exc:
            click.echo(f"connection {cid}: stopped ({exc}); unsent rows stay pending", err=True)
            failed = True
    if failed:
        raise SystemExit(1)
