"""What every API call goes through before its own logic, in the order Google's front end
applies it: injected faults (infrastructure trouble), then the bearer token, then its scopes.

The Google Ads API wraps its failures in a GoogleAdsFailure; the Data Manager API uses the
plain ``google.rpc`` details (ErrorInfo ...). ``api`` says which one a call belongs to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, g, request

from platforms.emulator_kit.connection import drop_connection

from .entities import User
from .rpc import (
    INSUFFICIENT_SCOPES,
    INVALID_CREDENTIALS,
    MISSING_CREDENTIALS,
    RETRY_INFO,
    ApiError,
    ads_error,
    ads_failure,
    error_info,
    status_error,
)
from .state import ADWORDS_SCOPE, DATAMANAGER_SCOPE, AccessToken, InjectedFault, World

ADS_SERVICE = "googleads.googleapis.com"
DM_SERVICE = "datamanager.googleapis.com"
METHODS = {
    "ListAccessibleCustomers": "google.ads.googleads.v26.services.CustomerService.ListAccessibleCustomers",
    "Search": "google.ads.googleads.v26.services.GoogleAdsService.Search",
    "SearchStream": "google.ads.googleads.v26.services.GoogleAdsService.SearchStream",
    "IngestEvents": "google.ads.datamanager.v1.IngestionService.IngestEvents",
    "RetrieveRequestStatus": "google.ads.datamanager.v1.IngestionService.RetrieveRequestStatus",
}


@dataclass
class CallContext:
    world: World
    user: User
    token: AccessToken
    request_id: str


def get_world() -> World:
    return current_app.extensions["google_emulator"]


def _metadata(operation: str, api: str) -> dict[str, str]:
    return {"service": ADS_SERVICE if api == "ads" else DM_SERVICE, "method": METHODS[operation]}


def apply_fault(fault: InjectedFault, operation: str, api: str) -> None:
    """Act out an armed fault: raise Google's error, sleep, or cut the connection."""
    if fault.kind == "slow":
        time.sleep(fault.delay_seconds)
        return
    if fault.kind == "drop":
        drop_connection()
    if fault.kind == "bare":
        raise ApiError(fault.status or 503, None)
    if fault.kind == "resource_exhausted":
        delay = f"{fault.retry_delay_seconds}s"
        if api == "ads":
            details = {"quotaErrorDetails": {"rateScope": "ACCOUNT", "rateName": "Requests per account",
                                             "retryDelay": delay}}  # fmt: skip
            error = ads_error("quotaError", "RESOURCE_EXHAUSTED",
                              f"Too many requests. Retry in {fault.retry_delay_seconds} seconds.",
                              details=details)  # fmt: skip
            raise ads_failure("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                              [error], g.request_id)  # fmt: skip
        raise status_error("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", [
            error_info("RATE_LIMIT_EXCEEDED", "googleapis.com", {
                **_metadata(operation, api),
                "quota_limit": "IngestionMutateRequestsPerMinutePerProject",
                "quota_limit_value": "300"}),
            {"@type": RETRY_INFO, "retryDelay": delay},
        ])  # fmt: skip
    if fault.kind == "expired_token":
        _unauthenticated(operation, api, "ACCESS_TOKEN_EXPIRED", "OAUTH_TOKEN_EXPIRED")
    if fault.kind == "unavailable":
        raise status_error("UNAVAILABLE", "The service is currently unavailable.")
    if fault.kind == "deadline":
        raise status_error("DEADLINE_EXCEEDED", "Deadline exceeded.")
    raise status_error("INTERNAL", "Internal error encountered.")


def _unauthenticated(operation: str, api: str, reason: str, ads_code: str) -> None:
    if api == "ads":
        error = ads_error("authenticationError", ads_code, {
            "OAUTH_TOKEN_EXPIRED": "OAuth token in the header has expired.",
            "OAUTH_TOKEN_REVOKED": "OAuth token in the header has been revoked.",
        }.get(ads_code, "OAuth token in the header is not valid."))  # fmt: skip
        raise ads_failure("UNAUTHENTICATED", INVALID_CREDENTIALS, [error], g.request_id)
    raise status_error("UNAUTHENTICATED", INVALID_CREDENTIALS,
                       [error_info(reason, "googleapis.com", _metadata(operation, api))])  # fmt: skip


def authenticate(world: World, operation: str, api: str) -> CallContext:
    """Faults, bearer token, scope. ``api`` is ``ads`` or ``dm``."""
    g.operation = operation
    fault = world.take_fault(operation)
    if fault is not None:
        apply_fault(fault, operation, api)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise status_error("UNAUTHENTICATED", MISSING_CREDENTIALS, [
            error_info("CREDENTIALS_MISSING", "googleapis.com", _metadata(operation, api))])  # fmt: skip
    with world.lock:
        token = world.access_tokens.get(header[7:].strip())
        if token is None:
            _unauthenticated(operation, api, "ACCESS_TOKEN_TYPE_UNSUPPORTED", "OAUTH_TOKEN_INVALID")
            raise AssertionError  # pragma: no cover - _unauthenticated always raises
        if token.revoked:
            _unauthenticated(operation, api, "ACCESS_TOKEN_EXPIRED", "OAUTH_TOKEN_REVOKED")
        if token.expires_at <= world.now():
            _unauthenticated(operation, api, "ACCESS_TOKEN_EXPIRED", "OAUTH_TOKEN_EXPIRED")
        needed = ADWORDS_SCOPE if api == "ads" else DATAMANAGER_SCOPE
        if needed not in token.scopes:
            raise status_error("PERMISSION_DENIED", INSUFFICIENT_SCOPES, [
                error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "googleapis.com",
                           _metadata(operation, api))])  # fmt: skip
        return CallContext(world, world.users[token.user_id], token, g.request_id)
