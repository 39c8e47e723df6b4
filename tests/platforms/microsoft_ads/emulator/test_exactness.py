"""As lenient as Microsoft where Microsoft is lenient, as strict where it is strict: requests
Microsoft's own SDK sends, the manager-account reads, the delay before attribution, hashed-only
adjustments, and the bare answers a gateway gives."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from platforms.microsoft_ads.emulator import create_app

from .conftest import AGENCY_USER, DEV_TOKEN, DIRECT_USER, Api, Clock, make_api, token_for

USER = "/CustomerManagement/v13/User/Query"
CUSTOMERS_INFO = "/CustomerManagement/v13/CustomersInfo/Query"
ACCOUNTS_INFO = "/CustomerManagement/v13/AccountsInfo/Query"
APPLY = "/CampaignManagement/v13/OfflineConversions/Apply"
ADJUST = "/CampaignManagement/v13/OfflineConversionAdjustments/Apply"
DIAG = "/CampaignManagement/v13/OfflineConversionReport/QueryByGoalIds"
SEEDED_US_CLICK = "0b1a2c3d4e5f60718293a4b5c6d7e8f9"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_customer_management_ignores_the_account_headers_the_sdk_sends_as_none(
    client: FlaskClient, agency_token: str
) -> None:
    """msads' ServiceClient sends str(None) before an account is chosen; Microsoft answers."""
    headers = {
        "Authorization": f"Bearer {agency_token}",
        "DeveloperToken": DEV_TOKEN,
        "CustomerId": "None",
        "CustomerAccountId": "None",
    }
    answer = client.post(USER, json={"UserId": None}, headers=headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["User"]["Id"] == AGENCY_USER
    # Campaign Management still needs real ones.
    campaign = client.post(APPLY, json={"OfflineConversions": []}, headers=headers)
    assert campaign.status_code == 400
    assert campaign.json["OperationErrors"][0]["Code"] == 1102


def test_customers_info_lists_reachable_manager_accounts_by_name_prefix(
    api: Api, direct_api: Api
) -> None:
    everything = api(CUSTOMERS_INFO, {"CustomerNameFilter": "", "TopN": 100}, account=None)
    assert everything.json["CustomersInfo"] == [{"Id": "70000001", "Name": "Fabrikam Agency"}]
    assert api(CUSTOMERS_INFO, {"CustomerNameFilter": "fab", "TopN": 1}, account=None).json[
        "CustomersInfo"
    ] == [{"Id": "70000001", "Name": "Fabrikam Agency"}]
    assert (
        api(CUSTOMERS_INFO, {"CustomerNameFilter": "Contoso", "TopN": 5}, account=None).json[
            "CustomersInfo"
        ]
        == []
    )
    assert direct_api(CUSTOMERS_INFO, {"CustomerNameFilter": "", "TopN": 5}, account=None).json[
        "CustomersInfo"
    ] == [{"Id": "70000002", "Name": "Contoso Bikes"}]
    bad = api(CUSTOMERS_INFO, {"CustomerNameFilter": "", "TopN": 0}, account=None)
    assert bad.status == 400 and bad.json["OperationErrors"][0]["Code"] == 201


def test_accounts_info_lists_the_customers_accounts(api: Api) -> None:
    own = api(ACCOUNTS_INFO, {"CustomerId": None, "OnlyParentAccounts": False}, account=None)
    rows = {a["Id"]: a for a in own.json["AccountsInfo"]}
    assert set(rows) == {"80000011", "80000012", "80000013"}
    assert rows["80000013"]["AccountLifeCycleStatus"] == "Pause"
    assert rows["80000013"]["PauseReason"] == 1
    foreign = api(ACCOUNTS_INFO, {"CustomerId": "70000002"}, account=None)
    assert foreign.status == 403 and foreign.json["Errors"][0]["Code"] == 106


def test_attribution_takes_hours_by_default_and_pending_rows_are_visible() -> None:
    clock = Clock()
    app = create_app({}, clock=clock)  # the default delay
    client = app.test_client()
    api = make_api(client, token_for(client, AGENCY_USER)["access_token"])
    row = {
        "MicrosoftClickId": SEEDED_US_CLICK,
        "ConversionName": "Closed won",
        "ConversionTime": _ts(clock.now - timedelta(hours=1)),
    }
    assert api(APPLY, {"OfflineConversions": [row]}).json["PartialErrors"] == []
    received = client.get("/_emulator/conversions").json
    assert received["pending"] == 1 and received["conversions"][0]["Pending"] is True
    diag = {
        "StartDateUtc": _ts(clock.now - timedelta(days=1)),
        "EndDateUtc": _ts(clock.now + timedelta(days=1)),
        "GoalIds": ["60000001"],
    }
    summary = api(DIAG, diag).json["OfflineGoalConversionSummaries"][0]
    assert summary["OverallSuccessCount"] == "0" and summary["OverallUnattributedCount"] == "0"
    clock.advance(hours=2, minutes=59)
    assert client.get("/_emulator/conversions").json["pending"] == 1
    clock.advance(minutes=1)
    assert client.get("/_emulator/conversions").json["pending"] == 0
    api = make_api(client, token_for(client, AGENCY_USER)["access_token"])  # the old one expired
    summary = api(DIAG, diag).json["OfflineGoalConversionSummaries"][0]
    assert summary["OverallSuccessCount"] == "1"


def test_hashed_only_adjustments_find_their_enhanced_original(
    api: Api, client: FlaskClient, clock: Clock
) -> None:
    email = hashlib.sha256(b"ada@example.com").hexdigest()
    phone = hashlib.sha256(b"+14255550100").hexdigest()
    original = {
        "ConversionName": "Qualified lead",
        "ConversionTime": _ts(clock.now - timedelta(hours=3)),
        "HashedEmailAddress": email,
        "HashedPhoneNumber": phone,
    }
    assert api(APPLY, {"OfflineConversions": [original]}).json["PartialErrors"] == []
    retract = {
        **original,
        "AdjustmentType": "Retract",
        "AdjustmentTime": _ts(clock.now),
    }
    wrong_hash = {**retract, "HashedEmailAddress": "b" * 64}
    no_identifier = {k: v for k, v in retract.items() if not k.startswith("Hashed")}
    answer = api(ADJUST, {"OfflineConversionAdjustments": [retract, wrong_hash, no_identifier]})
    assert {e["Index"]: e["Code"] for e in answer.json["PartialErrors"]} == {2: 5603}
    received = client.get("/_emulator/adjustments").json["adjustments"]
    assert [r["UnattributedReason"] for r in received] == [None, "AdjustmentOriginalNotFound", None]
    assert client.get("/_emulator/conversions").json["conversions"][0]["Retracted"] is True


def test_bare_status_faults_have_no_body(client: FlaskClient, agency_token: str) -> None:
    headers = {"Authorization": f"Bearer {agency_token}", "DeveloperToken": DEV_TOKEN}
    for status in (401, 403, 502):
        armed = client.post(
            "/_emulator/faults", json={"operation": "GetUser", "kind": "bare", "status": status}
        )
        assert armed.status_code == 201
        answer = client.post(USER, json={}, headers=headers)
        assert answer.status_code == status and answer.data == b""
        assert answer.headers["TrackingId"]
    assert client.post(USER, json={}, headers=headers).status_code == 200
    refused = client.post("/_emulator/faults", json={"kind": "bare", "status": 404})
    assert refused.status_code == 400
    assert client.get("/_emulator/state").json["users"][1]["id"] == DIRECT_USER
