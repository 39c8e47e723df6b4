"""Bounds for untrusted numbers and dates from URLs, so nonsense is a 4xx and never a 500.

A database integer column holds at most 2**63 - 1 (SQLite, PostgreSQL ``bigint``) and ``integer``
columns only 2**31 - 1; Python's ``date`` stops at year 9999, so ``9999-12-31`` plus one day
overflows. Every id in a URL path and query, and every date a user types, passes through here.
"""

from __future__ import annotations

from datetime import date

from flask import abort, request
from werkzeug.routing import IntegerConverter

# The largest id any table can hold (PostgreSQL ``integer`` primary keys).
MAX_ID = 2**31 - 1
# Dates a report or filter may name; wide enough for any real data, far from datetime's edges.
MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(2999, 12, 31)


def db_int(value: str) -> int:
    """``type=`` for ``request.args.get``: an int a database column can hold, else ValueError
    (which makes ``get`` fall back to its default)."""
    number = int(value)
    if not -MAX_ID <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


def parse_day(value: str) -> date:
    """``YYYY-MM-DD`` within [MIN_DAY, MAX_DAY]; ValueError otherwise."""
    day = date.fromisoformat(value)
    if not MIN_DAY <= day <= MAX_DAY:
        raise ValueError(f"dates must be between {MIN_DAY} and {MAX_DAY}")
    return day


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route: ids beyond MAX_ID do not match (404), instead of reaching
    the database as an integer it cannot bind."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_characters() -> None:
    """``before_request``: a NUL character in the path, the query or a form is never meaningful
    and PostgreSQL text columns refuse it (a 500 on PostgreSQL, silently kept on SQLite)."""
    if "\x00" in request.path or _has_nul(request.args):
        abort(400, "NUL characters are not allowed in URLs.")
    if request.mimetype in _FORM_TYPES and _has_nul(request.form):
        abort(400, "NUL characters are not allowed in forms.")


def _has_nul(values) -> bool:  # noqa: ANN001  (a MultiDict)
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))
