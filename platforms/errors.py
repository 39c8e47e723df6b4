"""Typed errors a platform plugin raises instead of returning ``(ok, error)`` tuples.

The job runtime maps each class to one behaviour (retry later, mark the connection for reconnect,
record a permanent failure), so a plugin author only has to pick the right class. Messages must be
safe to show and log: never put a token, secret or full request body in one.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base class. ``code`` is the platform's own error code, kept for troubleshooting."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}" if self.code else self.message


class ReconnectRequired(PlatformError):
    """The grant is revoked or expired for good: a person must run OAuth again."""


class RateLimited(PlatformError):
    """The platform asked us to slow down; ``retry_after`` is seconds to wait at least."""

    def __init__(self, message: str, *, retry_after: float = 60.0, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(0.0, float(retry_after))


class TransientError(PlatformError):
    """A server error, timeout or dropped connection: the same call may succeed later."""


class InvalidRequest(PlatformError):
    """The platform rejected the request itself; repeating it unchanged cannot succeed."""


class NotSupported(PlatformError):
    """The plugin does not offer this capability (for example, no reporting API)."""


class AccessTokenExpired(TransientError):
    """The platform refused the access token as expired before its stated expiry.

    A refresh, not a person, fixes this: the host refreshes the grant and repeats the call. Only
    if the refresh itself fails does the connection need a person (``ReconnectRequired``).
    """
