"""Inserts for the hot paths: dialect-aware ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL
both have it), and a driver-level ``executemany`` for thousands of rows at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_for(conn: Connection, table: Table):  # noqa: ANN201
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def driver_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
    ignore_conflicts_on: Sequence[str] = (),
) -> None:
    """INSERT many rows with one driver-level ``executemany``, for the hot paths.

    ``rows`` are tuples of ``columns``; ``constants`` are values every row shares (converted
    once). Values are converted with the columns' own bind processors (the same conversion
    SQLAlchemy applies), but only for the columns whose type has one, and without SQLAlchemy's
    per-row statement machinery, which costs more than the insert itself at thousands of rows.
    ``ignore_conflicts_on``: the unique columns whose conflict skips the row
    (``ON CONFLICT (...) DO NOTHING``, on SQLite and PostgreSQL alike). RETURNING is not
    available through an executemany: read back what the caller needs by a key it chose."""
    dialect = conn.dialect
    constants = dict(constants or {})

    def processor(name: str) -> Callable[[Any], Any] | None:
        column_type = table.c[name].type
        return column_type.dialect_impl(dialect).bind_processor(dialect)

    fixed = tuple(
        (proc(value) if (proc := processor(name)) and value is not None else value)
        for name, value in constants.items()
    )
    converters = [(i, proc) for i, name in enumerate(columns) if (proc := processor(name))]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in (*columns, *constants))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * (len(columns) + len(constants)))
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    if ignore_conflicts_on:
        keys = ", ".join(quote(name) for name in ignore_conflicts_on)
        statement += f" ON CONFLICT ({keys}) DO NOTHING"

    def converted(row: Sequence[Any]) -> tuple[Any, ...]:
        if not converters:
            return (*row, *fixed)
        values = list(row)
        for i, proc in converters:
            if values[i] is not None:
                values[i] = proc(values[i])
        return (*values, *fixed)

    parameters = [converted(row) for row in rows]
    if parameters:
        conn.exec_driver_sql(statement, parameters)
