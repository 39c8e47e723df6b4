"""Click ids belong to plugins: the pixel captures exactly the parameters the installed plugins
declare, intake stores (parameter, id) pairs, and the conversion API takes ``click_ids`` (plus
any declared parameter as a top-level field, as ``msclkid`` was before)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.intake.helpers import bearer, hit, pageview, pixel_key
from tests.plugins.example_ads.plugin import ExampleAdsPlatform
from webapp.extensions import db
from webapp.models import AdClick, Conversion, ConversionClickId, Touchpoint

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def with_example(app):
    """The test app (Microsoft Ads + the fake platform) with the example plugin installed too,
    registered before anything read the registry."""
    app.extensions["platforms"].register(ExampleAdsPlatform())
    return app


def capture_list(body: bytes) -> list[str]:
    match = re.search(rb"var CLICK = (\[[^\]]*\]);", body)
    assert match, "t.js has no capture list"
    return json.loads(match.group(1))


def test_the_pixel_captures_the_declared_click_ids_and_nothing_else(with_example, client) -> None:
    body = client.get("/t.js").data
    assert capture_list(body) == ["msclkid", "gclid", "gbraid", "wbraid", "fakeclid", "exclid"]
    assert b"/*CLICK_PARAMS*/" not in body and b"fbclid" not in body


def test_a_conditional_get_of_the_pixel_is_answered_304(client) -> None:
    first = client.get("/t.js")
    again = client.get("/t.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_collect_records_a_plugins_own_click_id_and_its_channel(
    with_example, client, world
) -> None:
    key = pixel_key(world.workspace_id)
    url = "https://shop.example.com/?exclid=exAbc123&fbclid=undeclared"
    response = hit(client, key, pageview(url, c={"exclid": "exAbc123", "fbclid": "undeclared"}))
    assert response.status_code == 204, response.data
    click = db.session.scalar(select(AdClick))
    assert (click.click_param, click.click_id) == ("exclid", "exAbc123")
    assert db.session.scalar(select(AdClick).where(AdClick.click_param == "fbclid")) is None
    touchpoint = db.session.scalar(select(Touchpoint))
    assert (touchpoint.channel, touchpoint.click_param) == ("example_ads", "exclid")


def test_collect_refuses_a_click_id_that_breaks_its_plugins_format(
    with_example, client, world
) -> None:
    key = pixel_key(world.workspace_id)
    response = hit(client, key, pageview("https://shop.example.com/", c={"exclid": "nope"}))
    assert response.status_code == 400
    assert "exclid" in response.json["error"]["message"]


def row(external_id: str, **extra) -> dict:
    return {
        "event": "payment_received",
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
        "external_id": external_id,
        **extra,
    }


@pytest.fixture
def key(world) -> str:
    from tests.intake.helpers import api_key

    return api_key(world.workspace_id)


def pairs(conversion_id: int) -> dict[str, str]:
    rows = db.session.scalars(
        select(ConversionClickId).where(ConversionClickId.conversion_id == conversion_id)
    )
    return {r.click_param: r.click_id for r in rows}


def test_the_api_takes_click_ids_as_pairs_and_msclkid_as_before(with_example, client, key) -> None:
    both = client.post(
        "/api/v1/conversions",
        json=row("pairs", click_ids={"exclid": "exFromCrm1", "msclkid": "ms-from-crm"}),
        headers=bearer(key),
    )
    assert both.status_code == 201, both.json
    body = both.json["conversion"]
    assert body["click_ids"] == {"exclid": "exFromCrm1", "msclkid": "ms-from-crm"}
    assert pairs(body["id"]) == {"exclid": "exFromCrm1", "msclkid": "ms-from-crm"}
    legacy = client.post(
        "/api/v1/conversions", json=row("legacy", msclkid="ms-legacy"), headers=bearer(key)
    )
    assert legacy.status_code == 201, legacy.json
    assert pairs(legacy.json["conversion"]["id"]) == {"msclkid": "ms-legacy"}
    # The compatibility field is any declared parameter, read back as before (null when absent).
    assert legacy.json["conversion"]["msclkid"] == "ms-legacy"
    assert legacy.json["conversion"]["exclid"] is None
    top_level = client.post(
        "/api/v1/conversions", json=row("top", exclid="exTopLevel"), headers=bearer(key)
    )
    assert pairs(top_level.json["conversion"]["id"]) == {"exclid": "exTopLevel"}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"click_ids": {"fbclid": "f-1"}}, "click_ids.fbclid"),
        ({"fbclid": "f-1"}, "fbclid"),
        ({"click_ids": {"exclid": "not-ours"}}, "click_ids.exclid"),
        ({"click_ids": "exAbc123"}, "click_ids"),
        ({"click_ids": {"msclkid": "a"}, "msclkid": "b"}, "msclkid"),
    ],
)
def test_click_ids_no_plugin_declares_or_malformed_are_refused(
    with_example,
    client,
    key: str,
    extra: dict,
    field: str,
) -> None:
    response = client.post("/api/v1/conversions", json=row("bad", **extra), headers=bearer(key))
    assert response.status_code == 422, response.json
    assert field in {e["field"] for e in response.json["error"]["errors"]}
    assert db.session.scalar(select(Conversion)) is None


def test_a_supplied_click_finds_the_visitor_who_made_it(with_example, client, world, key) -> None:
    pixel = pixel_key(world.workspace_id)
    hit(client, pixel, pageview("https://a.example/?exclid=exVisitor1", c={"exclid": "exVisitor1"}))
    visitor_id = db.session.scalar(select(AdClick.visitor_id))
    response = client.post(
        "/api/v1/conversions", json=row("by-click", click_ids={"exclid": "exVisitor1"}),
        headers=bearer(key),
    )  # fmt: skip
    assert db.session.get(Conversion, response.json["conversion"]["id"]).visitor_id == visitor_id


def test_a_national_phone_number_is_read_in_the_workspaces_default_region(
    app, client, world, key
) -> None:
    from platforms.google_ads.hashing import RULES as GOOGLE_RULES
    from platforms.microsoft_ads.hashing import RULES
    from tests.conftest import client_as, csrf_token

    national = {"phone": "020 7946 0958", "email": None}
    refused = client.post(
        "/api/v1/conversions", json=row("no-region", **national), headers=bearer(key)
    )
    assert refused.status_code == 422
    assert "phone" in {e["field"] for e in refused.json["error"]["errors"]}
    admin = client_as(app, "admin")
    page = f"/w/{world.workspace_id}/setup/tracking/"
    bad = admin.post(
        f"{page}phone-region", data={"region": "XX", "csrf_token": csrf_token(admin, page)}
    )
    assert bad.status_code == 303 and "not a two-letter region" in admin.get(page).get_data(
        as_text=True
    )
    saved = admin.post(
        f"{page}phone-region", data={"region": "gb", "csrf_token": csrf_token(admin, page)}
    )
    assert saved.status_code == 303
    response = client.post(
        "/api/v1/conversions", json=row("with-region", **national), headers=bearer(key)
    )
    assert response.status_code == 201, response.json
    conversion = db.session.get(Conversion, response.json["conversion"]["id"])
    assert conversion.phone_sha256 == RULES.phone_sha256("+44 20 7946 0958")
    # One digest per installed rule set (both platforms write E.164 the same way here).
    assert conversion.identity_digests == {
        "microsoft_ads": {"phone": conversion.phone_sha256},
        "google_ads": {"phone": GOOGLE_RULES.phone_sha256("+44 20 7946 0958")},
    }
