"""Google's OAuth 2.0 web-server flow as the emulator plays it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

from flask.testing import FlaskClient

from platforms.google_ads.emulator import create_app

from .conftest import (
    ADWORDS,
    AGENCY_USER,
    CLIENT_ID,
    CLIENT_SECRET,
    DATAMANAGER,
    REDIRECT_URI,
    Clock,
    grant_code,
    pkce_pair,
    redeem,
    tokens_for,
)

AUTH = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
        "scope": f"{ADWORDS} {DATAMANAGER}", "access_type": "offline", "state": "st-1"}  # fmt: skip


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def browser_consent(client: FlaskClient, params: dict[str, str], decision: str = "allow",
                    granted: list[str] | None = None, path: str = "/o/oauth2/v2/auth") -> str:  # fmt: skip
    """Walk the pages as a person: choose Alex, then Continue/Cancel. Returns the redirect."""
    page = client.get(f"{path}?{urlencode(params)}")
    assert page.status_code == 200 and "Choose an account" in page.text
    assert AGENCY_USER in page.text
    form = {**params, "user": "100000001"}
    consent = client.post("/o/oauth2/v2/auth/account", data=form)
    assert consent.status_code == 200 and "wants access to your Google Account" in consent.text
    assert ADWORDS in consent.text and DATAMANAGER in consent.text
    assert hidden_fields(consent.text)["state"] == params["state"]
    ticked = params["scope"].split() if granted is None else granted
    answer = client.post("/o/oauth2/v2/auth/consent",
                         data={**form, "decision": decision, "granted": ticked})  # fmt: skip
    assert answer.status_code == 302
    return answer.headers["Location"]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_browser_flow_with_pkce_gives_both_scopes_and_a_refresh_token(client):
    verifier, challenge = pkce_pair()
    params = {**AUTH, "code_challenge": challenge, "code_challenge_method": "S256"}
    back = query(browser_consent(client, params))
    assert back["state"] == "st-1" and back["scope"] == f"{ADWORDS} {DATAMANAGER}"
    token = redeem(client, back["code"], verifier)
    assert token.status_code == 200
    body = token.json
    assert set(body) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["scope"] == f"{ADWORDS} {DATAMANAGER}"
    assert token.headers["Cache-Control"].startswith("no-cache")


def test_cancel_answers_access_denied_with_the_state(client):
    back = query(browser_consent(client, AUTH, decision="cancel"))
    assert back == {"state": "st-1", "error": "access_denied"}


def test_unticked_scope_is_not_granted(client):
    back = query(browser_consent(client, AUTH, granted=[ADWORDS]))
    assert back["scope"] == ADWORDS
    assert redeem(client, back["code"]).json["scope"] == ADWORDS


def test_legacy_paths_serve_the_same_flow(client):
    back = query(browser_consent(client, AUTH, path="/o/oauth2/auth"))
    assert redeem(client, back["code"], path="/o/oauth2/token").status_code == 200


def test_redirect_uri_must_match_exactly_and_errors_stay_on_google(client):
    for uri in (
        REDIRECT_URI + "/",
        REDIRECT_URI.replace("5000", "5001"),
        "https://evil.example/cb",
    ):
        page = client.get(f"/o/oauth2/v2/auth?{urlencode({**AUTH, 'redirect_uri': uri})}")
        assert page.status_code == 400 and "redirect_uri_mismatch" in page.text
        assert "Location" not in page.headers
    page = client.get(f"/o/oauth2/v2/auth?{urlencode({**AUTH, 'client_id': 'other'})}")
    assert page.status_code == 401 and "invalid_client" in page.text
    page = client.get(
        f"/o/oauth2/v2/auth?{urlencode({**AUTH, 'scope': 'https://mail.google.com/'})}"
    )
    assert page.status_code == 400 and "invalid_scope" in page.text
    # The control API adds a redirect URI (as the Cloud console does); matching stays exact.
    added = "http://127.0.0.1:8123/setup/platforms/google_ads/callback"
    assert client.post("/_emulator/redirect_uris", json={"redirect_uri": added}).status_code == 200
    assert (
        client.get(f"/o/oauth2/v2/auth?{urlencode({**AUTH, 'redirect_uri': added})}").status_code
        == 200
    )


def test_pkce_is_verified_for_s256_and_plain(client):
    verifier, challenge = pkce_pair()
    code = grant_code(client, AGENCY_USER, challenge)
    wrong = redeem(client, code, "x" * 64)
    assert wrong.status_code == 400 and wrong.json == {
        "error": "invalid_grant", "error_description": "Invalid code verifier."}  # fmt: skip
    code = grant_code(client, AGENCY_USER, challenge)
    assert redeem(client, code).json["error_description"] == "Missing code verifier."
    plain = "p" * 50
    code = grant_code(client, AGENCY_USER, code_challenge=plain, code_challenge_method="plain")
    assert redeem(client, code, plain).status_code == 200


def test_a_code_works_once_and_needs_the_same_redirect_uri(client):
    code = grant_code(client, AGENCY_USER)
    other = redeem(client, code, redirect_uri=REDIRECT_URI.replace("127.0.0.1", "localhost"))
    assert other.status_code == 400 and other.json["error"] == "redirect_uri_mismatch"
    assert redeem(client, code).status_code == 200
    again = redeem(client, code)
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"
    unknown = redeem(client, "4/0Anot-a-code")
    assert unknown.json == {"error": "invalid_grant", "error_description": "Malformed auth code."}


def test_client_secret_in_body_or_basic_and_wrong_secret(client):
    code = grant_code(client, AGENCY_USER)
    wrong = redeem(client, code, client_secret="nope")
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    import base64

    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = client.post("/token", headers={"Authorization": f"Basic {basic}"}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})  # fmt: skip
    assert response.status_code == 200
    bad = client.post("/token", data={"grant_type": "password", "client_id": CLIENT_ID,
                                      "client_secret": CLIENT_SECRET})  # fmt: skip
    assert bad.json == {
        "error": "unsupported_grant_type",
        "error_description": "Invalid grant_type: password",
    }


def test_refresh_token_only_offline_and_first_time_or_prompt_consent(client):
    online = redeem(client, grant_code(client, AGENCY_USER, access_type="online")).json
    assert "refresh_token" not in online
    first = redeem(client, grant_code(client, AGENCY_USER)).json
    assert "refresh_token" in first
    second = redeem(client, grant_code(client, AGENCY_USER)).json
    assert "refresh_token" not in second  # already consented: Google sends none
    forced = redeem(client, grant_code(client, AGENCY_USER, prompt="consent")).json
    assert "refresh_token" in forced and forced["refresh_token"] != first["refresh_token"]


def refresh(client, token, **extra):
    return client.post("/token", data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                       "client_secret": CLIENT_SECRET, "refresh_token": token,
                                       **extra})  # fmt: skip


def test_refresh_keeps_the_refresh_token_and_can_narrow_scopes(client):
    tokens = tokens_for(client, AGENCY_USER)
    again = refresh(client, tokens["refresh_token"])
    assert again.status_code == 200 and "refresh_token" not in again.json
    assert again.json["access_token"] != tokens["access_token"]
    assert refresh(client, tokens["refresh_token"]).status_code == 200  # no rotation at Google
    narrow = refresh(client, tokens["refresh_token"], scope=ADWORDS)
    assert narrow.json["scope"] == ADWORDS
    wider = refresh(client, tokens["refresh_token"], scope=f"{ADWORDS} https://mail.google.com/")
    assert wider.status_code == 400 and wider.json["error"] == "invalid_scope"


def test_revoked_grant_answers_invalid_grant_with_googles_wording(client):
    tokens = tokens_for(client, AGENCY_USER)
    assert client.post(f"/_emulator/users/{AGENCY_USER}/revoke").json["revoked_refresh_tokens"] == 1
    dead = refresh(client, tokens["refresh_token"])
    assert dead.status_code == 400
    assert dead.json == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    # After revocation a new consent gives a refresh token again (first time for the new grant).
    assert "refresh_token" in redeem(client, grant_code(client, AGENCY_USER)).json


def test_revoke_endpoint_with_an_access_token_kills_the_grant(client):
    tokens = tokens_for(client, AGENCY_USER)
    assert client.post("/revoke", data={"token": tokens["access_token"]}).status_code == 200
    assert refresh(client, tokens["refresh_token"]).json["error"] == "invalid_grant"
    again = client.post(f"/revoke?token={tokens['refresh_token']}")
    assert again.status_code == 400 and again.json["error"] == "invalid_token"


def test_refresh_token_dies_after_six_months_unused_or_seven_days_in_testing(client, clock):
    tokens = tokens_for(client, AGENCY_USER)
    clock.advance(days=182)
    assert refresh(client, tokens["refresh_token"]).status_code == 200  # use resets idleness
    clock.advance(days=183)
    assert refresh(client, tokens["refresh_token"]).json["error"] == "invalid_grant"
    testing_clock = Clock()
    testing = create_app({"refresh_token_ttl_days": 7}, clock=testing_clock).test_client()
    tokens = tokens_for(testing, AGENCY_USER)
    testing_clock.advance(days=6, hours=23)
    assert refresh(testing, tokens["refresh_token"]).status_code == 200
    testing_clock.advance(hours=2)
    assert refresh(testing, tokens["refresh_token"]).json["error_description"] == (
        "Token has been expired or revoked.")  # fmt: skip


def test_the_101st_refresh_token_invalidates_the_oldest(client):
    first = redeem(client, grant_code(client, AGENCY_USER)).json["refresh_token"]
    for _ in range(99):
        redeem(client, grant_code(client, AGENCY_USER, prompt="consent"))
    assert refresh(client, first).status_code == 200
    redeem(client, grant_code(client, AGENCY_USER, prompt="consent"))
    assert refresh(client, first).json["error"] == "invalid_grant"


def test_injected_invalid_grant_on_refresh(client):
    tokens = tokens_for(client, AGENCY_USER)
    armed = client.post("/_emulator/faults", json={"operation": "Token", "kind": "invalid_grant"})
    assert armed.status_code == 201
    assert refresh(client, tokens["refresh_token"]).json["error"] == "invalid_grant"
    assert refresh(client, tokens["refresh_token"]).status_code == 200  # one-shot
    client.post("/_emulator/faults", json={"operation": "Token", "kind": "bare", "status": 503})
    bare = refresh(client, tokens["refresh_token"])
    assert bare.status_code == 503 and bare.data == b""


def test_auto_consent_approves_or_denies_without_pages(client):
    assert client.post("/_emulator/auto_consent", json={"user": AGENCY_USER}).status_code == 200
    verifier, challenge = pkce_pair()
    answer = client.get(
        f"/o/oauth2/v2/auth?{urlencode({**AUTH, 'code_challenge': challenge, 'code_challenge_method': 'S256'})}"
    )
    assert answer.status_code == 302
    back = query(answer.headers["Location"])
    assert back["state"] == "st-1"
    assert redeem(client, back["code"], verifier).status_code == 200
    client.post("/_emulator/auto_consent", json={"user": "deny"})
    denied = client.get(f"/o/oauth2/v2/auth?{urlencode(AUTH)}")
    assert query(denied.headers["Location"]) == {"state": "st-1", "error": "access_denied"}
    client.post("/_emulator/auto_consent", json={"user": ""})
    assert client.get(f"/o/oauth2/v2/auth?{urlencode(AUTH)}").status_code == 200
    assert create_app({"auto_consent": AGENCY_USER}).test_client().get(
        f"/o/oauth2/v2/auth?{urlencode(AUTH)}").status_code == 302  # fmt: skip


def test_include_granted_scopes_adds_earlier_grants(client):
    tokens_for(client, AGENCY_USER, scope=ADWORDS)
    code = grant_code(client, AGENCY_USER, scope=DATAMANAGER, include_granted_scopes=True)
    assert set(redeem(client, code).json["scope"].split()) == {ADWORDS, DATAMANAGER}
