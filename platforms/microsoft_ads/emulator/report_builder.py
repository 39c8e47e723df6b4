"""Turn a validated report plan into table cells, formatted the way FormatVersion 2.0 is."""

from __future__ import annotations

from collections.abc import Callable

from .metrics import Row, Stats, rows
from .report_request import MEASURES, ReportPlan
from .state import World

STATUS_IN_REPORTS = {"Pause": "Paused"}


def _ratio(numerator: float, denominator: float, percent: bool = False) -> str:
    if denominator == 0:
        return "0.00%" if percent else "0.00"
    value = numerator / denominator * (100 if percent else 1)
    return f"{value:.2f}%" if percent else f"{value:.2f}"


def _measure(column: str, s: Stats) -> str:
    conversions = s.conversions_hundredths / 100
    spend = s.spend_cents / 100
    table: dict[str, Callable[[], str]] = {
        "Impressions": lambda: str(s.impressions),
        "Clicks": lambda: str(s.clicks),
        "Spend": lambda: f"{spend:.2f}",
        "Ctr": lambda: _ratio(s.clicks, s.impressions, percent=True),
        "AverageCpc": lambda: _ratio(spend, s.clicks),
        "Conversions": lambda: str(s.conversions_hundredths // 100),
        "ConversionsQualified": lambda: f"{conversions:.2f}",
        "AllConversions": lambda: str(s.conversions_hundredths // 100),
        "AllConversionsQualified": lambda: f"{conversions:.2f}",
        "Revenue": lambda: f"{s.revenue_cents / 100:.2f}",
        "AllRevenue": lambda: f"{s.revenue_cents / 100:.2f}",
        "ConversionRate": lambda: _ratio(conversions, s.clicks, percent=True),
        "CostPerConversion": lambda: _ratio(spend, conversions) if conversions else "--",
    }
    return table[column]()


def _attribute(world: World, column: str, row: Row) -> str:
    account = world.accounts[row.account_id]
    campaign = world.campaigns[row.campaign_id]
    group = world.ad_groups.get(row.ad_group_id)
    ad = world.ads.get(row.ad_id)
    values: dict[str, Callable[[], str]] = {
        "TimePeriod": lambda: row.day.isoformat(),
        "AccountId": lambda: account.id,
        "AccountName": lambda: account.name,
        "AccountNumber": lambda: account.number,
        "AccountStatus": lambda: STATUS_IN_REPORTS.get(account.status, account.status),
        "CampaignId": lambda: campaign.id,
        "CampaignName": lambda: campaign.name,
        "CampaignStatus": lambda: campaign.status,
        "CampaignType": lambda: campaign.campaign_type,
        "CurrencyCode": lambda: account.currency,
        "AdGroupId": lambda: group.id if group else "",
        "AdGroupName": lambda: group.name if group else "",
        "AdGroupType": lambda: "Standard",
        "Status": lambda: group.status if group else "",
        "AdGroupStatus": lambda: group.status if group else "",
        "AdId": lambda: ad.id if ad else "",
        "AdTitle": lambda: ad.title if ad else "",
        "AdType": lambda: _ad_type_label(ad.ad_type) if ad else "",
        "AdStatus": lambda: ad.status if ad else "",
    }
    return values[column]()


def _ad_type_label(ad_type: str) -> str:
    return {
        "ResponsiveSearch": "Responsive search ad",
        "ExpandedText": "Expanded text ad",
        "Product": "Product ad",
        "ResponsiveAd": "Responsive ad",
    }.get(ad_type, ad_type)


def _in_scope(plan: ReportPlan, row: Row) -> bool:
    return (
        row.account_id in plan.whole_accounts
        or row.campaign_id in plan.campaign_ids
        or row.ad_group_id in plan.ad_group_ids
    )


def _summarise(found: list[Row]) -> list[Row]:
    merged: dict[tuple[str, str, str, str], Row] = {}
    for r in found:
        key = (r.account_id, r.campaign_id, r.ad_group_id, r.ad_id)
        prior = merged.get(key)
        merged[key] = Row(r.day, *key, stats=(prior.stats + r.stats) if prior else r.stats)
    return list(merged.values())


def table(world: World, plan: ReportPlan) -> list[list[str]]:
    found = [
        r
        for r in rows(world, plan.level, plan.account_ids, plan.start, plan.end)
        if _in_scope(plan, r)
    ]
    if plan.aggregation == "Summary":
        found = _summarise(found)
    return [
        [_measure(c, r.stats) if c in MEASURES else _attribute(world, c, r) for c in plan.columns]
        for r in found
    ]
