"""POST /collect's lane (webapp.views.intake.collect_lane) answers an accepted page view without
Flask's request machinery: the same answer the view gives, and everything it does not accept
reaches the view with its body intact, counted and answered once."""

from __future__ import annotations

import io
import json

import pytest
from flask import request_started
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.intake.helpers import BROWSER_UA, pageview, pixel_key
from webapp.extensions import db
from webapp.intake import collect, tracking
from webapp.models import Conversion, TrackingSettings, Visitor, VisitSession


@pytest.fixture
def lane_app(app):
    """The test app with write-behind on (as deployed), counting requests Flask dispatched."""
    app.config["COLLECT_WRITE_BEHIND"] = True
    dispatched: list[str] = []

    def seen(sender, **extra) -> None:
        from flask import request

        dispatched.append(request.path)

    request_started.connect(seen, app, weak=False)
    app.dispatched = dispatched
    yield app
    request_started.disconnect(seen, app)
    writer = collect._writers.pop(id(app), None)
    if writer is not None:
        writer.flush(timeout=60)


def _environ(key: str, body: bytes, *, origin: str | None = None, ua: str = BROWSER_UA, **kw):
    headers = {"User-Agent": ua, "Content-Type": "text/plain"}
    if origin:
        headers["Origin"] = origin
    query = kw.pop("query", f"k={key}")
    method = kw.pop("method", "POST")
    return EnvironBuilder(
        path="/collect", method=method, query_string=query, data=body, headers=headers, **kw
    ).get_environ()


def _call(wsgi, environ) -> tuple[str, list[tuple[str, str]], bytes]:
    body, status, headers = run_wsgi_app(wsgi, environ)
    return status, list(headers), b"".join(body)


def _stored(app) -> int:
    writer = collect._writers.get(id(app))
    if writer is not None:
        writer.flush(timeout=60)
    db.session.rollback()
    return db.session.scalar(select(func.coalesce(func.sum(VisitSession.hits), 0)))


def _settings(workspace_id: int) -> TrackingSettings:
    db.session.rollback()
    return db.session.get(TrackingSettings, workspace_id)


@pytest.mark.parametrize("origin", [None, "https://shop.example.com"])
@pytest.mark.parametrize("secure", [False, True])
def test_an_accepted_page_view_gets_the_views_answer_without_the_request_machinery(
    lane_app, world, origin, secure
) -> None:
    lane_app.config["SESSION_COOKIE_SECURE"] = secure  # production adds HSTS
    key = pixel_key(world.workspace_id)
    tracking.pixel_site(key)  # cached, as after a worker's first hit of the site
    body = json.dumps(pageview("https://shop.example.com/p?msclkid=l1", c={"msclkid": "l1"}))
    through_view = _call(lane_app.wsgi_app.inner, _environ(key, body.encode(), origin=origin))
    assert lane_app.dispatched == ["/collect"]
    through_lane = _call(lane_app.wsgi_app, _environ(key, body.encode(), origin=origin))
    assert lane_app.dispatched == ["/collect"]  # the lane answered: Flask dispatched nothing
    assert through_lane == through_view
    assert through_lane[0] == "204 NO CONTENT"
    assert _stored(lane_app) == 2


def test_a_key_not_yet_cached_goes_to_the_view_which_caches_it(lane_app, world) -> None:
    key = pixel_key(world.workspace_id)
    tracking.forget_site(key)
    body = json.dumps(pageview("https://a.example/")).encode()
    for _ in range(3):
        assert _call(lane_app.wsgi_app, _environ(key, body))[0] == "204 NO CONTENT"
    assert lane_app.dispatched == ["/collect"]
    assert _stored(lane_app) == 3


@pytest.mark.parametrize(
    ("case", "status", "counter"),
    [
        ("malformed", "400 BAD REQUEST", "rejected_malformed"),
        ("not_json", "400 BAD REQUEST", "rejected_malformed"),
        ("foreign_origin", "403 FORBIDDEN", "rejected_foreign_origin"),
        ("foreign_page", "403 FORBIDDEN", "rejected_foreign_origin"),
        ("oversized", "413 REQUEST ENTITY TOO LARGE", "rejected_oversized"),
        ("oversized_unannounced", "413 REQUEST ENTITY TOO LARGE", "rejected_oversized"),
        ("bot", "204 NO CONTENT", "dropped_bots"),
    ],
)
def test_what_the_lane_does_not_accept_the_view_answers_and_counts_once(
    lane_app, world, case, status, counter
) -> None:
    key = pixel_key(world.workspace_id, ["shop.example.com"])
    tracking.pixel_site(key)
    body = json.dumps(pageview("https://shop.example.com/")).encode()
    kw: dict = {}
    if case == "malformed":
        body = json.dumps(pageview("https://shop.example.com/", x=1)).encode()
    elif case == "not_json":
        body = b"{not json"
    elif case == "foreign_page":
        body = json.dumps(pageview("https://evil.test/")).encode()
    elif case == "oversized":
        body = json.dumps(pageview("https://shop.example.com/", r="x" * 9000)).encode()
    origin = "https://evil.test" if case == "foreign_origin" else None
    ua = "Mozilla/5.0 (compatible; bingbot/2.0)" if case == "bot" else BROWSER_UA
    environ = _environ(key, body, origin=origin, ua=ua, **kw)
    if case == "oversized_unannounced":  # chunked: no Content-Length, read up to the limit
        big = json.dumps(pageview("https://shop.example.com/", r="x" * 9000)).encode()
        environ.pop("CONTENT_LENGTH")
        environ["wsgi.input"] = io.BytesIO(big)
        environ["wsgi.input_terminated"] = True
    answer = _call(lane_app.wsgi_app, environ)
    assert answer[0] == status
    assert lane_app.dispatched == ["/collect"]
    assert getattr(_settings(world.workspace_id), counter) == 1
    assert _stored(lane_app) == 0


def test_preflights_nul_characters_unknown_keys_and_events_reach_the_view(lane_app, world) -> None:
    key = pixel_key(world.workspace_id)
    tracking.pixel_site(key)
    page = json.dumps(pageview("https://a.example/")).encode()
    preflight = _environ(key, b"", origin="https://a.example", method="OPTIONS")
    assert _call(lane_app.wsgi_app, preflight)[0] == "204 NO CONTENT"
    nul = _environ(key, page, query=f"k={key}&x=%00")
    assert _call(lane_app.wsgi_app, nul)[0] == "400 BAD REQUEST"
    assert _call(lane_app.wsgi_app, _environ("pk_unknown", page))[0] == "403 FORBIDDEN"
    event = pageview("https://a.example/", t="event", e="form_submitted", id="evt_lane000001")
    assert _call(lane_app.wsgi_app, _environ(key, json.dumps(event).encode()))[0] == (
        "204 NO CONTENT"
    )
    assert lane_app.dispatched == ["/collect"] * 4
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Conversion)) == 1


def test_a_full_writer_queue_leaves_the_hit_to_the_view_which_writes_it(
    lane_app, world, monkeypatch
) -> None:
    key = pixel_key(world.workspace_id)
    tracking.pixel_site(key)
    monkeypatch.setattr(collect.HitWriter, "offer", lambda self, site, hit: False)
    body = json.dumps(pageview("https://a.example/", visitor="v_fullqueue0001")).encode()
    assert _call(lane_app.wsgi_app, _environ(key, body))[0] == "204 NO CONTENT"
    assert lane_app.dispatched == ["/collect"]
    db.session.rollback()
    assert db.session.scalar(select(Visitor.uid)) == "v_fullqueue0001"  # written, not queued
    assert _stored(lane_app) == 1


def test_gunicorns_master_prepares_what_each_worker_needs_without_a_connection(
    _migrated, redis_url
) -> None:
    """gunicorn.conf.py's when_ready runs the app's before_fork work in the master, once: the
    plugins and their click ids loaded, the writer's statements built; no database connection
    opened (a forked worker must not inherit one). Each worker started with it, and again
    after every max_requests recycling, spending about 150 ms on its first hit."""
    import gc
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from sqlalchemy import event

    from tests.conftest import make_app
    from webapp.extensions import platform_registry
    from webapp.intake import visits

    fresh = make_app(_migrated, redis_url)
    with fresh.app_context():
        engine = db.engine
    connects: list[object] = []

    def connected(*args: object) -> None:
        connects.append(args)

    event.listen(engine, "connect", connected)
    visits._cache.clear()
    assert not platform_registry(fresh).loaded
    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    server = SimpleNamespace(
        cfg=SimpleNamespace(preload_app=True), app=SimpleNamespace(wsgi=lambda: fresh)
    )
    try:
        config["when_ready"](server)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        event.remove(engine, "connect", connected)
    assert platform_registry(fresh).loaded
    assert engine.dialect.name in visits._cache
    assert connects == []


def _names(functions) -> list[str]:
    return sorted(
        f"{getattr(f, 'func', f).__module__}.{getattr(getattr(f, 'func', f), '__qualname__', '?')}"
        for f in functions
    )


def test_every_app_wide_hook_was_reviewed_for_the_lane(app) -> None:
    """The lane answers accepted page views without Flask's app-wide hooks. Each one here was
    checked: the SQLite write lock (the writer takes its own), CSRF (the pixel is exempt), rate
    limits and their headers (the pixel is unlimited), NUL characters (the lane leaves those to
    the view), the remember-me cookie (the pixel has no session), the security headers (the
    lane sends them; the byte-for-byte tests above compare), the database session (the lane
    opens none). A new app-wide hook fails this test: decide whether the lane must do what it
    does (webapp/views/intake/collect_lane.py), then add it here."""
    assert _names(app.before_request_funcs.get(None, [])) == [
        "flask_wtf.csrf.CSRFProtect.init_app.<locals>.csrf_protect",
        "webapp.factory._skip_limits_for.<locals>._check_limits",
        "webapp.factory._writes_take_the_lock",
        "webapp.inputs.refuse_nul_characters",
    ]
    assert _names(app.after_request_funcs.get(None, [])) == [
        "flask_limiter._extension.Limiter.__inject_headers",
        "flask_login.login_manager.LoginManager._update_remember_cookie",
        "webapp.security.register_security.<locals>._headers",
    ]
    assert _names(app.teardown_request_funcs.get(None, [])) == [
        "flask_limiter._extension.Limiter.__release_context",
        "webapp.factory._release_write_mode",
    ]
    assert _names(app.teardown_appcontext_funcs) == [
        "flask_sqlalchemy.extension.SQLAlchemy._teardown_session"
    ]
    assert _names(app.url_value_preprocessors.get(None, [])) == []
