"""Benchmark: push throughput with 1, 2 and 4 RQ worker processes, and exactly-once under
contention, on PostgreSQL, a real Redis and the Microsoft emulator process.

Data: ``--connections`` connections (50), each in its own workspace with ``--conversions``
backdated conversions (2,000) carrying a supplied click id, spread over the emulator's three
seeded ad accounts. For each worker count ``w`` the ledger is emptied, the emulator reset and
re-granted, ``w`` workers (``python -m jobs.worker push``) are started and left to register, and
then every connection's push is enqueued once (throughput). A last run enqueues every
connection's push once per worker, the copies back to back, so that every worker runs on the same
connection at the same time (contention). Timed: from the first enqueue until every row is
``sent`` and the queue is drained.

Checks, per run: the ledger holds every conversion once, all sent; the emulator received every
click id exactly once (a row sent twice would show as a second record, Microsoft's "duplicate")
and accepted all of them. Printed: rows per second, the speedup over one worker, the machine's
cores and load (other processes share it).

    python -m bench.scale                   # 50 × 2,000, workers 1 2 4
    python -m bench.scale --connections 10 --conversions 500 --workers 1 2
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.push import environ, grant, start_emulator  # noqa: E402
from tests.helpers.postgres import start_cluster  # noqa: E402
from tests.helpers.processes import start_redis, stop  # noqa: E402

# (account, customer, user, goal id, goal name): the emulator's seeded goals older than 2 h.
ACCOUNTS = [
    ("80000011", "70000001", "alex@fabrikam-agency.example", "60000001", "Closed won"),
    ("80000012", "70000001", "alex@fabrikam-agency.example", "60000012", "Closed won UK"),
    ("80000021", "70000002", "dana@contoso-bikes.example", "60000021", "Purchase"),
]


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def seed(connections: int, conversions: int) -> dict[int, int]:
    """Workspaces, credentials, connections, mappings and conversions; → connection → credential."""
    from sqlalchemy import insert

    from webapp.extensions import db
    from webapp.models import (
        Connection,
        Conversion,
        ConversionClickId,
        Credential,
        GoalMapping,
        PushConfig,
        Workspace,
    )

    db.create_all()
    credentials = {}
    for index in range(connections):
        account, customer, _user, goal_id, goal_name = ACCOUNTS[index % len(ACCOUNTS)]
        workspace = Workspace(name=f"Scale {index}")
        db.session.add(workspace)
        db.session.flush()
        credential = Credential(workspace_id=workspace.id, platform_key="microsoft_ads",
                                status="active", access_token="-", refresh_token="-",
                                expires_at=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
        db.session.add(credential)
        db.session.flush()
        connection = Connection(workspace_id=workspace.id, platform_key="microsoft_ads",
                                account_id=account, customer_id=customer, account_name=account,
                                credential_id=credential.id, currency="USD")  # fmt: skip
        db.session.add(connection)
        db.session.flush()
        db.session.add(PushConfig(connection_id=connection.id, enabled=True))
        db.session.add(GoalMapping(connection_id=connection.id, event="purchase",
                                   goal_id=goal_id, goal_name=goal_name, value_mode="event"))  # fmt: skip
        credentials[connection.id] = credential.id
        newest = datetime.now(UTC) - timedelta(hours=6)
        step = timedelta(days=60) / conversions
        rows = [
            {"workspace_id": workspace.id, "event": "purchase", "occurred_at": newest - step * n,
             "value": Decimal("12.5"), "currency": "USD", "external_id": f"o{n}", "source": "api",
             "properties": {}, "created_at": newest}
            for n in range(conversions)
        ]  # fmt: skip
        ids = db.session.scalars(insert(Conversion).returning(Conversion.id), rows).all()
        db.session.execute(insert(ConversionClickId), [
            {"conversion_id": cid, "click_param": "msclkid", "click_id": secrets.token_hex(16)}
            for cid in ids
        ])  # fmt: skip
        db.session.commit()
    return credentials


def reset(emulator: str, credentials: dict[int, int]) -> None:
    """An empty ledger, a reset emulator, and fresh grants on every credential."""
    from sqlalchemy import delete

    from webapp.connections.credentials import apply_token
    from webapp.extensions import db
    from webapp.models import ConversionDelivery, Credential, JobRun, PushRun

    db.session.execute(delete(ConversionDelivery))
    db.session.execute(delete(PushRun))
    db.session.execute(delete(JobRun))
    requests.post(f"{emulator}/_emulator/reset", timeout=30).raise_for_status()
    tokens = {user: grant(emulator, user) for _a, _c, user, _g, _n in ACCOUNTS}
    for index, credential_id in enumerate(credentials.values()):
        apply_token(db.session.get(Credential, credential_id), tokens[ACCOUNTS[index % 3][2]])
    db.session.commit()


def workers_ready(redis_url: str, count: int) -> bool:
    from rq import Worker

    from jobs.queues import redis_connection

    return len(Worker.all(connection=redis_connection(redis_url))) >= count


def run_once(workers: int, copies: int, env: dict[str, str], logs: Path,
             credentials: dict[int, int], total: int) -> tuple[float, Counter, Counter, int, int]:  # fmt: skip
    from rq import Queue
    from sqlalchemy import func, select

    from jobs.queues import PUSH, redis_connection
    from webapp.background.job_runs import enqueue
    from webapp.extensions import db
    from webapp.models import Connection, ConversionDelivery

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", PUSH],
            cwd=ROOT,
            env=env,
            stdout=open(logs / f"worker{workers}-{n}.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for n in range(workers)
    ]
    try:
        deadline = time.monotonic() + 180
        while not workers_ready(env["REDIS_URL"], workers):
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not register")
            time.sleep(0.2)
        queue = Queue(PUSH, connection=redis_connection(env["REDIS_URL"]))
        workspaces = dict(db.session.execute(select(Connection.id, Connection.workspace_id)).all())
        started = time.perf_counter()
        for cid in credentials:
            for copy in range(copies):  # back to back: the workers meet on this connection
                enqueue("push", job_id=f"scale-{workers}-{copies}-{cid}-{copy}",
                        connection_id=cid, workspace_id=workspaces[cid])  # fmt: skip
        deadline = time.monotonic() + 1800
        while True:
            db.session.rollback()
            sent = db.session.scalar(
                select(func.count()).where(ConversionDelivery.status == ConversionDelivery.SENT)
            )
            busy = queue.count + queue.started_job_registry.count
            if sent >= total and busy == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {sent} of {total} sent after 30 minutes")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            stop(proc, timeout=30)
    db.session.rollback()
    ledger = Counter(
        dict(db.session.execute(
            select(ConversionDelivery.status, func.count()).group_by(ConversionDelivery.status)
        ).all())
    )  # fmt: skip
    rows = db.session.scalar(select(func.count(func.distinct(ConversionDelivery.conversion_id))))
    received = []
    for account, *_rest in ACCOUNTS:
        received += requests.get(f"{env['MSADS_EMULATOR_URL']}/_emulator/conversions",
                                 params={"account_id": account}, timeout=300).json()["conversions"]  # fmt: skip
    clicks = Counter(r["Request"].get("MicrosoftClickId") for r in received)
    statuses = Counter(r["Status"] for r in received)
    return elapsed, ledger, statuses, max(clicks.values()) if clicks else 0, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--conversions", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    started: list = []
    cluster = None
    try:
        cluster = start_cluster(workdir)
        cluster.createdb("scale")
        redis, redis_port = start_redis(workdir)
        started.append(redis)
        emulator, url = start_emulator(workdir / "emulator.log")
        started.append(emulator)
        env = {
            **os.environ,
            **environ(cluster.url("scale"), url),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "LOG_LEVEL": "WARNING",
        }
        run(args, env, workdir)
    finally:
        for proc in reversed(started):
            stop(proc)
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    from config import load_settings
    from webapp.core import create_base_app

    app = create_base_app(load_settings(env))
    total = args.connections * args.conversions
    print(f"machine: {machine()} at the start")
    print(f"data: {args.connections} connections × {args.conversions:,} conversions = "
          f"{total:,} rows, PostgreSQL, Redis, RQ workers, the emulator")  # fmt: skip
    results: dict[int, float] = {}
    most_workers = max(args.workers)
    # Throughput: one push job per connection, the workers share the connections out. Then
    # contention: every connection's push enqueued once per worker, back to back, so that all
    # the workers run on the same connection at the same time.
    phases = [(w, 1) for w in args.workers] + [(most_workers, most_workers)]
    with app.app_context():
        credentials = seed(args.connections, args.conversions)
        for workers, copies in phases:
            reset(env["MSADS_EMULATOR_URL"], credentials)
            elapsed, ledger, statuses, most, rows = run_once(
                workers, copies, env, workdir, credentials, total
            )
            if copies == 1:
                results[workers] = elapsed
                label = f"{workers} worker(s), one job per connection"
                speed = f"speedup {results[args.workers[0]] / elapsed:4.2f}×"
            else:
                label = f"{workers} workers, {copies} jobs per connection"
                speed = "(contention)"
            print(f"{label:<42} {elapsed:7.2f} s {total / elapsed:7.0f} rows/s {speed}")
            print(f"    ledger {dict(ledger)} over {rows:,} conversions; emulator {dict(statuses)}, "
                  f"each click id received at most {most}×; {machine()}")  # fmt: skip
            assert ledger == Counter({"sent": total}) and rows == total, ledger
            assert statuses == Counter({"Accepted": total}), statuses
            assert most == 1, "a conversion reached the emulator twice"
    print("nothing sent twice, nothing lost, in every run")


if __name__ == "__main__":
    main()
