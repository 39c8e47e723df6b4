"""The push service with the Google Ads plugin against the Google emulator process (in this
process, no worker): what the Data Manager API receives, a refused row isolated, nothing sent
twice, and refunds (a restatement under the original transaction id; a retraction refused with
the reason, since the Data Manager API documents none)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from platforms.base import AccountRef
from tests.conftest import make_world
from tests.connections.test_connect_google_ads import connect
from tests.helpers.google_ads import CLOSED_WON, US, add_conversion, click, configure, received
from webapp.extensions import db
from webapp.models import AdjustmentDelivery, Conversion, ConversionAdjustment, ConversionDelivery
from webapp.models.types import utcnow
from webapp.push import send as push

D = ConversionDelivery


@pytest.fixture
def world(gads_app, redis):
    return make_world()


@pytest.fixture
def connection_id(gads_app, world, google_emulator) -> int:
    connection_id = connect(gads_app, world, google_emulator, US)
    configure(world, connection_id, {"purchase": CLOSED_WON})
    return connection_id


def ledger(connection_id: int) -> dict[str, D]:
    db.session.expire_all()
    return {
        r.click_id: r for r in db.session.scalars(select(D).where(D.connection_id == connection_id))
    }


def test_conversions_reach_google_once_and_a_refused_row_is_isolated(
    world, google_emulator, connection_id
) -> None:
    good = [click(google_emulator) for _ in range(3)]
    for gclid in good:
        add_conversion(world, gclid, "49.90")
    bad = click(google_emulator)
    add_conversion(world, bad, "10", currency="ZZZ")

    summary = push.run(connection_id)

    assert (summary.sent, summary.failed) == (3, 1)
    events = received(google_emulator)
    assert Counter(e["ad_identifiers"]["gclid"] for e in events) == dict.fromkeys(good, 1)
    assert all(e["status"] == "SUCCESS" for e in events)
    assert {(e["conversion_value"], e["currency"], e["event_source"]) for e in events} == {
        (49.9, "USD", "WEB")
    }
    assert all(e["transaction_id"].startswith("sl-") for e in events)
    book = ledger(connection_id)
    assert {book[g].status for g in good} == {"sent"}
    assert (book[bad].status, book[bad].error_code) == ("failed", "INVALID_CURRENCY_CODE")
    assert book[bad].error_message.startswith("Google does not accept this currency code")

    again = push.run(connection_id)
    assert (again.sent, again.api_calls) == (0, 0)
    assert len(received(google_emulator)) == 3


def test_a_partial_refund_restates_under_the_original_transaction_id(
    world, google_emulator, connection_id
) -> None:
    full_click, partial_click = click(google_emulator), click(google_emulator)
    add_conversion(world, full_click, "200")
    add_conversion(world, partial_click, "300")
    assert push.run(connection_id).sent == 2
    originals = {e["ad_identifiers"]["gclid"]: e for e in received(google_emulator)}
    conversions = {c.external_id: c.id for c in db.session.scalars(select(Conversion))}
    now = utcnow()
    for gclid, value, ref in ((full_click, "0", "re_full"), (partial_click, "120.00", "re_part")):
        db.session.add(
            ConversionAdjustment(
                workspace_id=world.workspace_id,
                conversion_id=conversions[f"order-{gclid[-12:]}"],
                kind="refund",
                new_value=Decimal(value),
                currency="USD",
                occurred_at=now - timedelta(minutes=1),
                external_id=ref,
            )
        )
    db.session.commit()

    summary = push.run(connection_id)

    assert (summary.adjustments_sent, summary.adjustments_failed) == (1, 1)
    restated = [e for e in received(google_emulator) if e["adjustment"]]
    assert len(restated) == 1
    assert restated[0]["transaction_id"] == originals[partial_click]["transaction_id"]
    assert restated[0]["conversion_value"] == 120.0 and restated[0]["status"] == "SUCCESS"
    rows = {r.kind: r for r in db.session.scalars(select(AdjustmentDelivery))}
    assert rows["retract"].status == "failed" and rows["retract"].error_code == "SL_NO_RETRACTION"
    assert "no way to retract" in rows["retract"].error_message
    assert push.run(connection_id).adjustments_sent == 0  # sent once only


def test_googles_processing_status_is_pulled_back_per_goal_and_day(
    gads_app, world, google_emulator, connection_id
) -> None:
    from webapp.connections.credentials import session_for_connection
    from webapp.extensions import platform_registry
    from webapp.insights import sync
    from webapp.models import Connection, GoalDiagnosticsDaily

    known = [click(google_emulator) for _ in range(2)]
    for gclid in known:
        add_conversion(world, gclid)
    add_conversion(world, "Cj0KCQiA-never-clicked-0001")  # well formed, unknown to Google
    assert push.run(connection_id).sent == 3  # accepted: Google checks clicks later

    book = ledger(connection_id)
    requests_seen = {e["request_id"] for e in received(google_emulator)}
    assert {r.receipt for r in book.values()} == requests_seen  # the request id, per row

    connection = db.session.get(Connection, connection_id)
    platform = platform_registry().get("google_ads")
    stored = sync.pull_diagnostics(
        connection_id,
        platform,
        session_for_connection(connection_id),
        AccountRef(connection.account_id, connection.customer_id),
        utcnow().date(),
    )

    assert stored == 1
    [day] = db.session.scalars(select(GoalDiagnosticsDaily)).all()
    assert (day.goal_id, day.goal_name) == (CLOSED_WON, "Closed won (offline)")
    assert (day.success_count, day.unattributed_count) == (2, 1)
    assert day.reasons == {"INVALID_GCLID": 1}
