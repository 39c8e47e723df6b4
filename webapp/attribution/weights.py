"""The six attribution models, each a pure function from the touches in the window (oldest
first, at least one) to integer weights. Integer weights keep the split exact: the allocator
turns them into parts of a total without floating-point drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from webapp.attribution.journey import DIRECT, Settings, Touch

Weights = Callable[[list[Touch], Settings], list[int]]

# Time-decay weights are scaled to integers with this resolution (relative to the newest touch,
# which weighs exactly this much, so a tiny half-life never makes every weight zero).
DECAY_SCALE = 10**12


def first_touch(touches: list[Touch], settings: Settings) -> list[int]:
    return [1] + [0] * (len(touches) - 1)


def last_touch(touches: list[Touch], settings: Settings) -> list[int]:
    return [0] * (len(touches) - 1) + [1]


def last_non_direct(touches: list[Touch], settings: Settings) -> list[int]:
    """The last touch that was not a direct visit; a journey of direct visits only falls back to
    its last touch (as analytics tools do), so the conversion is never lost."""
    weights = [0] * len(touches)
    for i in range(len(touches) - 1, -1, -1):
        if touches[i].channel != DIRECT:
            weights[i] = 1
            return weights
    weights[-1] = 1
    return weights


def linear(touches: list[Touch], settings: Settings) -> list[int]:
    return [1] * len(touches)


def time_decay(touches: list[Touch], settings: Settings) -> list[int]:
    """Weight halves every ``half_life`` before the newest touch: 2^(-(t_newest - t)/h)."""
    newest = touches[-1].at
    half_life = settings.half_life.total_seconds()
    scale = DECAY_SCALE
    # (t - newest) is exactly -(newest - t); a power of two is positive, so round() is ≥ 0
    return [round(scale * 2.0 ** ((t.at - newest).total_seconds() / half_life)) for t in touches]


def position_based(touches: list[Touch], settings: Settings) -> list[int]:
    """40 % first, 40 % last, 20 % shared by the touches between; one touch takes all, two
    touches share half and half."""
    n = len(touches)
    if n <= 2:
        return [1] * n
    middle = n - 2
    return [2 * middle] + [1] * middle + [2 * middle]


@dataclass(frozen=True)
class Model:
    key: str  # stored with every credit; never renamed
    label: str
    external_name: str  # sent to platforms as attribution_model; stable over time
    weights: Weights


MODELS: tuple[Model, ...] = (
    Model("first_touch", "First touch", "SourceLoop First Touch", first_touch),
    Model("last_touch", "Last touch", "SourceLoop Last Touch", last_touch),
    Model("last_non_direct", "Last non-direct", "SourceLoop Last Non-Direct", last_non_direct),
    Model("linear", "Linear", "SourceLoop Linear", linear),
    Model("time_decay", "Time decay", "SourceLoop Time Decay", time_decay),
    Model("position_based", "Position-based 40/20/40", "SourceLoop Position Based", position_based),
)
MODEL_KEYS: tuple[str, ...] = tuple(m.key for m in MODELS)
BY_KEY: dict[str, Model] = {m.key: m for m in MODELS}
