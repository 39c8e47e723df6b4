"""Erasure and export of one person's data through the API: found by email, phone, visitor id or
external id; everything about them deleted (visitor, sessions, touchpoints, click ids,
conversions, credits, unsent ledger rows); idempotent; audited with counts and no identifier;
other workspaces untouched; a later hit of the erased browser starts a new visitor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.intake.helpers import VISITOR, api_key, bearer, hit, pageview, pixel_key
from webapp.extensions import db
from webapp.models import (
    AdClick,
    AuditEvent,
    Conversion,
    ConversionClickId,
    Touchpoint,
    Visitor,
    VisitSession,
)

EMAIL = "Jane.Doe@Example.com"


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def populate(client, workspace_id: int, visitor: str = VISITOR, tag: str = "") -> str:
    """A landing with a click id, a pixel form submit with the email, and an API conversion
    by email; → the API key."""
    key = pixel_key(workspace_id)
    url = f"https://shop.example.com/?msclkid=abc123{tag}"
    assert (
        hit(client, key, pageview(url, visitor, c={"msclkid": f"abc123{tag}"})).status_code == 204
    )
    event = {
        "v": visitor,
        "t": "event",
        "u": url,
        "e": "form_submitted",
        "id": f"evt_0123456789{tag}",
        "p": {"email": EMAIL},
    }
    assert hit(client, key, event).status_code == 204
    token = api_key(workspace_id)
    response = client.post(
        "/api/v1/conversions",
        json={
            "event": "payment_received",
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "external_id": f"order-1{tag}",
            "email": "janedoe@example.com",
            "value": "10",
            "currency": "EUR",
            "click_ids": {"msclkid": f"crm{tag}"},
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.json
    return token


def in_workspace(model, workspace_id: int) -> int:
    return count(model, model.workspace_id == workspace_id)


def test_export_returns_everything_held_and_erase_deletes_it_once(client, world) -> None:
    other = world.other_workspace_id
    token = populate(client, world.workspace_id)
    populate(client, other, tag="x")
    before_other = {m: in_workspace(m, other) for m in (Visitor, Conversion, AdClick)}

    exported = client.get(
        "/api/v1/privacy/export", query_string={"email": EMAIL}, headers=bearer(token)
    )
    assert exported.status_code == 200 and exported.headers["Cache-Control"] == "no-store"
    data = exported.json
    assert [v["visitor_id"] for v in data["visitors"]] == [VISITOR]
    assert {c["external_id"] for c in data["conversions"]} == {"px:evt_0123456789", "order-1"}
    assert [c["click_id"] for c in data["click_ids"]] == ["abc123"]
    assert len(data["sessions"]) == 1 and len(data["touchpoints"]) == 1
    assert EMAIL.lower() not in json.dumps(data).lower()  # only digests are held

    erased = client.post("/api/v1/privacy/erase", json={"email": EMAIL}, headers=bearer(token))
    assert erased.status_code == 200, erased.json
    counts = erased.json["erased"]
    assert counts["visitors"] == 1 and counts["conversions"] == 2
    assert counts["sessions"] == 1 and counts["touchpoints"] == 1 and counts["click_ids"] == 1
    ws = world.workspace_id
    for model in (Visitor, VisitSession, Touchpoint, AdClick, Conversion):
        assert in_workspace(model, ws) == 0, model
    assert count(ConversionClickId) == 1  # the other workspace's only
    # Other workspaces untouched.
    assert {m: in_workspace(m, other) for m in before_other} == before_other

    # Idempotent: again, nothing left to erase, still 200.
    again = client.post("/api/v1/privacy/erase", json={"email": EMAIL}, headers=bearer(token))
    assert again.status_code == 200 and sum(again.json["erased"].values()) == 0
    empty = client.get(
        "/api/v1/privacy/export", query_string={"email": EMAIL}, headers=bearer(token)
    )
    assert empty.json["visitors"] == [] and empty.json["conversions"] == []

    # Audited with counts and no identifier.
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "privacy.erased", AuditEvent.workspace_id == ws)
        .order_by(AuditEvent.id)
    ).all()
    assert len(events) == 2 and events[0].details["conversions"] == 2
    for event in events:
        text = json.dumps({"t": event.target, "d": event.details}).lower()
        assert "jane" not in text and VISITOR not in text

    # The erased browser's next hit starts a new visitor with nothing attached.
    key = pixel_key(ws)
    assert hit(client, key, pageview("https://shop.example.com/back")).status_code == 204
    visitor = db.session.scalar(select(Visitor).where(Visitor.workspace_id == ws))
    assert visitor.uid == VISITOR and count(AdClick, AdClick.visitor_id == visitor.id) == 0
    assert count(Conversion, Conversion.workspace_id == ws) == 0


@pytest.mark.parametrize(
    ("selector", "visitors", "conversions"),
    [
        ({"visitor_id": VISITOR}, 1, 2),  # the visitor and both conversions linked to it
        ({"external_id": "order-1"}, 1, 2),  # its visitor (matched by email) and all theirs
        ({"email": "  janedoe@example.com "}, 1, 2),
    ],
)
def test_each_selector_finds_the_person(client, world, selector, visitors, conversions) -> None:
    token = populate(client, world.workspace_id)
    erased = client.post("/api/v1/privacy/erase", json=selector, headers=bearer(token))
    assert erased.status_code == 200, erased.json
    assert (erased.json["erased"]["visitors"], erased.json["erased"]["conversions"]) == (
        visitors,
        conversions,
    )


def test_phone_is_hashed_with_the_workspace_region(client, world) -> None:
    from webapp.intake import tracking

    token = api_key(world.workspace_id)
    tracking.settings_for(world.workspace_id).default_phone_region = "GB"
    db.session.commit()
    response = client.post(
        "/api/v1/conversions",
        json={
            "event": "payment_received",
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "external_id": "call-1",
            "phone": "+44 20 7946 0958",
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.json
    found = client.get(
        "/api/v1/privacy/export", query_string={"phone": "020 7946 0958"}, headers=bearer(token)
    )
    assert [c["external_id"] for c in found.json["conversions"]] == ["call-1"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@example.com", "phone": "+14255551234"},
        {"name": "x"},
        {"email": 5},
        {"email": "x" * 300},
        {"email": "not an email"},
        [],
        "x",
    ],
)
def test_bad_requests_are_4xx_and_erase_nothing(client, world, body) -> None:
    token = populate(client, world.workspace_id)
    before = count(Conversion)
    response = client.post("/api/v1/privacy/erase", json=body, headers=bearer(token))
    assert 400 <= response.status_code < 500, response.json
    assert count(Conversion) == before
    bad = client.post(
        "/api/v1/privacy/erase",
        data=b"{not json",
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert bad.status_code == 400


def test_a_key_of_another_workspace_reaches_nothing(client, world) -> None:
    populate(client, world.workspace_id)
    foreign = api_key(world.other_workspace_id)
    erased = client.post("/api/v1/privacy/erase", json={"email": EMAIL}, headers=bearer(foreign))
    assert erased.status_code == 200 and sum(erased.json["erased"].values()) == 0
    assert in_workspace(Conversion, world.workspace_id) == 2
    assert client.post("/api/v1/privacy/erase", json={"email": EMAIL}).status_code == 401


def test_the_cli_exports_then_erases(app, client, world) -> None:
    populate(client, world.workspace_id)
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["privacy", "export", "--workspace", "Acme", "--email", EMAIL])
    assert exported.exit_code == 0, exported.output
    assert [v["visitor_id"] for v in json.loads(exported.output)["visitors"]] == [VISITOR]
    erased = runner.invoke(
        args=["privacy", "erase", "--workspace", "Acme", "--visitor-id", VISITOR]
    )
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.output)["conversions"] == 2
    assert in_workspace(Conversion, world.workspace_id) == 0
    refused = runner.invoke(args=["privacy", "erase", "--workspace", "Acme"])
    assert refused.exit_code != 0 and "exactly one" in refused.output
    unknown = runner.invoke(args=["privacy", "erase", "--workspace", "Nope", "--email", EMAIL])
    assert unknown.exit_code != 0 and "No workspace" in unknown.output


def test_the_privacy_page_exports_and_erases_for_admins(app, client, world) -> None:
    from tests.conftest import client_as, csrf_token

    populate(client, world.workspace_id)
    ws = world.workspace_id
    admin = client_as(app, "admin")
    page = admin.get(f"/w/{ws}/setup/privacy/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "IP addresses" in text and "<code>msclkid</code>" in text and "Not required" in text
    token = csrf_token(admin, f"/w/{ws}/setup/privacy/")
    exported = admin.post(
        f"/w/{ws}/setup/privacy/export",
        data={"csrf_token": token, "kind": "email", "value": EMAIL},
    )
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert len(json.loads(exported.data)["conversions"]) == 2
    erased = admin.post(
        f"/w/{ws}/setup/privacy/erase",
        data={"csrf_token": token, "kind": "email", "value": EMAIL},
        follow_redirects=True,
    )
    assert "Erased: 1 visitors" in erased.get_data(as_text=True)
    assert in_workspace(Conversion, ws) == 0
    bad = admin.post(
        f"/w/{ws}/setup/privacy/erase",
        data={"csrf_token": token, "kind": "password", "value": "x"},
        follow_redirects=True,
    )
    assert bad.status_code == 200 and "Choose what identifies" in bad.get_data(as_text=True)
    member = client_as(app, "member")
    assert "Only Admins and Owners" in member.get(f"/w/{ws}/setup/privacy/").get_data(as_text=True)


def test_retention_limits_are_set_on_the_privacy_page(app, world) -> None:
    from tests.conftest import client_as, csrf_token
    from webapp.models import TrackingSettings

    ws = world.workspace_id
    admin = client_as(app, "admin")
    token = csrf_token(admin, f"/w/{ws}/setup/privacy/")
    for pages, conversions, message in (
        ("abc", "700", "whole numbers"),
        ("5", "700", "between 30 and 3650"),
        ("200", "700", "Page views are kept 200 days"),
    ):
        answer = admin.post(
            f"/w/{ws}/setup/privacy/retention",
            data={"csrf_token": token, "pageview_days": pages, "conversion_days": conversions},
            follow_redirects=True,
        )
        assert answer.status_code == 200 and message in answer.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(TrackingSettings, ws)
    assert (row.retention_pageview_days, row.retention_conversion_days) == (200, 700)
