"""``ExampleAdsPlatform``: the interface implemented for Example Ads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import requests

from platforms.base import (
    AccountRef,
    AdAccount,
    Capability,
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

from .client import ExampleAdsClient


class ExampleAdsPlatform(Platform):
    key = "example_ads"
    display_name = "Example Ads"
    description = "A worked example of a platform plugin (and the proof that the seam holds)."
    click_ids = (ClickIdParam("exclid", pattern=r"ex[A-Za-z0-9]{4,60}", window=timedelta(days=30)),)
    capabilities = Capability(push_conversions=True, pull_structure=True, pull_insights=True)
    max_batch_size = 500

    @property
    def base_url(self) -> str:
        return self.settings.get("EXAMPLE_ADS_URL", "http://127.0.0.1:5077").rstrip("/")

    def oauth_spec(self) -> OAuthSpec:
        return OAuthSpec(
            authorize_url=f"{self.base_url}/oauth/authorize",
            token_url=f"{self.base_url}/oauth/token",
            scopes=("ads", "offline"),
            client_id=self.settings.get("EXAMPLE_ADS_CLIENT_ID", "example-client"),
            client_secret=self.settings.get("EXAMPLE_ADS_CLIENT_SECRET", "example-secret"),
        )

    def _client(self, session: requests.Session) -> ExampleAdsClient:
        return ExampleAdsClient(session, f"{self.base_url}/v1")

    def list_accounts(self, session: requests.Session) -> list[AdAccount]:
        accounts = []
        for item in self._client(session).get("/accounts")["accounts"]:
            reason = None
            if item["manager"]:
                reason = "Manager accounts cannot take conversions; connect its ad accounts."
            elif item["status"] != "active":
                reason = f"The account is {item['status']}."
            accounts.append(
                AdAccount(
                    ref=AccountRef(str(item["id"])),
                    name=item["name"],
                    currency=item["currency"],
                    status=item["status"].capitalize(),
                    is_manager=item["manager"],
                    manager_id=item.get("manager_id"),
                    ineligible_reason=reason,
                )
            )
        return accounts

    def list_conversion_goals(
        self, session: requests.Session, account: AccountRef
    ) -> list[ConversionGoal]:
        goals = self._client(session).get(f"/accounts/{account.account_id}/goals")["goals"]
        return [
            ConversionGoal(
                id=str(g["id"]),
                name=g["name"],
                status=g["status"],
                is_active=g["status"] == "active",
                created_at=datetime.fromisoformat(g["created_at"]),
            )
            for g in goals
        ]

    def push_conversions(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionUpload]
    ) -> list[PushOutcome]:
        if len(batch) > self.max_batch_size:
            raise InvalidRequest(f"at most {self.max_batch_size} conversions per call")
        if not batch:
            return []
        body = {
            "conversions": [
                {
                    "click_id": row.click_id,
                    "goal": row.goal_name,
                    "time": row.occurred_at.astimezone(UTC).isoformat(),
                    "value": str(row.value) if row.value is not None else None,
                    "currency": row.currency,
                }
                for row in batch
            ]
        }
        results = self._client(session).post(f"/accounts/{account.account_id}/conversions", body)[
            "results"
        ]
        return [
            PushOutcome(row.row_id, bool(result["ok"]), result.get("code"), result.get("message"))
            for row, result in zip(batch, results, strict=True)
        ]

    def pull_structure(self, session: requests.Session, account: AccountRef) -> Iterator[Entity]:
        data = self._client(session).get(f"/accounts/{account.account_id}/structure")
        for campaign in data["campaigns"]:
            yield Entity("campaign", campaign["id"], campaign["name"], campaign["status"])
            for group in campaign["ad_groups"]:
                yield Entity(
                    "ad_group",
                    group["id"],
                    group["name"],
                    group["status"],
                    parent_id=campaign["id"],
                )
                for ad in group["ads"]:
                    yield Entity("ad", ad["id"], ad["name"], ad["status"], parent_id=group["id"])

    def pull_insights(
        self, session: requests.Session, account: AccountRef, window: DateWindow
    ) -> Iterator[DailyMetric]:
        data = self._client(session).get(
            f"/accounts/{account.account_id}/insights",
            start=window.start.isoformat(),
            end=window.end.isoformat(),
        )
        for row in data["rows"]:
            yield DailyMetric(
                level=row["level"],
                entity_id=row["id"],
                day=date.fromisoformat(row["day"]),
                impressions=int(row["impressions"]),
                clicks=int(row["clicks"]),
                spend=Decimal(row["spend"]),
                currency=row["currency"],
            )
