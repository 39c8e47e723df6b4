"""Benchmark: the whole ``flask jobs push`` of a backlog of backdated conversions against a
minimal pusher, both as processes, to the same Microsoft emulator process.

The backlog: one connection, ``--conversions`` conversions (20,000 by default) spread over the
last 60 days, each with the click id its sender supplied and no ledger row yet, as after a CRM
backfill.

Floor (``bench/push_floor.py``): a process that reads the same rows (the mapped event inside the
upload window, with their click ids, 1,000 at a time), writes Microsoft's JSON and POSTs it,
1,000 rows a request over one keep-alive connection. Nothing else.

Push: ``flask jobs push`` as a process: app start, goals listed and recorded, every conversion
assessed (eligibility) and planned into the ledger, claimed under a lease, sent, every verdict
recorded, the run record closed.

Also printed, the lower bound of any push that keeps a ledger: a Flask + SQLAlchemy process's
imports (``python -c "import flask, sqlalchemy, rq"``) plus the floor's rows plus the ledger's own
SQL with plain sqlite3 (claim insert, ids read back, marked sent; each batch committed), the last
hidden behind the platform's time at best and after it at worst. Every measured process reads
cached bytecode (compiled first), as a deployed app does after its first start.

Runs alternate (floor, push, floor, push, ...) against a reset emulator and a fresh copy of the
database; the medians are compared. Checks, read back from the emulator: every conversion
accepted once, and exactly ceil(n/1,000) upload requests for the connection and goal. Memory:
the push's peak RSS at a quarter of the backlog and at the whole backlog (flat = the same).

    python -m bench.push                       # 20,000 conversions, 3 runs each
    python -m bench.push --conversions 5000 --runs 1
    python -m bench.push --profile             # one push under cProfile, the top functions
    python -m bench.push --code ../main        # another checkout's push against the same floor
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

from tests.helpers.processes import free_port  # noqa: E402

FMT = "%Y-%m-%d %H:%M:%S.%f"
CLIENT_ID, CLIENT_SECRET = "sourceloop-dev-client", "sourceloop-dev-secret"
DEVELOPER_TOKEN = "BBD37VB98"  # the emulator's (Microsoft's public sandbox token)
REDIRECT = "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback"
SECRET_KEY = "bench-push-secret"
# The emulator's seeded account, its customer, a user who reaches it and a goal older than 2 h.
ACCOUNT, CUSTOMER, USER = "80000011", "70000001", "alex@fabrikam-agency.example"
GOAL_ID, GOAL_NAME, EVENT = "60000001", "Closed won", "purchase"
SPREAD = timedelta(days=60)


def start_emulator(log: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "platforms.microsoft_ads.emulator", "--host", "127.0.0.1",
         "--port", str(port), "--quiet"],
        cwd=ROOT, env={**os.environ, "EMULATOR_ACCESS_TOKEN_TTL": "86400", **env},
        stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/_emulator/", timeout=2)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.terminate()
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


def environ(database_url: str, emulator: str) -> dict[str, str]:
    """What ``flask jobs push`` runs with (and the bench's own app, to seed)."""
    return {
        "SOURCELOOP_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SECRET_KEY": SECRET_KEY,
        "MSADS_ENVIRONMENT": "emulator",
        "MSADS_EMULATOR_URL": emulator,
        "MSADS_CLIENT_ID": CLIENT_ID,
        "MSADS_CLIENT_SECRET": CLIENT_SECRET,
        "MSADS_DEVELOPER_TOKEN": DEVELOPER_TOKEN,
    }


def seed(db_path: Path, emulator: str, conversions: int) -> dict:
    """A database with the schema, one connected and configured account, and the backlog;
    bulk rows go in with plain sqlite3 (only the push is timed). Returns the floor's job."""
    from config import load_settings
    from webapp.core import create_base_app
    from webapp.extensions import db
    from webapp.models import Connection, Credential, GoalMapping, PushConfig, Workspace

    app = create_base_app(load_settings(environ(f"sqlite:///{db_path}", emulator)))
    with app.app_context():
        db.create_all()
        workspace = Workspace(name="Bench")
        db.session.add(workspace)
        db.session.flush()
        credential = Credential(workspace_id=workspace.id, platform_key="microsoft_ads",
                                status="active", access_token="-", refresh_token="-",
                                expires_at=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
        db.session.add(credential)
        db.session.flush()
        connection = Connection(workspace_id=workspace.id, platform_key="microsoft_ads",
                                account_id=ACCOUNT, customer_id=CUSTOMER, account_name=ACCOUNT,
                                credential_id=credential.id, currency="USD")  # fmt: skip
        db.session.add(connection)
        db.session.flush()
        db.session.add(PushConfig(connection_id=connection.id, enabled=True))
        db.session.add(GoalMapping(connection_id=connection.id, event=EVENT, goal_id=GOAL_ID,
                                   goal_name=GOAL_NAME, value_mode="event"))  # fmt: skip
        db.session.commit()
        workspace_id, credential_id = workspace.id, credential.id
        db.session.remove()
        db.engine.dispose()
    now = datetime.now(UTC).replace(tzinfo=None)
    newest = now - timedelta(hours=6)  # past the plugin's five-hour click wait
    step = SPREAD / max(1, conversions)
    con = sqlite3.connect(db_path)
    rows, clicks = [], []
    for n in range(1, conversions + 1):
        at = (newest - step * n).strftime(FMT)
        rows.append((n, workspace_id, EVENT, at, "12.5000", "USD", f"o{n}", "api", "{}", at))
        clicks.append((n, "msclkid", secrets.token_hex(16)))
    con.executemany(
        "INSERT INTO conversions (id, workspace_id, event, occurred_at, value, currency, "
        "external_id, source, properties, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.executemany(
        "INSERT INTO conversion_click_ids (conversion_id, click_param, click_id) VALUES (?,?,?)",
        clicks,
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return {
        "database": str(db_path),
        "emulator": emulator,
        "developer_token": DEVELOPER_TOKEN,
        "customer_id": CUSTOMER,
        "account_id": ACCOUNT,
        "workspace_id": workspace_id,
        "credential_id": credential_id,
        "events": {EVENT: GOAL_NAME},
        "since": (now - timedelta(days=89)).strftime(FMT),
    }


def install_token(db_path: Path, emulator: str, credential_id: int, token: dict) -> None:
    """Put a fresh grant on the copy's credential (encrypted, as the connect flow stores it)."""
    from config import load_settings
    from webapp.connections.credentials import apply_token
    from webapp.core import create_base_app
    from webapp.extensions import db
    from webapp.models import Credential

    app = create_base_app(load_settings(environ(f"sqlite:///{db_path}", emulator)))
    with app.app_context():
        apply_token(db.session.get(Credential, credential_id), token)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def timed(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float, int, str]:
    """Wall time, CPU time (user + system), peak RSS (bytes) and output of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    out = proc.stdout.read() if proc.stdout else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[1:3]} failed ({proc.returncode}): {out.decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, out.decode()


def read_back(emulator: str) -> tuple[Counter, Counter, Counter]:
    """Per goal: rows received, rows accepted, upload requests (a request's first row has Index
    0, and every request of this benchmark carries one goal). Also counts each click id."""
    records = requests.get(f"{emulator}/_emulator/conversions", params={"account_id": ACCOUNT},
                           timeout=120).json()["conversions"]  # fmt: skip
    received = Counter(r["GoalId"] for r in records)
    accepted = Counter(r["GoalId"] for r in records if r["Status"] == "Accepted")
    requests_by_goal = Counter(r["GoalId"] for r in records if r["Index"] == 0)
    clicks = Counter(r["Request"].get("MicrosoftClickId") for r in records)
    assert not clicks or max(clicks.values()) == 1, "a conversion was sent twice"
    return received, accepted, requests_by_goal


def import_floor(env: dict[str, str]) -> float:
    """Wall time of ``python -c "import flask, sqlalchemy, rq"``: what any Flask + SQLAlchemy
    command pays before it does anything (issue 18's start-up baseline)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import flask, sqlalchemy, rq"], env=env, check=True)
    return time.perf_counter() - started


def ledger_sql(pristine: Path, workdir: Path, n: int) -> float:
    """The ledger's own SQL for ``n`` conversions with plain sqlite3 and nothing else: each batch
    of 1,000 inserted claimed (``sending``, under a token), its ids read back by the token, then
    marked sent, each step committed, as a push that never sends a row twice must before and
    after each call. Run on a copy of the backlog's database (the same schema and indexes)."""
    copy = workdir / "ledger-sql.db"
    shutil.copyfile(pristine, copy)
    con = sqlite3.connect(copy, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    (connection_id,) = con.execute("SELECT id FROM connections").fetchone()
    conversions = con.execute("SELECT id, occurred_at FROM conversions ORDER BY id").fetchall()
    insert = (
        "INSERT INTO conversion_deliveries (connection_id, conversion_id, goal_id, goal_name, "
        "event, click_id, click_param, consent, conversion_time, value, currency, status, "
        "attempts, claim_token, claimed_until, last_attempt_at, created_at) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (connection_id, conversion_id, goal_id) DO NOTHING"
    )
    sent = (
        "UPDATE conversion_deliveries SET status = 'sent', sent_at = ?, error_code = NULL, "
        "error_message = NULL, claim_token = NULL, claimed_until = NULL, receipt = ? "
        "WHERE claim_token = ? AND status = 'sending'"
    )
    started = time.perf_counter()
    for start in range(0, min(n, len(conversions)), 1000):
        token = secrets.token_hex(16)
        rows = [
            (connection_id, cid, GOAL_ID, GOAL_NAME, EVENT, secrets.token_hex(16), "msclkid",
             "unknown", at, "12.5000", "USD", "sending", 1, token, at, at, at)
            for cid, at in conversions[start : start + 1000]
        ]  # fmt: skip
        con.execute("BEGIN")
        con.executemany(insert, rows)
        con.execute(
            "SELECT conversion_id, id FROM conversion_deliveries WHERE claim_token = ?", (token,)
        ).fetchall()
        con.execute("COMMIT")
        con.execute("BEGIN")
        con.execute(sent, (datetime.now(UTC).strftime(FMT), "receipt", token))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


class Bench:
    def __init__(self, workdir: Path, emulator: str, code: Path = ROOT) -> None:
        self.workdir, self.emulator, self.code = workdir, emulator, code
        self.python = sys.executable
        self.flask = str(Path(sys.executable).with_name("flask"))

    def child_env(self) -> dict[str, str]:
        """The environment of every measured process: bytecode is read from its cache (written
        by ``compile_code`` beforehand), as in a deployed app after its first start, even when
        the caller's shell sets ``PYTHONDONTWRITEBYTECODE``."""
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def compile_code(self) -> None:
        """Write the bytecode cache of the code under test (a cold cache costs the first push
        about a tenth of a second of compiling, which no deployed process pays twice)."""
        subprocess.run(
            [self.python, "-m", "compileall", "-q", "webapp", "platforms", "jobs", "config.py",
             "wsgi.py"],
            cwd=self.code, env=self.child_env(), check=True, capture_output=True,
        )  # fmt: skip

    def fresh(self) -> dict:
        requests.post(f"{self.emulator}/_emulator/reset", timeout=30).raise_for_status()
        return grant(self.emulator, USER)

    def floor(self, job: dict, *, empty: bool = False) -> tuple[float, float]:
        """One floor run; ``empty``: the same process with nothing to read or send (its fixed
        cost: the interpreter, its imports, the database opened and one query)."""
        token = self.fresh()
        if empty:
            job = {**job, "since": "9999-01-01 00:00:00.000000"}
        argv = [self.python, str(ROOT / "bench" / "push_floor.py"),
                json.dumps({**job, "access_token": token["access_token"]})]  # fmt: skip
        elapsed, cpu, _rss, out = timed(argv, self.child_env())
        n = int(out.strip().splitlines()[-1])
        if empty:
            assert n == 0, n
            return elapsed, cpu
        _received, accepted, _requests = read_back(self.emulator)
        assert accepted[GOAL_ID] == n, (accepted, n)
        return elapsed, cpu

    def push(self, pristine: Path, job: dict, *, profile: Path | None = None) -> tuple:
        run_db = self.workdir / "run.db"
        for leftover in ("run.db-wal", "run.db-shm", "run.db-journal"):
            (self.workdir / leftover).unlink(missing_ok=True)
        shutil.copyfile(pristine, run_db)
        install_token(run_db, self.emulator, job["credential_id"], self.fresh())
        env = {**self.child_env(), "FLASK_APP": "webapp.core:create_base_app",
               **environ(f"sqlite:///{run_db}", self.emulator)}  # fmt: skip
        argv = [self.flask, "jobs", "push"]
        if profile is not None:
            argv = [self.python, "-m", "cProfile", "-o", str(profile), self.flask, "jobs", "push"]
        elapsed, cpu, rss, out = timed(argv, env, self.code)
        received, accepted, uploads = read_back(self.emulator)
        return elapsed, cpu, rss, out.strip(), received, accepted, uploads

    def push_again(self, profile: Path | None = None) -> tuple[float, float]:
        """``flask jobs push`` once more on the database the last push left: nothing is left to
        send, so this is the push process's fixed cost (start-up, the goals call, the run
        record, the checks that find nothing due)."""
        run_db = self.workdir / "run.db"
        env = {**self.child_env(), "FLASK_APP": "webapp.core:create_base_app",
               **environ(f"sqlite:///{run_db}", self.emulator)}  # fmt: skip
        argv = [self.flask, "jobs", "push"]
        if profile is not None:
            argv = [self.python, "-m", "cProfile", "-o", str(profile), self.flask, "jobs", "push"]
        elapsed, cpu, _rss, out = timed(argv, env, self.code)
        assert " 0 sent" in out, out[-500:]
        return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversions", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="one push under cProfile")
    parser.add_argument("--profile-out", type=Path, help="with --profile: keep the profile here")
    parser.add_argument(
        "--profile-fixed",
        action="store_true",
        help="with --profile: profile a second push, with nothing left to send",
    )
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the source tree whose flask jobs push runs (compare a branch)")  # fmt: skip
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-push-"))
    emulator, url = start_emulator(workdir / "emulator.log")
    try:
        run(
            Bench(workdir, url, args.code.resolve()),
            args.conversions,
            args.runs,
            args.profile,
            args.profile_out,
            args.profile_fixed,
        )
    finally:
        emulator.terminate()
        emulator.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def run(
    bench: Bench, n: int, runs: int, profile: bool, keep: Path | None = None, fixed: bool = False
) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} at the start")  # fmt: skip
    pristine = bench.workdir / "pristine.db"
    job = seed(pristine, bench.emulator, n)
    bench.compile_code()
    if profile:
        out = bench.workdir / "push.prof"
        bench.push(pristine, job, profile=out)
        if fixed:  # profile the second push instead: the fixed cost
            bench.push_again(profile=out)
        import pstats

        pstats.Stats(str(out)).sort_stats("cumulative").print_stats(45)
        pstats.Stats(str(out)).sort_stats("tottime").print_stats(30)
        if keep is not None:
            shutil.copy(out, keep)
        return
    floors, pushes, floor_cpu, push_cpu, rss_full = [], [], [], [], 0
    floor_fixed, push_fixed, imports, ledgers = [], [], [], []
    for _ in range(runs):
        elapsed, cpu = bench.floor(job)
        floors.append(elapsed)
        floor_cpu.append(cpu)
        elapsed, cpu, rss, out, received, accepted, uploads = bench.push(pristine, job)
        pushes.append(elapsed)
        push_cpu.append(cpu)
        rss_full = max(rss_full, rss)
        assert accepted[GOAL_ID] == n and received[GOAL_ID] == n, (out, received, accepted)
        assert uploads[GOAL_ID] == math.ceil(n / 1000), (out, uploads)
        push_fixed.append(bench.push_again())
        floor_fixed.append(bench.floor(job, empty=True))
        imports.append(import_floor(bench.child_env()))
        ledgers.append(ledger_sql(pristine, bench.workdir, n))
    quarter = bench.workdir / "quarter.db"
    quarter_job = seed(quarter, bench.emulator, n // 4)
    rss_quarter = bench.push(quarter, quarter_job)[2]
    floor_s, push_s = statistics.median(floors), statistics.median(pushes)
    floor_c, push_c = statistics.median(floor_cpu), statistics.median(push_cpu)
    print(f"backlog                     {n:,} conversions, one connection and goal")
    print(f"upload requests (emulator)  {uploads[GOAL_ID]} for {n:,} rows = ceil(n/1,000) "
          f"{math.ceil(n / 1000)}; accepted {accepted[GOAL_ID]:,}, none twice")  # fmt: skip
    print(
        f"floor: minimal pusher       median {floor_s:6.2f} s wall {floor_c:6.2f} s CPU  runs "
        + " ".join(f"{t:.2f}" for t in floors)
    )
    print(
        f"flask jobs push (process)   median {push_s:6.2f} s wall {push_c:6.2f} s CPU  runs "
        + " ".join(f"{t:.2f}" for t in pushes)
    )
    print(f"ratio, wall time            {push_s / floor_s:6.2f}×  (target ≤ 1.5×)")
    print(f"ratio, CPU of the process   {push_c / floor_c:6.2f}×  (the emulator's time left out)")
    fixed_p = statistics.median(t for t, _c in push_fixed)
    fixed_f = statistics.median(t for t, _c in floor_fixed)
    print(f"fixed cost, nothing to send push {fixed_p:5.2f} s wall, floor {fixed_f:5.2f} s wall "
          f"(the process, its imports, its checks)")  # fmt: skip
    work_p, work_f = push_s - fixed_p, floor_s - fixed_f
    print(f"the {n:,} rows alone          push {work_p:5.2f} s, floor {work_f:5.2f} s: "
          f"{work_p / work_f:5.2f}×  (whole minus fixed cost)")  # fmt: skip
    # What no push with a ledger can go below: a Flask + SQLAlchemy process's imports, the floor's
    # own rows (the same read, JSON and calls), and the ledger's SQL, overlapped with the
    # platform's time at best and after it at worst; the push's own Python comes on top.
    base, ledger = statistics.median(imports), statistics.median(ledgers)
    print(f"any flask + ledger push     imports {base:5.2f} s (python -c 'import flask, "
          f"sqlalchemy, rq'), ledger SQL alone {ledger:5.2f} s (plain sqlite3)")  # fmt: skip
    print(f"  its lower bound           {base + work_f:5.2f}-{base + work_f + ledger:5.2f} s = "
          f"{(base + work_f) / floor_s:4.2f}-{(base + work_f + ledger) / floor_s:4.2f}× the "
          f"floor (ledger SQL hidden behind the calls .. after them); this push "
          f"{push_s / floor_s:4.2f}×")  # fmt: skip
    print(f"peak RSS of the push        {rss_quarter / 1e6:6.1f} MB at {n // 4:,} rows, "
          f"{rss_full / 1e6:6.1f} MB at {n:,} rows ({rss_full / rss_quarter:.2f}×)")  # fmt: skip
    print(f"machine load at the end     {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
