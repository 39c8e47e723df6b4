"""Money in integer minor units, so that credits add up to the conversion value to the cent."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

MAX_PLACES = 4  # the conversions table stores four decimals
LOCALE = "en_US"  # how amounts are written on pages (symbols, separators)


def minor_places(currency: str | None) -> int:
    """The currency's minor unit from CLDR (Babel): 2 for USD, 0 for JPY, 3 for KWD; 2 when the
    code is unknown or missing."""
    code = (currency or "").upper()
    return get_currency_precision(code) if len(code) == 3 else 2


def format_money(value: Decimal | float | int | None, currency: str | None) -> str:
    """``1490.0000 USD`` → ``$1,490.00``; in the currency's minor units; "—" for no value."""
    if value is None:
        return "—"
    code = (currency or "").upper()
    if len(code) != 3 or not code.isalpha():
        return f"{Decimal(value):,.2f}"
    return format_currency(Decimal(value), code, locale=LOCALE)


def format_ratio(value: Decimal | float | None) -> str:
    """A return on ad spend as ``2.35×``; "—" when it cannot be computed (no spend)."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}×"


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
