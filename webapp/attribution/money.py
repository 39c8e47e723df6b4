"""Money in integer minor units, so that credits add up to the conversion value to the cent."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 minor units that differ from the usual two decimals.
_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"}
    | {"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
MAX_PLACES = 4  # the conversions table stores four decimals


def minor_places(currency: str | None) -> int:
    code = (currency or "").upper()
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


def places_for(value: Decimal, currency: str | None) -> int:
    """The currency's minor unit, or finer when the value itself carries more decimals (a value
    of 10.005 USD is split in tenths of a cent rather than silently losing half a cent)."""
    exponent = value.normalize().as_tuple().exponent
    own = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return min(MAX_PLACES, max(minor_places(currency), own))


def to_units(value: Decimal, places: int) -> int:
    return int(value.scaleb(places).to_integral_value())


def from_units(units: int, places: int) -> Decimal:
    return Decimal(units).scaleb(-places)
