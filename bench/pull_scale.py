"""Benchmark: the daily pull of many connections against the emulator with Microsoft's report
concurrency limit switched on, through real RQ workers, the scheduler, Redis and PostgreSQL.

Data: ``--connections`` connections (1,000), each in its own workspace, spread over the
emulator's three active ad accounts of its two customers, each already backfilled (so the pull is
the daily one: hierarchy, 14 days of campaign, ad group and ad reports, diagnostics).

The emulator refuses a report submit past ``--emulator-limit`` reports in flight per user (code
207, ``EMULATOR_MAX_CONCURRENT_REPORTS``; 2 here, as strict as the plugin's declared cap per
customer) and answers a report's first poll "Pending".

First a calibration: two pulls of each customer (at its cap, so none waits) run through the
workers, which is what "recent pull runs" are on a live deploy. Then the pulls are planned and
scheduled as the 05:00 fan-out does (``daily_pull_plan`` over every active connection, then
``schedule_daily_pulls``): each customer's pulls are staggered by its cap and the median of those
recent pulls, with jitter, and rq-scheduler starts each at its time. ``--workers`` worker
processes run them; a pull that still finds its customer's report slots taken is deferred by
30 s ± 50 % (scaled here by ``JOB_RETRY_SCALE``) and the scheduler puts it back.

Printed: the fan-out's own time, the plan (expected pull time, span per customer), the total time
from the fan-out until every pull has finished, pulls succeeded and failed (target: 0 failed),
report submits refused by the emulator (207), deferrals, the most report slots of one customer
held at once (never above the cap), the machine's cores and load.

    python -m bench.pull_scale                          # 1,000 connections, 4 workers
    python -m bench.pull_scale --connections 100 --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.push import environ, grant, start_emulator  # noqa: E402
from bench.scale import ACCOUNTS, machine  # noqa: E402
from tests.helpers.postgres import start_cluster  # noqa: E402
from tests.helpers.processes import start_redis, stop  # noqa: E402


def seed(emulator: str, connections: int) -> list[int]:
    from webapp.connections.credentials import apply_token
    from webapp.extensions import db
    from webapp.models import Connection, Credential, InsightSyncState, Workspace

    db.create_all()
    tokens = {user: grant(emulator, user) for _a, _c, user, _g, _n in ACCOUNTS}
    ids = []
    backfilled = datetime.now(UTC) - timedelta(days=1)
    for index in range(connections):
        account, customer, user, _goal, _name = ACCOUNTS[index % len(ACCOUNTS)]
        workspace = Workspace(name=f"Pull {index}")
        db.session.add(workspace)
        db.session.flush()
        credential = Credential(workspace_id=workspace.id, platform_key="microsoft_ads",
                                status="active")  # fmt: skip
        apply_token(credential, tokens[user])
        db.session.add(credential)
        db.session.flush()
        connection = Connection(workspace_id=workspace.id, platform_key="microsoft_ads",
                                account_id=account, customer_id=customer, account_name=account,
                                credential_id=credential.id, currency="USD")  # fmt: skip
        db.session.add(connection)
        db.session.flush()
        db.session.add(InsightSyncState(connection_id=connection.id, backfilled_at=backfilled))
        ids.append(connection.id)
        if index % 100 == 99:
            db.session.commit()
    db.session.commit()
    return ids


def calibrate(ids: list[int], redis) -> list[float]:  # noqa: ANN001
    """Two pulls of each customer through the workers (Sync now's path): the recent pulls whose
    median the fan-out plans with. Returns their durations."""
    from sqlalchemy import select

    from webapp.background import enqueue as background
    from webapp.extensions import db
    from webapp.models import Connection, InsightSyncState

    by_customer: dict[str, list[int]] = {}
    for connection_id in ids:
        customer = db.session.get(Connection, connection_id).customer_id
        by_customer.setdefault(customer, [])
        if len(by_customer[customer]) < 2:
            by_customer[customer].append(connection_id)
    chosen = [cid for pair in by_customer.values() for cid in pair]
    for connection_id in chosen:
        workspace_id = db.session.get(Connection, connection_id).workspace_id
        background.enqueue_pull_now(connection_id, workspace_id)
    deadline = time.monotonic() + 600
    while True:
        db.session.rollback()
        states = db.session.scalars(
            select(InsightSyncState).where(InsightSyncState.connection_id.in_(chosen))
        ).all()
        if all(s.last_status == InsightSyncState.SUCCEEDED for s in states):
            return [(s.last_finished_at - s.last_started_at).total_seconds() for s in states]
        if any(s.last_status == InsightSyncState.FAILED for s in states):
            raise RuntimeError("a calibration pull failed")
        if time.monotonic() > deadline:
            raise RuntimeError("the calibration pulls did not finish in 10 minutes")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--emulator-limit", type=int, default=2)
    parser.add_argument("--retry-scale", type=float, default=0.05, help="JOB_RETRY_SCALE")
    parser.add_argument("--window-minutes", type=float, default=240.0, help="PULL_WINDOW_MINUTES")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pull-scale-"))
    workdir.chmod(0o755)
    started: list[subprocess.Popen] = []
    cluster = None
    try:
        cluster = start_cluster(workdir)
        cluster.createdb("pulls")
        redis, redis_port = start_redis(workdir)
        started.append(redis)
        emulator, url = start_emulator(
            workdir / "emulator.log",
            EMULATOR_MAX_CONCURRENT_REPORTS=str(args.emulator_limit),
            EMULATOR_REPORT_POLLS_UNTIL_READY="1",
        )
        started.append(emulator)
        env = {
            **os.environ,
            **environ(cluster.url("pulls"), url),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "LOG_LEVEL": "INFO",
            "JOB_RETRY_SCALE": str(args.retry_scale),
            "SCHEDULER_INTERVAL": "0.5",
            "MSADS_REPORT_POLL_SECONDS": "0.2",
            "PULL_WINDOW_MINUTES": str(args.window_minutes),
        }
        run(args, env, workdir, started)
    finally:
        for proc in reversed(started):
            stop(proc, timeout=30)
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, env: dict[str, str], logs: Path, started: list) -> None:
    from sqlalchemy import func, select

    from config import load_settings
    from jobs.queues import redis_connection
    from webapp.background import enqueue as background
    from webapp.connections.lifecycle import active_connection_ids
    from webapp.core import create_base_app
    from webapp.extensions import db
    from webapp.insights.pull_plan import daily_pull_plan, expected_pull_seconds
    from webapp.models import InsightSyncState, JobRun

    app = create_base_app(load_settings(env))
    redis = redis_connection(env["REDIS_URL"])
    print(f"machine: {machine()} at the start")
    with app.app_context():
        ids = seed(env["MSADS_EMULATOR_URL"], args.connections)
        customers = Counter(ACCOUNTS[i % len(ACCOUNTS)][1] for i in range(args.connections))
        print(f"data: {len(ids):,} connections of {len(customers)} customers {dict(customers)}; "
              f"emulator limit {args.emulator_limit} reports in flight per user")  # fmt: skip
        for n in range(args.workers):
            started.append(subprocess.Popen(
                [sys.executable, "-m", "jobs.worker", "pull", "default"], cwd=ROOT, env=env,
                stdout=open(logs / f"worker{n}.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            ))  # fmt: skip
        started.append(subprocess.Popen(
            [sys.executable, "-m", "jobs.scheduler"], cwd=ROOT, env=env,
            stdout=open(logs / "scheduler.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        ))  # fmt: skip
        from rq import Worker

        deadline = time.monotonic() + 180
        while len(Worker.all(connection=redis)) < args.workers:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not register")
            time.sleep(0.2)
        calibration = calibrate(ids, redis)
        print(f"calibration: {len(calibration)} pulls (2 per customer) took "
              f"{', '.join(f'{s:.1f}' for s in calibration)} s")  # fmt: skip
        first_run = db.session.scalar(select(func.max(JobRun.id))) or 0
        began = time.perf_counter()
        plan = daily_pull_plan(
            active_connection_ids(),
            window_seconds=args.window_minutes * 60,
            resolution=1.0 + float(env["SCHEDULER_INTERVAL"]),  # as the fan-out job does
        )
        planned_s = time.perf_counter() - began
        enqueued = background.schedule_daily_pulls([(p.connection_id, p.delay) for p in plan.pulls])
        fanout_s = time.perf_counter() - began
        expected = expected_pull_seconds()
        spans = {g: max(p.delay for p in plan.pulls if p.group == g)
                 for g in {p.group for p in plan.pulls}}  # fmt: skip
        print(f"plan: expected pull time {expected} s (median of the calibration pulls); "
              f"span per customer {({g: round(s) for g, s in spans.items()})} s; "
              f"squeezed into the window: {list(plan.squeezed)}")  # fmt: skip
        most_held: Counter = Counter()
        deadline = time.monotonic() + 3600
        finished_states = (JobRun.SUCCEEDED, JobRun.FAILED)
        while True:
            for key in redis.scan_iter("report-slots:*"):
                most_held[key.decode()] = max(most_held[key.decode()], redis.zcard(key))
            db.session.rollback()
            done = db.session.scalar(
                select(func.count()).where(
                    JobRun.kind == "pull",
                    JobRun.status.in_(finished_states),
                    JobRun.id > first_run,
                )
            )
            if done >= enqueued:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {enqueued} pulls finished after an hour")
            time.sleep(0.1)
        total_s = time.perf_counter() - began
        outcome = Counter(dict(db.session.execute(
            select(JobRun.status, func.count())
            .where(JobRun.kind == "pull", JobRun.id > first_run).group_by(JobRun.status)
        ).all()))  # fmt: skip
        durations = sorted(
            (f - s).total_seconds()
            for s, f in db.session.execute(
                select(InsightSyncState.last_started_at, InsightSyncState.last_finished_at)
            )
            if s is not None and f is not None
        )
        started = sorted(t for (t,) in db.session.execute(
            select(JobRun.started_at).where(JobRun.kind == "pull", JobRun.id > first_run)
        ) if t is not None)  # fmt: skip
        errors = [e for (e,) in db.session.execute(
            select(JobRun.error).where(JobRun.kind == "pull", JobRun.status == JobRun.FAILED).limit(3)
        )]  # fmt: skip
    calls = requests.get(f"{env['MSADS_EMULATOR_URL']}/_emulator/calls", timeout=120).json()
    submits = Counter(
        c["status"] for c in calls["calls"] if c["operation"] == "SubmitGenerateReport"
    )
    deferred = sum(
        (logs / f"worker{n}.log").read_text(errors="replace").count(" deferred ")
        for n in range(args.workers)
    )
    print(
        f"fan-out: {enqueued:,} pulls planned in {planned_s:.2f} s and scheduled in "
        f"{fanout_s:.2f} s in all ({fanout_s / max(enqueued, 1) * 1000:.1f} ms a pull)"
    )
    if durations:
        q = statistics.quantiles(durations, n=4)
        print(f"pull durations in this run: median {q[1]:.1f} s, quartiles {q[0]:.1f}–{q[2]:.1f} s, "
              f"max {durations[-1]:.1f} s (what tomorrow's plan would use)")  # fmt: skip
    if started:
        print(f"first to last pull start: {(started[-1] - started[0]).total_seconds():.0f} s")
    print(f"all pulls finished in {total_s:.1f} s ({enqueued / total_s:.1f} pulls/s) "
          f"with {args.workers} workers; {machine()} at the end")  # fmt: skip
    print(f"pulls: {dict(outcome)}; failed: {outcome.get('failed', 0)} (target 0) {errors}")
    print(f"report submits by HTTP status: {dict(submits)} (400 = refused, 207 over the limit)")
    print(f"deferrals (customer's slots taken): {deferred}; most slots held at once: "
          f"{dict(most_held)} (cap 2 per customer)")  # fmt: skip
    assert outcome.get("failed", 0) == 0, errors
    assert all(count <= 2 for count in most_held.values()), most_held


if __name__ == "__main__":
    main()
