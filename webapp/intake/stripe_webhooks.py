"""Stripe → conversions. A paid checkout or payment becomes ``payment_received``; a refund becomes
a ConversionAdjustment of the original. Replays are harmless: the conversion's external_id is the
PaymentIntent (checkout.session.completed and payment_intent.succeeded of one payment are one
conversion) and an adjustment's is the charge plus the refunded total.

The signature check follows Stripe's scheme (``Stripe-Signature: t=...,v1=...``, HMAC-SHA256 of
``t.payload`` with the endpoint's signing secret, 5 minutes of tolerance).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from webapp.common.sql import insert_for
from webapp.extensions import db
from webapp.intake import click_ids, conversions, currencies, identity
from webapp.models import ConversionAdjustment, TrackingSettings

TOLERANCE_SECONDS = 300
# Currencies Stripe counts in whole units (no minor unit).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


class SignatureError(Exception):
    pass


def verify(payload: bytes, header: str, secret: str, now: float | None = None) -> None:
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [v for k, v in items if k.strip() == "t"]
    signatures = [v.strip() for k, v in items if k.strip() == "v1"]
    if not timestamps or not signatures or not timestamps[0].strip().isdigit():
        raise SignatureError("missing or malformed Stripe-Signature header")
    timestamp = int(timestamps[0])
    if abs((now or time.time()) - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("signature timestamp outside the tolerance (replayed or clock skew)")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("signature does not match the workspace's signing secret")


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header (for tests and the demo)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def settings_by_key(public_key: str) -> TrackingSettings | None:
    return db.session.scalar(
        select(TrackingSettings).where(TrackingSettings.public_key == public_key)
    )


def _amount(minor: Any, currency: str) -> Decimal | None:
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        return None
    exponent = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    return Decimal(minor).scaleb(-exponent)


# Beyond this an epoch is nonsense (year 9999); datetime would overflow on it.
_MAX_EPOCH = 253_402_300_799


def _at(epoch: Any) -> datetime:
    if isinstance(epoch, int) and not isinstance(epoch, bool) and 0 < epoch <= _MAX_EPOCH:
        return datetime.fromtimestamp(epoch, UTC)
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    """What one event did: ``text`` for the response and the logs; ``saved`` the conversion it
    recorded (``created`` False for a replay or the twin event of one payment), which the
    caller hands to the real-time nudge once committed."""

    text: str
    saved: tuple[conversions.Arrival, ...] = ()


PAYMENT_EVENT = "payment_received"


def receive(workspace_id: int, event: dict[str, Any]) -> Outcome:
    """``handle`` in its own transaction (the webhook view's entry)."""
    outcome = handle(workspace_id, event)
    db.session.commit()
    return outcome


def handle(workspace_id: int, event: dict[str, Any]) -> Outcome:
    """Apply one verified event; → what happened (for the response and the logs)."""
    kind = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return Outcome("ignored: no event object")
    if kind == "checkout.session.completed":
        if obj.get("payment_status") not in ("paid", "no_payment_required"):
            return Outcome("ignored: not paid")
        return _payment(
            workspace_id, obj, obj.get("amount_total"), obj.get("payment_intent") or obj.get("id")
        )
    if kind == "payment_intent.succeeded":
        return _payment(workspace_id, obj, obj.get("amount_received"), obj.get("id"))
    if kind == "charge.refunded":
        return Outcome(_refund(workspace_id, obj))
    return Outcome("ignored")


def _payment(workspace_id: int, obj: dict, minor: Any, payment_id: Any) -> Outcome:
    currency = str(obj.get("currency") or "").upper()
    if not isinstance(payment_id, str) or not currencies.is_currency(currency):
        return Outcome("ignored: no payment id or currency")
    value = _amount(minor, currency)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    uid = obj.get("client_reference_id") or metadata.get("sourceloop_visitor_id")
    uid = uid if isinstance(uid, str) and conversions.VISITOR_UID.match(uid) else None
    # Any installed plugin's click-id parameter set in the payment's metadata; a malformed id is
    # left out rather than losing the payment.
    catalog = click_ids.catalog()
    supplied = {
        name: value
        for name, value in metadata.items()
        if name in catalog.params and isinstance(value, str) and catalog.accepts(name, value)
    }
    details = obj.get("customer_details") if isinstance(obj.get("customer_details"), dict) else {}
    email = details.get("email") or obj.get("receipt_email") or obj.get("customer_email")
    phone = details.get("phone")
    digests, _unusable = identity.hash_identity(
        email=email if isinstance(email, str) else None,
        phone=phone if isinstance(phone, str) else None,
        region=db.session.scalar(
            select(TrackingSettings.default_phone_region).where(
                TrackingSettings.workspace_id == workspace_id
            )
        ),
    )
    row = conversions.ConversionInput(
        event=PAYMENT_EVENT,
        occurred_at=_at(obj.get("created")),
        external_id=f"stripe:{payment_id}",
        value=value,
        currency=currency if value is not None else None,
        visitor_uid=uid,
        click_ids=supplied,
        email_sha256=digests.email,
        phone_sha256=digests.phone,
        identity_digests=digests.by_rules,
        properties={"stripe_object": str(obj.get("id"))[:255]},
    )
    results = conversions.insert(db.session.connection(), workspace_id, [row], "stripe")
    saved = tuple(conversions.arrivals([row], results))
    return Outcome("created" if saved[0].created else "duplicate", saved)


def _refund(workspace_id: int, charge: dict) -> str:
    payment_id = charge.get("payment_intent") or charge.get("id")
    original = conversions.by_external_id(workspace_id, f"stripe:{payment_id}")
    if original is None:
        return "ignored: no conversion for this payment"
    currency = str(charge.get("currency") or "").upper()
    charged = _amount(charge.get("amount"), currency)
    refunded = _amount(charge.get("amount_refunded"), currency)
    if charged is None or refunded is None:
        return "ignored: no amounts"
    base = original.value if original.value is not None else charged
    new_value = max(Decimal(0), base - refunded)
    conn = db.session.connection()
    inserted = conn.execute(
        insert_for(conn, ConversionAdjustment.__table__)
        .values(
            workspace_id=workspace_id,
            conversion_id=original.id,
            kind=ConversionAdjustment.REFUND,
            new_value=new_value,
            currency=original.currency or currency,
            occurred_at=datetime.now(UTC),
            external_id=f"stripe:{charge.get('id')}:refunded:{charge.get('amount_refunded')}",
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "external_id"])
        .returning(ConversionAdjustment.__table__.c.id)
    ).first()
    return "adjusted" if inserted is not None else "duplicate"


def parse(payload: bytes) -> dict[str, Any]:
    """The event object; ValueError (or RecursionError) when the payload is not one."""
    event = conversions.loads_strict(payload)
    if not isinstance(event, dict):
        raise ValueError("not an event object")
    return event
