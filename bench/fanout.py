"""Benchmark: one push fan-out cycle over 10,000 connections, 1 % of them with work due.

Data: ``--connections`` active connections (ten per workspace), each with a goal mapping and
``--conversions`` conversions of its workspace already sent; ``--due`` percent of the connections
also have one conversion nobody has planned yet. Measured: ``jobs.fanout.push_fanout`` as the
scheduler runs it (reap abandoned runs, choose the due connections, record and enqueue one push
job each on a real Redis), several cycles, median. Checked: exactly the due connections were
enqueued. Target: under 1 s per cycle.

    python bench/fanout.py [--connections 10000] [--due 1] [--cycles 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.processes import start_redis, stop  # noqa: E402

PER_WORKSPACE = 10


def generate(connections: int, conversions: int, due_percent: float) -> set[int]:
    from sqlalchemy import insert

    from webapp.extensions import db
    from webapp.models import (
        Connection,
        Conversion,
        ConversionDelivery,
        GoalMapping,
        Workspace,
    )
    from webapp.models.types import utcnow

    now = utcnow()
    workspaces = (connections + PER_WORKSPACE - 1) // PER_WORKSPACE
    db.session.execute(insert(Workspace), [{"id": w, "name": f"W{w}", "created_at": now}
                                           for w in range(1, workspaces + 1)])  # fmt: skip
    db.session.execute(insert(Connection), [
        {"id": c, "workspace_id": (c - 1) // PER_WORKSPACE + 1, "platform_key": "microsoft_ads",
         "account_id": f"a{c}", "status": "active", "settings": {}, "connected_at": now}
        for c in range(1, connections + 1)])  # fmt: skip
    db.session.execute(insert(GoalMapping), [
        {"connection_id": c, "event": "purchase", "goal_id": "g", "goal_name": "G",
         "value_mode": "event"} for c in range(1, connections + 1)])  # fmt: skip
    conv_rows, deliveries, conv_id = [], [], 0
    for w in range(1, workspaces + 1):
        for _ in range(conversions):
            conv_id += 1
            at = now - timedelta(hours=conv_id % 500 + 1)
            conv_rows.append({"id": conv_id, "workspace_id": w, "event": "purchase",
                              "occurred_at": at, "currency": "USD", "external_id": f"e{conv_id}",
                              "source": "api", "properties": {}, "created_at": at})  # fmt: skip
            for c in range((w - 1) * PER_WORKSPACE + 1, min(w * PER_WORKSPACE, connections) + 1):
                deliveries.append({"connection_id": c, "conversion_id": conv_id, "goal_id": "g",
                                   "goal_name": "G", "event": "purchase",
                                   "conversion_time": at, "status": "sent",
                                   "attempts": 1, "created_at": now, "sent_at": now})  # fmt: skip
    db.session.execute(insert(Conversion), conv_rows)
    for start in range(0, len(deliveries), 20_000):
        db.session.execute(insert(ConversionDelivery), deliveries[start : start + 20_000])
    # the due ones: a fresh conversion in their workspace, already sent by every other
    # connection of that workspace
    step = max(1, round(100 / due_percent))
    due = set(range(1, connections + 1, step))
    fresh, fresh_deliveries = [], []
    for c in sorted(due):
        conv_id += 1
        w = (c - 1) // PER_WORKSPACE + 1
        fresh.append({"id": conv_id, "workspace_id": w, "event": "purchase",
                      "occurred_at": now - timedelta(minutes=5), "currency": "USD",
                      "external_id": f"e{conv_id}", "source": "api", "properties": {},
                      "created_at": now})  # fmt: skip
        for other in range((w - 1) * PER_WORKSPACE + 1, min(w * PER_WORKSPACE, connections) + 1):
            if other != c:
                fresh_deliveries.append({"connection_id": other, "conversion_id": conv_id,
                                         "goal_id": "g", "goal_name": "G", "event": "purchase",
                                         "conversion_time": now, "status": "sent", "attempts": 1,
                                         "created_at": now, "sent_at": now})  # fmt: skip
    db.session.execute(insert(Conversion), fresh)
    db.session.execute(insert(ConversionDelivery), fresh_deliveries)
    db.session.commit()
    return due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--conversions", type=int, default=5, help="sent, per workspace")
    parser.add_argument("--due", type=float, default=1.0, help="percent of connections")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--baseline", action="store_true",
        help="also time one cycle of the old fan-out (a push job for every active connection)",
    )  # fmt: skip
    args = parser.parse_args()

    from flask_migrate import upgrade
    from rq import Queue
    from sqlalchemy import text

    from config import load_settings
    from jobs.fanout import push_fanout
    from jobs.queues import PUSH, redis_connection
    from webapp.cli.db import bind_migrate
    from webapp.core import create_base_app
    from webapp.extensions import db

    tmp = tempfile.mkdtemp(prefix="bench-fanout-")
    redis, port = start_redis(Path(tmp))
    try:
        url = args.database_url or f"sqlite:///{tmp}/fanout.db"
        redis_url = f"redis://127.0.0.1:{port}/0"
        env = {**os.environ, "SOURCELOOP_ENV": "testing", "DATABASE_URL": url,
               "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING"}  # fmt: skip
        app = create_base_app(load_settings(env))
        bind_migrate(app)
        with app.app_context():
            if url.startswith("postgresql"):
                db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            upgrade()
            started = time.perf_counter()
            due = generate(args.connections, args.conversions, args.due)
            print(f"generated {args.connections:,} connections ({len(due)} due) "
                  f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
            push = Queue(PUSH, connection=redis_connection(redis_url))
            times = []
            for _ in range(args.cycles):
                redis_connection(redis_url).flushdb()  # a fresh cycle: nothing queued yet
                db.session.execute(text("DELETE FROM job_runs"))
                db.session.commit()
                started = time.perf_counter()
                summary = push_fanout.__wrapped__(None)  # the body, as the worker runs it
                times.append(time.perf_counter() - started)
                enqueued = {job.kwargs["connection_id"] for job in push.jobs}
                assert enqueued == due, (len(enqueued), len(due))
            median = statistics.median(times)
            if args.baseline:
                from webapp.background import enqueue as background
                from webapp.connections.lifecycle import active_connection_ids

                redis_connection(redis_url).flushdb()
                db.session.execute(text("DELETE FROM job_runs"))
                db.session.commit()
                started = time.perf_counter()
                every = sum(int(background.enqueue_push(c)) for c in active_connection_ids())
                print(f"old fan-out (every active connection): {every:,} jobs in "
                      f"{time.perf_counter() - started:.2f} s")  # fmt: skip
            print(f"fan-out: {summary}")
            print(f"cost per cycle: median {median:.3f} s [{min(times):.3f}–{max(times):.3f}] "
                  f"over {args.cycles} cycles (target < 1 s) "
                  f"{'OK' if median < 1 else 'ABOVE TARGET'}")  # fmt: skip
    finally:
        stop(redis)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
