"""The fake platform passes the contract: proof that the suite is satisfiable by a plugin that
the host knows nothing about."""

from __future__ import annotations

import pytest
import requests

from platforms.base import AccountRef
from tests.fake_platform import FakePlatform
from tests.platforms.contract import PlatformContract


class TestFakePlatformContract(PlatformContract):
    @pytest.fixture
    def platform(self) -> FakePlatform:
        return FakePlatform()

    @pytest.fixture
    def session(self) -> requests.Session:
        return requests.Session()

    @pytest.fixture
    def account(self) -> AccountRef:
        return AccountRef("901", "900")
