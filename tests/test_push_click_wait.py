"""The wait after an ad click also holds when the click's time is unknown: conversions that carry
their own msclkid (minted at the emulator a moment ago) with ``occurred_at`` = now are not all
uploaded at once, they wait the plugin's setting after the conversion (issue 16, item 5)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from tests.conftest import make_world
from tests.helpers import push as h
from webapp.extensions import db
from webapp.models.types import utcnow
from webapp.services import conversions, push


@pytest.fixture
def world(ms_app, redis):
    return make_world()


def _mint_click(emulator: str) -> str:
    answer = requests.post(
        f"{emulator}/_emulator/clicks", json={"account_id": h.US_ACCOUNT}, timeout=10
    )
    answer.raise_for_status()
    return str(answer.json()["msclkid"])


def test_fresh_conversions_with_their_own_click_ids_wait_after_the_conversion(
    ms_app, world, emulator
) -> None:
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    now = utcnow()
    fresh = [
        conversions.ConversionInput(
            event="purchase",
            occurred_at=now,
            external_id=f"order-{i}",
            value=Decimal("10"),
            currency="USD",
            click_ids={"msclkid": _mint_click(emulator)},
        )
        for i in range(5)
    ]
    settled = conversions.ConversionInput(
        event="purchase",
        occurred_at=now - timedelta(minutes=61),  # the tests' wait is an hour
        external_id="order-settled",
        value=Decimal("10"),
        currency="USD",
        click_ids={"msclkid": _mint_click(emulator)},
    )
    conversions.insert(db.session.connection(), world.workspace_id, [*fresh, settled], "api")
    db.session.commit()

    summary = push.run(connection_id)

    assert (summary.sent, summary.waiting) == (1, 5), summary.text
    [received] = h.received(emulator)
    assert received["Request"]["MicrosoftClickId"] == settled.click_ids["msclkid"]
