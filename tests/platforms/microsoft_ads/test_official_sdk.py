"""Microsoft's own Python SDK (``msads``), used the way Microsoft's samples use it, against the
emulator process: only the host changes (``location=``, and the token URL the SDK hard-codes).

The samples sign in, call GetUser before any account is chosen (so the SDK sends the account
headers as the text "None"), find accounts with SearchAccounts, then work in one account: goals,
ApplyOfflineConversions, adjustments, and a report submitted, polled and downloaded by
ReportingServiceManager. If the emulator refused anything the SDK sends, or answered anything
the SDK cannot read, this test fails.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

pytest.importorskip("bingads")

from bingads.authorization import (
    MSADS_MANAGE,
    PRODUCTION,
    AuthorizationData,
    OAuthWebAuthCodeGrant,
    _UriOAuthService,
)
from bingads.service_client import ServiceClient
from bingads.v13.reporting import (
    ReportingDownloadParameters,
    ReportingServiceManager,
)
from openapi_client.models.campaign import (
    ApplyOfflineConversionAdjustmentsRequest,
    ApplyOfflineConversionsRequest,
    ConversionGoalAdditionalField,
    ConversionGoalType,
    GetConversionGoalsByIdsRequest,
    OfflineConversion,
    OfflineConversionAdjustment,
)
from openapi_client.models.customer import (
    GetCustomersInfoRequest,
    GetUserRequest,
    Paging,
    Predicate,
    PredicateOperator,
    SearchAccountsRequest,
)
from openapi_client.models.reporting import (
    AccountThroughCampaignReportScope,
    CampaignPerformanceReportColumn,
    CampaignPerformanceReportRequest,
    Date,
    ReportAggregation,
    ReportFormat,
    ReportTime,
)

from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REDIRECT_URI = "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback"
SEEDED_US_CLICK = "0b1a2c3d4e5f60718293a4b5c6d7e8f9"


def _sign_in(emulator: str, monkeypatch: pytest.MonkeyPatch) -> AuthorizationData:
    """The samples' OAuth, with the token endpoint (hard-coded in the SDK) on the emulator."""
    monkeypatch.setitem(
        _UriOAuthService.AUTH_TOKEN_URI,
        (PRODUCTION, MSADS_MANAGE),
        f"{emulator}/common/oauth2/v2.0/token",
    )
    authentication = OAuthWebAuthCodeGrant(
        client_id=EMULATOR_CLIENT_ID,
        client_secret=EMULATOR_CLIENT_SECRET,
        redirection_uri=REDIRECT_URI,
        env=PRODUCTION,
    )
    consent = requests.post(
        f"{emulator}/_emulator/consent",
        json={"user": "alex@fabrikam-agency.example", "redirect_uri": REDIRECT_URI},
        timeout=10,
    )
    consent.raise_for_status()
    authentication.request_oauth_tokens_by_response_uri(consent.json()["redirect_url"])
    # A stored refresh token, as the samples keep one between runs.
    authentication.request_oauth_tokens_by_refresh_token(authentication.oauth_tokens.refresh_token)
    return AuthorizationData(
        account_id=None,
        customer_id=None,
        developer_token="BBD37VB98",
        authentication=authentication,
    )


def test_microsofts_sdk_works_against_the_emulator_unchanged(
    emulator: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    auth = _sign_in(emulator, monkeypatch)

    # Customer Management, before any account is chosen.
    customer_service = ServiceClient(
        "CustomerManagementService", 13, authorization_data=auth, location=emulator
    )
    user = customer_service.GetUser(GetUserRequest(UserId=None)).User
    assert user.Id == "90000001"
    accounts = []
    index = 0
    while True:
        page = customer_service.search_accounts(
            SearchAccountsRequest(
                predicates=[
                    Predicate(field="UserId", operator=PredicateOperator.EQUALS, value=user.Id)
                ],
                page_info=Paging(index=index, size=2),
            )
        )
        accounts.extend(page.accounts or [])
        if len(page.accounts or []) < 2:
            break
        index += 1
    assert {a.Id for a in accounts} == {"80000011", "80000012", "80000013"}
    customers = customer_service.GetCustomersInfo(
        GetCustomersInfoRequest(CustomerNameFilter="", TopN=10)
    ).CustomersInfo
    assert [(c.Id, c.Name) for c in customers] == [("70000001", "Fabrikam Agency")]

    # Campaign Management, in one account.
    account = next(a for a in accounts if a.Id == "80000011")
    auth.account_id = account.Id
    auth.customer_id = account.ParentCustomerId
    campaign_service = ServiceClient(
        "CampaignManagementService", 13, authorization_data=auth, location=emulator
    )
    goals = campaign_service.GetConversionGoalsByIds(
        GetConversionGoalsByIdsRequest(
            ConversionGoalIds=None,
            ConversionGoalTypes=ConversionGoalType.OFFLINECONVERSION,
            ReturnAdditionalFields=ConversionGoalAdditionalField.ISENHANCEDCONVERSIONSENABLED,
        )
    ).ConversionGoals
    assert "Closed won" in {g.Name for g in goals}
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    applied = campaign_service.ApplyOfflineConversions(
        ApplyOfflineConversionsRequest(
            OfflineConversions=[
                OfflineConversion(
                    MicrosoftClickId=SEEDED_US_CLICK,
                    ConversionName="Closed won",
                    ConversionTime=at,
                    ConversionValue=120.0,
                    ConversionCurrencyCode="USD",
                ),
                OfflineConversion(
                    MicrosoftClickId=SEEDED_US_CLICK,
                    ConversionName="No such goal",
                    ConversionTime=at,
                ),
            ]
        )
    )
    assert [(e.Index, e.Code) for e in applied.PartialErrors] == [(1, 5606)]
    adjusted = campaign_service.ApplyOfflineConversionAdjustments(
        ApplyOfflineConversionAdjustmentsRequest(
            OfflineConversionAdjustments=[
                OfflineConversionAdjustment(
                    MicrosoftClickId=SEEDED_US_CLICK,
                    ConversionName="Closed won",
                    ConversionTime=at,
                    AdjustmentType="Restate",
                    AdjustmentTime=at + timedelta(hours=1),
                    AdjustmentValue=90.0,
                    AdjustmentCurrencyCode="USD",
                )
            ]
        )
    )
    assert not adjusted.PartialErrors
    received = requests.get(f"{emulator}/_emulator/conversions", timeout=10).json()
    assert received["conversions"][0]["RestatedValue"] == 90.0

    # Reporting, through Microsoft's own manager: submit, poll, download, parse.
    manager = ReportingServiceManager(
        authorization_data=auth, poll_interval_in_milliseconds=200, location=emulator
    )
    yesterday = date.today() - timedelta(days=1)
    report_request = CampaignPerformanceReportRequest(
        Format=ReportFormat.CSV,
        ReportName="SDK check",
        ReturnOnlyCompleteData=False,
        Aggregation=ReportAggregation.DAILY,
        Scope=AccountThroughCampaignReportScope(AccountIds=[account.Id]),
        Time=ReportTime(
            CustomDateRangeStart=Date(Day=1, Month=1, Year=yesterday.year - 1),
            CustomDateRangeEnd=Date(Day=yesterday.day, Month=yesterday.month, Year=yesterday.year),
        ),
        Columns=[
            CampaignPerformanceReportColumn.TIMEPERIOD,
            CampaignPerformanceReportColumn.CAMPAIGNID,
            CampaignPerformanceReportColumn.IMPRESSIONS,
            CampaignPerformanceReportColumn.CLICKS,
            CampaignPerformanceReportColumn.SPEND,
        ],
    )
    report = manager.download_report(
        ReportingDownloadParameters(
            report_request=report_request,
            result_file_directory=str(tmp_path),
            result_file_name="campaigns.csv",
            overwrite_result_file=True,
            timeout_in_milliseconds=60_000,
        )
    )
    assert report is not None
    rows = list(report.report_records)
    assert rows and {r.value("CampaignId") for r in rows} >= {"50000111"}
    total_clicks = sum(r.int_value("Clicks") for r in rows)
    expected = requests.get(
        f"{emulator}/_emulator/metrics",
        params={
            "account_id": account.Id,
            "level": "campaign",
            "start": date(yesterday.year - 1, 1, 1).isoformat(),
            "end": yesterday.isoformat(),
        },
        timeout=10,
    ).json()
    assert total_clicks == expected["clicks"]
    report.close()
