"""A plugin's own click id, end to end, with no change to webapp/ or jobs/: the example plugin
(outside ``platforms/``, installed through its entry point) declares ``exclid``. In Chromium, a
landing page with ``?exclid=…`` and the pixel records the click; a conversion follows (from the
site's backend, by visitor id, and one from a CRM carrying the click id itself); a real worker
pushes both connections. The example emulator receives both with their exclid; Microsoft's
emulator, connected and mapped for the same event, receives nothing."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import client_as, csrf_token, make_world, msads_environ, test_environ
from tests.e2e.test_pixel_browser import demo_site, wait_until
from tests.helpers import push as h
from tests.helpers.processes import free_port, port_open, python_process, stop, wait_for
from tests.intake.helpers import BROWSER_UA, api_key, bearer, pixel_key
from tests.plugins.example_ads.plugin import ExampleAdsPlatform
from tests.plugins.test_example_ads import _install_entry_point
from tests.test_connect_microsoft_ads import pick
from webapp.extensions import db
from webapp.models import AdClick, Connection, ConversionDelivery, PushRun, Touchpoint
from webapp.services.background import request_push

pytestmark = pytest.mark.e2e
EVENT = "meeting_booked"


@pytest.fixture
def example_emulator(tmp_path: Path):
    port = free_port()
    process = python_process(
        ["-m", "tests.plugins.example_ads.emulator", "--port", str(port)],
        {},
        tmp_path / "example-emulator.log",
    )
    try:
        wait_for(lambda: port_open(port), timeout=30, what="the Example Ads emulator")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def world(ms_app, redis):
    return make_world()


def connect_example(app, world, example_url: str) -> int:
    """The connect flow through the host's generic OAuth routes and the emulator's consent."""
    admin = client_as(app, "admin")
    ws = world.workspace_id
    started = admin.post(
        f"/w/{ws}/setup/platforms/example_ads/connect",
        data={"csrf_token": csrf_token(admin, f"/w/{ws}/setup/platforms")},
    )
    assert started.status_code == 302, started.get_data(as_text=True)[:300]
    params = {k: v[0] for k, v in parse_qs(urlsplit(started.location).query).items()}
    approved = requests.post(
        f"{example_url}/oauth/approve",
        params={
            k: params[k]
            for k in ("redirect_uri", "state", "code_challenge", "code_challenge_method")
        },
        allow_redirects=False,
        timeout=10,
    )
    callback = urlsplit(approved.headers["Location"])
    picker = admin.get(f"{callback.path}?{callback.query}")
    assert picker.status_code == 302 and "accounts?grant=" in picker.location, picker.location
    assert pick(admin, picker.location, "E-101").status_code == 303
    return db.session.scalar(select(Connection.id).where(Connection.platform_key == "example_ads"))


def test_a_plugins_click_id_goes_from_the_landing_page_to_its_own_platform_only(
    ms_app,
    world,
    emulator,
    example_emulator,
    live_server,
    browser,
    redis,
    redis_url,
    _migrated,
    tmp_path: Path,
) -> None:
    # The web process has the example plugin too (the worker finds it through its entry point).
    ms_app.extensions["platforms"].register(
        ExampleAdsPlatform({"EXAMPLE_ADS_URL": example_emulator})
    )
    example_id = connect_example(ms_app, world, example_emulator)
    h.configure(world, example_id, {EVENT: "G1"}, currency="EUR")
    microsoft_id = h.connect(ms_app, world, emulator)
    h.configure(world, microsoft_id, {EVENT: h.CLOSED_WON})

    key = pixel_key(world.workspace_id, ["127.0.0.1"])
    server = live_server(ms_app)
    site_port = free_port()
    site = make_server("127.0.0.1", site_port, demo_site(f"{server.url}/t.js", key), threaded=True)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    exclid = f"ex{secrets.token_hex(8)}"
    context = browser.new_context(user_agent=BROWSER_UA)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"http://127.0.0.1:{site_port}/landing?exclid={exclid}&utm_campaign=spring")
        click = wait_until(
            lambda: db.session.scalar(select(AdClick).where(AdClick.click_id == exclid)),
            "the captured exclid",
        )
        visitor_uid = page.evaluate("window.sourceloop.visitorId()")
    finally:
        context.close()
        site.shutdown()
    assert click.click_param == "exclid"
    assert db.session.get(Touchpoint, click.touchpoint_id).channel == "example_ads"

    token = api_key(world.workspace_id)
    crm_exclid = f"ex{secrets.token_hex(8)}"
    now = datetime.now(UTC).isoformat()
    for external_id, identity in (
        ("booked-1", {"visitor_id": visitor_uid}),
        ("booked-2", {"click_ids": {"exclid": crm_exclid}}),
    ):
        response = requests.post(
            f"{server.url}/api/v1/conversions",
            json={"event": EVENT, "occurred_at": now, "external_id": external_id, **identity},
            headers=bearer(token),
            timeout=10,
        )
        assert response.status_code == 201, response.text

    site_dir = tmp_path / "site"
    _install_entry_point(site_dir)
    env = test_environ(
        _migrated,
        redis_url,
        PUSH_LEASE_SECONDS="5",
        EXAMPLE_ADS_URL=example_emulator,
        PYTHONPATH=str(site_dir),
        **msads_environ(emulator),
    )
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    try:
        request_push(example_id)
        request_push(microsoft_id)

        def example_received() -> list[dict]:
            rows = requests.get(f"{example_emulator}/_emulator/conversions", timeout=10).json()
            return rows["conversions"]

        wait_for(lambda: len(example_received()) == 2, timeout=90, what="Example Ads uploads")

        def microsoft_done() -> bool:
            db.session.rollback()
            return (
                db.session.scalar(
                    select(PushRun.id).where(
                        PushRun.connection_id == microsoft_id, PushRun.finished_at.is_not(None)
                    )
                )
                is not None
            )

        wait_for(microsoft_done, timeout=60, what="the Microsoft push to finish")
    finally:
        stop(worker)
    assert sorted(r["click_id"] for r in example_received()) == sorted([exclid, crm_exclid])
    assert {r["goal"] for r in example_received()} == {"Purchase"}
    assert h.received(emulator) == []
    db.session.rollback()
    assert (
        db.session.scalars(
            select(ConversionDelivery).where(ConversionDelivery.connection_id == microsoft_id)
        ).all()
        == []
    )
