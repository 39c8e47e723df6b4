"""Deterministic daily performance for every ad and asset group, in the account's time zone.

Each (leaf, day) pair hashes to its own numbers, so a report for any range always returns the
same values. Leaves are ads (Search, Shopping, Display ...) and asset groups (Performance Max,
which has no ad groups). Ad groups sum their ads, campaigns their ad groups or asset groups,
the customer its campaigns. Conversions uploaded through the Data Manager API and matched to a
click are added on the click's day (Google reports imported conversions on the click's date)
for conversion actions that count in ``metrics.conversions``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .entities import Customer
from .state import World

HISTORY_DAYS = 400
PAUSED_SINCE_DAYS = 30  # paused / removed entities stopped serving this long before seeding


@dataclass(frozen=True)
class Stats:
    impressions: int = 0
    clicks: int = 0
    cost_micros: int = 0
    conversions_hundredths: int = 0
    conversions_value_cents: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.cost_micros + other.cost_micros,
            self.conversions_hundredths + other.conversions_hundredths,
            self.conversions_value_cents + other.conversions_value_cents,
        )

    @property
    def conversions(self) -> float:
        return round(self.conversions_hundredths / 100, 2)

    @property
    def conversions_value(self) -> float:
        return round(self.conversions_value_cents / 100, 2)


def local_today(world: World, customer: Customer) -> date:
    return world.now().astimezone(ZoneInfo(customer.time_zone)).date()


def local_date(moment: datetime, customer: Customer) -> date:
    return moment.astimezone(ZoneInfo(customer.time_zone)).date()


def first_day(world: World, customer: Customer) -> date:
    return customer.data_from or (
        local_date(world.seeded_at, customer) - timedelta(days=HISTORY_DAYS)
    )


def days(start: date, end: date) -> Iterator[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def _hashed(key: str, day: date) -> Stats:
    digest = hashlib.sha256(f"google|{key}|{day.isoformat()}".encode()).digest()
    n = [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 24, 4)]
    if n[0] % 10 == 0:
        return Stats()  # about one day in ten without impressions
    impressions = 40 + n[1] % 1800
    clicks = impressions * (1 + n[2] % 9) // 100
    cost = clicks * (200_000 + (n[3] % 180) * 10_000)  # 0.20 to 1.99 per click
    conversions = clicks * (n[4] % 12)  # hundredths: 0 % to 11 % of clicks
    value = conversions * (800 + n[5] % 6000) // 100  # cents: 8 to 68 per conversion
    return Stats(impressions, clicks, cost, conversions, value)


def leaf_stats(world: World, customer: Customer, leaf_id: str, serving: bool, day: date) -> Stats:
    """One ad or asset group on one local day. ``serving``: it and its parents are enabled."""
    if customer.status != "ENABLED" or day < first_day(world, customer):
        return Stats()
    if day > local_today(world, customer):
        return Stats()
    if not serving and day > local_date(world.seeded_at, customer) - timedelta(
        days=PAUSED_SINCE_DAYS
    ):
        return Stats()
    return _hashed(leaf_id, day) + uploaded(world, leaf_id, day)


def uploaded(world: World, leaf_id: str, day: date) -> Stats:
    """Conversions matched through the Data Manager API, on the click's day."""
    found = world.uploaded_stats.get((leaf_id, day))
    return found if isinstance(found, Stats) else Stats()


def total(stats: Iterable[Stats]) -> Stats:
    result = Stats()
    for item in stats:
        result = result + item
    return result
