"""Benchmark: how fast the operator CLI and a worker start, against the bare imports they need.

Floor: ``python -c "import flask, sqlalchemy, rq"``. Measured, each as a whole process:

- ``flask --help`` from the project directory (``.flaskenv`` names the app the command loads);
- a worker's readiness: ``python -m jobs.worker`` until it has registered in Redis and listens
  (``rq:workers`` names it), then it is stopped (RQ's own shutdown, which waits up to a second for
  its pub/sub thread, is not start-up);
- for reference, ``python -c "import wsgi"``: the web app a gunicorn worker boots.

Runs interleave (floor, CLI, worker, web, floor, ...) so a busy machine slows each alike; the
medians are compared. Targets: CLI and worker ≤ 1.5 × floor.

    python bench/startup.py [--runs 7] [--root PATH]   # --root: measure another checkout
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.processes import start_redis, stop  # noqa: E402

TARGET = 1.5


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def timed_ready(argv: list[str], env: dict[str, str], cwd: Path, redis_port: int) -> float:
    """Seconds from start until the worker has registered in Redis; then stop it by its pid."""
    from redis import Redis

    client = Redis(host="127.0.0.1", port=redis_port)
    client.delete("rq:workers")
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        while not client.scard("rq:workers"):
            if process.poll() is not None:
                raise SystemExit(f"{' '.join(argv)} exited:\n{process.stderr.read()}")
            if time.perf_counter() - started > 60:
                raise SystemExit("the worker did not register within 60 s")
            time.sleep(0.002)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    args = parser.parse_args()
    root = args.root.resolve()
    python = sys.executable
    flask = str(Path(python).with_name("flask"))

    redis_dir = tempfile.mkdtemp(prefix="bench-startup-redis-")
    redis, port = start_redis(Path(redis_dir))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            # Bytecode is written by the warm-up run and read after it, as in a deployed app
            # after its first start, even when the shell sets PYTHONDONTWRITEBYTECODE.
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("FLASK_", "SOURCELOOP_"))
                and key != "PYTHONDONTWRITEBYTECODE"
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
                # The same imports without the interpreter's exit (module teardown): what a
                # worker's readiness, which stops the clock before any exit, compares with.
                "floor, no exit": [python, "-c", "import flask, sqlalchemy, rq, os; os._exit(0)"],
                "flask --help": [flask, "--help"],
                "worker ready": [python, "-m", "jobs.worker"],
                "import wsgi": [python, "-c", "import wsgi"],
            }
            times: dict[str, list[float]] = {name: [] for name in commands}

            def measure(name: str, argv: list[str]) -> float:
                if name == "worker ready":
                    return timed_ready(argv, env, root, port)
                return timed(argv, env, root)

            for name, argv in commands.items():  # warm the file and bytecode caches once
                measure(name, argv)
            for _ in range(args.runs):
                for name, argv in commands.items():
                    times[name].append(measure(name, argv))
    finally:
        stop(redis)
        shutil.rmtree(redis_dir, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in times.items()}
    floors = {"worker ready": medians["floor, no exit"]}
    print(f"checkout: {root} ({args.runs} runs each, interleaved; medians)")
    for name, median in medians.items():
        spread = f"{min(times[name]):.2f}–{max(times[name]):.2f}"
        floor = floors.get(name, medians["floor"])
        ratio = median / floor
        verdict = ""
        if name in ("flask --help", "worker ready"):
            against = "floor, no exit" if name in floors else "floor"
            verdict = (
                f"  (vs {against}; target ≤ {TARGET}) {'OK' if ratio <= TARGET else 'ABOVE TARGET'}"
            )
        print(f"{name:15s} {median:6.2f} s  [{spread}]  ratio {ratio:4.2f}{verdict}")


if __name__ == "__main__":
    main()
