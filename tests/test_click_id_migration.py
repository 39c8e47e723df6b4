"""Migration 7c1d2e3f4a5b carries today's data over: every conversions.msclkid becomes an
('msclkid', id) pair, ledger rows with a click id get click_param 'msclkid', stored digests become
the Microsoft rule set's; the downgrade puts the click ids back. Runs on a scratch database of the suite's engine (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import make_app

BEFORE, AFTER = "6b1e2c7d9a40", "7c1d2e3f4a5b"


@contextmanager
def scratch_database(database_url: str, tmp_path) -> Iterator[str]:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    name = f"sl_migration_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        sa.orm.close_all_sessions()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _filler(column: sa.Column) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 11, 1, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return datetime(2026, 11, 1).date()
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Numeric):
        return Decimal(0)
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.LargeBinary):
        return b"x"
    return "x"


def insert(conn: sa.Connection, table_name: str, **values: object) -> None:
    """A row with ``values`` and a plain value in every other NOT NULL column."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for column in table.columns:
        if column.name not in row and not column.nullable and column.server_default is None:
            row[column.name] = _filler(column)
    conn.execute(table.insert().values(**row))


def test_click_ids_carry_over_and_back(database_url: str, redis_url: str, tmp_path) -> None:
    from flask_migrate import downgrade, upgrade

    from webapp.cli.db import bind_migrate
    from webapp.extensions import db

    with scratch_database(database_url, tmp_path) as url:
        app = make_app(url, redis_url)
        bind_migrate(app)
        with app.app_context():
            upgrade(revision=BEFORE)
            with db.engine.begin() as conn:
                insert(conn, "workspaces", id=1, name="W")
                insert(conn, "connections", id=1, workspace_id=1, platform_key="microsoft_ads")
                insert(conn, "conversions", id=1, workspace_id=1, external_id="a", msclkid="mk-1",
                       email_sha256="e" * 64)  # fmt: skip
                insert(conn, "conversions", id=2, workspace_id=1, external_id="b", msclkid=None)
                insert(conn, "conversion_deliveries", id=1, connection_id=1, conversion_id=1,
                       goal_id="g", click_id="mk-1")  # fmt: skip
                insert(conn, "conversion_deliveries", id=2, connection_id=1, conversion_id=2,
                       goal_id="g", click_id=None)  # fmt: skip
            upgrade(revision=AFTER)
            with db.engine.connect() as conn:
                pairs = conn.execute(
                    sa.text("SELECT conversion_id, click_param, click_id FROM conversion_click_ids")
                ).all()
                assert [tuple(p) for p in pairs] == [(1, "msclkid", "mk-1")]
                ledger = conn.execute(
                    sa.text("SELECT id, click_param FROM conversion_deliveries ORDER BY id")
                ).all()
                assert [tuple(r) for r in ledger] == [(1, "msclkid"), (2, None)]
                columns = {c["name"] for c in sa.inspect(conn).get_columns("conversions")}
                assert "msclkid" not in columns
                digests = conn.execute(
                    sa.text("SELECT id, identity_digests FROM conversions ORDER BY id")
                ).all()
                loaded = [(i, json.loads(d) if isinstance(d, str) else d) for i, d in digests]
                assert loaded == [(1, {"microsoft_ads": {"email": "e" * 64}}), (2, None)]
            downgrade(revision=BEFORE)
            with db.engine.connect() as conn:
                back = conn.execute(sa.text("SELECT id, msclkid FROM conversions ORDER BY id"))
                assert [tuple(r) for r in back] == [(1, "mk-1"), (2, None)]
            db.session.remove()
            db.engine.dispose()
