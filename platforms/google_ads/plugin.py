"""Google Ads as a SourceLoop platform plugin: accounts, conversion actions and reports through the
Google Ads API (REST), offline conversions through the Data Manager API (``events:ingest``).

Since 2026-06-15 the Google Ads API takes no new adopters of offline click-conversion import
(``CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE``), so a new installation sends conversions through
the Data Manager API and uses the Ads API only to read (README, "Why two APIs").

The plugin is stateless apart from its settings: every call receives the host's authenticated
session and returns interface values. The Data Manager API has no partial failure (one bad event
rejects the whole request), so rows are checked before sending, and a refused request is split
until the refused rows are isolated and the others delivered (``delivery.Delivery``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import requests

from platforms import oauth_client
from platforms.base import (
    AccountRef,
    AdAccount,
    Capability,
    ClickIdParam,
    ConversionAdjustment,
    ConversionGoal,
    ConversionUpload,
    DailyMetric,
    DateWindow,
    Entity,
    GoalDiagnostics,
    LabelKind,
    OAuthSpec,
    Platform,
    PushOutcome,
    Reason,
    ReasonFacts,
    Receipt,
    UploadRules,
    Wording,
)
from platforms.errors import InvalidRequest
from platforms.google_ads import explanations as why
from platforms.google_ads import hashing, mapping, processing, reporting, wording
from platforms.google_ads.ads_api import AccountAccessLost, AdsApi, CloudProjectNotApproved
from platforms.google_ads.datamanager import DataManagerClient
from platforms.google_ads.delivery import Delivery, refused
from platforms.google_ads.settings import GoogleAdsSettings

log = logging.getLogger(__name__)

CLIENT_QUERY = (
    "SELECT customer_client.client_customer, customer_client.id, customer_client.level, "
    "customer_client.manager, customer_client.status, customer_client.descriptive_name, "
    "customer_client.currency_code, customer_client.time_zone, customer_client.test_account "
    "FROM customer_client"
)
GOALS_QUERY = (
    "SELECT conversion_action.id, conversion_action.name, conversion_action.type, "
    "conversion_action.status, conversion_action.owner_customer "
    "FROM conversion_action WHERE conversion_action.type = 'UPLOAD_CLICKS'"
)
ENHANCED_QUERY = (
    "SELECT customer.id, customer.conversion_tracking_setting.effective_enablement_setting "
    "FROM customer"
)
# Google's event sources (Data Manager ``EventSource``); SourceLoop's conversions come from the
# website, a CRM or a payment system, and WEB is the default (README, "Event source").
EVENT_SOURCES = ("WEB", "APP", "IN_STORE", "PHONE", "OTHER", "MESSAGE")
DEFAULT_CLICK_WAIT_MINUTES = 6 * 60
# Calls one push may make to isolate refused rows, beyond one call per conversion action.
DEFAULT_SPLIT_BUDGET = 40
# gclid / gbraid / wbraid: URL-safe characters (Google does not publish a format; README).
_CLICK_PATTERN = r"[A-Za-z0-9_-][A-Za-z0-9._~-]{5,254}"


class GoogleAdsPlatform(Platform):
    key = "google_ads"
    display_name = "Google Ads"
    description = (
        "Send offline conversions (gclid, gbraid, wbraid or hashed email/phone, with value and "
        "currency) to Google Ads through the Data Manager API, and read accounts, conversion "
        "actions and reports through the Google Ads API."
    )
    # Auto-tagging adds gclid (web), and gbraid / wbraid for iOS app and web traffic; imports
    # are taken within the conversion action's click-through window, at most 90 days.
    click_ids = (
        ClickIdParam("gclid", pattern=_CLICK_PATTERN, window=timedelta(days=90)),
        ClickIdParam("gbraid", pattern=_CLICK_PATTERN, window=timedelta(days=90)),
        ClickIdParam("wbraid", pattern=_CLICK_PATTERN, window=timedelta(days=90)),
    )
    traffic_sources = frozenset({"google", "adwords", "google_ads", "googleads"})
    identity_rules = hashing.RULES
    # Google: a refresh token unused for six months stops working (README, "OAuth").
    refresh_token_idle_lifetime = timedelta(days=183)
    final_url_suffix = "utm_id={campaignid}"
    capabilities = Capability(
        push_conversions=True,
        adjustments=True,
        enhanced_conversions=True,
        pull_structure=True,
        pull_insights=True,
        auto_tagging=False,
        diagnostics=False,
        external_attribution=False,
        dry_run=True,
        processing_status=True,
    )
    max_batch_size = mapping.MAX_EVENTS
    report_limits = reporting.REPORT_LIMITS
    upload_rules = UploadRules(
        window=timedelta(days=90),
        click_settle=timedelta(minutes=DEFAULT_CLICK_WAIT_MINUTES),
        goal_settle=timedelta(hours=6),
        value_places=4,
    )

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        super().__init__(settings)
        self.config = GoogleAdsSettings.from_mapping(self.settings)
        self.upload_rules = replace(
            type(self).upload_rules, click_settle=self._minutes("GOOGLE_ADS_CLICK_WAIT_MINUTES")
        )
        source = (self.settings.get("GOOGLE_ADS_EVENT_SOURCE") or "WEB").strip().upper()
        if source not in EVENT_SOURCES:
            raise ValueError(
                f"GOOGLE_ADS_EVENT_SOURCE must be one of {', '.join(EVENT_SOURCES)}, not {source!r}"
            )
        self.event_source = source
        self.split_budget = DEFAULT_SPLIT_BUDGET
        self._params = {p.name: p for p in self.click_ids}

    def _minutes(self, name: str) -> timedelta:
        raw = (self.settings.get(name) or "").strip()
        if not raw:
            return timedelta(minutes=DEFAULT_CLICK_WAIT_MINUTES)
        if not raw.isdigit() or int(raw) > 24 * 60:
            raise ValueError(
                f"{name} must be a whole number of minutes from 0 to 1440, not {raw!r}"
            )
        return timedelta(minutes=int(raw))

    # --- configuration ------------------------------------------------------------------------

    def label(self, kind: LabelKind, value: str | None) -> str:
        return wording.label(kind, value)

    def oauth_spec(self) -> OAuthSpec:
        # offline: a refresh token; consent: Google returns one only on a consent screen,
        # so a reconnect must show it again to get a fresh refresh token.
        return oauth_client.oauth_spec(self.config, {"access_type": "offline", "prompt": "consent"})

    def is_configured(self) -> tuple[bool, str | None]:
        return oauth_client.configuration_gap(self.display_name, self.config)

    def production_problems(self) -> list[str]:
        problems = []
        if oauth_client.emulator_left_on(self.settings, "GOOGLE_ADS_", self.config.environment):
            problems.append("GOOGLE_ADS_ENVIRONMENT is 'emulator' (its default): set 'production'")
        # The emulator's defaults do not count: a deployment names its own OAuth client.
        required = {
            "GOOGLE_ADS_CLIENT_ID": (self.settings.get("GOOGLE_ADS_CLIENT_ID") or "").strip(),
            "GOOGLE_ADS_CLIENT_SECRET": (
                self.settings.get("GOOGLE_ADS_CLIENT_SECRET") or ""
            ).strip(),
        }
        problems.extend(f"{name} is not set" for name, value in required.items() if not value)
        return problems

    def ads_api(self, session: requests.Session, login_customer_id: str | None) -> AdsApi:
        return AdsApi(session, self.config.ads_api_base, login_customer_id=login_customer_id)

    def data_manager(self, session: requests.Session) -> DataManagerClient:
        return DataManagerClient(session, self.config.data_manager_base)

    # --- accounts -----------------------------------------------------------------------------

    def list_accounts(self, session: requests.Session) -> list[AdAccount]:
        """Every account the user reaches: each accessible customer, and through each manager
        every client below it (``customer_client`` lists all levels), once each."""
        accessible = [
            mapping.customer_id(c) for c in self.ads_api(session, None).list_accessible_customers()
        ]
        trees: list[tuple[str, list[mapping.ClientRow]]] = []
        unreachable: dict[str, str] = {}
        for root in dict.fromkeys(a for a in accessible if a):
            try:
                rows = self.ads_api(session, root).search_stream(root, CLIENT_QUERY)
                clients = [c for c in (mapping.ClientRow.from_row(r) for r in rows) if c]
            except CloudProjectNotApproved:
                raise  # the operator's project, not this account: say so once, not per row
            except (InvalidRequest, AccountAccessLost) as exc:
                # e.g. CUSTOMER_NOT_ENABLED (cancelled or not yet set up): shown, not pickable
                unreachable[root] = exc.message
                continue
            trees.append((root, clients))
        accounts = mapping.merge_hierarchy(trees)
        listed = {a.ref.account_id for a in accounts}
        accounts.extend(
            mapping.unreachable_account(ident, message)
            for ident, message in unreachable.items()
            if ident not in listed
        )
        return accounts

    # --- goals --------------------------------------------------------------------------------

    def _targets(self, session: requests.Session, account: AccountRef) -> list[mapping.GoalTarget]:
        rows = self.ads_api(session, account.customer_id).search_stream(
            account.account_id, GOALS_QUERY
        )
        return [t for t in (mapping.goal_target(r, account.account_id) for r in rows) if t]

    def _enhanced(self, session: requests.Session, account: AccountRef) -> bool:
        """Enhanced conversions (for leads) on for the account, inherited from a manager when it
        uses cross-account conversion tracking (``effective_enablement_setting``)."""
        rows = self.ads_api(session, account.customer_id).search_stream(
            account.account_id, ENHANCED_QUERY
        )
        for row in rows:
            setting = (row.get("customer") or {}).get("conversionTrackingSetting") or {}
            return str(setting.get("effectiveEnablementSetting") or "") == "ON"
        return False

    def list_conversion_goals(
        self, session: requests.Session, account: AccountRef
    ) -> list[ConversionGoal]:
        """The account's conversion actions that take imported clicks (``UPLOAD_CLICKS``, which
        enhanced conversions for leads uses too), removed ones left out."""
        enhanced = self._enhanced(session, account)
        return [
            mapping.goal_from_target(t, enhanced)
            for t in self._targets(session, account)
            if t.status != "REMOVED"
        ]

    # --- push ---------------------------------------------------------------------------------

    def push_conversions(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionUpload]
    ) -> list[PushOutcome]:
        return self._deliver(
            session,
            account,
            batch,
            problem=lambda row: mapping.conversion_problem(row, self._params),
            encode=lambda row: mapping.conversion_event(row, self.event_source),
        )

    def push_adjustments(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionAdjustment]
    ) -> list[PushOutcome]:
        """Restatements only: the same ``transactionId`` with the new value (Google overwrites
        value and currency). The Data Manager API documents no retraction, so a retraction is
        refused here with that explanation instead of being sent as something else."""
        return self._deliver(
            session,
            account,
            batch,
            problem=lambda row: mapping.adjustment_problem(row, self._params),
            encode=lambda row: mapping.adjustment_event(row, self.event_source),
        )

    def validate_conversions(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionUpload]
    ) -> list[PushOutcome]:
        """A dry run: the same requests with ``validateOnly`` (Google checks, stores nothing);
        ``accepted`` means the row would pass Google's synchronous checks."""
        return self._deliver(
            session,
            account,
            batch,
            problem=lambda row: mapping.conversion_problem(row, self._params),
            encode=lambda row: mapping.conversion_event(row, self.event_source),
            validate_only=True,
        )

    def request_status(self, session: requests.Session, request_id: str) -> list[dict[str, Any]]:
        """Google's asynchronous processing result of one ingest request, per destination."""
        return self.data_manager(session).retrieve_request_status(request_id)

    def processing_status(
        self, session: requests.Session, account: AccountRef, receipts: Sequence[Receipt]
    ) -> list[GoalDiagnostics]:
        """What Google made of the accepted rows, per conversion action and day: processed,
        refused and why (``requestStatus:retrieve`` per request; rows still processing are in
        neither count). A request Google no longer knows (older than ~50 days) is skipped."""
        if not receipts:
            return []
        client = self.data_manager(session)
        newest = sorted(receipts, key=lambda r: r.day, reverse=True)[: processing.MAX_CHECKS]
        results = []
        for receipt in newest:
            try:
                entries = client.retrieve_request_status(receipt.id)
            except InvalidRequest as exc:  # INVALID_REQUEST_ID, REQUEST_TOO_OLD
                log.info("google request status %s unavailable: %s", receipt.id, exc.code)
                continue
            success, reasons = processing.outcome(receipt, entries)
            if success or reasons:
                results.append((receipt, success, reasons))
        names = {t.id: t.name for t in self._targets(session, account)} if results else {}
        return processing.merge(results, names)

    def _deliver(
        self,
        session: requests.Session,
        account: AccountRef,
        batch: Sequence[Any],
        *,
        problem: Callable[[Any], str | None],
        encode: Callable[[Any], dict[str, Any]],
        validate_only: bool = False,
    ) -> list[PushOutcome]:
        if len(batch) > self.max_batch_size:
            raise InvalidRequest(
                f"Google accepts at most {self.max_batch_size} events per request, "
                f"got {len(batch)}",
                code="TOO_MANY_EVENTS",
            )
        outcomes: dict[int, PushOutcome] = {}
        sendable = []
        for row in batch:
            code = problem(row)
            if code:
                outcomes[row.row_id] = refused(row.row_id, code)
            else:
                sendable.append(row)
        if sendable:
            targets = {t.name: t for t in self._targets(session, account) if t.status != "REMOVED"}
            groups: dict[str, tuple[mapping.GoalTarget, list[tuple[int, dict[str, Any]]]]] = {}
            for row in sendable:
                target = targets.get(row.goal_name)
                if target is None:
                    outcomes[row.row_id] = refused(row.row_id, why.LOCAL_GOAL_NOT_FOUND)
                    continue
                groups.setdefault(target.id, (target, []))[1].append((row.row_id, encode(row)))
            delivery = Delivery(
                self.data_manager(session),
                budget=self.split_budget + len(groups),
                validate_only=validate_only,
            )
            for target, items in groups.values():
                delivery.queue(mapping.destination(target, account), items)
            outcomes.update(delivery.run())
        return [outcomes[row.row_id] for row in batch]

    # --- pull ---------------------------------------------------------------------------------

    def pull_structure(self, session: requests.Session, account: AccountRef) -> Iterator[Entity]:
        """Campaigns of every type, their ad groups (asset groups for Performance Max) and ads."""
        api = self.ads_api(session, account.customer_id)
        return reporting.pull_structure(api, account.account_id)

    def pull_insights(
        self, session: requests.Session, account: AccountRef, window: DateWindow
    ) -> Iterator[DailyMetric]:
        """Daily metrics of every level for ``window``, in the account's own days and currency
        (Google reports in the account's time zone; ``list_accounts`` declares it)."""
        api = self.ads_api(session, account.customer_id)
        return reporting.pull_insights(api, account.account_id, window)

    # --- wording ------------------------------------------------------------------------------

    def row_error_is_retryable(self, error_code: str | None) -> bool:
        return error_code in why.RETRYABLE_ROW_CODES

    def row_error_is_goal_too_recent(self, error_code: str | None) -> bool:
        return error_code == why.GOAL_TOO_RECENT

    def explain_error(self, error_code: str | None, message: str | None = None) -> str:
        return why.explain(error_code, message)

    def describe_reason(self, reason: Reason, facts: ReasonFacts) -> Wording | None:
        return why.describe_reason(reason, facts)
