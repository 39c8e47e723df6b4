"""Customer Management: GetUser, SearchAccounts, GetAccount and the credential faults."""

from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import AGENCY_USER, DIRECT_USER, Api, fault_code

USER = "/CustomerManagement/v13/User/Query"
SEARCH = "/CustomerManagement/v13/Accounts/Search"
ACCOUNT = "/CustomerManagement/v13/Account/Query"


def _search(user_id: str, index: int = 0, size: int = 1000, **extra: object) -> dict:
    return {"Predicates": [{"Field": "UserId", "Operator": "Equals", "Value": user_id}],
            "Ordering": [{"Field": "Name", "Order": "Ascending"}],
            "PageInfo": {"Index": index, "Size": size}, **extra}  # fmt: skip


def test_get_user_returns_user_and_roles(api: Api) -> None:
    result = api(USER, {"UserId": None}, account=None, customer=None)
    assert result.status == 200
    assert result.json["User"]["Id"] == AGENCY_USER
    assert result.json["User"]["UserName"] == "alex@fabrikam-agency.example"
    assert result.json["CustomerRoles"][0]["CustomerId"] == "70000001"


def test_search_accounts_by_user_lists_reachable_accounts(api: Api, direct_api: Api) -> None:
    agency = api(SEARCH, _search(AGENCY_USER, ReturnAdditionalFields="AccountMode"), account=None)
    accounts = agency.json["Accounts"]
    assert [a["Id"] for a in accounts] == ["80000013", "80000012", "80000011"]  # by name
    assert {a["CurrencyCode"] for a in accounts} == {"USD", "GBP", "EUR"}
    paused = next(a for a in accounts if a["Id"] == "80000013")
    assert paused["AccountLifeCycleStatus"] == "Pause" and paused["PauseReason"] == 1
    assert all(a["AccountMode"] == "Expert" for a in accounts)
    direct = direct_api(SEARCH, _search(DIRECT_USER), account=None, customer=None)
    assert [a["Id"] for a in direct.json["Accounts"]] == ["80000021"]


def test_search_accounts_pages(api: Api) -> None:
    pages = [
        api(SEARCH, _search(AGENCY_USER, index=i, size=2), account=None).json["Accounts"]
        for i in range(3)
    ]
    assert [len(p) for p in pages] == [2, 1, 0]
    assert api(SEARCH, _search(AGENCY_USER, size=1001), account=None).status == 400


def test_search_accounts_for_another_user_finds_nothing(api: Api) -> None:
    assert api(SEARCH, _search(DIRECT_USER), account=None).json["Accounts"] == []


def test_get_account(api: Api) -> None:
    result = api(ACCOUNT, {"AccountId": "80000012"}, account=None)
    assert result.json["Account"]["TimeZone"] == "GreenwichMeanTimeDublinEdinburghLisbonLondon"
    denied = api(ACCOUNT, {"AccountId": "80000021"}, account=None)
    assert denied.status == 403 and fault_code(denied) == 106


def test_missing_or_wrong_developer_token_is_105(api: Api) -> None:
    result = api(USER, {}, account=None, headers={"DeveloperToken": "WRONG"})
    assert result.status == 401 and fault_code(result) == 105
    assert result.json["Type"] == "AdApiFaultDetail"
    assert result.json["Errors"][0]["ErrorCode"] == "InvalidCredentials"


def test_unknown_access_token_is_105(api: Api) -> None:
    result = api(USER, {}, account=None, token_override="garbage")
    assert result.status == 401 and fault_code(result) == 105


def test_expired_access_token_is_109(api: Api, client: FlaskClient) -> None:
    assert client.post("/_emulator/tokens/expire", json={}).json["expired_access_tokens"] >= 1
    result = api(USER, {}, account=None)
    assert result.status == 401 and fault_code(result) == 109
    assert result.json["Errors"][0]["ErrorCode"] == "AuthenticationTokenExpired"


def test_missing_bearer_is_105(client: FlaskClient) -> None:
    response = client.post(USER, json={}, headers={"DeveloperToken": "BBD37VB98"})
    assert response.status_code == 401 and response.json["Errors"][0]["Code"] == 105


def test_unparseable_body_is_null_request(client: FlaskClient, agency_token: str) -> None:
    headers = {"Authorization": f"Bearer {agency_token}", "DeveloperToken": "BBD37VB98"}
    response = client.post(USER, data="not json", headers=headers)
    assert response.status_code == 400
    assert response.json["Type"] == "ApiFault"
    assert response.json["OperationErrors"][0]["Code"] == 100
    assert "ErrorCode" not in response.json["OperationErrors"][0]
