"""Migration a9d3c5e7f1b2 (push decisions, the ledger's event, the state model's and
Troubleshoot's indexes) goes up over data and comes back down, on a scratch database of the suite's engine (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import make_app
from tests.test_click_id_migration import insert, scratch_database

BEFORE, AFTER = "a9c4e7d21f03", "a9d3c5e7f1b2"
INDEXES = {
    "conversion_deliveries": "ix_conversion_deliveries_click",
    "conversions": "ix_conversions_workspace_email",
    "visitors": "ix_visitors_workspace_email",
}


def _indexes(conn: sa.Connection, table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(conn).get_indexes(table)}


def test_push_decisions_up_and_down(database_url: str, redis_url: str, tmp_path) -> None:
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
                insert(conn, "conversions", id=1, workspace_id=1, external_id="a",
                       event="purchase")  # fmt: skip
                insert(conn, "conversion_deliveries", id=1, connection_id=1, conversion_id=1,
                       goal_id="g", status="sent")  # fmt: skip
            upgrade(revision=AFTER)
            with db.engine.begin() as conn:
                # The ledger row got its conversion's event.
                event = conn.execute(sa.text("SELECT event FROM conversion_deliveries")).scalar()
                assert event == "purchase"
                assert all(name in _indexes(conn, t) for t, name in INDEXES.items())
                insert(conn, "push_decisions", id=1, connection_id=1, conversion_id=1,
                       state="not_eligible", reason="no_click", facts={})  # fmt: skip
                with _raises_integrity(), conn.begin_nested():
                    insert(conn, "push_decisions", id=2, connection_id=1, conversion_id=1,
                           state="waiting", reason="click_settling", facts={})  # fmt: skip
            with db.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT conversion_id, reason FROM push_decisions"))
                assert [tuple(r) for r in rows] == [(1, "no_click")]
            downgrade(revision=BEFORE)
            with db.engine.connect() as conn:
                assert "push_decisions" not in sa.inspect(conn).get_table_names()
                ledger = {c["name"] for c in sa.inspect(conn).get_columns("conversion_deliveries")}
                assert "event" not in ledger
                assert not any(name in _indexes(conn, t) for t, name in INDEXES.items())
                count = conn.execute(sa.text("SELECT count(*) FROM conversions")).scalar()
                assert count == 1
            db.session.remove()
            db.engine.dispose()


def _raises_integrity():
    import pytest

    return pytest.raises(sa.exc.IntegrityError)
