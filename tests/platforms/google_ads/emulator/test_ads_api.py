"""The Google Ads API v26 read side: accounts through manager hierarchies, conversion actions,
entities and daily metrics through GAQL, with Google's errors; every reply parses into the
official ``google-ads`` v26 message types."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from google.api_core import exceptions as core_exceptions

from platforms.google_ads.emulator import create_app

from .conftest import (
    AGENCY_USER,
    CANCELED,
    DATAMANAGER,
    DE,
    DIRECT,
    EU_MANAGER,
    MANAGER,
    UK,
    US,
    Clock,
    bearer,
    tokens_for,
)
from .contract import (
    ACCESSIBLE,
    SEARCH,
    STREAM_BATCH,
    ads_failure,
    first_ads_error,
    rpc_status,
    strict,
)


class Ads:
    """Calls the Ads API like a REST client and checks every reply against the v26 types."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.token = token

    def stream(self, customer: str, query: str, login: str | None = None, **extra: Any):
        headers = bearer(self.token, **({"login-customer-id": login} if login else {}))
        response = self.client.post(f"/v26/customers/{customer}/googleAds:searchStream",
                                    headers=headers, json={"query": query, **extra})  # fmt: skip
        body = response.get_json()
        assert isinstance(body, list), body  # a JSON array, errors included
        if response.status_code == 200:
            for batch in body:
                strict(STREAM_BATCH, batch)
            return response.status_code, [row for batch in body for row in batch.get("results", [])]
        assert len(body) == 1
        ads_failure(body[0])
        return response.status_code, body[0]

    def search(self, customer: str, body: dict[str, Any], login: str | None = None):
        headers = bearer(self.token, **({"login-customer-id": login} if login else {}))
        response = self.client.post(f"/v26/customers/{customer}/googleAds:search",
                                    headers=headers, json=body)  # fmt: skip
        payload = response.get_json()
        if response.status_code == 200:
            strict(SEARCH, payload)
        return response.status_code, payload

    def rows(self, customer: str, query: str, login: str | None = None) -> list[dict[str, Any]]:
        status, rows = self.stream(customer, query, login)
        assert status == 200, rows
        return rows


@pytest.fixture
def ads(client, agency_token) -> Ads:
    return Ads(client, agency_token)


def test_list_accessible_customers_is_the_directly_accessible_ones(
    client, agency_token, direct_token
):
    for token, expected in ((agency_token, [MANAGER, US]), (direct_token, [DIRECT])):
        response = client.get("/v26/customers:listAccessibleCustomers", headers=bearer(token))
        assert response.status_code == 200
        assert strict(ACCESSIBLE, response.json).resource_names == [
            f"customers/{c}" for c in expected
        ]
    nobody = tokens_for(client, "nobody@example.com")["access_token"]
    response = client.get("/v26/customers:listAccessibleCustomers", headers=bearer(nobody))
    assert response.status_code == 401
    assert first_ads_error(response.json) == ("authenticationError", "NOT_ADS_USER")


def test_credentials_and_scopes(client):
    missing = client.get("/v26/customers:listAccessibleCustomers")
    assert missing.status_code == 401
    status = rpc_status(missing.json)
    assert missing.json["error"]["status"] == "UNAUTHENTICATED"
    assert missing.json["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    assert status.details[0].type_url.endswith("google.rpc.ErrorInfo")
    bad = client.get("/v26/customers:listAccessibleCustomers", headers=bearer("ya29.nope"))
    assert bad.status_code == 401
    assert first_ads_error(bad.json) == ("authenticationError", "OAUTH_TOKEN_INVALID")
    dm_only = tokens_for(client, AGENCY_USER, scope=DATAMANAGER)["access_token"]
    denied = client.get("/v26/customers:listAccessibleCustomers", headers=bearer(dm_only))
    assert denied.status_code == 403
    rpc_status(denied.json)
    assert denied.json["error"]["message"] == "Request had insufficient authentication scopes."
    assert denied.json["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


def test_revoked_and_expired_tokens(client, clock):
    tokens = tokens_for(client, AGENCY_USER)
    clock.advance(seconds=3600)
    expired = client.get(
        "/v26/customers:listAccessibleCustomers", headers=bearer(tokens["access_token"])
    )
    assert first_ads_error(expired.json) == ("authenticationError", "OAUTH_TOKEN_EXPIRED")
    tokens = tokens_for(client, AGENCY_USER)
    client.post(f"/_emulator/users/{AGENCY_USER}/revoke")
    revoked = client.get(
        "/v26/customers:listAccessibleCustomers", headers=bearer(tokens["access_token"])
    )
    assert revoked.status_code == 401
    assert first_ads_error(revoked.json) == ("authenticationError", "OAUTH_TOKEN_REVOKED")


HIERARCHY = ("SELECT customer_client.client_customer, customer_client.id, customer_client.level, "
             "customer_client.manager, customer_client.status, customer_client.descriptive_name, "
             "customer_client.currency_code, customer_client.time_zone, "
             "customer_client.test_account, customer_client.hidden FROM customer_client")  # fmt: skip


def test_customer_client_walks_the_whole_manager_hierarchy(ads):
    rows = ads.rows(MANAGER, HIERARCHY)
    clients = {r["customerClient"]["id"]: r["customerClient"] for r in rows}
    assert {k: v["level"] for k, v in clients.items()} == {
        MANAGER: "0", US: "1", UK: "1", EU_MANAGER: "1", CANCELED: "1", DE: "2"}  # fmt: skip
    assert clients[MANAGER]["manager"] is True and clients[EU_MANAGER]["manager"] is True
    assert clients[CANCELED]["status"] == "CANCELED"
    assert clients[UK] == {
        "resourceName": f"customers/{MANAGER}/customerClients/{UK}",
        "clientCustomer": f"customers/{UK}", "id": UK, "level": "1", "manager": False,
        "status": "ENABLED", "descriptiveName": "Fabrikam Outdoor UK", "currencyCode": "GBP",
        "timeZone": "Europe/London", "testAccount": False, "hidden": False}  # fmt: skip
    direct = ads.rows(
        MANAGER, HIERARCHY + " WHERE customer_client.level <= 1 AND customer_client.manager = FALSE"
    )
    assert sorted(r["customerClient"]["id"] for r in direct) == [US, UK, CANCELED]
    # A non-manager sees itself at level 0 only.
    assert [r["customerClient"]["id"] for r in ads.rows(US, HIERARCHY)] == [US]


def test_login_customer_id_rules(ads, client, direct_token):
    query = "SELECT customer.id, customer.currency_code, customer.time_zone FROM customer"
    status, body = ads.stream(UK, query)  # reachable only through the manager
    assert status == 403 and first_ads_error(body) == (
        "authorizationError",
        "USER_PERMISSION_DENIED",
    )
    assert "login-customer-id" in body["error"]["details"][0]["errors"][0]["message"]
    assert ads.rows(UK, query, login=MANAGER)[0]["customer"] == {
        "resourceName": f"customers/{UK}", "id": UK, "currencyCode": "GBP", "timeZone": "Europe/London"}  # fmt: skip
    assert ads.rows(DE, query, login=MANAGER)[0]["customer"]["currencyCode"] == "EUR"
    assert ads.rows(DE, query, login=EU_MANAGER)[0]["customer"]["id"] == DE  # sub-manager
    assert ads.rows(US, query)[0]["customer"]["id"] == US  # direct access, no header needed
    status, body = ads.stream(DIRECT, query, login=MANAGER)  # not under this manager
    assert first_ads_error(body) == ("authorizationError", "USER_PERMISSION_DENIED")
    status, body = ads.stream(CANCELED, query, login=MANAGER)
    assert status == 403 and first_ads_error(body) == ("authorizationError", "CUSTOMER_NOT_ENABLED")
    status, body = ads.stream(UK, query, login="111-222-3333")
    assert status == 400 and first_ads_error(body) == ("headerError", "INVALID_LOGIN_CUSTOMER_ID")
    status, body = Ads(client, direct_token).stream(US, query, login=MANAGER)
    assert first_ads_error(body) == ("authorizationError", "USER_PERMISSION_DENIED")
    status, body = ads.stream("123", query)
    assert status == 400 and first_ads_error(body) == ("requestError", "INVALID_CUSTOMER_ID")


def test_developer_token_header_is_ignored(client, agency_token):
    for value in ("anything", ""):
        response = client.get("/v26/customers:listAccessibleCustomers",
                              headers=bearer(agency_token, **{"developer-token": value}))  # fmt: skip
        assert response.status_code == 200


def test_conversion_actions_with_filters(ads):
    query = ("SELECT conversion_action.id, conversion_action.name, conversion_action.type, "
             "conversion_action.status, conversion_action.category, "
             "conversion_action.counting_type, conversion_action.include_in_conversions_metric, "
             "conversion_action.primary_for_goal, conversion_action.owner_customer, "
             "conversion_action.click_through_lookback_window_days, "
             "conversion_action.value_settings.default_value, "
             "conversion_action.value_settings.default_currency_code "
             "FROM conversion_action WHERE conversion_action.type = 'UPLOAD_CLICKS' "
             "AND conversion_action.status != 'REMOVED' ORDER BY conversion_action.id")  # fmt: skip
    rows = [r["conversionAction"] for r in ads.rows(US, query)]
    assert [r["id"] for r in rows] == ["700000001", "700000002", "700000005", "700000006"]
    first = rows[0]
    assert first["type"] == "UPLOAD_CLICKS" and first["status"] == "ENABLED"
    assert first["countingType"] == "MANY_PER_CLICK" and first["category"] == "PURCHASE"
    assert first["clickThroughLookbackWindowDays"] == "90"
    assert first["valueSettings"] == {"defaultValue": 100.0, "defaultCurrencyCode": "USD"}
    assert first["ownerCustomer"] == f"customers/{US}"
    assert rows[3]["includeInConversionsMetric"] is False
    removed = ads.rows(US, "SELECT conversion_action.name FROM conversion_action "
                           "WHERE conversion_action.status IN ('REMOVED', 'HIDDEN')")  # fmt: skip
    assert [r["conversionAction"]["name"] for r in removed] == ["Legacy signup"]
    ecl = ads.rows(US, "SELECT customer.conversion_tracking_setting.accepted_customer_data_terms, "
                       "customer.conversion_tracking_setting.enablement_setting FROM customer")  # fmt: skip
    assert ecl[0]["customer"]["conversionTrackingSetting"] == {
        "acceptedCustomerDataTerms": True, "enablementSetting": "ON"}  # fmt: skip


def q(*parts: str) -> str:
    return " ".join(parts)


METRICS = "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.conversions_value"


def _sum(rows: list[dict[str, Any]]) -> tuple[int, int, int, float, float]:
    m = [r.get("metrics", {}) for r in rows]
    return (sum(int(x.get("impressions", 0)) for x in m), sum(int(x.get("clicks", 0)) for x in m),
            sum(int(x.get("costMicros", 0)) for x in m), round(sum(x.get("conversions", 0) for x in m), 2),
            round(sum(x.get("conversionsValue", 0) for x in m), 2))  # fmt: skip


def test_daily_metrics_add_up_across_levels_and_pmax_reports_through_asset_groups(ads):
    where = "WHERE segments.date BETWEEN '2026-10-01' AND '2026-10-31'"
    campaigns = ads.rows(
        US,
        q(
            "SELECT campaign.id, campaign.advertising_channel_type, segments.date,",
            METRICS,
            "FROM campaign",
            where,
        ),
    )
    groups = ads.rows(
        US, q("SELECT ad_group.id, campaign.id, segments.date,", METRICS, "FROM ad_group", where)
    )
    ads_rows = ads.rows(
        US,
        q(
            "SELECT ad_group_ad.ad.id, ad_group_ad.ad.type, ad_group_ad.status, ad_group.id, campaign.id, segments.date,",
            METRICS,
            "FROM ad_group_ad",
            where,
        ),
    )
    assets = ads.rows(
        US,
        q(
            "SELECT asset_group.id, asset_group.status, campaign.id, segments.date,",
            METRICS,
            "FROM asset_group",
            where,
        ),
    )
    assert all("2026-10-01" <= r["segments"]["date"] <= "2026-10-31" for r in campaigns)
    assert all(isinstance(r["metrics"]["costMicros"], str) for r in campaigns)
    pmax = [r for r in campaigns if r["campaign"]["advertisingChannelType"] == "PERFORMANCE_MAX"]
    others = [r for r in campaigns if r not in pmax]
    assert pmax and others
    assert _sum(others) == _sum(groups) == _sum(ads_rows)
    assert _sum(pmax) == _sum(assets)
    assert not [r for r in groups if r["campaign"]["id"] == "20000004"]  # PMax: no ad groups
    # A paused entity stopped serving 30 days before seeding; a removed one too.
    assert {
        r["campaign"]["id"]
        for r in ads.rows(
            US,
            "SELECT campaign.id, segments.date, metrics.clicks FROM campaign WHERE segments.date DURING LAST_7_DAYS",
        )
    } <= {"20000001", "20000003", "20000004"}
    totals = ads.rows(
        US,
        q(
            "SELECT campaign.id,",
            METRICS,
            "FROM campaign",
            where,
            "AND campaign.status = 'ENABLED'",
        ),
    )
    assert _sum(totals) == _sum(
        [r for r in campaigns if r["campaign"]["id"] in ("20000001", "20000003", "20000004")]
    )
    assert (
        ads.rows(
            US,
            q(
                "SELECT ad_group.id, metrics.clicks FROM ad_group",
                where,
                "ORDER BY metrics.clicks DESC LIMIT 2",
            ),
        )[0]["metrics"]["clicks"]
        >= "0"
    )


def test_dates_are_the_accounts_own_time_zone(client):
    clock = Clock()
    clock.now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)  # still 9 November in Los Angeles
    app = create_app({"processing_delay_seconds": 0}, clock=clock).test_client()
    ads = Ads(app, tokens_for(app, AGENCY_USER)["access_token"])
    today = ads.rows(
        US,
        "SELECT campaign.id, segments.date, metrics.impressions FROM campaign WHERE segments.date DURING TODAY",
    )
    assert {r["segments"]["date"] for r in today} <= {"2026-11-09"}
    future = ads.rows(
        US,
        "SELECT campaign.id, segments.date, metrics.impressions FROM campaign WHERE segments.date = '2026-11-10'",
    )
    assert future == []  # the account's day has not begun
    uk = ads.rows(
        UK,
        "SELECT campaign.id, segments.date, metrics.impressions FROM campaign WHERE segments.date DURING TODAY",
        login=MANAGER,
    )
    assert {r["segments"]["date"] for r in uk} <= {"2026-11-10"}
    week = ads.rows(
        US,
        "SELECT campaign.id, segments.date, metrics.impressions FROM campaign WHERE segments.date DURING LAST_7_DAYS",
    )
    assert {r["segments"]["date"] for r in week} <= {
        (date(2026, 11, 9) - timedelta(days=n)).isoformat() for n in range(1, 8)
    }


@pytest.mark.parametrize(("query", "code"), [
    ("SELECT campaign.foo FROM campaign", "UNRECOGNIZED_FIELD"),
    ("SELECT campaign.id FROM keyword_viewz", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
    ("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
    ("SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_90_DAYS", "INVALID_VALUE_WITH_DURING_OPERATOR"),
    ("SELECT ad_group.id FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
    ("SELECT customer_client.id, metrics.clicks FROM customer_client", "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"),
    ("SELECT campaign.id FROM campaign WHERE campaign.status = 'RUNNING'", "BAD_ENUM_CONSTANT"),
    ("SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2026-13-01' AND '2026-10-31'", "INVALID_VALUE_WITH_BETWEEN_OPERATOR"),
    ("SELECT campaign.id campaign", "EXPECTED_FROM"),
    ("campaign.id FROM campaign", "EXPECTED_SELECT"),
    ("SELECT campaign.id FROM campaign WHERE campaign.name = 'open", "STRING_NOT_TERMINATED"),
    ("SELECT campaign.id FROM campaign LIMIT 0", "LIMIT_VALUE_TOO_LOW"),
    ("SELECT campaign.id FROM campaign WHERE campaign.id IN ()", "PROHIBITED_EMPTY_LIST_IN_CONDITION"),
])  # fmt: skip
def test_query_errors_in_the_google_ads_failure(ads, query, code):
    status, body = ads.stream(US, query)
    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert first_ads_error(body) == ("queryError", code)


def test_metrics_on_a_manager_are_refused(ads):
    status, body = ads.stream(MANAGER, "SELECT customer.id, metrics.clicks FROM customer")
    assert first_ads_error(body) == ("queryError", "REQUESTED_METRICS_FOR_MANAGER")


def test_search_pages_page_size_and_unknown_fields(ads):
    status, body = ads.search(US, {"query": "SELECT campaign.id FROM campaign", "pageSize": 100})
    assert status == 400 and first_ads_error(body) == ("requestError", "PAGE_SIZE_NOT_SUPPORTED")
    status, body = ads.search(US, {"query": "SELECT campaign.id FROM campaign", "page_size": 0})
    assert status == 200 and len(body["results"]) == 5 and "nextPageToken" not in body
    status, body = ads.search(US, {"query": "SELECT campaign.id FROM campaign", "pageSiz": 1})
    assert status == 400
    rpc_status(body)
    assert 'Unknown name "pageSiz"' in body["error"]["message"]
    status, body = ads.search(
        US, {"query": "SELECT campaign.id FROM campaign WHERE campaign.id = 1"}
    )
    assert status == 200 and "results" not in body and body["fieldMask"] == "campaign.id"
    status, body = ads.search(
        US,
        {
            "query": "SELECT campaign.id FROM campaign",
            "searchSettings": {"returnTotalResultsCount": True},
        },
    )
    assert body["totalResultsCount"] == "5"
    status, body = ads.search(
        US, {"query": "SELECT campaign.id FROM campaign", "pageToken": "bogus"}
    )
    assert first_ads_error(body) == ("requestError", "INVALID_PAGE_TOKEN")
    status, body = ads.search(
        US, {"query": "SELECT campaign.id FROM campaign", "validateOnly": True}
    )
    assert status == 200 and body == {"fieldMask": "campaign.id"}


def test_search_pages_and_stream_batches_at_the_fixed_page_size(ads, monkeypatch):
    from platforms.google_ads.emulator import ads_api

    monkeypatch.setattr(ads_api, "PAGE_SIZE", 1000)  # Google's is 10,000; the seed is smaller
    query = ("SELECT ad_group_ad.ad.id, segments.date, metrics.impressions FROM ad_group_ad "
             "WHERE segments.date BETWEEN '2025-11-01' AND '2026-11-30'")  # fmt: skip
    status, first = ads.search(US, {"query": query})
    assert status == 200 and len(first["results"]) == 1000 and first["nextPageToken"]
    pages = [first]
    while "nextPageToken" in pages[-1]:
        status, page = ads.search(US, {"query": query, "pageToken": pages[-1]["nextPageToken"]})
        assert status == 200
        pages.append(page)
    assert len(pages) > 2
    paged = [row for page in pages for row in page["results"]]
    assert ads.rows(US, query) == paged


def test_stream_batches_and_faults(client, ads, agency_token):
    response = client.post(f"/v26/customers/{US}/googleAds:searchStream", headers=bearer(agency_token),
                           json={"query": "SELECT campaign.id FROM campaign WHERE campaign.id = 1"})  # fmt: skip
    body = response.get_json()
    assert len(body) == 1 and "results" not in body[0] and body[0]["fieldMask"] == "campaign.id"
    assert body[0]["requestId"] == response.headers["request-id"]
    client.post(
        "/_emulator/faults",
        json={"operation": "SearchStream", "kind": "resource_exhausted", "retry_delay_seconds": 42},
    )
    status, body = ads.stream(US, "SELECT campaign.id FROM campaign")
    assert status == 429 and first_ads_error(body) == ("quotaError", "RESOURCE_EXHAUSTED")
    details = body["error"]["details"][0]["errors"][0]["details"]["quotaErrorDetails"]
    assert details["retryDelay"] == "42s"
    client.post("/_emulator/faults", json={"operation": "*", "kind": "bare", "status": 502})
    bare = client.post(f"/v26/customers/{US}/googleAds:searchStream", headers=bearer(agency_token),
                       json={"query": "SELECT campaign.id FROM campaign"})  # fmt: skip
    assert bare.status_code == 502 and bare.data == b""
    assert ads.rows(US, "SELECT campaign.id FROM campaign")


def test_errors_map_to_api_core_exceptions_as_the_official_clients_raise_them(ads, client):
    """google-api-core turns a REST error body into its exception class by HTTP status."""

    class Reply:
        def __init__(self, status, body):
            self.status_code = status
            self._body = body
            self.request = type("R", (), {"method": "POST", "url": "http://e/"})()
            self.text = json.dumps(body)

        def json(self):
            return self._body

    status, body = ads.stream(UK, "SELECT customer.id FROM customer")
    error = core_exceptions.from_http_response(Reply(status, body))
    assert isinstance(error, core_exceptions.Forbidden)
    assert error.message.endswith("The caller does not have permission")
    status, body = ads.stream(US, "SELECT campaign.foo FROM campaign")
    assert isinstance(
        core_exceptions.from_http_response(Reply(status, body)), core_exceptions.BadRequest
    )


def test_segmented_rows_with_all_selected_metrics_zero_are_left_out(ads):
    where = "WHERE segments.date BETWEEN '2026-10-01' AND '2026-10-31'"
    with_clicks = ads.rows(
        US,
        q(
            "SELECT campaign.id, segments.date, metrics.impressions, metrics.conversions FROM campaign",
            where,
        ),
    )
    conversions_only = ads.rows(
        US, q("SELECT campaign.id, segments.date, metrics.conversions FROM campaign", where)
    )
    assert any(
        r["metrics"]["conversions"] == 0 for r in with_clicks
    )  # impressions but no conversion
    assert conversions_only and all(r["metrics"]["conversions"] > 0 for r in conversions_only)
    assert len(conversions_only) < len(with_clicks)
    unsegmented = ads.rows(
        US,
        q(
            "SELECT campaign.id, metrics.impressions FROM campaign",
            "WHERE segments.date DURING TODAY",
        ),
    )
    assert len(unsegmented) == 5  # every campaign, zeros included


def test_control_metrics_gives_the_totals_a_pull_must_reach(ads, client):
    start, end = "2026-10-01", "2026-10-31"
    for level in ("campaign", "ad_group", "ad_group_ad", "asset_group", "customer"):
        expected = client.get(
            f"/_emulator/metrics?customer_id={US}&level={level}&start={start}&end={end}"
        ).json
        rows = ads.rows(US, q(f"SELECT {level}.resource_name, segments.date,", METRICS, "FROM", level,
                              f"WHERE segments.date BETWEEN '{start}' AND '{end}'"))  # fmt: skip
        assert _sum(rows) == (expected["impressions"], expected["clicks"], expected["cost_micros"],
                              expected["conversions"], expected["conversions_value"]), level  # fmt: skip
    assert (
        client.get(
            "/_emulator/metrics?customer_id=1112223333&level=campaign&start=a&end=b"
        ).status_code
        == 400
    )
