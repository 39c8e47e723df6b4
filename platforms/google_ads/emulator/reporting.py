"""GAQL execution over the seeded world: the fields the emulator knows, which resources each
FROM resource may select, date ranges in the account's time zone, and GoogleAdsRow JSON.

Values follow the proto3 JSON mapping Google answers with: int64 as strings, doubles as
numbers, enums as names, lowerCamelCase keys, ``resourceName`` on every selected resource.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .entities import Ad, AdGroup, AssetGroup, Campaign, ConversionAction, Customer
from .gaql import Condition, Literal, Query, QueryError
from .metrics import Stats, days, first_day, leaf_stats, local_today, total
from .state import World

ENABLED_STATES = ("UNSPECIFIED", "UNKNOWN", "ENABLED", "PAUSED", "REMOVED")
ENUMS: dict[str, tuple[str, ...]] = {
    "customer_status": ("UNSPECIFIED", "UNKNOWN", "ENABLED", "CANCELED", "SUSPENDED", "CLOSED"),
    "entity_status": ENABLED_STATES,
    "ad_group_ad_status": ENABLED_STATES,
    "conversion_action_status": ("UNSPECIFIED", "UNKNOWN", "ENABLED", "REMOVED", "HIDDEN"),
    "conversion_action_type": (
        "UNSPECIFIED", "UNKNOWN", "AD_CALL", "CLICK_TO_CALL", "GOOGLE_PLAY_DOWNLOAD",
        "GOOGLE_PLAY_IN_APP_PURCHASE", "UPLOAD_CALLS", "UPLOAD_CLICKS", "WEBPAGE", "WEBSITE_CALL",
        "STORE_SALES_DIRECT_UPLOAD", "STORE_SALES", "FIREBASE_ANDROID_FIRST_OPEN",
        "FIREBASE_ANDROID_IN_APP_PURCHASE", "FIREBASE_ANDROID_CUSTOM", "FIREBASE_IOS_FIRST_OPEN",
        "FIREBASE_IOS_IN_APP_PURCHASE", "FIREBASE_IOS_CUSTOM",
        "THIRD_PARTY_APP_ANALYTICS_ANDROID_FIRST_OPEN",
        "THIRD_PARTY_APP_ANALYTICS_ANDROID_IN_APP_PURCHASE",
        "THIRD_PARTY_APP_ANALYTICS_ANDROID_CUSTOM", "THIRD_PARTY_APP_ANALYTICS_IOS_FIRST_OPEN",
        "THIRD_PARTY_APP_ANALYTICS_IOS_IN_APP_PURCHASE", "THIRD_PARTY_APP_ANALYTICS_IOS_CUSTOM",
        "ANDROID_APP_PRE_REGISTRATION", "ANDROID_INSTALLS_ALL_OTHER_APPS",
        "FLOODLIGHT_ACTION", "FLOODLIGHT_TRANSACTION", "GOOGLE_HOSTED", "LEAD_FORM_SUBMIT",
        "SALESFORCE", "SEARCH_ADS_360", "SMART_CAMPAIGN_AD_CLICKS_TO_CALL",
        "SMART_CAMPAIGN_MAP_CLICKS_TO_CALL", "SMART_CAMPAIGN_MAP_DIRECTIONS",
        "SMART_CAMPAIGN_TRACKED_CALLS", "STORE_VISITS", "WEBPAGE_CODELESS",
        "UNIVERSAL_ANALYTICS_GOAL", "UNIVERSAL_ANALYTICS_TRANSACTION",
        "GOOGLE_ANALYTICS_4_CUSTOM", "GOOGLE_ANALYTICS_4_PURCHASE"),
    "conversion_action_category": (
        "UNSPECIFIED", "UNKNOWN", "DEFAULT", "PAGE_VIEW", "PURCHASE", "SIGNUP", "DOWNLOAD",
        "ADD_TO_CART", "BEGIN_CHECKOUT", "SUBSCRIBE_PAID", "PHONE_CALL_LEAD", "IMPORTED_LEAD",
        "SUBMIT_LEAD_FORM", "BOOK_APPOINTMENT", "REQUEST_QUOTE", "GET_DIRECTIONS",
        "OUTBOUND_CLICK", "CONTACT", "ENGAGEMENT", "STORE_VISIT", "STORE_SALE", "QUALIFIED_LEAD",
        "CONVERTED_LEAD", "YOUTUBE_FOLLOW_ON_VIEWS", "MESSAGE_LEAD", "IN_APP_AD_REVENUE"),
    "counting_type": ("UNSPECIFIED", "UNKNOWN", "ONE_PER_CLICK", "MANY_PER_CLICK"),
    "origin": ("UNSPECIFIED", "UNKNOWN", "WEBSITE", "GOOGLE_HOSTED", "APP", "CALL_FROM_ADS",
               "STORE", "YOUTUBE_HOSTED", "LOCAL_SERVICES_ADS"),
    "channel": ("UNSPECIFIED", "UNKNOWN", "SEARCH", "DISPLAY", "SHOPPING", "HOTEL", "VIDEO",
                "MULTI_CHANNEL", "LOCAL", "SMART", "PERFORMANCE_MAX", "LOCAL_SERVICES", "TRAVEL",
                "DEMAND_GEN"),
    "ad_group_type": ("UNSPECIFIED", "UNKNOWN", "SEARCH_STANDARD", "DISPLAY_STANDARD",
                      "SHOPPING_PRODUCT_ADS", "HOTEL_ADS", "SHOPPING_SMART_ADS", "VIDEO_BUMPER",
                      "VIDEO_TRUE_VIEW_IN_STREAM", "VIDEO_TRUE_VIEW_IN_DISPLAY",
                      "VIDEO_NON_SKIPPABLE_IN_STREAM", "SEARCH_DYNAMIC_ADS"),
    "ad_type": ("UNSPECIFIED", "UNKNOWN", "TEXT_AD", "EXPANDED_TEXT_AD",
                "EXPANDED_DYNAMIC_SEARCH_AD", "HOTEL_AD", "SHOPPING_SMART_AD",
                "SHOPPING_PRODUCT_AD", "VIDEO_AD", "IMAGE_AD", "RESPONSIVE_SEARCH_AD",
                "LEGACY_RESPONSIVE_DISPLAY_AD", "APP_AD", "LEGACY_APP_INSTALL_AD",
                "RESPONSIVE_DISPLAY_AD", "LOCAL_AD", "HTML5_UPLOAD_AD", "DYNAMIC_HTML5_AD",
                "APP_ENGAGEMENT_AD", "SHOPPING_COMPARISON_LISTING_AD", "VIDEO_BUMPER_AD",
                "VIDEO_NON_SKIPPABLE_IN_STREAM_AD", "VIDEO_TRUEVIEW_IN_STREAM_AD",
                "VIDEO_RESPONSIVE_AD", "SMART_CAMPAIGN_AD", "CALL_AD", "APP_PRE_REGISTRATION_AD",
                "IN_FEED_VIDEO_AD", "TRAVEL_AD", "DEMAND_GEN_PRODUCT_AD",
                "DEMAND_GEN_MULTI_ASSET_AD", "DEMAND_GEN_CAROUSEL_AD",
                "DEMAND_GEN_VIDEO_RESPONSIVE_AD", "YOUTUBE_AUDIO_AD"),
    "enhanced_conversions": ("UNSPECIFIED", "UNKNOWN", "OFF", "ON"),
    "conversion_tracking_status": ("UNSPECIFIED", "UNKNOWN", "NOT_CONVERSION_TRACKED",
                                   "CONVERSION_TRACKING_MANAGED_BY_SELF",
                                   "CONVERSION_TRACKING_MANAGED_BY_THIS_MANAGER",
                                   "CONVERSION_TRACKING_MANAGED_BY_ANOTHER_MANAGER"),
}  # fmt: skip
DURING_RANGES = ("TODAY", "YESTERDAY", "LAST_7_DAYS", "LAST_BUSINESS_WEEK", "THIS_MONTH",
                 "LAST_MONTH", "LAST_14_DAYS", "LAST_30_DAYS", "THIS_WEEK_SUN_TODAY",
                 "THIS_WEEK_MON_TODAY", "LAST_WEEK_SUN_SAT", "LAST_WEEK_MON_SUN")  # fmt: skip


@dataclass
class Ctx:
    """One row before rendering: the URL customer, the row's entities, day and metrics."""

    customer: Customer
    entities: dict[str, Any] = field(default_factory=dict)
    day: date | None = None
    stats: Stats | None = None


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: str  # int64, int32, double, bool, string, enum, date, resource, string_list
    get: Callable[[Ctx], Any]
    enum: str | None = None


def _camel(part: str) -> str:
    head, *rest = part.split("_")
    return head + "".join(p.title() for p in rest)


def camel_path(name: str) -> str:
    return ".".join(_camel(p) for p in name.split("."))


def _ent(kind: str) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.entities[kind]


def _customer_fields() -> list[FieldDef]:
    c: Callable[[Ctx], Customer] = lambda ctx: ctx.entities.get("customer", ctx.customer)  # noqa: E731
    return [
        FieldDef("customer.resource_name", "resource", lambda x: f"customers/{c(x).id}"),
        FieldDef("customer.id", "int64", lambda x: int(c(x).id)),
        FieldDef("customer.descriptive_name", "string", lambda x: c(x).descriptive_name),
        FieldDef("customer.currency_code", "string", lambda x: c(x).currency_code),
        FieldDef("customer.time_zone", "string", lambda x: c(x).time_zone),
        FieldDef("customer.manager", "bool", lambda x: c(x).manager),
        FieldDef("customer.test_account", "bool", lambda x: c(x).test_account),
        FieldDef("customer.status", "enum", lambda x: c(x).status, "customer_status"),
        FieldDef("customer.auto_tagging_enabled", "bool", lambda x: c(x).auto_tagging_enabled),
        FieldDef("customer.conversion_tracking_setting.conversion_tracking_id", "int64",
                 lambda x: 900000000 + int(c(x).id) % 100000000),
        FieldDef("customer.conversion_tracking_setting.accepted_customer_data_terms", "bool",
                 lambda x: c(x).accepted_customer_data_terms),
        FieldDef("customer.conversion_tracking_setting.conversion_tracking_status", "enum",
                 lambda x: "NOT_CONVERSION_TRACKED" if c(x).manager
                 else "CONVERSION_TRACKING_MANAGED_BY_SELF", "conversion_tracking_status"),
        FieldDef("customer.conversion_tracking_setting.enablement_setting", "enum",
                 lambda x: "ON" if c(x).enhanced_conversions_for_leads_enabled else "OFF",
                 "enhanced_conversions"),
        FieldDef("customer.conversion_tracking_setting.effective_enablement_setting", "enum",
                 lambda x: "ON" if c(x).enhanced_conversions_for_leads_enabled else "OFF",
                 "enhanced_conversions"),
    ]  # fmt: skip


def _client_fields() -> list[FieldDef]:
    cc: Callable[[Ctx], tuple[Customer, int, str]] = _ent("customer_client")
    return [
        FieldDef("customer_client.resource_name", "resource",
                 lambda x: f"customers/{cc(x)[2]}/customerClients/{cc(x)[0].id}"),
        FieldDef("customer_client.client_customer", "resource", lambda x: f"customers/{cc(x)[0].id}"),
        FieldDef("customer_client.id", "int64", lambda x: int(cc(x)[0].id)),
        FieldDef("customer_client.level", "int64", lambda x: cc(x)[1]),
        FieldDef("customer_client.manager", "bool", lambda x: cc(x)[0].manager),
        FieldDef("customer_client.hidden", "bool", lambda x: cc(x)[0].hidden),
        FieldDef("customer_client.test_account", "bool", lambda x: cc(x)[0].test_account),
        FieldDef("customer_client.descriptive_name", "string", lambda x: cc(x)[0].descriptive_name),
        FieldDef("customer_client.currency_code", "string", lambda x: cc(x)[0].currency_code),
        FieldDef("customer_client.time_zone", "string", lambda x: cc(x)[0].time_zone),
        FieldDef("customer_client.status", "enum", lambda x: cc(x)[0].status, "customer_status"),
        FieldDef("customer_client.applied_labels", "string_list", lambda x: []),
    ]  # fmt: skip


def _conversion_action_fields() -> list[FieldDef]:
    a: Callable[[Ctx], ConversionAction] = _ent("conversion_action")
    p = "conversion_action."
    return [
        FieldDef(p + "resource_name", "resource",
                 lambda x: f"customers/{a(x).customer_id}/conversionActions/{a(x).id}"),
        FieldDef(p + "id", "int64", lambda x: int(a(x).id)),
        FieldDef(p + "name", "string", lambda x: a(x).name),
        FieldDef(p + "status", "enum", lambda x: a(x).status, "conversion_action_status"),
        FieldDef(p + "type", "enum", lambda x: a(x).type, "conversion_action_type"),
        FieldDef(p + "origin", "enum", lambda x: a(x).origin, "origin"),
        FieldDef(p + "category", "enum", lambda x: a(x).category, "conversion_action_category"),
        FieldDef(p + "counting_type", "enum", lambda x: a(x).counting_type, "counting_type"),
        FieldDef(p + "primary_for_goal", "bool", lambda x: a(x).primary_for_goal),
        FieldDef(p + "include_in_conversions_metric", "bool",
                 lambda x: a(x).include_in_conversions_metric),
        FieldDef(p + "owner_customer", "resource", lambda x: f"customers/{a(x).customer_id}"),
        FieldDef(p + "click_through_lookback_window_days", "int64",
                 lambda x: a(x).click_through_lookback_window_days),
        FieldDef(p + "view_through_lookback_window_days", "int64",
                 lambda x: a(x).view_through_lookback_window_days),
        FieldDef(p + "value_settings.default_value", "double", lambda x: a(x).default_value),
        FieldDef(p + "value_settings.default_currency_code", "string",
                 lambda x: a(x).default_currency_code),
        FieldDef(p + "value_settings.always_use_default_value", "bool",
                 lambda x: a(x).always_use_default_value),
    ]  # fmt: skip


def _campaign_fields() -> list[FieldDef]:
    c: Callable[[Ctx], Campaign] = _ent("campaign")
    return [
        FieldDef("campaign.resource_name", "resource",
                 lambda x: f"customers/{c(x).customer_id}/campaigns/{c(x).id}"),
        FieldDef("campaign.id", "int64", lambda x: int(c(x).id)),
        FieldDef("campaign.name", "string", lambda x: c(x).name),
        FieldDef("campaign.status", "enum", lambda x: c(x).status, "entity_status"),
        FieldDef("campaign.advertising_channel_type", "enum",
                 lambda x: c(x).advertising_channel_type, "channel"),
    ]  # fmt: skip


def _ad_group_fields() -> list[FieldDef]:
    g: Callable[[Ctx], AdGroup] = _ent("ad_group")
    return [
        FieldDef("ad_group.resource_name", "resource",
                 lambda x: f"customers/{g(x).customer_id}/adGroups/{g(x).id}"),
        FieldDef("ad_group.id", "int64", lambda x: int(g(x).id)),
        FieldDef("ad_group.name", "string", lambda x: g(x).name),
        FieldDef("ad_group.status", "enum", lambda x: g(x).status, "entity_status"),
        FieldDef("ad_group.type", "enum", lambda x: g(x).type, "ad_group_type"),
        FieldDef("ad_group.campaign", "resource",
                 lambda x: f"customers/{g(x).customer_id}/campaigns/{g(x).campaign_id}"),
    ]  # fmt: skip


def _ad_group_ad_fields() -> list[FieldDef]:
    a: Callable[[Ctx], Ad] = _ent("ad_group_ad")
    p = "ad_group_ad."
    return [
        FieldDef(p + "resource_name", "resource",
                 lambda x: f"customers/{a(x).customer_id}/adGroupAds/{a(x).ad_group_id}~{a(x).id}"),
        FieldDef(p + "status", "enum", lambda x: a(x).status, "ad_group_ad_status"),
        FieldDef(p + "ad_group", "resource",
                 lambda x: f"customers/{a(x).customer_id}/adGroups/{a(x).ad_group_id}"),
        FieldDef(p + "ad.resource_name", "resource",
                 lambda x: f"customers/{a(x).customer_id}/ads/{a(x).id}"),
        FieldDef(p + "ad.id", "int64", lambda x: int(a(x).id)),
        FieldDef(p + "ad.name", "string", lambda x: a(x).name),
        FieldDef(p + "ad.type", "enum", lambda x: a(x).type, "ad_type"),
        FieldDef(p + "ad.final_urls", "string_list", lambda x: list(a(x).final_urls)),
    ]  # fmt: skip


def _asset_group_fields() -> list[FieldDef]:
    a: Callable[[Ctx], AssetGroup] = _ent("asset_group")
    return [
        FieldDef("asset_group.resource_name", "resource",
                 lambda x: f"customers/{a(x).customer_id}/assetGroups/{a(x).id}"),
        FieldDef("asset_group.id", "int64", lambda x: int(a(x).id)),
        FieldDef("asset_group.name", "string", lambda x: a(x).name),
        FieldDef("asset_group.status", "enum", lambda x: a(x).status, "entity_status"),
        FieldDef("asset_group.campaign", "resource",
                 lambda x: f"customers/{a(x).customer_id}/campaigns/{a(x).campaign_id}"),
    ]  # fmt: skip


def _stats(ctx: Ctx) -> Stats:
    return ctx.stats or Stats()


METRIC_FIELDS = [
    FieldDef("metrics.impressions", "int64", lambda x: _stats(x).impressions),
    FieldDef("metrics.clicks", "int64", lambda x: _stats(x).clicks),
    FieldDef("metrics.cost_micros", "int64", lambda x: _stats(x).cost_micros),
    FieldDef("metrics.conversions", "double", lambda x: _stats(x).conversions),
    FieldDef("metrics.conversions_value", "double", lambda x: _stats(x).conversions_value),
]
SEGMENT_FIELDS = [FieldDef("segments.date", "date", lambda x: x.day)]

FIELDS: dict[str, FieldDef] = {
    f.name: f
    for group in (
        _customer_fields(),
        _client_fields(),
        _conversion_action_fields(),
        _campaign_fields(),
        _ad_group_fields(),
        _ad_group_ad_fields(),
        _asset_group_fields(),
        METRIC_FIELDS,
        SEGMENT_FIELDS,
    )  # fmt: skip
    for f in group
}
# FROM resource -> resources whose fields may appear in SELECT / WHERE / ORDER BY
ATTRIBUTED: dict[str, tuple[str, ...]] = {
    "customer": ("customer", "metrics", "segments"),
    "customer_client": ("customer_client", "customer"),
    "conversion_action": ("conversion_action", "customer"),
    "campaign": ("campaign", "customer", "metrics", "segments"),
    "ad_group": ("ad_group", "campaign", "customer", "metrics", "segments"),
    "ad_group_ad": ("ad_group_ad", "ad_group", "campaign", "customer", "metrics", "segments"),
    "asset_group": ("asset_group", "campaign", "customer", "metrics", "segments"),
}
RESOURCE_JSON = {"customer_client": "customerClient", "conversion_action": "conversionAction",
                 "ad_group": "adGroup", "ad_group_ad": "adGroupAd", "asset_group": "assetGroup"}  # fmt: skip


# -- validation ---------------------------------------------------------------------------------


def _check_field(name: str, resource: str, clause: str) -> None:
    if name not in FIELDS:
        raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.", name)
    prefix = name.split(".")[0]
    allowed = ATTRIBUTED[resource]
    if prefix == "metrics" and prefix not in allowed:
        raise QueryError("PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
                         f"Cannot select or filter on the following metrics: '{name}' (could not "
                         f"support requested resources: '{resource}').", name)  # fmt: skip
    if prefix == "segments" and prefix not in allowed:
        raise QueryError("PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
                         f"Cannot select or filter on the following segments: '{name}' (could not "
                         f"support requested resources: '{resource}').", name)  # fmt: skip
    if prefix not in allowed:
        code = {"SELECT": "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                "WHERE": "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE"}.get(clause,
                                                                           "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE")  # fmt: skip
        message = f"Fields of resource '{prefix}' are not allowed with resource '{resource}'."
        raise QueryError(code, message, name)


def _parse_date(literal: Literal, operator: str) -> date:
    text = literal.text
    try:
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    code = "INVALID_VALUE_WITH_BETWEEN_OPERATOR" if operator == "BETWEEN" else "INVALID_DATE_FORMAT"
    raise QueryError(code, f"Invalid date '{text}'; use 'YYYY-MM-DD' or 'YYYYMMDD'.", text)


def during(value: str, today: date) -> tuple[date, date]:
    """Google's predefined date ranges; the LAST_* ranges exclude today."""
    day = timedelta(days=1)
    if value == "TODAY":
        return today, today
    if value == "YESTERDAY":
        return today - day, today - day
    if value.startswith("LAST_") and value.endswith("_DAYS"):
        n = int(value[5:-5])
        return today - timedelta(days=n), today - day
    if value == "THIS_MONTH":
        return today.replace(day=1), today
    if value == "LAST_MONTH":
        end = today.replace(day=1) - day
        return end.replace(day=1), end
    since_sunday = (today.weekday() + 1) % 7
    if value == "THIS_WEEK_SUN_TODAY":
        return today - timedelta(days=since_sunday), today
    if value == "THIS_WEEK_MON_TODAY":
        return today - timedelta(days=today.weekday()), today
    if value == "LAST_WEEK_SUN_SAT":
        start = today - timedelta(days=since_sunday + 7)
        return start, start + timedelta(days=6)
    monday = today - timedelta(days=today.weekday() + 7)
    if value == "LAST_WEEK_MON_SUN":
        return monday, monday + timedelta(days=6)
    return monday, monday + timedelta(days=4)  # LAST_BUSINESS_WEEK


def date_range(query: Query, today: date) -> tuple[date | None, date | None]:
    """The finite range the WHERE clause gives ``segments.date`` (None = open side)."""
    start: date | None = None
    end: date | None = None

    def narrow(low: date | None, high: date | None) -> None:
        nonlocal start, end
        if low is not None:
            start = low if start is None else max(start, low)
        if high is not None:
            end = high if end is None else min(end, high)

    for cond in query.where:
        if cond.field != "segments.date":
            continue
        if cond.operator == "DURING":
            value = cond.values[0].text.upper()
            if value not in DURING_RANGES:
                raise QueryError("INVALID_VALUE_WITH_DURING_OPERATOR",
                                 f"Invalid value with DURING operator: '{cond.values[0].text}'.",
                                 cond.values[0].text)  # fmt: skip
            narrow(*during(value, today))
        elif cond.operator == "BETWEEN":
            narrow(_parse_date(cond.values[0], "BETWEEN"), _parse_date(cond.values[1], "BETWEEN"))
        elif cond.operator in ("=", ">=", ">", "<=", "<"):
            when = _parse_date(cond.values[0], cond.operator)
            one = timedelta(days=1)
            bounds: dict[str, tuple[date | None, date | None]] = {
                "=": (when, when), ">=": (when, None), ">": (when + one, None),
                "<=": (None, when), "<": (None, when - one)}  # fmt: skip
            narrow(*bounds[cond.operator])
        elif cond.operator == "IN":
            values = [_parse_date(v, "IN") for v in cond.values]
            narrow(min(values), max(values))
        elif cond.operator not in ("!=", "NOT IN"):
            raise QueryError("OPERATOR_FIELD_MISMATCH",
                             f"Operator {cond.operator} cannot be used with segments.date.", cond.field)  # fmt: skip
    return start, end


def _coerce(definition: FieldDef, literal: Literal) -> Any:
    kind = definition.kind
    if kind == "enum":
        text = literal.text
        if definition.enum and text not in ENUMS[definition.enum]:
            raise QueryError("BAD_ENUM_CONSTANT", f"Invalid enum value '{text}' for field '{definition.name}'.", text)  # fmt: skip
        return text
    if kind in ("int64", "int32"):
        try:
            return int(literal.text)
        except ValueError:
            raise QueryError(
                "BAD_NUMBER", f"Invalid number '{literal.text}'.", literal.text
            ) from None
    if kind == "double":
        try:
            return float(literal.text)
        except ValueError:
            raise QueryError(
                "BAD_NUMBER", f"Invalid number '{literal.text}'.", literal.text
            ) from None
    if kind == "bool":
        if literal.text.upper() not in ("TRUE", "FALSE"):
            raise QueryError("BAD_VALUE", f"Invalid boolean '{literal.text}'.", literal.text)
        return literal.text.upper() == "TRUE"
    if kind == "date":
        return _parse_date(literal, "=")
    return literal.text


def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _matches(cond: Condition, ctx: Ctx) -> bool:
    definition = FIELDS[cond.field]
    value = definition.get(ctx)
    op = cond.operator
    if op == "IS NULL":
        return value is None
    if op == "IS NOT NULL":
        return value is not None
    if op == "DURING":
        return True  # applied through the date range
    if op in ("LIKE", "NOT LIKE", "REGEXP_MATCH", "NOT REGEXP_MATCH"):
        if definition.kind not in ("string", "resource"):
            raise QueryError("OPERATOR_FIELD_MISMATCH", f"{op} applies to string fields only.", cond.field)  # fmt: skip
        if op.endswith("LIKE"):
            hit = _like(cond.values[0].text).fullmatch(str(value)) is not None
        else:
            try:
                hit = re.fullmatch(cond.values[0].text, str(value)) is not None
            except re.error:
                raise QueryError(
                    "BAD_VALUE", "Invalid regular expression.", cond.values[0].text
                ) from None
        return hit != op.startswith("NOT")
    values = [_coerce(definition, v) for v in cond.values]
    if definition.kind == "string_list":
        return True
    if op == "BETWEEN":
        return values[0] <= value <= values[1]
    if op == "IN":
        return value in values
    if op == "NOT IN":
        return value not in values
    target = values[0]
    return {"=": value == target, "!=": value != target, ">": value > target,
            ">=": value >= target, "<": value < target, "<=": value <= target}[op]  # fmt: skip


def validate(query: Query) -> None:
    if query.resource not in ATTRIBUTED:
        raise QueryError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                         f"Invalid resource in FROM clause: '{query.resource}'.", query.resource)  # fmt: skip
    for name in query.select:
        _check_field(name, query.resource, "SELECT")
    for cond in query.where:
        _check_field(cond.field, query.resource, "WHERE")
        definition = FIELDS[cond.field]
        if definition.kind != "date" and cond.operator in ("DURING",):
            raise QueryError("OPERATOR_FIELD_MISMATCH", "DURING applies to date segments only.", cond.field)  # fmt: skip
        if cond.operator not in ("DURING", "LIKE", "NOT LIKE", "REGEXP_MATCH",
                                 "NOT REGEXP_MATCH", "IS NULL", "IS NOT NULL"):  # fmt: skip
            for literal in cond.values:
                if definition.kind == "date":
                    _parse_date(literal, cond.operator)
                else:
                    _coerce(definition, literal)
    for name, _ in query.order_by:
        _check_field(name, query.resource, "ORDER BY")


# -- execution ----------------------------------------------------------------------------------


def _serving(world: World, *statuses: str) -> bool:
    return all(s == "ENABLED" for s in statuses)


def _leaves(world: World, kind: str, entity: Any) -> list[tuple[str, bool]]:
    """(leaf id, serving) pairs under an entity: ads, or asset groups for Performance Max."""
    if kind == "ad_group_ad":
        group = world.ad_groups[entity.ad_group_id]
        campaign = world.campaigns[group.campaign_id]
        return [(entity.id, _serving(world, entity.status, group.status, campaign.status))]
    if kind == "asset_group":
        campaign = world.campaigns[entity.campaign_id]
        return [(entity.id, _serving(world, entity.status, campaign.status))]
    if kind == "ad_group":
        return [leaf for ad in world.ads.values() if ad.ad_group_id == entity.id
                for leaf in _leaves(world, "ad_group_ad", ad)]  # fmt: skip
    if kind == "campaign":
        groups = [g for g in world.ad_groups.values() if g.campaign_id == entity.id]
        assets = [a for a in world.asset_groups.values() if a.campaign_id == entity.id]
        return [leaf for g in groups for leaf in _leaves(world, "ad_group", g)] + [
            leaf for a in assets for leaf in _leaves(world, "asset_group", a)]  # fmt: skip
    return [leaf for c in world.campaigns.values() if c.customer_id == entity.id
            for leaf in _leaves(world, "campaign", c)]  # fmt: skip


def _base(world: World, customer: Customer, resource: str) -> list[dict[str, Any]]:
    """The FROM resource's rows (with their attributed parents), ordered by id."""
    cid = customer.id
    if resource == "customer":
        return [{"customer": customer}]
    if resource == "customer_client":
        return [{"customer_client": (c, level, cid)} for c, level in world.hierarchy(cid)]
    if resource == "conversion_action":
        return [{"conversion_action": a} for a in sorted(world.conversion_actions.values(), key=lambda a: a.id)
                if a.customer_id == cid]  # fmt: skip
    campaigns = {c.id: c for c in world.campaigns.values() if c.customer_id == cid}
    if resource == "campaign":
        return [{"campaign": c} for _, c in sorted(campaigns.items())]
    if resource == "asset_group":
        return [{"asset_group": a, "campaign": campaigns[a.campaign_id]}
                for a in sorted(world.asset_groups.values(), key=lambda a: a.id)
                if a.campaign_id in campaigns]  # fmt: skip
    groups = {g.id: g for g in world.ad_groups.values() if g.campaign_id in campaigns}
    if resource == "ad_group":
        return [
            {"ad_group": g, "campaign": campaigns[g.campaign_id]} for _, g in sorted(groups.items())
        ]
    return [{"ad_group_ad": a, "ad_group": groups[a.ad_group_id],
             "campaign": campaigns[groups[a.ad_group_id].campaign_id]}
            for a in sorted(world.ads.values(), key=lambda a: a.id) if a.ad_group_id in groups]  # fmt: skip


def _render(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "int64":
        return str(value)
    if kind == "double":
        return float(value)
    if kind == "date":
        return value.isoformat()
    return value


def render_row(ctx: Ctx, select: Iterable[str], resource: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in select:
        definition = FIELDS[name]
        value = _render(definition.get(ctx), definition.kind)
        if value is None:
            continue
        parts = name.split(".")
        top = RESOURCE_JSON.get(parts[0], parts[0])
        node = row.setdefault(top, {})
        if parts[0] not in ("metrics", "segments") and "resourceName" not in node:
            node["resourceName"] = FIELDS[f"{parts[0]}.resource_name"].get(ctx)
        for part in parts[1:-1]:
            node = node.setdefault(_camel(part), {})
        node[_camel(parts[-1])] = value
    return row


def execute(world: World, customer: Customer, query: Query) -> list[dict[str, Any]]:
    """Run a validated query for one customer; rows as GoogleAdsRow JSON."""
    used = [*query.select, *(c.field for c in query.where), *(n for n, _ in query.order_by)]
    wants_metrics = any(n.startswith("metrics.") for n in used)
    if wants_metrics and customer.manager:
        raise QueryError("REQUESTED_METRICS_FOR_MANAGER",
                         "Metrics cannot be requested for a manager account. To retrieve metrics, "
                         "issue separate requests against each client account under the manager "
                         "account.")  # fmt: skip
    segmented = "segments.date" in query.select
    today = local_today(world, customer)
    start, end = date_range(query, today)
    if segmented and (start is None or end is None):
        raise QueryError("EXPECTED_FILTERS_ON_DATE_RANGE",
                         "A finite date range must be specified in the WHERE clause when "
                         "segments.date is selected.", "segments.date")  # fmt: skip
    has_date_filter = start is not None or end is not None
    start = start or first_day(world, customer)
    end = end or today
    contexts: list[Ctx] = []
    for entities in _base(world, customer, query.resource):
        kind = query.resource
        leaves = _leaves(world, kind, entities.get(kind, customer)) if (wants_metrics or segmented or has_date_filter) and kind in ATTRIBUTED and "metrics" in ATTRIBUTED[kind] else []  # fmt: skip
        if segmented:
            for day in days(start, end):
                daily = total(leaf_stats(world, customer, lid, on, day) for lid, on in leaves)
                # Segmented reports leave out rows whose selected metrics are all zero.
                if _any_selected(query, Ctx(customer, entities, day, daily)):
                    contexts.append(Ctx(customer, entities, day, daily))
            continue
        stats: Stats | None = None
        if wants_metrics:
            stats = total(leaf_stats(world, customer, lid, on, day)
                          for lid, on in leaves for day in days(start, end))  # fmt: skip
        contexts.append(Ctx(customer, entities, None, stats))
    conditions = [c for c in query.where if c.field != "segments.date" or segmented]
    contexts = [ctx for ctx in contexts if all(_matches(c, ctx) for c in conditions)]
    for name, descending in reversed(query.order_by):
        definition = FIELDS[name]
        contexts.sort(key=lambda ctx, d=definition: _sort_key(d.get(ctx)), reverse=descending)  # type: ignore[misc]
    if query.limit is not None:
        contexts = contexts[: query.limit]
    return [render_row(ctx, query.select, query.resource) for ctx in contexts]


def _any_selected(query: Query, ctx: Ctx) -> bool:
    metrics = [FIELDS[n] for n in query.select if n.startswith("metrics.")]
    if not metrics:
        return ctx.stats != Stats()
    return any(definition.get(ctx) for definition in metrics)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, list):
        return (1, ",".join(map(str, value)))
    return (1, value)


def field_mask(query: Query) -> str:
    return ",".join(camel_path(name) for name in query.select)
