"""Hits reach the database out of order (two web workers, two write-behind batches, a batch
retried hit by hit); the journey they leave is the one their event times say, whatever order they
are written in, and attribution reads it by time."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.intake.helpers import journey_hit, pixel_key
from webapp.extensions import db
from webapp.intake import collect, conversion_reports, tracking
from webapp.models import Conversion, Touchpoint, Visitor, VisitSession

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


_hit = journey_hit


def _journey(uid: str) -> list[tuple]:
    db.session.commit()
    visitor_id = db.session.scalar(select(Visitor.id).where(Visitor.uid == uid))
    rows = db.session.execute(
        select(Touchpoint.occurred_at, Touchpoint.channel, Touchpoint.click_id, Touchpoint.campaign)
        .where(Touchpoint.visitor_id == visitor_id)
        .order_by(Touchpoint.occurred_at, Touchpoint.id)
    ).all()
    return [tuple(r) for r in rows]


def _sessions(uid: str) -> list[tuple]:
    visitor_id = db.session.scalar(select(Visitor.id).where(Visitor.uid == uid))
    return [
        tuple(r)
        for r in db.session.execute(
            select(VisitSession.started_at, VisitSession.last_hit_at, VisitSession.hits)
            .where(VisitSession.visitor_id == visitor_id)
            .order_by(VisitSession.started_at)
        )
    ]


def _write(site, uid: str, hits: list[tuple[datetime, str]], order: list[int]) -> None:
    for index in order:
        at, kind = hits[index]
        collect.record(site, _hit(uid, kind), at)


def test_a_page_view_written_before_its_ad_click_does_not_take_last_touch(app, world) -> None:
    """An hour after an organic visit the visitor clicks an ad and reads a second page; the
    second page's hit is written first (another worker's batch)."""
    site = tracking.pixel_site(pixel_key(world.workspace_id))
    hits = [
        (T0, "organic"),
        (T0 + timedelta(minutes=60), "click:ms1"),
        (T0 + timedelta(minutes=61), "view"),
    ]
    _write(site, "v_outoforder0001", hits, [0, 2, 1])
    journey = _journey("v_outoforder0001")
    assert [(channel, click) for _, channel, click, _ in journey] == [
        ("organic_search", None),
        ("microsoft_ads", "ms1"),
    ]
    assert [hits for _, _, hits in _sessions("v_outoforder0001")] == [1, 2]

    conversion = Conversion(
        workspace_id=world.workspace_id,
        visitor_id=db.session.scalar(select(Visitor.id).where(Visitor.uid == "v_outoforder0001")),
        event="purchase",
        occurred_at=T0 + timedelta(minutes=70),
        external_id="o-1",
        source="api",
        properties={},
    )
    db.session.add(conversion)
    db.session.commit()
    last_touch = conversion_reports.journey(conversion)[-1]
    assert (last_touch.channel, last_touch.click_id) == ("microsoft_ads", "ms1")


def test_attribution_reads_touchpoints_by_time_not_by_insertion(app, world) -> None:
    """The click's touchpoint is inserted first (a lower id), the organic one after it with an
    earlier time: every reader orders by time."""
    from webapp.attribution.credits import journey_query

    site = tracking.pixel_site(pixel_key(world.workspace_id))
    uid = "v_byeventtime0001"
    collect.record(site, _hit(uid, "click:ms2"), T0 + timedelta(minutes=5))
    collect.record(site, _hit(uid, "organic"), T0)
    ids = db.session.execute(select(Touchpoint.id, Touchpoint.channel).order_by(Touchpoint.id))
    assert [c for _, c in ids] == ["microsoft_ads", "organic_search"]  # inserted click first
    visitor_id = db.session.scalar(select(Visitor.id).where(Visitor.uid == uid))
    conversion = Conversion(
        workspace_id=world.workspace_id,
        visitor_id=visitor_id,
        event="purchase",
        occurred_at=T0 + timedelta(minutes=9),
        external_id="o-2",
        source="api",
        properties={},
    )
    db.session.add(conversion)
    db.session.commit()
    assert [t.channel for t in conversion_reports.journey(conversion)] == [
        "organic_search",
        "microsoft_ads",
    ]
    rows = db.session.execute(journey_query([conversion.id])).all()
    assert [r[6] for r in rows] == ["organic_search", "microsoft_ads"]


_EXAMPLES = itertools.count()
KINDS = st.sampled_from(["organic", "view", "view", "click:a", "click:b", "campaign:x"])
GAPS = st.sampled_from([1, 5, 20, 29, 31, 45, 90])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(KINDS, min_size=2, max_size=7),
    gaps=st.lists(GAPS, min_size=7, max_size=7),
    seed=st.randoms(),
)
def test_any_write_order_leaves_the_journey_time_order_leaves(
    app, world, kinds, gaps, seed
) -> None:
    # Not covered: an attribution that comes back after another one (ad A, ad B, ad A again).
    # Sessions keep counts, not their hits, so when B is written after A's second visit, that
    # visit stays in A's first session (the journey still reads A then B, in time order).
    attributions = [k for k in kinds if k.startswith(("click:", "campaign:"))]
    assume(all(a not in attributions[i + 1 :] or attributions[i + 1] == a
               for i, a in enumerate(attributions[:-1])))  # fmt: skip
    site = tracking.pixel_site(pixel_key(world.workspace_id))
    times = list(itertools.accumulate([T0] + [timedelta(minutes=g) for g in gaps]))
    hits = list(zip(times, kinds, strict=False))
    order = list(range(len(hits)))
    shuffled = order[:]
    seed.shuffle(shuffled)
    n = next(_EXAMPLES)
    uid_a, uid_b = f"v_inorder{n:08d}", f"v_shuffle{n:08d}"
    _write(site, uid_a, hits, order)
    _write(site, uid_b, hits, shuffled)
    assert _journey(uid_b) == _journey(uid_a), (hits, shuffled)


@pytest.fixture(autouse=True)
def _testing_writes_are_synchronous(app) -> None:
    assert not app.config.get("COLLECT_WRITE_BEHIND", False)
