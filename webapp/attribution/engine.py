"""Attribute one conversion under every model: exact money and conversion shares per touch.

``split`` works in integers (the job and the benchmark use it, and storage keeps integers);
``attribute`` gives the same result as Decimals for people and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from webapp.attribution.allocate import allocate
from webapp.attribution.journey import DIRECT, Journey, Settings, Touch, in_window
from webapp.attribution.money import from_units, places_for, to_units
from webapp.attribution.weights import (
    MODELS,
    Model,
    first_touch,
    last_non_direct,
    last_touch,
    linear,
    position_based,
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

    Models that credit one touch, the even split of linear, and the 40/20/40 split of
    position-based skip the general allocator (same result, see ``split_reference``): this loop
    runs once per conversion in the job."""
    if not touches:
        return [(m.key, -1, units, CONVERSION_UNITS) for m in models]
    parts: list[Part] = []
    n = len(touches)
    for model in models:
        fn, key = model.weights, model.key
        if fn is first_touch:
            parts.append((key, 0, units, CONVERSION_UNITS))
        elif fn is last_touch:
            parts.append((key, n - 1, units, CONVERSION_UNITS))
        elif fn is last_non_direct:
            i = n - 1
            while i >= 0 and touches[i].channel == DIRECT:
                i -= 1
            parts.append((key, i if i >= 0 else n - 1, units, CONVERSION_UNITS))
        elif (fn is linear or (fn is position_based and n <= 2)) and units >= 0:
            # equal weights (position-based with one or two touches too): leftover units go to
            # the latest touches, as allocate() does
            q, r = divmod(units, n)
            sq, sr = divmod(CONVERSION_UNITS, n)
            parts.extend(
                [(key, i, q + 1 if i >= n - r else q, sq + 1 if i >= n - sr else sq)
                 for i in range(n)]
            )  # fmt: skip
        elif fn is position_based and n > 2:
            money, shares = _forty_twenty_forty(units, n), _forty_twenty_forty(CONVERSION_UNITS, n)
            parts.extend([(key, i, money[i], shares[i]) for i in range(n)])
        else:
            parts.extend(_allocated(key, fn(touches, settings), units))
    return parts


def _forty_twenty_forty(total: int, n: int) -> list[int]:
    """``allocate(total, position_based weights)`` for n > 2 touches without sorting: the
    weights are 2m, 1 × m, 2m (m = n - 2), so the two ends share one remainder and the middle
    touches another; leftover units go to the larger remainder first, then the later touch."""
    if total < 0:
        return [-part for part in _forty_twenty_forty(-total, n)]
    m = n - 2
    end, end_rest = divmod(total * 2 * m, 5 * m)
    mid, mid_rest = divmod(total, 5 * m)
    parts = [end] + [mid] * m + [end]
    left = total - 2 * end - m * mid
    if left:
        if end_rest > mid_rest:
            order = [n - 1, 0, *range(n - 2, 0, -1)]
        elif end_rest < mid_rest:
            order = [*range(n - 2, 0, -1), n - 1, 0]
        else:
            order = list(range(n - 1, -1, -1))
        for i in order[:left]:
            parts[i] += 1
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
