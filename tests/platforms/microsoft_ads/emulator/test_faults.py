"""Faults armed through the control API, and the control API's other switches."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from .conftest import AGENCY_USER, Api, fault_code, grant_code, pkce_pair, redeem

USER = "/CustomerManagement/v13/User/Query"
CAMPAIGNS = "/CampaignManagement/v13/Campaigns/QueryByAccountId"


def _arm(client: FlaskClient, **body: object) -> None:
    response = client.post("/_emulator/faults", json=body)
    assert response.status_code == 201, response.json


def test_throttle_for_the_next_n_calls_only(api: Api, client: FlaskClient) -> None:
    _arm(client, operation="GetCampaignsByAccountId", kind="throttle", count=2)
    for _ in range(2):
        result = api(CAMPAIGNS, {"AccountId": "80000011"})
        assert fault_code(result) == 117
        assert result.json["Errors"][0]["ErrorCode"] == "CallRateExceeded"
    assert api(CAMPAIGNS, {"AccountId": "80000011"}).status == 200
    assert api(USER, {}, account=None).status == 200  # other operations untouched


def test_internal_error_is_500_with_code_0(api: Api, client: FlaskClient) -> None:
    _arm(client, operation="GetUser", kind="internal")
    result = api(USER, {}, account=None)
    assert result.status == 500 and fault_code(result) == 0


def test_injected_token_faults_and_custom_status(api: Api, client: FlaskClient) -> None:
    _arm(client, operation="*", kind="expired_token")
    assert fault_code(api(USER, {}, account=None)) == 109
    _arm(client, operation="GetUser", kind="throttle", status=429)
    assert api(USER, {}, account=None).status == 429


def test_slow_response(api: Api, client: FlaskClient) -> None:
    _arm(client, operation="GetUser", kind="slow", delay_seconds=0.3)
    started = time.monotonic()
    assert api(USER, {}, account=None).status == 200
    assert time.monotonic() - started >= 0.3


def test_drop_connection_in_process_is_marked_444(client: FlaskClient, agency_token: str) -> None:
    _arm(client, operation="GetUser", kind="drop")
    headers = {"Authorization": f"Bearer {agency_token}", "DeveloperToken": "BBD37VB98"}
    assert client.post(USER, json={}, headers=headers).status_code == 444


def test_token_endpoint_faults(client: FlaskClient) -> None:
    _arm(client, operation="Token", kind="internal")
    verifier, challenge = pkce_pair()
    response = redeem(client, grant_code(client, AGENCY_USER, challenge), verifier)
    assert response.status_code == 500 and response.json["error"] == "server_error"


def test_unknown_fault_requests_are_refused(client: FlaskClient) -> None:
    assert (
        client.post("/_emulator/faults", json={"operation": "Nope", "kind": "throttle"}).status_code
        == 400
    )
    assert (
        client.post(
            "/_emulator/faults", json={"operation": "GetUser", "kind": "meteor"}
        ).status_code
        == 400
    )
    _arm(client, operation="GetUser", kind="throttle", count=3)
    assert client.get("/_emulator/faults").json["faults"][0]["remaining"] == 3
    assert client.delete("/_emulator/faults").json["faults"] == []


def test_calls_are_logged(api: Api, client: FlaskClient) -> None:
    api(USER, {}, account=None)
    calls = client.get("/_emulator/calls").json["calls"]
    assert calls[-1]["operation"] == "GetUser" and calls[-1]["status"] == 200


def test_reset_forgets_everything(api: Api, client: FlaskClient) -> None:
    client.post("/_emulator/clicks", json={"account_id": "80000011"})
    assert client.post("/_emulator/reset").json == {"reset": True}
    assert len(client.get("/_emulator/clicks").json["clicks"]) == 2  # seeded clicks only
    assert fault_code(api(USER, {}, account=None)) == 105  # tokens are gone too


def test_click_redirects_to_landing_with_fresh_msclkid(client: FlaskClient) -> None:
    response = client.get("/_emulator/click?account_id=80000011&landing=https://shop.example/p?x=1")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["x"] == ["1"] and len(query["msclkid"][0]) == 32
    clicks = {c["msclkid"]: c for c in client.get("/_emulator/clicks").json["clicks"]}
    assert clicks[query["msclkid"][0]]["account_id"] == "80000011"
    assert clicks[query["msclkid"][0]]["campaign_id"] == "50000111"
    assert client.get("/_emulator/click?account_id=1&landing=https://x.example").status_code == 404


def test_state_lists_seeded_ids(client: FlaskClient) -> None:
    state = client.get("/_emulator/state").json
    assert {u["email"] for u in state["users"]} == {
        "alex@fabrikam-agency.example",
        "dana@contoso-bikes.example",
    }
    assert {a["id"] for a in state["accounts"]} == {"80000011", "80000012", "80000013", "80000021"}
    assert "/_emulator/consent" in " ".join(client.get("/_emulator/").json["endpoints"])


def test_click_with_utm_auto_tagging_and_a_final_url_suffix(client: FlaskClient) -> None:
    """What the demo's ad clicks look like: the campaign and ad group names auto-tagging writes,
    and the suggested Final URL suffix with its campaign id filled in."""
    response = client.get(
        "/_emulator/click?account_id=80000011&landing=https://shop.example/&campaign_id=50000111"
        "&utm=1&suffix=utm_id%3D%7BCampaignId%7D"
    )
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["utm_source"] == ["bing"] and query["utm_medium"] == ["cpc"]
    assert query["utm_campaign"] == ["Brand - US"] and query["utm_id"] == ["50000111"]
    assert query["utm_content"][0] and len(query["msclkid"][0]) == 32
    random = client.get(
        "/_emulator/click?account_id=80000011&landing=https://s.example/&campaign_id=random&utm=1"
    )
    assert parse_qs(urlsplit(random.headers["Location"]).query)["utm_campaign"][0]
