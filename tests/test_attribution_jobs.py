"""The attribution job runs on the default queue through the real worker path, and the
schedule lists its fan-out every 10 minutes."""

from __future__ import annotations

from sqlalchemy import func, select

from jobs.schedule import SCHEDULE
from tests.helpers import attribution_data as data
from webapp.extensions import db
from webapp.models import AttributedConversion, JobRun


def test_fanout_enqueues_one_job_per_workspace_with_pending_conversions(
    app, world, burst_worker
) -> None:
    from jobs.attribution import attribution_fanout

    ws = world.workspace_id
    v = data.visitor(ws)
    data.touch(ws, v, 1, "email")
    data.conversion(ws, v, "10.00", external_id="o1")
    data.conversion(ws, v, "20.00", external_id="o2")
    assert "1 attribution job(s) enqueued for 1 workspace(s)" in attribution_fanout()
    burst_worker()
    assert db.session.scalar(select(func.count()).select_from(AttributedConversion)) == 2
    run = db.session.scalar(select(JobRun).where(JobRun.kind == "attribution"))
    assert run.workspace_id == ws and run.message == "2 conversion(s) attributed"
    assert "0 attribution job(s) enqueued for 0 workspace(s)" in attribution_fanout()


def test_schedule_runs_the_attribution_fanout_every_ten_minutes_on_default() -> None:
    entry = next(e for e in SCHEDULE if e.func == "jobs.attribution.attribution_fanout")
    assert (entry.cron, entry.queue) == ("*/10 * * * *", "default")
