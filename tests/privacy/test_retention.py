"""Retention: page views and conversions older than the workspace keeps them are deleted in
bounded batches (each its own transaction, so a stopped run resumes), the rest untouched, other
workspaces on their own limits; the nightly entry is on the schedule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from jobs.schedule import SCHEDULE
from webapp.extensions import db
from webapp.intake import tracking
from webapp.models import (
    AdClick,
    Conversion,
    Touchpoint,
    TrackingSettings,
    Visitor,
    VisitSession,
)
from webapp.models.types import utcnow
from webapp.privacy import retention


def backlog(workspace_id: int, n: int, age_days: int, tag: str) -> None:
    """``n`` visitors, each with one session, touchpoint, click and conversion ``age_days`` old,
    written with bulk inserts (fast enough for tens of thousands)."""
    when = utcnow() - timedelta(days=age_days)
    db.session.execute(
        insert(Visitor),
        [
            {"workspace_id": workspace_id, "uid": f"{tag}{i:08d}", "first_seen_at": when,
             "last_seen_at": when}
            for i in range(n)
        ],
    )  # fmt: skip
    ids = db.session.scalars(
        select(Visitor.id).where(Visitor.workspace_id == workspace_id, Visitor.uid.startswith(tag))
    ).all()
    db.session.execute(
        insert(VisitSession),
        [{"workspace_id": workspace_id, "visitor_id": v, "started_at": when, "last_hit_at": when}
         for v in ids],
    )  # fmt: skip
    sessions = dict(
        db.session.execute(
            select(VisitSession.visitor_id, VisitSession.id).where(VisitSession.visitor_id.in_(ids))
        ).all()
    )
    db.session.execute(
        insert(Touchpoint),
        [{"workspace_id": workspace_id, "visitor_id": v, "session_id": sessions[v],
          "occurred_at": when, "channel": "microsoft_ads", "utm": {}, "click_param": "msclkid",
          "click_id": f"{tag}{v}"}
         for v in ids],
    )  # fmt: skip
    db.session.execute(
        insert(AdClick),
        [{"workspace_id": workspace_id, "visitor_id": v, "click_param": "msclkid",
          "click_id": f"{tag}{v}", "clicked_at": when}
         for v in ids],
    )  # fmt: skip
    db.session.execute(
        insert(Conversion),
        [{"workspace_id": workspace_id, "visitor_id": v, "event": "purchase", "occurred_at": when,
          "external_id": f"{tag}{v}", "source": "api", "properties": {}}
         for v in ids],
    )  # fmt: skip
    db.session.commit()


def count(model, workspace_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
    )


def test_old_page_views_and_conversions_go_in_batches_and_recent_ones_stay(app, world) -> None:
    ws, other = world.workspace_id, world.other_workspace_id
    tracking.settings_for(ws)
    tracking.settings_for(other).retention_pageview_days = 1000  # keeps its page views
    db.session.commit()
    backlog(ws, 250, age_days=500, tag="old")  # page views past 13 months, conversions within 3y
    backlog(ws, 20, age_days=1200, tag="anc")  # everything past its limit
    backlog(ws, 30, age_days=10, tag="new")
    backlog(other, 40, age_days=500, tag="oth")

    counts = retention.purge(ws, batch=50)
    assert counts == {"sessions": 270, "click_ids": 270, "conversions": 20, "visitors": 20}
    assert count(VisitSession, ws) == 30 and count(Touchpoint, ws) == 30
    assert count(AdClick, ws) == 30
    # Visitors whose conversions are still kept stay (their conversions need them).
    assert count(Visitor, ws) == 280 and count(Conversion, ws) == 280
    assert count(VisitSession, other) == 40 and count(Conversion, other) == 40
    assert sum(retention.purge(ws, batch=50).values()) == 0


def test_a_run_stopped_by_its_deadline_resumes_where_it_left_off(app, world) -> None:
    ws = world.workspace_id
    tracking.settings_for(ws)
    db.session.commit()
    backlog(ws, 120, age_days=500, tag="old")
    stopped = retention.purge(ws, batch=10, deadline=utcnow() - timedelta(seconds=1))
    assert stopped["sessions"] == 0 and count(VisitSession, ws) == 120  # nothing half-done
    assert retention.purge(ws, batch=10)["sessions"] == 120


def test_limits_are_bounded_and_the_nightly_run_is_scheduled(app, world) -> None:
    import pytest

    from webapp.common.errors import ServiceError

    ws = world.workspace_id
    retention.set_limits(ws, 90, 730)
    row = db.session.get(TrackingSettings, ws)
    assert (row.retention_pageview_days, row.retention_conversion_days) == (90, 730)
    for bad in ((0, 730), (90, 100_000)):
        with pytest.raises(ServiceError):
            retention.set_limits(ws, *bad)
    crons = {entry.func: entry.cron for entry in SCHEDULE}
    assert crons["jobs.retention.retention_run"] == "30 3 * * *"
