"""The pull: campaign hierarchy and daily metrics through GAQL ``searchStream``.

Google reports synchronously, so unlike Microsoft there is nothing to submit, poll or download:
each level is one streamed query, read batch by batch. Every campaign type is covered at the
levels it has (README, "Reporting"):

- campaigns of every ``advertising_channel_type``, with campaign-level metrics;
- ad groups and their ads (``ad_group``, ``ad_group_ad``) for the types that have them;
- asset groups for Performance Max, which has no ad groups or ads (querying ``ad_group`` or
  ``ad_group_ad`` returns nothing for it): they stand at the ad-group level, ``kind`` says
  ``ASSET_GROUP``, and their parent is the campaign;
- types with neither (Local Services, for instance) report at the campaign level only.

Money: ``metrics.cost_micros`` is an int64 (a JSON string) in millionths of the account's
currency, turned into an exact ``Decimal``. ``metrics.conversions`` and ``conversions_value``
are doubles (JSON numbers), read through their shortest ``repr`` so no binary noise is stored.
Dates: ``segments.date`` is the account's own day ("All date ranges and time periods are
evaluated relative to the serving account's time zone", Google's date-ranges guide); the plugin
declares that zone as the account's ``time_zone`` and the host shows it next to the numbers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from platforms.base import DailyMetric, DateWindow, Entity, EntityLevel, ReportLimits
from platforms.errors import InvalidRequest
from platforms.google_ads.ads_api import AdsApi

log = logging.getLogger(__name__)

MICROS = Decimal(1_000_000)
ASSET_GROUP_KIND = "ASSET_GROUP"

# Each query is one operation against the Cloud project's daily quota (Explorer 2,880, Basic
# 15,000), streamed or paged alike: a pull costs 1 + 4 + 4 = 9 operations. Short-term limits
# apply per customer, so at most two pulls of one customer (or of the clients under one
# manager) run at once; the rest wait their turn instead of tripping
# RESOURCE_TEMPORARILY_EXHAUSTED and retrying.
REPORT_LIMITS = ReportLimits(in_flight_per_customer=2)

CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, "
    "customer.time_zone, customer.manager FROM customer"
)

# Hierarchy. REMOVED entities are kept: their history still has spend, and the host marks
# entities it no longer sees as removed anyway.
CAMPAIGNS = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type "
    "FROM campaign"
)
AD_GROUPS = (
    "SELECT ad_group.id, ad_group.name, ad_group.status, ad_group.type, ad_group.campaign "
    "FROM ad_group"
)
ASSET_GROUPS = (
    "SELECT asset_group.id, asset_group.name, asset_group.status, asset_group.campaign "
    "FROM asset_group"
)
ADS = (
    "SELECT ad_group_ad.ad.id, ad_group_ad.ad.name, ad_group_ad.ad.type, ad_group_ad.status, "
    "ad_group_ad.ad_group FROM ad_group_ad"
)

_METRICS = (
    "segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros, "
    "metrics.conversions, metrics.conversions_value"
)
# (level, id fields, resource): one row per entity and day, only ids and metrics, since every
# extra attribute could split a day and names come from the hierarchy pull.
METRIC_QUERIES: tuple[tuple[EntityLevel, str, str], ...] = (
    ("campaign", "campaign.id", "campaign"),
    ("ad_group", "ad_group.id", "ad_group"),
    ("ad_group", "asset_group.id", "asset_group"),
    ("ad", "ad_group_ad.ad.id, ad_group_ad.ad_group", "ad_group_ad"),
)


@dataclass(frozen=True)
class CustomerInfo:
    customer_id: str
    name: str
    currency: str
    time_zone: str
    manager: bool


def customer_info(api: AdsApi, customer_id: str) -> CustomerInfo:
    """The account's currency and time zone (and name), read from the ``customer`` resource."""
    for row in api.search_stream(customer_id, CUSTOMER_QUERY):
        customer = row.get("customer") or {}
        return CustomerInfo(
            customer_id=str(customer.get("id") or customer_id),
            name=str(customer.get("descriptiveName") or ""),
            currency=str(customer.get("currencyCode") or ""),
            time_zone=str(customer.get("timeZone") or ""),
            manager=bool(customer.get("manager")),
        )
    raise InvalidRequest(f"Google Ads returned no customer row for {customer_id}")


def metrics_query(id_fields: str, resource: str, window: DateWindow) -> str:
    """GAQL, not SQL: the fields and resource are this module's constants, the dates ISO."""
    start, end = window.start.isoformat(), window.end.isoformat()
    select = f"SELECT {id_fields}, {_METRICS} FROM {resource} "  # noqa: S608
    return select + f"WHERE segments.date BETWEEN '{start}' AND '{end}'"


# --- hierarchy --------------------------------------------------------------------------------


def pull_structure(api: AdsApi, customer_id: str) -> Iterator[Entity]:
    """Campaigns, then ad groups and asset groups, then ads: parents before children."""
    for row in api.search_stream(customer_id, CAMPAIGNS):
        campaign = row.get("campaign") or {}
        if campaign.get("id"):
            yield Entity(
                level="campaign",
                id=str(campaign["id"]),
                name=str(campaign.get("name") or ""),
                status=str(campaign.get("status") or ""),
                kind=campaign.get("advertisingChannelType") or None,
            )
    for row in api.search_stream(customer_id, AD_GROUPS):
        group = row.get("adGroup") or {}
        if group.get("id"):
            yield Entity(
                level="ad_group",
                id=str(group["id"]),
                name=str(group.get("name") or ""),
                status=str(group.get("status") or ""),
                parent_id=resource_id(group.get("campaign")),
                kind=group.get("type") or None,
            )
    for row in api.search_stream(customer_id, ASSET_GROUPS):
        group = row.get("assetGroup") or {}
        if group.get("id"):
            yield Entity(
                level="ad_group",
                id=str(group["id"]),
                name=str(group.get("name") or ""),
                status=str(group.get("status") or ""),
                parent_id=resource_id(group.get("campaign")),
                kind=ASSET_GROUP_KIND,
            )
    for row in api.search_stream(customer_id, ADS):
        link = row.get("adGroupAd") or {}
        ad = link.get("ad") or {}
        group_id = resource_id(link.get("adGroup"))
        if ad.get("id") and group_id:
            kind = ad.get("type") or None
            yield Entity(
                level="ad",
                id=ad_entity_id(group_id, str(ad["id"])),
                # Most ad types have no name in Google Ads; the type and id identify them.
                name=str(ad.get("name") or f"{_words(kind) or 'Ad'} {ad['id']}"),
                status=str(link.get("status") or ""),
                parent_id=group_id,
                kind=kind,
            )


def ad_entity_id(ad_group_id: str, ad_id: str) -> str:
    """Google keys an ad in an ad group as ``{ad_group_id}~{ad_id}`` (the resource name of
    ``ad_group_ad``); the same pair is the entity id, so two ad groups' rows never collide."""
    return f"{ad_group_id}~{ad_id}"


def resource_id(resource_name: Any) -> str | None:
    """``customers/1/adGroups/22`` → ``22``; None for anything else."""
    if not isinstance(resource_name, str) or "/" not in resource_name:
        return None
    tail = resource_name.rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None


def _words(enum_name: str | None) -> str:
    return (enum_name or "").replace("_", " ").capitalize()


# --- daily metrics ----------------------------------------------------------------------------


def pull_insights(
    api: AdsApi, customer_id: str, window: DateWindow, *, currency: str | None = None
) -> Iterator[DailyMetric]:
    """Daily metrics of every level for ``window`` (the account's days), in its currency."""
    if currency is None:
        currency = customer_info(api, customer_id).currency
    for level, id_fields, resource in METRIC_QUERIES:
        query = metrics_query(id_fields, resource, window)
        for row in api.search_stream(customer_id, query):
            metric = metric_from_row(level, resource, row, currency)
            if metric is not None:
                yield metric


def metric_from_row(
    level: EntityLevel, resource: str, row: Mapping[str, Any], currency: str
) -> DailyMetric | None:
    entity_id = _row_entity_id(resource, row)
    day = (row.get("segments") or {}).get("date")
    if not entity_id or not day:
        return None
    metrics = row.get("metrics") or {}
    return DailyMetric(
        level=level,
        entity_id=entity_id,
        day=date.fromisoformat(str(day)),
        impressions=_int(metrics.get("impressions")),
        clicks=_int(metrics.get("clicks")),
        spend=micros_to_decimal(metrics.get("costMicros")),
        currency=currency,
        conversions=_double(metrics.get("conversions")),
        revenue=_double(metrics.get("conversionsValue")),
    )


def _row_entity_id(resource: str, row: Mapping[str, Any]) -> str | None:
    if resource == "ad_group_ad":
        link = row.get("adGroupAd") or {}
        ad_id = (link.get("ad") or {}).get("id")
        group_id = resource_id(link.get("adGroup"))
        return ad_entity_id(group_id, str(ad_id)) if ad_id and group_id else None
    key = {"campaign": "campaign", "ad_group": "adGroup", "asset_group": "assetGroup"}[resource]
    value = (row.get(key) or {}).get("id")
    return str(value) if value else None


def micros_to_decimal(value: Any) -> Decimal:
    """int64 micros (a JSON string, or a number from lenient producers) → exact currency units."""
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(int(str(value))) / MICROS
    except (ValueError, InvalidOperation):
        log.warning("google ads: cost_micros %r is not an integer; counted as 0", value)
        return Decimal(0)


def _int(value: Any) -> int:
    try:
        return int(str(value)) if value not in (None, "") else 0
    except ValueError:
        return 0


def _double(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return Decimal(0)
    return Decimal(repr(number)) if math.isfinite(number) else Decimal(0)
