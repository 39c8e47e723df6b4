"""Currency codes and minor units come from Babel's CLDR data, not a hand-kept list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from webapp.attribution.money import format_money, minor_places
from webapp.intake import currencies


def test_codes_in_circulation_follow_cldr() -> None:
    today = date(2026, 12, 1)
    assert {"USD", "EUR", "JPY", "KWD", "CHF"} <= currencies.codes(today)
    # The Caribbean guilder replaced the Netherlands Antillean guilder on 2025-03-31: the hand
    # list had only ANG. ANG stays accepted for two years after it stopped being legal tender.
    assert currencies.is_currency("XCG", today)
    assert currencies.is_currency("ANG", today)
    assert not currencies.is_currency("ANG", date(2027, 7, 1))
    # Funds, metals, retired codes and junk are not currencies in circulation.
    for code in ("XAU", "USN", "DEM", "usd", "US", "", None, 840):
        assert not currencies.is_currency(code, today)


def test_minor_units_and_formatting_from_cldr() -> None:
    assert [minor_places(c) for c in ("USD", "JPY", "KWD", "XCG")] == [2, 0, 3, 2]
    assert format_money(Decimal("1490.0000"), "USD") == "$1,490.00"
    assert format_money(Decimal("1490"), "JPY") == "¥1,490"
    assert format_money(Decimal("12.5"), "KWD") == "KWD12.500"
    assert format_money(None, "USD") == "—"
