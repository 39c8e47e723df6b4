"""Stored credits: computed once per conversion, redone on value changes and settings changes,
campaigns resolved to pulled Microsoft campaigns, sums exact in the database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from tests.helpers import attribution_data as data
from webapp.attribution import credits as multitouch
from webapp.attribution import settings as multitouch_settings
from webapp.extensions import db
from webapp.models import AttributionCredit, AuditEvent, Membership


def credits(conversion_id: int, model: str) -> dict[str, int]:
    rows = db.session.execute(
        select(AttributionCredit.channel, AttributionCredit.value_e4).where(
            AttributionCredit.conversion_id == conversion_id, AttributionCredit.model == model
        )
    )
    return dict(rows.all())


def test_run_attributes_new_conversions_only_and_redoes_adjusted_ones(app, world) -> None:
    ws = world.workspace_id
    v = data.visitor(ws)
    data.touch(ws, v, 10, "organic_search")
    data.touch(ws, v, 2, "microsoft_ads", "Brand - US", click_id="a" * 32)
    first = data.conversion(ws, v, "100.00", external_id="o1")
    assert multitouch.run(ws) == 1
    assert credits(first, "linear") == {"organic_search": 500_000, "microsoft_ads": 500_000}
    assert credits(first, "first_touch") == {"organic_search": 1_000_000}
    assert multitouch.run(ws) == 0  # nothing new

    second = data.conversion(ws, None, "5.00", external_id="o2")  # no visitor: unattributed
    assert multitouch.run(ws) == 1
    assert credits(second, "time_decay") == {"(none)": 50_000}

    data.adjust(ws, first, "40.00", "r1")
    assert multitouch.run(ws) == 1
    assert credits(first, "linear") == {"organic_search": 200_000, "microsoft_ads": 200_000}
    # one row per conversion × model × credited touch, shares summing to one conversion
    per_model = db.session.execute(
        select(AttributionCredit.model, func.sum(AttributionCredit.conversions_e6))
        .where(AttributionCredit.conversion_id == first)
        .group_by(AttributionCredit.model)
    ).all()
    assert len(per_model) == 6 and all(total == 1_000_000 for _, total in per_model)


def test_settings_change_is_audited_and_recomputes_everything(app, world) -> None:
    ws = world.workspace_id
    v = data.visitor(ws)
    data.touch(ws, v, 30, "email")
    data.touch(ws, v, 1, "direct")
    c = data.conversion(ws, v, "10.00", external_id="o1")
    multitouch.run(ws)
    assert credits(c, "first_touch") == {"email": 100_000}
    admin = db.session.get(Membership, world.memberships["admin"])
    multitouch_settings.update(
        admin, lookback_days="7", half_life_days="3", external_model="linear"
    )
    assert multitouch.run(ws) == 1
    assert credits(c, "first_touch") == {"direct": 100_000}  # the email is now outside 7 days
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.workspace_id == ws))
    assert event.action == "attribution.settings_changed"
    assert event.details["before"]["lookback_days"] == 90


def test_settings_are_validated_and_kept_from_members(app, world) -> None:
    import pytest

    from webapp.common.errors import Forbidden, ServiceError

    member = db.session.get(Membership, world.memberships["member"])
    owner = db.session.get(Membership, world.memberships["owner"])
    with pytest.raises(Forbidden):
        multitouch_settings.update(
            member, lookback_days=30, half_life_days=7, external_model="linear"
        )
    for bad in ({"lookback_days": "0"}, {"lookback_days": "x"}, {"half_life_days": "500"}):
        args = {"lookback_days": 30, "half_life_days": 7, "external_model": "linear", **bad}
        with pytest.raises(ServiceError):
            multitouch_settings.update(owner, **args)
    with pytest.raises(ServiceError):
        multitouch_settings.update(owner, lookback_days=30, half_life_days=7, external_model="x")


def test_microsoft_touches_map_to_pulled_campaigns(app, world) -> None:
    ws = world.workspace_id
    conn = data.microsoft_campaign(ws, "50000111", "Brand - US", {date(2026, 3, 1): "20.00"})
    v = data.visitor(ws)
    by_id = data.touch(
        ws, v, 3, "microsoft_ads", "renamed", utm={"utm_id": "50000111"}, click_id="b" * 32
    )
    by_name = data.touch(ws, v, 2, "microsoft_ads", "brand - us", click_id="c" * 32)
    other = data.touch(ws, v, 1, "email", "Brand - US")  # not a Microsoft touch: name only
    c = data.conversion(ws, v, "30.00", external_id="o1")
    multitouch.run(ws)
    rows = {
        r.touchpoint_id: (r.campaign, r.connection_id, r.campaign_entity_id)
        for r in db.session.scalars(
            select(AttributionCredit).where(
                AttributionCredit.conversion_id == c, AttributionCredit.model == "linear"
            )
        )
    }
    assert rows[by_id] == ("Brand - US", conn, "50000111")
    assert rows[by_name] == ("Brand - US", conn, "50000111")
    assert rows[other] == ("Brand - US", None, None)


def test_a_click_id_sent_without_a_captured_visit_is_a_paid_touch(app, world) -> None:
    """A CRM deal that carries an msclkid is credited to Microsoft, not "(none)": to the click's
    campaign when SourceLoop captured that click's landing (for another visitor id), else to the
    platform with the campaign not set. Only a conversion with no touch at all stays "(none)"."""
    from webapp.models import AdClick, Touchpoint

    ws = world.workspace_id
    conn = data.microsoft_campaign(ws, "50000111", "Brand - US", {date(2026, 3, 1): "20.00"})
    browser = data.visitor(ws, "browser")
    landing = data.touch(
        ws, browser, 4, "microsoft_ads", "Brand - US", utm={"utm_id": "50000111"},
        click_id="k" * 32,
    )  # fmt: skip
    clicked_at = db.session.get(Touchpoint, landing).occurred_at
    db.session.add(AdClick(workspace_id=ws, visitor_id=browser, touchpoint_id=landing,
                           click_param="msclkid", click_id="k" * 32, clicked_at=clicked_at))  # fmt: skip
    db.session.commit()
    crm_known = data.conversion(ws, None, "500.00", external_id="deal-1", msclkid="k" * 32)
    crm_unknown = data.conversion(ws, None, "70.00", external_id="deal-2", msclkid="u" * 32)
    organic = data.visitor(ws, "organic")
    data.touch(ws, organic, 1, "organic_search")
    both = data.conversion(ws, organic, "10.00", external_id="o-3", msclkid="z" * 32)
    nothing = data.conversion(ws, None, "5.00", external_id="o-4")
    multitouch.run(ws)

    def rows(conversion_id: int) -> list[tuple]:
        return db.session.execute(
            select(AttributionCredit.channel, AttributionCredit.campaign,
                   AttributionCredit.connection_id, AttributionCredit.touchpoint_id,
                   AttributionCredit.value_e4)
            .where(AttributionCredit.conversion_id == conversion_id,
                   AttributionCredit.model == "linear")
            .order_by(AttributionCredit.channel)
        ).all()  # fmt: skip

    assert rows(crm_known) == [("microsoft_ads", "Brand - US", conn, landing, 5_000_000)]
    assert rows(crm_unknown) == [("microsoft_ads", "(not set)", None, None, 700_000)]
    # The sent click (time unknown: at the conversion) and the visitor's organic visit share it.
    assert [(r[0], r[4]) for r in rows(both)] == [
        ("microsoft_ads", 50_000),
        ("organic_search", 50_000),
    ]
    assert rows(nothing) == [("(none)", "", None, None, 50_000)]


def test_a_sent_click_older_than_the_lookback_does_not_count(app, world) -> None:
    from webapp.models import AdClick

    ws = world.workspace_id
    browser = data.visitor(ws, "browser")
    landing = data.touch(ws, browser, 120, "microsoft_ads", "Old", click_id="o" * 32)
    db.session.add(AdClick(workspace_id=ws, visitor_id=browser, touchpoint_id=landing,
                           click_param="msclkid", click_id="o" * 32,
                           clicked_at=data.T0 - timedelta(days=120)))  # fmt: skip
    db.session.commit()
    c = data.conversion(ws, None, "9.00", external_id="late", msclkid="o" * 32)
    multitouch.run(ws)
    assert credits(c, "linear") == {"(none)": 90_000}


def test_auto_tagged_ad_group_name_joins_the_campaign_when_the_name_does_not(app, world) -> None:
    """utm_campaign renamed since the click, no utm_id: the ad group name (utm_content) still
    names one pulled ad group, so the touch joins its campaign; a name two campaigns share
    does not decide."""
    from webapp.models import AdEntity

    ws = world.workspace_id
    conn = data.microsoft_campaign(ws, "50000111", "Brand - US", {date(2026, 3, 1): "20.00"})
    db.session.add_all([
        AdEntity(connection_id=conn, level="campaign", entity_id="50000112", name="Generic"),
        AdEntity(connection_id=conn, level="ad_group", entity_id="41", parent_id="50000111",
                 name="Tents"),
        AdEntity(connection_id=conn, level="ad_group", entity_id="42", parent_id="50000111",
                 name="Shared"),
        AdEntity(connection_id=conn, level="ad_group", entity_id="43", parent_id="50000112",
                 name="Shared"),
    ])  # fmt: skip
    db.session.commit()
    v = data.visitor(ws)
    tents = data.touch(ws, v, 2, "microsoft_ads", "old name",
                       utm={"utm_campaign": "old name", "utm_content": "tents"}, click_id="t" * 32)  # fmt: skip
    shared = data.touch(ws, v, 1, "microsoft_ads", "old name",
                        utm={"utm_campaign": "old name", "utm_content": "Shared"}, click_id="s" * 32)  # fmt: skip
    c = data.conversion(ws, v, "30.00", external_id="o1")
    multitouch.run(ws)
    found = {
        touch: (campaign, group)
        for touch, campaign, group in db.session.execute(
            select(
                AttributionCredit.touchpoint_id,
                AttributionCredit.campaign_entity_id,
                AttributionCredit.ad_group_entity_id,
            ).where(AttributionCredit.conversion_id == c, AttributionCredit.model == "linear")
        )
    }
    assert found == {tents: ("50000111", "41"), shared: (None, None)}
    # By campaign id, the ad group name picks the campaign's own ad group of that name.
    v2 = data.visitor(ws, "v2")
    by_id = data.touch(ws, v2, 1, "microsoft_ads", "x",
                       utm={"utm_id": "50000112", "utm_content": "Shared"}, click_id="i" * 32)  # fmt: skip
    c2 = data.conversion(ws, v2, "10.00", external_id="o2")
    multitouch.run(ws)
    row = db.session.execute(
        select(AttributionCredit.touchpoint_id, AttributionCredit.campaign_entity_id,
               AttributionCredit.ad_group_entity_id)
        .where(AttributionCredit.conversion_id == c2, AttributionCredit.model == "linear")
    ).one()  # fmt: skip
    assert tuple(row) == (by_id, "50000112", "43")


def test_stored_credits_match_the_reference_allocator_on_a_mixed_fixture(app, world) -> None:
    """Every stored credit column, on journeys of every shape (many touches, direct only, one,
    two, none in the window, no visitor, four-decimal and zero-decimal currencies, an
    adjustment, a resolved Microsoft campaign), equals what the general allocator gives
    (``split_reference``, no shortcuts) mapped to the columns by hand: the job's fast row
    building may not move a value into another column or another touch."""
    from webapp.attribution.campaigns import CampaignResolver
    from webapp.attribution.engine import split_reference
    from webapp.attribution.journey import Settings, Touch, in_window
    from webapp.attribution.money import places_for, to_units
    from webapp.models import Conversion, Touchpoint

    ws = world.workspace_id
    data.microsoft_campaign(ws, "50000111", "Brand - US", {date(2026, 3, 1): "20.00"})
    channels = ["email", "direct", "microsoft_ads", "organic_search", "referral", "direct"]
    values = ["100.00", "0.01", "12345.6789", "7", "0", None, "99.99", "1000"]
    currencies = ["USD", "JPY", "KWD", "EUR"]
    conversions = []
    for n in range(16):  # 0 .. 15 touches, some outside the 90-day window
        v = data.visitor(ws, f"v{n}")
        for k in range(n):
            channel = "direct" if n == 5 else channels[(n + k) % len(channels)]
            campaign = "Brand - US" if channel == "microsoft_ads" and k % 2 else f"C{k % 3}"
            data.touch(ws, v, 1 + (k * 13) % 120, channel, campaign if channel != "direct" else "")
        conversions.append(
            data.conversion(ws, v, values[n % len(values)], external_id=f"o{n}",
                            currency=currencies[n % len(currencies)])
        )  # fmt: skip
    conversions.append(data.conversion(ws, None, "5.00", external_id="nobody"))
    data.adjust(ws, conversions[3], "40.00", "r1")
    assert multitouch.run(ws) == len(conversions)

    setup, resolver = Settings(), CampaignResolver(ws)
    expected = []
    for cid in conversions:
        c = db.session.get(Conversion, cid)
        value, currency = c.value, c.currency
        if cid == conversions[3]:
            value, currency = Decimal("40.00"), "USD"
        value = value or Decimal(0)
        places = places_for(value, currency)
        rows = db.session.scalars(
            select(Touchpoint).where(Touchpoint.visitor_id == c.visitor_id)
        ).all() if c.visitor_id else []  # fmt: skip
        by_id = {t.id: t for t in rows}
        window = in_window(
            [Touch(t.occurred_at, t.channel, t.id) for t in rows], c.occurred_at, setup.lookback
        )
        for model, i, money, share in split_reference(window, to_units(value, places), setup):
            if i < 0:
                touch_id, channel, label, conn, entity = None, "(none)", "", None, None
            else:
                t = by_id[window[i].id]
                found = resolver.resolve(t.channel, t.campaign, t.utm.get("utm_id"))
                touch_id, channel = t.id, t.channel
                label, conn, entity = found.label, found.connection_id, found.entity_id
            expected.append((cid, model, touch_id, channel, label, conn, entity, currency,
                             money * 10 ** (4 - places), share))  # fmt: skip
    stored = db.session.execute(
        select(AttributionCredit.conversion_id, AttributionCredit.model,
               AttributionCredit.touchpoint_id, AttributionCredit.channel,
               AttributionCredit.campaign, AttributionCredit.connection_id,
               AttributionCredit.campaign_entity_id, AttributionCredit.currency,
               AttributionCredit.value_e4, AttributionCredit.conversions_e6)
    ).all()  # fmt: skip

    def key(row):
        return tuple((x is None, x) for x in row)

    assert sorted(map(tuple, stored), key=key) == sorted(expected, key=key)
    assert any(e[5] is not None for e in expected)  # a campaign was resolved
    assert {e[7] for e in expected} >= {"USD", "JPY", "KWD", "EUR"}
