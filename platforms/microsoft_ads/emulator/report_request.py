"""Validation of a SubmitGenerateReport body, in Microsoft's order and with its codes.

The result is a small plan (level, accounts, dates, columns, options) that the report
builder turns into a file; keeping validation apart lets Submit fail fast and
synchronously, exactly where Microsoft fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .faults import ad_api_fault, operation_fault
from .guard import CallContext

SERVICE = "reporting"
LEVELS = {
    "CampaignPerformanceReportRequest": "campaign",
    "AdGroupPerformanceReportRequest": "ad_group",
    "AdPerformanceReportRequest": "ad",
}
COMMON_ATTRIBUTES = {
    "TimePeriod", "AccountId", "AccountName", "AccountNumber", "AccountStatus", "CampaignId",
    "CampaignName", "CampaignStatus", "CampaignType", "CurrencyCode",
}  # fmt: skip
LEVEL_ATTRIBUTES = {
    "campaign": set(),
    "ad_group": {"AdGroupId", "AdGroupName", "AdGroupType", "Status"},
    "ad": {"AdGroupId", "AdGroupName", "AdGroupStatus", "AdId", "AdTitle", "AdType", "AdStatus"},
}
MEASURES = {
    "Impressions", "Clicks", "Spend", "Ctr", "AverageCpc", "Conversions",
    "ConversionsQualified", "AllConversions", "AllConversionsQualified", "Revenue",
    "AllRevenue", "ConversionRate", "CostPerConversion",
}  # fmt: skip
SUPPORTED_AGGREGATIONS = ("Daily", "Summary")


@dataclass(frozen=True)
class ReportPlan:
    report_type: str
    level: str
    name: str
    account_ids: list[str]
    whole_accounts: set[str]
    campaign_ids: set[str]
    ad_group_ids: set[str]
    start: date
    end: date
    time_zone: str
    aggregation: str
    columns: list[str]
    delimiter: str
    exclude_header: bool
    exclude_footer: bool
    exclude_column_headers: bool


def _fail(code: int, details: str | None = None) -> Exception:
    return operation_fault(SERVICE, code, details)


def _date(value: Any, code: int) -> date:
    try:
        return date(int(value["Year"]), int(value["Month"]), int(value["Day"]))
    except (TypeError, KeyError, ValueError):
        raise _fail(code) from None


def _predefined(name: str, today: date) -> tuple[date, date]:
    yesterday = today - timedelta(days=1)
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    table = {
        "Today": (today, today),
        "Yesterday": (yesterday, yesterday),
        "LastSevenDays": (today - timedelta(days=7), yesterday),
        "Last14Days": (today - timedelta(days=14), yesterday),
        "Last30Days": (today - timedelta(days=30), yesterday),
        "ThisMonth": (first, today),
        "LastMonth": (last_month_end.replace(day=1), last_month_end),
    }
    if name not in table:
        raise _fail(2008, f"PredefinedTime {name} is not supported by the emulator.")
    return table[name]


def _time(spec: Any, today: date, complete_only: bool) -> tuple[date, date, str]:
    spec = spec if isinstance(spec, dict) else {}
    zone = spec.get("ReportTimeZone") or "PacificTimeUSCanadaTijuana"
    custom = (
        spec.get("CustomDateRangeStart") is not None or spec.get("CustomDateRangeEnd") is not None
    )
    predefined = spec.get("PredefinedTime")
    if custom == bool(predefined):
        raise _fail(2008)
    if predefined:
        start, end = _predefined(str(predefined), today)
    else:
        start = _date(spec.get("CustomDateRangeStart"), 2009)
        end = _date(spec.get("CustomDateRangeEnd"), 2010)
        if end > today + timedelta(days=1):
            raise _fail(2010, "The end date cannot be in the future.")
        if start > end:
            raise _fail(2011)
    if complete_only and end >= today:
        raise _fail(2005)
    return start, end, zone


def _columns(body: dict[str, Any], level: str, aggregation: str) -> list[str]:
    columns = body.get("Columns")
    if not isinstance(columns, list) or not columns:
        raise _fail(2014)
    if len(set(columns)) != len(columns):
        raise _fail(2016)
    allowed = COMMON_ATTRIBUTES | LEVEL_ATTRIBUTES[level] | MEASURES
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise _fail(201, f"Columns not supported by the emulator for this report: {unknown}.")
    if aggregation == "Summary" and "TimePeriod" in columns:
        raise _fail(2034)
    if aggregation != "Summary" and "TimePeriod" not in columns:
        raise _fail(2015, "TimePeriod is required for non-Summary aggregation.")
    if not any(c in MEASURES for c in columns):
        raise _fail(2017)
    return list(columns)


def _scope(ctx: CallContext, scope: Any) -> tuple[list[str], set[str], set[str], set[str]]:
    """The scope is a union: whole accounts, plus single campaigns, plus single ad groups."""
    scope = scope if isinstance(scope, dict) else {}
    whole = {str(a) for a in scope.get("AccountIds") or []}
    account_ids = sorted(whole)
    campaigns = scope.get("Campaigns") or []
    groups = scope.get("AdGroups") or []
    account_ids += [str(c.get("AccountId")) for c in campaigns + groups if isinstance(c, dict)]
    if not account_ids:
        raise _fail(2035, "The scope names no account.")
    reachable = {a.id for a in ctx.world.accessible_accounts(ctx.user)}
    for account_id in account_ids:
        if account_id not in ctx.world.accounts:
            raise _fail(2035, f"Account {account_id} is invalid.")
        if account_id not in reachable:
            raise ad_api_fault(106, 403, f"The user cannot access account {account_id}.")
    campaign_ids = {str(c.get("CampaignId")) for c in campaigns if isinstance(c, dict)}
    group_ids = {str(g.get("AdGroupId")) for g in groups if isinstance(g, dict)}
    return sorted(set(account_ids)), whole, campaign_ids, group_ids


def plan_report(ctx: CallContext, body: dict[str, Any]) -> ReportPlan:
    request = body.get("ReportRequest")
    if not isinstance(request, dict):
        raise _fail(100)
    report_type = request.get("Type")
    if report_type not in LEVELS:
        raise _fail(2002, f"The emulator supports {sorted(LEVELS)}.")
    level = LEVELS[report_type]
    fmt = request.get("Format") or "Csv"
    if fmt not in ("Csv", "Tsv"):
        raise _fail(201, "The emulator writes Csv and Tsv reports only.")
    aggregation = request.get("Aggregation") or "Summary"
    if aggregation not in SUPPORTED_AGGREGATIONS:
        raise _fail(2007, "The emulator supports Daily and Summary aggregation.")
    columns = _columns(request, level, aggregation)
    today = ctx.world.now().date()
    start, end, zone = _time(
        request.get("Time"), today, bool(request.get("ReturnOnlyCompleteData"))
    )
    accounts, whole, campaigns, groups = _scope(ctx, request.get("Scope"))
    return ReportPlan(
        report_type=report_type,
        level=level,
        name=str(request.get("ReportName") or report_type.replace("Request", "")),
        account_ids=accounts,
        whole_accounts=whole,
        campaign_ids=campaigns,
        ad_group_ids=groups,
        start=start,
        end=end,
        time_zone=zone,
        aggregation=aggregation,
        columns=columns,
        delimiter="\t" if fmt == "Tsv" else ",",
        exclude_header=bool(request.get("ExcludeReportHeader")),
        exclude_footer=bool(request.get("ExcludeReportFooter")),
        exclude_column_headers=bool(request.get("ExcludeColumnHeaders")),
    )
