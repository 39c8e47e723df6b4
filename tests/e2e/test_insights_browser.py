"""The Insights dashboard in a real browser: charts drawn, totals equal to the emulator's, the
date-range picker and the drill-down to ad groups work (and no script is blocked by the CSP)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.conftest import make_world
from tests.e2e.conftest import sign_in
from tests.insights.test_pull import connect, expected
from webapp.attribution.money import format_money
from webapp.extensions import platform_registry
from webapp.insights.sync import last_complete_day, run_pull

pytestmark = pytest.mark.e2e


def test_dashboard_renders_charts_and_correct_totals(ms_app, emulator, live_server, page) -> None:
    world = make_world()
    platform_registry().get("microsoft_ads").sleep = lambda s: None
    cid = connect(ms_app, world, emulator, "80000012")
    run_pull(cid, days=10)
    end = last_complete_day()
    server = live_server(ms_app)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    sign_in(page, server.url, "member@example.com")
    page.goto(f"{server.url}/w/{world.workspace_id}/")
    page.get_by_role("link", name="Insights").click()
    page.wait_for_url("**/insights/**")
    # Pick the last 5 days with the date inputs.
    start = end - timedelta(days=4)
    page.locator('input[name="from"]').fill(start.isoformat())
    page.locator('input[name="to"]').fill(end.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**from={start.isoformat()}**")
    want = expected(emulator, "80000012", "campaign", start, end)
    totals = page.get_by_test_id("totals-80000012")
    assert totals.get_by_test_id("total-spend").inner_text() == format_money(
        Decimal(want["spend"]), "GBP"
    )
    assert totals.get_by_test_id("total-clicks").inner_text() == f"{want['clicks']:,}"
    assert totals.get_by_test_id("total-impressions").inner_text() == f"{want['impressions']:,}"
    for metric in ("spend", "clicks", "impressions"):
        chart = page.get_by_test_id(f"chart-{metric}-{cid}")
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 50
        assert chart.locator("rect.bar").count() == 5
    heights = (
        page.get_by_test_id(f"chart-spend-{cid}")
        .locator("rect.bar")
        .evaluate_all("bars => bars.map(b => b.getBBox().height)")
    )
    assert max(heights) > 0
    table = page.get_by_test_id("table-80000012")
    table.get_by_role("link").first.click()
    page.wait_for_url("**parent_level=campaign**")
    assert page.get_by_role("columnheader", name="Ad group").is_visible()
    assert page.get_by_role("link", name="Campaigns").is_visible()
    assert not [p for p in problems if "Content Security Policy" in p], problems
