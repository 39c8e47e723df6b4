"""Emulator settings, read once from the environment.

Defaults are the development values the SourceLoop host uses, so `python -m
platforms.microsoft_ads.emulator` works with no setup; every value can be overridden
by an environment variable or by the mapping handed to ``create_app``.
"""

from __future__ import annotations

from dataclasses import dataclass

from platforms.emulator_kit.config import EnvConfig

DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback",
    "http://localhost:5000/setup/platforms/microsoft_ads/callback",
)


@dataclass(frozen=True)
class EmulatorConfig(EnvConfig):
    """Everything a test or the demo may want to tune; nothing else is configurable."""

    ENV_PREFIX = "EMULATOR_"

    client_id: str = "sourceloop-dev-client"
    client_secret: str = "sourceloop-dev-secret"  # noqa: S105 - public dev default
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    developer_token: str = "BBD37VB98"  # noqa: S105 - Microsoft's public sandbox token
    access_token_ttl: int = 3600
    auth_code_ttl: int = 300
    refresh_token_idle_days: int = 90
    strict_refresh_rotation: bool = True
    report_polls_until_ready: int = 2
    report_url_ttl: int = 300
    max_concurrent_reports: int = 5
    goal_min_age_minutes: int = 120
    # Microsoft matches uploads to clicks hours later ("up to six hours" to show); until then an
    # accepted row counts nowhere in the diagnostics. 0 = at once.
    attribution_delay_minutes: int = 180
    public_base_url: str = ""
