"""What the in-process tests of every emulator use: a clock the test moves (so expiry tests
never sleep) and a PKCE verifier with its S256 challenge."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta


class Clock:
    """A settable clock handed to the emulator, so expiry tests never sleep."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def pkce_pair(nbytes: int = 48) -> tuple[str, str]:
    """A code verifier (``nbytes`` of randomness, URL-safe) and its S256 challenge."""
    verifier = secrets.token_urlsafe(nbytes)[:128]
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
