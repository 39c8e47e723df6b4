"""Plain records for the seeded advertising world (users, accounts, campaigns, goals).

They hold emulator-internal values (ints, dates, Decimals); each service module turns
them into Microsoft's JSON shapes, so the wire format lives in one place per service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass
class Customer:
    id: str
    name: str
    number: str


@dataclass
class Role:
    role_id: int
    customer_id: str
    account_ids: list[str] = field(default_factory=list)


@dataclass
class User:
    id: str
    email: str
    first_name: str
    last_name: str
    customer_id: str
    roles: list[Role]


@dataclass
class Account:
    id: str
    name: str
    number: str
    parent_customer_id: str
    currency: str
    time_zone: str
    status: str
    pause_reason: int | None
    language: str
    data_from: date
    data_until: date | None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class Campaign:
    id: str
    account_id: str
    name: str
    status: str
    campaign_type: str
    daily_budget: Decimal
    time_zone: str


@dataclass
class AdGroup:
    id: str
    campaign_id: str
    name: str
    status: str
    start: date


@dataclass
class Ad:
    id: str
    ad_group_id: str
    ad_type: str
    status: str
    title: str
    final_url: str


@dataclass
class Goal:
    id: str
    customer_id: str
    account_id: str | None
    name: str
    status: str
    category: str
    revenue_type: str
    revenue_value: Decimal | None
    currency: str | None
    created_at: datetime
    count_type: str = "All"
    window_minutes: int = 43200
    enhanced: bool = False
    externally_attributed: bool = False
    exclude_from_bidding: bool = False

    @property
    def scope(self) -> str:
        return "Account" if self.account_id else "Customer"
