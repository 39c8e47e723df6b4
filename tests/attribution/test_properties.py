"""Properties every model must keep on any journey: no negative credit, value and conversion
split exactly, nothing credited outside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.attribution.engine import attribute, split, split_reference
from webapp.attribution.journey import Journey, Settings, Touch, in_window
from webapp.attribution.money import minor_places
from webapp.attribution.weights import MODEL_KEYS

T0 = datetime(2026, 6, 1, tzinfo=UTC)
CHANNELS = ("direct", "email", "microsoft_ads", "organic_search", "referral")


@st.composite
def journeys(draw: st.DrawFn) -> tuple[Journey, Settings]:
    currency = draw(st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
    places = minor_places(currency)
    cents = draw(st.integers(min_value=0, max_value=10**9))
    touches = draw(
        st.lists(
            st.builds(
                Touch,
                at=st.integers(-200 * 86400, 86400).map(lambda s: T0 - timedelta(seconds=s)),
                channel=st.sampled_from(CHANNELS),
                id=st.integers(1, 10**6),
            ),
            max_size=25,
        )
    )
    setup = Settings(
        lookback=timedelta(days=draw(st.integers(1, 365))),
        half_life=timedelta(hours=draw(st.integers(1, 24 * 60))),
    )
    return Journey(T0, Decimal(cents).scaleb(-places), currency, tuple(touches)), setup


@settings(max_examples=300, deadline=None)
@given(journeys())
def test_every_model_splits_value_and_conversion_exactly(case: tuple[Journey, Settings]) -> None:
    journey, setup = case
    credits = attribute(journey, setup)
    window_start = journey.converted_at - setup.lookback
    for model in MODEL_KEYS:
        mine = [c for c in credits if c.model == model]
        assert mine, model
        assert all(c.value >= 0 and c.conversions >= 0 for c in mine)
        assert sum(c.value for c in mine) == (journey.value or 0)
        assert sum(c.conversions for c in mine) == 1
        for c in mine:
            if c.touch is not None:
                assert window_start <= c.touch.at <= journey.converted_at
        in_window = [t for t in journey.touches if window_start <= t.at <= journey.converted_at]
        assert (not in_window) == any(c.touch is None for c in mine)


@settings(max_examples=200, deadline=None)
@given(journeys(), st.integers(-(10**6), 10**9))
def test_shortcuts_give_the_same_credits_as_the_general_allocator(
    case: tuple[Journey, Settings], units: int
) -> None:
    journey, setup = case
    touches = in_window(journey.touches, journey.converted_at, setup.lookback)
    assert sorted(split(touches, units, setup)) == sorted(split_reference(touches, units, setup))


def test_position_based_closed_form_matches_the_allocator_exhaustively() -> None:
    """The 40/20/40 shortcut against the general allocator for every small total and length,
    negative totals and the conversion's millionths included (ties, both remainder orders)."""
    from webapp.attribution.allocate import allocate
    from webapp.attribution.engine import CONVERSION_UNITS, _forty_twenty_forty
    from webapp.attribution.weights import position_based

    for n in range(3, 31):
        weights = position_based([Touch(T0, "direct")] * n, Settings())
        for total in [*range(-60, 400), CONVERSION_UNITS, 10**9 + 7, -(10**6) - 3]:
            assert _forty_twenty_forty(total, n) == allocate(total, weights), (n, total)
