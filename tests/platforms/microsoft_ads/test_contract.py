"""Microsoft Ads passes the shared platform contract, against the running emulator."""

from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session

from platforms.base import AccountRef
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from tests.conftest import msads_environ
from tests.helpers.connect import pkce_session
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
        return pkce_session(platform.oauth_spec(), emulator, REDIRECT_URI)

    @pytest.fixture
    def account(self) -> AccountRef:
        return AccountRef("80000011", "70000001")
