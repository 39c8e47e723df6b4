"""The deterministic seeded world: who exists, what they can reach, what they advertise.

Ids are fixed so tests, the demo and the README can name them. Times are relative to the
moment of seeding (start or reset) so rules such as "goal younger than two hours" and
"conversion within 90 days" always have something to bite on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .entities import Account, Ad, AdGroup, Campaign, Customer, Goal, Role, User

AGENCY_CUSTOMER_ID = "70000001"
DIRECT_CUSTOMER_ID = "70000002"
AGENCY_USER_ID = "90000001"
DIRECT_USER_ID = "90000002"

SEEDED_CLICKS = {
    # msclkid -> (account id, campaign id, ad group id, ad id, hours before seeding)
    "0b1a2c3d4e5f60718293a4b5c6d7e8f9": ("80000011", "50000111", "400001111", "3000011111", 48),
    "1c2b3a4d5e6f708192a3b4c5d6e7f809": ("80000021", "50000211", "400002111", "3000021111", 30),
}


@dataclass
class Seed:
    """One freshly built world; the state module owns it after seeding."""

    customers: dict[str, Customer]
    users: dict[str, User]
    accounts: dict[str, Account]
    campaigns: dict[str, Campaign]
    ad_groups: dict[str, AdGroup]
    ads: dict[str, Ad]
    goals: dict[str, Goal]


def _accounts(now: datetime) -> list[Account]:
    today = now.date()
    since = today - timedelta(days=730)
    tagging = {"MSCLKIDAutoTaggingEnabled": "true"}
    return [
        Account("80000011", "Fabrikam Outdoor US", "F1000011", AGENCY_CUSTOMER_ID, "USD",
                "PacificTimeUSCanadaTijuana", "Active", None, "English", since, None, dict(tagging)),
        Account("80000012", "Fabrikam Outdoor UK", "F1000012", AGENCY_CUSTOMER_ID, "GBP",
                "GreenwichMeanTimeDublinEdinburghLisbonLondon", "Active", None, "English", since,
                None, dict(tagging)),
        Account("80000013", "Fabrikam Outdoor DE", "F1000013", AGENCY_CUSTOMER_ID, "EUR",
                "AmsterdamBerlinBernRomeStockholmVienna", "Pause", 1, "German", since,
                today - timedelta(days=30), dict(tagging)),
        Account("80000021", "Contoso Bikes", "C2000021", DIRECT_CUSTOMER_ID, "USD",
                "EasternTimeUSCanada", "Active", None, "English", since, None,
                {"MSCLKIDAutoTaggingEnabled": "false"}),
    ]  # fmt: skip


_CAMPAIGNS = [
    # id, account, name, status, type, daily budget
    ("50000111", "80000011", "Brand - US", "Active", "Search", "50.00"),
    ("50000112", "80000011", "Generic - Tents", "Paused", "Search", "20.00"),
    ("50000113", "80000011", "Shopping - All products", "Active", "Shopping", "80.00"),
    ("50000114", "80000011", "Audience - Retargeting", "Active", "Audience", "15.00"),
    ("50000115", "80000011", "PMax - Outdoor", "Active", "PerformanceMax", "60.00"),
    ("50000121", "80000012", "Brand - UK", "Active", "Search", "40.00"),
    ("50000122", "80000012", "Shopping - UK", "Active", "Shopping", "30.00"),
    ("50000131", "80000013", "Marke - DE", "Paused", "Search", "25.00"),
    ("50000211", "80000021", "Bikes - Search", "Active", "Search", "35.00"),
    ("50000212", "80000021", "Bikes - Audience", "Active", "Audience", "10.00"),
]

_AD_TYPE_FOR = {"Search": "ResponsiveSearch", "Shopping": "Product", "Audience": "ResponsiveAd"}


def _hierarchy(
    accounts: dict[str, Account], now: datetime
) -> tuple[dict[str, Campaign], dict[str, AdGroup], dict[str, Ad]]:
    campaigns: dict[str, Campaign] = {}
    ad_groups: dict[str, AdGroup] = {}
    ads: dict[str, Ad] = {}
    start = now.date() - timedelta(days=400)
    for cid, account_id, name, status, ctype, budget in _CAMPAIGNS:
        tz = accounts[account_id].time_zone
        campaigns[cid] = Campaign(cid, account_id, name, status, ctype, Decimal(budget), tz)
        if ctype == "PerformanceMax":
            continue  # asset groups replace ad groups and ads in Performance Max
        for g in (1, 2):
            gid = f"4{cid[1:]}{g}"
            g_status = "Paused" if (cid == "50000111" and g == 2) else "Active"
            ad_groups[gid] = AdGroup(gid, cid, f"{name} - group {g}", g_status, start)
            for a in (1, 2):
                aid = f"3{gid[1:]}{a}"
                ad_type = _AD_TYPE_FOR[ctype]
                if ctype == "Search" and a == 2:
                    ad_type = "ExpandedText"
                a_status = "Paused" if (gid == "400001111" and a == 2) else "Active"
                slug = name.lower().replace(" - ", "-").replace(" ", "-")
                ads[aid] = Ad(aid, gid, ad_type, a_status, f"{name} ad {g}.{a}",
                              f"https://www.example.com/{slug}/")  # fmt: skip
    return campaigns, ad_groups, ads


def _goals(now: datetime) -> list[Goal]:
    d = timedelta(days=1)
    return [
        Goal("60000001", AGENCY_CUSTOMER_ID, "80000011", "Closed won", "Active", "Purchase",
             "VariableValue", Decimal("100"), "USD", now - 60 * d),
        Goal("60000002", AGENCY_CUSTOMER_ID, None, "Qualified lead", "Active", "SubmitLeadForm",
             "FixedValue", Decimal("25"), "USD", now - 45 * d, enhanced=True),
        Goal("60000003", AGENCY_CUSTOMER_ID, "80000011", "Demo booked", "Active",
             "BookAppointment", "NoValue", None, None, now - timedelta(minutes=5)),
        Goal("60000004", AGENCY_CUSTOMER_ID, "80000011", "Partner sale", "Active", "Purchase",
             "VariableValue", Decimal("200"), "USD", now - 30 * d, externally_attributed=True),
        Goal("60000005", AGENCY_CUSTOMER_ID, "80000011", "Legacy signup", "Paused", "Signup",
             "NoValue", None, None, now - 200 * d),
        Goal("60000012", AGENCY_CUSTOMER_ID, "80000012", "Closed won UK", "Active", "Purchase",
             "VariableValue", Decimal("80"), "GBP", now - 60 * d),
        Goal("60000013", AGENCY_CUSTOMER_ID, "80000013", "Abschluss DE", "Active", "Purchase",
             "VariableValue", Decimal("90"), "EUR", now - 90 * d),
        Goal("60000021", DIRECT_CUSTOMER_ID, "80000021", "Purchase", "Active", "Purchase",
             "VariableValue", Decimal("50"), "USD", now - 90 * d),
        Goal("60000022", DIRECT_CUSTOMER_ID, "80000021", "Newsletter signup", "Active", "Signup",
             "FixedValue", Decimal("1"), "USD", now - 20 * d, count_type="Unique",
             enhanced=True),
    ]  # fmt: skip


def build_seed(now: datetime) -> Seed:
    """Build the whole world as of ``now`` (UTC, timezone-aware)."""
    customers = {
        AGENCY_CUSTOMER_ID: Customer(AGENCY_CUSTOMER_ID, "Fabrikam Agency", "C7000001"),
        DIRECT_CUSTOMER_ID: Customer(DIRECT_CUSTOMER_ID, "Contoso Bikes", "C7000002"),
    }
    users = {
        AGENCY_USER_ID: User(AGENCY_USER_ID, "alex@fabrikam-agency.example", "Alex", "Morgan",
                             AGENCY_CUSTOMER_ID, [Role(41, AGENCY_CUSTOMER_ID)]),
        DIRECT_USER_ID: User(DIRECT_USER_ID, "dana@contoso-bikes.example", "Dana", "Lee",
                             DIRECT_CUSTOMER_ID, [Role(41, DIRECT_CUSTOMER_ID)]),
    }  # fmt: skip
    accounts = {a.id: a for a in _accounts(now)}
    campaigns, ad_groups, ads = _hierarchy(accounts, now)
    goals = {g.id: g for g in _goals(now)}
    return Seed(customers, users, accounts, campaigns, ad_groups, ads, goals)


# UET tags with the Conversions API on: tag id -> the token "Copy Token" gives (README).
SEEDED_UET_TAGS = {"187000111": "uet-capi-emulator-token-187000111"}
