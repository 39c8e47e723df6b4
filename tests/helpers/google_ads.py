"""Building blocks for Google Ads host tests: a push configuration read from the (emulated)
Google Ads API, gclid clicks from the emulator, conversions that carry them, and the emulator's
read-back of the events it received."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import requests

from webapp.extensions import db
from webapp.models import Connection
from webapp.models.types import utcnow

US = "1234567890"  # directly accessible, enhanced conversions on
UK = "2345678901"  # only through the manager
MANAGER = "1112223333"
CLOSED_WON = "700000001"


def configure(world, connection_id: int, goals: dict[str, str]) -> None:
    """Map events to conversion actions the way the Configure page does."""
    from tests.helpers.push import admin_membership
    from webapp.push import config as push_config

    push_config.fetch_goals(connection_id)
    connection = db.session.get(Connection, connection_id)
    errors = push_config.save(
        admin_membership(world),
        connection,
        enabled=True,
        enhanced_conversions=False,
        default_currency="USD",
        mappings=[push_config.MappingInput(e, g, "event", "") for e, g in goals.items()],
    )
    assert not errors, errors


def click(emulator: str, customer_id: str = US, hours_ago: float = 2) -> str:
    """A gclid the emulator knows (an ad click ``hours_ago``)."""
    answer = requests.post(
        f"{emulator}/_emulator/clicks",
        json={"customer_id": customer_id, "kind": "gclid", "hours_ago": hours_ago},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["gclid"]


def add_conversion(
    world, gclid: str, value: str = "49.90", currency: str = "USD", minutes_ago: int = 90
) -> None:
    from webapp.intake import conversions

    row = conversions.ConversionInput(
        event="purchase",
        occurred_at=utcnow() - timedelta(minutes=minutes_ago),
        external_id=f"order-{gclid[-12:]}",
        value=Decimal(value),
        currency=currency,
        click_ids={"gclid": gclid},
    )
    conversions.insert(db.session.connection(), world.workspace_id, [row], "api")
    db.session.commit()


def received(emulator: str) -> list[dict]:
    """Every event the emulator's Data Manager API ingested."""
    answer = requests.get(f"{emulator}/_emulator/events", timeout=10)
    answer.raise_for_status()
    body = answer.json()
    return body["events"] if isinstance(body, dict) else body
