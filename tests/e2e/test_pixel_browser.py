"""The pixel in Debian's Chromium: an ad click from the emulator lands on a demo site (another
origin) carrying an msclkid; the pixel records it; a later form submit on a page without the
msclkid, and a server-side API conversion, both resolve to that click."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.helpers.processes import free_port
from tests.intake.helpers import BROWSER_UA, api_key, bearer, pixel_key

pytestmark = pytest.mark.e2e


def demo_site(pixel_src: str, key: str) -> Callable:
    snippet = (
        "<script>window.sourceloop=window.sourceloop||function(){"
        "(sourceloop.q=sourceloop.q||[]).push(arguments)};</script>"
        f'<script async src="{pixel_src}" data-key="{key}" data-forms="auto"></script>'
    )
    pages = {
        "/landing": "<h1>Spring sale</h1><a href='/contact'>Contact us</a>",
        "/contact": (
            "<h1>Contact</h1><form method='post' action='/thanks'>"
            "<label>Email <input type='email' name='email'></label>"
            "<button type='submit'>Send</button></form>"
        ),
        "/thanks": "<h1>Thanks</h1>",
    }

    @Request.application
    def app(request: Request) -> Response:
        body = pages.get(request.path)
        if body is None:
            return Response("not found", status=404)
        html = f"<!doctype html><html><head>{snippet}</head><body>{body}</body></html>"
        return Response(html, mimetype="text/html")

    return app


def wait_until(check: Callable[[], object], what: str, timeout: float = 15.0):
    from webapp.extensions import db

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # see what the server thread committed
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_msclkid_from_an_ad_click_is_captured_and_conversions_resolve_to_it(
    ms_app, world, emulator, live_server, browser
) -> None:
    from webapp.extensions import db
    from webapp.models import AdClick, Conversion, Touchpoint, TrackingSettings
    from webapp.services.attribution import resolve_click_id

    key = pixel_key(world.workspace_id, ["127.0.0.1"])
    app_server = live_server(ms_app)
    site_port = free_port()
    site = make_server(
        "127.0.0.1", site_port, demo_site(f"{app_server.url}/t.js", key), threaded=True
    )
    threading.Thread(target=site.serve_forever, daemon=True).start()
    site_url = f"http://127.0.0.1:{site_port}"

    context = browser.new_context(user_agent=BROWSER_UA)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # The ad click: the emulator mints an msclkid and redirects to the landing page.
        page.goto(f"{emulator}/_emulator/click?account_id=80000011&landing={site_url}/landing")
        page.wait_for_url(f"{site_url}/landing?*")
        msclkid = parse_qs(urlsplit(page.url).query)["msclkid"][0]
        click = wait_until(
            lambda: db.session.scalar(select(AdClick).where(AdClick.click_id == msclkid)),
            "the captured msclkid",
        )
        visitor_uid = page.evaluate("window.sourceloop.visitorId()")
        cookie = next(c for c in context.cookies() if c["name"] == "_sl_vid")
        assert cookie["value"] == visitor_uid and cookie["domain"] == "127.0.0.1"
        assert click.visitor_id is not None
        touchpoint = db.session.get(Touchpoint, click.touchpoint_id)
        assert touchpoint.channel == "microsoft_ads"

        # Later, without the msclkid in the URL: a form submit (auto form tracking).
        page.click("text=Contact us")
        page.wait_for_url(f"{site_url}/contact")
        page.fill("input[type=email]", "Jane.Doe@example.com")
        page.click("button[type=submit]")
        page.wait_for_url(f"{site_url}/thanks")
        form_conversion = wait_until(
            lambda: db.session.scalar(select(Conversion).where(Conversion.source == "pixel")),
            "the form_submitted conversion",
        )
        assert form_conversion.event == "form_submitted"
        assert form_conversion.visitor_id == click.visitor_id
        assert resolve_click_id(form_conversion, "msclkid").click_id == msclkid

        # Server-side: the site's backend reports a booked meeting by visitor id and by email.
        token = api_key(world.workspace_id)
        now = datetime.now(UTC).isoformat()  # after the click, to the microsecond
        for external_id, identity in (
            ("meeting-1", {"visitor_id": visitor_uid}),
            ("meeting-2", {"email": "janedoe@example.com"}),
        ):
            response = requests.post(
                f"{app_server.url}/api/v1/conversions",
                json={
                    "event": "meeting_booked",
                    "occurred_at": now,
                    "external_id": external_id,
                    **identity,
                },
                headers=bearer(token),
                timeout=10,
            )
            assert response.status_code == 201, response.text
            db.session.rollback()
            conversion = db.session.get(Conversion, response.json()["conversion"]["id"])
            assert resolve_click_id(conversion, "msclkid").click_id == msclkid, external_id

        # Install status shows the site.
        settings = db.session.get(TrackingSettings, world.workspace_id)
        db.session.refresh(settings)
        assert settings.last_hit_domain == "127.0.0.1"
        assert errors == []
    finally:
        context.close()
        site.shutdown()


def test_pixel_never_throws_into_the_host_page(ms_app, world, live_server, browser) -> None:
    """A wrong key, an unreachable endpoint and odd calls leave the page's own script running."""
    app_server = live_server(ms_app)
    site_port = free_port()
    dead = f"http://127.0.0.1:{free_port()}/t.js"  # nothing listens there
    pages = {
        "/wrong-key": f'<script src="{app_server.url}/t.js" data-key="pk_wrong"></script>',
        "/no-key": f'<script src="{app_server.url}/t.js"></script>',
        "/dead": f'<script src="{dead}" data-key="x"></script>',
    }

    @Request.application
    def app(request: Request) -> Response:
        head = pages.get(request.path, "")
        tail = (
            "<script>try{sourceloop('track');sourceloop('track',{},null);sourceloop('bogus');}"
            "catch(e){}</script>"
            if request.path != "/dead"
            else ""
        )
        html = f"<html><head>{head}</head><body>{tail}<script>window.ok=true</script></body></html>"
        return Response(html, mimetype="text/html")

    site = make_server("127.0.0.1", site_port, app, threaded=True)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    context = browser.new_context(user_agent=BROWSER_UA)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        for path in pages:
            page.goto(f"http://127.0.0.1:{site_port}{path}")
            page.wait_for_function("window.ok === true")
            page.wait_for_timeout(300)
        assert errors == []
    finally:
        context.close()
        site.shutdown()
