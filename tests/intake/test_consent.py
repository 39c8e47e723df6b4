"""Consent at intake: /collect records the visitor's consent state and source, holds click ids
back when the workspace requires consent and the hit is not granted, and attaches them to the
page's session when consent arrives; the conversion API's ``consent`` object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.intake.helpers import VISITOR, api_key, bearer, hit, pageview, pixel_key
from webapp.extensions import db
from webapp.intake import tracking
from webapp.models import AdClick, Conversion, Touchpoint, TrackingSettings, Visitor, VisitSession

URL = "https://shop.example.com/?msclkid=abc123"


def require(workspace_id: int) -> str:
    key = pixel_key(workspace_id)
    db.session.get(TrackingSettings, workspace_id).require_consent = True
    db.session.commit()
    tracking.forget_site(key)
    return key


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def visitor() -> Visitor:
    db.session.expire_all()
    return db.session.scalar(select(Visitor).where(Visitor.uid == VISITOR))


def test_consent_state_and_source_are_recorded_and_unknown_keeps_an_earlier_answer(
    client, world
) -> None:
    key = pixel_key(world.workspace_id)
    assert hit(client, key, pageview(URL, c={"msclkid": "abc123"})).status_code == 204
    assert (visitor().consent_state, visitor().consent_source) == ("unknown", "default")
    granted = {"v": VISITOR, "t": "consent", "u": URL, "cs": {"a": "granted", "s": "tcf"}}
    assert hit(client, key, granted).status_code == 204
    assert (visitor().consent_state, visitor().consent_source) == ("granted", "tcf")
    # A later page where nothing has been said yet does not undo it.
    assert hit(client, key, pageview("https://shop.example.com/b")).status_code == 204
    assert (visitor().consent_state, visitor().consent_source) == ("granted", "tcf")
    denied = pageview("https://shop.example.com/c", cs={"a": "denied", "s": "pixel"})
    assert hit(client, key, denied).status_code == 204
    assert (visitor().consent_state, visitor().consent_source) == ("denied", "pixel")
    # Without the setting, click ids are kept whatever the consent (the site decides).
    assert count(AdClick) == 1


@pytest.mark.parametrize(
    "cs", [None, {"a": "unknown", "s": "default"}, {"a": "denied", "s": "tcf"}]
)
def test_required_consent_drops_click_ids_the_hit_carries_without_a_grant(
    client, world, cs
) -> None:
    """An old cached pixel (or a hand-made request) may still send click ids: the server keeps
    the page view and drops them."""
    key = require(world.workspace_id)
    payload = pageview(URL, c={"msclkid": "abc123"}, **({"cs": cs} if cs else {}))
    assert hit(client, key, payload).status_code == 204
    assert count(AdClick) == 0
    assert db.session.scalar(select(Touchpoint.click_id)) is None
    assert count(VisitSession) == 1
    # Nor does the click id survive in the page address.
    for url in (
        db.session.scalars(select(VisitSession.landing_url)).all()
        + db.session.scalars(select(Touchpoint.landing_url)).all()
    ):
        assert url == "https://shop.example.com/"


def test_consent_granted_later_on_the_page_attaches_the_held_click_to_that_session(
    client, world
) -> None:
    key = require(world.workspace_id)
    first = pageview(URL, m={"utm_source": "bing"}, cs={"a": "unknown", "s": "default"})
    assert hit(client, key, first).status_code == 204
    later = {
        "v": VISITOR,
        "t": "consent",
        "u": URL,
        "c": {"msclkid": "abc123"},
        "cs": {"a": "granted", "s": "pixel"},
    }
    assert hit(client, key, later).status_code == 204
    assert count(VisitSession) == 1 and count(Touchpoint) == 1
    touchpoint = db.session.scalar(select(Touchpoint))
    assert (touchpoint.channel, touchpoint.click_param, touchpoint.click_id) == (
        "microsoft_ads",
        "msclkid",
        "abc123",
    )
    click = db.session.scalar(select(AdClick))
    assert click.touchpoint_id == touchpoint.id and click.visitor_id == visitor().id
    assert visitor().consent_state == "granted"
    # The session's hit count is the page views only.
    assert db.session.scalar(select(VisitSession.hits)) == 1


@pytest.mark.parametrize(
    "cs",
    [
        "granted",
        {"a": "yes"},
        {"a": "granted", "s": "api"},
        {"a": "granted", "x": 1},
        [],
    ],
)
def test_malformed_consent_is_refused(client, world, cs) -> None:
    key = pixel_key(world.workspace_id)
    response = hit(client, key, pageview(URL, cs=cs))
    assert response.status_code == 400
    assert count(Visitor) == 0


def test_pixel_events_carry_the_hits_consent(client, world) -> None:
    key = pixel_key(world.workspace_id)
    payload = {
        "v": VISITOR,
        "t": "event",
        "u": URL,
        "e": "form_submitted",
        "id": "evt_0123456789",
        "p": {},
        "cs": {"a": "denied", "s": "pixel"},
    }
    assert hit(client, key, payload).status_code == 204
    conversion = db.session.scalar(select(Conversion))
    assert (conversion.consent_state, conversion.consent_source) == ("denied", "pixel")


def _row(external_id: str, **extra) -> dict:
    return {
        "event": "payment_received",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "external_id": external_id,
        "email": "jane@example.com",
        **extra,
    }


def test_the_conversion_api_takes_a_consent_object(client, world) -> None:
    token = api_key(world.workspace_id)
    given = client.post(
        "/api/v1/conversions",
        json=_row("o-1", consent={"ad_storage": "granted"}),
        headers=bearer(token),
    )
    assert given.status_code == 201, given.json
    assert given.json["conversion"]["consent"] == {"ad_storage": "granted", "source": "api"}
    silent = client.post("/api/v1/conversions", json=_row("o-2"), headers=bearer(token))
    assert silent.json["conversion"]["consent"] == {"ad_storage": "unknown", "source": "default"}
    for bad in ({"ad_storage": "maybe"}, "granted", {"ad_storage": "granted", "ad_user_data": 1}):
        response = client.post(
            "/api/v1/conversions", json=_row("o-3", consent=bad), headers=bearer(token)
        )
        assert response.status_code == 422, response.json
        fields = [e["field"] for e in response.json["error"]["errors"]]
        assert fields == ["consent"]
    assert count(Conversion) == 2
