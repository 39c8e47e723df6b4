"""POST/GET /api/v1/conversions: auth, per-field errors, batches, idempotency, tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.intake.helpers import bearer
from webapp.extensions import db
from webapp.models import ApiKey, Conversion, Visitor

NOW = datetime.now(UTC).replace(microsecond=0)


def row(external_id: str = "order-1", **extra) -> dict:
    return {
        "event": "payment_received",
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
        "value": "120.50",
        "currency": "USD",
        "email": "Jane.Doe@example.com",
        "external_id": external_id,
        **extra,
    }


@pytest.fixture
def key(world) -> str:
    from tests.intake.helpers import api_key

    return api_key(world.workspace_id)


def conversions_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Conversion))


def test_key_is_required_and_stored_hashed(client, world, key) -> None:
    assert client.post("/api/v1/conversions", json=row()).status_code == 401
    assert (
        client.post("/api/v1/conversions", json=row(), headers=bearer("sl_live_wrong")).status_code
        == 401
    )
    stored = db.session.scalar(select(ApiKey))
    assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    assert key.startswith(stored.prefix)


def test_create_then_resend_returns_the_same_conversion(client, world, key) -> None:
    first = client.post("/api/v1/conversions", json=row(), headers=bearer(key))
    assert first.status_code == 201, first.json
    assert first.json["status"] == "created"
    body = first.json["conversion"]
    assert (body["event"], body["value"], body["currency"], body["source"]) == (
        "payment_received",
        "120.50",
        "USD",
        "api",
    )
    again = client.post("/api/v1/conversions", json=row(value="999"), headers=bearer(key))
    assert again.status_code == 200 and again.json["status"] == "existing"
    assert again.json["conversion"]["id"] == body["id"]
    assert again.json["conversion"]["value"] == "120.50"  # the original is kept
    assert conversions_count() == 1


def test_each_invalid_field_gets_its_own_error(client, world, key) -> None:
    bad = {
        "event": "nope",
        "occurred_at": "2024-05-01T10:00:00",  # naive
        "value": "-3",
        "currency": "XYZ",
        "external_id": "",
        "colour": "blue",
    }
    response = client.post("/api/v1/conversions", json=bad, headers=bearer(key))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["error"]["errors"]}
    assert {
        "event",
        "occurred_at",
        "value",
        "currency",
        "external_id",
        "colour",
        "visitor_id",
    } <= fields
    assert conversions_count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": True}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": "1.23456"}, "value"),
        ({"value": [1]}, "value"),
        ({"currency": "usd "}, "currency"),
        ({"currency": None}, "currency"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": (NOW + timedelta(days=2)).isoformat()}, "occurred_at"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "0612345678"}, "phone"),
        ({"email_sha256": "abc", "email": None}, "email_sha256"),
        ({"external_id": "stripe:pi_1"}, "external_id"),
        ({"external_id": 12}, "external_id"),
        ({"visitor_id": "x"}, "visitor_id"),
        ({"properties": [1, 2]}, "properties"),
    ],
)
def test_field_rules(client, world, key, change, field) -> None:
    response = client.post("/api/v1/conversions", json=row(**change), headers=bearer(key))
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json["error"]["errors"]}


def test_batch_keeps_valid_rows_and_reports_bad_ones_by_index(client, world, key) -> None:
    rows = [row("b-0"), row("b-1", currency="ZZZ"), row("b-2"), row("b-0"), "junk"]
    response = client.post("/api/v1/conversions", json={"conversions": rows}, headers=bearer(key))
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["created"], body["existing"], body["invalid"]) == (2, 1, 2)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["created", "invalid", "created", "existing", "invalid"]
    assert body["results"][1]["errors"][0]["field"] == "currency"
    assert body["results"][3]["id"] == body["results"][0]["id"]
    assert sorted(db.session.scalars(select(Conversion.external_id))) == ["b-0", "b-2"]


def test_batch_limits(client, world, key) -> None:
    too_many = {"conversions": [row(f"x-{i}") for i in range(1001)]}
    assert client.post("/api/v1/conversions", json=too_many, headers=bearer(key)).status_code == 422
    assert (
        client.post(
            "/api/v1/conversions", json={"conversions": []}, headers=bearer(key)
        ).status_code
        == 422
    )
    assert client.post("/api/v1/conversions", json=[row()], headers=bearer(key)).status_code == 422
    big = b'{"conversions": [' + b" " * (3 * 1024 * 1024) + b"]}"
    response = client.post("/api/v1/conversions", data=big, headers=bearer(key))
    assert response.status_code == 413
    assert conversions_count() == 0


def test_a_thousand_rows_in_one_request(client, world, key) -> None:
    rows = [row(f"k-{i}", email=f"person{i}@example.com") for i in range(1000)]
    response = client.post("/api/v1/conversions", json={"conversions": rows}, headers=bearer(key))
    assert response.status_code == 200 and response.json["created"] == 1000
    assert conversions_count() == 1000
    assert db.session.scalar(select(func.count()).select_from(Visitor)) == 1000


def test_a_failure_mid_batch_writes_nothing(client, world, key, monkeypatch) -> None:
    from webapp.intake import conversions

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conversions, "_remember_identities", explode)
    rows = [row(f"h-{i}") for i in range(5)]
    response = client.post("/api/v1/conversions", json={"conversions": rows}, headers=bearer(key))
    assert response.status_code == 500
    db.session.rollback()
    assert conversions_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Visitor)) == 0


def test_identity_resolution_links_to_the_pixel_visitor(client, world, key) -> None:
    from webapp.intake import collect, tracking
    from webapp.intake.click_matching import resolve_click_id

    site = tracking.pixel_site(tracking.settings_for(world.workspace_id).public_key)
    hit = collect.parse_hit(
        {
            "v": "v_pixelvisitor01",
            "t": "pageview",
            "u": "https://a.example/?msclkid=mm1",
            "c": {"msclkid": "mm1"},
        },
        site,
    )
    collect.record(site, hit, now=NOW - timedelta(days=3))
    by_visitor = client.post(
        "/api/v1/conversions",
        json=row("by-visitor", visitor_id="v_pixelvisitor01", email="jane@example.com"),
        headers=bearer(key),
    )
    by_email = client.post(
        "/api/v1/conversions", json=row("by-email", email="jane@example.com"), headers=bearer(key)
    )
    by_click = client.post(
        "/api/v1/conversions",
        json={**row("by-click", msclkid="mm1"), "email": None},
        headers=bearer(key),
    )
    for response in (by_visitor, by_email, by_click):
        assert response.status_code == 201, response.json
        conversion = db.session.get(Conversion, response.json["conversion"]["id"])
        assert conversion.visitor.uid == "v_pixelvisitor01"
        assert resolve_click_id(conversion, "msclkid").click_id == "mm1"


def test_get_by_external_id_with_delivery_hook(client, world, key, monkeypatch) -> None:
    from webapp.intake import conversions

    client.post("/api/v1/conversions", json=row("look-me-up"), headers=bearer(key))
    response = client.get("/api/v1/conversions?external_id=look-me-up", headers=bearer(key))
    assert response.status_code == 200
    assert response.json["conversion"]["delivery"] == []
    monkeypatch.setattr(
        conversions,
        "DELIVERY_STATUS_PROVIDERS",
        [lambda c: [{"platform": "microsoft_ads", "status": "sent", "id": c.id}]],
    )
    response = client.get("/api/v1/conversions?external_id=look-me-up", headers=bearer(key))
    assert response.json["conversion"]["delivery"][0]["status"] == "sent"
    assert (
        client.get("/api/v1/conversions?external_id=missing", headers=bearer(key)).status_code
        == 404
    )
    assert client.get("/api/v1/conversions?external_id=", headers=bearer(key)).status_code == 400
    # Without external_id the same path lists the workspace's conversions (the read API).
    listed = client.get("/api/v1/conversions", headers=bearer(key))
    assert listed.status_code == 200 and listed.json["conversions"][0]["external_id"] == (
        "look-me-up"
    )


def test_keys_never_cross_workspaces(client, world, key) -> None:
    from tests.intake.helpers import api_key

    other = api_key(world.other_workspace_id, "Globex CRM")
    client.post("/api/v1/conversions", json=row("shared-id"), headers=bearer(key))
    response = client.post(
        "/api/v1/conversions", json=row("shared-id", value="1"), headers=bearer(other)
    )
    assert response.status_code == 201  # same external_id, different workspace: its own row
    owners = sorted(db.session.scalars(select(Conversion.workspace_id)))
    assert owners == sorted([world.workspace_id, world.other_workspace_id])
    assert (
        client.get("/api/v1/conversions?external_id=order-x", headers=bearer(other)).status_code
        == 404
    )
    acme_only = client.post("/api/v1/conversions", json=row("acme-only"), headers=bearer(key))
    assert acme_only.status_code == 201
    assert (
        client.get("/api/v1/conversions?external_id=acme-only", headers=bearer(other)).status_code
        == 404
    )
    # A body cannot choose the workspace.
    sneaky = client.post(
        "/api/v1/conversions",
        json={**row("sneaky"), "workspace_id": world.workspace_id},
        headers=bearer(other),
    )
    assert sneaky.status_code == 422


def test_revoked_keys_stop_working(client, world, key) -> None:
    from webapp.accounts import api_keys
    from webapp.models import Membership

    owner = db.session.get(Membership, world.memberships["owner"])
    stored = db.session.scalar(select(ApiKey))
    api_keys.revoke(world.workspace_id, owner, stored.id)
    assert client.post("/api/v1/conversions", json=row(), headers=bearer(key)).status_code == 401


def test_cli_creates_a_key(app, world) -> None:
    result = app.test_cli_runner().invoke(
        args=["apikeys", "create", "--workspace", "Acme", "--name", "CLI"]
    )
    assert result.exit_code == 0, result.output
    printed = result.output.strip()
    assert printed.startswith("sl_live_")
    from webapp.accounts import api_keys

    assert api_keys.authenticate(printed) == world.workspace_id
    missing = app.test_cli_runner().invoke(
        args=["apikeys", "create", "--workspace", "Nope", "--name", "x"]
    )
    assert missing.exit_code != 0 and "No workspace" in missing.output
