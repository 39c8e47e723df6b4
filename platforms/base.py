"""The platform plugin interface and the value types that cross it.

A plugin is a class registered under a ``key``. The host owns the OAuth dance (one Authlib flow
driven by ``oauth_spec()``) and hands the plugin an authenticated ``requests.Session`` for every
call. Plugins never touch Flask, the database or Redis, so one plugin instance serves the web
process, every worker and the tests alike.

All value types are frozen dataclasses; money is ``Decimal``; times are timezone-aware UTC.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar, Literal, TypeVar

import requests

from platforms.errors import NotSupported

EntityLevel = Literal["campaign", "ad_group", "ad"]
T = TypeVar("T")


@dataclass(frozen=True)
class OAuthSpec:
    """Everything the host needs to run the authorization-code flow with PKCE for a platform."""

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    client_id: str
    client_secret: str
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    code_challenge_method: str = "S256"
    # Seconds before expiry at which the host refreshes an access token.
    refresh_leeway: int = 300


@dataclass(frozen=True)
class AccountRef:
    """Identifies one ad account for API calls; ``customer_id`` is the owning customer if any."""

    account_id: str
    customer_id: str | None = None


@dataclass(frozen=True)
class AdAccount:
    """An account the signed-in platform user can reach, as the account picker shows it."""

    ref: AccountRef
    name: str
    number: str | None = None
    currency: str | None = None
    time_zone: str | None = None
    status: str = "Active"
    manager_id: str | None = None
    manager_name: str | None = None
    is_manager: bool = False
    # Why this account cannot take offline conversions (manager, paused...); None when it can.
    ineligible_reason: str | None = None

    @property
    def eligible(self) -> bool:
        return self.ineligible_reason is None


@dataclass(frozen=True)
class ConversionGoal:
    id: str
    name: str
    status: str
    count_type: str | None = None
    created_at: datetime | None = None
    is_active: bool = True
    enhanced_conversions: bool = False
    external_attribution: bool = False


@dataclass(frozen=True)
class ConversionUpload:
    """One row to push. ``row_id`` is the host's ledger id and comes back in the outcome."""

    row_id: int
    goal_name: str
    occurred_at: datetime
    click_id: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    hashed_email: str | None = None
    hashed_phone: str | None = None
    attribution_model: str | None = None
    attribution_credit: Decimal | None = None


@dataclass(frozen=True)
class ConversionAdjustment:
    """Restate (new value) or retract a conversion pushed before, quoting its original keys.

    The keys are the ones the conversion was sent with: its click id and, for an enhanced
    conversion, its hashed email and phone (a hashed-only conversion has no click id at all)."""

    row_id: int
    kind: Literal["restate", "retract"]
    goal_name: str
    occurred_at: datetime
    adjusted_at: datetime
    click_id: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    hashed_email: str | None = None
    hashed_phone: str | None = None


@dataclass(frozen=True)
class PushOutcome:
    """The platform's verdict on one uploaded row."""

    row_id: int
    accepted: bool
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class Entity:
    """A node of the campaign hierarchy."""

    level: EntityLevel
    id: str
    name: str
    status: str
    parent_id: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class DateWindow:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("DateWindow end is before its start")


@dataclass(frozen=True)
class DailyMetric:
    level: EntityLevel
    entity_id: str
    day: date
    impressions: int
    clicks: int
    spend: Decimal
    currency: str
    conversions: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)


@dataclass(frozen=True)
class UploadRules:
    """When a platform takes an offline conversion; the host waits or gives up accordingly.

    The defaults describe a platform with no waiting rules and a 90-day click window.
    """

    window: timedelta = timedelta(days=90)  # clicks (and conversions) older than this are refused
    click_settle: timedelta = timedelta(0)  # wait this long after a click before uploading
    goal_settle: timedelta = timedelta(0)  # wait this long after a goal is created


@dataclass(frozen=True)
class ReportLimits:
    """How many reports one customer may have in flight at the platform at once (None: no limit).

    The host runs at most this many pulls of one customer at a time (each pull has one report in
    flight at a time) and defers the others with jitter, so a daily pull of many connections stays
    under the platform's report throttle instead of tripping it and retrying."""

    in_flight_per_customer: int | None = None


@dataclass(frozen=True)
class Capability:
    """What a platform offers; the host hides what a plugin lacks instead of failing."""

    push_conversions: bool = True
    adjustments: bool = False
    enhanced_conversions: bool = False
    pull_structure: bool = True
    pull_insights: bool = True
    auto_tagging: bool = False


class Platform(abc.ABC):
    """Base class for every ad platform plugin.

    Subclasses set the class attributes and implement the abstract methods. ``settings`` are the
    plugin's own configuration values (client id, environment...), passed by the host so that the
    plugin never reads the process environment itself.
    """

    key: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str] = ""
    click_id_param: ClassVar[str | None] = None
    capabilities: ClassVar[Capability] = Capability()
    max_batch_size: ClassVar[int] = 1000
    report_limits: ClassVar[ReportLimits] = ReportLimits()
    # Not a ClassVar: a plugin may carry its own per instance, from its settings.
    upload_rules: UploadRules = UploadRules()

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        self.settings: Mapping[str, str] = dict(settings or {})

    @abc.abstractmethod
    def oauth_spec(self) -> OAuthSpec: ...

    def is_configured(self) -> tuple[bool, str | None]:
        """Whether the operator supplied what the plugin needs; the reason shown when not."""
        return True, None

    def production_problems(self) -> list[str]:
        """Why this plugin must not serve production as configured (each names the setting).

        The host refuses to start in production while an enabled plugin reports a problem; an
        operator who does not use a platform switches it off instead (SOURCELOOP_DISABLED_PLATFORMS).
        """
        return []

    @abc.abstractmethod
    def list_accounts(self, session: requests.Session) -> list[AdAccount]: ...

    @abc.abstractmethod
    def list_conversion_goals(
        self, session: requests.Session, account: AccountRef
    ) -> list[ConversionGoal]: ...

    @abc.abstractmethod
    def push_conversions(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionUpload]
    ) -> list[PushOutcome]:
        """Upload at most ``max_batch_size`` rows; return exactly one outcome per input row."""

    def push_adjustments(
        self,
        session: requests.Session,
        account: AccountRef,
        batch: Sequence[ConversionAdjustment],
    ) -> list[PushOutcome]:
        raise NotSupported(f"{self.display_name} does not support conversion adjustments")

    @abc.abstractmethod
    def pull_structure(
        self, session: requests.Session, account: AccountRef
    ) -> Iterator[Entity]: ...

    @abc.abstractmethod
    def pull_insights(
        self, session: requests.Session, account: AccountRef, window: DateWindow
    ) -> Iterator[DailyMetric]: ...

    def row_error_is_retryable(self, error_code: str | None) -> bool:
        """Whether a row refused with ``error_code`` may pass later unchanged."""
        return False

    def row_error_is_goal_too_recent(self, error_code: str | None) -> bool:
        """Whether ``error_code`` means the goal is too new: the host holds that goal's rows."""
        return False

    def explain_error(self, error_code: str | None, message: str | None = None) -> str:
        """A row error in words a marketer understands."""
        return message or error_code or "Refused by the platform."

    def get_auto_tagging(self, session: requests.Session, account: AccountRef) -> bool | None:
        """Whether click ids are added to landing URLs; None when the platform cannot say."""
        return None

    def set_auto_tagging(
        self, session: requests.Session, account: AccountRef, enabled: bool
    ) -> None:
        raise NotSupported(f"{self.display_name} cannot change auto-tagging")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Split ``items`` into lists of at most ``size``; used for platform batch limits."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
