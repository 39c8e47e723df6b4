"""The /collect writer on PostgreSQL with two web processes, as production runs it.

Two gunicorn servers (production settings, write-behind on) take the page views of the same 40
visitors, each visitor's hits alternating between them, many visitors at once: both processes'
batches hold the same visitors in different arrival orders, which deadlocked before the writer
took rows in one order. Every hit must be written (none retried one by one after a failed batch,
no deadlock in the logs) and every journey must read in time order: the organic landing, then
the ad click, which keeps last touch.
"""

from __future__ import annotations

import json
import random
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from tests.conftest import test_environ
from tests.helpers.processes import free_port, port_open, python_process, stop, wait_for
from tests.intake.helpers import BROWSER_UA, pixel_key
from webapp.extensions import db
from webapp.models import Touchpoint, Visitor, VisitSession

pytestmark = pytest.mark.postgres

VISITORS = 40
SHOP = "https://shop.example.com"
# Each visitor: lands from a search engine, reads two pages, comes back through an ad, reads on.
STEPS = [("organic", None), ("view", None), ("view", None), ("click", None), ("view", None)]


def _payload(uid: str, step: str, click: str) -> dict:
    if step == "organic":
        return {"v": uid, "t": "pageview", "u": f"{SHOP}/", "r": "https://www.bing.com/"}
    if step == "click":
        return {"v": uid, "t": "pageview", "u": f"{SHOP}/?msclkid={click}", "r": "",
                "c": {"msclkid": click}}  # fmt: skip
    return {"v": uid, "t": "pageview", "u": f"{SHOP}/p", "r": f"{SHOP}/"}


def _web(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    return python_process(
        ["-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--access-logfile", "/dev/null", "wsgi:app"],
        env,
        log,
    )  # fmt: skip


def test_two_web_processes_write_interleaved_hits_without_deadlock_in_time_order(
    app, world, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the deadlock is PostgreSQL's row locking (run with TEST_DATABASE_URL)")
    from cryptography.fernet import Fernet

    key = pixel_key(world.workspace_id, domains=["shop.example.com"])
    env = test_environ(
        database_url,
        redis_url,
        SOURCELOOP_ENV="production",  # write-behind on, as deployed
        SECRET_KEY=secrets.token_hex(32),
        PUBLIC_URL="https://sourceloop.example",
        # Microsoft's plugin declares msclkid; no call reaches it here, so a rehearsal config.
        MSADS_ENVIRONMENT="emulator",
        MSADS_ALLOW_EMULATOR_IN_PRODUCTION="1",
        MSADS_CLIENT_ID="id",
        MSADS_CLIENT_SECRET="secret",
        MSADS_DEVELOPER_TOKEN="token",
        SOURCELOOP_DISABLED_PLATFORMS="google_ads",  # not configured here: production refuses it
        TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        LOG_LEVEL="INFO",
    )
    ports = [free_port(), free_port()]
    servers = [_web(port, env, tmp_path / f"web{i}.log") for i, port in enumerate(ports)]
    try:
        for port in ports:
            wait_for(lambda p=port: port_open(p), timeout=60, what=f"gunicorn on {port}")
        uids = [f"v_deadlock{n:06d}xx" for n in range(VISITORS)]
        clicks = {uid: secrets.token_hex(8) for uid in uids}
        rng = random.Random(7)

        def visit(index: int) -> list[int]:
            uid = uids[index]
            statuses = []
            with requests.Session() as http:
                for n, (step, _) in enumerate(STEPS):
                    port = ports[(n + index) % 2]  # alternate processes, visitors out of phase
                    response = http.post(
                        f"http://127.0.0.1:{port}/collect?k={key}",
                        data=json.dumps(_payload(uid, step, clicks[uid])),
                        headers={"User-Agent": BROWSER_UA, "Content-Type": "text/plain",
                                 "Origin": SHOP},
                        timeout=30,
                    )  # fmt: skip
                    statuses.append(response.status_code)
            return statuses

        order = list(range(VISITORS))
        rng.shuffle(order)
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(visit, order))
        assert all(s == [204] * len(STEPS) for s in results), results

        def written() -> int:
            db.session.rollback()
            return db.session.scalar(select(func.coalesce(func.sum(VisitSession.hits), 0)))

        wait_for(lambda: written() == VISITORS * len(STEPS), timeout=60, what="every hit")
    finally:
        for server in servers:
            stop(server)
    logs = "".join((tmp_path / f"web{i}.log").read_text() for i in range(2))
    assert "deadlock" not in logs.lower(), logs[-3000:]
    assert "batch failed" not in logs, logs[-3000:]  # no batch fell back to one by one

    db.session.rollback()
    journeys: dict[str, list[tuple[str, str | None]]] = {}
    rows = db.session.execute(
        select(Visitor.uid, Touchpoint.channel, Touchpoint.click_id)
        .join(Touchpoint, Touchpoint.visitor_id == Visitor.id)
        .order_by(Visitor.uid, Touchpoint.occurred_at, Touchpoint.id)
    )
    for uid, channel, click in rows:
        journeys.setdefault(uid, []).append((channel, click))
    wrong = {
        uid: journey
        for uid, journey in journeys.items()
        if journey != [("organic_search", None), ("microsoft_ads", clicks[uid])]
    }
    assert len(journeys) == VISITORS and wrong == {}, wrong
