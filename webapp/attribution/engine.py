"""Attribute one conversion under every model: exact money and conversion shares per touch.

``split`` works in integers (the job and the benchmark use it, and storage keeps integers);
``attribute`` gives the same result as Decimals for people and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from webapp.attribution.allocate import allocate
from webapp.attribution.journey import Journey, Settings, Touch, in_window
from webapp.attribution.money import from_units, places_for, to_units
from webapp.attribution.weights import (
    MODELS,
    Model,
    first_touch,
    last_non_direct,
    last_touch,
    linear,
)

# A conversion is split in millionths, so its shares add up to exactly one conversion.
CONVERSION_PLACES = 6
CONVERSION_UNITS = 10**CONVERSION_PLACES

# (model key, index of the touch in the window or -1 for "no touch", value units, millionths)
Part = tuple[str, int, int, int]


def split(
    touches: list[Touch], units: int, settings: Settings, models: tuple[Model, ...] = MODELS
) -> list[Part]:
    """Integer credits of every model for touches already in the window (oldest first). Zero
    weights are left out; with no touch the whole conversion goes to index -1 ("unattributed").

    Models that credit one touch, and the even split of linear, skip the general allocator
    (same result, see ``split_reference``): this loop runs once per conversion in the job."""
    if not touches:
        return [(m.key, -1, units, CONVERSION_UNITS) for m in models]
    parts: list[Part] = []
    n = len(touches)
    for model in models:
        fn = model.weights
        if fn is first_touch or fn is last_touch or fn is last_non_direct:
            parts.append((model.key, fn(touches, settings).index(1), units, CONVERSION_UNITS))
        elif fn is linear and units >= 0:
            q, r = divmod(units, n)
            sq, sr = divmod(CONVERSION_UNITS, n)
            for i in range(n):  # leftover units go to the latest touches, as allocate() does
                late = i >= n - r
                parts.append((model.key, i, q + 1 if late else q, sq + 1 if i >= n - sr else sq))
        else:
            parts.extend(_allocated(model.key, fn(touches, settings), units))
    return parts


def _allocated(key: str, weights: list[int], units: int) -> list[Part]:
    money = allocate(units, weights)
    shares = allocate(CONVERSION_UNITS, weights)
    return [(key, i, money[i], shares[i]) for i, weight in enumerate(weights) if weight]


def split_reference(
    touches: list[Touch], units: int, settings: Settings, models: tuple[Model, ...] = MODELS
) -> list[Part]:
    """``split`` without shortcuts: every model through the general allocator (for tests)."""
    if not touches:
        return [(m.key, -1, units, CONVERSION_UNITS) for m in models]
    return [p for m in models for p in _allocated(m.key, m.weights(touches, settings), units)]


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
