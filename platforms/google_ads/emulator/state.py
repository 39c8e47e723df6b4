"""The emulator's whole in-memory world behind one lock.

Every handler mutates state only inside ``with world.lock``; one re-entrant lock keeps the
threaded server trivially correct, which matters more for a test double than throughput.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from platforms.emulator_kit.world import InjectedFault as BaseFault
from platforms.emulator_kit.world import WorldBase, iso, utc_now

from .config import EmulatorConfig
from .entities import Customer, User
from .seed import build_seed

ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"
DATAMANAGER_SCOPE = "https://www.googleapis.com/auth/datamanager"


__all__ = ["iso", "utc_now"]  # re-exported: the emulator's modules import them from here


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    user_id: str
    offline: bool
    force_refresh_token: bool  # prompt=consent
    challenge: str | None
    challenge_method: str | None
    expires_at: datetime
    redeemed: bool = False


@dataclass
class Grant:
    """What one user granted one OAuth client (Google's "third-party access" entry)."""

    user_id: str
    client_id: str
    scopes: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    user_id: str
    client_id: str
    scopes: list[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    user_id: str
    client_id: str
    scopes: list[str]
    issued_at: datetime
    last_used: datetime
    revoked: bool = False


@dataclass
class Click:
    gclid: str
    kind: str  # gclid, gbraid, wbraid
    customer_id: str
    campaign_id: str
    ad_group_id: str | None
    asset_group_id: str | None
    clicked_at: datetime
    landing_url: str | None = None


@dataclass
class InjectedFault(BaseFault):
    retry_delay_seconds: int = 30  # what RESOURCE_EXHAUSTED's RetryInfo asks for


@dataclass
class World(WorldBase[User, InjectedFault]):
    config: EmulatorConfig
    clock: Callable[[], datetime] = utc_now
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything received and re-seed; seeded times restart from now."""
        with self.lock:
            self.seeded_at = self.now()
            seed = build_seed(self.seeded_at)
            self.users = seed.users
            self.customers = seed.customers
            self.conversion_actions = seed.conversion_actions
            self.campaigns = seed.campaigns
            self.ad_groups = seed.ad_groups
            self.ads = seed.ads
            self.asset_groups = seed.asset_groups
            self.redirect_uris: list[str] = list(self.config.redirect_uris)
            self.auto_consent: str = self.config.auto_consent
            self.processing_delay_seconds: int = self.config.processing_delay_seconds
            self.click_min_age_minutes: int = self.config.click_min_age_minutes
            self.codes: dict[str, AuthCode] = {}
            self.grants: dict[tuple[str, str], Grant] = {}
            self.access_tokens = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.fail_refresh: int = 0  # next N refresh grants answer invalid_grant
            self.clicks: dict[str, Click] = {}
            self.requests: dict[str, dict[str, Any]] = {}  # Data Manager requestId -> record
            self.events: list[dict[str, Any]] = []  # every ingested event, in order
            # (conversion action id, transaction id) -> event record (de-duplication)
            self.transactions: dict[tuple[str, ...], dict[str, Any]] = {}
            self.faults = []
            self.calls = []
            self.ingest_times: list[datetime] = []
            # (ad or asset group id, local day) -> metrics.Stats of matched uploads
            self.uploaded_stats: dict[tuple[str, Any], Any] = {}
            for gclid, (cust, camp, group, hours) in seed.clicks.items():
                at = self.seeded_at - timedelta(hours=hours)
                self.clicks[gclid] = Click(gclid, "gclid", cust, camp, group, None, at)

    # -- lookups -------------------------------------------------------------------------

    def children(self, manager_id: str) -> list[Customer]:
        return sorted(
            (c for c in self.customers.values() if c.parent_id == manager_id), key=lambda c: c.id
        )

    def hierarchy(self, root_id: str) -> list[tuple[Customer, int]]:
        """The manager itself (level 0) and every direct and indirect client, depth-first."""
        found: list[tuple[Customer, int]] = []

        def walk(customer: Customer, level: int) -> None:
            found.append((customer, level))
            if customer.manager:
                for child in self.children(customer.id):
                    walk(child, level + 1)

        walk(self.customers[root_id], 0)
        return found

    def is_under(self, customer_id: str, manager_id: str) -> bool:
        """True when ``customer_id`` is ``manager_id`` or one of its clients at any depth."""
        current: str | None = customer_id
        while current is not None:
            if current == manager_id:
                return True
            parent = self.customers.get(current)
            current = parent.parent_id if parent else None
        return False
