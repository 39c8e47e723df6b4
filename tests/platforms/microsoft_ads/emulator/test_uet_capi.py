"""The emulator's UET Conversions API, as Microsoft documents it: auth before anything else,
1 to 1,000 events, per-event errors and warnings with Microsoft's codes, the first 10 details
only, ``continueOnValidationError`` semantics, de-duplication by (tag, eventId, eventName),
consent recorded, and the read-back through the control API."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from platforms.microsoft_ads.emulator.seed import SEEDED_UET_TAGS

TAG, TOKEN = next(iter(SEEDED_UET_TAGS.items()))
EM = "ec81f3ac7b2b19675bab9d54cf416f9f18cff87c97da5cca82c0f0891bc40602"


def ev(clock, i: int = 0, **kw: Any) -> dict[str, Any]:
    base = {"eventType": "custom", "eventId": f"e{i}", "eventName": "purchase",
            "eventTime": int(clock().timestamp()) - 60, "userData": {"em": EM}}  # fmt: skip
    return base | kw


def post(client: FlaskClient, body: Any, token: str = TOKEN, tag: str = TAG):
    return client.post(f"/v1/{tag}/events", json=body, headers={"Authorization": f"Bearer {token}"})


def stored(client: FlaskClient) -> list[dict]:
    return client.get("/_emulator/uet/events").get_json()["events"]


def test_auth_comes_first_with_microsofts_exact_401_body(client, clock) -> None:
    expected = {"error": {"code": "Unauthorized",
                          "message": "You are not authorized to access this resource."}}  # fmt: skip
    for answer in (
        post(client, {"data": [ev(clock)]}, token="wrong"),
        post(client, {"data": []}, token="wrong"),  # invalid body, but auth is checked first
        post(client, {"data": [ev(clock)]}, tag="123"),  # a token is tied to its tag
        client.post(f"/v1/{TAG}/events", json={"data": [ev(clock)]}),
    ):
        assert (answer.status_code, answer.get_json()) == (401, expected)


def test_a_request_holds_one_to_a_thousand_events(client, clock) -> None:
    assert post(client, {"data": []}).status_code == 400
    assert post(client, {"nodata": 1}).status_code == 400
    too_many = post(client, {"data": [ev(clock, i) for i in range(1001)]})
    assert too_many.status_code == 400
    assert too_many.get_json()["error"]["details"][0]["propertyName"] == "data"
    full = post(client, {"data": [ev(clock, i) for i in range(1000)]})
    assert (full.status_code, full.get_json()["eventsReceived"]) == (200, 1000)


def test_one_invalid_event_refuses_the_whole_request_by_default(client, clock) -> None:
    answer = post(client, {"data": [ev(clock, 0), ev(clock, 1, eventType="purchase")]})
    assert answer.status_code == 400
    [detail] = answer.get_json()["error"]["details"]
    assert detail == {"index": 1, "propertyName": "data[1].eventType",
                      "errorMessage": "'eventType' must be one of the following: pageLoad, custom.",
                      "errorCode": "InvalidEnumValue", "isWarning": False}  # fmt: skip
    assert stored(client) == []


def test_continue_on_validation_error_keeps_the_valid_events(client, clock) -> None:
    old = int(clock().timestamp()) - 8 * 86400
    body = {"continueOnValidationError": True, "data": [
        ev(clock, 0), ev(clock, 1, eventTime=old), ev(clock, 2, userData={}),
        ev(clock, 3, eventTime=None), ev(clock, 4, userData={"em": "plain@example.com", "msclkid": "dd4afccc-b1c9-4a4c-ad95-44dd7e5006ab"}),
    ]}  # fmt: skip
    answer = post(client, body)
    assert answer.status_code == 200
    got = answer.get_json()
    assert got["eventsReceived"] == 2
    codes = {(d["index"], d["errorCode"], d["isWarning"]) for d in got["error"]["details"]}
    assert codes == {(1, "InvalidEventTime", False), (2, "MissingUserIdentifier", False),
                     (3, "Empty", False), (4, "InvalidSha256", True)}  # fmt: skip
    time_detail = next(d for d in got["error"]["details"] if d["index"] == 1)
    assert time_detail["attemptedValue"] == old
    kept = {e["event_id"]: e["event"] for e in stored(client)}
    assert set(kept) == {"e0", "e4"}
    assert "em" not in kept["e4"]["userData"]  # a warning drops the field, keeps the event
    none_valid = post(
        client, {"continueOnValidationError": True, "data": [ev(clock, 9, userData={})]}
    )
    assert none_valid.status_code == 400


def test_only_the_first_ten_details_are_listed(client, clock) -> None:
    body = {"continueOnValidationError": True,
            "data": [ev(clock, i, eventType="x") for i in range(15)] + [ev(clock, 99)]}  # fmt: skip
    got = post(client, body).get_json()
    assert got["eventsReceived"] == 1 and len(got["error"]["details"]) == 10


def test_a_repeat_of_the_same_event_is_counted_once_and_consent_is_recorded(client, clock) -> None:
    post(client, {"data": [ev(clock, 1, adStorageConsent="D")]})
    post(client, {"data": [ev(clock, 1, adStorageConsent="D")]})
    post(client, {"data": [ev(clock, 2)]})
    events = {e["event_id"]: e for e in stored(client)}
    assert (
        events["e1"]["repeats"],
        events["e1"]["consent"],
        events["e1"]["excluded_from_attribution"],
    ) == (1, "D", True)
    assert (events["e2"]["consent"], events["e2"]["excluded_from_attribution"]) == ("G", False)
    assert post(client, {"data": [ev(clock, 3, adStorageConsent="G|D")]}).status_code == 400


def test_a_new_token_replaces_the_old_one(client, clock) -> None:
    assert (
        client.post("/_emulator/uet/tags", json={"tag_id": TAG, "token": "fresh-token"}).status_code
        == 200
    )
    assert post(client, {"data": [ev(clock)]}).status_code == 401
    assert post(client, {"data": [ev(clock)]}, token="fresh-token").status_code == 200
    assert client.post("/_emulator/uet/tags", json={"tag_id": "x"}).status_code == 400
