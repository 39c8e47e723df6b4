"""Benchmark the intake paths; prints ratios against baselines measured in the same run.

1. ``POST /collect`` under gunicorn (the project's gunicorn.conf.py) against a bare Flask endpoint
   served the same way, side by side on loopback: requests per second over the same bounded load
   (a fixed number of client processes with keep-alive connections, ``--seconds`` each, at most
   ``--max-requests``), in ``--rounds`` rounds that alternate which server goes first. Goal
   (issue 18): /collect >= 0.7 x bare. Also printed: the servers' CPU per request (master and
   workers, from /proc), which a busy machine disturbs less than requests per second, and the
   machine's load average before and after.

   Measured on a shared 2-core machine, 3 rounds a run (docs/scaling.md has every run): before
   the batched writer, the /collect lane and the preparation before fork, SQLite 0.51x (server
   CPU 1.22 ms per request, the floor's 0.58; load average 1.0 -> 4.3) and PostgreSQL 0.34x
   (1.66 ms, 0.54; load 1.5 -> 4.4); after, SQLite 0.94-0.96x in three runs (0.73-0.79 ms, the
   floor's 0.69-0.72; load 0.6-2.8 -> 2.3-4.0) and PostgreSQL 0.77-0.84x (0.74-0.80 ms,
   0.61-0.67; load 2.6-3.6 -> 3.3-5.5), every accepted hit stored.
2. The conversion API ingests a 1,000-row batch in one transaction (commits are counted), compared
   with the same rows sent one by one.

    python bench/collect.py [--seconds 4] [--rounds 3] [--clients 8] [--database-url URL]

Uses a throwaway SQLite database unless ``--database-url`` is given (use PostgreSQL to measure
production-like numbers). Only loopback ports are used.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.processes import free_port  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def environ(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SOURCELOOP_ENV": "development",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def prepare(database_url: str) -> str:
    """Migrate, create a workspace, return its pixel key."""
    env = environ(database_url)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        env=env, cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    code = (
        "from wsgi import app\n"
        "from webapp.extensions import db\n"
        "from webapp.models import Workspace\n"
        "from webapp.intake import tracking\n"
        "with app.app_context():\n"
        "    ws = db.session.query(Workspace).filter_by(name='Bench').first()\n"
        "    if ws is None:\n"
        "        ws = Workspace(name='Bench'); db.session.add(ws); db.session.commit()\n"
        "    print(tracking.settings_for(ws.id).public_key)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def serve(module: str, port: int, database_url: str, log: Path) -> subprocess.Popen:
    env = environ(database_url) | {"HOST": "127.0.0.1", "PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", module],
        env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{module} did not start; see {log}")


def _client(args: tuple[int, str, float, int, int]) -> tuple[int, int]:
    port, path, seconds, limit, seed = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    done = errors = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and done < limit:
        visitor = f"v_bench{seed:03d}_{done % 200:05d}"
        payload = {
            "v": visitor,
            "t": "pageview",
            "u": f"https://shop.example.com/p/{done % 50}",
            "r": "",
        }
        if done % 10 == 0:
            payload["c"] = {"msclkid": f"bench{seed}x{done}"}
            payload["u"] += f"?msclkid=bench{seed}x{done}"
        body = json.dumps(payload)
        conn.request(
            "POST",
            path,
            body,
            {"Content-Type": "text/plain", "User-Agent": UA, "Origin": "https://shop.example.com"},
        )
        response = conn.getresponse()
        response.read()
        if response.status != 204:
            errors += 1
        done += 1
    conn.close()
    return done, errors


def load(
    port: int, path: str, clients: int, seconds: float, max_requests: int
) -> tuple[float, int, int]:
    per_client = max(1, max_requests // clients)
    started = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(_client, [(port, path, seconds, per_client, i) for i in range(clients)])
    elapsed = time.monotonic() - started
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    return done / elapsed, errors, done


WARMUP = 2000
TARGET = 0.7


def stored_hits(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT COALESCE(SUM(hits), 0) FROM visit_sessions")).scalar_one()
    engine.dispose()
    return int(total)


def wait_stored(database_url: str, expected: int, timeout: float = 120.0) -> float:
    """Seconds until ``expected`` hits are stored (the write-behind has caught up)."""
    started = time.monotonic()
    while stored_hits(database_url) < expected and time.monotonic() - started < timeout:
        time.sleep(0.02)
    return time.monotonic() - started


def server_cpu(master: int) -> float:
    """CPU seconds used so far by a gunicorn master and its workers: the live workers' own time
    plus what the master collected from workers it reaped (``max_requests`` recycles them).
    Linux only; 0.0 elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(pid: int) -> list[str]:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    try:
        fields = stat(master)
        total = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        with open(f"/proc/{master}/task/{master}/children") as f:
            workers = [int(pid) for pid in f.read().split()]
        for pid in workers:
            with contextlib.suppress(OSError):  # it exited between the two reads
                total += sum(int(x) for x in stat(pid)[11:13])
    except OSError:
        return 0.0
    return total / tick


def bench_collect(args: argparse.Namespace, database_url: str, workdir: Path) -> float:
    """Both servers run side by side; each round loads one then the other (the order alternates
    between rounds), so a change in the machine's load between two measurements does not favour
    either. The ratio is the total requests per second of all rounds."""
    key = prepare(database_url)
    stored_before = stored_hits(database_url)
    bare_port, app_port = free_port(), free_port()
    bare = serve("bench.bare_app:app", bare_port, database_url, workdir / "bare.log")
    app = serve("wsgi:app", app_port, database_url, workdir / "app.log")
    targets = {
        "bare": (bare, bare_port, "/collect"),
        "app": (app, app_port, f"/collect?k={key}"),
    }
    totals = {
        name: {"done": 0, "seconds": 0.0, "errors": 0, "cpu": 0.0, "drain": 0.0, "answered": 0.0}
        for name in targets
    }
    accepted = 0
    rounds = []
    load_before = os.getloadavg()
    try:
        load(bare_port, "/collect", args.clients, 1, WARMUP)  # warm both up
        _, _, warm = load(app_port, f"/collect?k={key}", args.clients, 1, WARMUP)
        wait_stored(database_url, stored_before + warm)
        for number in range(args.rounds):
            order = ("bare", "app") if number % 2 == 0 else ("app", "bare")
            rps = {}
            for name in order:
                process, port, path = targets[name]
                cpu_before = server_cpu(process.pid)
                started = time.monotonic()
                rate, errors, done = load(port, path, args.clients, args.seconds, args.max_requests)
                totals[name]["answered"] += done / rate
                if name == "app":
                    # /collect answers before its write-behind stores the hit: the phase ends
                    # when every hit it accepted is stored, so deferred writes are neither left
                    # out of its time nor left to slow the next phase down.
                    accepted += done
                    drain = wait_stored(database_url, stored_before + warm + accepted)
                    totals[name]["drain"] += drain
                    rate = done / (time.monotonic() - started)
                totals[name]["seconds"] += time.monotonic() - started
                totals[name]["cpu"] += server_cpu(process.pid) - cpu_before
                totals[name]["done"] += done
                totals[name]["errors"] += errors
                rps[name] = rate
            rounds.append(rps)
            print(
                f"round {number + 1}: bare {rps['bare']:6.0f} req/s, /collect {rps['app']:6.0f}"
                f" req/s, ratio {rps['app'] / rps['bare']:.2f}"
            )
    finally:
        for process in (bare, app):
            process.terminate()
            process.wait(timeout=20)
    load_after = os.getloadavg()
    stored = stored_hits(database_url) - stored_before
    sent = totals["app"]["done"]
    rate = {name: t["done"] / t["seconds"] for name, t in totals.items()}
    cpu_ms = {name: 1000 * t["cpu"] / max(t["done"], 1) for name, t in totals.items()}
    ratio = rate["app"] / rate["bare"]
    answered = {name: t["done"] / t["answered"] for name, t in totals.items()}
    print(
        f"bare Flask endpoint : {rate['bare']:8.0f} req/s ({totals['bare']['errors']} errors),"
        f" server CPU {cpu_ms['bare']:.2f} ms/request"
    )
    print(
        f"/collect            : {rate['app']:8.0f} req/s ({totals['app']['errors']} non-204),"
        f" server CPU {cpu_ms['app']:.2f} ms/request (write-behind included; its phases end"
        f" when every hit is stored, {totals['app']['drain']:.1f} s of them after the load)"
    )
    print(
        f"hits stored         : {stored} of {sent + warm} accepted (write-behind flushed at shutdown)"
    )
    print(
        f"machine             : {os.cpu_count()} cores, load average {load_before[0]:.1f} before,"
        f" {load_after[0]:.1f} after"
    )
    print(
        f"answered (204s/s while loading, writes not waited for): /collect"
        f" {answered['app']:.0f} req/s, {answered['app'] / answered['bare']:.2f} x bare"
    )
    spread = [r["app"] / r["bare"] for r in rounds]
    print(
        f"ratio /collect / bare: {ratio:.2f} over {len(rounds)} rounds"
        f" ({min(spread):.2f}-{max(spread):.2f})  (goal >= {TARGET:.2f})"
        f" {'OK' if ratio >= TARGET else 'BELOW GOAL'}"
    )
    return ratio


def bench_batch(database_url: str) -> None:
    from sqlalchemy import event

    from config import load_settings
    from webapp.accounts import api_keys
    from webapp.extensions import db
    from webapp.factory import create_app
    from webapp.models import Conversion, Workspace

    app = create_app(load_settings(environ(database_url)))
    with app.app_context():
        workspace = db.session.query(Workspace).filter_by(name="Bench").one()
        _, key = api_keys.create(workspace.id, "bench")
        commits = []
        event.listen(db.engine, "commit", lambda conn: commits.append(1))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        stamp = int(time.time())

        def rows(prefix: str, n: int) -> list[dict]:
            return [
                {
                    "event": "payment_received",
                    "occurred_at": "2026-01-01T12:00:00+00:00",
                    "value": "19.99",
                    "currency": "USD",
                    "email": f"buyer{i}@example.com",
                    "external_id": f"{prefix}-{stamp}-{i}",
                }
                for i in range(n)
            ]

        batch = rows("batch", 1000)
        started = time.perf_counter()
        response = client.post("/api/v1/conversions", json={"conversions": batch}, headers=headers)
        batch_seconds = time.perf_counter() - started
        assert response.status_code == 200 and response.json["created"] == 1000, response.json
        batch_commits = len(commits)
        stored = (
            db.session.query(Conversion)
            .filter(Conversion.external_id.like(f"batch-{stamp}-%"))
            .count()
        )

        singles = rows("single", 200)
        started = time.perf_counter()
        for row in singles:
            assert client.post("/api/v1/conversions", json=row, headers=headers).status_code == 201
        single_seconds = (time.perf_counter() - started) * 1000 / len(singles)
    print(
        f"1,000-row batch     : {batch_seconds * 1000:8.0f} ms, {batch_commits} commit(s), "
        f"{stored} rows stored ({1000 / batch_seconds:.0f} rows/s)"
    )
    print(f"1,000 rows one by one (extrapolated from 200): {single_seconds * 1000:8.0f} ms")
    print(f"ratio one-by-one / batch: {single_seconds / batch_seconds:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per server and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sourceloop-bench-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        print(
            f"database: {database_url.split('@')[-1]}; {args.clients} clients x {args.seconds:.0f}s"
            f" x {args.rounds} rounds per server"
        )
        bench_collect(args, database_url, workdir)
        bench_batch(database_url)


if __name__ == "__main__":
    main()
