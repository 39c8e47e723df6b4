"""The nightly retention job through a real worker process over a large backlog: everything
past the limits is gone, nothing recent is touched, and the run record says what it did."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import make_world, test_environ
from tests.helpers.processes import python_process, stop, wait_for
from tests.privacy.test_retention import backlog, count
from webapp.background import job_runs
from webapp.extensions import db
from webapp.intake import tracking
from webapp.models import Conversion, JobRun, Visitor, VisitSession

pytestmark = pytest.mark.e2e


def test_a_large_backlog_is_deleted_by_the_worker(
    ms_app, redis, redis_url, _migrated, tmp_path: Path
) -> None:
    world = make_world()
    ws = world.workspace_id
    tracking.settings_for(ws)
    db.session.commit()
    backlog(ws, 12_000, age_days=1200, tag="old")
    backlog(ws, 500, age_days=5, tag="new")
    run_id = job_runs.enqueue("retention")
    worker = python_process(
        ["-m", "jobs.worker"], test_environ(_migrated, redis_url), tmp_path / "worker.log"
    )
    started = time.monotonic()
    try:

        def finished() -> bool:
            db.session.rollback()
            return db.session.get(JobRun, run_id).finished_at is not None

        wait_for(finished, timeout=240, what="the retention run")
    finally:
        stop(worker)
    elapsed = time.monotonic() - started
    run = db.session.get(JobRun, run_id)
    assert run.status == "succeeded", (run.status, (tmp_path / "worker.log").read_text()[-2000:])
    assert count(VisitSession, ws) == 500 and count(Conversion, ws) == 500
    assert count(Visitor, ws) == 500
    print(f"retention: 12,000 visitors' sessions, conversions and visitors in {elapsed:.1f} s")
