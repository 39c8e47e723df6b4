"""Emulator settings, read once from ``GOOGLE_EMULATOR_*`` environment variables.

The prefix differs from the Microsoft emulator's ``EMULATOR_*`` so both can run from one
environment (the demo and the test suite start both). Defaults are the development values, so
``python -m platforms.google_ads.emulator`` works with no setup; ``create_app(config)`` takes a
mapping of field names that overrides the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

PREFIX = "GOOGLE_EMULATOR_"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:5000/setup/platforms/google_ads/callback",
    "http://localhost:5000/setup/platforms/google_ads/callback",
)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything a test or the demo may tune; nothing else is configurable."""

    client_id: str = "sourceloop-dev.apps.googleusercontent.com"
    client_secret: str = "GOCSPX-sourceloop-dev-secret"  # noqa: S105 - public dev default
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    access_token_ttl: int = 3599  # Google answers expires_in 3599
    auth_code_ttl: int = 600
    # Unused refresh tokens die after six months (Google: "has not been used for six months").
    refresh_token_idle_days: int = 183
    # 0 = no fixed lifetime (a published app). 7 = an app whose consent screen is "Testing".
    refresh_token_ttl_days: int = 0
    max_refresh_tokens: int = 100  # per Google account and OAuth client; the oldest dies
    # Data Manager processes a request asynchronously; its status is PROCESSING until then.
    # Google says to wait 30 minutes before the first poll; the default here is shorter.
    processing_delay_seconds: int = 300
    # Clicks younger than this fail with PROCESSING_ERROR_REASON_TOO_RECENT_CLICK ("less than
    # 6 hours ago" in the Ads API's TOO_RECENT_EVENT). 0 = no wait.
    click_min_age_minutes: int = 360
    # Conversion actions younger than this refuse events (CONVERSION_ACTION_TOO_RECENTLY_CREATED;
    # the Ads API says six hours).
    conversion_action_min_age_minutes: int = 360
    ingest_requests_per_minute: int = 300  # Data Manager IngestionService quota per project
    # Non-interactive consent: "" = show the pages; an e-mail or user id = approve at once as
    # that user; "deny" = answer access_denied at once.
    auto_consent: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EmulatorConfig:
        """Read ``GOOGLE_EMULATOR_*`` variables; unknown or empty ones keep the defaults."""
        env = os.environ if env is None else env
        base = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"{PREFIX}{f.name.upper()}")
            if raw in (None, ""):
                continue
            current = getattr(base, f.name)
            if isinstance(current, bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                values[f.name] = int(raw)
            elif isinstance(current, tuple):
                values[f.name] = tuple(u.strip() for u in raw.split(",") if u.strip())
            else:
                values[f.name] = raw
        return replace(base, **values)

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> EmulatorConfig:
        """Apply overrides by field name (case-insensitive), as tests pass them."""
        if not overrides:
            return self
        names = {f.name for f in fields(self)}
        values: dict[str, Any] = {}
        for key, value in overrides.items():
            name = key.lower()
            if name in names:
                values[name] = tuple(value) if name == "redirect_uris" else value
        return replace(self, **values)
