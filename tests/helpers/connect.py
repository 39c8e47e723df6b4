"""The connect flow of an OAuth platform driven without a browser, against its emulator process:
Connect on Ad Platforms, the emulator's consent (what its Accept/Continue button does), the
callback, and the account picker. Every platform's flow is the same from the host's side; only
the plugin key, the authorize path and the seeded user differ."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session

from platforms.base import OAuthSpec
from tests.conftest import csrf_token

# Authorize parameters a platform's consent step must see again (Google: offline access, the
# consent screen); the others (user, redirect, scope, PKCE, state) every platform gets.
PASSED_THROUGH = ("access_type", "prompt")


@dataclass(frozen=True)
class ConnectFlow:
    key: str  # plugin key, as in /setup/platforms/<key>/
    authorize_path: str  # where Connect sends the browser on the emulator
    user: str  # the seeded user who signs in by default

    def start_connect(self, client, ws: int, reconnect: int | None = None) -> dict[str, str]:
        """Press Connect (or Reconnect); the authorize request's parameters."""
        data = {"csrf_token": csrf_token(client, f"/w/{ws}/setup/platforms")}
        if reconnect is not None:
            data["reconnect"] = str(reconnect)
        response = client.post(f"/w/{ws}/setup/platforms/{self.key}/connect", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        url = urlsplit(response.location)
        assert url.path == self.authorize_path
        return {k: v[0] for k, v in parse_qs(url.query).items()}

    def consent(self, emulator: str, params: dict[str, str], user: str | None = None) -> str:
        """What the emulator's consent button does: our callback path with code and state."""
        body = {
            "user": user or self.user,
            "redirect_uri": params["redirect_uri"],
            "scope": params["scope"],
            "code_challenge": params["code_challenge"],
            "code_challenge_method": params["code_challenge_method"],
            "state": params["state"],
        }
        body.update({name: params[name] for name in PASSED_THROUGH if name in params})
        response = requests.post(f"{emulator}/_emulator/consent", timeout=10, json=body)
        response.raise_for_status()
        url = urlsplit(response.json()["redirect_url"])
        return f"{url.path}?{url.query}"

    def sign_in(
        self, client, emulator: str, ws: int, user: str | None = None, reconnect: int | None = None
    ) -> str:
        """Connect through consent to the callback; the account picker's URL."""
        params = self.start_connect(client, ws, reconnect)
        response = client.get(self.consent(emulator, params, user))
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        assert f"/setup/platforms/{self.key}/accounts?grant=" in response.location
        return response.location

    @staticmethod
    def confirm_reconnect(client, picker_url: str, connection_id: int):
        """Confirm "Reconnect this account" on the picker a Reconnect led to."""
        return _post_picker(client, picker_url, reconnect=str(connection_id))

    @staticmethod
    def pick(client, picker_url: str, account_id: str):
        """Choose one account on the picker."""
        return _post_picker(client, picker_url, account_id=account_id)


def _post_picker(client, picker_url: str, **fields: str):
    """Submit the account picker with its grant and CSRF token, plus ``fields``."""
    grant = parse_qs(urlsplit(picker_url).query)["grant"][0]
    return client.post(
        picker_url,
        data={"grant": grant, **fields, "csrf_token": csrf_token(client, picker_url)},
    )


AGENCY = "alex@fabrikam-agency.example"  # a manager/agency user in both seeded emulators
GOOGLE_ADS = ConnectFlow("google_ads", "/o/oauth2/v2/auth", AGENCY)
MICROSOFT_ADS = ConnectFlow("microsoft_ads", "/common/oauth2/v2.0/authorize", AGENCY)


def pkce_session(
    spec: OAuthSpec, emulator_url: str, redirect_uri: str, user: str = AGENCY, **consent: str
):
    """A session holding tokens from the platform's authorization-code flow with PKCE, the
    emulator consenting for ``user`` (what the plugin tests and the contract suite call with).
    ``consent``: more parameters of the authorization request (``access_type``, ``prompt``)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    granted = requests.post(
        f"{emulator_url}/_emulator/consent",
        timeout=10,
        json={
            "user": user,
            "redirect_uri": redirect_uri,
            "scope": " ".join(spec.scopes),
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
            **consent,
        },
    )
    granted.raise_for_status()
    session = OAuth2Session(
        spec.client_id, spec.client_secret, scope=" ".join(spec.scopes), redirect_uri=redirect_uri
    )
    session.fetch_token(spec.token_url, code=granted.json()["code"], code_verifier=verifier)
    return session
