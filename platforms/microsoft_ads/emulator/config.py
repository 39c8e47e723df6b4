"""Emulator settings, read once from the environment.

Defaults are the development values the SourceLoop host uses, so `python -m
platforms.microsoft_ads.emulator` works with no setup; every value can be overridden
by an environment variable or by the mapping handed to ``create_app``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback",
    "http://localhost:5000/setup/platforms/microsoft_ads/callback",
)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything a test or the demo may want to tune; nothing else is configurable."""

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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EmulatorConfig:
        """Read ``EMULATOR_*`` variables; unknown or empty ones keep the defaults."""
        env = os.environ if env is None else env
        base = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"EMULATOR_{f.name.upper()}")
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
