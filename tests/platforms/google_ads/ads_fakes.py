"""A ``requests.Session`` that answers Google Ads API calls from a script, for client tests.

Bodies are sent back in small chunks (``chunk``) so that stream parsing is exercised across
arbitrary cut points, and a scripted answer may break off mid-body like a dropped connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
import urllib3


class ChunkedRaw:
    """Stands in for ``response.raw``: hands out ``body`` ``chunk`` bytes at a time, then
    optionally raises ``fail_with`` instead of ending."""

    def __init__(self, body: bytes, chunk: int, fail_with: BaseException | None = None) -> None:
        self.body = body
        self.chunk = chunk
        self.pos = 0
        self.fail_with = fail_with
        self.reads = 0

    def stream(self, amt: int, decode_content: bool = True):
        while self.pos < len(self.body):
            self.reads += 1
            piece = self.body[self.pos : self.pos + self.chunk]
            self.pos += len(piece)
            yield piece
        if self.fail_with is not None:
            raise self.fail_with

    def read(self, amt: int | None = None, **_: Any) -> bytes:
        if self.pos >= len(self.body):
            if self.fail_with is not None:
                raise self.fail_with
            return b""
        piece = self.body[self.pos : self.pos + min(self.chunk, amt or self.chunk)]
        self.pos += len(piece)
        return piece

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]] | BaseException


class AdsFakeSession(requests.Session):
    """Answers each request with the next scripted answer (or ``route(request)``)."""

    def __init__(
        self,
        answers: list[Answer] | None = None,
        *,
        route: Callable[[requests.PreparedRequest], Answer] | None = None,
        chunk: int = 7,
        fail_with: BaseException | None = None,
    ) -> None:
        super().__init__()
        self.answers = list(answers or [])
        self.route = route
        self.chunk = chunk
        self.fail_with = fail_with
        self.sent: list[requests.PreparedRequest] = []
        self.kwargs: list[dict[str, Any]] = []
        self.raws: list[ChunkedRaw] = []
        self.headers["Authorization"] = "Bearer ya29.secret-access-token"

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        self.kwargs.append(kwargs)
        answer = self.route(request) if self.route else self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body, *rest = answer
        headers = rest[0] if rest else {}
        if isinstance(body, bytes):
            content = body
        elif body is None:
            content = b""
        else:
            content = json.dumps(body).encode()
        response = requests.Response()
        response.status_code = status
        response.headers.update({"Content-Type": "application/json", **headers})
        raw = ChunkedRaw(content, self.chunk, self.fail_with if status < 300 else None)
        self.raws.append(raw)
        response.raw = raw
        response.request = request
        response.url = request.url or ""
        if not kwargs.get("stream"):
            response._content = content
        return response


def protocol_error() -> BaseException:
    """What urllib3 raises when the connection drops mid-body (requests wraps it)."""
    return urllib3.exceptions.ProtocolError("Connection broken: reset by peer")


def google_error(
    http: int,
    status: str,
    category: str | None = None,
    value: str | None = None,
    *,
    message: str = "There was a problem.",
    details: dict[str, Any] | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Google's REST error envelope: ``google.rpc.Status`` with a ``GoogleAdsFailure`` detail."""
    body: dict[str, Any] = {"code": http, "message": message, "status": status, "details": []}
    if category:
        ads_error: dict[str, Any] = {"errorCode": {category: value}, "message": message}
        if details:
            ads_error["details"] = details
        body["details"].append(
            {
                "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                "errors": [ads_error],
                "requestId": "req-abc123",
            }
        )
    body["details"].extend(extra or [])
    return {"error": body}
