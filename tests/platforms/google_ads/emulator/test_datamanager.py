"""The Data Manager API as the emulator plays it: fast-fail validation with Google's error
details, destinations and permissions, asynchronous processing with per-destination status,
matching against minted clicks and seeded identities, de-duplication and restatements. Every
reply parses into the official ``google-ads-datamanager`` message types."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from platforms.google_ads.emulator import create_app

from .conftest import (
    ADWORDS,
    AGENCY_USER,
    DIRECT,
    MANAGER,
    UK,
    US,
    bearer,
    tokens_for,
)
from .contract import INGEST_RESPONSE, STATUS_RESPONSE, rpc_status, strict

INT_ENUMS = "$alt=json;enum-encoding=int"


class Dm:
    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.token = token

    def ingest(self, body: dict[str, Any], query: str = "") -> tuple[int, dict[str, Any]]:
        response = self.client.post(
            f"/v1/events:ingest{query}", headers=bearer(self.token), json=body
        )
        payload = response.get_json()
        if response.status_code == 200:
            strict(INGEST_RESPONSE, payload)
        else:
            rpc_status(payload)
        return response.status_code, payload

    def status(self, request_id: str, query: str = "") -> tuple[int, dict[str, Any]]:
        sep = "&" if query else ""
        response = self.client.get(f"/v1/requestStatus:retrieve?requestId={request_id}{sep}{query}",
                                   headers=bearer(self.token))  # fmt: skip
        payload = response.get_json()
        if response.status_code == 200:
            strict(STATUS_RESPONSE, payload)
        else:
            rpc_status(payload)
        return response.status_code, payload

    def accepted(self, body: dict[str, Any]) -> str:
        status, payload = self.ingest(body)
        assert status == 200, payload
        return payload["requestId"]


@pytest.fixture
def dm(client, agency_token) -> Dm:
    return Dm(client, agency_token)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def destination(customer: str = UK, action: str = "700000011", login: str | None = MANAGER,
                **extra: Any) -> dict[str, Any]:  # fmt: skip
    dest: dict[str, Any] = {"operatingAccount": {"accountId": customer, "accountType": "GOOGLE_ADS"},
                            "productDestinationId": action, **extra}  # fmt: skip
    if login:
        dest["loginAccount"] = {"accountId": login, "accountType": "GOOGLE_ADS"}
    return dest


def event(gclid: str | None, at: datetime, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"eventTimestamp": ts(at), "eventSource": "WEB", "currency": "GBP",
                            "conversionValue": 12.5, **extra}  # fmt: skip
    if gclid:
        body["adIdentifiers"] = {"gclid": gclid}
    return body


def click(client, customer: str = UK, hours_ago: float = 30, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/_emulator/clicks", json={"customer_id": customer, "hours_ago": hours_ago, **extra}
    )
    assert response.status_code == 201, response.json
    return response.json


def violations(payload: dict[str, Any]) -> list[tuple[str, str]]:
    details = {d["@type"].rsplit(".", 1)[-1]: d for d in payload["error"]["details"]}
    return [(v["field"], v.get("reason", "")) for v in details["BadRequest"]["fieldViolations"]]


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_accepted_request_is_processing_then_reports_counts_per_reason(client, clock, agency_token):
    app = create_app({"processing_delay_seconds": 600, "click_min_age_minutes": 0}, clock=clock)
    client = app.test_client()
    dm = Dm(client, tokens_for(client, AGENCY_USER)["access_token"])
    good = click(client)
    now = clock.now
    request_id = dm.accepted({"destinations": [destination()], "events": [
        event(good["gclid"], now, transactionId="T-1"),
        event("Cj0KCQiAunknown", now, transactionId="T-2"),
        event(good["gclid"], now, transactionId="T-1"),  # the same order again
    ]})  # fmt: skip
    status, body = dm.status(request_id)
    [dest] = body["requestStatusPerDestination"]
    assert dest["requestStatus"] == "PROCESSING" and "errorInfo" not in dest
    assert dest["eventsIngestionStatus"] == {"recordCount": "3"}
    assert dest["destination"]["operatingAccount"] == {"accountId": UK, "accountType": "GOOGLE_ADS"}
    clock.advance(seconds=601)
    status, body = dm.status(request_id)
    [dest] = body["requestStatusPerDestination"]
    assert dest["requestStatus"] == "PARTIAL_SUCCESS"
    assert dest["errorInfo"] == {"errorCounts": [
        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"},
        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_INVALID_GCLID"}]}  # fmt: skip
    status, ints = dm.status(request_id, INT_ENUMS)
    [dest] = ints["requestStatusPerDestination"]
    assert (
        dest["requestStatus"] == 4 and dest["destination"]["operatingAccount"]["accountType"] == 1
    )
    assert {c["reason"] for c in dest["errorInfo"]["errorCounts"]} == {8, 10}
    readback = client.get(f"/_emulator/requests/{request_id}").json
    assert (readback["records"], readback["succeeded"], readback["failed"]) == (3, 1, 2)
    assert [e["status"] for e in readback["events"]] == ["SUCCESS", "FAILED", "FAILED"]


def test_one_bad_event_rejects_the_whole_request_and_names_it(dm, client, clock):
    good = click(client)
    body = {"encoding": "HEX", "destinations": [destination()], "events": [
        event(good["gclid"], clock.now),
        event(None, clock.now, userData={"userIdentifiers": [{"emailAddress": "not-hex!"}]}),
        event(good["gclid"], clock.now, currency="EURO"),
    ]}  # fmt: skip
    status, payload = dm.ingest(body)
    assert status == 400 and payload["error"]["status"] == "INVALID_ARGUMENT"
    assert payload["error"]["message"] == "There was a problem with the request."
    assert violations(payload) == [
        ("events[1].user_data.user_identifiers[0].email_address", "INVALID_HEX_ENCODING"),
        ("events[2].currency", "INVALID_CURRENCY_CODE")]  # fmt: skip
    info = payload["error"]["details"][0]
    assert (
        info["reason"] == "INVALID_HEX_ENCODING" and info["domain"] == "datamanager.googleapis.com"
    )
    assert client.get("/_emulator/events").json["count"] == 0  # nothing was taken


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda b: b.update(events=[b["events"][0]] * 2001), [("events", "TOO_MANY_EVENTS")]),
    (lambda b: b.update(destinations=[destination(reference=f"r{i}") for i in range(11)]),
     [("destinations", "TOO_MANY_DESTINATIONS")]),
    (lambda b: b.update(destinations=[destination(reference="a"), destination(reference="a")]),
     [("destinations[1].reference", "DUPLICATE_DESTINATION_REFERENCE")]),
    (lambda b: b.update(destinations=[]), [("destinations", "REQUIRED_FIELD_MISSING")]),
    (lambda b: b["events"][0].pop("eventTimestamp"), [("events[0].event_timestamp", "REQUIRED_FIELD_MISSING")]),
    (lambda b: b["events"][0].pop("eventSource"), [("events[0].event_source", "REQUIRED_FIELD_MISSING")]),
    (lambda b: b["events"][0].pop("adIdentifiers"), [("events[0]", "NO_IDENTIFIERS_PROVIDED")]),
    (lambda b: b["destinations"][0]["loginAccount"].update(accountId="111-222-3333"),
     [("destinations[0].login_account.account_id", "INVALID_NUMBER_FORMAT")]),
    (lambda b: b["destinations"][0]["operatingAccount"].pop("accountType"),
     [("destinations[0].operating_account.account_type", "REQUIRED_FIELD_MISSING")]),
    (lambda b: b["destinations"][0].pop("productDestinationId"),
     [("destinations[0].product_destination_id", "REQUIRED_FIELD_MISSING")]),
    (lambda b: b["events"][0].update(destinationReferences=["nope"]),
     [("events[0].destination_references[0]", "INVALID_DESTINATION")]),
    (lambda b: b["events"][0].update(userData={"userIdentifiers": [{"emailAddress": sha("a@b.c")}]}),
     [("encoding", "REQUIRED_FIELD_MISSING")]),
    (lambda b: b.update(encoding="HEX") or b["events"][0].update(
        userData={"userIdentifiers": [{"phoneNumber": sha("+1")[:60]}]}),
     [("events[0].user_data.user_identifiers[0].phone_number", "INVALID_SHA256_FORMAT")]),
    (lambda b: b.update(encoding="BASE64") or b["events"][0].update(
        userData={"userIdentifiers": [{"emailAddress": "%%%"}]}),
     [("events[0].user_data.user_identifiers[0].email_address", "INVALID_BASE64_ENCODING")]),
    (lambda b: b.update(encoding="HEX") or b["events"][0].update(
        userData={"userIdentifiers": [{"emailAddress": sha(str(i))} for i in range(11)]}),
     [("events[0].user_data.user_identifiers", "TOO_MANY_USER_IDENTIFIERS")]),
    (lambda b: b["events"][0].update(eventTimestamp=ts(datetime.now(UTC) + timedelta(days=2))),
     [("events[0].event_timestamp", "EVENT_TIME_INVALID")]),
])  # fmt: skip
def test_fast_fail_rules(dm, client, clock, mutate, expected):
    good = click(client)
    body = {"destinations": [destination()], "events": [event(good["gclid"], clock.now)]}
    mutate(body)
    status, payload = dm.ingest(body)
    assert status == 400, payload
    assert violations(payload)[: len(expected)] == expected


def test_json_parser_refuses_unknown_names_and_bad_values(dm, client, clock):
    good = click(client)
    body = {"destinations": [destination()], "events": [event(good["gclid"], clock.now)]}
    body["events"][0]["gclid"] = "x"  # belongs in adIdentifiers
    status, payload = dm.ingest(body)
    assert status == 400
    assert payload["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "gclid" at \'events[0]\': Cannot find field.')  # fmt: skip
    body["events"][0].pop("gclid")
    body["events"][0]["eventSource"] = "WEBSITE"
    status, payload = dm.ingest(body)
    assert status == 400 and "events[0].event_source" in payload["error"]["message"]
    body["events"][0]["eventSource"] = 1  # numbers are fine, as the official client sends them
    body["events"][0]["event_timestamp"] = body["events"][0].pop(
        "eventTimestamp"
    )  # proto names too
    assert dm.ingest(body)[0] == 200


def test_permissions_follow_login_account_and_scopes(dm, client, clock, direct_token):
    good = click(client)
    body = {"destinations": [destination(login=None)], "events": [event(good["gclid"], clock.now)]}
    status, payload = dm.ingest(body)  # UK is reachable only through the manager
    assert status == 403 and payload["error"]["status"] == "PERMISSION_DENIED"
    assert violations(payload) == [
        ("destinations[0].operating_account.account_id", "PERMISSION_DENIED")
    ]
    body["destinations"] = [destination(customer=DIRECT, action="700000031")]
    status, payload = dm.ingest(body)
    assert status == 400
    assert violations(payload) == [("destinations[0].operating_account.account_id",
                                    "OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH")]  # fmt: skip
    status, payload = Dm(client, direct_token).ingest({"destinations": [destination()],
                                                       "events": [event(good["gclid"], clock.now)]})  # fmt: skip
    assert status == 403
    ads_only = tokens_for(client, AGENCY_USER, scope=ADWORDS)["access_token"]
    status, payload = Dm(client, ads_only).ingest(body)
    assert status == 403
    assert payload["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert client.post("/v1/events:ingest", json=body).status_code == 401


@pytest.mark.parametrize(("customer", "action", "reason"), [
    (US, "700000004", "INVALID_CONVERSION_ACTION_TYPE"),  # WEBPAGE
    (US, "700000003", "INVALID_CONVERSION_ACTION_ID"),  # REMOVED
    (US, "700000011", "INVALID_CONVERSION_ACTION_ID"),  # another account's action
    (US, "700000005", "CONVERSION_ACTION_TOO_RECENTLY_CREATED"),  # created 5 minutes ago
    (MANAGER, "700000001", "INVALID_DESTINATION"),  # a manager owns no conversions here
])  # fmt: skip
def test_conversion_action_checks(dm, client, clock, customer, action, reason):
    good = click(client, customer=US)
    body = {"destinations": [destination(customer=customer, action=action)],
            "events": [event(good["gclid"], clock.now, currency="USD")]}  # fmt: skip
    status, payload = dm.ingest(body)
    assert status == 400
    assert violations(payload)[0][1] == reason


def outcome(client, request_id: str) -> list[str | None]:
    events = client.get(f"/_emulator/requests/{request_id}").json["events"]
    return [e["reason"] or e["status"] for e in events]


def test_matching_reasons(dm, client, clock):
    old = click(client, hours_ago=24 * 100)  # the UK action's window is 90 days
    other_account = click(client, customer=US)
    fresh = click(client, hours_ago=30)
    gbraid = click(client, kind="gbraid")
    now = clock.now
    request_id = dm.accepted({"destinations": [destination()], "events": [
        event(fresh["gclid"], now, transactionId="ok"),
        event(old["gclid"], now - timedelta(days=1)),
        event(other_account["gclid"], now),
        event(fresh["gclid"], now - timedelta(days=3)),
        event(fresh["gclid"], now, transactionId="c1", consent={"adUserData": "CONSENT_DENIED"}),
        event(None, now, adIdentifiers={"gbraid": gbraid["gbraid"]}),
        event(None, now, adIdentifiers={"wbraid": "CkQKEwunknown"}),
    ]})  # fmt: skip
    assert outcome(client, request_id) == [
        "SUCCESS",
        "PROCESSING_ERROR_REASON_EVENT_TOO_OLD",
        "PROCESSING_ERROR_OPERATING_ACCOUNT_MISMATCH_FOR_AD_IDENTIFIER",
        "PROCESSING_ERROR_REASON_CONVERSION_PRECEDES_CLICK",
        "PROCESSING_ERROR_REASON_DENIED_CONSENT",
        "SUCCESS",  # a gbraid on a MANY_PER_CLICK action
        "PROCESSING_ERROR_REASON_INVALID_WBRAID",
    ]


def test_click_window_and_too_recent_click(client, clock):
    app = create_app({"processing_delay_seconds": 0}, clock=clock)  # clicks need 6 hours
    client = app.test_client()
    dm = Dm(client, tokens_for(client, AGENCY_USER)["access_token"])
    us = {"destinations": [destination(customer=US, action="700000002", login=None)]}
    old = click(client, customer=US, hours_ago=24 * 40)  # outside the ECL action's 30 days
    recent = click(client, customer=US, hours_ago=2)
    ok = click(client, customer=US, hours_ago=7)
    request_id = dm.accepted({**us, "events": [
        event(old["gclid"], clock.now, currency="USD"),
        event(recent["gclid"], clock.now, currency="USD"),
        event(ok["gclid"], clock.now, currency="USD"),
    ]})  # fmt: skip
    assert outcome(client, request_id) == ["PROCESSING_ERROR_REASON_EVENT_TOO_OLD",
                                           "PROCESSING_ERROR_REASON_TOO_RECENT_CLICK", "SUCCESS"]  # fmt: skip
    braid = click(client, customer=US, hours_ago=7, kind="wbraid")
    request_id = dm.accepted({**us, "events": [event(None, clock.now, currency="USD",
                                                     adIdentifiers={"wbraid": braid["wbraid"]})]})  # fmt: skip
    assert outcome(client, request_id) == [
        "PROCESSING_ERROR_REASON_ONE_PER_CLICK_CONVERSION_ACTION_NOT_PERMITTED_WITH_BRAID"
    ]


def test_enhanced_conversions_for_leads_match_seeded_people(dm, client, clock, direct_token):
    people = client.get("/_emulator/people").json["people"]
    assert people[0]["email"]["sha256_hex"] == (
        "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a")  # Google's vector  # fmt: skip
    us = [destination(customer=US, action="700000002", login=MANAGER)]
    request_id = dm.accepted({"encoding": "HEX", "destinations": us, "events": [
        event(None, clock.now, currency="USD", transactionId="L1",
              userData={"userIdentifiers": [{"emailAddress": people[0]["email"]["sha256_hex"]}]}),
        event(None, clock.now, currency="USD", transactionId="L2",
              userData={"userIdentifiers": [{"emailAddress": sha("someone@else.example")}]}),
    ]})  # fmt: skip
    assert outcome(client, request_id) == ["SUCCESS", "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND"]
    b64 = people[1]["phone"]["sha256_base64"]
    request_id = dm.accepted({"encoding": "BASE64", "destinations": us, "events": [
        event(None, clock.now, currency="USD", transactionId="L3",
              userData={"userIdentifiers": [{"phoneNumber": b64}]})]})  # fmt: skip
    assert outcome(client, request_id) == ["SUCCESS"]
    direct = Dm(client, direct_token)
    request_id = direct.accepted({"encoding": "HEX", "destinations": [
        destination(customer=DIRECT, action="700000031", login=None)], "events": [
        event(None, clock.now, currency="USD",
              userData={"userIdentifiers": [{"emailAddress": people[0]["email"]["sha256_hex"]}]})]})  # fmt: skip
    assert outcome(client, request_id) == [
        "PROCESSING_ERROR_REASON_DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED"
    ]


def _uk_conversions(client, token: str, day: str) -> tuple[float, float]:
    response = client.post(f"/v26/customers/{UK}/googleAds:searchStream",
                           headers=bearer(token, **{"login-customer-id": MANAGER}),
                           json={"query": " ".join(("SELECT campaign.id, metrics.conversions,",
                                                     "metrics.conversions_value FROM campaign",
                                                     f"WHERE segments.date = '{day}'"))})  # fmt: skip
    rows = [r for batch in response.get_json() for r in batch.get("results", [])]
    return (round(sum(r["metrics"]["conversions"] for r in rows), 2),
            round(sum(r["metrics"]["conversionsValue"] for r in rows), 2))  # fmt: skip


def test_matched_conversions_show_in_reporting_and_restatements_do_not_double_count(
    dm, client, clock, agency_token
):
    good = click(client, hours_ago=30)
    day = datetime.fromisoformat(good["clicked_at"].replace("Z", "+00:00")).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/London")).date().isoformat()  # fmt: skip
    before = _uk_conversions(client, agency_token, day)
    dm.accepted({"destinations": [destination()], "events": [
        event(good["gclid"], clock.now, transactionId="ORD-1", conversionValue=100.0)]})  # fmt: skip
    after = _uk_conversions(client, agency_token, day)
    assert after == (round(before[0] + 1, 2), round(before[1] + 100, 2))
    request_id = dm.accepted({"destinations": [destination()], "events": [
        event(good["gclid"], clock.now, transactionId="ORD-1", conversionValue=80.0)]})  # fmt: skip
    [restated] = client.get(f"/_emulator/requests/{request_id}").json["events"]
    assert restated["status"] == "SUCCESS" and restated["adjustment"] is True
    assert _uk_conversions(client, agency_token, day) == (after[0], round(after[1] - 20, 2))
    request_id = dm.accepted({"destinations": [destination()], "events": [
        event(good["gclid"], clock.now, transactionId="ORD-1", conversionValue=80.0)]})  # fmt: skip
    assert outcome(client, request_id) == ["PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"]
    assert _uk_conversions(client, agency_token, day) == (after[0], round(after[1] - 20, 2))


def test_validate_only_and_unknown_or_old_request_ids(dm, client, clock):
    good = click(client)
    body = {"destinations": [destination()], "events": [event(good["gclid"], clock.now)],
            "validateOnly": True}  # fmt: skip
    request_id = dm.accepted(body)
    assert client.get("/_emulator/events").json["count"] == 0
    status, payload = dm.status(request_id)
    assert status == 400 and violations(payload) == [("request_id", "INVALID_REQUEST_ID")]
    status, payload = dm.status("no-such-request")
    assert violations(payload) == [("request_id", "INVALID_REQUEST_ID")]
    body.pop("validateOnly")
    request_id = dm.accepted(body)
    assert dm.status(request_id)[0] == 200
    clock.advance(days=51)
    dm.token = tokens_for(client, AGENCY_USER)["access_token"]
    status, payload = dm.status(request_id)
    assert status == 400 and violations(payload) == [("request_id", "REQUEST_TOO_OLD")]


def test_multiple_destinations_and_references(dm, client, clock):
    uk = click(client)
    de = click(client, customer="4567890123")
    request_id = dm.accepted({"destinations": [
        destination(reference="uk"),
        destination(customer="4567890123", action="700000021", reference="de"),
    ], "events": [
        event(uk["gclid"], clock.now, destinationReferences=["uk"]),
        event(de["gclid"], clock.now, currency="EUR", destinationReferences=["de"]),
        event(uk["gclid"], clock.now, transactionId="both"),
    ]})  # fmt: skip
    status, body = dm.status(request_id)
    first, second = body["requestStatusPerDestination"]
    assert first["destination"]["reference"] == "uk" and second["destination"]["reference"] == "de"
    assert (
        first["eventsIngestionStatus"]["recordCount"] == "2" and first["requestStatus"] == "SUCCESS"
    )
    assert second["eventsIngestionStatus"]["recordCount"] == "2"
    assert second["requestStatus"] == "PARTIAL_SUCCESS"  # the UK click is not the DE account's


def test_quota_and_faults(client, clock):
    app = create_app({"processing_delay_seconds": 0, "click_min_age_minutes": 0,
                      "ingest_requests_per_minute": 2}, clock=clock)  # fmt: skip
    client = app.test_client()
    dm = Dm(client, tokens_for(client, AGENCY_USER)["access_token"])
    good = click(client)
    body = {"destinations": [destination()], "events": [event(good["gclid"], clock.now)]}
    assert dm.ingest(body)[0] == 200 and dm.ingest(body)[0] == 200
    status, payload = dm.ingest(body)
    assert status == 429 and payload["error"]["status"] == "RESOURCE_EXHAUSTED"
    clock.advance(seconds=61)
    assert dm.ingest(body)[0] == 200
    client.post("/_emulator/faults", json={"operation": "IngestEvents", "kind": "resource_exhausted",
                                           "retry_delay_seconds": 7})  # fmt: skip
    clock.advance(seconds=61)
    status, payload = dm.ingest(body)
    assert status == 429
    retry = [d for d in payload["error"]["details"] if d["@type"].endswith("RetryInfo")]
    assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
    client.post(
        "/_emulator/faults",
        json={"operation": "RetrieveRequestStatus", "kind": "bare", "status": 401},
    )
    bare = client.get("/v1/requestStatus:retrieve?requestId=x", headers=bearer(dm.token))
    assert bare.status_code == 401 and bare.data == b""


def test_processing_delay_and_process_now_through_the_control_api(client, clock):
    app = create_app({"click_min_age_minutes": 0}, clock=clock)  # default: 300 s
    client = app.test_client()
    dm = Dm(client, tokens_for(client, AGENCY_USER)["access_token"])
    good = click(client)
    request_id = dm.accepted(
        {"destinations": [destination()], "events": [event(good["gclid"], clock.now)]}
    )
    assert (
        dm.status(request_id)[1]["requestStatusPerDestination"][0]["requestStatus"] == "PROCESSING"
    )
    assert client.post("/_emulator/process").json == {"processed": 1}
    assert dm.status(request_id)[1]["requestStatusPerDestination"][0]["requestStatus"] == "SUCCESS"
    assert client.post("/_emulator/processing_delay", json={"seconds": 0}).status_code == 200
    request_id = dm.accepted({"destinations": [destination()], "events": [
        event(good["gclid"], clock.now - timedelta(minutes=1))]})  # fmt: skip
    assert dm.status(request_id)[1]["requestStatusPerDestination"][0]["requestStatus"] == "SUCCESS"
    listed = client.get("/_emulator/requests").json["requests"]
    assert [r["processed"] for r in listed] == [True, True]
    assert client.get(f"/_emulator/events?request_id={request_id}").json["count"] == 1


def test_base64_digests_are_read_as_bytes():
    digest = hashlib.sha256(b"alexz@example.com").digest()
    assert base64.b64encode(digest).decode() == "UJ6TMBm7KFoTSpM0uLtnnf950M4CPVKa9L10TUe0/Yo="
