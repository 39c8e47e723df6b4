"""Two RQ worker processes pushing the same connections at the same time, on PostgreSQL (a
throwaway cluster of the test's own), a real Redis and the emulator process: every conversion
reaches Microsoft exactly once per connection, none is lost, and both workers took part.

Each connection's push is enqueued three times back to back, so both workers work on one
connection at once: on the first, whose rows were planned beforehand, they meet in ``claim``
(one UPDATE that re-checks each row, candidates locked with FOR UPDATE SKIP LOCKED); on the
second they plan, and new rows are born claimed under ON CONFLICT DO NOTHING (one planner wins
each row). ``bench/scale.py``
is the larger version (50 connections, 1, 2 and 4 workers, throughput)."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import request_started
from rq import Queue, Worker
from rq.job import Job
from sqlalchemy import func, insert, select

from jobs.queues import PUSH, redis_connection
from tests.conftest import _fresh_g_per_request, make_world, msads_environ, test_environ
from tests.helpers import push as h
from tests.helpers.postgres import Cluster, throwaway_cluster
from tests.helpers.processes import python_process, stop, wait_for

pytestmark = pytest.mark.e2e
ACCOUNTS = {"80000011": "60000001", "80000012": "60000012"}  # account → a goal older than 2 h
CONVERSIONS = 2500  # three batches of at most 1,000 per connection


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster("sourceloop") as running:
        yield running


def test_two_workers_on_the_same_connections_send_every_conversion_exactly_once(
    cluster: Cluster, redis, redis_url: str, emulator: str, tmp_path: Path
) -> None:
    from flask_migrate import upgrade

    from config import load_settings
    from webapp.background.job_runs import enqueue
    from webapp.cli.db import bind_migrate
    from webapp.extensions import db
    from webapp.factory import create_app
    from webapp.models import Connection, Conversion, ConversionClickId, ConversionDelivery
    from webapp.models.types import utcnow
    from webapp.push import config as push_config
    from webapp.push import ledger as push_ledger

    env = test_environ(cluster.url("sourceloop"), redis_url, **msads_environ(emulator))
    app = create_app(load_settings({**env, "PUBLIC_URL": "http://127.0.0.1:5000"}))
    bind_migrate(app)
    request_started.connect(_fresh_g_per_request, app, weak=False)
    with app.app_context():
        upgrade()
        world = make_world()
        connections = {}
        for account, goal in ACCOUNTS.items():
            connections[account] = h.connect(app, world, emulator, account)
            h.configure(world, connections[account], {"purchase": goal})
        at = utcnow() - timedelta(hours=2)  # past the tests' one-hour click wait
        ids = db.session.scalars(
            insert(Conversion).returning(Conversion.id),
            [
                {"workspace_id": world.workspace_id, "event": "purchase",
                 "occurred_at": at - timedelta(seconds=n), "value": Decimal("10"),
                 "currency": "USD", "external_id": f"o{n}", "source": "api", "properties": {}}
                for n in range(CONVERSIONS)
            ],
        ).all()  # fmt: skip
        clicks = {cid: secrets.token_hex(16) for cid in ids}
        db.session.execute(insert(ConversionClickId), [
            {"conversion_id": cid, "click_param": "msclkid", "click_id": click}
            for cid, click in clicks.items()
        ])  # fmt: skip
        db.session.commit()
        # The first account's rows are planned (pending) before the workers start, so its pushes
        # meet in ``claim``; the second account's are planned by the racing pushes themselves.
        first = db.session.get(Connection, connections["80000011"])
        planned = push_ledger.plan(
            first,
            push_config.config_for(first.id),
            push_config.mappings_for(first.id),
            push_config.goal_facts(first.id),
            platform=push_config.platform_for(first),
            now=utcnow(),
        )
        assert planned.planned == CONVERSIONS

        workers = [
            python_process(["-m", "jobs.worker", PUSH], env, tmp_path / f"worker{n}.log")
            for n in range(2)
        ]
        try:
            wait_for(
                lambda: len(Worker.all(connection=redis)) >= 2, timeout=180, what="two workers"
            )
            job_ids = []
            for connection_id in connections.values():
                for copy in range(3):
                    job_id = f"pg-{connection_id}-{copy}"
                    enqueue("push", job_id=job_id, connection_id=connection_id,
                            workspace_id=world.workspace_id)  # fmt: skip
                    job_ids.append(job_id)
            queue = Queue(PUSH, connection=redis_connection(redis_url))
            D = ConversionDelivery

            def all_sent() -> bool:
                db.session.rollback()
                sent = db.session.scalar(select(func.count()).where(D.status == D.SENT))
                busy = queue.count + queue.started_job_registry.count
                return sent == CONVERSIONS * len(ACCOUNTS) and busy == 0

            wait_for(all_sent, timeout=300, interval=0.5, what="every row sent")
        finally:
            for worker in workers:
                stop(worker, timeout=30)

        db.session.rollback()
        ledger = db.session.execute(
            select(D.connection_id, D.status, func.count()).group_by(D.connection_id, D.status)
        ).all()
        assert sorted(ledger) == sorted((cid, "sent", CONVERSIONS) for cid in connections.values())
        for account in ACCOUNTS:
            received = h.received(emulator, account)
            assert Counter(r["Status"] for r in received) == {"Accepted": CONVERSIONS}
            sent_clicks = Counter(r["Request"]["MicrosoftClickId"] for r in received)
            assert sent_clicks == Counter(clicks.values())  # each exactly once, none missing
        ran_on = {
            Job.fetch(job_id, connection=redis_connection(redis_url)).worker_name
            for job_id in job_ids
        }
        assert len(ran_on) == 2, f"both workers should have run pushes: {ran_on}"
        db.session.remove()
