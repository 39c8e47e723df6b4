"""OAuth 2.0 authorization-code flow with PKCE, consent pages and refresh rotation."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

from flask.testing import FlaskClient

from .conftest import (
    ADS_SCOPE,
    AGENCY_USER,
    CLIENT_ID,
    CLIENT_SECRET,
    DIRECT_USER,
    REDIRECT_URI,
    Clock,
    grant_code,
    pkce_pair,
    redeem,
    token_for,
)

AUTHORIZE = "/common/oauth2/v2.0/authorize"


def _authorize_params(**overrides: str) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "response_mode": "query",
        "scope": f"openid offline_access {ADS_SCOPE}",
        "state": "xyz-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "select_account",
    }
    params.update(overrides)
    params["_verifier"] = verifier
    return params


def _browser_flow(client: FlaskClient, decision: str, **overrides: str) -> tuple[dict, str]:
    params = _authorize_params(**overrides)
    verifier = params.pop("_verifier")
    page = client.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "alex@fabrikam-agency.example" in html and "dana@contoso-bikes.example" in html
    consent = client.post(AUTHORIZE, data={**params, "user": AGENCY_USER})
    text = consent.get_data(as_text=True)
    assert ">Accept</button>" in text and ">Cancel</button>" in text
    assert ADS_SCOPE in text and "offline_access" in text
    done = client.post(
        "/common/oauth2/v2.0/consent", data={**params, "user": AGENCY_USER, "decision": decision}
    )
    assert done.status_code == 302
    location = done.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return parse_qs(urlsplit(location).query), verifier


def test_browser_flow_accept_returns_code_and_state_then_tokens(client: FlaskClient) -> None:
    query, verifier = _browser_flow(client, "accept")
    assert query["state"] == ["xyz-123"]
    response = redeem(client, query["code"][0], verifier)
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == ADS_SCOPE
    assert {"access_token", "refresh_token", "id_token", "ext_expires_in"} <= set(body)


def test_cancel_redirects_with_access_denied_and_state(client: FlaskClient) -> None:
    query, _ = _browser_flow(client, "cancel")
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz-123"]
    assert "code" not in query


def test_unknown_client_or_redirect_uri_shows_an_error_page_without_redirect(
    client: FlaskClient,
) -> None:
    params = _authorize_params(client_id="nope")
    params.pop("_verifier")
    page = client.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert page.status_code == 400 and "AADSTS700016" in page.get_data(as_text=True)
    params = _authorize_params(redirect_uri="https://evil.example/cb")
    params.pop("_verifier")
    page = client.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert page.status_code == 400 and "AADSTS50011" in page.get_data(as_text=True)


def test_loopback_redirect_port_is_ignored_like_entra(client: FlaskClient) -> None:
    uri = "http://127.0.0.1:61234/setup/platforms/microsoft_ads/callback"
    params = _authorize_params(redirect_uri=uri)
    params.pop("_verifier")
    assert client.get(f"{AUTHORIZE}?{urlencode(params)}").status_code == 200


def test_bad_scope_and_prompt_none_go_back_to_the_client(client: FlaskClient) -> None:
    params = _authorize_params(scope="https://graph.microsoft.com/User.Read")
    params.pop("_verifier")
    response = client.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_scope"]
    params = _authorize_params(prompt="none")
    params.pop("_verifier")
    response = client.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["login_required"]


def _assert_aad_error(response, error: str, code: int) -> None:  # type: ignore[no-untyped-def]
    body = response.json
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_pkce_verifier_is_checked(client: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    code = grant_code(client, AGENCY_USER, challenge)
    wrong = redeem(client, code, "not-the-verifier-" + verifier)
    assert wrong.status_code == 400
    _assert_aad_error(wrong, "invalid_grant", 501481)
    code = grant_code(client, AGENCY_USER, challenge)
    _assert_aad_error(redeem(client, code), "invalid_grant", 501481)
    assert redeem(client, grant_code(client, AGENCY_USER, challenge), verifier).status_code == 200


def test_code_cannot_be_redeemed_twice(client: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    code = grant_code(client, AGENCY_USER, challenge)
    assert redeem(client, code, verifier).status_code == 200
    _assert_aad_error(redeem(client, code, verifier), "invalid_grant", 54005)


def test_expired_code_is_rejected(client: FlaskClient, clock: Clock) -> None:
    verifier, challenge = pkce_pair()
    code = grant_code(client, AGENCY_USER, challenge)
    clock.advance(minutes=6)
    _assert_aad_error(redeem(client, code, verifier), "invalid_grant", 70008)


def test_redirect_uri_must_match_the_authorize_leg(client: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    code = grant_code(client, AGENCY_USER, challenge)
    other = "http://localhost:5000/setup/platforms/microsoft_ads/callback"
    response = redeem(client, code, verifier, redirect_uri=other)
    assert response.json["error_codes"] == [50011]


def test_client_secret_checked_and_basic_auth_accepted(client: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    code = grant_code(client, AGENCY_USER, challenge)
    bad = redeem(client, code, verifier, client_secret="wrong")
    assert bad.status_code == 401
    _assert_aad_error(bad, "invalid_client", 7000215)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier}  # fmt: skip
    ok = client.post(
        "/common/oauth2/v2.0/token", data=form, headers={"Authorization": f"Basic {basic}"}
    )
    assert ok.status_code == 200


def _refresh(client: FlaskClient, token: str, scope: str = f"{ADS_SCOPE} offline_access"):  # type: ignore[no-untyped-def]
    return client.post("/common/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": token, "scope": scope})  # fmt: skip


def test_refresh_rotates_and_rotated_token_cannot_be_reused(client: FlaskClient) -> None:
    first = token_for(client, AGENCY_USER)
    second = _refresh(client, first["refresh_token"])
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert second.json["access_token"] != first["access_token"]
    _assert_aad_error(_refresh(client, first["refresh_token"]), "invalid_grant", 50173)
    assert _refresh(client, second.json["refresh_token"]).status_code == 200


def test_refresh_rejects_broader_scope_and_revoked_tokens(client: FlaskClient) -> None:
    first = token_for(client, DIRECT_USER)
    _assert_aad_error(_refresh(client, first["refresh_token"], "https://graph.microsoft.com/.default"),
                      "invalid_grant", 70000)  # fmt: skip
    revoked = client.post(f"/_emulator/users/{DIRECT_USER}/revoke")
    assert revoked.json["revoked_refresh_tokens"] == 1
    _assert_aad_error(_refresh(client, first["refresh_token"]), "invalid_grant", 50173)


def test_idle_refresh_token_expires(client: FlaskClient, clock: Clock) -> None:
    first = token_for(client, AGENCY_USER)
    clock.advance(days=91)
    _assert_aad_error(_refresh(client, first["refresh_token"]), "invalid_grant", 700082)


def test_no_refresh_token_without_offline_access(client: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    code = grant_code(client, AGENCY_USER, challenge, scope=ADS_SCOPE)
    body = redeem(client, code, verifier, scope=ADS_SCOPE).json
    assert "refresh_token" not in body and "id_token" not in body


def test_access_token_lifetime_is_configurable(clock: Clock) -> None:
    from platforms.microsoft_ads.emulator import create_app

    app = create_app({"access_token_ttl": 1800}, clock=clock)
    assert token_for(app.test_client(), AGENCY_USER)["expires_in"] == 1800


def test_unsupported_grant_type(client: FlaskClient) -> None:
    response = client.post("/common/oauth2/v2.0/token", data={
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})  # fmt: skip
    _assert_aad_error(response, "unsupported_grant_type", 70003)
