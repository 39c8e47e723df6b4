"""Benchmark: how fast the operator CLI and a worker start, against the bare imports they need.

Floor: ``python -c "import flask, sqlalchemy, rq"``. Measured, each as a whole process:

- ``flask --help`` from the project directory (``.flaskenv`` names the app the command loads);
- a worker's readiness: ``python -m jobs.worker --burst`` against an empty Redis: build the app,
  import every job body, connect, register, find nothing to do, exit;
- for reference, ``python -c "import wsgi"``: the web app a gunicorn worker boots.

Runs interleave (floor, CLI, worker, web, floor, ...) so a busy machine slows each alike; the
medians are compared. Targets: CLI and worker ≤ 1.5 × floor.

    python bench/startup.py [--runs 7] [--root PATH]   # --root: measure another checkout
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    args = parser.parse_args()
    root = args.root.resolve()
    python = sys.executable
    flask = str(Path(python).with_name("flask"))

    port = free_port()
    redis = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("FLASK_", "SOURCELOOP_"))
            }
            env |= {
                "SOURCELOOP_ENV": "development",
                "DATABASE_URL": f"sqlite:///{tmp}/startup.db",
                "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(root),
            }
            commands = {
                "floor": [python, "-c", "import flask, sqlalchemy, rq"],
                "flask --help": [flask, "--help"],
                "worker ready": [python, "-m", "jobs.worker", "--burst"],
                "import wsgi": [python, "-c", "import wsgi"],
            }
            times: dict[str, list[float]] = {name: [] for name in commands}
            for argv in commands.values():  # warm the file cache once
                timed(argv, env, root)
            for _ in range(args.runs):
                for name, argv in commands.items():
                    times[name].append(timed(argv, env, root))
    finally:
        redis.terminate()
        redis.wait(timeout=10)

    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["floor"]
    print(f"checkout: {root} ({args.runs} runs each, interleaved; medians)")
    for name, median in medians.items():
        spread = f"{min(times[name]):.2f}–{max(times[name]):.2f}"
        ratio = median / floor
        verdict = ""
        if name in ("flask --help", "worker ready"):
            verdict = f"  (target ≤ {TARGET}) {'OK' if ratio <= TARGET else 'ABOVE TARGET'}"
        print(f"{name:14s} {median:6.2f} s  [{spread}]  ratio {ratio:4.2f}{verdict}")


if __name__ == "__main__":
    main()
