"""The seeded Google world: Google accounts (people), Ads customers (accounts), and what they
own. Plain data; enum values are Google's names (the API answers with names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class User:
    """A Google account that signs in; ``customer_ids`` are the customers it reaches directly."""

    id: str
    email: str
    name: str
    customer_ids: tuple[str, ...]


@dataclass
class Customer:
    id: str  # 10 digits, no hyphens
    descriptive_name: str
    currency_code: str
    time_zone: str  # CLDR / IANA id, e.g. America/Los_Angeles
    manager: bool = False
    status: str = "ENABLED"  # ENABLED, CANCELED, SUSPENDED, CLOSED
    test_account: bool = False
    parent_id: str | None = None  # the manager that links it
    hidden: bool = False
    auto_tagging_enabled: bool = True
    # Enhanced conversions for leads needs the customer data terms accepted.
    accepted_customer_data_terms: bool = True
    enhanced_conversions_for_leads_enabled: bool = False
    data_from: date | None = None  # first day with metrics (None = 400 days before seeding)


@dataclass
class ConversionAction:
    id: str
    customer_id: str  # owner_customer
    name: str
    type: str  # UPLOAD_CLICKS, WEBPAGE, UPLOAD_CALLS, ...
    status: str  # ENABLED, REMOVED, HIDDEN
    category: str  # PURCHASE, QUALIFIED_LEAD, ...
    counting_type: str  # ONE_PER_CLICK, MANY_PER_CLICK
    created_at: datetime
    origin: str = "GOOGLE_HOSTED"
    include_in_conversions_metric: bool = True
    primary_for_goal: bool = True
    click_through_lookback_window_days: int = 90
    view_through_lookback_window_days: int = 1
    default_value: float = 0.0
    default_currency_code: str = "USD"
    always_use_default_value: bool = False


@dataclass
class Campaign:
    id: str
    customer_id: str
    name: str
    status: str  # ENABLED, PAUSED, REMOVED
    advertising_channel_type: str  # SEARCH, DISPLAY, SHOPPING, PERFORMANCE_MAX, ...


@dataclass
class AdGroup:
    id: str
    customer_id: str
    campaign_id: str
    name: str
    status: str
    type: str  # SEARCH_STANDARD, SHOPPING_PRODUCT_ADS, DISPLAY_STANDARD


@dataclass
class Ad:
    id: str
    customer_id: str
    ad_group_id: str
    name: str
    type: str  # RESPONSIVE_SEARCH_AD, SHOPPING_PRODUCT_AD, RESPONSIVE_DISPLAY_AD
    status: str  # of the ad_group_ad
    final_urls: list[str] = field(default_factory=list)


@dataclass
class AssetGroup:
    id: str
    customer_id: str
    campaign_id: str
    name: str
    status: str
