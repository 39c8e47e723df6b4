"""The world every start and every ``POST /_emulator/reset`` begins with (see the README)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from .entities import Ad, AdGroup, AssetGroup, Campaign, ConversionAction, Customer, User

AGENCY_MANAGER = "1112223333"
US_ACCOUNT = "1234567890"
UK_ACCOUNT = "2345678901"
EU_MANAGER = "3334445555"
DE_ACCOUNT = "4567890123"
CANCELED_ACCOUNT = "5678901234"
DIRECT_ACCOUNT = "9876543210"

# Users whose hashed e-mail / phone count as matched identities (enhanced conversions for
# leads): Google matches them against signed-in Google users; here, against this list.
KNOWN_PEOPLE = (
    ("alexz@example.com", "+18005550100"),  # Google's own formatter test vectors
    ("cloudysanfrancisco@gmail.com", "+14155550123"),
    ("jane.doe@example.com", "+447700900123"),
)


@dataclass
class Seed:
    users: dict[str, User]
    customers: dict[str, Customer]
    conversion_actions: dict[str, ConversionAction]
    campaigns: dict[str, Campaign]
    ad_groups: dict[str, AdGroup]
    ads: dict[str, Ad]
    asset_groups: dict[str, AssetGroup]
    # gclid -> (customer, campaign, ad group or None, hours before seeding)
    clicks: dict[str, tuple[str, str, str | None, float]]


def _customers() -> list[Customer]:
    return [
        Customer(AGENCY_MANAGER, "Fabrikam Agency (manager)", "USD", "America/New_York",
                 manager=True),
        Customer(US_ACCOUNT, "Fabrikam Outdoor US", "USD", "America/Los_Angeles",
                 parent_id=AGENCY_MANAGER, enhanced_conversions_for_leads_enabled=True),
        Customer(UK_ACCOUNT, "Fabrikam Outdoor UK", "GBP", "Europe/London",
                 parent_id=AGENCY_MANAGER),
        Customer(EU_MANAGER, "Fabrikam Europe (sub-manager)", "EUR", "Europe/Berlin",
                 manager=True, parent_id=AGENCY_MANAGER),
        Customer(DE_ACCOUNT, "Fabrikam Outdoor DE", "EUR", "Europe/Berlin",
                 parent_id=EU_MANAGER),
        Customer(CANCELED_ACCOUNT, "Fabrikam Old Brand", "USD", "America/New_York",
                 status="CANCELED", parent_id=AGENCY_MANAGER),
        Customer(DIRECT_ACCOUNT, "Contoso Bikes", "USD", "America/New_York",
                 auto_tagging_enabled=False, accepted_customer_data_terms=False),
    ]  # fmt: skip


def _conversion_actions(now: datetime) -> list[ConversionAction]:
    old = now - timedelta(days=60)
    return [
        ConversionAction("700000001", US_ACCOUNT, "Closed won (offline)", "UPLOAD_CLICKS",
                         "ENABLED", "PURCHASE", "MANY_PER_CLICK", old, default_value=100.0),
        ConversionAction("700000002", US_ACCOUNT, "Qualified lead (ECL)", "UPLOAD_CLICKS",
                         "ENABLED", "QUALIFIED_LEAD", "ONE_PER_CLICK", old, default_value=25.0,
                         click_through_lookback_window_days=30),
        ConversionAction("700000003", US_ACCOUNT, "Legacy signup", "UPLOAD_CLICKS", "REMOVED",
                         "SIGNUP", "ONE_PER_CLICK", old - timedelta(days=300)),
        ConversionAction("700000004", US_ACCOUNT, "Website purchase", "WEBPAGE", "ENABLED",
                         "PURCHASE", "MANY_PER_CLICK", old, origin="WEBSITE"),
        ConversionAction("700000005", US_ACCOUNT, "Demo booked", "UPLOAD_CLICKS", "ENABLED",
                         "BOOK_APPOINTMENT", "ONE_PER_CLICK", now - timedelta(minutes=5)),
        ConversionAction("700000006", US_ACCOUNT, "Partner sale (secondary)", "UPLOAD_CLICKS",
                         "ENABLED", "PURCHASE", "MANY_PER_CLICK", old,
                         include_in_conversions_metric=False, primary_for_goal=False),
        ConversionAction("700000011", UK_ACCOUNT, "Closed won UK", "UPLOAD_CLICKS", "ENABLED",
                         "PURCHASE", "MANY_PER_CLICK", old, default_currency_code="GBP"),
        ConversionAction("700000021", DE_ACCOUNT, "Abschluss DE", "UPLOAD_CLICKS", "ENABLED",
                         "PURCHASE", "MANY_PER_CLICK", old, default_currency_code="EUR"),
        ConversionAction("700000031", DIRECT_ACCOUNT, "Purchase", "UPLOAD_CLICKS", "ENABLED",
                         "PURCHASE", "MANY_PER_CLICK", old, default_value=50.0),
        ConversionAction("700000032", DIRECT_ACCOUNT, "Newsletter signup", "WEBPAGE",
                         "ENABLED", "SIGNUP", "ONE_PER_CLICK", old, origin="WEBSITE"),
    ]  # fmt: skip


CAMPAIGNS = (
    # id, customer, name, status, channel
    ("20000001", US_ACCOUNT, "Brand - US", "ENABLED", "SEARCH"),
    ("20000002", US_ACCOUNT, "Generic - Tents", "PAUSED", "SEARCH"),
    ("20000003", US_ACCOUNT, "Shopping - All products", "ENABLED", "SHOPPING"),
    ("20000004", US_ACCOUNT, "PMax - Outdoor", "ENABLED", "PERFORMANCE_MAX"),
    ("20000005", US_ACCOUNT, "Old brand test", "REMOVED", "SEARCH"),
    ("20000011", UK_ACCOUNT, "Brand - UK", "ENABLED", "SEARCH"),
    ("20000012", UK_ACCOUNT, "PMax - UK", "ENABLED", "PERFORMANCE_MAX"),
    ("20000021", DE_ACCOUNT, "Marke - DE", "ENABLED", "SEARCH"),
    ("20000031", DIRECT_ACCOUNT, "Bikes - Search", "ENABLED", "SEARCH"),
    ("20000032", DIRECT_ACCOUNT, "Bikes - Display", "ENABLED", "DISPLAY"),
)
AD_GROUP_TYPE = {"SEARCH": "SEARCH_STANDARD", "SHOPPING": "SHOPPING_PRODUCT_ADS",
                 "DISPLAY": "DISPLAY_STANDARD"}  # fmt: skip
AD_TYPE = {"SEARCH": "RESPONSIVE_SEARCH_AD", "SHOPPING": "SHOPPING_PRODUCT_AD",
           "DISPLAY": "RESPONSIVE_DISPLAY_AD"}  # fmt: skip


def _gclid(label: str) -> str:
    """A gclid-looking token (Google's are opaque URL-safe strings, ~90-100 characters)."""
    digest = hashlib.sha512(label.encode()).hexdigest()
    return "Cj0KCQiA" + digest[:80]


def build_seed(now: datetime) -> Seed:
    customers = {c.id: c for c in _customers()}
    users = {
        "100000001": User("100000001", "alex@fabrikam-agency.example", "Alex Morgan",
                          (AGENCY_MANAGER, US_ACCOUNT)),
        "100000002": User("100000002", "dana@contoso-bikes.example", "Dana Lee",
                          (DIRECT_ACCOUNT,)),
        "100000003": User("100000003", "nobody@example.com", "Nadia Obi", ()),
    }  # fmt: skip
    campaigns: dict[str, Campaign] = {}
    ad_groups: dict[str, AdGroup] = {}
    ads: dict[str, Ad] = {}
    asset_groups: dict[str, AssetGroup] = {}
    for cid, customer_id, name, status, channel in CAMPAIGNS:
        campaigns[cid] = Campaign(cid, customer_id, name, status, channel)
        for n in (1, 2):
            child_status = "ENABLED" if n == 1 else "PAUSED"
            child_id = f"{cid}{n}"  # 9 digits
            if channel == "PERFORMANCE_MAX":  # no ad groups, asset groups instead
                label = "All products" if n == 1 else "Tents"
                asset_groups[f"6{child_id}"] = AssetGroup(
                    f"6{child_id}", customer_id, cid, f"{label}", child_status
                )
                continue
            group_id = f"3{child_id}"
            ad_groups[group_id] = AdGroup(group_id, customer_id, cid, f"{name} - group {n}",
                                          child_status, AD_GROUP_TYPE[channel])  # fmt: skip
            for m in (1, 2):
                ad_id = f"4{child_id}{m}"
                ads[ad_id] = Ad(ad_id, customer_id, group_id, f"{name} - ad {n}.{m}",
                                AD_TYPE[channel], "ENABLED" if m == 1 else "PAUSED",
                                ["https://shop.example/"])  # fmt: skip
    clicks: dict[str, tuple[str, str, str | None, float]] = {
        _gclid("seed-us-48h"): (US_ACCOUNT, "20000001", "3200000011", 48.0),
        _gclid("seed-us-100d"): (US_ACCOUNT, "20000001", "3200000011", 100 * 24.0),
        _gclid("seed-direct-30h"): (DIRECT_ACCOUNT, "20000031", "3200000311", 30.0),
    }
    return Seed(
        users=users,
        customers=customers,
        conversion_actions={a.id: a for a in _conversion_actions(now)},
        campaigns=campaigns,
        ad_groups=ad_groups,
        ads=ads,
        asset_groups=asset_groups,
        clicks=clicks,
    )
