"""Issue 12 items 4–6 in a real browser: the dashboard (a new workspace's checklist; figures,
health cards with data), Reconnect on a disconnected connection through the (emulated) sign-in,
and a conversion's delivery timeline. Each test leaves a full-page screenshot in its tmp_path."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

import tests.helpers.push as h
from tests.conftest import make_world
from tests.e2e.conftest import sign_in
from tests.e2e.test_connect_browser import served  # noqa: F401  (the app with a public URL)
from tests.e2e.test_trust_pages_browser import _console_errors
from webapp.attribution import credits
from webapp.extensions import db
from webapp.models import (
    AdClick,
    Connection,
    GoalDiagnosticsDaily,
    InsightDaily,
    InsightSyncState,
    PushRun,
)
from webapp.models.types import utcnow
from webapp.push import send as push

pytestmark = pytest.mark.e2e


def test_a_new_workspace_sees_the_checklist_and_clear_empty_states(
    ms_app, live_server, page, tmp_path: Path
) -> None:
    world = make_world()
    server = live_server(ms_app)
    problems = _console_errors(page)
    sign_in(page, server.url, "admin@example.com")
    page.goto(f"{server.url}/w/{world.workspace_id}/")
    checklist = page.get_by_test_id("setup-checklist")
    assert checklist.is_visible() and "0 of 6 done" in checklist.inner_text()
    titles = checklist.locator("li a").all_inner_texts()
    assert titles == [
        "Install the pixel",
        "First hit seen",
        "Connect an ad account",
        "Map goals",
        "First conversion pushed",
        "First insights pulled",
    ]
    assert checklist.locator('li[data-done="false"]').count() == 6
    assert page.get_by_test_id("figures-empty").first.is_visible()
    assert page.get_by_test_id("no-connections").is_visible()
    # Recent activity sits below the figures and the health cards.
    boxes = [
        page.get_by_test_id(t).bounding_box()["y"]
        for t in ("setup-checklist", "figures-today", "connection-health")
    ]
    activity = page.get_by_role("heading", name="Recent activity").bounding_box()["y"]
    assert boxes == sorted(boxes) and activity > boxes[-1]
    page.screenshot(path=str(tmp_path / "new-workspace.png"), full_page=True)
    checklist.get_by_role("link", name="Connect an ad account").click()
    page.wait_for_url("**/setup/platforms")
    assert problems == []


def test_figures_and_health_cards_with_data(
    ms_app, emulator, live_server, page, tmp_path: Path
) -> None:
    world = make_world()
    ws = world.workspace_id
    healthy = h.connect(ms_app, world, emulator)
    broken = h.connect(ms_app, world, emulator, "80000012")
    h.configure(world, healthy, {"purchase": h.CLOSED_WON})
    for _ in range(3):
        h.add_conversion(ws)
    h.add_conversion(ws, value="9999999999999")  # refused: pushed, not accepted
    h.add_conversion(ws, with_click=False)  # not eligible
    # Sent with its click id: a paid touch, so the attribution job credits it to the platform.
    h.add_conversion(ws, msclkid=h.click_id(), with_click=False, value="50.00")
    push.run(healthy)
    credits.run(ws)
    now = utcnow()
    connection = db.session.get(Connection, healthy)
    connection.auto_tagging = True
    db.session.merge(InsightSyncState(connection_id=healthy, last_success_at=now))
    db.session.add(
        InsightDaily(
            connection_id=healthy,
            level="campaign",
            entity_id="c1",
            day=now.date(),
            spend=Decimal("100.00"),
            currency="USD",
        )
    )
    db.session.add(
        GoalDiagnosticsDaily(
            connection_id=healthy,
            goal_id=h.CLOSED_WON,
            day=now.date(),
            success_count=3,
            unattributed_count=1,
            reasons={"NoMatchingClickFound": 1},
        )
    )
    other = db.session.get(Connection, broken)
    other.status, other.status_reason = Connection.RECONNECT_NEEDED, "The grant was revoked."
    db.session.commit()

    server = live_server(ms_app)
    problems = _console_errors(page)
    sign_in(page, server.url, "admin@example.com")
    page.goto(f"{server.url}/w/{ws}/")
    today = page.get_by_test_id("figures-today")

    def figure(name: str) -> str:
        return today.locator(f'[data-figure="{name}"]').inner_text()

    assert (figure("captured"), figure("eligible"), figure("pushed"), figure("accepted")) == (
        "6",
        "4",  # the one sent with its click id waits an hour from its own time
        "4",
        "3",
    )
    assert figure("match_rate") == "75.0%"  # what the platform said: 3 of 4
    assert "100.00" in figure("spend") and "50.00" in figure("revenue")
    assert figure("roas") == "0.50"
    cards = page.get_by_test_id("health-card")
    assert cards.count() == 2
    good = page.locator(f'[data-testid="health-card"][data-connection="{healthy}"]')
    bad = page.locator(f'[data-testid="health-card"][data-connection="{broken}"]')
    assert good.get_by_test_id("health").get_attribute("data-state") == "healthy"
    assert good.get_by_text("Every check passes.").is_visible()
    assert bad.get_by_test_id("health").inner_text() == "Reconnect needed"
    assert bad.get_by_text("The grant was revoked.").is_visible()
    assert bad.locator("li[data-check]").count() == 1  # only the sign-in, until reconnected
    assert bad.get_by_role("button", name="Reconnect").is_visible()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # One match rate: the connection page and Troubleshoot show the dashboard's (3 of 4), and
    # the click-id coverage apart, under its own name.
    page.goto(f"{server.url}/w/{ws}/setup/connections/{healthy}")
    assert page.get_by_test_id("match-rate").inner_text().startswith("75.0% (3 of 4)")
    page.goto(f"{server.url}/w/{ws}/setup/connections/{healthy}/push/troubleshoot?state=sent")
    assert page.get_by_test_id("match-rate").inner_text().startswith("75.0% (3 of 4)")
    assert "click id" in page.get_by_test_id("click-id-coverage").inner_text()
    # Microsoft's reason in its words, the code beside them in small print.
    said = page.get_by_test_id("platform-said").first
    reason = said.locator('[data-reason="NoMatchingClickFound"]')
    assert "found no ad click" in reason.inner_text()
    assert reason.locator("code").inner_text() == "NoMatchingClickFound"
    page.goto(f"{server.url}/w/{ws}/insights/")
    listed = page.locator('[data-reason="NoMatchingClickFound"]').first
    assert "found no ad click" in listed.inner_text()
    assert listed.locator(".small code").inner_text() == "NoMatchingClickFound"
    page.screenshot(path=str(tmp_path / "insights.png"), full_page=True)
    assert problems == []


def test_a_disconnected_connection_offers_reconnect_and_it_works(
    served,  # noqa: F811
    page,
    tmp_path: Path,
) -> None:
    server, world = served
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, server.url, "admin@example.com")
    page.goto(f"{server.url}/w/{world.workspace_id}/setup/platforms")
    card = page.locator('[data-platform="microsoft_ads"]')
    card.get_by_role("button", name="Connect").click()
    page.get_by_role("button", name="alex@fabrikam-agency.example").click()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(lambda url: "/accounts?grant=" in url)
    page.locator('tr[data-account-id="80000011"]').get_by_role(
        "button", name="Connect this account"
    ).click()
    page.get_by_role("link", name="Done").click()
    page.wait_for_url(lambda url: url.endswith("/setup/platforms"))
    card.get_by_role("link", name="Fabrikam Outdoor US").click()
    page.get_by_role("button", name="Disconnect").click()
    page.wait_for_url(lambda url: url.endswith("/setup/platforms"))

    card = page.locator('[data-platform="microsoft_ads"]')
    assert card.get_by_test_id("card-state").inner_text() == "Disconnected"
    row = card.locator(".connection")
    assert row.get_by_test_id("health").inner_text() == "Disconnected"
    assert row.get_by_text("Sign-in valid").is_visible()
    page.screenshot(path=str(tmp_path / "disconnected.png"), full_page=True)
    row.get_by_role("button", name="Reconnect").click()
    page.get_by_role("button", name="alex@fabrikam-agency.example").click()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(lambda url: "reconnect=" in url)
    page.get_by_role("button", name="Reconnect").click()
    page.wait_for_url(lambda url: url.endswith("/setup/platforms"))
    assert page.get_by_text("is reconnected").is_visible()
    state = page.locator('[data-platform="microsoft_ads"]').get_by_test_id("card-state")
    assert state.get_attribute("data-state") == "attention"  # connected again; nothing mapped
    connection = db.session.scalar(select(Connection))
    db.session.refresh(connection)
    assert connection.status == Connection.ACTIVE and connection.disconnected_at is None


def test_the_conversion_page_shows_the_delivery_timeline(
    ms_app, emulator, live_server, page, tmp_path: Path
) -> None:
    world = make_world()
    ws = world.workspace_id
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    conversion_id, _ = h.add_conversion(ws, clicked_at=utcnow() - timedelta(minutes=10))
    push.run(connection_id)  # waiting: the click is settling
    db.session.execute(
        update(AdClick)
        .where(AdClick.workspace_id == ws)
        .values(clicked_at=utcnow() - timedelta(hours=3))
    )
    db.session.commit()
    h.arm(emulator, "ApplyOfflineConversions", "throttle")
    with pytest.raises(Exception, match="(?i)rate|throttl|limit"):
        push.run(connection_id)  # the call does not complete
    push.run(connection_id)  # accepted
    run_id = db.session.scalars(select(PushRun.id).order_by(PushRun.id.desc())).first()

    server = live_server(ms_app)
    problems = _console_errors(page)
    sign_in(page, server.url, "member@example.com")
    page.goto(f"{server.url}/w/{ws}/conversions/{conversion_id}")
    box = page.get_by_test_id(f"delivery-{connection_id}")
    steps = box.get_by_test_id("timeline").locator("li")
    outcomes = [steps.nth(i).get_attribute("data-outcome") for i in range(steps.count())]
    assert outcomes == ["waiting", "eligible", "released", "sent"]
    assert (
        steps.nth(0).inner_text().startswith(steps.nth(0).locator("time").inner_text())
        and "Waiting" in steps.nth(0).inner_text()
    )
    assert "did not complete" in steps.nth(2).inner_text()
    assert steps.nth(3).get_attribute("data-run") == str(run_id)
    assert f"push run {run_id}" in steps.nth(3).inner_text()
    now = box.get_by_test_id("delivery-now")
    assert now.locator(".pill").get_attribute("data-state") == "sent"
    page.screenshot(path=str(tmp_path / "timeline.png"), full_page=True)
    assert problems == []
