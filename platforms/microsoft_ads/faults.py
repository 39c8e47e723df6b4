"""Turn Microsoft's fault bodies into the interface's typed errors, by numeric ``Code``.

Microsoft does not document which HTTP status goes with which fault, so the numeric code in the
body decides; the status is only a fallback when the body is not a fault. Messages keep the
``TrackingId`` (support asks for it) and never contain tokens: they are built from Microsoft's
``Message`` text and our own words only, never from request headers or bodies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from platforms.errors import (
    AccessTokenExpired,
    InvalidRequest,
    PlatformError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)


class CredentialsRejected(ReconnectRequired):
    """Codes 105/120/122-126/3101: Microsoft rejected the credentials as a whole.

    Usually a revoked grant or a token without ``msads.manage``; a reconnect fixes it. When every
    connection reports it at once, suspect the developer token or a wrong ``MSADS_ENVIRONMENT``.
    """


class AccountAccessLost(ReconnectRequired):
    """Codes 106/108/1102/1490/2003: the connected user can no longer use this ad account.

    Retrying cannot help and the rows are not at fault, so the connection needs a person: someone
    with access must reconnect (or pick another account).
    """


# Retry-after defaults, in seconds, from Microsoft's throttling guidance (fact sheet §5).
CALL_RATE_WAIT = 60.0
CONCURRENT_REPORTS_WAIT = 30.0
BULK_THROTTLE_WAIT = 900.0

TRANSIENT_CODES = frozenset({0, 202, 833, 5612})
RATE_LIMIT_CODES = {117: CALL_RATE_WAIT, 4204: BULK_THROTTLE_WAIT}
# 207 ConcurrentRequestOverLimit is the Reporting service's throttle ("too many reports in
# flight"); the same number is not a throttle elsewhere, so only Reporting's 207 waits.
SERVICE_RATE_LIMIT_CODES = {"reporting": {207: CONCURRENT_REPORTS_WAIT}}
ACCESS_TOKEN_EXPIRED_CODES = frozenset({109})
CREDENTIAL_CODES = frozenset({105, 120, 122, 123, 124, 125, 126, 3101})
ACCOUNT_ACCESS_CODES = frozenset({106, 108, 1102, 1490, 2003})

# OAuth ``error`` values raised by an Authlib session while it refreshes inside our call.
_OAUTH_RECONNECT = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "invalid_token", "missing_token"}
)
_OAUTH_TRANSIENT = frozenset({"temporarily_unavailable", "server_error"})

# Anything that looks like a bearer token or JWT is cut out of Microsoft's text, just in case.
_SECRETISH = re.compile(r"(?i)(bearer\s+\S+|eyJ[\w-]+\.[\w-]+\.[\w-]*|[A-Za-z0-9+/_.-]{60,})")


@dataclass(frozen=True)
class FaultError:
    """One entry of ``Errors`` / ``OperationErrors`` / ``BatchErrors``."""

    code: int | None
    error_code: str | None
    message: str
    index: int | None = None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def scrub(text: str) -> str:
    return _SECRETISH.sub("[redacted]", text)


def parse_errors(items: Any) -> list[FaultError]:
    """Read any of Microsoft's error lists; missing, ``null`` and ``[]`` all mean none."""
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        return []
    errors: list[FaultError] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        errors.append(
            FaultError(
                code=_as_int(item.get("Code")),
                error_code=item.get("ErrorCode") or None,
                message=scrub(str(item.get("Message") or "")).strip(),
                index=_as_int(item.get("Index")),
            )
        )
    return errors


def fault_errors(body: Mapping[str, Any]) -> list[FaultError]:
    """All errors of a fault body, whatever its ``Type`` (AdApiFaultDetail, ApiFault...)."""
    errors: list[FaultError] = []
    for key in ("Errors", "OperationErrors", "BatchErrors", "EditorialErrors"):
        errors.extend(parse_errors(body.get(key)))
    if not errors and body.get("ErrorMessage"):  # AdCenter*Fault shapes carry one message
        errors.append(FaultError(None, body.get("ErrorCode"), scrub(str(body["ErrorMessage"]))))
    return errors


def is_fault_body(body: Any) -> bool:
    return isinstance(body, Mapping) and any(
        key in body for key in ("Errors", "OperationErrors", "BatchErrors", "ErrorMessage")
    )


def _describe(errors: Sequence[FaultError], tracking_id: str | None, operation: str) -> str:
    parts = []
    for err in errors[:3]:
        label = " ".join(str(p) for p in (err.code, err.error_code) if p is not None)
        parts.append(f"{label}: {err.message}" if label else err.message)
    text = "; ".join(p for p in parts if p) or "no error details"
    suffix = f" (TrackingId {tracking_id})" if tracking_id else ""
    return f"Microsoft Advertising {operation} failed: {text}{suffix}"


def classify_fault(
    body: Mapping[str, Any],
    *,
    status: int,
    tracking_id: str | None,
    operation: str,
    retry_after: float | None = None,
    service: str | None = None,
) -> PlatformError:
    """The error to raise for a fault body. The first error with a known class wins.

    ``service`` is ``customer``, ``campaign`` or ``reporting``: a few numbers mean something
    only in one service (207 throttles only Reporting)."""
    errors = fault_errors(body)
    tracking_id = tracking_id or (str(body.get("TrackingId")) if body.get("TrackingId") else None)
    message = _describe(errors, tracking_id, operation)
    codes = [e.code for e in errors if e.code is not None]
    first = str(codes[0]) if codes else None
    rate_limits = {**RATE_LIMIT_CODES, **SERVICE_RATE_LIMIT_CODES.get(service or "", {})}
    for code in codes:
        if code in rate_limits:
            wait = max(retry_after or 0.0, rate_limits[code])
            return RateLimited(message, retry_after=wait, code=str(code))
        if code in ACCESS_TOKEN_EXPIRED_CODES:
            return AccessTokenExpired(message, code=str(code))
        if code in CREDENTIAL_CODES:
            return CredentialsRejected(message, code=str(code))
        if code in ACCOUNT_ACCESS_CODES:
            return AccountAccessLost(message, code=str(code))
    if status == 429:
        return RateLimited(message, retry_after=retry_after or CALL_RATE_WAIT, code=first)
    if codes and all(code in TRANSIENT_CODES for code in codes):
        return TransientError(message, code=first)
    if not codes and status >= 500:
        return TransientError(message, code=None)
    if not codes and status in (401, 403):
        return _refresh_first(message, None)
    return InvalidRequest(message, code=first)


def _refresh_first(message: str, code: str | None) -> PlatformError:
    """A 401/403 that names no fault: most often an access token the gateway no longer takes.

    Refresh the token and try once more (the host does that for ``AccessTokenExpired``). If the
    refresh itself is refused, the session raises ``invalid_grant`` and that is a reconnect; if
    it succeeds and the bare status repeats, the grant is fine and asking the user to reconnect
    would not help, so it stays a transient failure."""
    return AccessTokenExpired(message + " (no fault body; refreshing the token first)", code=code)


def classify_http(status: int, tracking_id: str | None, operation: str) -> PlatformError:
    """A non-2xx answer without a readable fault body (a proxy page, an empty 502...)."""
    suffix = f" (TrackingId {tracking_id})" if tracking_id else ""
    message = f"Microsoft Advertising {operation} answered HTTP {status}{suffix}"
    if status == 429:
        return RateLimited(message, retry_after=CALL_RATE_WAIT, code="429")
    if status >= 500 or status in (408, 425):
        return TransientError(message, code=str(status))
    if status in (401, 403):
        return _refresh_first(message, str(status))
    return InvalidRequest(message, code=str(status))


def classify_oauth_error(error: str, operation: str) -> PlatformError:
    """An OAuth error raised by the session (Authlib refreshes inside ``request``)."""
    message = f"Microsoft sign-in failed during {operation}: {error}"
    if error in _OAUTH_RECONNECT:
        return ReconnectRequired(message, code=error)
    if error in _OAUTH_TRANSIENT:
        return TransientError(message, code=error)
    # invalid_client, unauthorized_client...: the operator must fix the app registration or
    # secret. Nothing about the rows is wrong, so keep them pending and retry later.
    return TransientError(message + " (check MSADS_CLIENT_ID / MSADS_CLIENT_SECRET)", code=error)
