"""Dialect-aware ``INSERT ... ON CONFLICT`` for the hot paths (SQLite and PostgreSQL both have it)."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_for(conn: Connection, table: Table):  # noqa: ANN201
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
