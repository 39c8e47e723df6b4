"""The attribution pages: models side by side, cost and ROAS from pulled spend, the journey with
each touch's credit, settings for Admins and Owners only, and bad input answered with a 4xx."""

from __future__ import annotations

from datetime import date

from tests.conftest import csrf_token
from tests.helpers import attribution_data as data
from webapp.attribution import credits as multitouch


def seed(ws: int) -> int:
    data.microsoft_campaign(ws, "50000111", "Brand - US", {date(2026, 2, 27): "25.00"})
    v = data.visitor(ws)
    data.touch(ws, v, 20, "organic_search")
    data.touch(ws, v, 2, "microsoft_ads", "Brand - US", click_id="d" * 32)
    data.touch(ws, v, 1, "direct")
    conversion = data.conversion(ws, v, "100.00", external_id="o1")
    multitouch.run(ws)
    return conversion


def test_report_puts_models_side_by_side_with_cost_and_roas(app, world, login_as) -> None:
    seed(world.workspace_id)
    page = login_as("member").get(
        f"/w/{world.workspace_id}/attribution/?start=2026-02-01&end=2026-03-31"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "<script" not in html.split("</head>")[1]
    # first touch: all to organic search; last non-direct: all to Microsoft; linear: a third each
    assert "Organic search: 100.00" in html.replace(" · First touch", "")
    assert "Microsoft Ads · Last non-direct: 100.00" in html
    assert "Microsoft Ads · Linear: 33.33" in html
    # Brand - US cost 25.00; ROAS under last non-direct = 100 / 25
    row = html[html.index('data-testid="campaign-table"') :]
    row = row[row.index("Brand - US") : row.index("</tr>", row.index("Brand - US"))]
    assert "$25.00" in row and "4.00" in row and "1.33" in row


def test_journey_shows_each_touch_with_its_credit(app, world, login_as) -> None:
    conversion = seed(world.workspace_id)
    client = login_as("member")
    html = client.get(
        f"/w/{world.workspace_id}/attribution/conversions/{conversion}?model=time_decay"
    ).get_data(as_text=True)
    assert html.count("<circle") == 3 and "33.34" in html and "100.00" in html
    assert (
        client.get(
            f"/w/{world.workspace_id}/attribution/conversions/{conversion}?model=nope"
        ).status_code
        == 400
    )
    other = login_as("other_admin")
    assert (
        other.get(f"/w/{world.other_workspace_id}/attribution/conversions/{conversion}").status_code
        == 404
    )


def test_bad_dates_are_a_400_not_a_500(app, world, login_as) -> None:
    client = login_as("member")
    for query in (
        "start=yesterday",
        "start=2026-03-02&end=2026-03-01",
        "start=2020-01-01&end=2026-01-01",
    ):
        assert client.get(f"/w/{world.workspace_id}/attribution/?{query}").status_code == 400


def test_settings_form_validates_and_saves(app, world, login_as, redis) -> None:
    client = login_as("admin")
    path = f"/w/{world.workspace_id}/attribution/settings"
    token = csrf_token(client, path)
    bad = client.post(path, data={"csrf_token": token, "lookback_days": "0", "half_life_days": "7",
                                  "external_model": "linear"})  # fmt: skip
    assert bad.status_code == 400 and "field-error" in bad.get_data(as_text=True)
    good = client.post(path, data={"csrf_token": token, "lookback_days": "30",
                                   "half_life_days": "3", "external_model": "time_decay"})  # fmt: skip
    assert good.status_code == 303
    html = client.get(path).get_data(as_text=True)
    assert 'value="30"' in html and 'selected value="time_decay"' in html
    member_view = login_as("member").get(path).get_data(as_text=True)
    assert (
        "Only Admins and Owners" in member_view
        and '<form method="post" action="' + path not in member_view
    )


def test_attribution_opens_in_the_workspace_currency(app, world, login_as) -> None:
    """CRM deals without a currency outnumber the rest: the report still opens in the workspace's
    currency (its first connected account's, or its setting), so revenue shows at once."""
    from webapp.extensions import db
    from webapp.models import Connection, Workspace

    ws = world.workspace_id
    connection_id = data.microsoft_campaign(ws, "50000111", "Brand - US", {})
    db.session.get(Connection, connection_id).currency = "EUR"
    db.session.commit()
    v = data.visitor(ws)
    for n in range(3):
        data.conversion(ws, v, "10.00", external_id=f"crm{n}", currency=None)
    data.conversion(ws, v, "80.00", external_id="eur1", currency="EUR")
    data.conversion(ws, v, "5.00", external_id="usd1", currency="USD")
    multitouch.run(ws)
    member = login_as("member")
    url = f"/w/{ws}/attribution/?start=2026-02-01&end=2026-03-31"
    html = member.get(url).get_data(as_text=True)
    assert '<option value="EUR" selected' in html and "€80.00" in html
    owner = login_as("owner")
    token = csrf_token(owner, f"/w/{ws}/setup/workspace/")
    saved = owner.post(
        f"/w/{ws}/setup/workspace/currency", data={"currency": "usd", "csrf_token": token}
    )
    assert saved.status_code == 303 and db.session.get(Workspace, ws).default_currency == "USD"
    assert '<option value="USD" selected' in member.get(url).get_data(as_text=True)
    bad = owner.post(
        f"/w/{ws}/setup/workspace/currency", data={"currency": "ZZZ", "csrf_token": token}
    )
    assert bad.status_code == 400 and "not an ISO 4217" in bad.get_data(as_text=True)


def test_an_unattributed_journey_says_why(app, world, login_as) -> None:
    from webapp.extensions import db
    from webapp.models import Visitor

    ws = world.workspace_id
    no_visitor = data.conversion(ws, None, "5.00", external_id="crm-1")
    quiet = data.conversion(ws, data.visitor(ws, "quiet"), "5.00", external_id="o-2")
    old = data.visitor(ws, "old")
    data.touch(ws, old, 200, "email")
    too_old = data.conversion(ws, old, "5.00", external_id="o-3")
    refused = data.visitor(ws, "refused")
    db.session.get(Visitor, refused).consent_state = "denied"
    db.session.commit()
    denied = data.conversion(ws, refused, "5.00", external_id="o-4")
    sent_click = data.conversion(ws, None, "70.00", external_id="crm-5", msclkid="q" * 32)
    multitouch.run(ws)
    member = login_as("member")

    def page(conversion_id: int) -> str:
        return member.get(f"/w/{ws}/attribution/conversions/{conversion_id}").get_data(True)

    for conversion_id, reason in (
        (no_visitor, "no_visitor"),
        (quiet, "no_visit"),
        (too_old, "outside_lookback"),
        (denied, "consent"),
    ):
        html = page(conversion_id)
        assert f'data-reason="{reason}"' in html, reason
    assert "more than 90 days before" in page(too_old)
    # A click id sent with the conversion: a Microsoft touch, not unattributed.
    html = page(sent_click)
    assert 'data-testid="click-touch"' in html and "unattributed-why" not in html
    assert "$70.00" in html


def test_the_conversion_page_names_each_touch_channel_in_words(app, world, login_as) -> None:
    conversion = seed(world.workspace_id)
    html = login_as("member").get(f"/w/{world.workspace_id}/conversions/{conversion}")
    assert html.status_code == 200
    journey = html.get_data(as_text=True).split("Journey", 1)[1]
    for words, key in (("Organic search", "organic_search"), ("Microsoft Ads", "microsoft_ads")):
        assert f"<td>{words}</td>" in journey and f"<td>{key}</td>" not in journey
