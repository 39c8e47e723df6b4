"""Campaign Management v13 reads for the pull job, plus the account's auto-tagging switch.

Microsoft quirks kept on purpose: GetCampaignsByAccountId returns only Search campaigns
unless CampaignType says otherwise, GetAdsByAdGroupId refuses to guess AdTypes, and
Performance Max campaigns have no ad groups (asset groups replace them).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .customer import flags
from .entities import Ad, AdGroup, Campaign
from .faults import batch_error, operation_fault
from .guard import CallContext, api_operation, require_account

bp = Blueprint("campaign", __name__, url_prefix="/CampaignManagement/v13")
SERVICE = "campaign"
CAMPAIGN_TYPES = (
    "Search", "Shopping", "DynamicSearchAds", "Audience", "Hotel", "PerformanceMax", "App",
    "ObjectiveBased",
)  # fmt: skip
AD_TYPES = (
    "Text", "Image", "Product", "AppInstall", "ExpandedText", "DynamicSearch", "ResponsiveAd",
    "ResponsiveSearch", "Hotel",
)  # fmt: skip
KNOWN_PROPERTIES = (
    "MSCLKIDAutoTaggingEnabled", "TrackingUrlTemplate", "FinalUrlSuffix",
    "AdClickParallelTracking", "IncludeViewThroughConversions",
)  # fmt: skip
PROPERTY_DEFAULTS = {
    "TrackingUrlTemplate": "",
    "FinalUrlSuffix": "",
    "AdClickParallelTracking": "true",
    "IncludeViewThroughConversions": "true",
}


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "Id": campaign.id,
        "Name": campaign.name,
        "Status": campaign.status,
        "DailyBudget": float(campaign.daily_budget),
        "BudgetType": "DailyBudgetStandard",
        "TimeZone": campaign.time_zone,
        "CampaignType": campaign.campaign_type,
        "Languages": ["All"],
        "BudgetId": None,
        "TrackingUrlTemplate": None,
        "FinalUrlSuffix": None,
        "GoalIds": None,
    }


def ad_group_json(group: AdGroup, extra: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": group.id,
        "Name": group.name,
        "Status": group.status,
        "StartDate": {"Year": group.start.year, "Month": group.start.month, "Day": group.start.day},
        "EndDate": None,
        "Language": None,
        "Network": "OwnedAndOperatedAndSyndicatedSearch",
        "CpcBid": {"Amount": 0.75},
        "TrackingUrlTemplate": None,
    }
    if "AdGroupType" in extra:
        body["AdGroupType"] = "SearchStandard"
    return body


def _text(text: str) -> dict[str, Any]:
    return {"Asset": {"Type": "TextAsset", "Id": None, "Name": None, "Text": text}}


def ad_json(ad: Ad) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": ad.id,
        "Type": ad.ad_type,
        "Status": ad.status,
        "EditorialStatus": "Active",
        "FinalUrls": [ad.final_url],
        "TrackingUrlTemplate": None,
    }
    if ad.ad_type == "ResponsiveSearch":
        body["Headlines"] = [_text(ad.title), _text("Free shipping"), _text("Shop now")]
        body["Descriptions"] = [_text("Gear for every trail."), _text("Order today.")]
        body["Path1"] = "deals"
    elif ad.ad_type == "ExpandedText":
        body.update(TitlePart1=ad.title[:30], TitlePart2="Shop now", Text="Gear for every trail.")
    elif ad.ad_type == "ResponsiveAd":
        body.update(BusinessName="Fabrikam", Headlines=[_text(ad.title)],
                    LongHeadline=_text(ad.title + " - see more"),
                    Descriptions=[_text("Come back and save.")], CallToAction="ShopNow")  # fmt: skip
    return body


@bp.post("/Campaigns/QueryByAccountId")
@api_operation("GetCampaignsByAccountId", SERVICE)
def campaigns_by_account(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    if str(body.get("AccountId") or "") != account.id:
        raise operation_fault(SERVICE, 1102, "AccountId must equal the CustomerAccountId header.")
    wanted = flags(body.get("CampaignType")) or {"Search"}
    if wanted - set(CAMPAIGN_TYPES):
        raise operation_fault(
            SERVICE, 201, f"Unknown CampaignType {sorted(wanted - set(CAMPAIGN_TYPES))}."
        )
    found = [
        c
        for c in ctx.world.campaigns.values()
        if c.account_id == account.id and c.campaign_type in wanted and c.status != "Deleted"
    ]
    return {"Campaigns": [campaign_json(c) for c in sorted(found, key=lambda c: c.id)]}


@bp.post("/AdGroups/QueryByCampaignId")
@api_operation("GetAdGroupsByCampaignId", SERVICE)
def ad_groups_by_campaign(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    campaign = ctx.world.campaigns.get(str(body.get("CampaignId") or ""))
    if campaign is None or campaign.account_id != account.id:
        raise operation_fault(SERVICE, 1100)
    extra = flags(body.get("ReturnAdditionalFields"))
    groups = sorted(
        (g for g in ctx.world.ad_groups.values() if g.campaign_id == campaign.id),
        key=lambda g: g.id,
    )
    return {"AdGroups": [ad_group_json(g, extra) for g in groups]}


@bp.post("/Ads/QueryByAdGroupId")
@api_operation("GetAdsByAdGroupId", SERVICE)
def ads_by_ad_group(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    group = ctx.world.ad_groups.get(str(body.get("AdGroupId") or ""))
    if group is None or ctx.world.campaigns[group.campaign_id].account_id != account.id:
        raise operation_fault(SERVICE, 1201)
    ad_types = body.get("AdTypes")
    if not isinstance(ad_types, list) or not ad_types:
        raise operation_fault(SERVICE, 201, "AdTypes is required.")
    if set(ad_types) - set(AD_TYPES):
        raise operation_fault(SERVICE, 201, "AdTypes contains an unknown ad type.")
    ads = sorted(
        (a for a in ctx.world.ads.values() if a.ad_group_id == group.id and a.ad_type in ad_types),
        key=lambda a: a.id,
    )
    return {"Ads": [ad_json(a) for a in ads]}


@bp.post("/AccountProperties/Query")
@api_operation("GetAccountProperties", SERVICE)
def get_account_properties(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    names = body.get("AccountPropertyNames")
    if not isinstance(names, list) or not names:
        raise operation_fault(SERVICE, 201, "AccountPropertyNames is required.")
    properties, errors = [], []
    for index, name in enumerate(names):
        if name not in KNOWN_PROPERTIES:
            errors.append(_property_error(index, name))
            continue
        value = account.properties.get(name, PROPERTY_DEFAULTS.get(name, ""))
        properties.append({"Name": name, "Value": value})
    return {"AccountProperties": properties, "PartialErrors": errors}


def _property_error(index: int, name: Any) -> dict[str, Any]:
    return batch_error(index, 201, f"Account property {name} is not supported by the emulator.")


@bp.post("/AccountProperties/Set")
@api_operation("SetAccountProperties", SERVICE)
def set_account_properties(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    """All or nothing, like Microsoft: one bad property rejects the whole call."""
    account = require_account(ctx)
    items = body.get("AccountProperties")
    if not isinstance(items, list) or not items:
        raise operation_fault(SERVICE, 201, "AccountProperties is required.")
    updates: dict[str, str] = {}
    for item in items:
        name, value = (item or {}).get("Name"), (item or {}).get("Value")
        if name not in KNOWN_PROPERTIES or not isinstance(value, str):
            raise operation_fault(SERVICE, 201, f"Invalid account property {name}.")
        if name == "MSCLKIDAutoTaggingEnabled":
            if value.lower() not in ("true", "false"):
                raise operation_fault(
                    SERVICE, 201, "MSCLKIDAutoTaggingEnabled must be true or false."
                )
            value = value.lower()
        updates[name] = value
    account.properties.update(updates)
    return {}
