"""Emulator settings, read once from ``GOOGLE_EMULATOR_*`` environment variables.

The prefix differs from the Microsoft emulator's ``EMULATOR_*`` so both can run from one
environment (the demo and the test suite start both). Defaults are the development values, so
``python -m platforms.google_ads.emulator`` works with no setup; ``create_app(config)`` takes a
mapping of field names that overrides the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from platforms.emulator_kit.config import EnvConfig

DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:5000/setup/platforms/google_ads/callback",
    "http://localhost:5000/setup/platforms/google_ads/callback",
)


@dataclass(frozen=True)
class EmulatorConfig(EnvConfig):
    """Everything a test or the demo may tune; nothing else is configurable."""

    ENV_PREFIX = "GOOGLE_EMULATOR_"

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
