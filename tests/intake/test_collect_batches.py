"""The write-behind writer decides a whole batch in memory and writes it with a few statements;
what it leaves must be what writing the same hits one at a time, in the writer's order, leaves:
visitors (first and last visit, consent), sessions (span, hits, landing), touchpoints (channel,
click, campaign), click ids. And a hit the database refuses costs only itself."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.intake.helpers import SHOP, journey_hit, pixel_key
from webapp.extensions import db
from webapp.intake import collect, tracking, visits
from webapp.models import AdClick, Touchpoint, Visitor, VisitSession, Workspace
from webapp.privacy import consent
from webapp.sqlite import writing

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _hit(uid: str, kind: str, tag: str = "") -> collect.Hit:
    """organic / view / click:X / campaign:A as ``journey_hit``; consent:X: consent
    granted on the page, with the click id X the pixel held back; denied: consent refused, no
    click id; granted-view: a page view that says granted (TCF); pixel-unknown: a page view
    whose pixel said nothing yet (unknown, from the pixel). ``tag`` ends every click id (click
    ids are unique in a workspace)."""
    if kind.startswith("consent:"):
        click = kind.split(":")[1] + tag
        return collect.Hit(
            uid,
            "consent",
            f"{SHOP}/?msclkid={click}",
            click_ids={"msclkid": click},
            consent=consent.Consent("granted", "pixel"),
        )
    if kind == "denied":
        return collect.Hit(uid, "consent", f"{SHOP}/", consent=consent.Consent("denied", "pixel"))
    if kind == "granted-view":
        return collect.Hit(uid, "pageview", f"{SHOP}/g", consent=consent.Consent("granted", "tcf"))
    if kind == "pixel-unknown":
        return collect.Hit(
            uid, "pageview", f"{SHOP}/u", consent=consent.Consent("unknown", "pixel")
        )
    return journey_hit(uid, kind)


def _write_batches(batches: list[list[tuple]]) -> None:
    for batch in batches:
        with writing(), db.engine.begin() as conn:
            visits.write(conn, sorted(batch, key=collect.lock_order))


def _one_by_one(batches: list[list[tuple]]) -> None:
    """The same hits, each in its own transaction, in the order the writer takes them."""
    _write_batches([[item] for batch in batches for item in sorted(batch, key=collect.lock_order)])


def _state(workspace_id: int, prefix: str) -> dict:
    """Everything the writer leaves for the visitors whose uid starts with ``prefix``, without
    ids (sessions and touchpoints named by their visitor and start)."""
    db.session.rollback()
    visitors = {
        v.id: v
        for v in db.session.scalars(
            select(Visitor).where(
                Visitor.workspace_id == workspace_id, Visitor.uid.startswith(prefix)
            )
        )
    }

    def uid(visitor_id: int) -> str:
        return visitors[visitor_id].uid.removeprefix(prefix)

    sessions = db.session.scalars(
        select(VisitSession).where(VisitSession.visitor_id.in_(visitors))
    ).all()
    started = {s.id: (uid(s.visitor_id), s.started_at) for s in sessions}
    touchpoints = db.session.scalars(
        select(Touchpoint).where(Touchpoint.visitor_id.in_(visitors))
    ).all()
    touched = {t.id: started.get(t.session_id) for t in touchpoints}
    clicks = db.session.scalars(select(AdClick).where(AdClick.visitor_id.in_(visitors))).all()
    return {
        "visitors": sorted(
            (uid(v.id), v.first_seen_at, v.last_seen_at, v.consent_state, v.consent_source)
            for v in visitors.values()
        ),
        "sessions": sorted(
            (uid(s.visitor_id), s.started_at, s.last_hit_at, s.hits, s.landing_url, s.referrer)
            for s in sessions
        ),
        "touchpoints": sorted(
            (
                uid(t.visitor_id),
                started.get(t.session_id),
                t.occurred_at,
                t.channel,
                t.source,
                t.medium,
                t.campaign,
                t.utm,
                t.landing_url,
                t.click_param,
                t.click_id,
            )
            for t in touchpoints
        ),  # fmt: skip
        "clicks": sorted(
            (
                uid(c.visitor_id),
                c.click_param,
                c.click_id,
                c.clicked_at,
                c.landing_url,
                touched.get(c.touchpoint_id),
            )
            for c in clicks
        ),  # fmt: skip
    }


def _same_as_one_by_one(sites, hits: list[tuple[int, datetime, str]], batches: list[int]) -> dict:
    """``hits``: (visitor, time, kind) in arrival order; ``batches``: the sizes it is cut in.
    The first workspace takes the batches, the second the hits one by one; → the first's state."""
    n = next(_EXAMPLES)
    prefix = f"v_{n:06d}_"
    cuts = [c for c in itertools.accumulate(batches) if c < len(hits)]
    for site, write in zip(sites, (_write_batches, _one_by_one), strict=True):
        items = [(site, _hit(f"{prefix}{v:02d}xxxxxx", kind, f"x{n}"), at) for v, at, kind in hits]
        write([items[a:b] for a, b in zip([0, *cuts], [*cuts, len(items)], strict=True)])
    batched, single = (_state(site.workspace_id, prefix) for site in sites)
    assert batched == single, (hits, batches)
    return batched


_EXAMPLES = itertools.count()


def _bare(click: str | None) -> str | None:
    """A click id without the test's tag."""
    return click.rsplit("x", 1)[0] if click else click


@pytest.fixture
def sites(app, world):
    return tuple(
        tracking.pixel_site(pixel_key(ws)) for ws in (world.workspace_id, world.other_workspace_id)
    )


def test_several_hits_of_one_visitor_crossing_a_session_timeout_in_one_batch(sites) -> None:
    hits = [
        (0, T0, "click:a1"),
        (0, T0 + timedelta(minutes=10), "view"),
        (0, T0 + timedelta(minutes=45), "view"),  # 35 minutes later: a new session
        (0, T0 + timedelta(minutes=50), "view"),
        (0, T0 + timedelta(minutes=52), "campaign:spring"),  # a campaign starts one too
    ]
    state = _same_as_one_by_one(sites, hits, [len(hits)])
    assert [(s[3], s[4]) for s in state["sessions"]] == [
        (2, f"{SHOP}/?msclkid=a1"),
        (2, f"{SHOP}/next"),
        (1, f"{SHOP}/?utm_campaign=spring"),
    ]
    assert [t[3] for t in state["touchpoints"]] == ["microsoft_ads", "direct", "email"]


def test_a_new_visitor_seen_twice_in_one_batch_is_one_visitor(sites) -> None:
    hits = [
        (0, T0, "pixel-unknown"),
        (1, T0 + timedelta(seconds=1), "organic"),
        (0, T0 + timedelta(seconds=2), "view"),
    ]
    state = _same_as_one_by_one(sites, hits, [len(hits)])
    assert state["visitors"] == [
        ("00xxxxxx", T0, T0 + timedelta(seconds=2), "unknown", "pixel"),
        ("01xxxxxx", T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), "unknown", "default"),
    ]
    assert [s[3] for s in state["sessions"]] == [2, 1]


def test_a_mixed_batch_of_consent_hits_and_page_views(sites) -> None:
    """A landing whose click id the pixel held back, the consent that releases it (it joins the
    landing's session), a refusal on another visitor, and a page view that says granted."""
    hits = [
        (0, T0, "view"),
        (1, T0, "organic"),
        (0, T0 + timedelta(seconds=5), "consent:held1"),
        (1, T0 + timedelta(seconds=6), "denied"),
        (2, T0 + timedelta(seconds=7), "granted-view"),
        (0, T0 + timedelta(minutes=3), "view"),
        (2, T0 + timedelta(seconds=8), "consent:held2"),  # its session's touchpoint is direct
    ]
    state = _same_as_one_by_one(sites, hits, [len(hits)])
    assert [(v[0], v[3], v[4]) for v in state["visitors"]] == [
        ("00xxxxxx", "granted", "pixel"),
        ("01xxxxxx", "denied", "pixel"),
        ("02xxxxxx", "granted", "pixel"),
    ]
    assert [(t[0], t[3], _bare(t[10])) for t in state["touchpoints"]] == [
        ("00xxxxxx", "microsoft_ads", "held1"),
        ("01xxxxxx", "organic_search", None),
        ("02xxxxxx", "microsoft_ads", "held2"),
    ]
    assert [s[3] for s in state["sessions"]] == [2, 1, 1]  # consent hits are not page views
    assert [(c[0], _bare(c[2]), c[5] is not None) for c in state["clicks"]] == [
        ("00xxxxxx", "held1", True),
        ("02xxxxxx", "held2", True),
    ]


def test_a_late_hit_in_a_batch_folds_the_sessions_it_connects(sites) -> None:
    """Stored first (an earlier batch): an ad click, and a page view 40 minutes later that
    opened a session of its own. The batch brings the page view between them."""
    hits = [
        (0, T0, "click:late1"),
        (0, T0 + timedelta(minutes=40), "view"),
        (0, T0 + timedelta(minutes=20), "view"),
        (0, T0 + timedelta(minutes=41), "view"),
    ]
    state = _same_as_one_by_one(sites, hits, [2, 2])
    assert [(s[1], s[2], s[3]) for s in state["sessions"]] == [(T0, T0 + timedelta(minutes=41), 4)]
    assert [_bare(t[10]) for t in state["touchpoints"]] == ["late1"]


KINDS = st.sampled_from(
    ["organic", "view", "view", "click:a", "click:b", "campaign:x", "consent:c", "denied",
     "granted-view", "pixel-unknown"]
)  # fmt: skip
GAPS = st.sampled_from([0, 1, 5, 20, 29, 31, 45])


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    visits_=st.lists(st.tuples(st.integers(0, 2), KINDS, GAPS), min_size=1, max_size=12),
    batches=st.lists(st.integers(1, 6), max_size=6),
    seed=st.randoms(),
)
def test_any_batch_leaves_what_its_hits_written_one_by_one_leave(
    sites, visits_, batches, seed
) -> None:
    """Hits of three visitors, arriving out of order (another worker's batch), cut into
    batches of any size."""
    times = itertools.accumulate(visits_, lambda t, v: t + timedelta(minutes=v[2]), initial=T0)
    hits = [(v, at, kind) for (v, kind, _), at in zip(visits_, list(times)[1:], strict=True)]
    seed.shuffle(hits)
    _same_as_one_by_one(sites, hits, batches)


def test_a_hit_the_database_refuses_costs_only_itself(app, world, caplog, monkeypatch) -> None:
    """A workspace deleted while its hits were queued: its hits fail (no such workspace); the
    batch is written again hit by hit and every other hit is kept."""
    site = tracking.pixel_site(pixel_key(world.workspace_id))
    gone = Workspace(name="Deleted")
    db.session.add(gone)
    db.session.commit()
    gone_site = tracking.pixel_site(pixel_key(gone.id))
    db.session.delete(gone)
    db.session.commit()
    writer = collect.HitWriter.__new__(collect.HitWriter)
    writer.app = app
    batch = [
        (site, _hit("v_kept0000001", "click:k1"), T0),
        (gone_site, _hit("v_lost0000001", "view"), T0),
        (site, _hit("v_kept0000002", "view"), T0 + timedelta(seconds=1)),
    ]
    monkeypatch.setattr(collect.log, "disabled", False)  # Alembic's fileConfig disabled it
    with caplog.at_level(logging.WARNING, logger="webapp.intake.collect"):
        writer._write(batch)
    assert "batch failed, writing its 3 hits one by one" in caplog.text
    assert "hit of visitor v_lost0000001 lost" in caplog.text
    db.session.rollback()
    assert sorted(db.session.scalars(select(Visitor.uid))) == ["v_kept0000001", "v_kept0000002"]
    assert db.session.scalar(select(AdClick.click_id)) == "k1"


def test_a_batch_reads_and_upserts_its_visitors_once_whatever_its_size(app, world) -> None:
    """The point of batching: 200 hits of 20 visitors take one visitor upsert and one read of
    their sessions, not a statement of each per hit (the rest are executemany's)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("counts statements with SQLite's trace callback")
    site = tracking.pixel_site(pixel_key(world.workspace_id))
    kinds = ["organic", "view", "click:s", "view", "campaign:y"]
    batch = [
        (site, _hit(f"v_count{n % 20:04d}xx", kinds[n % 5].replace(":s", f":s{n}")),
         T0 + timedelta(minutes=n))
        for n in range(200)
    ]  # fmt: skip
    statements: list[str] = []
    with writing(), db.engine.begin() as conn:
        driver = conn.connection.driver_connection
        driver.set_trace_callback(statements.append)
        try:
            visits.write(conn, sorted(batch, key=collect.lock_order))
        finally:
            driver.set_trace_callback(None)
    assert len([s for s in statements if "INSERT INTO visitors" in s]) == 1
    assert len([s for s in statements if "FROM visit_sessions" in s]) == 1
    db.session.rollback()
    assert db.session.query(Visitor).count() == 20
    assert sum(db.session.scalars(select(VisitSession.hits))) == 200
