"""Deterministic daily performance numbers for any entity and any date.

Each (ad, day) pair hashes to its own numbers, so a report for any range always returns
the same values and a test can recompute the expected totals through the control API.
Ad groups sum their ads, campaigns sum their ad groups; Performance Max campaigns have
their own numbers because they have no ads (the ad report then does not add up to the
campaign report, as at Microsoft).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from .entities import Account
from .state import World


@dataclass(frozen=True)
class Stats:
    impressions: int = 0
    clicks: int = 0
    spend_cents: int = 0
    conversions_hundredths: int = 0
    revenue_cents: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.spend_cents + other.spend_cents,
            self.conversions_hundredths + other.conversions_hundredths,
            self.revenue_cents + other.revenue_cents,
        )

    @property
    def empty(self) -> bool:
        return self.impressions == 0 and self.clicks == 0


def stats_for(key: str, day: date, late_percent: int = 0) -> Stats:
    """``late_percent`` of the day's clicks converted late (see ``late_percent_for``)."""
    digest = hashlib.sha256(f"{key}|{day.isoformat()}".encode()).digest()
    n = [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 24, 4)]
    if n[0] % 10 == 0:
        return Stats()  # roughly one day in ten without impressions
    impressions = 50 + n[1] % 2000
    clicks = impressions * (1 + n[2] % 8) // 100
    spend = clicks * (20 + n[3] % 180)
    conversions = clicks * (n[4] % 10)
    if late_percent:
        conversions += clicks * late_percent
    revenue = conversions * (500 + n[5] % 5000) // 100
    return Stats(impressions, clicks, spend, conversions, revenue)


def late_percent_for(world: World, account_id: str, day: date) -> int:
    """Late attribution armed through the control API: conversions credited after the fact to
    days on or after ``since`` (Microsoft keeps attributing conversions for days afterwards)."""
    late = world.late_attribution.get(account_id)
    return late[1] if late is not None and day >= late[0] else 0


def has_data(account: Account, day: date, today: date) -> bool:
    until = account.data_until or today
    return account.data_from <= day <= min(until, today)


def days(start: date, end: date) -> Iterator[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


@dataclass(frozen=True)
class Row:
    """One entity on one day at a report level; ids are empty above the level."""

    day: date
    account_id: str
    campaign_id: str
    ad_group_id: str = ""
    ad_id: str = ""
    stats: Stats = Stats()


def ad_rows(world: World, account_id: str, day: date) -> Iterator[Row]:
    for ad in sorted(world.ads.values(), key=lambda a: a.id):
        group = world.ad_groups[ad.ad_group_id]
        campaign = world.campaigns[group.campaign_id]
        if campaign.account_id == account_id:
            late = late_percent_for(world, account_id, day)
            yield Row(day, account_id, campaign.id, group.id, ad.id, stats_for(ad.id, day, late))


def rows(world: World, level: str, account_ids: list[str], start: date, end: date) -> list[Row]:
    """Non-empty rows for ``level`` in ``campaign``, ``ad_group`` or ``ad``."""
    today = world.now().date()
    out: list[Row] = []
    for account_id in account_ids:
        account = world.accounts[account_id]
        for day in days(start, end):
            if not has_data(account, day, today):
                continue
            out.extend(_level_rows(world, level, account_id, day))
    return [r for r in out if not r.stats.empty]


def _level_rows(world: World, level: str, account_id: str, day: date) -> list[Row]:
    base = list(ad_rows(world, account_id, day))
    if level == "ad":
        return base
    groups: dict[tuple[str, str], Stats] = {}
    for r in base:
        key = (r.campaign_id, r.ad_group_id) if level == "ad_group" else (r.campaign_id, "")
        groups[key] = groups.get(key, Stats()) + r.stats
    if level == "campaign":
        for c in world.campaigns.values():
            if c.account_id == account_id and c.campaign_type == "PerformanceMax":
                late = late_percent_for(world, account_id, day)
                groups[(c.id, "")] = stats_for(c.id, day, late)
    return [Row(day, account_id, cid, gid, "", s) for (cid, gid), s in sorted(groups.items())]


def totals(
    world: World, level: str, account_ids: list[str], start: date, end: date
) -> dict[str, object]:
    """What a correct pull of this range must add up to (used by the control API)."""
    found = rows(world, level, account_ids, start, end)
    total = Stats()
    for r in found:
        total = total + r.stats
    return {
        "level": level,
        "account_ids": account_ids,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": len(found),
        "impressions": total.impressions,
        "clicks": total.clicks,
        "spend": f"{total.spend_cents / 100:.2f}",
        "conversions": f"{total.conversions_hundredths / 100:.2f}",
        "revenue": f"{total.revenue_cents / 100:.2f}",
    }
