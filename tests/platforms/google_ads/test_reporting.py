"""The pull through GAQL: hierarchy of every campaign type (Performance Max via asset groups),
daily metrics with micros, doubles and the account's own dates, read across stream batches.

Every field a query selects is checked against the official v26 ``GoogleAdsRow`` descriptor,
and every constructed reply parses into the official ``SearchGoogleAdsStreamResponse``.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from google.ads.googleads.v26.services.types.google_ads_service import (
    GoogleAdsRow,
    SearchGoogleAdsStreamResponse,
)

from platforms.base import DateWindow
from platforms.errors import RateLimited
from platforms.google_ads import reporting
from platforms.google_ads.ads_api import AdsApi
from tests.platforms.google_ads.ads_fakes import AdsFakeSession, google_error

CID = "1234567890"
BASE = "https://googleads.googleapis.com"
WINDOW = DateWindow(date(2026, 11, 1), date(2026, 11, 14))


def _resource(query: str) -> str:
    return re.search(r"\bFROM\s+(\w+)", query).group(1)


def _stream(rows: list[dict], per_batch: int = 2) -> list[dict]:
    batches = [
        {"results": rows[i : i + per_batch], "fieldMask": "x", "requestId": "r"}
        for i in range(0, len(rows), per_batch)
    ] or [{"results": [], "fieldMask": "x", "requestId": "r"}]
    for batch in batches:  # the fixtures are Google's shapes, or this fails
        SearchGoogleAdsStreamResponse.from_json(json.dumps(batch), ignore_unknown_fields=False)
    return batches


class Account:
    """A Google Ads account with a Search campaign (ad group, two ads), a Performance Max
    campaign (two asset groups, no ad groups) and a Local Services campaign (neither)."""

    def __init__(self, time_zone: str = "Pacific/Auckland", currency: str = "NZD") -> None:
        self.time_zone = time_zone
        self.currency = currency
        self.queries: list[str] = []

    def rows(self, query: str) -> list[dict]:
        resource = _resource(query)
        has_dates = "segments.date" in query
        if resource == "customer":
            return [
                {
                    "customer": {
                        "resourceName": f"customers/{CID}",
                        "id": CID,
                        "descriptiveName": "Kiwi Shop",
                        "currencyCode": self.currency,
                        "timeZone": self.time_zone,
                        "manager": False,
                    }
                }
            ]
        if resource == "campaign" and not has_dates:
            return [
                _campaign("111", "Brand search", "SEARCH", "ENABLED"),
                _campaign("222", "PMax all products", "PERFORMANCE_MAX", "ENABLED"),
                _campaign("333", "Local services", "LOCAL_SERVICES", "PAUSED"),
                _campaign("444", "Old search", "SEARCH", "REMOVED"),
            ]
        if resource == "ad_group" and not has_dates:
            return [
                {
                    "adGroup": {
                        "resourceName": f"customers/{CID}/adGroups/5001",
                        "id": "5001",
                        "name": "Brand exact",
                        "status": "ENABLED",
                        "type": "SEARCH_STANDARD",
                        "campaign": f"customers/{CID}/campaigns/111",
                    }
                }
            ]
        if resource == "asset_group" and not has_dates:
            return [
                _asset_group("7001", "Shoes", "ENABLED"),
                _asset_group("7002", "Bags", "PAUSED"),
            ]
        if resource == "ad_group_ad" and not has_dates:
            return [
                _ad("9001", "RESPONSIVE_SEARCH_AD", "ENABLED", name=None),
                _ad("9002", "EXPANDED_TEXT_AD", "PAUSED", name="Legacy text ad"),
            ]
        if resource == "campaign":
            return [
                _metric({"campaign": {"id": "111"}}, "2026-11-01", 1000, 50, "12340000", 2.5, 99.9),
                _metric({"campaign": {"id": "111"}}, "2026-11-02", 10, 1, "1", 0, 0),
                _metric({"campaign": {"id": "222"}}, "2026-11-01", 5000, 70, "45678901", 3, 300),
                _metric({"campaign": {"id": "333"}}, "2026-11-14", 0, 4, "8000000", 1, 0),
            ]
        if resource == "ad_group":
            return [
                _metric({"adGroup": {"id": "5001"}}, "2026-11-01", 1000, 50, "12340000", 2.5, 99.9)
            ]
        if resource == "asset_group":
            return [
                _metric({"assetGroup": {"id": "7001"}}, "2026-11-01", 4000, 60, "40000000", 2, 250),
                _metric({"assetGroup": {"id": "7002"}}, "2026-11-01", 1000, 10, "5678901", 1, 50),
            ]
        if resource == "ad_group_ad":
            link = {
                "adGroupAd": {"ad": {"id": "9001"}, "adGroup": f"customers/{CID}/adGroups/5001"}
            }
            return [_metric(link, "2026-11-01", 1000, 50, "12340000", 0.333333333333, 33.3)]
        raise AssertionError(f"unexpected query {query}")

    def route(self, request):
        body = json.loads(request.body)
        self.queries.append(body["query"])
        return (200, _stream(self.rows(body["query"])))


def _campaign(cid, name, channel, status):
    return {
        "campaign": {
            "resourceName": f"customers/{CID}/campaigns/{cid}",
            "id": cid,
            "name": name,
            "status": status,
            "advertisingChannelType": channel,
        }
    }


def _asset_group(gid, name, status):
    return {
        "assetGroup": {
            "resourceName": f"customers/{CID}/assetGroups/{gid}",
            "id": gid,
            "name": name,
            "status": status,
            "campaign": f"customers/{CID}/campaigns/222",
        }
    }


def _ad(ad_id, kind, status, name):
    ad = {"resourceName": f"customers/{CID}/ads/{ad_id}", "id": ad_id, "type": kind}
    if name:
        ad["name"] = name
    return {
        "adGroupAd": {
            "resourceName": f"customers/{CID}/adGroupAds/5001~{ad_id}",
            "ad": ad,
            "status": status,
            "adGroup": f"customers/{CID}/adGroups/5001",
        }
    }


def _metric(ids, day, impressions, clicks, cost_micros, conversions, value):
    return {
        **ids,
        "segments": {"date": day},
        "metrics": {
            "impressions": str(impressions),
            "clicks": str(clicks),
            "costMicros": cost_micros,
            "conversions": conversions,
            "conversionsValue": value,
        },
    }


@pytest.fixture
def account():
    return Account()


@pytest.fixture
def api(account):
    return AdsApi(AdsFakeSession(route=account.route), BASE, login_customer_id="9998887777")


# --- queries ----------------------------------------------------------------------------------


def _selected_fields(query: str) -> list[str]:
    select = re.search(r"SELECT\s+(.*?)\s+FROM", query, re.S).group(1)
    return [f.strip() for f in select.split(",")]


def _field_exists(path: str) -> bool:
    """Whether a GAQL field path names a field of the official row (proto-plus renames a field
    called ``type`` to ``type_`` in its descriptors; GAQL and JSON still say ``type``)."""
    descriptor = GoogleAdsRow.pb().DESCRIPTOR
    parts = path.split(".")
    for i, part in enumerate(parts):
        if descriptor is None:
            return False
        field = descriptor.fields_by_name.get(part) or descriptor.fields_by_name.get(part + "_")
        if field is None:
            return False
        descriptor = field.message_type
        if descriptor is None:
            return i == len(parts) - 1
    return True


ALL_QUERIES = [
    reporting.CUSTOMER_QUERY,
    reporting.CAMPAIGNS,
    reporting.AD_GROUPS,
    reporting.ASSET_GROUPS,
    reporting.ADS,
    *(reporting.metrics_query(f, r, WINDOW) for _, f, r in reporting.METRIC_QUERIES),
]


@pytest.mark.parametrize("query", ALL_QUERIES)
def test_every_selected_field_exists_in_the_official_v26_row(query):
    missing = [f for f in _selected_fields(query) if not _field_exists(f)]
    assert missing == []
    assert _field_exists(f"{_resource(query)}.resource_name")  # FROM names a row resource


def test_metric_queries_use_an_explicit_date_range_not_during():
    query = reporting.metrics_query("campaign.id", "campaign", WINDOW)
    assert "WHERE segments.date BETWEEN '2026-11-01' AND '2026-11-14'" in query
    assert "DURING" not in query


# --- hierarchy --------------------------------------------------------------------------------


def test_structure_covers_every_campaign_type_at_the_levels_it_has(api, account):
    entities = list(reporting.pull_structure(api, CID))

    by_level = {}
    for e in entities:
        by_level.setdefault(e.level, []).append(e)
    assert [(c.id, c.kind, c.status) for c in by_level["campaign"]] == [
        ("111", "SEARCH", "ENABLED"),
        ("222", "PERFORMANCE_MAX", "ENABLED"),
        ("333", "LOCAL_SERVICES", "PAUSED"),
        ("444", "SEARCH", "REMOVED"),
    ]
    groups = {g.id: g for g in by_level["ad_group"]}
    assert groups["5001"].parent_id == "111" and groups["5001"].kind == "SEARCH_STANDARD"
    # Performance Max: asset groups stand where ad groups would, under their campaign.
    assert groups["7001"].parent_id == "222" and groups["7001"].kind == "ASSET_GROUP"
    assert groups["7002"].status == "PAUSED"
    ads = {a.id: a for a in by_level["ad"]}
    assert set(ads) == {"5001~9001", "5001~9002"}
    assert ads["5001~9001"].parent_id == "5001"
    assert ads["5001~9001"].name == "Responsive search ad 9001"  # no name of its own
    assert ads["5001~9002"].name == "Legacy text ad"
    # Parents come before their children, so the host can resolve every parent id.
    order = [e.level for e in entities]
    assert order.index("ad") > max(i for i, lv in enumerate(order) if lv == "ad_group")
    session = api.session
    assert all(s.headers["login-customer-id"] == "9998887777" for s in session.sent)


# --- metrics ----------------------------------------------------------------------------------


def test_insights_convert_micros_doubles_and_keep_the_accounts_own_dates(api, account):
    metrics = list(reporting.pull_insights(api, CID, WINDOW))

    by_key = {(m.level, m.entity_id, m.day): m for m in metrics}
    assert len(by_key) == len(metrics) == 8  # no duplicate (level, entity, day)
    brand = by_key[("campaign", "111", date(2026, 11, 1))]
    assert brand.spend == Decimal("12.34") and brand.currency == "NZD"
    assert (brand.impressions, brand.clicks) == (1000, 50)
    assert brand.conversions == Decimal("2.5") and brand.revenue == Decimal("99.9")
    assert by_key[("campaign", "111", date(2026, 11, 2))].spend == Decimal("0.000001")
    assert by_key[("campaign", "222", date(2026, 11, 1))].spend == Decimal("45.678901")
    # Dates are Google's segments.date as they are: the account's days (Pacific/Auckland
    # here), never shifted to UTC; the window's last day is included.
    assert by_key[("campaign", "333", date(2026, 11, 14))].clicks == 4
    # Performance Max below the campaign: asset groups at the ad-group level.
    assert by_key[("ad_group", "7001", date(2026, 11, 1))].spend == Decimal("40")
    pmax_children = sum(
        m.spend for m in metrics if m.level == "ad_group" and m.entity_id in {"7001", "7002"}
    )
    assert pmax_children == Decimal("45.678901")
    ad = by_key[("ad", "5001~9001", date(2026, 11, 1))]
    assert ad.conversions == Decimal("0.333333333333")  # no binary noise from the double
    assert ad.revenue == Decimal("33.3")
    # One customer query for the currency, then one query per level.
    assert [_resource(q) for q in account.queries] == [
        "customer",
        "campaign",
        "ad_group",
        "asset_group",
        "ad_group_ad",
    ]


def test_currency_given_by_the_caller_skips_the_customer_query(api, account):
    metrics = list(reporting.pull_insights(api, CID, WINDOW, currency="EUR"))
    assert {m.currency for m in metrics} == {"EUR"}
    assert "customer" not in [_resource(q) for q in account.queries]


def test_customer_info_reads_currency_and_time_zone(api):
    info = reporting.customer_info(api, CID)
    assert (info.currency, info.time_zone, info.manager) == ("NZD", "Pacific/Auckland", False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1230000", "1.23"),
        ("0", "0"),
        (None, "0"),
        (1500000, "1.5"),
        ("999999999999", "999999.999999"),
    ],
)
def test_micros_are_exact(raw, expected):
    assert reporting.micros_to_decimal(raw) == Decimal(expected)


def test_rows_without_an_id_or_a_date_are_skipped():
    assert reporting.metric_from_row("campaign", "campaign", {"metrics": {}}, "EUR") is None
    row = {"campaign": {"id": "1"}, "metrics": {"impressions": "3"}}
    assert reporting.metric_from_row("campaign", "campaign", row, "EUR") is None


def test_a_quota_error_mid_pull_surfaces_with_googles_delay(account):
    calls = []

    def route(request):
        calls.append(request)
        if _resource(json.loads(request.body)["query"]) == "asset_group":
            body = google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "quotaError",
                "RESOURCE_TEMPORARILY_EXHAUSTED",
                details={"quotaErrorDetails": {"retryDelay": "30s"}},
            )
            return (429, body)
        return account.route(request)

    api = AdsApi(AdsFakeSession(route=route), BASE)
    with pytest.raises(RateLimited) as caught:
        list(reporting.pull_insights(api, CID, WINDOW, currency="NZD"))
    assert caught.value.retry_after == 30
