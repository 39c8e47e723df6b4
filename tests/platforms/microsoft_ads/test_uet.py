"""The UET Conversions API client (capability ``realtime_events``): Microsoft's own hashing
vectors, the event mapping, reading per-event errors and warnings, and the calls against the
emulator's endpoint (token, limits, throttling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from platforms.base import RealtimeEvent
from platforms.errors import RateLimited
from platforms.microsoft_ads import hashing, uet
from platforms.microsoft_ads.emulator.seed import SEEDED_UET_TAGS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TAG, TOKEN = next(iter(SEEDED_UET_TAGS.items()))


def event(row_id: int = 1, **kw) -> RealtimeEvent:
    values = {"event_id": f"evt-{row_id}", "event_name": "purchase",
              "occurred_at": NOW - timedelta(minutes=5), "click_id": "dd4afcccb1c94a4cad9544dd7e5006ab"}  # fmt: skip
    return RealtimeEvent(row_id=row_id, **(values | kw))


def test_email_and_phone_hash_to_microsofts_published_capi_vectors() -> None:
    # The CAPI guide's hashing section: john@contoso.com and +14255551234 (the "+" is kept).
    assert hashing.RULES.email_sha256(" John@Contoso.com ") == (
        "ec81f3ac7b2b19675bab9d54cf416f9f18cff87c97da5cca82c0f0891bc40602"
    )
    assert hashing.RULES.phone_sha256("+1 (425) 555-1234") == (
        "c59475d96e9f01d7d18d06cfad84dd02333207f02c0c2c5663ef2782cda0390e"
    )
    # Dots and +alias go from the user part on every domain, as the guide says.
    assert hashing.RULES.email_sha256("j.o.h.n+ads@contoso.com") == hashing.RULES.email_sha256(
        "john@contoso.com"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("dd4afcccb1c94a4cad9544dd7e5006ab", "dd4afccc-b1c9-4a4c-ad95-44dd7e5006ab"),
        ("DD4AFCCCB1C94A4CAD9544DD7E5006AB-1", "dd4afccc-b1c9-4a4c-ad95-44dd7e5006ab"),
        ("dd4afccc-b1c9-4a4c-ad95-44dd7e5006ab", "dd4afccc-b1c9-4a4c-ad95-44dd7e5006ab"),
        ("not-a-click", None),
        (None, None),
    ],
)
def test_msclkid_is_sent_as_the_uuid_capi_asks_for(raw, expected) -> None:
    assert uet.msclkid_for_capi(raw) == expected


def test_an_event_maps_to_a_custom_event_with_consent_value_and_ids() -> None:
    body = uet.event_json(
        event(value=Decimal("49.90"), currency="eur", hashed_email="a" * 64, hashed_phone="b" * 64,
              visitor_id="v123", transaction_id="order-1", ad_storage_consent="granted")
    )  # fmt: skip
    assert body == {
        "eventType": "custom",
        "eventId": "evt-1",
        "eventName": "purchase",
        "eventTime": int((NOW - timedelta(minutes=5)).timestamp()),
        "adStorageConsent": "G",
        "userData": {"msclkid": "dd4afccc-b1c9-4a4c-ad95-44dd7e5006ab", "em": "a" * 64,
                     "ph": "b" * 64, "anonymousId": "v123"},
        "customData": {"value": 49.9, "currency": "EUR", "transactionId": "order-1"},
    }  # fmt: skip
    assert uet.event_json(event(ad_storage_consent="denied"))["adStorageConsent"] == "D"
    assert "adStorageConsent" not in uet.event_json(event())  # unknown: Microsoft's default
    assert "em" not in uet.event_json(event(hashed_email="plain@example.com"))["userData"]


def test_events_microsoft_would_refuse_are_refused_before_the_call() -> None:
    assert uet.local_problem(event(occurred_at=NOW - timedelta(days=8)), NOW) == "InvalidEventTime"
    assert uet.local_problem(event(click_id=None), NOW) == "NoUserData"
    assert uet.local_problem(event(), NOW) is None


def test_per_event_details_are_read_by_index_and_the_rest_checked_against_events_received() -> None:
    events = [event(i) for i in range(4)]
    answer = {
        "eventsReceived": 3,
        "error": {"code": "ValidationError", "details": [
            {"index": 1, "propertyName": "data[1].eventTime", "errorCode": "InvalidEventTime",
             "errorMessage": "bad time", "isWarning": False},
            {"index": 2, "propertyName": "data[2].userData.em", "errorCode": "InvalidSha256",
             "errorMessage": "bad hash", "isWarning": True},
        ]},
    }  # fmt: skip
    outcomes = uet.read_answer(events, 200, answer)
    assert [(o.accepted, o.error_code) for o in outcomes] == [
        (True, None), (False, "InvalidEventTime"), (True, "InvalidSha256"), (True, None)
    ]  # fmt: skip
    # Fewer received than not refused (only 10 details are listed): unconfirmed, sent again.
    short = uet.read_answer(events, 200, answer | {"eventsReceived": 1})
    assert [o.error_code for o in short] == [
        "Unconfirmed", "InvalidEventTime", "Unconfirmed", "Unconfirmed"
    ]  # fmt: skip
    # A 400 kept nothing: events without their own detail share the request's problem.
    refused = uet.read_answer(events, 400, answer)
    assert [o.accepted for o in refused] == [False] * 4
    assert (
        refused[1].error_code == "InvalidEventTime" and refused[0].error_code == "ValidationError"
    )


@pytest.fixture
def capi(emulator: str) -> str:
    return emulator


def test_events_reach_the_emulator_and_are_read_back(capi: str) -> None:
    now = datetime.now(UTC)
    events = [event(1, occurred_at=now), event(2, occurred_at=now, ad_storage_consent="denied")]
    with requests.Session() as session:
        outcomes = uet.send(session, capi, {"tag_id": TAG, "token": TOKEN}, events, now)
    assert [o.accepted for o in outcomes] == [True, True]
    back = requests.get(f"{capi}/_emulator/uet/events", params={"tag_id": TAG}, timeout=10).json()
    assert {(e["event_id"], e["consent"]) for e in back["events"]} == {
        ("evt-1", "G"),
        ("evt-2", "D"),
    }
    assert back["requests"][0]["data_provider"] == "sourceloop"


def test_a_wrong_token_refuses_every_event_as_unauthorized(capi: str) -> None:
    now = datetime.now(UTC)
    with requests.Session() as session:
        outcomes = uet.send(
            session, capi, {"tag_id": TAG, "token": "wrong"}, [event(occurred_at=now)], now
        )
        other_tag = uet.send(
            session, capi, {"tag_id": "999", "token": TOKEN}, [event(occurred_at=now)], now
        )
    assert [(o.accepted, o.error_code) for o in outcomes + other_tag] == [
        (False, "Unauthorized")
    ] * 2


def test_a_throttled_call_raises_rate_limited(capi: str) -> None:
    requests.post(f"{capi}/_emulator/faults", json={"operation": "UetCapiEvents", "kind": "throttle"},
                  timeout=10).raise_for_status()  # fmt: skip
    now = datetime.now(UTC)
    with requests.Session() as session, pytest.raises(RateLimited):
        uet.send(session, capi, {"tag_id": TAG, "token": TOKEN}, [event(occurred_at=now)], now)
