"""Pure mapping rules, and every body we send checked against Microsoft's msads models."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from platforms.base import AccountRef, ConversionAdjustment, ConversionUpload, DateWindow
from platforms.microsoft_ads import diagnostics, hashing, mapping, plugin, reporting
from platforms.microsoft_ads.explanations import (
    EXPLANATIONS,
    LOCAL_BAD_ADJUSTMENT,
    LOCAL_NAIVE_TIME,
    LOCAL_NOT_HASHED,
)

from .msads_schema import model, validate

# msads' generated enums use a pydantic-v1 hook; its deprecation warning is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

AT = datetime(2026, 9, 30, 16, 5, 7, 123456, tzinfo=timezone(timedelta(hours=2)))
HASH = "a" * 64


def test_conversion_json_matches_microsofts_model():
    row = ConversionUpload(
        1, "Closed won", AT, " click ", Decimal("1250.50"), "eur", HASH, HASH.upper(),
        "Linear", Decimal("0.5"),
    )  # fmt: skip
    body = mapping.conversion_to_json(row)
    assert body == {
        "MicrosoftClickId": "click",
        "ConversionName": "Closed won",
        "ConversionTime": "2026-09-30T14:05:07Z",
        "ConversionValue": 1250.5,
        "ConversionCurrencyCode": "EUR",
        "ExternalAttributionCredit": 0.5,
        "ExternalAttributionModel": "Linear",
        "HashedEmailAddress": HASH,
        "HashedPhoneNumber": HASH,
    }
    validate(model("campaign", "ApplyOfflineConversionsRequest"), {"OfflineConversions": [body]})


def test_minimal_conversion_omits_unset_fields():
    body = mapping.conversion_to_json(ConversionUpload(1, "G", AT, "c"))
    assert set(body) == {"MicrosoftClickId", "ConversionName", "ConversionTime"}


def test_hashed_only_adjustments_carry_the_originals_hashes():
    email, phone = "b" * 64, "C" * 64
    retract = ConversionAdjustment(1, "retract", "G", AT, AT + timedelta(days=1),
                                   hashed_email=email, hashed_phone=phone)  # fmt: skip
    assert mapping.adjustment_problem(retract) is None
    body = mapping.adjustment_to_json(retract)
    assert "MicrosoftClickId" not in body
    assert body["HashedEmailAddress"] == email and body["HashedPhoneNumber"] == phone.lower()
    validate(
        model("campaign", "ApplyOfflineConversionAdjustmentsRequest"),
        {"OfflineConversionAdjustments": [body]},
    )
    nothing = ConversionAdjustment(2, "retract", "G", AT, AT + timedelta(days=1))
    plain = ConversionAdjustment(3, "retract", "G", AT, AT, hashed_email="a@example.com")
    assert mapping.adjustment_problem(nothing) == "SL_NO_IDENTIFIER"
    assert mapping.adjustment_problem(plain) == LOCAL_NOT_HASHED


def test_adjustments_restate_and_retract():
    restate = ConversionAdjustment(1, "restate", "G", AT, AT + timedelta(days=1), "c",
                                   Decimal("9.99"), "usd")  # fmt: skip
    retract = ConversionAdjustment(2, "retract", "G", AT, AT + timedelta(days=1), "c")
    bodies = [mapping.adjustment_to_json(restate), mapping.adjustment_to_json(retract)]
    assert bodies[0]["AdjustmentType"] == "Restate" and bodies[0]["AdjustmentValue"] == 9.99
    assert bodies[0]["AdjustmentCurrencyCode"] == "USD"
    assert bodies[1]["AdjustmentType"] == "Retract" and "AdjustmentValue" not in bodies[1]
    validate(
        model("campaign", "ApplyOfflineConversionAdjustmentsRequest"),
        {"OfflineConversionAdjustments": bodies},
    )
    assert mapping.adjustment_problem(restate) is None
    bad = ConversionAdjustment(3, "retract", "G", AT, AT, "c", Decimal(1))
    assert mapping.adjustment_problem(bad) == LOCAL_BAD_ADJUSTMENT


def test_rows_that_cannot_be_sent_are_caught_locally():
    naive = ConversionUpload(1, "G", datetime(2026, 1, 1), "c")
    plain = ConversionUpload(2, "G", AT, None, hashed_email="someone@example.com")
    assert mapping.conversion_problem(naive) == LOCAL_NAIVE_TIME
    assert mapping.conversion_problem(plain) == LOCAL_NOT_HASHED
    assert mapping.conversion_problem(ConversionUpload(3, "G", AT, None, hashed_phone=HASH)) is None


def test_partial_errors_map_by_zero_based_index():
    errors = [
        {"Index": 2, "Code": 5606, "ErrorCode": "OfflineConversionNameInvalid", "Message": "m"},
        {"Index": 0, "Code": 5604, "ErrorCode": "OfflineConversionMicrosoftClickIdInvalid"},
    ]
    outcomes = mapping.outcomes_from_partial_errors([10, 11, 12], errors)
    assert [outcomes[i].accepted for i in (10, 11, 12)] == [False, True, False]
    assert outcomes[10].error_code == "5604" and "msclkid" in outcomes[10].error_message
    assert outcomes[12].error_code == "5606" and "goal mapping" in outcomes[12].error_message
    assert mapping.outcomes_from_partial_errors([1], None)[1].accepted


@pytest.mark.parametrize("where", [{}, {"Index": None}, {"Index": 7}])
def test_an_error_that_names_no_row_is_never_recorded_as_accepted(where):
    errors = [{"Index": 0, "Code": 5604}, {"Code": 5610, "Message": "bad value", **where}]
    outcomes = mapping.outcomes_from_partial_errors([10, 11, 12], errors)
    assert outcomes[10].error_code == "5604"  # its own error stays its own
    assert [outcomes[i].accepted for i in (11, 12)] == [False, False]
    assert outcomes[11].error_code == "5610"
    assert "without saying which one" in outcomes[11].error_message


def test_an_error_named_only_by_its_error_code_is_explained():
    errors = [{"Index": 0, "Code": None, "ErrorCode": "GoalNotEligibleForExternalAttribution"}]
    outcome = mapping.outcomes_from_partial_errors([5], errors)[5]
    assert outcome.error_code == "GoalNotEligibleForExternalAttribution"
    assert "external attribution" in outcome.error_message


def test_every_5600_code_has_a_plain_explanation():
    for code in range(5600, 5628):
        assert str(code) in EXPLANATIONS


def _account(**extra):
    return {"Id": "8", "Name": "Shop", "Number": "F1", "ParentCustomerId": "7",
            "AccountLifeCycleStatus": "Active", "PauseReason": None, "CurrencyCode": "USD",
            "TimeZone": "EasternTimeUSCanada", **extra}  # fmt: skip


def test_account_eligibility_reasons():
    names = {"7": "Agency"}
    active = mapping.ad_account_from_json(_account(), manager_names=names)
    assert (
        active.eligible and active.ref == AccountRef("8", "7") and active.manager_name == "Agency"
    )
    paused = mapping.ad_account_from_json(
        _account(AccountLifeCycleStatus="Pause", PauseReason=2), manager_names=names
    )
    assert "billing" in paused.ineligible_reason
    suspended = mapping.ad_account_from_json(
        _account(AccountLifeCycleStatus="Suspended"), manager_names=names
    )
    assert "suspended" in suspended.ineligible_reason
    viewer = mapping.read_only_accounts([{"CustomerId": "7", "RoleId": 100, "AccountIds": ["8"]}])
    read_only = mapping.ad_account_from_json(_account(), manager_names=names, viewer_pairs=viewer)
    assert "Viewer" in read_only.ineligible_reason


def test_accounts_are_grouped_under_their_manager():
    accounts = [
        mapping.ad_account_from_json(
            _account(Id="2", Name="b", ParentCustomerId="7"), manager_names={}
        ),
        mapping.ad_account_from_json(
            _account(Id="1", Name="a", ParentCustomerId="6"), manager_names={}
        ),
        mapping.ad_account_from_json(
            _account(Id="3", Name="c", ParentCustomerId="7"), manager_names={}
        ),
    ]
    grouped = mapping.group_by_manager(accounts, {"6": "Zed", "7": "Alpha"})
    assert [(a.ref.account_id, a.is_manager) for a in grouped] == [
        ("7", True), ("2", False), ("3", False), ("6", True), ("1", False),
    ]  # fmt: skip
    assert not grouped[0].eligible


def test_goal_mapping():
    goal = mapping.goal_from_json(
        {"Type": "OfflineConversion", "Id": "60", "Name": "Won", "Status": "Paused",
         "CountType": "Unique", "IsEnhancedConversionsEnabled": True, "IsExternallyAttributed": False}
    )  # fmt: skip
    assert (goal.id, goal.is_active, goal.count_type, goal.enhanced_conversions) == (
        "60", False, "Unique", True,
    )  # fmt: skip
    validate(model("campaign", "OfflineConversionGoal"),
             {"Type": "OfflineConversion", "Id": "60", "Status": "Paused", "CountType": "Unique"})  # fmt: skip


def test_hierarchy_entities():
    rsa = {"Type": "ResponsiveSearch", "Id": "3", "Status": "Active",
           "Headlines": [{"Asset": {"Type": "TextAsset", "Text": "Contoso shoes"}}]}  # fmt: skip
    assert mapping.ad_entity(rsa, "2").name == "Contoso shoes"
    assert mapping.ad_entity({"Type": "Image", "Id": "4"}, "2").name == "Image ad 4"
    camp = mapping.campaign_entity({"Id": "1", "Name": "Brand", "Status": "Paused",
                                    "CampaignType": "PerformanceMax"})  # fmt: skip
    assert (camp.level, camp.kind, camp.status) == ("campaign", "PerformanceMax", "Paused")


def test_report_values_and_time_zone_spelling():
    assert mapping.report_decimal("1,000.50") == Decimal("1000.50")
    assert mapping.report_decimal("5.27%") == Decimal("5.27")
    assert mapping.report_decimal("--") == Decimal(0)
    assert mapping.report_int("1,840") == 1840
    assert mapping.report_date("9/2/2026") == date(2026, 9, 2)
    assert mapping.report_time_zone("AthensBuckarestIstanbul") == "AthensIslandanbulMinsk"
    assert mapping.report_time_zone(None) == "PacificTimeUSCanadaTijuana"
    with pytest.raises(ValueError):
        mapping.report_decimal("n/a")


def test_utc_iso_rejects_naive_and_converts_offsets():
    assert mapping.utc_iso(AT) == "2026-09-30T14:05:07Z"
    assert mapping.utc_iso(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        mapping.utc_iso(datetime(2026, 1, 1))


@pytest.mark.parametrize("level", ["campaign", "ad_group", "ad"])
def test_report_requests_match_microsofts_model(level):
    window = DateWindow(date(2026, 9, 1), date(2026, 9, 14))
    body = reporting.report_request(level, "123", window, "EasternTimeUSCanada")
    validate(model("reporting", "SubmitGenerateReportRequest"), body)
    request = body["ReportRequest"]
    assert request["Aggregation"] == "Daily" and "TimePeriod" in request["Columns"]
    assert request["Time"]["CustomDateRangeStart"] == {"Year": 2026, "Month": 9, "Day": 1}
    assert request["Scope"] == {"AccountIds": ["123"]}


def test_other_request_bodies_match_microsofts_models():
    validate(model("customer", "SearchAccountsRequest"), {
        "Predicates": [{"Field": "UserId", "Operator": "Equals", "Value": "90000001"}],
        "Ordering": [{"Field": "Name", "Order": "Ascending"}],
        "PageInfo": {"Index": 0, "Size": plugin.PAGE_SIZE},
    })  # fmt: skip
    validate(model("campaign", "GetCampaignsByAccountIdRequest"),
             {"AccountId": "1", "CampaignType": plugin.ALL_CAMPAIGN_TYPES})  # fmt: skip
    validate(model("campaign", "GetAdsByAdGroupIdRequest"),
             {"AdGroupId": "1", "AdTypes": plugin.ALL_AD_TYPES})  # fmt: skip
    validate(model("campaign", "GetAdGroupsByCampaignIdRequest"),
             {"CampaignId": "1", "ReturnAdditionalFields": "AdGroupType"})  # fmt: skip
    validate(model("campaign", "GetConversionGoalsByIdsRequest"), {
        "ConversionGoalIds": None, "ConversionGoalTypes": "OfflineConversion",
        "ReturnAdditionalFields": "IsExternallyAttributed, IsEnhancedConversionsEnabled",
    })  # fmt: skip
    validate(model("campaign", "GetAccountPropertiesRequest"),
             {"AccountPropertyNames": [plugin.AUTO_TAGGING_PROPERTY]})  # fmt: skip
    validate(model("campaign", "SetAccountPropertiesRequest"),
             {"AccountProperties": [{"Name": plugin.AUTO_TAGGING_PROPERTY, "Value": "true"}]})  # fmt: skip
    validate(model("customer", "GetCustomersInfoRequest"), {"CustomerNameFilter": "", "TopN": 1000})
    validate(model("customer", "GetAccountRequest"), {"AccountId": "1"})
    validate(model("customer", "GetUserRequest"), {"UserId": None})
    for body in diagnostics.requests_for(["1"], DateWindow(date(2026, 9, 1), date(2026, 9, 20))):
        validate(model("campaign", "GetOfflineConversionReportByGoalIdsRequest"), body)


def test_diagnostics_slices_and_merge():
    window = DateWindow(date(2026, 9, 1), date(2026, 9, 15))
    bodies = list(diagnostics.requests_for([str(i) for i in range(25)], window))
    assert len(bodies) == 3 * 2  # three 7-day slices x two goal chunks (20 + 5)
    assert max(len(b["GoalIds"]) for b in bodies) == 20
    summary = {"GoalId": "1", "ConversionName": "Won", "OverallSuccessCount": "3",
               "OverallUnattributedCount": "2",
               "OverallAlerts": [{"UnattributedReason": "NoMatchingClickFound", "Count": "2"}],
               "DailySummaries": [{"GoalId": "1", "UploadDate": "2026-09-02T00:00:00",
                                   "SuccessCount": 3, "UnattributedCount": 2}]}  # fmt: skip
    other_day = {**summary, "DailySummaries": [
        {"GoalId": "1", "UploadDate": "2026-09-09T00:00:00", "SuccessCount": 1,
         "UnattributedCount": 1,
         "Alerts": [{"UnattributedReason": "NoMatchingClickFound", "Count": "1"}]}]}  # fmt: skip
    summary["DailySummaries"][0]["Alerts"] = summary["OverallAlerts"]
    merged = diagnostics.merge(
        [{"OfflineGoalConversionSummaries": [s]} for s in (summary, other_day)], window
    )
    assert len(merged) == 1 and merged[0].success_count == 4
    assert merged[0].reasons == {"NoMatchingClickFound": 3} and len(merged[0].days) == 2
    validate(model("campaign", "OfflineGoalConversionSummary"), summary)


def test_diagnostics_window_overlaps_so_no_day_is_lost_and_none_counts_twice():
    """EndDateUtc is the midnight after the last day (Microsoft may read it as a moment); a
    day returned by two slices counts once, and a day past the window not at all."""
    window = DateWindow(date(2026, 9, 1), date(2026, 9, 10))
    bodies = list(diagnostics.requests_for(["1"], window))
    assert [(b["StartDateUtc"], b["EndDateUtc"]) for b in bodies] == [
        ("2026-09-01T00:00:00Z", "2026-09-08T00:00:00Z"),
        ("2026-09-08T00:00:00Z", "2026-09-11T00:00:00Z"),
    ]

    def answer(*days: str) -> dict:
        return {"OfflineGoalConversionSummaries": [{
            "GoalId": "1", "ConversionName": "Won", "OverallSuccessCount": str(len(days)),
            "DailySummaries": [{"GoalId": "1", "UploadDate": f"{d}T00:00:00", "SuccessCount": 1,
                                "UnattributedCount": 0} for d in days]}]}  # fmt: skip

    # Read as days (inclusive), both slices return Sept 8 and the second returns Sept 11.
    merged = diagnostics.merge(
        [answer("2026-09-01", "2026-09-08"), answer("2026-09-08", "2026-09-10", "2026-09-11")],
        window,
    )[0]
    assert merged.success_count == 3
    assert [d.day.day for d in merged.days] == [1, 8, 10]


def test_email_and_phone_hashing_follow_microsofts_rules():
    assert hashing.normalize_email("  John.Doe+ads@Gmail.com ") == "johndoe@gmail.com"
    assert hashing.normalize_email("jöhn.d@example.co.uk") == "johnd@example.co.uk"
    assert hashing.normalize_email("no-at-sign") is None
    assert hashing.normalize_phone("+1 (425) 555-0100") == "+14255550100"
    assert hashing.normalize_phone("425 555 0100") is None
    digest = hashing.RULES.email_sha256("John.Doe@example.com")
    assert digest == hashlib.sha256(b"johndoe@example.com").hexdigest() and hashing.looks_hashed(
        digest
    )
