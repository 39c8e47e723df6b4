"""A lean REST client for the Google Ads API (v26) over an injected ``requests.Session``.

The host's session adds ``Authorization: Bearer`` and refreshes the token; this client adds what
Google needs on top (``login-customer-id`` when the user reaches the account through a manager),
puts a timeout on every call, reads GAQL results as they stream in, and turns every failure into
one of the interface's typed errors. It knows nothing about accounts, goals or reports: those live
in the plugin and in ``reporting``.

No ``developer-token`` header is sent: Google sunset developer tokens on 2026-09-09; the header
is optional and ignored, and access levels belong to the Cloud project that owns the OAuth client
(README, "Google Cloud project").
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from platforms.errors import (
    AccessTokenExpired,
    InvalidRequest,
    PlatformError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from platforms.google_ads.stream import stream_rows

log = logging.getLogger(__name__)

API_VERSION = "v26"
DEFAULT_BASE_URL = "https://googleads.googleapis.com"
# (connect, read) seconds. The read timeout is per socket read, so a long stream that keeps
# sending batches never trips it; a stalled one does.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)

# Waits, in seconds, when Google names no ``retryDelay``: the short-term rate limit clears within
# a minute; the daily operations quota of the Cloud project's access level only at the next day.
SHORT_TERM_WAIT = 60.0
DAILY_QUOTA_WAIT = 3600.0

_CUSTOMER_ID = re.compile(r"^\d{10}$")
_VERSIONED = re.compile(r"/v\d+$")
_SECRETISH = re.compile(r"(?i)(bearer\s+\S+|ya29\.[\w.-]+|1//[\w.-]+|[A-Za-z0-9+/_.-]{60,})")


class AccountAccessLost(ReconnectRequired):
    """The signed-in Google user can no longer use this account (permission removed, account
    cancelled or not found, or the manager in ``login-customer-id`` no longer links it).

    Retrying cannot help: someone with access must reconnect, or pick another account."""


class CloudProjectNotApproved(InvalidRequest):
    """The operator's Cloud project has no access level for production accounts (Test access):
    no retry helps until the operator applies for Explorer or Basic access."""


def normalise_customer_id(value: str) -> str:
    """``123-456-7890`` / ``customers/1234567890`` / ``1234567890`` → ``1234567890``."""
    digits = str(value).rsplit("/", 1)[-1].replace("-", "").strip()
    if not _CUSTOMER_ID.match(digits):
        raise InvalidRequest(f"not a Google Ads customer id: {value!r}")
    return digits


class AdsApi:
    """One client per (session, login customer); cheap to build, holds no state between calls."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str = DEFAULT_BASE_URL,
        login_customer_id: str | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.session = session
        root = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = root if _VERSIONED.search(root) else f"{root}/{API_VERSION}"
        self.login_customer_id = (
            normalise_customer_id(login_customer_id) if login_customer_id else None
        )
        self.timeout = timeout

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.login_customer_id:
            headers["login-customer-id"] = self.login_customer_id
        return headers

    # --- calls --------------------------------------------------------------------------------

    def list_accessible_customers(self) -> list[str]:
        """The 10-digit ids of the customers the user reaches directly (no manager needed;
        Google ignores ``login-customer-id`` here). Clients below a manager come from querying
        ``customer_client`` on that manager."""
        response = self._send("GET", "customers:listAccessibleCustomers", "listAccessibleCustomers")
        body = _json_body(response, "listAccessibleCustomers")
        ids = []
        for name in body.get("resourceNames") or []:
            try:
                ids.append(normalise_customer_id(str(name)))
            except InvalidRequest:
                log.warning("google ads listAccessibleCustomers: skipped resource name %r", name)
        return ids

    def search_stream(self, customer_id: str, query: str) -> Iterator[dict[str, Any]]:
        """GoogleAdsRow dicts (JSON, lowerCamelCase) of one GAQL query, read batch by batch.

        ``searchStream`` answers one JSON array of ``SearchGoogleAdsStreamResponse`` batches;
        each row is decoded as soon as it has arrived (``stream.stream_rows``), so memory never
        holds the whole report. An error Google sends inside the stream raises like any other."""
        customer = normalise_customer_id(customer_id)
        operation = "googleAds:searchStream"
        response = self._send(
            "POST",
            f"customers/{customer}/googleAds:searchStream",
            operation,
            body={"query": query},
            stream=True,
        )
        try:
            yield from stream_rows(
                _chunks(response, operation),
                operation,
                lambda body: classify(body, status=response.status_code, operation=operation),
            )
        finally:
            response.close()

    def search(self, customer_id: str, query: str) -> Iterator[dict[str, Any]]:
        """The same rows through paged ``search`` (10,000 rows a page, fixed by Google), for
        callers that prefer short requests to one long stream. Pages are fetched as consumed."""
        customer = normalise_customer_id(customer_id)
        operation = "googleAds:search"
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            body: dict[str, Any] = {"query": query}
            if token:
                body["pageToken"] = token
            response = self._send(
                "POST", f"customers/{customer}/googleAds:search", operation, body=body
            )
            page = _json_body(response, operation)
            for row in page.get("results") or []:
                if isinstance(row, dict):
                    yield row
            token = page.get("nextPageToken") or None
            if not token:
                return
            if token in seen_tokens:
                raise TransientError(f"Google Ads {operation} repeated a page token")
            seen_tokens.add(token)

    # --- plumbing -----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        body: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        url = f"{self.base_url}/{path}"
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        try:
            response = self.session.request(
                method, url, data=data, headers=self.headers(), timeout=self.timeout, stream=stream
            )
        except requests.RequestException as exc:
            raise TransientError(f"Google Ads {operation} failed: {type(exc).__name__}") from None
        except PlatformError:
            raise
        except Exception as exc:
            oauth_error = getattr(exc, "error", None)
            if isinstance(oauth_error, str) and oauth_error:
                raise classify_oauth_error(oauth_error, operation) from None
            raise
        if 200 <= response.status_code < 300:
            return response
        try:
            raise error_for_response(response, operation)
        finally:
            response.close()


# --- reading bodies ---------------------------------------------------------------------------


def _json_body(response: requests.Response, operation: str) -> dict[str, Any]:
    try:
        payload = response.json() if response.content else {}
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise TransientError(f"Google Ads {operation} returned a body that is not a JSON object")
    return payload


def _chunks(response: requests.Response, operation: str) -> Iterator[bytes]:
    try:
        yield from response.iter_content(chunk_size=64 * 1024)
    except (requests.RequestException, OSError) as exc:  # the stream broke off mid-way
        raise TransientError(
            f"Google Ads {operation} stream broke off: {type(exc).__name__}"
        ) from None


# --- errors -----------------------------------------------------------------------------------

# authenticationError codes a token refresh fixes; the rest of the category needs a person.
_REFRESH_FIRST_AUTHENTICATION = frozenset(
    {
        "OAUTH_TOKEN_EXPIRED",
        "OAUTH_TOKEN_INVALID",
        "OAUTH_TOKEN_HEADER_INVALID",
        "OAUTH_TOKEN_DISABLED",
    }
)
_RECONNECT_AUTHENTICATION = frozenset(
    {
        "OAUTH_TOKEN_REVOKED",
        "NOT_ADS_USER",
        "GOOGLE_ACCOUNT_DELETED",
        "GOOGLE_ACCOUNT_COOKIE_INVALID",
        "GOOGLE_ACCOUNT_AUTHENTICATION_FAILED",
        "TWO_STEP_VERIFICATION_NOT_ENROLLED",
        "ADVANCED_PROTECTION_NOT_ENROLLED",
        "LOGIN_COOKIE_REQUIRED",
        "LOGIN_COOKIE_INVALID",
        "USER_ID_INVALID",
    }
)
_ACCOUNT_ACCESS_AUTHENTICATION = frozenset({"CUSTOMER_NOT_FOUND"})
_ACCOUNT_ACCESS_AUTHORIZATION = frozenset(
    {
        "USER_PERMISSION_DENIED",
        "CUSTOMER_NOT_ENABLED",
        "ACTION_NOT_PERMITTED",
        "MISSING_TOS",
        "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION",
        "SERVICE_ACCESS_DENIED",
        "ACCESS_DENIED_FOR_ACCOUNT_TYPE",
    }
)
_PROJECT_AUTHORIZATION = frozenset(
    {
        "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION",
        "DEVELOPER_TOKEN_NOT_APPROVED",
        "DEVELOPER_TOKEN_PROHIBITED",
        "PROJECT_DISABLED",
        "PROJECT_NOT_APPROVED",
    }
)
_DAILY_QUOTA = frozenset({"RESOURCE_EXHAUSTED", "EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION"})
_SHORT_TERM_QUOTA = frozenset(
    {"RESOURCE_TEMPORARILY_EXHAUSTED", "EXCESSIVE_SHORT_TERM_QUERY_RESOURCE_CONSUMPTION"}
)
_TRANSIENT_INTERNAL = frozenset({"INTERNAL_ERROR", "TRANSIENT_ERROR", "DEADLINE_EXCEEDED"})
_TRANSIENT_STATUSES = frozenset(
    {"INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED"}
)
_FAILURE_TYPE = "GoogleAdsFailure"

_OAUTH_RECONNECT = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "invalid_token", "missing_token"}
)
_OAUTH_TRANSIENT = frozenset({"temporarily_unavailable", "server_error", "internal_failure"})


def scrub(text: str) -> str:
    """Cut anything that looks like a token out of Google's text before it reaches a log."""
    return _SECRETISH.sub("[redacted]", text)


def duration_seconds(value: Any) -> float | None:
    """A ``google.protobuf.Duration`` as JSON (``"30s"``, ``"1.5s"``) or as ``{seconds, nanos}``."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", value)
        return float(match.group(1)) if match else None
    if isinstance(value, Mapping):
        try:
            return float(value.get("seconds") or 0) + float(value.get("nanos") or 0) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def _ads_errors(error: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The ``GoogleAdsFailure`` errors of a ``google.rpc.Status`` body, and its request id."""
    errors: list[dict[str, Any]] = []
    request_id = None
    for detail in error.get("details") or []:
        if not isinstance(detail, Mapping):
            continue
        if str(detail.get("@type") or "").endswith(_FAILURE_TYPE):
            errors.extend(e for e in detail.get("errors") or [] if isinstance(e, dict))
            request_id = request_id or detail.get("requestId")
    return errors, request_id


def _retry_info(error: Mapping[str, Any]) -> float | None:
    for detail in error.get("details") or []:
        if isinstance(detail, Mapping) and str(detail.get("@type") or "").endswith("RetryInfo"):
            return duration_seconds(detail.get("retryDelay"))
    return None


def _error_info_reason(error: Mapping[str, Any]) -> str | None:
    for detail in error.get("details") or []:
        if isinstance(detail, Mapping) and str(detail.get("@type") or "").endswith("ErrorInfo"):
            return str(detail.get("reason") or "") or None
    return None


def _code_pair(ads_error: Mapping[str, Any]) -> tuple[str, str]:
    """(category, value) of a ``GoogleAdsError.errorCode`` oneof, e.g. ("quotaError", ...)."""
    code = ads_error.get("errorCode")
    if isinstance(code, Mapping):
        for category, value in code.items():
            return str(category), str(value)
    return "", ""


def classify(
    payload: Any,
    *,
    status: int,
    operation: str,
    retry_after: float | None = None,
) -> PlatformError:
    """The typed error for Google's error body (``{"error": google.rpc.Status}``, possibly
    wrapped in a one-element array as ``searchStream`` does), or for a bare HTTP status."""
    if isinstance(payload, list) and payload and isinstance(payload[0], Mapping):
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping):
        return classify_http(status, operation, retry_after)
    ads_errors, request_id = _ads_errors(error)
    rpc_status = str(error.get("status") or "")
    status = int(error.get("code") or status) if str(error.get("code") or "").isdigit() else status
    texts = []
    for item in ads_errors[:3]:
        category, value = _code_pair(item)
        texts.append(f"{value}: {scrub(str(item.get('message') or ''))}".strip(": "))
    if not texts:
        texts.append(scrub(str(error.get("message") or rpc_status or f"HTTP {status}")))
    suffix = f" (request id {request_id})" if request_id else ""
    message = f"Google Ads {operation} failed: {'; '.join(texts)}{suffix}"

    for item in ads_errors:
        category, value = _code_pair(item)
        if category == "quotaError" and value in _DAILY_QUOTA | _SHORT_TERM_QUOTA:
            details = item.get("details") or {}
            quota = details.get("quotaErrorDetails") if isinstance(details, Mapping) else None
            delay = duration_seconds((quota or {}).get("retryDelay")) if quota else None
            default = DAILY_QUOTA_WAIT if value in _DAILY_QUOTA else SHORT_TERM_WAIT
            wait = delay or _retry_info(error) or retry_after or default
            return RateLimited(message, retry_after=wait, code=value)
        if category == "authenticationError":
            if value in _REFRESH_FIRST_AUTHENTICATION:
                return AccessTokenExpired(message, code=value)
            if value in _ACCOUNT_ACCESS_AUTHENTICATION:
                return AccountAccessLost(message, code=value)
            if value in _RECONNECT_AUTHENTICATION:
                return ReconnectRequired(message, code=value)
        if category == "authorizationError":
            if value in _PROJECT_AUTHORIZATION:
                return CloudProjectNotApproved(
                    message + " (the Cloud project that owns GOOGLE_ADS_CLIENT_ID needs Explorer "
                    "or Basic access for production accounts)",
                    code=value,
                )
            if value in _ACCOUNT_ACCESS_AUTHORIZATION:
                return AccountAccessLost(message, code=value)
        if category == "headerError" and value in {"INVALID_LOGIN_CUSTOMER_ID"}:
            return AccountAccessLost(message, code=value)
        if category == "internalError" and value in _TRANSIENT_INTERNAL:
            return TransientError(message, code=value)
    first = _code_pair(ads_errors[0])[1] if ads_errors else (rpc_status or None)
    if ads_errors:
        return InvalidRequest(message, code=first)
    # A google.rpc.Status without Google Ads details: a gateway / Cloud-level answer.
    if rpc_status == "RESOURCE_EXHAUSTED" or status == 429:
        return RateLimited(
            message, retry_after=_retry_info(error) or retry_after or SHORT_TERM_WAIT, code=first
        )
    if rpc_status == "UNAUTHENTICATED" or status == 401:
        return AccessTokenExpired(message, code=first)
    if rpc_status == "PERMISSION_DENIED" and _error_info_reason(error) == "SERVICE_DISABLED":
        return CloudProjectNotApproved(
            message + " (enable the Google Ads API in the Cloud project)", code="SERVICE_DISABLED"
        )
    if rpc_status in _TRANSIENT_STATUSES or status >= 500:
        return TransientError(message, code=first)
    if rpc_status == "PERMISSION_DENIED":
        return AccountAccessLost(message, code=first)
    return InvalidRequest(message, code=first)


def classify_http(status: int, operation: str, retry_after: float | None = None) -> PlatformError:
    """A non-2xx answer without a readable Google error body (a proxy page, an empty 502...)."""
    message = f"Google Ads {operation} answered HTTP {status}"
    if status == 429:
        return RateLimited(message, retry_after=retry_after or SHORT_TERM_WAIT, code="429")
    if status >= 500 or status in (408, 425):
        return TransientError(message, code=str(status))
    if status in (401, 403):
        # Most often an access token the front end no longer takes: refresh, then try again. A
        # refused refresh is ``invalid_grant`` (reconnect); a repeat after a good refresh stays
        # transient rather than asking a person to reconnect for nothing.
        return AccessTokenExpired(
            message + " (no error body; refreshing the token first)", code=str(status)
        )
    return InvalidRequest(message, code=str(status))


def error_for_response(response: requests.Response, operation: str) -> PlatformError:
    try:
        payload = json.loads(response.content) if response.content else None
    except (ValueError, requests.RequestException):
        payload = None
    error = classify(
        payload,
        status=response.status_code,
        operation=operation,
        retry_after=_retry_after(response),
    )
    log.info(
        "google ads %s failed status=%s code=%s class=%s",
        operation,
        response.status_code,
        error.code,
        type(error).__name__,
    )
    return error


def classify_oauth_error(error: str, operation: str) -> PlatformError:
    """An OAuth error raised by the session (an Authlib session refreshes inside ``request``)."""
    message = f"Google sign-in failed during {operation}: {error}"
    if error in _OAUTH_RECONNECT:
        return ReconnectRequired(message, code=error)
    if error in _OAUTH_TRANSIENT:
        return TransientError(message, code=error)
    return TransientError(
        message + " (check GOOGLE_ADS_CLIENT_ID / GOOGLE_ADS_CLIENT_SECRET)", code=error
    )


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None
