"""HTTP client for the Example Ads REST API, over the session the host injects."""

from __future__ import annotations

from typing import Any

import requests

from platforms.errors import (
    AccessTokenExpired,
    InvalidRequest,
    RateLimited,
    ReconnectRequired,
    TransientError,
)

TIMEOUT = (5, 30)


class ExampleAdsClient:
    def __init__(self, session: requests.Session, api_url: str) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", path, json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.session.request(
                method, f"{self.api_url}{path}", timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise TransientError(f"Example Ads unreachable: {type(exc).__name__}") from None
        if response.status_code < 400:
            return response.json()
        raise _error(response)


def _error(response: requests.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("error", response.status_code))
    message = str(body.get("message", response.reason))[:300]
    if response.status_code == 401:
        if code == "token_expired":
            return AccessTokenExpired(message, code=code)
        return ReconnectRequired(message, code=code)
    if response.status_code == 429:
        return RateLimited(
            message, retry_after=float(response.headers.get("Retry-After", 60)), code=code
        )
    if response.status_code >= 500:
        return TransientError(message, code=code)
    return InvalidRequest(message, code=code)
