"""What /collect leaves out of its hot path, and that leaving it out keeps every guarantee: no
session, no rate-limit check, the security headers once each, indexed session lookups, a writer
that catches up after a burst."""

from __future__ import annotations

import time

import pytest
from flask_limiter import Limiter
from sqlalchemy import func, select

from tests.conftest import make_app
from tests.intake.helpers import BROWSER_UA, hit, pageview, pixel_key
from webapp.extensions import db
from webapp.models import VisitSession
from webapp.security import DEFAULT_HEADERS


def test_collect_neither_reads_nor_sets_the_session(login_as, world) -> None:
    client = login_as("admin")
    key = pixel_key(world.workspace_id)
    response = hit(client, key, pageview("https://a.example/"))
    assert response.status_code == 204
    assert "Set-Cookie" not in response.headers
    # Flask adds "Vary: Cookie" whenever a request touched its session (Flask-Login does on
    # every request); /collect gets a NullSession instead, so it is never touched.
    assert "Cookie" not in response.headers.get("Vary", "")
    # The signed-in session is intact for the app's own pages.
    assert client.get(f"/w/{world.workspace_id}/setup/tracking/").status_code == 200


def test_collect_skips_the_rate_limit_check_other_requests_keep_it(
    _migrated, redis_url, monkeypatch
) -> None:
    checked = []
    original = Limiter._check_request_limit

    def spy(self, *args, **kwargs):
        from flask import request

        checked.append(request.path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Limiter, "_check_request_limit", spy)
    app = make_app(_migrated, redis_url)
    with app.app_context():
        from tests.conftest import make_world

        world = make_world()
        try:
            client = app.test_client()
            key = pixel_key(world.workspace_id)
            assert hit(client, key, pageview("https://a.example/")).status_code == 204
            assert client.options(f"/collect?k={key}").status_code == 204
            assert client.get("/login").status_code == 200
        finally:
            db.session.remove()
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
    # /login is checked by the app's hook and again by its own @limiter.limit.
    assert "/login" in checked
    assert "/collect" not in checked


def test_collect_answers_with_each_security_and_cors_header_once(client, world) -> None:
    key = pixel_key(world.workspace_id)
    response = hit(client, key, pageview("https://a.example/"), origin="https://a.example")
    assert response.status_code == 204
    names = [name.lower() for name, _ in response.headers]
    for name, value in DEFAULT_HEADERS:
        assert names.count(name.lower()) == 1, name
        assert response.headers[name] == value
    for name in ("access-control-allow-origin", "cache-control", "vary"):
        assert names.count(name) == 1, name
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert response.headers["Cache-Control"] == "no-store"
    # A view's own caching policy still wins over the default no-store.
    script = client.get("/t.js")
    assert script.headers.getlist("Cache-Control") == ["public, max-age=3600"]


def test_session_lookup_of_every_hit_uses_indexes(app) -> None:
    """Without an index on touchpoints.session_id every hit read the whole touchpoints table.
    The writer reads the sessions of a whole batch's visitors in one query."""
    from webapp.intake import visits

    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan")
    with db.engine.connect() as conn:
        query = visits.sessions_query(visits._statements(conn), 3)
        params = [v for n in range(3) for v in (n + 1, "2026-01-01 00:00:00.000000")]
        plan = [
            row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", tuple(params))
        ]
    assert not [step for step in plan if step.startswith("SCAN touchpoints")], plan
    assert not [step for step in plan if step.startswith("SCAN visit_sessions")], plan
    assert not [step for step in plan if step.startswith("SCAN s")], plan
    assert any("ix_touchpoints_session_id" in step for step in plan), plan
    assert any("ix_visit_sessions_visitor_started" in step for step in plan), plan


def test_bot_detection_is_the_same_for_long_and_repeated_user_agents() -> None:
    from webapp.intake.collect import is_bot

    assert is_bot("") is True
    for _ in range(2):  # the second answer comes from the cache
        assert is_bot(BROWSER_UA) is False
        assert is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)") is True
    assert is_bot("Mozilla/5.0 " + "x" * 600 + " HeadlessChrome/124.0") is True
    assert is_bot("Mozilla/5.0 " + "x" * 600) is False


def test_writer_behind_after_a_burst_writes_without_waiting_between_batches(app, world) -> None:
    """The writer waits ``interval`` for a batch to gather; with a backlog of full batches it
    writes them back to back (each waited ``interval`` before)."""
    from webapp.intake import collect, tracking

    key = pixel_key(world.workspace_id)
    site = tracking.pixel_site(key)
    hits = [
        collect.parse_hit(pageview(f"https://a.example/p{i}", visitor=f"v_burst{i:04d}"), site)
        for i in range(40)
    ]
    writer = collect.HitWriter(app, interval=2.0, max_batch=5)
    started = time.monotonic()
    for one in hits:
        writer.submit(site, one)
    writer.flush(timeout=60)
    elapsed = time.monotonic() - started
    db.session.rollback()
    assert db.session.scalar(select(func.sum(VisitSession.hits))) == 40
    # 8 batches: 16 s when each waited; now one wait for the first and the rest at once.
    assert elapsed < 10, elapsed


def test_a_full_writer_queue_makes_requests_write_their_own_hits(app, world) -> None:
    """The queue is short so that a process's exit flush stays within gunicorn's graceful
    timeout; what does not fit is written by the request itself, never dropped."""
    from webapp.intake import collect, tracking

    assert collect.HitWriter.__init__.__defaults__[-1] <= 2_000
    site = tracking.pixel_site(pixel_key(world.workspace_id))
    writer = collect.HitWriter(app, interval=1.0, max_batch=5, max_queue=2)
    for i in range(12):
        page = pageview(f"https://a.example/q{i}", visitor=f"v_full{i:04d}")
        writer.submit(site, collect.parse_hit(page, site))
    db.session.rollback()
    written_by_requests = db.session.scalar(select(func.sum(VisitSession.hits))) or 0
    assert written_by_requests >= 12 - 3  # at most the writer's batch and the queue wait
    writer.flush(timeout=60)
    db.session.rollback()
    assert db.session.scalar(select(func.sum(VisitSession.hits))) == 12
