"""Which msads request/response models describe each emulated REST path."""

from __future__ import annotations

import importlib
from typing import Any

_OPS = {
    "/CustomerManagement/v13/User/Query": ("customer", "get_user"),
    "/CustomerManagement/v13/Accounts/Search": ("customer", "search_accounts"),
    "/CustomerManagement/v13/Account/Query": ("customer", "get_account"),
    "/CustomerManagement/v13/CustomersInfo/Query": ("customer", "get_customers_info"),
    "/CustomerManagement/v13/AccountsInfo/Query": ("customer", "get_accounts_info"),
    "/CampaignManagement/v13/ConversionGoals/QueryByIds": (
        "campaign",
        "get_conversion_goals_by_ids",
    ),
    "/CampaignManagement/v13/OfflineConversions/Apply": ("campaign", "apply_offline_conversions"),
    "/CampaignManagement/v13/OfflineConversionAdjustments/Apply": (
        "campaign",
        "apply_offline_conversion_adjustments",
    ),
    "/CampaignManagement/v13/AccountProperties/Query": ("campaign", "get_account_properties"),
    "/CampaignManagement/v13/AccountProperties/Set": ("campaign", "set_account_properties"),
    "/CampaignManagement/v13/Campaigns/QueryByAccountId": (
        "campaign",
        "get_campaigns_by_account_id",
    ),
    "/CampaignManagement/v13/AdGroups/QueryByCampaignId": (
        "campaign",
        "get_ad_groups_by_campaign_id",
    ),
    "/CampaignManagement/v13/Ads/QueryByAdGroupId": ("campaign", "get_ads_by_ad_group_id"),
    "/CampaignManagement/v13/OfflineConversionReport/QueryByGoalIds": (
        "campaign",
        "get_offline_conversion_report_by_goal_ids",
    ),
    "/Reporting/v13/GenerateReport/Submit": ("reporting", "submit_generate_report"),
    "/Reporting/v13/GenerateReport/Poll": ("reporting", "poll_generate_report"),
}
PATHS = tuple(_OPS)


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _load(service: str, module: str) -> Any:
    mod = importlib.import_module(f"openapi_client.models.{service}.{module}")
    return getattr(mod, _camel(module))


def models(path: str) -> tuple[Any, Any | None, Any]:
    """(request model, response model or None for SetAccountProperties, fault model)."""
    service, stem = _OPS[path]
    request = _load(service, f"{stem}_request")
    response = None if stem == "set_account_properties" else _load(service, f"{stem}_response")
    fault = _load(service, "application_fault")
    return request, response, fault
