"""The emulator's whole in-memory world behind one lock.

Every request handler mutates state only inside ``with world.lock``; a single re-entrant
lock is slower than fine-grained locking but makes the threaded server trivially
correct, which matters more for a test double than throughput.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from platforms.emulator_kit.world import InjectedFault, WorldBase, iso, utc_now

from .config import EmulatorConfig
from .entities import Account, Goal, User
from .seed import SEEDED_CLICKS, SEEDED_UET_TAGS, build_seed

__all__ = ["InjectedFault", "iso", "utc_now"]  # re-exported for the emulator's modules


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    user_id: str
    challenge: str | None
    challenge_method: str | None
    expires_at: datetime
    redeemed: bool = False


@dataclass
class AccessToken:
    token: str
    user_id: str
    client_id: str
    scopes: list[str]
    expires_at: datetime


@dataclass
class RefreshToken:
    token: str
    user_id: str
    client_id: str
    scopes: list[str]
    last_used: datetime
    revoked: bool = False
    rotated: bool = False


@dataclass
class Click:
    msclkid: str
    account_id: str
    campaign_id: str | None
    ad_group_id: str | None
    ad_id: str | None
    clicked_at: datetime
    landing_url: str | None = None


@dataclass
class ReportJob:
    id: str
    user_id: str
    customer_id: str | None
    polls_left: int
    content: bytes | None
    file_name: str
    created_at: datetime
    failed: bool = False


@dataclass
class World(WorldBase[User, InjectedFault]):
    """Seeded entities plus everything the emulator has been told or has handed out."""

    config: EmulatorConfig
    clock: Callable[[], datetime] = utc_now
    lock: threading.RLock = field(default_factory=threading.RLock)
    url_secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything received and re-seed; seeded times restart from now."""
        with self.lock:
            self.seeded_at = self.now()
            seed = build_seed(self.seeded_at)
            self.customers = seed.customers
            self.users = seed.users
            self.accounts = seed.accounts
            self.campaigns = seed.campaigns
            self.ad_groups = seed.ad_groups
            self.ads = seed.ads
            self.goals = seed.goals
            self.codes: dict[str, AuthCode] = {}
            self.access_tokens = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.clicks: dict[str, Click] = {}
            self.conversions: list[dict[str, Any]] = []
            self.adjustments: list[dict[str, Any]] = []
            self.conversion_keys: dict[tuple[str, ...], dict[str, Any]] = {}
            self.reports: dict[str, ReportJob] = {}
            self.faults = []
            self.attribution_delay_minutes = self.config.attribution_delay_minutes
            self.calls = []
            # UET Conversions API: tag id -> its token; accepted events by (tag, eventId, name).
            self.uet_tags: dict[str, str] = dict(SEEDED_UET_TAGS)
            self.uet_events: dict[tuple[str, str, str], dict[str, Any]] = {}
            self.uet_requests: list[dict[str, Any]] = []
            # account id -> (first day, percent of clicks converting late); see metrics.py
            self.late_attribution: dict[str, tuple[date, int]] = {}
            self._report_ids: Iterator[int] = itertools.count(30000001000001)
            for msclkid, (acc, camp, group, ad, hours) in SEEDED_CLICKS.items():
                at = self.seeded_at - timedelta(hours=hours)
                self.clicks[msclkid] = Click(msclkid, acc, camp, group, ad, at)

    # -- lookups -------------------------------------------------------------------------

    def accessible_accounts(self, user: User) -> list[Account]:
        """Accounts a user reaches through customer-level or account-level roles."""
        with self.lock:
            found: dict[str, Account] = {}
            for role in user.roles:
                for account in self.accounts.values():
                    if account.parent_customer_id != role.customer_id:
                        continue
                    if role.account_ids and account.id not in role.account_ids:
                        continue
                    found[account.id] = account
            return sorted(found.values(), key=lambda a: a.id)

    def goals_for_account(self, account: Account) -> list[Goal]:
        """Account-scope goals of this account plus customer-scope goals of its customer."""
        with self.lock:
            return [
                g
                for g in self.goals.values()
                if g.account_id == account.id
                or (g.account_id is None and g.customer_id == account.parent_customer_id)
            ]

    def next_report_id(self) -> str:
        with self.lock:
            return str(next(self._report_ids))
