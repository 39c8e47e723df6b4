"""The Google Ads API client: headers, listAccessibleCustomers, searchStream read batch by batch,
paged search, and Google's error envelope mapped to the interface's typed errors.

Replies are constructed in Google's REST shapes and checked against the official v26 message
types (``google-ads`` package, tests only) so a fixture cannot drift from Google's contract.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure
from google.ads.googleads.v26.services.types.google_ads_service import (
    SearchGoogleAdsResponse,
    SearchGoogleAdsStreamResponse,
)

from platforms.errors import (
    AccessTokenExpired,
    InvalidRequest,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from platforms.google_ads.ads_api import (
    AccountAccessLost,
    AdsApi,
    CloudProjectNotApproved,
    normalise_customer_id,
)
from tests.platforms.google_ads.ads_fakes import AdsFakeSession, google_error, protocol_error

BASE = "https://googleads.googleapis.com"


def campaign_row(i: int) -> dict:
    return {
        "campaign": {
            "resourceName": f"customers/1234567890/campaigns/{i}",
            "id": str(i),
            "name": f"Campaign {i}",
            "status": "ENABLED",
        }
    }


def stream_batches(*batches: list[dict]) -> list[dict]:
    return [
        {
            "results": rows,
            "fieldMask": "campaign.id,campaign.name,campaign.status",
            "requestId": "r1",
        }
        for rows in batches
    ]


def assert_official_stream(batches: list[dict]) -> None:
    for batch in batches:
        SearchGoogleAdsStreamResponse.from_json(json.dumps(batch), ignore_unknown_fields=False)


def assert_official_failure(body: dict) -> None:
    for detail in body["error"]["details"]:
        if detail["@type"].endswith("GoogleAdsFailure"):
            payload = {k: v for k, v in detail.items() if k != "@type"}
            GoogleAdsFailure.from_json(json.dumps(payload), ignore_unknown_fields=False)


# --- requests ---------------------------------------------------------------------------------


def test_list_accessible_customers_sends_no_developer_token_and_reads_ten_digit_ids():
    session = AdsFakeSession(
        [(200, {"resourceNames": ["customers/1234567890", "customers/9876543210"]})]
    )
    api = AdsApi(session, BASE)

    assert api.list_accessible_customers() == ["1234567890", "9876543210"]

    sent = session.sent[0]
    assert sent.method == "GET"
    assert sent.url == f"{BASE}/v26/customers:listAccessibleCustomers"
    assert "developer-token" not in {k.lower() for k in sent.headers}
    assert "login-customer-id" not in {k.lower() for k in sent.headers}
    assert session.kwargs[0]["timeout"] is not None


def test_login_customer_id_header_is_sent_without_hyphens_and_base_url_may_carry_the_version():
    session = AdsFakeSession([(200, [])])
    api = AdsApi(session, f"{BASE}/v26/", login_customer_id="111-222-3333")

    assert list(api.search_stream("123-456-7890", "SELECT campaign.id FROM campaign")) == []

    sent = session.sent[0]
    assert sent.url == f"{BASE}/v26/customers/1234567890/googleAds:searchStream"
    assert sent.headers["login-customer-id"] == "1112223333"
    assert json.loads(sent.body) == {"query": "SELECT campaign.id FROM campaign"}
    assert session.kwargs[0]["stream"] is True


@pytest.mark.parametrize("bad", ["12345", "customers/abc", "", "12345678901"])
def test_customer_ids_must_have_ten_digits(bad):
    with pytest.raises(InvalidRequest):
        normalise_customer_id(bad)


# --- searchStream -----------------------------------------------------------------------------


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("chunk", [1, 7, 64, 100_000])
def test_search_stream_yields_the_rows_of_every_batch_whatever_the_chunking(chunk, indent):
    tricky = campaign_row(2)
    tricky["campaign"]["name"] = 'Brand "}]," \\ Süd ✓ {['  # quotes, brackets, escapes, UTF-8
    batches = stream_batches([campaign_row(1), tricky], [campaign_row(3)], [])
    # A bare number at the batch level must not be taken short when a chunk cuts it.
    batches[-1]["queryResourceConsumption"] = 1234567
    batches[0]["summaryRow"] = {"metrics": {"clicks": "7", "conversions": 1.5}}
    assert_official_stream(batches)
    session = AdsFakeSession([(200, json.dumps(batches, indent=indent).encode())], chunk=chunk)

    rows = list(AdsApi(session, BASE).search_stream("1234567890", "SELECT ..."))

    assert [r["campaign"]["id"] for r in rows] == ["1", "2", "3"]
    assert rows[1]["campaign"]["name"] == tricky["campaign"]["name"]


def test_search_stream_hands_out_the_first_batch_before_the_rest_has_arrived():
    batches = stream_batches([campaign_row(1)], [campaign_row(2)])
    body = json.dumps(batches).encode()
    session = AdsFakeSession([(200, body)], chunk=16)
    rows = AdsApi(session, BASE).search_stream("1234567890", "SELECT ...")

    first = next(rows)

    assert first["campaign"]["id"] == "1"
    raw = session.raws[0]
    assert raw.pos < len(body), "the whole stream was read before the first row came out"


def test_a_stream_that_breaks_off_after_a_batch_raises_transient_after_yielding_it():
    batches = stream_batches([campaign_row(1)], [campaign_row(2)])
    body = json.dumps(batches).encode()
    cut = body[: body.index(b'"Campaign 2"')]
    session = AdsFakeSession([(200, cut)], fail_with=protocol_error())
    rows = AdsApi(session, BASE).search_stream("1234567890", "SELECT ...")

    assert next(rows)["campaign"]["id"] == "1"
    with pytest.raises(TransientError, match="broke off"):
        next(rows)


def test_a_single_object_body_is_read_as_one_batch_and_garbage_is_refused():
    one = stream_batches([campaign_row(1), campaign_row(2)])[0]
    rows = AdsApi(AdsFakeSession([(200, one)]), BASE).search_stream("1234567890", "SELECT ...")
    assert [r["campaign"]["id"] for r in rows] == ["1", "2"]

    for body in (b"<html>oops</html>", b'[{"results": [1, 2}]', b'{"results": []} {}'):
        with pytest.raises(TransientError):
            list(AdsApi(AdsFakeSession([(200, body)]), BASE).search_stream("1234567890", "S"))


def test_a_stream_that_ends_mid_array_is_transient_not_silently_short():
    body = json.dumps(stream_batches([campaign_row(1)], [campaign_row(2)])).encode()
    session = AdsFakeSession([(200, body[:-1])])  # the closing bracket never came

    with pytest.raises(TransientError, match="before the array closed"):
        list(AdsApi(session, BASE).search_stream("1234567890", "SELECT ..."))


def test_an_error_inside_the_stream_raises_the_mapped_error():
    quota = google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "quotaError",
        "RESOURCE_TEMPORARILY_EXHAUSTED",
        details={"quotaErrorDetails": {"rateScope": "DEVELOPER", "retryDelay": "17s"}},
    )
    assert_official_failure(quota)
    body = json.dumps([*stream_batches([campaign_row(1)]), quota]).encode()
    session = AdsFakeSession([(200, body)])
    rows = AdsApi(session, BASE).search_stream("1234567890", "SELECT ...")

    assert next(rows)["campaign"]["id"] == "1"
    with pytest.raises(RateLimited) as caught:
        next(rows)
    assert caught.value.retry_after == 17


def test_a_large_batch_in_small_chunks_is_parsed_in_linear_time():
    rows = [campaign_row(i) for i in range(20_000)]  # about 2.4 MB in one batch
    body = json.dumps(stream_batches(rows)).encode()
    session = AdsFakeSession([(200, body)], chunk=1024)

    started = time.perf_counter()
    count = sum(1 for _ in AdsApi(session, BASE).search_stream("1234567890", "SELECT ..."))

    assert count == 20_000
    assert time.perf_counter() - started < 10, "re-parsing the buffer on every chunk"


# --- search (paged) ---------------------------------------------------------------------------


def test_search_follows_next_page_tokens_until_the_last_page():
    pages = [
        {"results": [campaign_row(1)], "nextPageToken": "tok-2", "fieldMask": "campaign.id"},
        {"results": [campaign_row(2)], "nextPageToken": "tok-3", "fieldMask": "campaign.id"},
        {"results": [campaign_row(3)], "fieldMask": "campaign.id"},
    ]
    for page in pages:
        SearchGoogleAdsResponse.from_json(json.dumps(page), ignore_unknown_fields=False)
    session = AdsFakeSession([(200, p) for p in pages])

    rows = list(AdsApi(session, BASE).search("1234567890", "SELECT campaign.id FROM campaign"))

    assert [r["campaign"]["id"] for r in rows] == ["1", "2", "3"]
    bodies = [json.loads(s.body) for s in session.sent]
    assert [b.get("pageToken") for b in bodies] == [None, "tok-2", "tok-3"]
    assert all("pageSize" not in b for b in bodies)  # PAGE_SIZE_NOT_SUPPORTED in v26


def test_search_stops_on_a_repeated_page_token():
    page = {"results": [campaign_row(1)], "nextPageToken": "same"}
    session = AdsFakeSession([(200, page), (200, page)])

    with pytest.raises(TransientError, match="repeated a page token"):
        list(AdsApi(session, BASE).search("1234567890", "SELECT campaign.id FROM campaign"))


# --- errors -----------------------------------------------------------------------------------

ERROR_CASES = [
    (
        "short-term quota with Google's retryDelay",
        google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "quotaError",
            "RESOURCE_TEMPORARILY_EXHAUSTED",
            details={"quotaErrorDetails": {"rateScope": "ACCOUNT", "retryDelay": "42s"}},
        ),
        RateLimited,
        "RESOURCE_TEMPORARILY_EXHAUSTED",
        42.0,
    ),
    (
        "daily quota without a delay waits an hour",
        google_error(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED"),
        RateLimited,
        "RESOURCE_EXHAUSTED",
        3600.0,
    ),
    (
        "expired access token: refresh first",
        google_error(401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_EXPIRED"),
        AccessTokenExpired,
        "OAUTH_TOKEN_EXPIRED",
        None,
    ),
    (
        "revoked grant: reconnect",
        google_error(401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_REVOKED"),
        ReconnectRequired,
        "OAUTH_TOKEN_REVOKED",
        None,
    ),
    (
        "not an Ads user: reconnect with another Google account",
        google_error(401, "UNAUTHENTICATED", "authenticationError", "NOT_ADS_USER"),
        ReconnectRequired,
        "NOT_ADS_USER",
        None,
    ),
    (
        "permission lost on the account",
        google_error(403, "PERMISSION_DENIED", "authorizationError", "USER_PERMISSION_DENIED"),
        AccountAccessLost,
        "USER_PERMISSION_DENIED",
        None,
    ),
    (
        "account deactivated",
        google_error(403, "PERMISSION_DENIED", "authorizationError", "CUSTOMER_NOT_ENABLED"),
        AccountAccessLost,
        "CUSTOMER_NOT_ENABLED",
        None,
    ),
    (
        "account not found",
        google_error(404, "NOT_FOUND", "authenticationError", "CUSTOMER_NOT_FOUND"),
        AccountAccessLost,
        "CUSTOMER_NOT_FOUND",
        None,
    ),
    (
        "Test-level Cloud project on a production account",
        google_error(
            403,
            "PERMISSION_DENIED",
            "authorizationError",
            "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION",
        ),
        CloudProjectNotApproved,
        "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION",
        None,
    ),
    (
        "a bad query is permanent",
        google_error(400, "INVALID_ARGUMENT", "queryError", "INVALID_VALUE_WITH_DURING_OPERATOR"),
        InvalidRequest,
        "INVALID_VALUE_WITH_DURING_OPERATOR",
        None,
    ),
    (
        "Google's internal error is transient",
        google_error(500, "INTERNAL", "internalError", "INTERNAL_ERROR"),
        TransientError,
        "INTERNAL_ERROR",
        None,
    ),
    (
        "Google Ads API not enabled in the Cloud project",
        google_error(
            403,
            "PERMISSION_DENIED",
            extra=[
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com",
                }
            ],
        ),
        CloudProjectNotApproved,
        "SERVICE_DISABLED",
        None,
    ),
    (
        "rpc-level RESOURCE_EXHAUSTED with RetryInfo",
        google_error(
            429,
            "RESOURCE_EXHAUSTED",
            extra=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5.5s"}],
        ),
        RateLimited,
        "RESOURCE_EXHAUSTED",
        5.5,
    ),
    (
        "rpc-level UNAVAILABLE",
        google_error(503, "UNAVAILABLE"),
        TransientError,
        "UNAVAILABLE",
        None,
    ),
]


@pytest.mark.parametrize(
    ("label", "body", "kind", "code", "wait"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
@pytest.mark.parametrize("wrapped", [False, True], ids=["object", "array"])
def test_google_error_envelopes_map_to_typed_errors(label, body, kind, code, wait, wrapped):
    assert_official_failure(body)
    status = body["error"]["code"]
    session = AdsFakeSession([(status, [body] if wrapped else body)])

    with pytest.raises(kind) as caught:
        list(AdsApi(session, BASE).search_stream("1234567890", "SELECT campaign.id FROM campaign"))

    assert caught.value.code == code
    if wait is not None:
        assert caught.value.retry_after == wait
    if body["error"]["details"] and "GoogleAdsFailure" in body["error"]["details"][0]["@type"]:
        assert "req-abc123" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        (401, None, {}, AccessTokenExpired),
        (403, b"", {}, AccessTokenExpired),
        (502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}, TransientError),
        (503, None, {}, TransientError),
        (429, None, {"Retry-After": "12"}, RateLimited),
        (404, b"Not Found", {}, InvalidRequest),
    ],
)
def test_bare_statuses_without_a_google_body(status, body, headers, kind):
    session = AdsFakeSession([(status, body, headers)])

    with pytest.raises(kind) as caught:
        AdsApi(session, BASE).list_accessible_customers()

    assert caught.value.code == str(status)
    if status == 429:
        assert caught.value.retry_after == 12


def test_network_failures_are_transient():
    session = AdsFakeSession([requests.ConnectionError("refused")])

    with pytest.raises(TransientError, match="ConnectionError"):
        AdsApi(session, BASE).list_accessible_customers()


class _OAuthError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@pytest.mark.parametrize(
    ("error", "kind"),
    [("invalid_grant", ReconnectRequired), ("temporarily_unavailable", TransientError)],
)
def test_oauth_errors_raised_while_the_session_refreshes(error, kind):
    session = AdsFakeSession([_OAuthError(error)])

    with pytest.raises(kind) as caught:
        AdsApi(session, BASE).list_accessible_customers()
    assert caught.value.code == error


def test_error_messages_never_carry_a_token():
    leaked = "Request had invalid authentication credentials: Bearer ya29.a0AfH6SMBx-secret-token"
    body = google_error(
        401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_INVALID", message=leaked
    )
    session = AdsFakeSession([(401, body)])

    with pytest.raises(AccessTokenExpired) as caught:
        AdsApi(session, BASE).list_accessible_customers()
    assert "ya29" not in str(caught.value) and "secret-token" not in str(caught.value)
