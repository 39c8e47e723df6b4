"""Emulator settings read from environment variables with a per-emulator prefix.

Each emulator keeps its own frozen dataclass of settings (its fields are its platform's); this
mixin only reads them. The prefixes differ so that both emulators run from one environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, ClassVar, Self

TRUE_WORDS = ("1", "true", "yes", "on")


class EnvConfig:
    """Mixin for a frozen dataclass of settings whose defaults are the development values."""

    ENV_PREFIX: ClassVar[str]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Read ``<ENV_PREFIX><FIELD>`` variables; unknown or empty ones keep the defaults.
        A field's default says how its text is read: bool, int, comma-separated tuple, str."""
        env = os.environ if env is None else env
        base = cls()
        values: dict[str, Any] = {}
        for f in fields(base):  # type: ignore[arg-type]
            raw = env.get(f"{cls.ENV_PREFIX}{f.name.upper()}")
            if raw in (None, ""):
                continue
            current = getattr(base, f.name)
            if isinstance(current, bool):
                values[f.name] = raw.strip().lower() in TRUE_WORDS
            elif isinstance(current, int):
                values[f.name] = int(raw)
            elif isinstance(current, tuple):
                values[f.name] = tuple(u.strip() for u in raw.split(",") if u.strip())
            else:
                values[f.name] = raw
        return replace(base, **values)  # type: ignore[type-var]

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Self:
        """Apply overrides by field name (case-insensitive), as tests pass them."""
        if not overrides:
            return self
        current = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        values: dict[str, Any] = {}
        for key, value in overrides.items():
            name = key.lower()
            if name in current:
                values[name] = tuple(value) if isinstance(current[name], tuple) else value
        return replace(self, **values)  # type: ignore[type-var]
