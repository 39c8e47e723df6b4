"""The pixel and the platform's browser tag, in Debian's Chromium: when a connection opts in, the
pixel loads the plugin's tag (Microsoft's UET tag here) from /t/tags.js and reports a tracked
event to it with the pixel's own event id, which is also the ``eventId`` the server sends to the
UET Conversions API, so Microsoft counts the conversion once. Without the opt-in the page gets
no platform code and makes no request to the platform. Microsoft's hosts are answered by the test
(no network): bat.js is refused, so ``window.uetq`` keeps everything pushed to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import make_world
from tests.helpers import push as h
from tests.helpers.processes import free_port
from tests.intake.helpers import BROWSER_UA, pixel_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(ms_app):
    from webapp.extensions import db
    from webapp.models import ConversionEvent

    world = make_world()
    db.session.add(ConversionEvent(workspace_id=world.workspace_id, name="purchase", label="P"))
    db.session.commit()
    return world


def site_app(pixel_src: str, key: str) -> Callable:
    snippet = (
        "<script>window.sourceloop=window.sourceloop||function(){"
        "(sourceloop.q=sourceloop.q||[]).push(arguments)};</script>"
        f'<script async src="{pixel_src}" data-key="{key}"></script>'
    )

    @Request.application
    def app(request: Request) -> Response:
        html = f"<!doctype html><html><head>{snippet}</head><body><h1>Shop</h1></body></html>"
        return Response(html, mimetype="text/html")

    return app


def opt_in(world, connection_id: int, browser_tag: bool) -> None:
    assert h.enable_realtime(world, connection_id, browser_tag=browser_tag) == {}


def pixel_conversion():
    from webapp.extensions import db
    from webapp.models import Conversion

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        db.session.rollback()
        found = db.session.scalar(select(Conversion).where(Conversion.source == "pixel"))
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the pixel's conversion")


def uet_pushes(page) -> list:
    return page.evaluate(
        "Array.isArray(window.uetq) ? JSON.parse(JSON.stringify(window.uetq)) : null"
    )


def visit_and_buy(browser, site_url: str, platform_requests: list[str]):
    context = browser.new_context(user_agent=BROWSER_UA)
    context.route(
        "https://bat.bing.com/**", lambda r: (platform_requests.append(r.request.url), r.abort())
    )
    context.route("https://c.bing.com/**", lambda r: (platform_requests.append(r.request.url),
                                                       r.fulfill(status=204, body="")))  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site_url}/")
    page.wait_for_function("window.sourceloop && window.sourceloop.loaded")
    page.evaluate("sourceloop('track', 'purchase', {value: 49.9, currency: 'usd'})")
    return context, page, errors


def serve_site(app_url: str, key: str) -> tuple[object, str]:
    port = free_port()
    site = make_server("127.0.0.1", port, site_app(f"{app_url}/t.js", key), threaded=True)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site, f"http://127.0.0.1:{port}"


def test_an_opted_in_connection_gets_the_uet_tag_with_the_same_event_id_as_the_server(
    ms_app, world, emulator, live_server, browser
) -> None:
    from webapp.extensions import db
    from webapp.models import Connection, Visitor
    from webapp.push import realtime

    connection_id = h.connect(ms_app, world, emulator)
    opt_in(world, connection_id, browser_tag=True)
    key = pixel_key(world.workspace_id, ["127.0.0.1"])
    app_server = live_server(ms_app)
    site, site_url = serve_site(app_server.url, key)
    platform_requests: list[str] = []
    context, page, errors = visit_and_buy(browser, site_url, platform_requests)
    try:
        conversion = pixel_conversion()
        event_id = conversion.external_id.removeprefix("px:")
        page.wait_for_function("Array.isArray(window.uetq) && window.uetq.indexOf('event') >= 0")
        pushes = uet_pushes(page)
        at = pushes.index("event")
        assert pushes[at : at + 3] == [
            "event", "purchase", {"event_id": event_id, "revenue_value": 49.9, "currency": "USD"}
        ]  # fmt: skip
        visitor_uid = page.evaluate("window.sourceloop.visitorId()")
        customer = db.session.get(Connection, connection_id).customer_id
        assert any(u.startswith("https://bat.bing.com/bat.js") for u in platform_requests)
        assert (
            f"https://c.bing.com/c.gif?Red3=BACID_{customer}&vid={visitor_uid}" in platform_requests
        )
        assert errors == []
    finally:
        context.close()
        site.shutdown()

    # The server side sends the same conversion with the same id (and the synced visitor id).
    realtime.run(connection_id)
    [event] = requests.get(f"{emulator}/_emulator/uet/events", timeout=10).json()["events"]
    assert (event["event_id"], event["event_name"]) == (event_id, "purchase")
    assert event["event"]["userData"]["anonymousId"] == visitor_uid
    assert db.session.get(Visitor, conversion.visitor_id).uid == visitor_uid


def test_without_the_opt_in_the_page_gets_no_platform_code(
    ms_app, world, emulator, live_server, browser
) -> None:
    connection_id = h.connect(ms_app, world, emulator)
    opt_in(world, connection_id, browser_tag=False)  # real-time on, browser tag off
    key = pixel_key(world.workspace_id, ["127.0.0.1"])
    app_server = live_server(ms_app)
    site, site_url = serve_site(app_server.url, key)
    platform_requests: list[str] = []
    context, page, errors = visit_and_buy(browser, site_url, platform_requests)
    try:
        pixel_conversion()  # the event itself still arrives
        page.wait_for_function(
            "performance.getEntriesByType('resource').some(e => e.name.indexOf('/t/tags.js') >= 0)"
        )
        page.wait_for_timeout(500)
        assert uet_pushes(page) is None
        assert page.evaluate("typeof window.UET") == "undefined"
        assert platform_requests == []
        assert errors == []
    finally:
        context.close()
        site.shutdown()
