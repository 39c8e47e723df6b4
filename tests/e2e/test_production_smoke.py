"""The production path, as a team deploying SourceLoop would run it (docs/deploying.md):

a PostgreSQL 15 cluster of its own (``postgres://`` URL, as Heroku hands it out), Redis, the
Microsoft Ads emulator, production settings, and the Procfile's own command lines: ``release``
migrates, then ``web`` (gunicorn), ``worker`` and ``scheduler`` run. A conversion posted through
the web process's API reaches the emulator exactly once through the scheduler's own cycle
(``PUSH_SCHEDULE`` shortens it to every minute), and ``flask jobs schedule --list`` is the same
after the scheduler restarts.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask import request_started
from sqlalchemy import func, select

from jobs.schedule import SCHEDULE
from tests.conftest import _fresh_g_per_request, make_world, msads_environ, test_environ
from tests.helpers import push as h
from tests.helpers.postgres import Cluster, throwaway_cluster
from tests.helpers.processes import ROOT, free_port, port_open, stop, wait_for

pytestmark = pytest.mark.e2e


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster("sourceloop") as running:
        yield running


class Processes:
    """The Procfile's processes, each started by its own command line through a shell (as a
    process manager would), stopped by pid."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.running = env, logs, {}

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            ["bash", "-c", f"exec {procfile()[name]}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.running[name] = process
        return process

    def run(self, *command: str, timeout: float = 180) -> str:
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.running.values():
            stop(process, timeout=30)


def _schedule(processes: Processes) -> list[str]:
    """``flask jobs schedule --list``, with the next run of the every-minute push left out
    (it moves on every minute by design); everything else must match exactly."""
    lines = processes.run("flask", "jobs", "schedule", "--list").strip().splitlines()
    return [
        re.sub(r"next=\S+ \S+ UTC", "next=<every minute>", line)
        if line.startswith("schedule-push-fanout")
        else line
        for line in lines
    ]


def test_the_procfile_processes_deliver_a_conversion_once_through_the_schedulers_cycle(
    cluster: Cluster, redis, redis_url: str, emulator: str, tmp_path: Path
) -> None:
    from cryptography.fernet import Fernet

    from config import load_settings
    from webapp.accounts import api_keys
    from webapp.extensions import db
    from webapp.factory import create_app
    from webapp.models import ConversionDelivery, JobRun

    web_port = free_port()
    secret_key, token_key = secrets.token_hex(32), Fernet.generate_key().decode()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "SOURCELOOP_ENV": "production",
        "DATABASE_URL": cluster.url("sourceloop", scheme="postgres"),  # Heroku's form
        "REDIS_URL": redis_url,
        "SECRET_KEY": secret_key,
        "TOKEN_ENCRYPTION_KEYS": token_key,
        "PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "PORT": str(web_port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "PUSH_SCHEDULE": "* * * * *",
        "SCHEDULER_INTERVAL": "1",
        **msads_environ(emulator),
        "MSADS_ALLOW_EMULATOR_IN_PRODUCTION": "1",  # production refuses the emulator otherwise
        # This operator runs Microsoft Ads only: Google Ads is switched off, as documented.
        "SOURCELOOP_DISABLED_PLATFORMS": "google_ads",
    }
    env.pop("TEST_DATABASE_URL", None)
    processes = Processes(env, tmp_path)

    # 1. release: the migrations, once per deploy.
    processes.start("release").wait(180)
    assert processes.running["release"].returncode == 0, processes.log("release")

    # 2. An operator's set-up: a workspace, a Microsoft Ads connection mapped to a goal, an API
    # key. Done in this process against the same database (and the same encryption key).
    settings = load_settings(
        test_environ(
            cluster.url("sourceloop"),
            redis_url,
            SECRET_KEY=secret_key,
            TOKEN_ENCRYPTION_KEYS=token_key,
            PUBLIC_URL="http://127.0.0.1:5000",
            **msads_environ(emulator),
        )
    )
    operator = create_app(settings, overrides={"RUN_CONNECTION_CHECKS": False})
    request_started.connect(_fresh_g_per_request, operator, weak=False)  # as a server would
    try:
        with operator.app_context():
            world = make_world()
            connection_id = h.connect(operator, world, emulator)
            h.configure(world, connection_id, {"payment_received": h.CLOSED_WON})
            _, api_key = api_keys.create(world.workspace_id, "CRM")
            db.session.commit()
        assert redis.keys("rq:queue:*") == []  # nothing queued: only the scheduler pushes

        # 3. web, worker, scheduler.
        for name in ("web", "worker", "scheduler"):
            processes.start(name)
        wait_for(lambda: port_open(web_port), timeout=60, what="gunicorn")
        health = requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=10)
        assert health.status_code == 200, health.text

        click = h.click_id()
        # The click id comes with the conversion, so Microsoft's wait after the click runs from
        # the conversion (MSADS_CLICK_WAIT_MINUTES, 60 here): a deal closed 90 minutes ago.
        wait = int(env["MSADS_CLICK_WAIT_MINUTES"])
        occurred = (datetime.now(UTC) - timedelta(minutes=wait + 30)).isoformat()
        response = requests.post(
            f"http://127.0.0.1:{web_port}/api/v1/conversions",
            json={
                "event": "payment_received",
                "occurred_at": occurred,
                "external_id": "order-smoke-1",
                "value": "49.90",
                "currency": "USD",
                "msclkid": click,
            },
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text

        def counted() -> Counter:
            return Counter(h.accepted_click_ids(emulator))

        wait_for(lambda: counted() == {click: 1}, timeout=150, interval=1, what="the upload")

        def fanouts() -> int:
            with operator.app_context():
                return db.session.scalar(
                    select(func.count()).where(
                        JobRun.kind == "push_fanout", JobRun.status == JobRun.SUCCEEDED
                    )
                )

        seen = fanouts()
        wait_for(lambda: fanouts() > seen, timeout=90, interval=1, what="another cycle")
        assert counted() == {click: 1}  # once, whatever the cycles that follow
        with operator.app_context():
            statuses = Counter(db.session.scalars(select(ConversionDelivery.status)))
        assert statuses == {"sent": 1}

        # 4. The schedule survives a scheduler restart unchanged.
        before = _schedule(processes)
        assert len(before) == len(SCHEDULE), before  # every entry, whatever the list holds
        assert all("[registered]" in line for line in before), before
        stop(processes.running["scheduler"], timeout=30)
        processes.start("scheduler")
        wait_for(
            lambda: processes.log("scheduler").count("schedule reconciled") == 2,
            timeout=60,
            what="the restarted scheduler to reconcile",
        )
        assert "added=[] kept=" in processes.log("scheduler").rsplit("schedule reconciled", 1)[1]
        assert _schedule(processes) == before
    finally:
        processes.stop_all()
        with operator.app_context():
            db.session.remove()
            db.engine.dispose()
    for name in ("web", "worker", "scheduler"):
        assert "Traceback" not in processes.log(name), processes.log(name)[-3000:]
