"""An analyst reads attribution in a real browser: sidebar → Attribution → models side by side
with an SVG chart → a conversion's journey on a timeline → settings saved as an Admin. No console
errors (the CSP forbids inline scripts; the pages need none)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.conftest import sign_in
from tests.helpers import attribution_data as data
from webapp.attribution import credits as multitouch

pytestmark = pytest.mark.e2e


def test_reports_journey_and_settings_in_the_browser(
    app, world, live_server, page, tmp_path
) -> None:
    ws = world.workspace_id
    data.microsoft_campaign(ws, "50000111", "Brand - US", {date(2026, 2, 27): "25.00"})
    v = data.visitor(ws)
    data.touch(ws, v, 20, "organic_search")
    data.touch(ws, v, 2, "microsoft_ads", "Brand - US", click_id="e" * 32)
    data.touch(ws, v, 1, "direct")
    conversion = data.conversion(ws, v, "100.00", external_id="o1")
    multitouch.run(ws)
    server = live_server(app)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)

    sign_in(page, server.url, "admin@example.com")
    page.goto(f"{server.url}/w/{ws}/")
    page.get_by_role("link", name="Attribution").click()
    page.get_by_label("From").fill("2026-02-01")
    page.get_by_label("To").fill("2026-03-31")
    page.get_by_role("button", name="Show").click()

    channels = page.get_by_test_id("channel-table")
    organic = channels.locator("tr", has_text="Organic search")
    # First touch gives organic search the whole conversion; last non-direct gives it nothing.
    cells = organic.locator("td").all_inner_texts()
    assert cells[0:2] == ["1.00", "$100.00"] and cells[4:6] == ["0.00", "$0.00"]
    assert page.locator("figure.chart svg rect").count() == 3 * 6
    campaign = page.get_by_test_id("campaign-table").locator("tr", has_text="Brand - US")
    assert "$25.00" in campaign.inner_text() and "4.00" in campaign.inner_text()
    page.screenshot(path=str(tmp_path / "attribution.png"), full_page=True)

    page.get_by_role("link", name="Journey").first.click()
    page.wait_for_url(f"**/attribution/conversions/{conversion}*")
    page.get_by_role("link", name="Position-based 40/20/40").click()
    assert page.locator("svg circle.touch").count() == 3
    rows = page.get_by_test_id("journey-table").locator("tbody tr")
    assert "40.00" in rows.nth(0).inner_text() and "20.00" in rows.nth(1).inner_text()

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Lookback window (days)").fill("10")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Attribution settings saved").wait_for(state="visible")  # after the redirect
    assert page.get_by_label("Lookback window (days)").input_value() == "10"
    failed = [url for url in failed if not url.endswith("/favicon.ico")]  # none is served
    assert not failed, failed
    assert len(errors) == len([e for e in errors if "404" in e]), errors  # only the favicon
