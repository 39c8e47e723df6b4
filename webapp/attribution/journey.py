"""A conversion and the touchpoints that may take credit for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

DIRECT = "direct"
DEFAULT_LOOKBACK = timedelta(days=90)
DEFAULT_HALF_LIFE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Touch:
    """One arrival of the visitor. ``id`` is the touchpoint id (None in hand-made journeys)."""

    at: datetime
    channel: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    lookback: timedelta = DEFAULT_LOOKBACK
    half_life: timedelta = DEFAULT_HALF_LIFE

    def __post_init__(self) -> None:
        if self.lookback <= timedelta(0) or self.half_life <= timedelta(0):
            raise ValueError("lookback and half-life must be positive")


@dataclass(frozen=True, slots=True)
class Journey:
    converted_at: datetime
    value: Decimal | None
    currency: str | None
    touches: tuple[Touch, ...]


def in_window(
    touches: tuple[Touch, ...] | list[Touch], converted_at: datetime, lookback: timedelta
) -> list[Touch]:
    """Touches that may take credit: inside the lookback and not after the conversion, oldest
    first; touches at the same instant keep a stable order (by id, then as given)."""
    start = converted_at - lookback
    kept = [t for t in touches if start <= t.at <= converted_at]
    kept.sort(key=lambda t: (t.at, t.id if t.id is not None else -1))
    return kept
