"""Wired into the push: a goal set up for external attribution (Microsoft's Partner sale) gets
SourceLoop's model and the click's credit with each conversion, the emulator accepts and counts
them; a goal without the flag gets no attribution fields."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from tests.helpers import push as h
from webapp.extensions import db
from webapp.models import Conversion, Touchpoint
from webapp.models.types import utcnow
from webapp.services import push

PARTNER_SALE = "60000004"  # IsExternallyAttributed in the emulator's seeded world


@pytest.fixture
def world(ms_app, redis):
    """The people, made inside the emulator-wired app (not the plain ``app``)."""
    from tests.conftest import make_world

    return make_world()


def mint_click(emulator: str, at) -> str:
    body = {"account_id": h.US_ACCOUNT, "at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    response = requests.post(f"{emulator}/_emulator/clicks", json=body, timeout=10)
    response.raise_for_status()
    return response.json()["msclkid"]


def with_journey(workspace_id: int, event: str, emulator: str) -> tuple[int, str]:
    """organic visit 3 days ago, the Microsoft click 2 hours ago, conversion 90 minutes ago (the
    msclkid comes with the conversion, so its click time is unknown and the wait after the click
    runs from the conversion)."""
    now = utcnow()
    click = mint_click(emulator, now - timedelta(hours=2))
    conversion_id, _ = h.add_conversion(workspace_id, event, msclkid=click, with_click=False,
                                        occurred_at=now - timedelta(minutes=90))  # fmt: skip
    visitor_id = db.session.get(Conversion, conversion_id).visitor_id
    for at, channel, click_id in ((now - timedelta(days=3), "organic_search", None),
                                  (now - timedelta(hours=2), "microsoft_ads", click)):  # fmt: skip
        db.session.add(Touchpoint(workspace_id=workspace_id, visitor_id=visitor_id, occurred_at=at,
                                  channel=channel, utm={}, click_param="msclkid" if click_id else None,
                                  click_id=click_id))  # fmt: skip
    db.session.commit()
    return conversion_id, click


def test_external_goal_gets_model_and_credit_and_microsoft_counts_it(
    ms_app, world, emulator
) -> None:
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"partner": PARTNER_SALE, "purchase": h.CLOSED_WON})
    ws = world.workspace_id
    _, partner_click = with_journey(ws, "partner", emulator)
    _, purchase_click = with_journey(ws, "purchase", emulator)
    summary = push.run(connection_id)
    assert summary.sent == 2, summary.text

    rows = {r["Request"]["MicrosoftClickId"]: r for r in h.received(emulator)}
    partner = rows[partner_click]
    assert partner["Status"] == "Accepted" and partner["UnattributedReason"] is None
    assert partner["Request"]["ExternalAttributionModel"] == "SourceLoop Linear"
    assert partner["Request"]["ExternalAttributionCredit"] == 0.5  # two touches, linear
    purchase = rows[purchase_click]
    assert purchase["Status"] == "Accepted"
    assert "ExternalAttributionModel" not in purchase["Request"]
    assert "ExternalAttributionCredit" not in purchase["Request"]
