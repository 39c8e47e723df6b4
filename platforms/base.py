"""The platform plugin interface and the value types that cross it.

A plugin is a class registered under a ``key``. The host owns the OAuth dance (one Authlib flow
driven by ``oauth_spec()``) and hands the plugin an authenticated ``requests.Session`` for every
call. Plugins never touch Flask, the database or Redis, so one plugin instance serves the web
process, every worker and the tests alike.

All value types are frozen dataclasses; money is ``Decimal``; times are timezone-aware UTC.
"""

from __future__ import annotations

import abc
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

if TYPE_CHECKING:  # annotations only: the host imports this module on every start-up
    import requests

from platforms.errors import NotSupported

EntityLevel = Literal["campaign", "ad_group", "ad"]
# Which of a platform's enums ``Platform.label`` words.
LabelKind = Literal["time_zone", "account_status", "goal_status", "entity_status"]

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


DEFAULT_CLICK_ID_PATTERN = r"[A-Za-z0-9._~-]{1,255}"


@dataclass(frozen=True)
class ClickIdParam:
    """A landing-URL parameter through which the platform's auto-tagging names an ad click.

    The host builds the pixel's capture list from every installed plugin's declarations, stores
    captured and supplied ids as (parameter, id) pairs, and hands a plugin only the ids of its own
    parameters. ``window`` is how long after the click the platform still takes a conversion for
    it; ``pattern`` is matched against the whole id (ids that fail it are refused at intake).
    """

    name: str
    pattern: str = DEFAULT_CLICK_ID_PATTERN
    window: timedelta = timedelta(days=90)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", self.name):
            raise ValueError(f"click id parameter {self.name!r}: 1-16 of a-z, 0-9, _")
        re.compile(self.pattern)

    def accepts(self, value: str) -> bool:
        """Whether ``value`` is a well-formed id for this parameter."""
        return bool(re.fullmatch(self.pattern, value))


@dataclass(frozen=True)
class IdentityRules:
    """How a platform normalises an email address and a phone number before SHA-256 (lower-case
    hex of the UTF-8 normal form). ``id`` names the rule set: plugins that follow the same
    published rules share one ``IdentityRules`` object (and id), so the host hashes once per
    distinct rule set at intake and hands each plugin the digests of its own rules.

    ``normalise_phone(raw, region)`` returns E.164 (``+`` and digits); ``region`` is the
    workspace's default ISO 3166 region for numbers written without a country code (None: such
    numbers are refused). Either function returns None for input it cannot use.
    """

    id: str
    normalise_email: Callable[[str], str | None]
    normalise_phone: Callable[[str, str | None], str | None]

    def email_sha256(self, raw: str) -> str | None:
        normal = self.normalise_email(raw)
        return hashlib.sha256(normal.encode("utf-8")).hexdigest() if normal else None

    def phone_sha256(self, raw: str, region: str | None = None) -> str | None:
        normal = self.normalise_phone(raw, region)
        return hashlib.sha256(normal.encode("utf-8")).hexdigest() if normal else None


# The visitor's consent to ad storage (cookies, click ids), as the host recorded it. "unknown":
# nothing said; a workspace that requires consent never sends such a row.
ConsentState = Literal["granted", "denied", "unknown"]
CONSENT_STATES: tuple[str, ...] = ("granted", "denied", "unknown")


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
    # Which of the plugin's own ``click_ids`` parameters ``click_id`` came from.
    click_param: str | None = None
    # Consent to ad storage; a plugin whose API takes a consent signal maps it.
    ad_storage_consent: ConsentState = "unknown"


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
    click_param: str | None = None


@dataclass(frozen=True)
class PushOutcome:
    """The platform's verdict on one uploaded row."""

    row_id: int
    accepted: bool
    error_code: str | None = None
    error_message: str | None = None
    # The platform's reference of the request that carried an accepted row (a request id whose
    # processing result can be asked for later: capability ``processing_status``); None: none.
    receipt: str | None = None


@dataclass(frozen=True)
class Receipt:
    """Rows the platform accepted under one ``PushOutcome.receipt``, as the host recorded them:
    the goal they went to, the UTC day they were sent and how many there were."""

    id: str
    goal_id: str
    day: date
    rows: int


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
    value_places: int = 4  # decimal places a conversion value may have (fixed values are checked)


@dataclass(frozen=True)
class DailyDiagnostics:
    """The platform's own count, for one goal and upload day, of conversions it attributed."""

    goal_id: str
    day: date
    success_count: int
    unattributed_count: int
    # The platform's reason for not attributing (e.g. "NoMatchingClickFound") -> count.
    reasons: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class GoalDiagnostics:
    """``DailyDiagnostics`` of one goal over a window, with totals."""

    goal_id: str
    goal_name: str
    success_count: int
    unattributed_count: int
    reasons: Mapping[str, int]
    days: tuple[DailyDiagnostics, ...]


@dataclass(frozen=True)
class ReportLimits:
    """How many reports one customer may have in flight at the platform at once (None: no limit).

    The host runs at most this many pulls of one customer at a time (each pull has one report in
    flight at a time) and defers the others with jitter, so a daily pull of many connections stays
    under the platform's report throttle instead of tripping it and retrying."""

    in_flight_per_customer: int | None = None


@dataclass(frozen=True)
class Capability:
    """What a platform offers; the host hides what a plugin lacks instead of failing. Each flag
    that is True promises the method named beside it (the contract suite checks it):

    - ``adjustments``: ``push_adjustments`` (restate or retract a conversion sent before)
    - ``enhanced_conversions``: uploads may carry ``hashed_email``/``hashed_phone`` without a
      click id, for goals whose ``ConversionGoal.enhanced_conversions`` is on
    - ``auto_tagging``: ``get_auto_tagging`` (and ``set_auto_tagging`` when the API allows it)
    - ``diagnostics``: ``offline_conversion_diagnostics`` (the platform's own attribution count)
    - ``external_attribution``: uploads for goals whose ``ConversionGoal.external_attribution``
      is on carry ``attribution_model``/``attribution_credit`` (the host's multi-touch credit)
    - ``realtime_events``: ``Platform.realtime`` (a ``RealtimeSpec``) and
      ``send_realtime_events`` (a server-side event path beside the offline upload, configured
      per connection with the spec's settings fields; optionally a browser tag the pixel loads
      with the same event ids, so the platform de-duplicates browser and server events)
    - ``processing_status``: ``processing_status`` (the platform processes accepted uploads
      later and reports per request, quoting ``PushOutcome.receipt``; the host asks for the
      receipts of the last days and shows the answer like ``diagnostics``)
    - ``dry_run``: ``validate_conversions`` (the platform checks uploads and stores nothing;
      Troubleshoot runs it on the rows waiting to be sent)
    """

    push_conversions: bool = True
    adjustments: bool = False
    enhanced_conversions: bool = False
    pull_structure: bool = True
    pull_insights: bool = True
    auto_tagging: bool = False
    diagnostics: bool = False
    external_attribution: bool = False
    realtime_events: bool = False
    dry_run: bool = False
    processing_status: bool = False


@dataclass(frozen=True)
class SettingField:
    """One per-connection setting a capability needs, typed in by a person on the connection
    page (e.g. an id and a token copied from the platform's UI). ``secret`` values are stored
    encrypted like OAuth tokens, never shown again and never logged; ``public`` values may be
    handed to browsers (the pixel's browser tag); a field cannot be both. ``pattern`` must match
    the whole value (after trimming spaces)."""

    name: str
    label: str
    help: str = ""
    pattern: str = r"[\x21-\x7e]{1,500}"
    secret: bool = False
    public: bool = False
    placeholder: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", self.name):
            raise ValueError(f"setting {self.name!r}: 1-32 of a-z, 0-9, _")
        if self.secret and self.public:
            raise ValueError(f"setting {self.name!r} cannot be both secret and public")
        re.compile(self.pattern)

    def accepts(self, value: str) -> bool:
        return bool(re.fullmatch(self.pattern, value))


@dataclass(frozen=True)
class RealtimeSpec:
    """Capability ``realtime_events``: a server-side event path (a platform's "conversions API")
    that a connection may switch on beside the offline upload.

    ``title`` and ``help`` head the form on the connection page (say there what the platform
    requires, e.g. an account-level pilot); ``fields`` are the settings the form asks for.
    ``window``: events older than this are refused by the platform, so the host never sends
    them. ``max_batch``: events per call. ``browser_tag``: JavaScript source of one function
    expression ``function (config, api) {...}`` the pixel runs for connections that opted in
    (``config`` is ``browser_config``; ``api`` is described in docs/writing-a-platform-plugin.md);
    None: no browser side."""

    title: str
    help: str
    fields: tuple[SettingField, ...]
    window: timedelta = timedelta(days=7)
    max_batch: int = 1000
    browser_tag: str | None = None
    browser_help: str = ""
    # Error codes of ``send_realtime_events`` outcomes that may pass later unchanged.
    retryable_codes: frozenset[str] = frozenset()
    # Error codes that mean the settings' credentials were refused: such rows are sent again
    # when a person saves new settings.
    auth_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RealtimeEvent:
    """One SourceLoop conversion sent down the real-time path. ``event_id`` is stable across
    retries and is the id the pixel's browser tag used for the same conversion, so the platform
    counts the two once; ``row_id`` is the host's ledger id and comes back in the outcome."""

    row_id: int
    event_id: str
    event_name: str
    occurred_at: datetime
    value: Decimal | None = None
    currency: str | None = None
    click_id: str | None = None
    click_param: str | None = None
    hashed_email: str | None = None
    hashed_phone: str | None = None
    # The pixel's first-party visitor id, given only when the connection's browser tag runs
    # (which tells the platform the same id); None otherwise.
    visitor_id: str | None = None
    page_url: str | None = None
    transaction_id: str | None = None
    ad_storage_consent: ConsentState = "unknown"


class Reason(StrEnum):
    """Why a conversion is (not yet) sent to a platform: the host decides the code, the plugin
    may word it (``Platform.describe_reason``); pages show the words, code keeps the code."""

    # Eligibility, decided by the host from the plugin's rules and goals.
    GOAL_MISSING = "goal_missing"
    GOAL_INACTIVE = "goal_inactive"
    IN_FUTURE = "in_future"
    TOO_OLD = "too_old"
    CLICK_AFTER_CONVERSION = "click_after_conversion"
    NO_CLICK = "no_click"
    CLICK_SETTLING = "click_settling"
    GOAL_SETTLING = "goal_settling"
    ELIGIBLE_BY_CLICK = "eligible_by_click"
    ELIGIBLE_BY_HASH = "eligible_by_hash"
    # The workspace requires consent and the conversion's is denied or unknown.
    CONSENT_MISSING = "consent_missing"
    # Delivery, from the push ledger.
    QUEUED = "queued"
    SENDING = "sending"
    STALLED = "stalled"
    SENT = "sent"
    REFUSED = "refused"
    RETRY_LATER = "retry_later"
    # Sent, then restated or retracted (a refund or value change) and accepted.
    ADJUSTED = "adjusted"
    # No verdict yet: a mapped conversion the next push checks (the host's state model).
    UNCHECKED = "unchecked"
    # Pushing is off for the connection (switched off, or the connection is not active).
    PUSH_OFF = "push_off"


@dataclass(frozen=True)
class ReasonFacts:
    """What wording may quote about the conversion behind a reason."""

    goal_name: str = ""
    goal_status: str = ""
    click_params: tuple[str, ...] = ()
    window: timedelta = timedelta(days=90)
    click_settle: timedelta = timedelta(0)
    goal_settle: timedelta = timedelta(0)
    # For NO_CLICK: "goal_not_enhanced" (hashes exist, the goal takes none) or "enhanced_off"
    # (hashes exist, the workspace has not opted in); "" otherwise.
    hash_hint: str = ""
    # For CLICK_SETTLING: False when the click's time is unknown (an id sent with the conversion,
    # or a match by hashed identity), so the wait runs from the conversion.
    click_time_known: bool = True
    # For REFUSED / RETRY_LATER: the plugin's explanation of the row error (``explain_error``).
    error_message: str | None = None
    consent: str = ""  # For CONSENT_MISSING: "denied" or "unknown"
    at: datetime | None = None  # SENT: when; RETRY_LATER: the next attempt
    # For NO_CLICK: the connection's auto-tagging as last read (None: not checked), so a fix
    # never says "turn auto-tagging on" when it is on.
    auto_tagging: bool | None = None


@dataclass(frozen=True)
class Wording:
    """A reason in a marketer's words, and what they can do about it ("" when nothing)."""

    text: str
    fix: str = ""


class Platform(abc.ABC):
    """Base class for every ad platform plugin.

    Subclasses set the class attributes and implement the abstract methods. ``settings`` are the
    plugin's own configuration values (client id, environment...), passed by the host so that the
    plugin never reads the process environment itself.
    """

    key: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str] = ""
    # The landing-URL parameters that carry this platform's click ids (empty: no click ids).
    click_ids: ClassVar[tuple[ClickIdParam, ...]] = ()
    # utm_source values (lower-case) that mean paid traffic from this platform, for channel
    # classification of visits tagged by hand rather than by auto-tagging.
    traffic_sources: ClassVar[frozenset[str]] = frozenset()
    # How the platform wants email and phone normalised before hashing (capability
    # ``enhanced_conversions`` needs it); None: the platform takes no hashed identities.
    identity_rules: ClassVar[IdentityRules | None] = None
    capabilities: ClassVar[Capability] = Capability()
    max_batch_size: ClassVar[int] = 1000
    # Capability ``realtime_events``: the server-side event path's form, limits and browser tag.
    realtime: ClassVar[RealtimeSpec | None] = None
    report_limits: ClassVar[ReportLimits] = ReportLimits()
    # Not a ClassVar: a plugin may carry its own per instance, from its settings.
    upload_rules: UploadRules = UploadRules()
    # How long the platform's refresh token lives when it is not used (None: it does not lapse
    # that way). The host warns Owners and Admins before a grant lapses.
    refresh_token_idle_lifetime: ClassVar[timedelta | None] = None
    # The Final URL suffix (with the platform's own URL parameters) that puts the campaign id on
    # every landing URL as ``utm_id``, so clicks join pulled campaigns; None: nothing to suggest.
    final_url_suffix: ClassVar[str | None] = None

    def label(self, kind: LabelKind, value: str | None) -> str:
        """Words for people for one of the platform's own enum values (an account's time zone,
        an account, goal or campaign status), as the platform's UI would say them. The host shows
        these instead of raw enum names; the default shows the value as it is."""
        return value or ""

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
        """Upload at most ``max_batch_size`` rows; return exactly one outcome per input row.

        The host calls this (and ``push_adjustments``) on a thread of its own while it plans the
        next batch, one call at a time: work only from the arguments."""

    def push_adjustments(
        self,
        session: requests.Session,
        account: AccountRef,
        batch: Sequence[ConversionAdjustment],
    ) -> list[PushOutcome]:
        """Capability ``adjustments``: restate or retract conversions sent before; one outcome
        per row."""
        raise NotSupported(f"{self.display_name} does not support conversion adjustments")

    @abc.abstractmethod
    def pull_structure(
        self, session: requests.Session, account: AccountRef
    ) -> Iterator[Entity]: ...

    @abc.abstractmethod
    def pull_insights(
        self, session: requests.Session, account: AccountRef, window: DateWindow
    ) -> Iterator[DailyMetric]: ...

    def send_realtime_events(
        self,
        session: requests.Session,
        settings: Mapping[str, str],
        account: AccountRef,
        events: Sequence[RealtimeEvent],
    ) -> list[PushOutcome]:
        """Capability ``realtime_events``: send at most ``realtime.max_batch`` events with the
        connection's ``settings`` (the ``realtime.fields`` values, secrets decrypted);
        ``session`` is a plain session (no OAuth token: the settings carry the credentials).
        Return one outcome per event; an accepted outcome may carry a warning in
        ``error_code``/``error_message`` (the platform dropped a field). Raise ``RateLimited``
        or ``TransientError`` when the call did not complete."""
        raise NotSupported(f"{self.display_name} has no real-time event path")

    def browser_config(self, settings: Mapping[str, str], account: AccountRef) -> dict[str, str]:
        """Capability ``realtime_events`` with a ``browser_tag``: the values the tag needs in the
        browser, from the connection's public settings only (never a secret)."""
        return {}

    def row_error_is_retryable(self, error_code: str | None) -> bool:
        """Whether a row refused with ``error_code`` may pass later unchanged."""
        return False

    def row_error_is_goal_too_recent(self, error_code: str | None) -> bool:
        """Whether ``error_code`` means the goal is too new: the host holds that goal's rows."""
        return False

    def explain_error(self, error_code: str | None, message: str | None = None) -> str:
        """A row error in words a marketer understands."""
        return message or error_code or "Refused by the platform."

    def explain_diagnostic(self, reason: str) -> str:
        """One of the platform's diagnostics reasons (a key of ``DailyDiagnostics.reasons``, e.g.
        why uploads were not attributed) in words a marketer understands. Pages show these words
        with the code beside them in small print; the read API returns both. The default spells
        the code out (``NoMatchingClickFound`` → "No matching click found")."""
        return humanise_code(reason)

    def describe_reason(self, reason: Reason, facts: ReasonFacts) -> Wording | None:
        """The platform's own wording (and fix) for a reason, e.g. where in its UI a paused goal
        is activated; None keeps the host's generic wording, which names ``display_name`` and
        the click-id parameters but nothing else about the platform."""
        return None

    def get_auto_tagging(self, session: requests.Session, account: AccountRef) -> bool | None:
        """Capability ``auto_tagging``: whether the platform adds click ids to landing URLs;
        None when it cannot say."""
        return None

    def set_auto_tagging(
        self, session: requests.Session, account: AccountRef, enabled: bool
    ) -> None:
        """Capability ``auto_tagging``: switch auto-tagging on or off (NotSupported if the API
        cannot)."""
        raise NotSupported(f"{self.display_name} cannot change auto-tagging")

    def offline_conversion_diagnostics(
        self,
        session: requests.Session,
        account: AccountRef,
        goal_ids: Sequence[str],
        window: DateWindow,
    ) -> list[GoalDiagnostics]:
        """Capability ``diagnostics``: the platform's own count of uploaded conversions it
        attributed, per goal and day, with its reasons for the others."""
        raise NotSupported(f"{self.display_name} has no offline-conversion diagnostics")

    def processing_status(
        self, session: requests.Session, account: AccountRef, receipts: Sequence[Receipt]
    ) -> list[GoalDiagnostics]:
        """Capability ``processing_status``: what became of the rows accepted under
        ``receipts`` once the platform processed them, per goal and day (rows still being
        processed are in neither count). The host stores the answer like ``diagnostics``."""
        raise NotSupported(f"{self.display_name} reports no processing status")

    def validate_conversions(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionUpload]
    ) -> list[PushOutcome]:
        """Capability ``dry_run``: what ``push_conversions`` would answer for ``batch`` (at most
        ``max_batch_size`` rows, one outcome per row in order), checked by the platform without
        storing anything. ``accepted`` means the row would pass the platform's checks."""
        raise NotSupported(f"{self.display_name} has no dry run")


_CAMEL_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def humanise_code(code: str) -> str:
    """A platform's code spelled as a sentence: ``NoMatchingClickFound`` → "No matching click
    found", ``INVALID_GCLID`` → "Invalid gclid"; "" stays ""."""
    words = _CAMEL_WORD.findall(code or "")
    if not words:
        return code or ""
    shouting = not any(ch.islower() for ch in code)  # INVALID_GCLID: no acronym to keep
    text = " ".join(w if w.isupper() and len(w) > 1 and not shouting else w.lower() for w in words)
    return text[0].upper() + text[1:]


def human_span(span: timedelta) -> str:
    """'an hour', 'two hours', '90 days': how a rule's duration reads in a sentence."""
    words = {1: "an hour", 2: "two hours"}
    seconds = int(span.total_seconds())
    if span.days >= 2:
        return f"{span.days} days"
    if seconds % 3600:
        return f"{seconds // 60} minutes"
    return words.get(seconds // 3600, f"{seconds // 3600} hours")


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
