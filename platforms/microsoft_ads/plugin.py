"""Microsoft Advertising (REST API v13) as a SourceLoop platform plugin.

The plugin is stateless apart from its settings: every call receives the host's authenticated
session, builds a thin ``MicrosoftAdsClient`` over it and returns interface values. Everything the
host uses is declared in ``platforms.base`` (click ids, identity rules, capabilities such as
diagnostics, adjustments, external attribution and auto-tagging, reason wording).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
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
    RealtimeEvent,
    Reason,
    ReasonFacts,
    ReportLimits,
    UploadRules,
    Wording,
)
from platforms.errors import InvalidRequest
from platforms.microsoft_ads import diagnostics, hashing, mapping, uet, wording
from platforms.microsoft_ads.client import MicrosoftAdsClient
from platforms.microsoft_ads.explanations import (
    GOAL_TOO_RECENT,
    RETRYABLE_ROW_CODES,
    describe_reason,
    explain,
)
from platforms.microsoft_ads.reporting import PollPolicy, ReportRunner, metrics, report_request
from platforms.microsoft_ads.settings import DEFAULT_CLICK_WAIT_MINUTES, MicrosoftAdsSettings

log = logging.getLogger(__name__)

# Customer Management
GET_USER = "/CustomerManagement/v13/User/Query"
SEARCH_ACCOUNTS = "/CustomerManagement/v13/Accounts/Search"
GET_CUSTOMERS_INFO = "/CustomerManagement/v13/CustomersInfo/Query"
GET_ACCOUNT = "/CustomerManagement/v13/Account/Query"
# Campaign Management
GET_GOALS = "/CampaignManagement/v13/ConversionGoals/QueryByIds"
APPLY_CONVERSIONS = "/CampaignManagement/v13/OfflineConversions/Apply"
APPLY_ADJUSTMENTS = "/CampaignManagement/v13/OfflineConversionAdjustments/Apply"
GET_CAMPAIGNS = "/CampaignManagement/v13/Campaigns/QueryByAccountId"
GET_AD_GROUPS = "/CampaignManagement/v13/AdGroups/QueryByCampaignId"
GET_ADS = "/CampaignManagement/v13/Ads/QueryByAdGroupId"
GET_ACCOUNT_PROPERTIES = "/CampaignManagement/v13/AccountProperties/Query"
SET_ACCOUNT_PROPERTIES = "/CampaignManagement/v13/AccountProperties/Set"

PAGE_SIZE = 1000  # SearchAccounts maximum
AUTO_TAGGING_PROPERTY = "MSCLKIDAutoTaggingEnabled"
# Without an explicit CampaignType Microsoft returns Search campaigns only.
ALL_CAMPAIGN_TYPES = (
    "Search, Shopping, DynamicSearchAds, Audience, Hotel, PerformanceMax, App, ObjectiveBased"
)
# AdTypes is required by GetAdsByAdGroupId; an ad of an unlisted type is silently left out.
ALL_AD_TYPES = [
    "Text",
    "Image",
    "Product",
    "AppInstall",
    "ExpandedText",
    "DynamicSearch",
    "ResponsiveAd",
    "ResponsiveSearch",
    "Hotel",
]
# Performance Max has asset groups instead of ad groups and ads.
_NO_AD_GROUPS = frozenset({"PerformanceMax"})


class MicrosoftAdsPlatform(Platform):
    key = "microsoft_ads"
    display_name = "Microsoft Ads"
    description = (
        "Send offline conversions (with value, currency and optional hashed email/phone) to "
        "Microsoft Advertising and pull campaigns, ad groups, ads and daily spend."
    )
    # MSCLKID: auto-tagging appends it to landing URLs; conversions within 90 days of the click.
    click_ids = (ClickIdParam("msclkid", window=timedelta(days=90)),)
    traffic_sources = frozenset({"bing", "microsoft", "msn", "microsoft_ads", "bing_ads"})
    identity_rules = hashing.RULES
    # Microsoft identity platform refresh tokens lapse after 90 days without use (README).
    refresh_token_idle_lifetime = timedelta(days=90)
    # {CampaignId} is a Microsoft URL parameter; with UTM auto-tagging on, utm_campaign and
    # utm_content already carry the campaign and ad group names (README).
    final_url_suffix = "utm_id={CampaignId}"
    capabilities = Capability(
        push_conversions=True,
        adjustments=True,
        enhanced_conversions=True,
        pull_structure=True,
        pull_insights=True,
        auto_tagging=True,
        diagnostics=True,
        external_attribution=True,
        realtime_events=True,
    )
    max_batch_size = 1000
    realtime = uet.SPEC
    # Reporting refuses a submit past an undisclosed number of reports in flight (207
    # ConcurrentRequestOverLimit; README "Reporting"): keep well under it per customer.
    report_limits = ReportLimits(in_flight_per_customer=2)
    # Microsoft: conversions within 90 days of the click, uploaded a while after it
    # (MSADS_CLICK_WAIT_MINUTES, five hours by default; see settings.py), and no sooner than two
    # hours after the goal was created. An instance carries its configured wait.
    upload_rules = UploadRules(
        window=timedelta(days=90),
        click_settle=timedelta(minutes=DEFAULT_CLICK_WAIT_MINUTES),
        goal_settle=timedelta(hours=2),
        value_places=3,
    )

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        super().__init__(settings)
        self.config = MicrosoftAdsSettings.from_mapping(self.settings)
        self.upload_rules = replace(type(self).upload_rules, click_settle=self.config.click_wait)
        # Replaceable so that tests (and a patient CLI) control report polling.
        self.sleep: Callable[[float], None] = time.sleep
        self.poll_policy = PollPolicy(first_delay=self.config.report_poll_seconds)

    # --- configuration ------------------------------------------------------------------------

    def label(self, kind: LabelKind, value: str | None) -> str:
        return wording.label(kind, value)

    def oauth_spec(self) -> OAuthSpec:
        # People often have several Microsoft identities; let them choose every time.
        return oauth_client.oauth_spec(self.config, {"prompt": "select_account"})

    def is_configured(self) -> tuple[bool, str | None]:
        return oauth_client.configuration_gap(self.display_name, self.config)

    def production_problems(self) -> list[str]:
        problems = []
        if oauth_client.emulator_left_on(self.settings, "MSADS_", self.config.environment):
            problems.append(
                "MSADS_ENVIRONMENT is 'emulator' (its default): set 'production' or 'sandbox'"
            )
        required = {
            "MSADS_CLIENT_ID": self.config.client_id,
            "MSADS_CLIENT_SECRET": self.config.client_secret,
            # The emulator defaults the token; a real deployment must name its own.
            "MSADS_DEVELOPER_TOKEN": self.config.developer_token
            if self.config.environment != "emulator"
            else (self.settings.get("MSADS_DEVELOPER_TOKEN") or "").strip(),
        }
        problems.extend(f"{name} is not set" for name, value in required.items() if not value)
        return problems

    def client(self, session: requests.Session) -> MicrosoftAdsClient:
        return MicrosoftAdsClient(session, self.config)

    # --- accounts -----------------------------------------------------------------------------

    def list_accounts(self, session: requests.Session) -> list[AdAccount]:
        """Every ad account the user reaches, each manager account first as an ineligible row.

        Microsoft's recipe: GetUser, then SearchAccounts on ``UserId`` page by page until a page
        comes back short (no total count is returned)."""
        client = self.client(session)
        user = client.customer(GET_USER, {"UserId": None})
        user_id = str((user.get("User") or {}).get("Id") or "")
        if not user_id:
            raise InvalidRequest("Microsoft Advertising returned no user for this sign-in")
        viewer_pairs = mapping.read_only_accounts(user.get("CustomerRoles") or [])
        raw_accounts: list[Mapping[str, Any]] = []
        index = 0
        while True:
            page = client.customer(
                SEARCH_ACCOUNTS,
                {
                    "Predicates": [{"Field": "UserId", "Operator": "Equals", "Value": user_id}],
                    "Ordering": [{"Field": "Name", "Order": "Ascending"}],
                    "PageInfo": {"Index": index, "Size": PAGE_SIZE},
                },
            )
            accounts = page.get("Accounts") or []
            raw_accounts.extend(a for a in accounts if isinstance(a, Mapping) and a.get("Id"))
            if len(accounts) < PAGE_SIZE:
                break
            index += 1
        names = self._manager_names(client)
        ad_accounts = [
            mapping.ad_account_from_json(a, manager_names=names, viewer_pairs=viewer_pairs)
            for a in raw_accounts
        ]
        return mapping.group_by_manager(ad_accounts, names)

    def _manager_names(self, client: MicrosoftAdsClient) -> dict[str, str]:
        """Manager account names for grouping; the picker still works without them."""
        try:
            info = client.customer(GET_CUSTOMERS_INFO, {"CustomerNameFilter": "", "TopN": 1000})
        except InvalidRequest as exc:
            log.info("msads GetCustomersInfo failed, manager names unavailable: %s", exc)
            return {}
        return {
            str(c["Id"]): str(c.get("Name") or "")
            for c in info.get("CustomersInfo") or []
            if isinstance(c, Mapping) and c.get("Id")
        }

    # --- goals --------------------------------------------------------------------------------

    def list_conversion_goals(
        self, session: requests.Session, account: AccountRef
    ) -> list[ConversionGoal]:
        """Offline conversion goals of the account (null ids = all goals of that type)."""
        answer = self.client(session).campaign(
            GET_GOALS,
            {
                "ConversionGoalIds": None,
                "ConversionGoalTypes": "OfflineConversion",
                "ReturnAdditionalFields": "IsExternallyAttributed, IsEnhancedConversionsEnabled",
            },
            account,
        )
        return [
            mapping.goal_from_json(goal)
            for goal in answer.get("ConversionGoals") or []
            if isinstance(goal, Mapping) and goal.get("Id")
        ]

    # --- push ---------------------------------------------------------------------------------

    def push_conversions(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionUpload]
    ) -> list[PushOutcome]:
        return self._apply(
            session,
            account,
            batch,
            path=APPLY_CONVERSIONS,
            list_key="OfflineConversions",
            problem=mapping.conversion_problem,
            encode=mapping.conversion_to_json,
        )

    def push_adjustments(
        self, session: requests.Session, account: AccountRef, batch: Sequence[ConversionAdjustment]
    ) -> list[PushOutcome]:
        return self._apply(
            session,
            account,
            batch,
            path=APPLY_ADJUSTMENTS,
            list_key="OfflineConversionAdjustments",
            problem=mapping.adjustment_problem,
            encode=mapping.adjustment_to_json,
        )

    def _apply(
        self,
        session: requests.Session,
        account: AccountRef,
        batch: Sequence[Any],
        *,
        path: str,
        list_key: str,
        problem: Callable[[Any], str | None],
        encode: Callable[[Any], dict[str, Any]],
    ) -> list[PushOutcome]:
        """Send the rows that can be sent, then one outcome per input row, in input order.

        Rows this plugin can tell are unsendable (no identifier, naive time, unhashed PII) are
        rejected locally and not sent, so ``PartialErrors[].Index`` is mapped through the list of
        rows actually sent. A whole-request fault raises instead (nothing was applied)."""
        if len(batch) > self.max_batch_size:
            raise InvalidRequest(
                f"Microsoft accepts at most {self.max_batch_size} rows per upload, "
                f"got {len(batch)}",
                code="5601",
            )
        outcomes: dict[int, PushOutcome] = {}
        sent_ids: list[int] = []
        payload: list[dict[str, Any]] = []
        for row in batch:
            code = problem(row)
            if code:
                outcomes[row.row_id] = mapping.local_rejection(row.row_id, code)
            else:
                sent_ids.append(row.row_id)
                payload.append(encode(row))
        if payload:
            answer = self.client(session).campaign(path, {list_key: payload}, account)
            outcomes.update(
                mapping.outcomes_from_partial_errors(sent_ids, answer.get("PartialErrors"))
            )
        return [outcomes[row.row_id] for row in batch]

    # --- pull ---------------------------------------------------------------------------------

    def pull_structure(self, session: requests.Session, account: AccountRef) -> Iterator[Entity]:
        """Campaigns of every type, then each campaign's ad groups and each ad group's ads."""
        client = self.client(session)
        answer = client.campaign(
            GET_CAMPAIGNS,
            {"AccountId": account.account_id, "CampaignType": ALL_CAMPAIGN_TYPES},
            account,
        )
        for campaign in answer.get("Campaigns") or []:
            if not isinstance(campaign, Mapping) or not campaign.get("Id"):
                continue
            entity = mapping.campaign_entity(campaign)
            yield entity
            if entity.kind in _NO_AD_GROUPS:
                continue
            groups = client.campaign(
                GET_AD_GROUPS,
                {"CampaignId": entity.id, "ReturnAdditionalFields": "AdGroupType"},
                account,
            )
            for group in groups.get("AdGroups") or []:
                if not isinstance(group, Mapping) or not group.get("Id"):
                    continue
                group_entity = mapping.ad_group_entity(group, entity.id)
                yield group_entity
                ads = client.campaign(
                    GET_ADS, {"AdGroupId": group_entity.id, "AdTypes": ALL_AD_TYPES}, account
                )
                for ad in ads.get("Ads") or []:
                    if isinstance(ad, Mapping) and ad.get("Id"):
                        yield mapping.ad_entity(ad, group_entity.id)

    def pull_insights(
        self, session: requests.Session, account: AccountRef, window: DateWindow
    ) -> Iterator[DailyMetric]:
        """Daily campaign, ad group and ad metrics for ``window`` in the account's time zone."""
        client = self.client(session)
        info = client.customer(GET_ACCOUNT, {"AccountId": account.account_id}).get("Account") or {}
        time_zone = mapping.report_time_zone(info.get("TimeZone"))
        currency = str(info.get("CurrencyCode") or "")
        runner = ReportRunner(client, account, sleep=self.sleep, policy=self.poll_policy)
        for level in ("campaign", "ad_group", "ad"):
            body = report_request(level, account.account_id, window, time_zone)
            yield from metrics(level, runner.rows(body), currency)

    # --- auto-tagging -------------------------------------------------------------------------

    def get_auto_tagging(self, session: requests.Session, account: AccountRef) -> bool | None:
        answer = self.client(session).campaign(
            GET_ACCOUNT_PROPERTIES, {"AccountPropertyNames": [AUTO_TAGGING_PROPERTY]}, account
        )
        for prop in answer.get("AccountProperties") or []:
            if isinstance(prop, Mapping) and prop.get("Name") == AUTO_TAGGING_PROPERTY:
                return str(prop.get("Value") or "").strip().lower() == "true"
        return None

    def set_auto_tagging(
        self, session: requests.Session, account: AccountRef, enabled: bool
    ) -> None:
        self.client(session).campaign(
            SET_ACCOUNT_PROPERTIES,
            {
                "AccountProperties": [
                    {"Name": AUTO_TAGGING_PROPERTY, "Value": "true" if enabled else "false"}
                ]
            },
            account,
        )

    def offline_conversion_diagnostics(
        self,
        session: requests.Session,
        account: AccountRef,
        goal_ids: Sequence[str],
        window: DateWindow,
    ) -> list[GoalDiagnostics]:
        """Accepted vs unattributed uploads per goal and day, with Microsoft's reasons.

        Splits the window into 7-day slices and the goals into chunks of 20 (Microsoft's limits)
        and merges the answers."""
        if not goal_ids:
            return []
        client = self.client(session)
        answers = [
            client.campaign(diagnostics.PATH, body, account)
            for body in diagnostics.requests_for(list(goal_ids), window)
        ]
        return diagnostics.merge(answers, window)

    # --- UET Conversions API (capability realtime_events) -------------------------------------

    def send_realtime_events(
        self,
        session: requests.Session,
        settings: Mapping[str, str],
        account: AccountRef,
        events: Sequence[RealtimeEvent],
    ) -> list[PushOutcome]:
        return uet.send(session, self.config.uet_capi_url, settings, events, datetime.now(UTC))

    def browser_config(self, settings: Mapping[str, str], account: AccountRef) -> dict[str, str]:
        """The UET tag id, and the customer id for Microsoft's ID sync (``Red3=BACID_<CID>``)."""
        config = {"ti": str(settings.get("tag_id") or "")}
        if account.customer_id:
            config["cid"] = account.customer_id
        return config

    def row_error_is_retryable(self, error_code: str | None) -> bool:
        """Whether a rejected row may pass later unchanged (goal younger than 2 h, 5612)."""
        return error_code in RETRYABLE_ROW_CODES

    def row_error_is_goal_too_recent(self, error_code: str | None) -> bool:
        """5615: the goal was created less than two hours ago."""
        return error_code == GOAL_TOO_RECENT

    def explain_error(self, error_code: str | None, message: str | None = None) -> str:
        """The marketer-facing explanation of a row error code (for old ledger rows)."""
        return explain(error_code, message)

    def describe_reason(self, reason: Reason, facts: ReasonFacts) -> Wording | None:
        return describe_reason(reason, facts)
