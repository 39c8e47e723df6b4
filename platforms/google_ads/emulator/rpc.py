"""Google's error bodies: the JSON form of ``google.rpc.Status`` that every Google REST API
answers with, ``{"error": {"code", "message", "status", "details": [Any...]}}``, and the
details the emulator puts in it (ErrorInfo, BadRequest, RequestInfo, RetryInfo, QuotaFailure
and the Google Ads API's GoogleAdsFailure).
"""

from __future__ import annotations

import secrets
from typing import Any

API_VERSION = "v26"
ADS_FAILURE = f"type.googleapis.com/google.ads.googleads.{API_VERSION}.errors.GoogleAdsFailure"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
REQUEST_INFO = "type.googleapis.com/google.rpc.RequestInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"

# google.rpc.Code name -> HTTP status (google/rpc/code.proto)
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INSUFFICIENT_SCOPES = "Request had insufficient authentication scopes."


def new_request_id() -> str:
    return secrets.token_urlsafe(16)


class ApiError(Exception):
    """Raised anywhere in a handler; ``body`` None means a bare status with no body (as a
    proxy or load balancer in front of Google answers)."""

    def __init__(self, status: int, body: dict[str, Any] | None) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def status_error(
    status: str, message: str, details: list[dict[str, Any]] | None = None
) -> ApiError:
    http = HTTP_STATUS[status]
    body: dict[str, Any] = {"error": {"code": http, "message": message, "status": status}}
    if details:
        body["error"]["details"] = details
    return ApiError(http, body)


def error_info(reason: str, domain: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"@type": ERROR_INFO, "reason": reason, "domain": domain}
    if metadata:
        info["metadata"] = metadata
    return info


def ads_error(
    category: str,
    code: str,
    message: str,
    trigger: str | None = None,
    location: list[tuple[str, int | None]] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One GoogleAdsError: ``errorCode`` is a oneof keyed by category (``queryError`` ...)."""
    error: dict[str, Any] = {"errorCode": {category: code}, "message": message}
    if trigger is not None:
        error["trigger"] = {"stringValue": trigger}
    if location:
        error["location"] = {
            "fieldPathElements": [
                {"fieldName": name, **({"index": index} if index is not None else {})}
                for name, index in location
            ]
        }
    if details:
        error["details"] = details
    return error


def ads_failure(
    status: str, message: str, errors: list[dict[str, Any]], request_id: str
) -> ApiError:
    """The Google Ads API's error: a Status whose detail is a GoogleAdsFailure."""
    detail = {"@type": ADS_FAILURE, "errors": errors, "requestId": request_id}
    return status_error(status, message, [detail])
