"""A throwaway PostgreSQL cluster for tests that need one of their own (the production smoke
test; running the suite's PostgreSQL pass by hand): initdb in a temp dir, a free loopback port,
stopped by ``pg_ctl`` on its own data directory, the way scripts/test does it."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.processes import free_port


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    run_as: list[str]

    def url(self, database: str, scheme: str = "postgresql+psycopg") -> str:
        return f"{scheme}://sourceloop@127.0.0.1:{self.port}/{database}"

    def createdb(self, name: str) -> None:
        subprocess.run(
            [
                *self.run_as,
                str(self.bin / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "sourceloop",
                name,
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
            capture_output=True,
        )


def start_cluster(directory: Path) -> Cluster:
    """Start a cluster under ``directory`` (trust auth for user ``sourceloop``, fsync off)."""
    binaries = pg_bin()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root; run it as the postgres system user
        shutil.chown(directory, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = directory / "data", free_port()
    subprocess.run(
        [
            *run_as,
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "sourceloop",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(directory / "log"),
            "-w",
            "-o",
            f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return Cluster(binaries, data, port, run_as)


@contextmanager
def throwaway_cluster(database: str = "sourceloop") -> Iterator[Cluster]:
    """A cluster of the test's own with ``database`` created, removed after the block; the test
    is skipped where the server binaries are missing."""
    import pytest

    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries are not installed (scripts/test installs them)")
    # Not under pytest's tmp dir: as root, initdb runs as the postgres user, who must reach it.
    directory = Path(tempfile.mkdtemp(prefix="sourceloop-pg-"))
    directory.chmod(0o755)
    try:
        running = start_cluster(directory)
        try:
            running.createdb(database)
            yield running
        finally:
            running.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
