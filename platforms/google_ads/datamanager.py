"""A lean client for Google's Data Manager API v1 (``events:ingest``, ``requestStatus:retrieve``)
over the host's authenticated ``requests.Session``.

The session adds ``Authorization: Bearer`` and refreshes the token; this client sends JSON, puts a
timeout on every call and reads Google's error envelope (``google.rpc.Status`` with
``ErrorInfo``, ``BadRequest``, ``RetryInfo`` and ``RequestInfo`` details). A rejected request
comes back as ``Rejection`` (the caller decides: bisect, refuse rows, or raise); everything that
is not about the request's content becomes one of the interface's typed errors.

No developer token and no ``login-customer-id`` header here: the Data Manager API takes the
login account in the body (``Destination.loginAccount``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)
DEFAULT_RATE_WAIT = 60.0  # seconds, when a 429 carries no RetryInfo

_OAUTH_RECONNECT = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "invalid_token", "missing_token"}
)
_SECRETISH = re.compile(r"(?i)(bearer\s+\S+|ya29\.[\w.-]+|1//[\w.-]+|[A-Za-z0-9+/_.-]{80,})")
# ``events[12]`` (Google's examples also write ``events.events[12]...``).
_EVENT_INDEX = re.compile(r"(?:^|\.)events\[(\d+)\]")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def scrub(text: str) -> str:
    """Cut anything token-like out of Google's text before it reaches a log or a page."""
    return _SECRETISH.sub("[redacted]", text)


@dataclass(frozen=True)
class Violation:
    """One ``BadRequest.fieldViolations`` entry; ``event`` is the event index it names, if any."""

    field: str
    reason: str
    description: str
    event: int | None = None


@dataclass(frozen=True)
class GoogleError:
    """Google's error envelope, read defensively (every part may be missing)."""

    http_status: int
    status: str  # google.rpc.Code name, e.g. INVALID_ARGUMENT
    message: str
    reason: str | None = None  # ErrorInfo.reason, e.g. INVALID_ARGUMENT / SERVICE_DISABLED
    domain: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    retry_delay: float | None = None
    request_id: str | None = None

    @property
    def code(self) -> str:
        """The most specific code: a field violation's reason, else ErrorInfo's, else status."""
        for violation in self.violations:
            if violation.reason:
                return violation.reason
        return self.reason or self.status or str(self.http_status)

    def describe(self, operation: str) -> str:
        parts = [self.message] if self.message else []
        for violation in self.violations[:3]:
            text = " ".join(p for p in (violation.field, violation.description) if p)
            if text:
                parts.append(text)
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        body = "; ".join(parts) or f"HTTP {self.http_status}"
        return f"Google Data Manager {operation} failed: [{self.code}] {body}{suffix}"


def _duration(value: Any) -> float | None:
    """``"30s"`` / ``"1.5s"`` (protobuf Duration in JSON) → seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value or ""))
    return float(match.group(1)) if match else None


def parse_error(status_code: int, payload: Any) -> GoogleError:
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if isinstance(payload, list) and payload and isinstance(payload[0], Mapping):
        error = payload[0].get("error")  # some Google front ends wrap errors in an array
    if not isinstance(error, Mapping):
        return GoogleError(status_code, "", f"HTTP {status_code}")
    reason = domain = retry = request_id = None
    metadata: dict[str, str] = {}
    violations: list[Violation] = []
    for detail in error.get("details") or []:
        if not isinstance(detail, Mapping):
            continue
        kind = str(detail.get("@type") or "")
        if kind.endswith("google.rpc.ErrorInfo"):
            reason = str(detail.get("reason") or "") or reason
            domain = str(detail.get("domain") or "") or domain
            raw_meta = detail.get("metadata")
            if isinstance(raw_meta, Mapping):
                metadata.update({str(k): str(v) for k, v in raw_meta.items()})
        elif kind.endswith("google.rpc.BadRequest"):
            for item in detail.get("fieldViolations") or []:
                if not isinstance(item, Mapping):
                    continue
                path = str(item.get("field") or "")
                index = _EVENT_INDEX.search(path)
                violations.append(
                    Violation(
                        field=path,
                        reason=str(item.get("reason") or ""),
                        description=scrub(str(item.get("description") or "")),
                        event=int(index.group(1)) if index else None,
                    )
                )
        elif kind.endswith("google.rpc.RetryInfo"):
            retry = _duration(detail.get("retryDelay"))
        elif kind.endswith("google.rpc.RequestInfo"):
            request_id = str(detail.get("requestId") or "") or None
    request_id = request_id or metadata.get("requestId")
    return GoogleError(
        http_status=status_code,
        status=str(error.get("status") or ""),
        message=scrub(str(error.get("message") or "")),
        reason=reason,
        domain=domain,
        metadata=metadata,
        violations=tuple(violations),
        retry_delay=retry,
        request_id=request_id,
    )


# Request-level reasons that a retry of the same rows cannot fix but that are not about a row:
# every row of the request carries them (the destination, the account, the project).
DESTINATION_REASONS = frozenset(
    {
        "INVALID_DESTINATION",
        "INVALID_CONVERSION_ACTION_ID",
        "INVALID_CONVERSION_ACTION_TYPE",
        "DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED",
        "OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH",
        "CONVERSION_ACTION_TOO_RECENTLY_CREATED",
        "NOT_ALLOWLISTED",
        "INVALID_OPERATING_ACCOUNT",
        "INVALID_LOGIN_ACCOUNT",
        "PERMISSION_DENIED",
    }
)


def classify(
    error: GoogleError, operation: str, *, retry_after: float | None = None
) -> PlatformError | None:
    """The typed error for a failure that is not about the request's rows; None when the
    request's content was rejected (400 INVALID_ARGUMENT / FAILED_PRECONDITION)."""
    message = error.describe(operation)
    code = error.code
    if error.http_status == 429 or error.status == "RESOURCE_EXHAUSTED":
        wait = max(error.retry_delay or 0.0, retry_after or 0.0) or DEFAULT_RATE_WAIT
        quota = error.metadata.get("quota_limit")
        if quota:
            message += f" (quota {quota})"
        return RateLimited(message, retry_after=wait, code=error.reason or "RESOURCE_EXHAUSTED")
    if error.http_status == 401 or error.status == "UNAUTHENTICATED":
        # Usually an access token Google no longer takes: refresh first; a refused refresh is
        # the session's invalid_grant, which is a reconnect.
        return AccessTokenExpired(message, code=code)
    if error.http_status == 403 or error.status == "PERMISSION_DENIED":
        if error.reason == "SERVICE_DISABLED":
            # The operator's Cloud project has the Data Manager API switched off: not the rows,
            # not the person; rows stay pending until it is enabled.
            return TransientError(
                message + " (enable the Data Manager API in the Google Cloud project of "
                "GOOGLE_ADS_CLIENT_ID)",
                code="SERVICE_DISABLED",
            )
        return ReconnectRequired(message, code=code)
    if error.http_status >= 500 or error.status in ("UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"):
        return TransientError(message, code=code)
    if error.http_status in (408, 425):
        return TransientError(message, code=code)
    if error.http_status == 400 or error.status in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
        return None
    return InvalidRequest(message, code=code)


@dataclass(frozen=True)
class Rejection:
    """Google refused a request's content (nothing of it was ingested)."""

    error: GoogleError

    @property
    def event_indexes(self) -> frozenset[int]:
        return frozenset(v.event for v in self.error.violations if v.event is not None)

    @property
    def destination_level(self) -> bool:
        """The refusal is about the destination, not about any event."""
        if self.event_indexes:
            return False
        reasons = {v.reason for v in self.error.violations} | {self.error.reason or ""}
        named_destination = any("destination" in v.field for v in self.error.violations)
        return named_destination or bool(reasons & DESTINATION_REASONS)


@dataclass(frozen=True)
class Ingested:
    request_id: str | None
    warnings: tuple[Mapping[str, Any], ...] = ()


class DataManagerClient:
    """One client per (session, base URL); holds no state between calls."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def ingest_events(self, body: Mapping[str, Any]) -> Ingested | Rejection:
        """POST ``events:ingest``. A content rejection is returned, every other failure raised."""
        operation = "events:ingest"
        response = self._call("POST", f"{self.base_url}/events:ingest", operation, body)
        payload = _json(response)
        if 200 <= response.status_code < 300 and isinstance(payload, Mapping):
            warnings = tuple(
                w for w in payload.get("fieldWarnings") or [] if isinstance(w, Mapping)
            )
            request_id = str(payload.get("requestId") or "") or None
            log.debug("datamanager ingest ok request_id=%s", request_id)
            return Ingested(request_id, warnings)
        return self._failure(response, payload, operation, rejectable=True)

    def retrieve_request_status(self, request_id: str) -> list[dict[str, Any]]:
        """GET ``requestStatus:retrieve``: one entry per destination of the original request."""
        operation = "requestStatus:retrieve"
        response = self._call(
            "GET",
            f"{self.base_url}/requestStatus:retrieve",
            operation,
            None,
            params={"requestId": request_id},
        )
        payload = _json(response)
        if 200 <= response.status_code < 300 and isinstance(payload, Mapping):
            return [
                dict(item)
                for item in payload.get("requestStatusPerDestination") or []
                if isinstance(item, Mapping)
            ]
        failure = self._failure(response, payload, operation, rejectable=False)
        raise InvalidRequest(failure.error.describe(operation), code=failure.error.code)

    # --- plumbing -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        operation: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str] | None = None,
    ) -> requests.Response:
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            return self.session.request(
                method, url, data=data, params=params, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise TransientError(
                f"Google Data Manager {operation} failed: {type(exc).__name__}"
            ) from None
        except Exception as exc:
            # An Authlib session refreshing inside the call raises OAuthError (``.error``).
            oauth_error = getattr(exc, "error", None)
            if isinstance(oauth_error, str) and oauth_error:
                text = f"Google sign-in failed during {operation}: {oauth_error}"
                if oauth_error in _OAUTH_RECONNECT:
                    raise ReconnectRequired(text, code=oauth_error) from None
                raise TransientError(text, code=oauth_error) from None
            raise

    def _failure(
        self, response: requests.Response, payload: Any, operation: str, *, rejectable: bool
    ) -> Rejection:
        if 200 <= response.status_code < 300:
            raise TransientError(
                f"Google Data Manager {operation} returned a body that is not JSON"
            )
        error = parse_error(response.status_code, payload)
        typed = classify(error, operation, retry_after=_retry_after(response))
        log.info(
            "datamanager %s failed status=%s code=%s class=%s request_id=%s",
            operation,
            response.status_code,
            error.code,
            type(typed).__name__ if typed else "Rejection",
            error.request_id,
        )
        if typed is not None:
            raise typed
        if not rejectable:
            raise InvalidRequest(error.describe(operation), code=error.code)
        return Rejection(error)


def _json(response: requests.Response) -> Any:
    try:
        return response.json() if response.content else {}
    except ValueError:
        return None


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def first_violation(rejection: Rejection, index: int | None = None) -> Violation | None:
    """The violation naming event ``index`` (or the first one when ``index`` is None)."""
    candidates: Sequence[Violation] = rejection.error.violations
    for violation in candidates:
        if index is None or violation.event == index:
            return violation
    return None
