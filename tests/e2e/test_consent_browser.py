"""The pixel in Chromium with "require consent before storing" on: denied (no cookie, no local
storage, no click id at /collect), granted later on the page (the held click id arrives and the
cookie is written), and an IAB TCF v2.2 CMP answering for the visitor."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.e2e.test_pixel_browser import wait_until
from tests.helpers.processes import free_port
from tests.intake.helpers import BROWSER_UA, pixel_key

pytestmark = pytest.mark.e2e

# Records every body the pixel sends (beacon or fetch) before it leaves the page.
SPY = (
    "<script>window.sent=[];(function(){var n=navigator,b=n.sendBeacon&&n.sendBeacon.bind(n);"
    "if(b){n.sendBeacon=function(u,d){d.text().then(function(t){window.sent.push(t)});"
    "return b(u,d)}}})();</script>"
)


def tcf_stub(purposes: dict[int, bool], delay_ms: int) -> str:
    """A CMP implementing __tcfapi('addEventListener', 2, cb): answers after ``delay_ms`` with
    the visitor's purpose consents, as a real CMP does once the visitor chose."""
    consents = json.dumps({str(k): v for k, v in purposes.items()})
    return (
        "<script>window.__tcfapi=function(cmd,ver,cb){if(cmd!=='addEventListener'||ver!==2)"
        "return;setTimeout(function(){cb({eventStatus:'useractioncomplete',gdprApplies:true,"
        f"tcString:'CP',purpose:{{consents:{consents}}}}},true)}},{delay_ms})}};</script>"
    )


def demo_site(pixel_src: str, key: str, head: str = "") -> Callable:
    snippet = (
        SPY + head + "<script>window.sourceloop=window.sourceloop||function(){"
        "(sourceloop.q=sourceloop.q||[]).push(arguments)};</script>"
        f'<script async src="{pixel_src}" data-key="{key}" data-consent="required"></script>'
    )

    @Request.application
    def app(request: Request) -> Response:
        extra = request.args.get("head", "")
        html = f"<!doctype html><html><head>{snippet}{PAGES.get(extra, '')}</head><body>ok</body></html>"
        return Response(html, mimetype="text/html")

    return app


PAGES = {
    "deny": "<script>sourceloop('consent', {ad_storage: 'denied'});</script>",
}


@pytest.fixture
def site(ms_app, world, live_server):
    """Serve the app and a demo site; → a function that starts the site with some head HTML."""
    from webapp.extensions import db
    from webapp.intake import tracking
    from webapp.models import TrackingSettings

    key = pixel_key(world.workspace_id, ["127.0.0.1"])
    db.session.get(TrackingSettings, world.workspace_id).require_consent = True
    db.session.commit()
    tracking.forget_site(key)
    app_server = live_server(ms_app)
    servers = []

    def start(head: str = "") -> str:
        port = free_port()
        server = make_server(
            "127.0.0.1", port, demo_site(f"{app_server.url}/t.js", key, head), threaded=True
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def context(browser):
    context = browser.new_context(user_agent=BROWSER_UA)
    yield context
    context.close()


def open_page(context, url: str):
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_function("window.sourceloop && window.sourceloop.loaded === true")
    return page, errors


def visitor_row(uid: str):
    from webapp.extensions import db
    from webapp.models import Visitor

    return db.session.scalar(select(Visitor).where(Visitor.uid == uid))


def stored(page, context) -> tuple[list[str], str | None]:
    cookies = [c["name"] for c in context.cookies()]
    return cookies, page.evaluate("window.localStorage.getItem('_sl_vid')")


def test_denied_stores_nothing_and_sends_no_click_id(site, context) -> None:
    from webapp.extensions import db
    from webapp.models import AdClick

    msclkid = secrets.token_hex(16)
    page, errors = open_page(context, f"{site()}/landing?head=deny&msclkid={msclkid}")
    uid = page.evaluate("window.sourceloop.visitorId()")
    visitor = wait_until(lambda: visitor_row(uid), "the page view of the denied visitor")
    assert (visitor.consent_state, visitor.consent_source) == ("denied", "pixel")
    page.wait_for_timeout(500)
    assert stored(page, context) == ([], None)
    sent = page.evaluate("window.sent")
    assert sent and all(msclkid not in body for body in sent)
    assert db.session.scalar(select(AdClick)) is None
    # A second page: a new, page-only visitor id (nothing remembered the first).
    page.goto(page.url.replace("/landing", "/next"))
    page.wait_for_function("window.sourceloop && window.sourceloop.loaded === true")
    assert page.evaluate("window.sourceloop.visitorId()") != uid
    assert stored(page, context) == ([], None)
    assert errors == []


def test_granted_later_on_the_page_sends_the_held_click_id_and_writes_the_cookie(
    site, context
) -> None:
    from webapp.extensions import db
    from webapp.models import AdClick, Touchpoint

    msclkid = secrets.token_hex(16)
    page, errors = open_page(context, f"{site()}/landing?msclkid={msclkid}")
    uid = page.evaluate("window.sourceloop.visitorId()")
    wait_until(lambda: visitor_row(uid), "the page view before consent")
    page.wait_for_timeout(300)
    assert stored(page, context) == ([], None)
    assert db.session.scalar(select(AdClick)) is None
    assert all(msclkid not in body for body in page.evaluate("window.sent"))

    page.evaluate("sourceloop('consent', {ad_storage: 'granted'})")
    click = wait_until(
        lambda: db.session.scalar(select(AdClick).where(AdClick.click_id == msclkid)),
        "the held click id",
    )
    visitor = visitor_row(uid)
    assert click.visitor_id == visitor.id
    assert (visitor.consent_state, visitor.consent_source) == ("granted", "pixel")
    # The click joined the session the landing page started.
    touchpoint = db.session.get(Touchpoint, click.touchpoint_id)
    assert touchpoint.click_id == msclkid and touchpoint.channel == "microsoft_ads"
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    assert cookies.get("_sl_vid") == uid
    assert page.evaluate("window.localStorage.getItem('_sl_vid')") == uid
    assert errors == []


@pytest.mark.parametrize("granted", [True, False], ids=["tcf-granted", "tcf-denied"])
def test_a_tcf_cmp_answers_for_the_visitor(site, context, granted) -> None:
    from webapp.extensions import db
    from webapp.models import AdClick

    purposes = {1: True, 7: granted, 3: False}
    msclkid = secrets.token_hex(16)
    page, errors = open_page(context, f"{site(tcf_stub(purposes, 400))}/landing?msclkid={msclkid}")
    uid = page.evaluate("window.sourceloop.visitorId()")
    visitor = wait_until(
        lambda: (v := visitor_row(uid)) is not None and v.consent_source == "tcf" and v,
        "the TCF answer",
    )
    if granted:
        assert visitor.consent_state == "granted"
        wait_until(
            lambda: db.session.scalar(select(AdClick).where(AdClick.click_id == msclkid)),
            "the click id after the TCF grant",
        )
        assert {c["name"]: c["value"] for c in context.cookies()}.get("_sl_vid") == uid
    else:
        assert visitor.consent_state == "denied"
        page.wait_for_timeout(500)
        assert db.session.scalar(select(AdClick)) is None
        assert stored(page, context) == ([], None)
        assert all(msclkid not in body for body in page.evaluate("window.sent"))
    assert errors == []
