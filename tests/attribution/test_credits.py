"""Stored credits: computed once per conversion, redone on value changes and settings changes,
campaigns resolved to pulled Microsoft campaigns, sums exact in the database."""

from __future__ import annotations

from datetime import date

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
