"""A small in-memory platform: proves the host works with any plugin, and that the contract
suite (tests/platforms/contract.py) can pass."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import requests

from platforms.base import (
    AccountRef,
    AdAccount,
    ClickIdParam,
    ConversionGoal,
    ConversionUpload,
    DailyMetric,
    DateWindow,
    Entity,
    OAuthSpec,
    Platform,
    PushOutcome,
)
from platforms.errors import InvalidRequest


class FakePlatform(Platform):
    key = "fake"
    display_name = "Fake Ads"
    description = "An in-memory ad platform used by the tests."
    click_ids = (ClickIdParam("fakeclid", pattern=r"fk-[a-z0-9]{1,40}"),)
    max_batch_size = 3

    def oauth_spec(self) -> OAuthSpec:
        base = self.settings.get("PLATFORM_FAKE_URL", "http://127.0.0.1:9/fake")
        return OAuthSpec(
            authorize_url=f"{base}/authorize",
            token_url=f"{base}/token",
            scopes=("ads.write", "offline"),
            client_id="fake-client",
            client_secret="fake-secret",
        )

    def list_accounts(self, session: requests.Session) -> list[AdAccount]:
        return [
            AdAccount(
                AccountRef("900", None),
                "Fake Manager",
                is_manager=True,
                ineligible_reason="Manager accounts cannot take conversions",
            ),
            AdAccount(AccountRef("901", "900"), "Fake Shop", currency="EUR", manager_id="900"),
        ]

    @staticmethod
    def _calls(what: str) -> None:
        """Where a real plugin would send a request: the host's rule that no transaction is open
        then (webapp.services.platform_calls) applies to the fake's calls too."""
        from webapp.services import platform_calls

        platform_calls.check(f"fake {what}")

    def list_conversion_goals(
        self, session: requests.Session, account: AccountRef
    ) -> list[ConversionGoal]:
        self._calls("list_conversion_goals")
        if account.account_id != "901":
            raise InvalidRequest(f"unknown account {account.account_id}", code="NOT_FOUND")
        return [ConversionGoal("g1", "Lead", "Active", created_at=datetime(2026, 1, 1, tzinfo=UTC))]

    def push_conversions(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionUpload]
    ) -> list[PushOutcome]:
        self._calls("push_conversions")
        if len(batch) > self.max_batch_size:
            raise InvalidRequest("batch too large")
        return [
            PushOutcome(row.row_id, True)
            if row.click_id
            else PushOutcome(row.row_id, False, "NO_CLICK", "click id is required")
            for row in batch
        ]

    def pull_structure(self, session: requests.Session, account: AccountRef) -> Iterator[Entity]:
        self._calls("pull_structure")
        yield Entity("campaign", "c1", "Brand", "Active")
        yield Entity("ad_group", "ag1", "Brand - exact", "Active", parent_id="c1")
        yield Entity("ad", "ad1", "Headline", "Active", parent_id="ag1")

    def pull_insights(
        self, session: requests.Session, account: AccountRef, window: DateWindow
    ) -> Iterator[DailyMetric]:
        self._calls("pull_insights")
        day: date = window.start
        while day <= window.end:
            yield DailyMetric("campaign", "c1", day, 100, 7, Decimal("12.34"), "EUR")
            day += timedelta(days=1)
