"""Benchmark: push 100,000 pending conversions over 10 connections to the emulator (a real
emulator process on a free port), against a floor measured in the same run.

Floor: for each connection, read the same ledger rows (same query shape, id order, chunks of
1,000) and encode the same JSON bodies the plugin sends, with no HTTP and no writes.
Push: ``webapp.services.push.run`` end to end per connection: list goals, plan (finds nothing
new), claim chunks under a lease, ApplyOfflineConversions over HTTP, record every outcome.

Checks: at most ceil(n/1,000) upload calls per connection and goal (counted by the emulator),
every row accepted, time ≤ 3× the floor, and peak Python memory of one connection's push at
1× and 10× backlog (tracemalloc) that does not grow with the backlog.

    python -m bench.push                      # 100,000 conversions, 10 connections
    python -m bench.push --conversions 20000
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
FMT = "%Y-%m-%d %H:%M:%S.%f"
CLIENT_ID, CLIENT_SECRET = "sourceloop-dev-client", "sourceloop-dev-secret"
REDIRECT = "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback"
# (account, customer, user, goal name) the emulator seeds with goals older than two hours.
ACCOUNTS = [
    ("80000011", "70000001", "alex@fabrikam-agency.example", "Closed won"),
    ("80000012", "70000001", "alex@fabrikam-agency.example", "Closed won UK"),
    ("80000021", "70000002", "dana@contoso-bikes.example", "Purchase"),
]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "platforms.microsoft_ads.emulator", "--host", "127.0.0.1",
         "--port", str(port), "--quiet"],
        cwd=ROOT, env={**os.environ, "EMULATOR_ACCESS_TOKEN_TTL": "86400"},
        stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/_emulator/", timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("emulator did not start")


def grant(url: str, user: str) -> dict:
    """The tokens a person's consent would give (consent shortcut + code redemption)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    scope = "https://ads.microsoft.com/msads.manage offline_access"
    consent = requests.post(f"{url}/_emulator/consent", timeout=10, json={
        "user": user, "redirect_uri": REDIRECT, "scope": scope, "state": "s",
        "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256",
    }).json()  # fmt: skip
    token = requests.post(f"{url}/common/oauth2/v2.0/token", timeout=10, data={
        "grant_type": "authorization_code", "code": consent["code"], "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": verifier,
        "scope": scope,
    })  # fmt: skip
    token.raise_for_status()
    return token.json()


def make_app(db_path: Path, emulator: str):  # noqa: ANN201
    from config import load_settings
    from webapp.factory import create_app

    return create_app(load_settings({
        "SOURCELOOP_ENV": "testing", "DATABASE_URL": f"sqlite:///{db_path}",
        "REDIS_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": "bench",
        "MSADS_ENVIRONMENT": "emulator", "MSADS_EMULATOR_URL": emulator,
        "MSADS_CLIENT_ID": CLIENT_ID, "MSADS_CLIENT_SECRET": CLIENT_SECRET,
    }))  # fmt: skip


def seed(app, url: str, connections: int, per_connection: list[int]) -> list[int]:  # noqa: ANN001
    """Workspaces, shared grants, connections, mappings, conversions and pending ledger rows;
    bulk rows go in with plain sqlite3, since only the push is timed."""
    from webapp.extensions import db
    from webapp.models import Connection, Credential, GoalMapping, PushConfig, Workspace
    from webapp.services.credentials import apply_token

    credentials = {}
    ids = []
    for index in range(connections):
        account, customer, user, goal = ACCOUNTS[index % len(ACCOUNTS)]
        workspace = Workspace(name=f"Bench {secrets.token_hex(4)}")
        db.session.add(workspace)
        db.session.flush()
        credential = Credential(workspace_id=workspace.id, platform_key="microsoft_ads",
                                status="active")  # fmt: skip
        apply_token(credential, credentials.setdefault(user, grant(url, user)))
        db.session.add(credential)
        db.session.flush()
        connection = Connection(workspace_id=workspace.id, platform_key="microsoft_ads",
                                account_id=account, customer_id=customer, account_name=account,
                                credential_id=credential.id, currency="USD")  # fmt: skip
        db.session.add(connection)
        db.session.flush()
        db.session.add(PushConfig(connection_id=connection.id, enabled=True))
        db.session.add(GoalMapping(connection_id=connection.id, event="purchase",
                                   goal_id="", goal_name=goal, value_mode="event"))  # fmt: skip
        ids.append(connection.id)
    db.session.commit()
    con = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    now = datetime.now(UTC)
    conversion_id = con.execute("SELECT coalesce(max(id), 0) FROM conversions").fetchone()[0]
    delivery_id = con.execute("SELECT coalesce(max(id), 0) FROM conversion_deliveries").fetchone()[
        0
    ]
    for cid, count in zip(ids, per_connection, strict=True):
        ws = con.execute("SELECT workspace_id FROM connections WHERE id=?", (cid,)).fetchone()[0]
        goal = con.execute("SELECT goal_name FROM push_goal_mappings WHERE connection_id=?",
                           (cid,)).fetchone()[0]  # fmt: skip
        conversions, deliveries = [], []
        for n in range(count):
            conversion_id += 1
            delivery_id += 1
            at = (now - timedelta(hours=3, seconds=n)).strftime(FMT)
            conversions.append((conversion_id, ws, "purchase", at, "12.5000", "USD",
                                f"o{conversion_id}", "api", "{}", at))  # fmt: skip
            deliveries.append((delivery_id, cid, conversion_id, "", goal, secrets.token_hex(16),
                               at, "12.5000", "USD", "pending", 0, at))  # fmt: skip
        con.executemany(
            "INSERT INTO conversions (id, workspace_id, event, occurred_at, value, currency, "
            "external_id, source, properties, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            conversions,
        )
        con.executemany(
            "INSERT INTO conversion_deliveries (id, connection_id, conversion_id, goal_id, "
            "goal_name, click_id, conversion_time, value, currency, status, attempts, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            deliveries,
        )
    con.commit()
    con.close()
    return ids


def floor(connection_ids: list[int]) -> float:
    """Read the same rows and encode the same JSON, no HTTP, no writes."""
    from sqlalchemy import select

    from platforms.base import ConversionUpload
    from platforms.microsoft_ads.mapping import conversion_to_json
    from webapp.extensions import db
    from webapp.models import ConversionDelivery as D

    started = time.perf_counter()
    for cid in connection_ids:
        last = 0
        while True:
            rows = list(db.session.scalars(
                select(D).where(D.connection_id == cid, D.status == "pending", D.id > last)
                .order_by(D.id).limit(1000)
            ))  # fmt: skip
            if not rows:
                break
            last = rows[-1].id
            body = [conversion_to_json(ConversionUpload(
                row_id=r.id, goal_name=r.goal_name, occurred_at=r.conversion_time,
                click_id=r.click_id, value=r.value, currency=r.currency,
            )) for r in rows]  # fmt: skip
            json.dumps({"OfflineConversions": body})
            db.session.expunge_all()
    db.session.rollback()
    return time.perf_counter() - started


def push_all(connection_ids: list[int]) -> tuple[float, list]:
    from webapp.services import push

    started = time.perf_counter()
    summaries = [push.run(cid) for cid in connection_ids]
    return time.perf_counter() - started, summaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversions", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-push-"))
    emulator, url = start_emulator(workdir / "emulator.log")
    try:
        run(workdir, url, args.conversions, args.connections)
    finally:
        emulator.terminate()
        emulator.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def run(workdir: Path, url: str, conversions: int, connections: int) -> None:
    from webapp.extensions import db

    app = make_app(workdir / "bench.db", url)
    with app.app_context():
        db.create_all()
        per = [conversions // connections] * connections
        ids = seed(app, url, connections, per)
        small, large = seed(app, url, 2, [1_000, 10_000])
        db.session.remove()
        floor_s = floor(ids)
        push_s, summaries = push_all(ids)
        calls = requests.get(f"{url}/_emulator/calls", timeout=30).json()["calls"]
        received = requests.get(f"{url}/_emulator/conversions", timeout=60).json()
        statuses = Counter(r["Status"] for r in received["conversions"])
        mem = {}
        for cid, backlog in ((small, 1_000), (large, 10_000)):
            tracemalloc.start()
            from webapp.services import push

            push.run(cid)
            mem[backlog] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    applies = sum(1 for c in calls if c.get("operation") == "ApplyOfflineConversions")
    sent = sum(s.sent for s in summaries)
    print(f"conversions pushed       {sent:,} over {connections} connections "
          f"(emulator: {dict(statuses)})")  # fmt: skip
    worst = 0.0
    for s, n in zip(summaries, per, strict=True):
        for count in s.calls_by_goal.values():
            worst = max(worst, count / math.ceil(n / 1000))
    print(f"upload calls             {sum(s.api_calls for s in summaries)} made for the "
          f"10 connections; worst connection/goal uses {worst:.2f}× ceil(n/1,000)")  # fmt: skip
    print(f"floor (read + encode)    {floor_s:8.2f} s")
    print(f"push (end to end, HTTP)  {push_s:8.2f} s   ratio {push_s / floor_s:5.2f}× (target ≤ 3)")
    print(f"peak memory, 1× backlog  {mem[1_000] / 1e6:8.2f} MB (1,000 rows)")
    print(f"peak memory, 10× backlog {mem[10_000] / 1e6:8.2f} MB (10,000 rows)   "
          f"ratio {mem[10_000] / mem[1_000]:5.2f}× (10× the rows; growing with the backlog would be ≈ 10×)")  # fmt: skip
    assert sent == conversions and statuses.get("Accepted") == conversions
    assert worst <= 1.0, "more upload calls than ceil(n/1,000) for a connection and goal"
    assert applies >= sum(s.api_calls for s in summaries)


if __name__ == "__main__":
    main()
