"""Two platforms side by side in a real browser (Microsoft and the example plugin): the
cross-platform table on Insights and Attribution, readable chart titles and axes on Insights,
the default range ending today (partial), and a CRM deal sent with a click id shown as a paid
touch on its journey while a conversion without any touch says why it is unattributed."""

from __future__ import annotations

import pytest

from tests.attribution.test_by_platform import END, START, seed, two_platform_app, world  # noqa: F401
from tests.e2e.conftest import sign_in
from webapp.extensions import db
from webapp.models import Conversion
from webapp.models.types import utcnow

pytestmark = pytest.mark.e2e


def _cross_rows(page) -> dict[tuple[str, str], dict[str, str]]:
    table = page.get_by_test_id("cross-platform-table")
    assert table.is_visible()
    found = {}
    for row in table.locator("tbody tr").all():
        key = (row.get_attribute("data-platform"), row.get_attribute("data-currency"))
        found[key] = {
            col: row.locator(f'[data-col="{col}"]').inner_text()
            for col in ("spend", "clicks", "sl-conversions", "sl-revenue", "roas")
        }
    return found


def test_cross_platform_table_charts_and_journeys(
    two_platform_app,  # noqa: F811
    world,  # noqa: F811
    live_server,
    page,
    tmp_path,
) -> None:
    ws = world.workspace_id
    seed(ws)
    server = live_server(two_platform_app)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, server.url, "member@example.com")

    # Insights opens on a range that ends today, marked partial.
    page.goto(f"{server.url}/w/{ws}/insights/")
    assert page.locator('input[name="to"]').input_value() == utcnow().date().isoformat()
    assert page.get_by_test_id("partial-note").is_visible()

    page.goto(f"{server.url}/w/{ws}/insights/?from={START}&to={END}")
    on_insights = _cross_rows(page)
    assert on_insights[("microsoft_ads", "USD")] == {
        "spend": "$100.00", "clicks": "180", "sl-conversions": "2.00",
        "sl-revenue": "$130.00", "roas": "1.30×",
    }  # fmt: skip
    assert on_insights[("example_ads", "USD")]["sl-revenue"] == "$80.00"
    assert on_insights[("example_ads", "EUR")]["sl-revenue"] == "€40.00"
    # Every chart: a visible title and axis text of at least 11 px as drawn on the screen.
    charts = page.locator("svg.chart")
    assert charts.count() == 3 * 4
    for i in range(charts.count()):
        chart = charts.nth(i)
        title = chart.locator("text.chart-title")
        assert title.is_visible() and (title.text_content() or "").strip()
        sizes = chart.locator("text.chart-axis").evaluate_all(
            "ts => ts.map(t => t.getBoundingClientRect().height)"
        )
        assert len(sizes) >= 4 and min(sizes) >= 11, sizes
    # The SourceLoop columns are there for every account, with two accounts per platform too.
    for table in page.locator("table.insights-table").all():
        assert "SOURCELOOP CONV." in table.locator("thead").inner_text().upper()
    page.screenshot(path=str(tmp_path / "insights.png"), full_page=True)

    page.goto(f"{server.url}/w/{ws}/attribution/?start={START}&end={END}")
    assert _cross_rows(page) == on_insights  # one computation, two pages
    channels = page.get_by_test_id("channel-table").inner_text().lower()
    assert "example ads" in channels and "microsoft ads" in channels  # in words
    page.screenshot(path=str(tmp_path / "attribution.png"), full_page=True)

    crm = db.session.scalar(select_conversion("crm-4"))
    page.goto(f"{server.url}/w/{ws}/attribution/conversions/{crm}")
    click = page.get_by_test_id("click-touch")
    assert click.is_visible() and "Example Ads" in click.inner_text()
    assert "$50.00" in click.inner_text() and page.get_by_test_id("unattributed-why").count() == 0
    page.screenshot(path=str(tmp_path / "journey-click.png"), full_page=True)
    lonely = db.session.scalar(select_conversion("none-6"))
    page.goto(f"{server.url}/w/{ws}/attribution/conversions/{lonely}")
    why = page.get_by_test_id("unattributed-why")
    assert why.get_attribute("data-reason") == "no_visitor"
    assert "without a visitor id and without a click id" in why.inner_text()
    assert not [e for e in errors if "404" not in e], errors


def select_conversion(external_id: str):
    from sqlalchemy import select

    return select(Conversion.id).where(Conversion.external_id == external_id)
