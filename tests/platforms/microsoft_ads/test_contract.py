"""Microsoft Ads passes the shared platform contract, against the running emulator."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from platforms.base import AccountRef
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from tests.conftest import msads_environ
from tests.platforms.contract import PlatformContract

REDIRECT_URI = "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback"


class TestMicrosoftAdsContract(PlatformContract):
    @pytest.fixture
    def platform(self, emulator: str) -> MicrosoftAdsPlatform:
        plugin = MicrosoftAdsPlatform(msads_environ(emulator))
        plugin.sleep = lambda seconds: None
        return plugin

    @pytest.fixture
    def session(self, platform: MicrosoftAdsPlatform, emulator: str) -> OAuth2Session:
        spec = platform.oauth_spec()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        granted = requests.post(
            f"{emulator}/_emulator/consent",
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
        return AccountRef("80000011", "70000001")
