"""Troubleshoot at scale in a real browser (Debian Chromium): pages of 50 with Next and First,
search by external id, a reason filter, a row's link to its conversion, and the CSV export of
the filtered rows (issue 12)."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest

from tests.conftest import make_world
from tests.e2e.conftest import sign_in
from tests.helpers import push as h
from webapp.extensions import db
from webapp.models import Conversion
from webapp.models.types import utcnow
from webapp.push import send as push

pytestmark = pytest.mark.e2e


def test_troubleshoot_pages_searches_filters_links_and_exports(
    ms_app, redis, emulator, live_server, page, tmp_path
) -> None:
    world = make_world()
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    ws, now = world.workspace_id, utcnow()
    organic = [
        h.add_conversion(ws, with_click=False, occurred_at=now - timedelta(minutes=10 + i))[0]
        for i in range(55)
    ]
    rejected, _ = h.add_conversion(ws, value="9999999999999")
    sent, _ = h.add_conversion(ws)
    push.run(connection_id)
    external_id = db.session.get(Conversion, rejected).external_id

    server = live_server(ms_app)
    sign_in(page, server.url, "member@example.com")
    base = f"{server.url}/w/{ws}/setup/connections/{connection_id}/push/troubleshoot"
    page.goto(base)
    rows = page.locator('[data-testid="conversions"] tbody tr')
    assert rows.count() == 50
    counts = page.locator('[data-testid="counts"]').inner_text()
    assert "Not eligible: 55" in counts and "Rejected: 1" in counts
    assert "Accepted by the API: 1" in counts
    page.get_by_test_id("next-page").click()
    assert rows.count() == 7 and "cursor=" in page.url
    assert page.get_by_test_id("next-page").count() == 0
    page.get_by_test_id("first-page").click()
    assert rows.count() == 50

    page.get_by_label("Search").fill(external_id)
    page.get_by_role("button", name="Filter").click()
    assert rows.count() == 1
    assert rows.first.get_attribute("data-state") == "rejected"
    rows.first.get_by_role("link").click()
    page.wait_for_url(f"**/w/{ws}/conversions/{rejected}")

    page.goto(base)
    page.get_by_label("Reason").select_option("no_click")
    page.get_by_role("button", name="Filter").click()
    assert "reason=no_click" in page.url
    assert rows.count() == 50
    assert {rows.nth(i).get_attribute("data-reason") for i in range(50)} == {"no_click"}
    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    path = tmp_path / "rows.csv"
    download.value.save_as(path)
    with path.open(newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert sorted(int(r["conversion_id"]) for r in exported) == sorted(organic)
    assert {r["reason"] for r in exported} == {"no_click"}
    assert sent not in {int(r["conversion_id"]) for r in exported}
