"""Offline conversions: goals, Apply rules, duplicates, adjustments and diagnostics."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from .conftest import AGENCY_USER, Api, Clock, fault_code, make_api, token_for

GOALS = "/CampaignManagement/v13/ConversionGoals/QueryByIds"
APPLY = "/CampaignManagement/v13/OfflineConversions/Apply"
ADJUST = "/CampaignManagement/v13/OfflineConversionAdjustments/Apply"
DIAG = "/CampaignManagement/v13/OfflineConversionReport/QueryByGoalIds"
SEEDED_US_CLICK = "0b1a2c3d4e5f60718293a4b5c6d7e8f9"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _click(client: FlaskClient, account: str = "80000011", **extra: str) -> str:
    return client.post("/_emulator/clicks", json={"account_id": account, **extra}).json["msclkid"]


def _row(
    clock: Clock,
    msclkid: str | None,
    name: str = "Closed won",
    hours_ago: float = 1,
    **extra: object,
) -> dict:
    row: dict = {
        "ConversionName": name,
        "ConversionTime": _ts(clock.now - timedelta(hours=hours_ago)),
        **extra,
    }
    if msclkid is not None:
        row["MicrosoftClickId"] = msclkid
    return row


def _errors(result) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return {e["Index"]: e["Code"] for e in result.json["PartialErrors"]}


def test_goals_listing_with_additional_fields(api: Api) -> None:
    body = {"ConversionGoalIds": None, "ConversionGoalTypes": "OfflineConversion",
            "ReturnAdditionalFields": "IsExternallyAttributed, GoalCategory, IsEnhancedConversionsEnabled"}  # fmt: skip
    goals = api(GOALS, body).json["ConversionGoals"]
    by_name = {g["Name"]: g for g in goals}
    assert set(by_name) == {
        "Closed won",
        "Qualified lead",
        "Demo booked",
        "Partner sale",
        "Legacy signup",
    }
    assert by_name["Qualified lead"]["Scope"] == "Customer"
    assert by_name["Qualified lead"]["IsEnhancedConversionsEnabled"] is True
    assert by_name["Partner sale"]["IsExternallyAttributed"] is True
    assert by_name["Legacy signup"]["Status"] == "Paused"
    plain = api(GOALS, {"ConversionGoalTypes": "OfflineConversion"}).json["ConversionGoals"]
    assert "GoalCategory" not in plain[0]


def test_goals_by_ids_null_for_unknown(api: Api) -> None:
    result = api(
        GOALS,
        {"ConversionGoalIds": ["60000001", "60000021"], "ConversionGoalTypes": "OfflineConversion"},
    )
    assert result.json["ConversionGoals"][0]["Id"] == "60000001"
    assert result.json["ConversionGoals"][1] is None
    assert result.json["PartialErrors"][0]["Index"] == 1
    assert fault_code(api(GOALS, {"ConversionGoalIds": None})) == 201


def test_valid_conversion_is_accepted_and_attributed(
    api: Api, client: FlaskClient, clock: Clock
) -> None:
    msclkid = _click(client, at=_ts(clock.now - timedelta(hours=3)))
    result = api(
        APPLY,
        {
            "OfflineConversions": [
                _row(clock, msclkid, ConversionValue=120.5, ConversionCurrencyCode="USD")
            ]
        },
    )
    assert result.status == 200 and result.json["PartialErrors"] == []
    received = client.get("/_emulator/conversions").json["conversions"]
    assert received[0]["Status"] == "Accepted" and received[0]["UnattributedReason"] is None
    assert received[0]["Request"]["ConversionValue"] == 120.5


def test_batch_limits_are_operation_faults(api: Api, clock: Clock) -> None:
    empty = api(APPLY, {"OfflineConversions": []})
    assert empty.status == 400 and fault_code(empty) == 5600
    assert empty.json["Type"] == "ApiFaultDetail"
    too_many = api(APPLY, {"OfflineConversions": [_row(clock, SEEDED_US_CLICK)] * 1001})
    assert fault_code(too_many) == 5601


def test_per_row_errors_carry_the_request_index(api: Api, clock: Clock) -> None:
    rows = [
        _row(clock, SEEDED_US_CLICK),                                  # 0 ok
        _row(clock, SEEDED_US_CLICK, name="No such goal"),             # 1 5606
        _row(clock, SEEDED_US_CLICK, hours_ago=-2),                    # 2 future 5614
        _row(clock, SEEDED_US_CLICK, hours_ago=24 * 91),               # 3 > 90 days 5609
        _row(clock, None),                                             # 4 no click 5603
        _row(clock, "not-a-click-id"),                                 # 5 5604
        _row(clock, SEEDED_US_CLICK, name="Demo booked"),              # 6 goal too young 5615
        {"MicrosoftClickId": SEEDED_US_CLICK, "ConversionName": "Closed won"},  # 7 5608
        _row(clock, SEEDED_US_CLICK, ConversionTime="yesterday"),      # 8 5607
        _row(clock, SEEDED_US_CLICK, ConversionValue=-1.0),            # 9 5610
        _row(clock, SEEDED_US_CLICK, ConversionCurrencyCode="usd"),    # 10 5611
        {"MicrosoftClickId": SEEDED_US_CLICK, "ConversionTime": _ts(clock.now)},  # 11 5605
    ]  # fmt: skip
    result = api(APPLY, {"OfflineConversions": rows}, invalid_request=True)
    assert result.status == 200
    assert _errors(result) == {1: 5606, 2: 5614, 3: 5609, 4: 5603, 5: 5604, 6: 5615, 7: 5608,
                               8: 5607, 9: 5610, 10: 5611, 11: 5605}  # fmt: skip
    first = result.json["PartialErrors"][0]
    assert first["ErrorCode"] == "OfflineConversionNameInvalid" and first["Type"] == "BatchError"


def test_goal_becomes_usable_two_hours_after_creation(client: FlaskClient, clock: Clock) -> None:
    clock.advance(hours=2)  # before the token: a 2-hour-old access token has expired (109)
    api = make_api(client, token_for(client, AGENCY_USER)["access_token"])
    result = api(APPLY, {"OfflineConversions": [_row(clock, SEEDED_US_CLICK, name="Demo booked")]})
    assert result.json["PartialErrors"] == []


def test_duplicates_are_silently_ignored(api: Api, client: FlaskClient, clock: Clock) -> None:
    row = _row(clock, SEEDED_US_CLICK)
    assert api(APPLY, {"OfflineConversions": [row, row]}).json["PartialErrors"] == []
    assert api(APPLY, {"OfflineConversions": [row]}).json["PartialErrors"] == []
    statuses = [r["Status"] for r in client.get("/_emulator/conversions").json["conversions"]]
    assert statuses == ["Accepted", "Duplicate", "Duplicate"]
    later = _row(clock, SEEDED_US_CLICK, hours_ago=0.5)  # same click, other time: counts
    api(APPLY, {"OfflineConversions": [later]})
    assert client.get("/_emulator/conversions").json["conversions"][-1]["Status"] == "Accepted"


def test_hashed_identifiers_only_for_enhanced_goals(api: Api, clock: Clock) -> None:
    email = hashlib.sha256(b"jane@example.com").hexdigest()
    rows = [
        _row(clock, None, name="Qualified lead", HashedEmailAddress=email),   # enhanced: ok
        _row(clock, None, name="Closed won", HashedEmailAddress=email),       # not enhanced
        _row(clock, SEEDED_US_CLICK, name="Closed won", HashedEmailAddress=email),  # click wins
    ]  # fmt: skip
    assert _errors(api(APPLY, {"OfflineConversions": rows})) == {1: 5603}


def _diagnostics(api: Api, clock: Clock, *goal_ids: str) -> dict:
    body = {"StartDateUtc": _ts(clock.now - timedelta(days=1)), "EndDateUtc": _ts(clock.now),
            "GoalIds": list(goal_ids)}  # fmt: skip
    return {s["GoalId"]: s for s in api(DIAG, body).json["OfflineGoalConversionSummaries"]}


def test_unknown_clicks_are_accepted_but_never_attributed(
    api: Api, client: FlaskClient, clock: Clock
) -> None:
    other_account_click = _click(client, "80000012")
    late_click = _click(client, at=_ts(clock.now - timedelta(minutes=10)))
    rows = [
        _row(clock, "ffffffffffffffffffffffffffffffff"),  # never clicked
        _row(clock, other_account_click),
        _row(clock, late_click),  # click after the conversion time
        _row(clock, SEEDED_US_CLICK),
        _row(clock, SEEDED_US_CLICK, name="Partner sale", ExternalAttributionModel="Linear",
             ExternalAttributionCredit=0.5),
        _row(clock, SEEDED_US_CLICK, name="Closed won", hours_ago=2, ExternalAttributionCredit=0.5),
    ]  # fmt: skip
    errors = api(APPLY, {"OfflineConversions": rows}).json["PartialErrors"]
    # External attribution on a goal not set up for it is refused on receipt, by name only.
    assert [(e["Index"], e["Code"], e["ErrorCode"]) for e in errors] == [
        (5, None, "GoalNotEligibleForExternalAttribution")
    ]
    summary = _diagnostics(api, clock, "60000001", "60000004")
    closed = summary["60000001"]
    assert closed["OverallSuccessCount"] == "1" and closed["OverallUnattributedCount"] == "3"
    reasons = {a["UnattributedReason"]: a["Count"] for a in closed["OverallAlerts"]}
    assert reasons == {"NoMatchingClickFound": "1", "AccountMismatch": "1",
                       "ClickTimestampAfterConversion": "1"}  # fmt: skip
    assert summary["60000004"]["OverallSuccessCount"] == "1"
    assert closed["DailySummaries"][0]["SuccessCount"] == 1


def test_adjustments_restate_and_retract(api: Api, client: FlaskClient, clock: Clock) -> None:
    original = _row(clock, SEEDED_US_CLICK, hours_ago=5, ConversionValue=100.0)
    api(APPLY, {"OfflineConversions": [original]})
    now = _ts(clock.now)
    base = {"MicrosoftClickId": SEEDED_US_CLICK, "ConversionName": "Closed won",
            "ConversionTime": original["ConversionTime"], "AdjustmentTime": now}  # fmt: skip
    rows = [
        {**base, "AdjustmentType": "Restate", "AdjustmentValue": 80.0, "AdjustmentCurrencyCode": "USD"},
        {**base, "AdjustmentType": "Retract"},
        {**base, "AdjustmentType": "Retract"},  # already retracted: accepted, diagnosed
        {**base, "AdjustmentType": "Retract", "AdjustmentValue": 1.0},  # 5624
        {**base, "AdjustmentType": "Restate"},  # 5625
        {**base, "AdjustmentType": "Cancel"},  # 5618
        {**base, "AdjustmentType": "Retract", "AdjustmentTime": None},  # 5619
        {**base, "AdjustmentType": "Retract", "AdjustmentTime": _ts(clock.now - timedelta(hours=6))},  # 5620
        {**base, "AdjustmentType": "Retract", "AdjustmentTime": _ts(clock.now + timedelta(hours=1))},  # 5622
        {**base, "AdjustmentType": "Retract", "ConversionTime": _ts(clock.now - timedelta(hours=9))},  # not found
    ]  # fmt: skip
    result = api(ADJUST, {"OfflineConversionAdjustments": rows})
    assert _errors(result) == {3: 5624, 4: 5625, 5: 5618, 6: 5619, 7: 5620, 8: 5622}
    received = client.get("/_emulator/adjustments").json["adjustments"]
    assert [r["UnattributedReason"] for r in received][:3] == [
        None,
        None,
        "ConversionAlreadyRetracted",
    ]
    assert received[9]["UnattributedReason"] == "AdjustmentOriginalNotFound"
    conversions = client.get("/_emulator/conversions").json["conversions"]
    assert conversions[0]["Retracted"] is True and conversions[0]["RestatedValue"] == 80.0


def test_diagnostics_range_limits(api: Api, clock: Clock) -> None:
    body = {
        "StartDateUtc": _ts(clock.now - timedelta(days=9)),
        "EndDateUtc": _ts(clock.now),
        "GoalIds": ["60000001"],
    }
    assert fault_code(api(DIAG, body)) == 201
