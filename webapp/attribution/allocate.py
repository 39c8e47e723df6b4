"""Largest-remainder allocation: split an integer total in proportion to integer weights so the
parts add up to exactly the total."""

from __future__ import annotations

from collections.abc import Sequence


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Parts of ``total`` proportional to ``weights`` (non-negative ints, positive sum).

    Each part is the floor of its exact share; the units left over go to the largest
    remainders, and equal remainders favour the later weight (the touch closer to the
    conversion), so the result is deterministic.
    """
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights must have a positive sum")
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        q, r = divmod(total * weight, weight_sum)
        parts.append(q)
        remainders.append(r)
    left = total - sum(parts)
    if left:
        # by remainder, largest first; the sort is stable, so listing the indexes latest first
        # breaks ties towards the later weight
        latest_first = range(len(parts) - 1, -1, -1)
        for i in sorted(latest_first, key=remainders.__getitem__, reverse=True)[:left]:
            parts[i] += 1
    return parts
