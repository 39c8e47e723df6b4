"""Consent to ad storage, as SourceLoop records it: a state (granted, denied, unknown) and where
it came from (the pixel's ``sourceloop('consent')`` call, the IAB TCF API, the conversion API's
``consent`` field, or the workspace default when nothing said). Pure values and parsing; the
pixel intake, the conversion API and the push eligibility pipeline share them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platforms.base import CONSENT_STATES, ConsentState

GRANTED, DENIED, UNKNOWN = "granted", "denied", "unknown"
SOURCES = ("pixel", "tcf", "api", "default")


@dataclass(frozen=True)
class Consent:
    state: ConsentState = UNKNOWN
    source: str = "default"

    @property
    def explicit(self) -> bool:
        return self.state != UNKNOWN


DEFAULT = Consent()


def parse_api(raw: Any) -> tuple[Consent | None, str | None]:
    """The conversion API's ``consent`` object, ``{"ad_storage": "granted" | "denied"}``;
    → (consent, problem). Absent: ``(None, None)`` (the visitor's consent applies)."""
    if raw is None:
        return None, None
    if not isinstance(raw, dict) or set(raw) - {"ad_storage"}:
        return None, 'must be an object like {"ad_storage": "granted"}'
    state = raw.get("ad_storage")
    if state not in CONSENT_STATES:
        return None, "ad_storage must be granted, denied or unknown"
    return Consent(state, "api"), None


def parse_pixel(raw: Any) -> Consent | None:
    """The pixel's ``cs`` field, ``{"a": state, "s": "pixel" | "tcf" | "default"}``; None when
    malformed (the caller refuses the hit)."""
    if raw is None:
        return DEFAULT
    if not isinstance(raw, dict) or set(raw) - {"a", "s"}:
        return None
    state, source = raw.get("a", UNKNOWN), raw.get("s", "default")
    if state not in CONSENT_STATES or source not in ("pixel", "tcf", "default"):
        return None
    return Consent(state, source)


def effective(conversion_state: str | None, visitor_state: str | None) -> ConsentState:
    """A conversion's own consent when it has an explicit one, else its visitor's."""
    for state in (conversion_state, visitor_state):
        if state in (GRANTED, DENIED):
            return state  # type: ignore[return-value]
    return UNKNOWN
