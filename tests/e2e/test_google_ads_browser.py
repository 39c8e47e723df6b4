"""A person connects Google Ads in a real browser: Setup → Ad Platforms → Connect → choose the
account and continue on the (emulated) Google consent pages → the picker, with manager accounts
explained and not pickable → an account reached through a manager → Configure lists its
conversion actions, and Troubleshoot offers the dry run."""

from __future__ import annotations

import pytest
import requests
from flask import Flask

from config import load_settings
from tests.conftest import _empty_tables, google_environ, make_world, test_environ
from tests.e2e.conftest import sign_in
from tests.fake_platform import FakePlatform
from tests.helpers.processes import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(_migrated, redis_url, google_emulator, live_server):
    from webapp.extensions import db
    from webapp.factory import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    requests.post(
        f"{google_emulator}/_emulator/redirect_uris",
        json={"redirect_uri": f"{base}/setup/platforms/google_ads/callback"},
        timeout=10,
    ).raise_for_status()
    settings = load_settings(
        test_environ(_migrated, redis_url, **google_environ(google_emulator), PUBLIC_URL=base)
    )
    app: Flask = create_app(
        settings, extra_platforms=[FakePlatform], overrides={"RUN_CONNECTION_CHECKS": False}
    )
    with app.app_context():
        world = make_world()
        server = live_server(app, port)
        yield server, world
        db.session.remove()
        _empty_tables()


def test_admin_connects_google_ads_through_a_manager_and_configures(served, page, tmp_path):
    server, world = served
    sign_in(page, server.url, "admin@example.com")
    page.get_by_role("navigation").get_by_role("link", name="Setup").click()
    page.get_by_role("link", name="Ad Platforms").click()
    page.locator('[data-platform="google_ads"]').get_by_role("button", name="Connect").click()

    # Google's side (the emulator): choose the account, then continue with both scopes.
    page.get_by_role("button", name="alex@fabrikam-agency.example").click()
    page.get_by_role("button", name="Continue").click()

    # The picker: every reachable account; managers explained, not pickable.
    page.wait_for_url(lambda url: "/accounts?grant=" in url)
    manager = page.locator('tr[data-account-id="1112223333"]')
    assert manager.get_by_text("manager account").first.is_visible()
    assert manager.get_by_role("button", name="Connect this account").count() == 0
    assert page.locator('tr[data-account-id="4567890123"]').is_visible()  # two levels down
    page.screenshot(path=str(tmp_path / "picker.png"), full_page=True)
    page.locator('tr[data-account-id="2345678901"]').get_by_role(
        "button", name="Connect this account"
    ).click()
    assert page.get_by_text("Connected Fabrikam Outdoor UK").first.is_visible()
    page.get_by_role("link", name="Done").click()

    page.wait_for_url(lambda url: url.endswith("/setup/platforms"))
    card = page.locator('[data-platform="google_ads"]')
    # Connected, but not yet healthy: nothing is mapped and nothing pulled (issue 12's health).
    state = card.get_by_test_id("card-state")
    assert state.get_attribute("data-state") == "attention"
    assert state.inner_text() == "Needs attention"
    assert card.get_by_text("Fabrikam Outdoor UK").is_visible()

    # Configure reads the account's conversion actions through the manager.
    card.get_by_role("link", name="Fabrikam Outdoor UK").first.click()
    page.get_by_test_id("push-links").get_by_role("link", name="Configure pushing").click()
    assert page.get_by_text("Closed won UK").first.is_visible()
    page.screenshot(path=str(tmp_path / "configure.png"), full_page=True)
    page.get_by_role("link", name="Troubleshoot").first.click()
    assert page.locator('[data-testid="dry-run"]').is_visible()
