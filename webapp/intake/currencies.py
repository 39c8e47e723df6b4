"""Which currency codes SourceLoop accepts, from CLDR's territory data (Babel) rather than a
hand-kept list: a code is accepted while it is legal tender in some territory, and for two years
after it stops being one (a CRM or a refund may still report a sale made in it). New codes (for
example XCG, the Caribbean guilder of 2025) are accepted as soon as Babel's CLDR data has them;
minor units come from the same data (``webapp.attribution.money.minor_places``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

from babel.core import get_global
from babel.numbers import get_territory_currencies

GRACE = timedelta(days=730)


@cache
def _codes_on(day: date) -> frozenset[str]:
    found: set[str] = set()
    for territory in get_global("territory_currencies"):
        found.update(get_territory_currencies(territory, day - GRACE, day, tender=True))
    return frozenset(found)


def codes(today: date | None = None) -> frozenset[str]:
    """ISO 4217 codes of currencies in circulation (funds and metals are not legal tender)."""
    return _codes_on(today or datetime.now(UTC).date())


def is_currency(code: object, today: date | None = None) -> bool:
    """Whether ``code`` (upper-case, three letters) is a currency in circulation."""
    return isinstance(code, str) and len(code) == 3 and code in codes(today)
