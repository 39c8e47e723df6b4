"""A lean REST client for Microsoft Advertising API v13 over an injected ``requests.Session``.

The host's session (a plain ``requests.Session`` that signs each request and refreshes the token
first when it is about to end) adds ``Authorization: Bearer``; this client adds what Microsoft needs on top (``DeveloperToken`` everywhere, ``CustomerId``
and ``CustomerAccountId`` on Campaign Management and Reporting), puts a timeout on every call and
turns every failure into one of the interface's typed errors. It knows nothing about goals,
accounts or reports: those live in ``mapping`` and ``reporting``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests

from platforms.base import AccountRef
from platforms.errors import PlatformError, TransientError
from platforms.microsoft_ads.faults import (
    classify_fault,
    classify_http,
    classify_oauth_error,
    is_fault_body,
)
from platforms.microsoft_ads.settings import API_REVISION, MicrosoftAdsSettings

log = logging.getLogger(__name__)

# (connect, read) seconds. Microsoft answers most calls in well under a second, but Apply with
# 1,000 rows and GetAdsByAdGroupId on large ad groups can take tens of seconds.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 90.0)
DOWNLOAD_TIMEOUT: tuple[float, float] = (10.0, 300.0)

_CREDENTIAL_HEADERS = ("Authorization", "DeveloperToken", "CustomerId", "CustomerAccountId")


class _WithoutCredentials(requests.auth.AuthBase):
    """Strip every credential from a request.

    Report download URLs are self-authorising Azure SAS links on another host: our bearer token and
    developer token must not travel there. Passing this as ``auth=`` also stops the host's session
    from attaching its token (a request's own ``auth`` replaces the session's).
    """

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in _CREDENTIAL_HEADERS:
            request.headers.pop(name, None)
        return request


class MicrosoftAdsClient:
    """One client per (session, settings); cheap to build, holds no state between calls."""

    def __init__(
        self,
        session: requests.Session,
        settings: MicrosoftAdsSettings,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.session = session
        self.settings = settings
        self.timeout = timeout

    # --- services -----------------------------------------------------------------------------

    def customer(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Customer Management: Microsoft documents only Authorization + DeveloperToken here."""
        return self._post("customer", self.settings.services.customer_management, path, body, None)

    def campaign(self, path: str, body: Mapping[str, Any], account: AccountRef) -> dict[str, Any]:
        return self._post(
            "campaign", self.settings.services.campaign_management, path, body, account
        )

    def reporting(self, path: str, body: Mapping[str, Any], account: AccountRef) -> dict[str, Any]:
        return self._post("reporting", self.settings.services.reporting, path, body, account)

    def download(self, url: str) -> requests.Response:
        """Open a report download (streamed). The caller closes the response."""
        operation = "report download"
        try:
            response = self.session.get(
                url, stream=True, timeout=DOWNLOAD_TIMEOUT, auth=_WithoutCredentials()
            )
        except requests.RequestException as exc:
            raise TransientError(
                f"Microsoft Advertising {operation} failed: {type(exc).__name__}"
            ) from None
        return response

    # --- plumbing -----------------------------------------------------------------------------

    def headers(self, account: AccountRef | None) -> dict[str, str]:
        headers = {
            "DeveloperToken": self.settings.developer_token,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Api-Revision": API_REVISION,
        }
        if account is not None:
            if account.customer_id:
                headers["CustomerId"] = account.customer_id
            headers["CustomerAccountId"] = account.account_id
        return headers

    def _post(
        self,
        service: str,
        base: str,
        path: str,
        body: Mapping[str, Any],
        account: AccountRef | None,
    ) -> dict[str, Any]:
        operation = path.split("/v13/", 1)[-1]
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        try:
            response = self.session.post(
                base + path, data=data, headers=self.headers(account), timeout=self.timeout
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(
                f"Microsoft Advertising {operation} failed: {type(exc).__name__}"
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                f"Microsoft Advertising {operation} failed: {type(exc).__name__}"
            ) from None
        except Exception as exc:
            oauth_error = getattr(exc, "error", None)
            if isinstance(oauth_error, str) and oauth_error:
                raise classify_oauth_error(oauth_error, operation) from None
            raise
        return self._parse(response, operation, service)

    def _parse(
        self, response: requests.Response, operation: str, service: str | None = None
    ) -> dict[str, Any]:
        tracking_id = response.headers.get("TrackingId")
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = None
        if 200 <= response.status_code < 300:
            if not isinstance(payload, dict):
                raise TransientError(
                    f"Microsoft Advertising {operation} returned a body that is not JSON"
                    + (f" (TrackingId {tracking_id})" if tracking_id else "")
                )
            log.debug("msads %s ok tracking_id=%s", operation, tracking_id)
            return payload
        error: PlatformError
        if is_fault_body(payload):
            assert isinstance(payload, dict)
            error = classify_fault(
                payload,
                status=response.status_code,
                tracking_id=tracking_id,
                operation=operation,
                retry_after=_retry_after(response),
                service=service,
            )
        else:
            error = classify_http(response.status_code, tracking_id, operation)
        log.info(
            "msads %s failed status=%s code=%s class=%s tracking_id=%s",
            operation,
            response.status_code,
            error.code,
            type(error).__name__,
            tracking_id,
        )
        raise error


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None
