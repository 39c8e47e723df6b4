"""The embedded default under load: on one SQLite file, the web server (with /collect's writer
thread), two RQ workers, the scheduler and a stream of API conversions and enqueued jobs run at
once. No job may fail with "database is locked", and no run record may stay open (issue 12,
item 11). Real processes throughout; only the load generator runs in the test."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import select

from jobs.queues import ALL_QUEUES, get_queue
from tests.conftest import make_app, test_environ
from tests.helpers.processes import free_port, port_open, python_process, stop, wait_for
from webapp.extensions import db
from webapp.models import JobRun
from webapp.policy import Role
from webapp.services import accounts, api_keys, background, job_runs, tracking

pytestmark = pytest.mark.e2e

LOAD_SECONDS = 25
OPEN = (JobRun.QUEUED, JobRun.RUNNING, JobRun.RETRYING)


def test_web_collect_workers_and_scheduler_share_sqlite_without_lock_failures(
    tmp_path: Path, redis_url: str, redis
) -> None:
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    app = make_app(database_url, redis_url)
    with app.app_context():
        upgrade()
        accounts.bootstrap_user("o@example.com", "Op3rator-password", "Busy", Role.OWNER)
        workspace_id = accounts.get_or_create_workspace("Busy")[0].id
        public_key = tracking.settings_for(workspace_id).public_key
        _, api_key = api_keys.create(workspace_id, "load")

    env = test_environ(
        database_url,
        redis_url,
        SCHEDULER_INTERVAL="1",
        # Not "testing": /collect writes page views behind, through its writer thread.
        SOURCELOOP_ENV="development",
        WEB_CONCURRENCY="2",
        JOB_RETRY_SCALE="0.05",
    )
    port = free_port()
    env["PORT"], env["HOST"] = str(port), "127.0.0.1"
    processes = [
        python_process(
            [
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--access-logfile",
                "/dev/null",
                "wsgi:app",
            ],
            env,
            tmp_path / "web.log",
        ),
        python_process(["-m", "jobs.worker", *ALL_QUEUES], env, tmp_path / "worker1.log"),
        python_process(["-m", "jobs.worker", *ALL_QUEUES], env, tmp_path / "worker2.log"),
        python_process(["-m", "jobs.scheduler"], env, tmp_path / "scheduler.log"),
    ]
    base = f"http://127.0.0.1:{port}"
    stop_load = threading.Event()
    errors: list[str] = []
    counter = itertools.count()

    def page_views() -> None:
        session = requests.Session()
        while not stop_load.is_set():
            n = next(counter)
            hit = {
                "v": f"v{n % 300:04d}aaaaaaaa",
                "t": "pageview",
                "u": f"https://shop.example/p/{n}",
                "m": {"utm_source": "news", "utm_campaign": f"c{n % 7}"},
            }
            try:
                response = session.post(f"{base}/collect?k={public_key}", json=hit, timeout=30)
                if response.status_code >= 500:
                    errors.append(f"collect {response.status_code}")
            except requests.RequestException as exc:
                errors.append(f"collect {exc}")

    def conversions() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {api_key}"
        while not stop_load.is_set():
            n = next(counter)
            body = {
                "conversions": [
                    {
                        "event": "form_submitted",
                        "occurred_at": (datetime.now(UTC) - timedelta(minutes=i)).isoformat(),
                        "value": "10.00",
                        "currency": "USD",
                        "external_id": f"x-{uuid.uuid4().hex}",
                        "visitor_id": f"v{(n + i) % 300:04d}aaaaaaaa",
                    }
                    for i in range(20)
                ]
            }
            try:
                response = session.post(f"{base}/api/v1/conversions", json=body, timeout=30)
                if response.status_code >= 500:
                    errors.append(f"api {response.status_code}")
            except requests.RequestException as exc:
                errors.append(f"api {exc}")

    try:
        wait_for(lambda: port_open(port), timeout=60, what="gunicorn")
        threads = [threading.Thread(target=page_views) for _ in range(3)]
        threads += [threading.Thread(target=conversions) for _ in range(2)]
        for thread in threads:
            thread.start()
        with app.app_context():
            deadline = time.monotonic() + LOAD_SECONDS
            while time.monotonic() < deadline:
                # The jobs that write most: attribution (long reads, then writes) and fan-outs.
                background.enqueue_attribution(workspace_id)
                job_runs.enqueue("attribution_fanout")
                job_runs.enqueue("push_fanout")
                time.sleep(0.5)
        stop_load.set()
        for thread in threads:
            thread.join(60)

        def settled() -> bool:
            with app.app_context():
                queued = sum(len(get_queue(name, redis_url)) for name in ALL_QUEUES)
                still_open = db.session.scalar(
                    select(JobRun.id).where(JobRun.status.in_(OPEN)).limit(1)
                )
                db.session.remove()
                return queued == 0 and still_open is None

        wait_for(settled, timeout=240, interval=1, what="every job to finish")
        with app.app_context():
            runs = list(db.session.scalars(select(JobRun)))
            assert len(runs) > 40, "the load produced too few jobs to mean anything"
            failed = [(r.kind, r.error) for r in runs if r.status == JobRun.FAILED]
            assert failed == [], failed
            assert not [r for r in runs if r.status in OPEN]
        assert errors == [], errors[:5]
        logs = "".join((tmp_path / name).read_text() for name in (
            "web.log", "worker1.log", "worker2.log", "scheduler.log"
        ))  # fmt: skip
        assert "database is locked" not in logs
    finally:
        stop_load.set()
        for process in processes:
            stop(process, timeout=30)
