"""Every body the plugin sends parses into Google's official message with no unknown field
(``google-ads-datamanager``'s ``IngestEventsRequest``; tests only, the plugin never imports it),
and carries what Google's guides ask for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from google.ads import datamanager_v1

from platforms.base import AccountRef, ConversionAdjustment, ConversionUpload
from platforms.google_ads import mapping
from platforms.google_ads.hashing import RULES

WHEN = datetime(2026, 11, 30, 12, 30, 15, 123456, tzinfo=UTC)
TARGET = mapping.GoalTarget(id="987654321", name="Closed won", owner="1234567890", status="ENABLED")


def parse(body: dict) -> datamanager_v1.IngestEventsRequest:
    return datamanager_v1.IngestEventsRequest.from_json(
        json.dumps(body), ignore_unknown_fields=False
    )


def rows() -> list[ConversionUpload]:
    return [
        ConversionUpload(
            1,
            "Closed won",
            WHEN,
            "Cj0KCQiA-abc_DEF123",
            Decimal("12.50"),
            "eur",
            click_param="gclid",
            ad_storage_consent="granted",
        ),
        ConversionUpload(2, "Closed won", WHEN, "0AAAAAbraid", click_param="gbraid"),
        ConversionUpload(
            3,
            "Closed won",
            WHEN,
            None,
            Decimal("99"),
            "USD",
            hashed_email=RULES.email_sha256("alexz@example.com"),
            hashed_phone=RULES.phone_sha256("+18005550100"),
            ad_storage_consent="denied",
        ),
        ConversionUpload(4, "Closed won", WHEN, "wbraid-1234", click_param="wbraid"),
    ]


def test_ingest_request_parses_into_the_official_message() -> None:
    account = AccountRef("1234567890", customer_id="1112223333")
    events = [mapping.conversion_event(r, "WEB") for r in rows()]
    body = mapping.ingest_body(mapping.destination(TARGET, account), events)

    message = parse(body)

    dest = message.destinations[0]
    assert dest.operating_account.account_id == "1234567890"
    assert dest.operating_account.account_type.name == "GOOGLE_ADS"
    assert dest.login_account.account_id == "1112223333"
    assert dest.product_destination_id == "987654321"
    assert message.encoding.name == "HEX"  # user data present
    assert not message.validate_only
    first, second, third, fourth = message.events
    assert first.ad_identifiers.gclid == "Cj0KCQiA-abc_DEF123"
    assert first.conversion_value == 12.5 and first.currency == "EUR"
    assert first.consent.ad_user_data.name == "CONSENT_GRANTED"
    assert first.event_source.name == "WEB"
    assert first.event_timestamp.isoformat().startswith("2026-11-30T12:30:15")
    assert second.ad_identifiers.gbraid == "0AAAAAbraid"
    assert fourth.ad_identifiers.wbraid == "wbraid-1234"
    identifiers = [i.email_address or i.phone_number for i in third.user_data.user_identifiers]
    assert identifiers == [
        "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a",
        "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30",
    ]
    assert third.consent.ad_user_data.name == "CONSENT_DENIED"
    assert "consent" not in body["events"][1]  # unknown consent is not sent
    assert len({e.transaction_id for e in message.events}) == 4


def test_direct_account_sends_no_login_account_and_dry_run_sets_validate_only() -> None:
    events = [mapping.conversion_event(rows()[1], "OTHER")]
    body = mapping.ingest_body(
        mapping.destination(TARGET, AccountRef("1234567890")), events, validate_only=True
    )

    message = parse(body)

    assert message.validate_only
    assert "loginAccount" not in body["destinations"][0]
    assert "encoding" not in body  # no user data, no encoding
    assert message.events[0].event_source.name == "OTHER"


def test_manager_owned_conversion_action_is_sent_to_its_owner() -> None:
    owned_by_manager = mapping.GoalTarget("55", "Lead", owner="1112223333", status="ENABLED")
    dest = mapping.destination(owned_by_manager, AccountRef("1234567890", "1112223333"))
    assert dest["operatingAccount"]["accountId"] == "1112223333"
    assert "loginAccount" not in dest  # the login account is the operating account itself


def test_adjustment_restates_under_the_original_transaction_id() -> None:
    original = rows()[0]
    restated = ConversionAdjustment(
        row_id=77,
        kind="restate",
        goal_name=original.goal_name,
        occurred_at=original.occurred_at,
        adjusted_at=WHEN + timedelta(days=3),
        click_id=original.click_id,
        click_param="gclid",
        value=Decimal("5"),
        currency="EUR",
    )

    event = mapping.adjustment_event(restated, "WEB")
    parse(mapping.ingest_body(mapping.destination(TARGET, AccountRef("1234567890")), [event]))

    assert event["transactionId"] == mapping.transaction_id(original)
    assert event["conversionValue"] == 5.0
    assert event["adIdentifiers"] == {"gclid": original.click_id}


def test_transaction_id_is_stable_and_distinct() -> None:
    a, b = rows()[0], rows()[1]
    assert mapping.transaction_id(a) == mapping.transaction_id(rows()[0])
    assert mapping.transaction_id(a) != mapping.transaction_id(b)
    # Sub-second differences do not make a new conversion (Google's time is to the second).
    later = ConversionUpload(
        1, a.goal_name, WHEN.replace(microsecond=0), a.click_id, click_param="gclid"
    )
    assert mapping.transaction_id(later) == mapping.transaction_id(a)
    assert len(mapping.transaction_id(a)) <= 64
