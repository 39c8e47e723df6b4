"""The cross-platform table (webapp.attribution.by_platform) with two platforms: Microsoft and the
example plugin (tests/plugins/example_ads), which the host knows only through the registry.

Its figures are computed once and every page reads them: each platform row equals the sum of the
per-account figures Insights shows for that platform, each total equals the sum of its rows, and
SourceLoop's conversions and revenue per platform equal Attribution's channel rows for the same
model. Hand-made data, so the expected numbers are written out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask

from config import load_settings
from tests.conftest import _empty_tables, client_as, make_world, test_environ
from tests.fake_platform import FakePlatform
from tests.helpers import attribution_data as data
from tests.plugins.example_ads.plugin import ExampleAdsPlatform
from webapp.attribution import by_platform, reports
from webapp.attribution import credits as multitouch
from webapp.extensions import db
from webapp.insights import reports as insights_report
from webapp.models import AdClick, AdEntity, Connection, ConversionClickId, InsightDaily

START, END = date(2026, 2, 1), date(2026, 3, 31)
DAY = date(2026, 2, 27)


@pytest.fixture
def two_platform_app(_migrated: str, redis_url: str) -> Iterator[Flask]:
    from webapp.factory import create_app

    settings = load_settings(test_environ(_migrated, redis_url))
    app = create_app(settings, extra_platforms=[FakePlatform, ExampleAdsPlatform])
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()


@pytest.fixture
def world(two_platform_app):
    return make_world()


def account(ws: int, platform: str, account_id: str, currency: str, campaigns: dict) -> int:
    """A connection with pulled campaigns: {entity id: (name, spend, clicks, conversions, revenue)}."""
    conn = Connection(workspace_id=ws, platform_key=platform, account_id=account_id,
                      account_name=f"{platform} {account_id}", currency=currency)  # fmt: skip
    db.session.add(conn)
    db.session.flush()
    for entity_id, (name, spend, clicks, conversions, revenue) in campaigns.items():
        db.session.add(AdEntity(connection_id=conn.id, level="campaign", entity_id=entity_id,
                                name=name))  # fmt: skip
        db.session.add(InsightDaily(
            connection_id=conn.id, level="campaign", entity_id=entity_id, day=DAY,
            impressions=clicks * 10, clicks=clicks, spend=Decimal(spend), currency=currency,
            conversions=Decimal(conversions), revenue=Decimal(revenue),
        ))  # fmt: skip
    db.session.commit()
    return conn.id


def example_touch(ws: int, visitor: int, campaign: str, click_id: str) -> None:
    from webapp.models import Touchpoint

    touch = Touchpoint(workspace_id=ws, visitor_id=visitor, occurred_at=data.T0 - timedelta(days=1),
                       channel="example_ads", campaign=campaign, utm={"utm_campaign": campaign},
                       click_param="exclid", click_id=click_id)  # fmt: skip
    db.session.add(touch)
    db.session.flush()
    db.session.add(AdClick(workspace_id=ws, visitor_id=visitor, touchpoint_id=touch.id,
                           click_param="exclid", click_id=click_id,
                           clicked_at=touch.occurred_at))  # fmt: skip
    db.session.commit()


def seed(ws: int) -> dict[str, int]:
    ms_a = account(ws, "microsoft_ads", "A", "USD", {
        "11": ("Brand - US", "40.00", 100, "3", "300.00"),
        "12": ("Generic", "10.00", 50, "1", "20.00"),
    })  # fmt: skip
    ms_b = account(ws, "microsoft_ads", "B", "USD", {"21": ("Other", "50.00", 30, "0", "0")})
    ex_usd = account(ws, "example_ads", "X1", "USD", {"31": ("Spring", "25.00", 20, "2", "90")})
    ex_eur = account(ws, "example_ads", "X2", "EUR", {"41": ("Herbst", "8.00", 5, "1", "30")})
    for group_id, name in (("111", "Tents"), ("112", "Boots")):
        db.session.add(AdEntity(connection_id=ms_a, level="ad_group", entity_id=group_id,
                                parent_id="11", name=name))  # fmt: skip
    db.session.commit()
    v = data.visitor(ws, "ms-brand")
    data.touch(ws, v, 2, "microsoft_ads", "Brand - US", click_id="a" * 32,
               utm={"utm_campaign": "Brand - US", "utm_content": "Tents"})  # fmt: skip
    data.conversion(ws, v, "100.00", external_id="ms-1")  # Microsoft, Brand - US (account A)
    v = data.visitor(ws, "ms-unknown")
    data.touch(ws, v, 2, "microsoft_ads", "", click_id="b" * 32)
    data.conversion(ws, v, "30.00", external_id="ms-2")  # Microsoft, campaign not known
    v = data.visitor(ws, "mixed")
    data.touch(ws, v, 3, "organic_search")
    example_touch(ws, v, "Spring", "exSPRING1")
    data.conversion(ws, v, "60.00", external_id="mix-3")  # half organic, half Example Spring
    crm = data.conversion(ws, None, "50.00", external_id="crm-4")  # an exclid, no visit
    db.session.add(ConversionClickId(conversion_id=crm, click_param="exclid", click_id="exCRM42"))
    db.session.commit()
    v = data.visitor(ws, "eur")
    example_touch(ws, v, "Herbst", "exHERBST1")
    data.conversion(ws, v, "40.00", external_id="eur-5", currency="EUR")
    data.conversion(ws, None, "20.00", external_id="none-6")  # no touch at all
    multitouch.run(ws)
    return {"ms_a": ms_a, "ms_b": ms_b, "ex_usd": ex_usd, "ex_eur": ex_eur}


def test_cross_platform_rows_are_the_sum_of_the_per_account_pages(two_platform_app, world) -> None:
    ws = world.workspace_id
    ids = seed(ws)
    cross = by_platform.cross_platform(ws, START, END, "linear")
    got = {(r.platform_key, r.currency): r for r in cross.rows}
    assert set(got) == {("microsoft_ads", "USD"), ("example_ads", "USD"), ("example_ads", "EUR")}
    ms, ex, ex_eur = (
        got["microsoft_ads", "USD"],
        got["example_ads", "USD"],
        got["example_ads", "EUR"],
    )
    assert (ms.label, ms.accounts, ms.spend, ms.clicks) == (
        "Microsoft Ads",
        2,
        Decimal("100.00"),
        180,
    )
    assert (ms.platform_conversions, ms.platform_revenue) == (Decimal(4), Decimal("320.00"))
    assert (ms.sl_conversions, ms.sl_revenue, ms.roas) == (Decimal(2), Decimal(130), Decimal("1.3"))
    # Example, USD: half of the mixed journey (30) and the CRM deal sent with an exclid (50).
    assert (ex.label, ex.spend, ex.sl_conversions, ex.sl_revenue) == (
        "Example Ads", Decimal("25.00"), Decimal("1.5"), Decimal(80)
    )  # fmt: skip
    assert ex.roas == Decimal("3.2")
    assert (ex_eur.spend, ex_eur.sl_conversions, ex_eur.sl_revenue) == (Decimal(8), 1, Decimal(40))
    # Totals per currency = the sum of the rows; money in two currencies is never added.
    usd = cross.totals["USD"]
    assert (usd.spend, usd.clicks, usd.sl_conversions, usd.sl_revenue) == (
        Decimal(125), 200, Decimal("3.5"), Decimal(210)
    )  # fmt: skip
    assert cross.totals["EUR"].sl_revenue == Decimal(40) and set(cross.totals) == {"USD", "EUR"}

    # Insights' per-account figures add up to the row of their platform.
    page = insights_report.dashboard(ws, START, END, model="linear")
    accounts = {a.connection.id: a for a in page.accounts}
    assert page.sole_account == {"microsoft_ads": False, "example_ads": False}
    for row in cross.rows:
        mine = [a for a in page.accounts
                if a.connection.platform_key == row.platform_key and a.currency == row.currency]  # fmt: skip
        assert row.spend == sum((a.totals.spend for a in mine), Decimal(0))
        assert row.clicks == sum(a.totals.clicks for a in mine)
        assert row.platform_conversions == sum((a.totals.conversions for a in mine), Decimal(0))
    # SourceLoop's part: by campaign per account; the credit whose campaign is not known stays
    # with the platform when it has several accounts (a click id does not name its account).
    brand = next(r for r in accounts[ids["ms_a"]].rows if r.entity_id == "11")
    assert (brand.totals.sl_conversions, brand.totals.sl_revenue) == (1, Decimal(100))
    assert accounts[ids["ms_b"]].totals.sl_conversions == 0
    spring = next(r for r in accounts[ids["ex_usd"]].rows if r.entity_id == "31")
    assert spring.totals.sl_revenue == Decimal(30)
    unknown = by_platform.credited(ws, START, END, "linear", ["microsoft_ads", "example_ads"])
    for row in cross.rows:
        mine = [a for a in page.accounts
                if a.connection.platform_key == row.platform_key and a.currency == row.currency]  # fmt: skip
        platform_level = sum(
            (f.conversions for (key, conn, _, cur), f in unknown.items()
             if key == row.platform_key and conn is None and cur == row.currency),
            Decimal(0),
        )  # fmt: skip
        assert row.sl_conversions == sum((a.totals.sl_conversions for a in mine), platform_level)

    # Attribution's "By channel" rows, same model and currency, are the same credits.
    report = reports.report(ws, START, END, "USD")
    channels = {r.channel: r.cells["linear"] for r in report.channels}
    assert channels["microsoft_ads"].revenue == ms.sl_revenue
    assert channels["example_ads"].conversions == ex.sl_conversions
    assert channels["(none)"].revenue == Decimal(20)  # only the conversion with no touch at all


def test_ad_group_rows_add_up_to_their_campaign(two_platform_app, world) -> None:
    ws = world.workspace_id
    ids = seed(ws)
    v = data.visitor(ws, "ms-brand-2")  # Brand - US again, naming no ad group of it
    data.touch(ws, v, 2, "microsoft_ads", "Brand - US", click_id="f" * 32)
    data.conversion(ws, v, "10.00", external_id="ms-7")
    multitouch.run(ws)
    top = insights_report.dashboard(ws, START, END, model="linear")
    brand = next(
        r for a in top.accounts if a.connection.id == ids["ms_a"] for r in a.rows
        if r.entity_id == "11"
    )  # fmt: skip
    assert (brand.totals.sl_conversions, brand.totals.sl_revenue) == (2, Decimal(110))
    drill = insights_report.dashboard(
        ws, START, END, model="linear", connection_id=ids["ms_a"],
        parent_level="campaign", parent_id="11",
    )  # fmt: skip
    (page,) = drill.accounts
    groups = {r.entity_id: r.totals for r in page.rows}
    assert page.level == "ad_group" and set(groups) == {"111", "112"}
    assert (groups["111"].sl_conversions, groups["111"].sl_revenue) == (1, Decimal(100))
    assert groups["112"].sl_conversions == 0 and groups["111"].sl_roas is None  # no ad group spend
    assert page.unattributed.sl_revenue == Decimal(10)  # no ad group named
    assert sum((t.sl_revenue for t in groups.values()), page.unattributed.sl_revenue) == (
        brand.totals.sl_revenue
    )


def test_one_account_per_platform_takes_the_unknown_campaign_credit(
    two_platform_app, world
) -> None:
    ws = world.workspace_id
    ms = account(ws, "microsoft_ads", "A", "USD", {"11": ("Brand - US", "40.00", 10, "1", "0")})
    ex = account(ws, "example_ads", "X1", "USD", {"31": ("Spring", "25.00", 20, "2", "90")})
    v = data.visitor(ws, "ms")
    data.touch(ws, v, 2, "microsoft_ads", "", click_id="c" * 32)
    data.conversion(ws, v, "30.00", external_id="ms-1")
    crm = data.conversion(ws, None, "50.00", external_id="crm-2")
    db.session.add(ConversionClickId(conversion_id=crm, click_param="exclid", click_id="exCRM42"))
    db.session.commit()
    multitouch.run(ws)
    cross = by_platform.cross_platform(ws, START, END)
    page = insights_report.dashboard(ws, START, END)
    for a in page.accounts:
        row = cross.row(a.connection.platform_key, "USD")
        assert (a.totals.sl_conversions, a.totals.sl_revenue) == (
            row.sl_conversions,
            row.sl_revenue,
        )
        assert a.unattributed.sl_conversions == 1
    assert {a.connection.id for a in page.accounts} == {ms, ex}


def test_both_pages_show_the_table_with_every_platform(two_platform_app, world) -> None:
    ws = world.workspace_id
    seed(ws)
    member = client_as(two_platform_app, "member")
    for url in (f"/w/{ws}/insights/?from={START}&to={END}",
                f"/w/{ws}/attribution/?start={START}&end={END}"):  # fmt: skip
        html = member.get(url).get_data(as_text=True)
        table = html.split('data-testid="cross-platform-table"')[1].split("</table>")[0]
        rows = re.findall(r'<tr data-platform="([a-z_]+)" data-currency="([A-Z]*)">', table)
        assert rows == [("example_ads", "EUR"), ("example_ads", "USD"), ("microsoft_ads", "USD")]
        assert "Example Ads" in table and "Microsoft Ads" in table
        usd = re.search(r'<tr data-total="USD">(.*?)</tr>', table, re.S).group(1)
        assert "$125.00" in usd and "$210.00" in usd and "1.68×" in usd
        assert "€40.00" in table and "Linear" in html


def test_an_account_without_a_currency_takes_its_metrics_currency(two_platform_app, world) -> None:
    """The account's details named no currency, its pulled spend is in USD: one USD row, with
    the spend beside the revenue and a ROAS (not a "no currency" row with the spend alone)."""
    ws = world.workspace_id
    data.microsoft_campaign(ws, "50000111", "Brand - US", {date(2026, 2, 27): "25.00"})
    v = data.visitor(ws)
    data.touch(ws, v, 2, "microsoft_ads", "Brand - US", click_id="d" * 32)
    data.conversion(ws, v, "100.00", external_id="o1")
    multitouch.run(ws)
    cross = by_platform.cross_platform(ws, START, END)
    assert [(r.platform_key, r.currency, r.accounts) for r in cross.rows] == [
        ("microsoft_ads", "USD", 1)
    ]
    assert cross.rows[0].roas == 4
    (account,) = insights_report.dashboard(ws, START, END).accounts
    assert account.currency == "USD" and account.totals.sl_revenue == 100


def test_a_conversion_without_a_value_joins_its_platforms_only_currency(
    two_platform_app, world
) -> None:
    ws = world.workspace_id
    seed(ws)
    v = data.visitor(ws, "ms-form")
    data.touch(ws, v, 2, "microsoft_ads", "Brand - US", click_id="c" * 32)
    data.conversion(ws, v, None, external_id="form-7", currency=None)  # a form: no value
    v = data.visitor(ws, "ex-form")
    example_touch(ws, v, "Spring", "exFORM8")
    data.conversion(ws, v, None, external_id="form-8", currency=None)
    multitouch.run(ws)
    cross = by_platform.cross_platform(ws, START, END, "linear")
    got = {(r.platform_key, r.currency): r for r in cross.rows}
    # Microsoft's accounts are all USD: the form counts there, and adds no money.
    assert ("microsoft_ads", "") not in got
    ms = got["microsoft_ads", "USD"]
    assert (ms.sl_conversions, ms.sl_revenue) == (Decimal(3), Decimal(130))
    # Example Ads has USD and EUR accounts: which one the form belongs to is not known.
    assert got["example_ads", ""].sl_conversions == Decimal(1)
    assert got["example_ads", ""].sl_revenue == 0


def test_attribution_says_once_that_conversions_wait_for_the_next_run(
    two_platform_app, world
) -> None:
    ws = world.workspace_id
    seed(ws)
    data.conversion(ws, None, "5.00", external_id="late-9")  # not attributed yet
    client = client_as(two_platform_app, "admin")
    for page in ("attribution", "insights"):
        html = client.get(f"/w/{ws}/{page}/?start={START}&end={END}").get_data(as_text=True)
        assert html.count("wait for the next attribution run") == 1, page
