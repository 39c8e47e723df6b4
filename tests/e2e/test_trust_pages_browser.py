"""Issue 12 pages in a real browser: Alerts, Insights (today partial, titled readable charts),
Tracking (snippet code block, Copy, one card per setting) and the connection page (time zone in
words). Each test leaves a full-page screenshot in its tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.helpers.push as h
from tests.conftest import make_world
from tests.e2e.conftest import sign_in
from tests.insights.test_pull import connect
from webapp.accounts import alerts
from webapp.extensions import db, platform_registry
from webapp.insights.sync import run_pull
from webapp.models import Connection, Membership
from webapp.models.types import utcnow

pytestmark = pytest.mark.e2e


def _console_errors(page) -> list[str]:
    """Script errors, and responses that failed (the browser's own favicon probe aside)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return problems


def test_alerts_page_lists_incidents_and_saves_settings(
    ms_app, emulator, live_server, page, tmp_path: Path
) -> None:
    world = make_world()
    connection_id = h.connect(ms_app, world, emulator)
    connection = db.session.get(Connection, connection_id)
    connection.status = Connection.RECONNECT_NEEDED
    db.session.commit()
    alerts.evaluate(world.workspace_id)  # opens one
    connection.status = Connection.ACTIVE
    db.session.commit()
    alerts.evaluate(world.workspace_id)  # resolves it
    connection.status = Connection.RECONNECT_NEEDED
    db.session.commit()
    alerts.evaluate(world.workspace_id)  # and a new one is open
    server = live_server(ms_app)
    problems = _console_errors(page)
    sign_in(page, server.url, "admin@example.com")
    page.goto(f"{server.url}/w/{world.workspace_id}/")
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url("**/alerts/**")
    assert page.get_by_test_id("open-incidents").locator("tbody tr").count() == 1
    assert page.get_by_test_id("past-incidents").locator("tbody tr").count() == 1
    assert "needs to be reconnected" in page.get_by_test_id("open-incidents").inner_text()
    page.get_by_label(
        "Alert when a connection's match rate (the share of uploads the platform"
    ).fill("45")
    page.get_by_role("button", name="Save alert settings").click()
    page.wait_for_url("**/alerts/")
    assert "Alert settings saved." in page.content()
    assert alerts.settings_of(world.workspace_id).match_rate_threshold == 45
    page.get_by_label("Do not e-mail me alerts for this workspace").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/alerts/")
    membership = db.session.get(Membership, world.memberships["admin"])
    assert alerts.is_opted_out(membership.id)
    page.screenshot(path=str(tmp_path / "alerts.png"), full_page=True)
    assert problems == []


def test_insights_default_range_includes_today_with_readable_charts(
    ms_app, emulator, live_server, page, tmp_path: Path
) -> None:
    world = make_world()
    platform_registry().get("microsoft_ads").sleep = lambda s: None
    cid = connect(ms_app, world, emulator, "80000012")
    run_pull(cid, days=10)
    server = live_server(ms_app)
    problems = _console_errors(page)
    sign_in(page, server.url, "member@example.com")
    page.goto(f"{server.url}/w/{world.workspace_id}/insights/")
    assert page.locator('input[name="to"]').input_value() == utcnow().date().isoformat()
    assert page.get_by_test_id("partial-note").is_visible()
    chart = page.get_by_test_id(f"chart-spend-{cid}")
    title = chart.locator("text.chart-title")
    assert title.is_visible() and (title.text_content() or "").startswith("Daily spend")
    # Axis text as rendered: at least 11 px tall on screen.
    heights = chart.locator("text.chart-axis").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect().height)"
    )
    assert len(heights) >= 5 and min(heights) >= 11
    assert "SOURCELOOP CONV." in page.get_by_test_id("table-80000012").inner_text().upper()
    page.screenshot(path=str(tmp_path / "insights.png"), full_page=True)
    assert problems == []


def test_tracking_snippet_copies_and_each_setting_has_its_card(
    ms_app, emulator, live_server, page, tmp_path: Path
) -> None:
    world = make_world()
    connection_id = h.connect(ms_app, world, emulator)
    connection = db.session.get(Connection, connection_id)
    connection.time_zone = "PacificTimeUSCanadaTijuana"
    db.session.commit()
    server = live_server(ms_app)
    problems = _console_errors(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sign_in(page, server.url, "admin@example.com")
    page.goto(f"{server.url}/w/{world.workspace_id}/setup/tracking/")
    snippet = page.locator("pre code#pixel-snippet")
    box = snippet.bounding_box()
    assert box and box["width"] > 400  # a real code block, not a 130 x 45 box
    page.get_by_test_id("copy-snippet").click()
    button = page.get_by_test_id("copy-snippet")
    page.wait_for_selector("[data-testid=copy-snippet]:text('Copied')")
    assert button.inner_text() == "Copied"
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert "/t.js" in copied and "data-key=" in copied
    assert page.get_by_test_id("allowed-domains").is_visible()
    assert page.get_by_test_id("form-tracking").is_visible()
    page.screenshot(path=str(tmp_path / "tracking.png"), full_page=True)
    page.goto(f"{server.url}/w/{world.workspace_id}/setup/connections/{connection_id}")
    assert page.get_by_test_id("time-zone").inner_text() == "Pacific Time (US & Canada), Tijuana"
    page.screenshot(path=str(tmp_path / "connection.png"), full_page=True)
    assert problems == []


def test_workspace_currency_card(ms_app, emulator, live_server, page, tmp_path: Path) -> None:
    world = make_world()
    h.connect(ms_app, world, emulator)  # its account's currency is the default
    db.session.commit()  # the test's own session must not hold SQLite's write lock
    server = live_server(ms_app)
    problems = _console_errors(page)
    sign_in(page, server.url, "owner@example.com")
    page.goto(f"{server.url}/w/{world.workspace_id}/setup/workspace/")
    assert page.get_by_test_id("default-currency").inner_text() == "USD"
    page.get_by_label(
        "Default currency (ISO 4217, e.g. USD; empty: the first connected account's)"
    ).fill("eur")
    with page.expect_navigation():
        page.get_by_role("button", name="Save currency").click()
    assert "Default currency saved." in page.content(), page.content()[-3000:]
    assert page.get_by_test_id("default-currency").inner_text() == "EUR"
    page.screenshot(path=str(tmp_path / "workspace.png"), full_page=True)
    assert problems == []
