"""The Insights dashboard, Sync now and the warehouse API over data pulled from the emulator."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.conftest import client_as, csrf_token, make_world
from tests.insights.test_pull import connect, expected
from webapp.attribution import credits as multitouch
from webapp.attribution.money import format_money
from webapp.extensions import db, platform_registry
from webapp.insights.sync import last_complete_day, run_pull
from webapp.models import AdClick, Conversion, InsightSyncState, JobRun, Touchpoint, Visitor
from webapp.models.types import utcnow

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(ms_app):
    return make_world()


@pytest.fixture
def pulled(ms_app, world, emulator):
    platform_registry().get("microsoft_ads").sleep = lambda s: None
    cid = connect(ms_app, world, emulator)
    run_pull(cid, days=7)
    end = last_complete_day()
    return cid, end - timedelta(days=6), end


def _money(value: str) -> str:
    return format_money(Decimal(value), "USD")


def _sourceloop_sale(world, campaign: str, value: str) -> None:
    visitor = Visitor(workspace_id=world.workspace_id, uid=f"v-{campaign}-{value}")
    db.session.add(visitor)
    db.session.flush()
    clicked = utcnow() - timedelta(days=1, hours=3)
    touch = Touchpoint(
        workspace_id=world.workspace_id,
        visitor_id=visitor.id,
        occurred_at=clicked,
        channel="microsoft_ads",
        campaign=campaign,
    )
    db.session.add(touch)
    db.session.flush()
    db.session.add(
        AdClick(
            workspace_id=world.workspace_id,
            visitor_id=visitor.id,
            touchpoint_id=touch.id,
            click_param="msclkid",
            click_id=f"{len(campaign):02d}{value}".ljust(32, "a"),
            clicked_at=clicked,
        )
    )
    db.session.add(
        Conversion(
            workspace_id=world.workspace_id,
            visitor_id=visitor.id,
            event="purchase",
            occurred_at=clicked + timedelta(hours=1),
            value=Decimal(value),
            currency="USD",
            source="api",
        )
    )
    db.session.commit()


def test_dashboard_totals_charts_drilldown_and_sourceloop_revenue(
    ms_app, world, emulator, pulled
) -> None:
    cid, start, end = pulled
    _sourceloop_sale(world, "Brand - US", "120.00")  # utm_campaign names a synced campaign
    _sourceloop_sale(world, "", "30.00")  # a Microsoft click without a campaign
    multitouch.run(world.workspace_id)
    member = client_as(ms_app, "member")
    url = f"/w/{world.workspace_id}/insights/?from={start}&to={end}"
    html = member.get(url).get_data(as_text=True)
    want = expected(emulator, "80000011", "campaign", start, end)
    totals = html.split('data-testid="totals-80000011"')[1].split("</dl>")[0]
    assert _money(want["spend"]) in totals
    assert f"{want['clicks']:,}" in totals and f"{want['impressions']:,}" in totals
    assert _money(want["revenue"]) in totals
    assert 'data-testid="total-sl-conversions">2.00<' in totals
    assert "$150.00" in totals
    assert html.count("<svg") == 3 and html.count('class="bar"') == 3 * 7
    assert "<script>" not in html
    brand = re.search(r'<tr data-entity="50000111">(.*?)</tr>', html, re.S).group(1)
    assert "Brand - US" in brand and "$120.00" in brand
    assert 'data-testid="campaign-unknown"' in html
    # The cross-platform table above shows the same account's figures for its platform.
    cross = html.split('data-testid="cross-platform-table"')[1].split("</table>")[0]
    row = re.search(
        r'<tr data-platform="microsoft_ads" data-currency="USD">(.*?)</tr>', cross, re.S
    )
    assert _money(want["spend"]) in row.group(1) and "$150.00" in row.group(1)
    assert f"{want['clicks']:,}" in row.group(1)
    # Drill down: campaign → ad groups → ads, with the emulator's ad-group numbers.
    drill = member.get(f"{url}&connection={cid}&parent_level=campaign&parent_id=50000111")
    page = drill.get_data(as_text=True)
    assert 'data-entity="400001111"' in page and "Ad group" in page
    ads = member.get(f"{url}&connection={cid}&parent_level=ad_group&parent_id=400001111")
    assert 'data-entity="3000011111"' in ads.get_data(as_text=True)
    # Bad input is a message, not a 500.
    bad = member.get(f"/w/{world.workspace_id}/insights/?from=yesterday&to=2026-01-01")
    assert bad.status_code == 200 and "Dates must look like" in bad.get_data(as_text=True)


def test_empty_state_without_connections(app, world) -> None:
    html = client_as(app, "member").get(f"/w/{world.workspace_id}/insights/").get_data(True)
    assert 'data-testid="insights-empty"' in html and "Insights</a>" in html


def test_sync_now_enqueues_a_pull_and_shows_progress(
    ms_app, world, emulator, redis, burst_worker
) -> None:
    platform_registry().get("microsoft_ads").sleep = lambda s: None
    ms_app.config["INSIGHTS_BACKFILL_DAYS"] = 3
    cid = connect(ms_app, world, emulator)
    admin = client_as(ms_app, "admin")
    page = f"/w/{world.workspace_id}/setup/connections/{cid}"
    assert 'data-testid="sync-now"' in admin.get(page).get_data(as_text=True)
    response = admin.post(
        f"/w/{world.workspace_id}/insights/sync/{cid}", data={"csrf_token": csrf_token(admin, page)}
    )
    assert response.status_code == 303 and response.location.endswith(page)
    shown = admin.get(page).get_data(as_text=True)
    assert 'data-testid="sync-progress"' in shown and "data-job-status-url" in shown
    assert redis.llen("rq:queue:pull") == 1
    member_html = client_as(ms_app, "member").get(page).get_data(as_text=True)
    assert 'data-testid="sync-now"' not in member_html
    burst_worker()
    db.session.expire_all()
    run = db.session.scalars(select(JobRun).where(JobRun.kind == "pull")).one()
    assert run.status == "succeeded" and run.progress == 100
    assert db.session.get(InsightSyncState, cid).last_status == "succeeded"
    assert "Last synced" in admin.get(page).get_data(as_text=True)


def test_api_returns_daily_rows_for_a_workspace_key(ms_app, world, emulator, pulled) -> None:
    from webapp.accounts import api_keys

    _, start, end = pulled
    _, key = api_keys.create(world.workspace_id, "warehouse")
    _, other_key = api_keys.create(world.other_workspace_id, "other")
    client = ms_app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    url = f"/api/v1/insights?from={start}&to={end}&level=ad"
    body = client.get(url, headers=auth).get_json()
    want = expected(emulator, "80000011", "ad", start, end)
    assert len(body["rows"]) == want["rows"]
    assert sum(r["clicks"] for r in body["rows"]) == want["clicks"]
    assert f"{sum(Decimal(r['spend']) for r in body['rows']):.2f}" == want["spend"]
    assert {r["currency"] for r in body["rows"]} == {"USD"}
    assert all(r["name"] for r in body["rows"])
    other = client.get(url, headers={"Authorization": f"Bearer {other_key}"}).get_json()
    assert other["rows"] == []  # the key decides the workspace
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer sl_live_nope"}).status_code == 401
    for bad in ("level=keyword", "from=2026-13-01", f"from={end}&to={start}", "from=2020-01-01"):
        response = client.get(f"/api/v1/insights?{bad}", headers=auth)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["message"]


def test_default_range_includes_today_with_titled_readable_charts_and_sourceloop_columns(
    ms_app, world, emulator, pulled
) -> None:
    """Issue 12, item 9: the default range ends today (marked partial), each chart carries a
    visible title and axis text drawn at 12 px, and the SourceLoop columns stay when the
    workspace gains a second account."""
    _sourceloop_sale(world, "Brand - US", "120.00")
    multitouch.run(world.workspace_id)
    member = client_as(ms_app, "member")
    html = member.get(f"/w/{world.workspace_id}/insights/").get_data(as_text=True)
    today = utcnow().date()
    assert f'name="to" value="{today.isoformat()}"' in html
    assert 'data-testid="partial-note"' in html and "which is partial" in html
    charts = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(charts) == 3
    for chart, title in zip(
        charts, ("Daily spend (USD)", "Daily clicks", "Daily impressions"), strict=True
    ):
        assert '<text class="chart-title"' in chart and f">{title}</text>" in chart
        assert 'width="440"' in chart  # drawn at its pixel size, so font sizes are real
        axis = re.findall(r'<text class="chart-axis [xy]"[^>]*font-size="(\d+)"', chart)
        assert len(axis) >= 5 and all(int(size) >= 12 for size in axis)
    assert "SourceLoop conv." in html and 'data-testid="total-sl-conversions">1.00<' in html
    connect(ms_app, world, emulator, "80000012")
    later = member.get(f"/w/{world.workspace_id}/insights/").get_data(as_text=True)
    table = later.split('data-testid="table-80000011"')[1].split("</table>")[0]
    assert "SourceLoop conv." in table
    brand = re.search(r'<tr data-entity="50000111">(.*?)</tr>', table, re.S).group(1)
    assert "$120.00" in brand  # joined by campaign, with two accounts too
