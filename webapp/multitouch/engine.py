"""Attribute one conversion under every model: exact money and conversion shares per touch.

``split`` works in integers (the job and the benchmark use it, and storage keeps integers);
``attribute`` gives the same result as Decimals for people and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from webapp.multitouch.allocate import allocate
from webapp.multitouch.journey import Journey, Settings, Touch, in_window
from webapp.multitouch.models import MODELS, Model
from webapp.multitouch.money import from_units, places_for, to_units

# A conversion is split in millionths, so its shares add up to exactly one conversion.
CONVERSION_PLACES = 6
CONVERSION_UNITS = 10**CONVERSION_PLACES

# (model key, index of the touch in the window or -1 for "no touch", value units, millionths)
Part = tuple[str, int, int, int]


def split(
    touches: list[Touch], units: int, settings: Settings, models: tuple[Model, ...] = MODELS
) -> list[Part]:
    """Integer credits of every model for touches already in the window (oldest first). Zero
    shares are left out; with no touch the whole conversion goes to index -1 ("unattributed")."""
    if not touches:
        return [(m.key, -1, units, CONVERSION_UNITS) for m in models]
    parts: list[Part] = []
    for model in models:
        weights = model.weights(touches, settings)
        money = allocate(units, weights)
        shares = allocate(CONVERSION_UNITS, weights)
        for i, weight in enumerate(weights):
            if weight:
                parts.append((model.key, i, money[i], shares[i]))
    return parts


@dataclass(frozen=True, slots=True)
class Credit:
    """One touch's share of one conversion under one model (``touch`` None: unattributed)."""

    model: str
    touch: Touch | None
    value: Decimal
    conversions: Decimal


def attribute(
    journey: Journey, settings: Settings, models: tuple[Model, ...] = MODELS
) -> list[Credit]:
    touches = in_window(journey.touches, journey.converted_at, settings.lookback)
    value = journey.value if journey.value is not None else Decimal(0)
    places = places_for(value, journey.currency)
    return [
        Credit(
            key,
            touches[i] if i >= 0 else None,
            from_units(money, places),
            from_units(share, CONVERSION_PLACES),
        )
        for key, i, money, share in split(touches, to_units(value, places), settings, models)
    ]
