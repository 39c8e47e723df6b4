"""Each attribution model on journeys small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from webapp.multitouch.allocate import allocate
from webapp.multitouch.engine import attribute
from webapp.multitouch.journey import Journey, Settings, Touch
from webapp.multitouch.money import places_for

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def journey(value: str | None, *touches: tuple[int, str], currency: str = "USD") -> Journey:
    """Touches given as (days before the conversion, channel); ids follow the given order."""
    return Journey(
        converted_at=T0,
        value=Decimal(value) if value is not None else None,
        currency=currency,
        touches=tuple(Touch(T0 - d * DAY, ch, id=i + 1) for i, (d, ch) in enumerate(touches)),
    )


def by_touch(j: Journey, model: str, settings: Settings | None = None) -> dict[int | None, str]:
    credits = attribute(j, settings or Settings())
    return {c.touch.id if c.touch else None: str(c.value) for c in credits if c.model == model}


def shares(j: Journey, model: str) -> dict[int | None, Decimal]:
    return {
        c.touch.id if c.touch else None: c.conversions
        for c in attribute(j, Settings())
        if c.model == model
    }


THREE = journey("90.00", (10, "organic_search"), (5, "microsoft_ads"), (1, "direct"))


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", {1: "90.00"}),
        ("last_touch", {3: "90.00"}),
        ("last_non_direct", {2: "90.00"}),
        ("linear", {1: "30.00", 2: "30.00", 3: "30.00"}),
        ("position_based", {1: "36.00", 2: "18.00", 3: "36.00"}),
    ],
)
def test_three_touch_journey(model: str, expected: dict[int, str]) -> None:
    assert by_touch(THREE, model) == expected


def test_time_decay_halves_per_half_life() -> None:
    # Touches 14, 7 and 0 days before the newest: weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7 of 70.
    j = journey("70.00", (14, "email"), (7, "referral"), (0, "microsoft_ads"))
    assert by_touch(j, "time_decay") == {1: "10.00", 2: "20.00", 3: "40.00"}
    # A 14-day half-life flattens it: weights 1/2, 1/√2, 1.
    flat = by_touch(j, "time_decay", Settings(half_life=timedelta(days=14)))
    # 70 * (0.5, 0.7071, 1) / 2.2071 = 15.858, 22.426, 31.716 cents-floored to 15.85, 22.42,
    # 31.71; the 2 cents left go to the largest remainders (.8 and .6 of a cent).
    assert flat == {1: "15.86", 2: "22.43", 3: "31.71"}


def test_position_based_two_touches_split_evenly_and_many_share_the_middle() -> None:
    two = journey("10.00", (3, "email"), (1, "direct"))
    assert by_touch(two, "position_based") == {1: "5.00", 2: "5.00"}
    five = journey("100.00", (9, "a"), (7, "b"), (5, "c"), (3, "d"), (1, "e"))
    # 20.00 / 3 = 6.666…: equal remainders, so the two leftover cents go to the later touches.
    assert by_touch(five, "position_based") == {
        1: "40.00", 2: "6.66", 3: "6.67", 4: "6.67", 5: "40.00"
    }  # fmt: skip


@pytest.mark.parametrize(
    "model",
    ["first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"],
)
def test_single_touch_takes_everything(model: str) -> None:
    j = journey("49.99", (2, "email"))
    assert by_touch(j, model) == {1: "49.99"}
    assert shares(j, model) == {1: Decimal(1)}


def test_touches_outside_the_window_or_after_the_conversion_take_nothing() -> None:
    j = journey("60.00", (120, "email"), (30, "microsoft_ads"), (3, "referral"), (-1, "social"))
    assert by_touch(j, "first_touch") == {2: "60.00"}  # the 120-day-old email is out
    assert by_touch(j, "linear") == {2: "30.00", 3: "30.00"}  # the later visit is out
    short = Settings(lookback=timedelta(days=7))
    assert by_touch(j, "first_touch", short) == {3: "60.00"}


def test_no_touch_in_window_is_kept_as_unattributed() -> None:
    j = journey("25.00", (200, "email"))
    for model in ("first_touch", "linear", "time_decay"):
        assert by_touch(j, model) == {None: "25.00"}
        assert shares(j, model) == {None: Decimal(1)}


def test_direct_only_journey() -> None:
    j = journey("12.00", (3, "direct"), (1, "direct"))
    assert by_touch(j, "last_non_direct") == {2: "12.00"}  # falls back to the last visit
    assert by_touch(j, "first_touch") == {1: "12.00"}
    assert by_touch(j, "linear") == {1: "6.00", 2: "6.00"}


def test_last_non_direct_skips_trailing_direct_visits() -> None:
    j = journey("8.00", (5, "email"), (4, "microsoft_ads"), (2, "direct"), (1, "direct"))
    assert by_touch(j, "last_non_direct") == {2: "8.00"}


def test_ties_at_the_same_instant_are_ordered_by_touchpoint_id() -> None:
    same = Journey(
        T0, Decimal("10.00"), "USD",
        (Touch(T0 - DAY, "email", id=7), Touch(T0 - DAY, "microsoft_ads", id=3)),
    )  # fmt: skip
    assert by_touch(same, "first_touch") == {3: "10.00"}
    assert by_touch(same, "last_touch") == {7: "10.00"}
    # Equal weights split evenly; the odd cent goes to the later touch.
    odd = Journey(T0, Decimal("0.01"), "USD", same.touches)
    assert by_touch(odd, "linear") == {3: "0.00", 7: "0.01"}
    assert shares(odd, "linear") == {3: Decimal("0.5"), 7: Decimal("0.5")}


def test_rounding_still_sums_to_the_value() -> None:
    j = journey("100.00", (3, "a"), (2, "b"), (1, "c"))
    assert by_touch(j, "linear") == {1: "33.33", 2: "33.33", 3: "33.34"}
    assert sum(shares(j, "linear").values()) == Decimal(1)
    assert shares(j, "linear") == {
        1: Decimal("0.333333"), 2: Decimal("0.333333"), 3: Decimal("0.333334")
    }  # fmt: skip


def test_currency_minor_units() -> None:
    yen = journey("1000", (3, "a"), (2, "b"), (1, "c"), currency="JPY")
    assert by_touch(yen, "linear") == {1: "333", 2: "333", 3: "334"}
    dinar = journey("1.000", (2, "a"), (1, "b"), (0, "c"), currency="KWD")
    assert by_touch(dinar, "linear") == {1: "0.333", 2: "0.333", 3: "0.334"}
    # A value finer than the currency's unit is split at its own precision, not rounded away.
    assert places_for(Decimal("10.005"), "USD") == 3
    fine = journey("10.005", (2, "a"), (1, "b"))
    assert by_touch(fine, "linear") == {1: "5.002", 2: "5.003"}


def test_missing_value_still_credits_one_conversion() -> None:
    j = journey(None, (2, "email"), (1, "direct"))
    assert by_touch(j, "linear") == {1: "0.00", 2: "0.00"}
    assert sum(shares(j, "linear").values()) == Decimal(1)


def test_allocate_gives_leftovers_to_the_largest_remainders() -> None:
    assert allocate(10, [1, 1, 1]) == [3, 3, 4]
    assert allocate(10, [5, 3, 2]) == [5, 3, 2]
    assert allocate(7, [1, 0, 1]) == [3, 0, 4]
    assert allocate(-10, [1, 1, 1]) == [-3, -3, -4]
    with pytest.raises(ValueError):
        allocate(1, [0, 0])


def test_money_uses_cldr_minor_units_and_formats_with_babel() -> None:
    from decimal import Decimal

    from webapp.multitouch.money import format_money, minor_places

    assert [minor_places(c) for c in ("USD", "JPY", "KWD", None, "??")] == [2, 0, 3, 2, 2]
    assert format_money(Decimal("1490.0000"), "USD") == "$1,490.00"
    assert format_money(Decimal("1490"), "JPY") == "¥1,490"
    assert format_money(Decimal("2.5"), "KWD").endswith("2.500")
    assert format_money(None, "USD") == "—"
    assert format_money(Decimal("3"), "(no currency)") == "3.00"
