"""Google Ads passes the shared platform contract, against the running Google emulator."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from platforms.base import AccountRef
from platforms.google_ads.plugin import GoogleAdsPlatform
from tests.conftest import google_environ
from tests.platforms.contract import PlatformContract

REDIRECT_URI = "http://127.0.0.1:5000/setup/platforms/google_ads/callback"


class TestGoogleAdsContract(PlatformContract):
    @pytest.fixture
    def platform(self, google_emulator: str) -> GoogleAdsPlatform:
        return GoogleAdsPlatform(google_environ(google_emulator))

    @pytest.fixture
    def session(self, platform: GoogleAdsPlatform, google_emulator: str) -> OAuth2Session:
        spec = platform.oauth_spec()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        granted = requests.post(
            f"{google_emulator}/_emulator/consent",
            timeout=10,
            json={
                "user": "alex@fabrikam-agency.example",
                "redirect_uri": REDIRECT_URI,
                "scope": " ".join(spec.scopes),
                "code_challenge": challenge.decode().rstrip("="),
                "code_challenge_method": "S256",
            },
        )
        granted.raise_for_status()
        session = OAuth2Session(
            spec.client_id,
            spec.client_secret,
            scope=" ".join(spec.scopes),
            redirect_uri=REDIRECT_URI,
        )
        session.fetch_token(spec.token_url, code=granted.json()["code"], code_verifier=verifier)
        return session

    @pytest.fixture
    def account(self) -> AccountRef:
        return AccountRef("2345678901", "1112223333")  # reached through the manager
