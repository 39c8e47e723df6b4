"""A Stripe refund of a conversion Microsoft matched by hashed email only (no ad click id) reaches
the emulator as a retraction that quotes the same hashes, through the real push path: the signed
webhook, the ledger, the plugin, the emulator process."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sqlalchemy import select

from tests.conftest import make_world
from tests.helpers import push as h
from webapp.extensions import db
from webapp.models import AdjustmentDelivery, Conversion, Membership
from webapp.services import push, tracking
from webapp.services.stripe_webhooks import sign

SECRET = "whsec_test_refund_0123456789"


@pytest.fixture
def world(ms_app, redis):
    return make_world()


def _post(client, url: str, event: dict) -> dict:
    body = json.dumps(event).encode()
    answer = client.post(
        url,
        data=body,
        headers={"Stripe-Signature": sign(body, SECRET)},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.json


def test_a_refunded_hashed_only_conversion_is_retracted_by_its_hashes(
    ms_app, world, emulator
) -> None:
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"payment_received": h.QUALIFIED_LEAD}, enhanced=True)
    owner = db.session.get(Membership, world.memberships["owner"])
    tracking.set_stripe_secret(world.workspace_id, owner, SECRET)
    hook = f"/webhooks/stripe/{tracking.settings_for(world.workspace_id).public_key}"
    client = ms_app.test_client()
    paid = {
        "id": "evt_paid",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_refund",
                "payment_intent": "pi_refund",
                "payment_status": "paid",
                "amount_total": 8000,
                "currency": "usd",
                "customer_details": {"email": "Ada.Lovelace@Example.com"},
                # Paid three hours ago: past the wait that runs from the conversion when, as
                # here, there is no ad click whose time could be known.
                "created": int(time.time()) - 3 * 3600,
            }
        },
    }
    assert _post(client, hook, paid)["outcome"] == "created"
    conversion = db.session.scalar(select(Conversion))
    assert conversion.click_ids == {} and conversion.email_sha256

    first = push.run(connection_id)
    assert (first.sent, first.failed) == (1, 0), first.text
    [sent] = requests.get(f"{emulator}/_emulator/conversions", timeout=10).json()["conversions"]
    assert "MicrosoftClickId" not in sent["Request"]
    assert sent["Request"]["HashedEmailAddress"] == conversion.email_sha256

    refund = {
        "id": "evt_refund",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_refund",
                "payment_intent": "pi_refund",
                "amount": 8000,
                "amount_refunded": 8000,
                "currency": "usd",
            }
        },
    }
    assert _post(client, hook, refund)["outcome"] == "adjusted"
    second = push.run(connection_id)
    assert second.adjustments_sent == 1, second.text

    [retraction] = requests.get(f"{emulator}/_emulator/adjustments", timeout=10).json()[
        "adjustments"
    ]
    request = retraction["Request"]
    assert request["AdjustmentType"] == "Retract" and "AdjustmentValue" not in request
    assert "MicrosoftClickId" not in request
    assert request["HashedEmailAddress"] == conversion.email_sha256
    assert request["ConversionName"] == "Qualified lead"
    assert request["ConversionTime"] == sent["Request"]["ConversionTime"]
    assert retraction["Status"] == "Accepted" and retraction["UnattributedReason"] is None
    [original] = requests.get(f"{emulator}/_emulator/conversions", timeout=10).json()["conversions"]
    assert original["Retracted"] is True  # Microsoft found it: revenue no longer overstated
    db.session.expire_all()
    assert [row.status for row in db.session.scalars(select(AdjustmentDelivery))] == ["sent"]
