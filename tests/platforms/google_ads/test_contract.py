"""Google Ads passes the shared platform contract, against the running Google emulator."""

from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session

from platforms.base import AccountRef
from platforms.google_ads.plugin import GoogleAdsPlatform
from tests.conftest import google_environ
from tests.helpers.connect import pkce_session
from tests.platforms.contract import PlatformContract

REDIRECT_URI = "http://127.0.0.1:5000/setup/platforms/google_ads/callback"


class TestGoogleAdsContract(PlatformContract):
    @pytest.fixture
    def platform(self, google_emulator: str) -> GoogleAdsPlatform:
        return GoogleAdsPlatform(google_environ(google_emulator))

    @pytest.fixture
    def session(self, platform: GoogleAdsPlatform, google_emulator: str) -> OAuth2Session:
        return pkce_session(platform.oauth_spec(), google_emulator, REDIRECT_URI)

    @pytest.fixture
    def account(self) -> AccountRef:
        return AccountRef("2345678901", "1112223333")  # reached through the manager
