"""Stripe webhook: signatures checked with the workspace's secret, payments and refunds, replays."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Conversion, ConversionAdjustment, Visitor
from webapp.services.stripe_webhooks import sign

SECRET = "whsec_test_acme_0123456789"


@pytest.fixture
def hook(world) -> str:
    from webapp.models import Membership
    from webapp.services import tracking

    owner = db.session.get(Membership, world.memberships["owner"])
    tracking.set_stripe_secret(world.workspace_id, owner, SECRET)
    return f"/webhooks/stripe/{tracking.settings_for(world.workspace_id).public_key}"


def post(client, url: str, event: dict, secret: str = SECRET, header: str | None = None):
    body = json.dumps(event).encode()
    headers = {"Stripe-Signature": header if header is not None else sign(body, secret)}
    return client.post(url, data=body, headers=headers, content_type="application/json")


def checkout(visitor: str = "v_stripevisitor1") -> dict:
    return {
        "id": "evt_1",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_1",
                "payment_intent": "pi_1",
                "payment_status": "paid",
                "amount_total": 4999,
                "currency": "eur",
                "client_reference_id": visitor,
                "customer_details": {"email": "buyer@example.com"},
                "created": int(time.time()) - 60,
            }
        },
    }


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_checkout_becomes_payment_received_matched_to_the_visitor(client, hook) -> None:
    response = post(client, hook, checkout())
    assert response.status_code == 200 and response.json["outcome"] == "created"
    conversion = db.session.scalar(select(Conversion))
    assert (conversion.event, str(conversion.value), conversion.currency, conversion.source) == (
        "payment_received",
        "49.9900",
        "EUR",
        "stripe",
    )
    assert conversion.visitor.uid == "v_stripevisitor1"
    assert conversion.external_id == "stripe:pi_1"


def test_replays_and_the_twin_payment_intent_event_create_nothing(client, hook) -> None:
    post(client, hook, checkout())
    assert post(client, hook, checkout()).json["outcome"] == "duplicate"
    twin = {
        "id": "evt_2",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {"id": "pi_1", "amount_received": 4999, "currency": "eur", "metadata": {}}
        },
    }
    assert post(client, hook, twin).json["outcome"] == "duplicate"
    assert count(Conversion) == 1


def test_refund_is_recorded_against_the_original_once(client, hook) -> None:
    post(client, hook, checkout())
    refund = {
        "id": "evt_3",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_1",
                "payment_intent": "pi_1",
                "amount": 4999,
                "amount_refunded": 1999,
                "currency": "eur",
            }
        },
    }
    assert post(client, hook, refund).json["outcome"] == "adjusted"
    assert post(client, hook, refund).json["outcome"] == "duplicate"
    adjustment = db.session.scalar(select(ConversionAdjustment))
    assert (adjustment.kind, str(adjustment.new_value), adjustment.currency) == (
        "refund",
        "30.0000",
        "EUR",
    )
    full = json.loads(json.dumps(refund))
    full["data"]["object"]["amount_refunded"] = 4999
    assert post(client, hook, full).json["outcome"] == "adjusted"
    values = sorted(str(a.new_value) for a in db.session.scalars(select(ConversionAdjustment)))
    assert values == ["0.0000", "30.0000"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=abc,v1=00",
        f"t={int(time.time())},v1={'0' * 64}",
    ],
)
def test_bad_signatures_are_refused(client, hook, header) -> None:
    response = post(client, hook, checkout(), header=header)
    assert response.status_code == 400
    assert count(Conversion) == 0 and count(Visitor) == 0


def test_wrong_secret_stale_timestamp_and_tampered_body(client, hook) -> None:
    assert post(client, hook, checkout(), secret="whsec_someone_else").status_code == 400
    body = json.dumps(checkout()).encode()
    stale = sign(body, SECRET, timestamp=int(time.time()) - 3600)
    assert client.post(hook, data=body, headers={"Stripe-Signature": stale}).status_code == 400
    tampered = body.replace(b"4999", b"1")
    assert (
        client.post(
            hook, data=tampered, headers={"Stripe-Signature": sign(body, SECRET)}
        ).status_code
        == 400
    )
    assert count(Conversion) == 0


def test_another_workspaces_secret_does_not_open_this_endpoint(client, world, hook) -> None:
    from webapp.models import Membership
    from webapp.services import tracking

    other_admin = db.session.scalar(
        select(Membership).where(Membership.workspace_id == world.other_workspace_id)
    )
    tracking.set_stripe_secret(world.other_workspace_id, other_admin, "whsec_globex_987654321")
    assert post(client, hook, checkout(), secret="whsec_globex_987654321").status_code == 400
    assert count(Conversion) == 0


def test_no_secret_no_endpoint(client, world) -> None:
    from webapp.services import tracking

    url = f"/webhooks/stripe/{tracking.settings_for(world.workspace_id).public_key}"
    assert post(client, url, checkout()).status_code == 404


def test_secret_is_encrypted_at_rest(app, hook, world) -> None:
    from sqlalchemy import text

    raw = db.session.execute(
        text("SELECT stripe_signing_secret FROM tracking_settings WHERE workspace_id = :w"),
        {"w": world.workspace_id},
    ).scalar_one()
    assert SECRET not in raw
