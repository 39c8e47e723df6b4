from __future__ import annotations

from sqlalchemy import select

from tests.conftest import make_app
from webapp.extensions import db
from webapp.models import Membership, User, Workspace


def test_healthz_reports_database_and_redis(client, redis) -> None:
    body = client.get("/healthz").get_json()
    assert body == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "redis": {"status": "ok"}},
    }


def test_healthz_says_what_is_down(_migrated) -> None:
    app = make_app(_migrated, "redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"]["status"] == "error"


def test_cli_users_create_makes_workspace_and_role(app) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Ops@Example.com",
            "--password",
            "Op3rator-password",
            "--workspace",
            "Initech",
            "--role",
            "admin",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ops@example.com"))
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.role == "admin"
    assert db.session.get(Workspace, membership.workspace_id).name == "Initech"
    weak = runner.invoke(
        args=["users", "create", "x@example.com", "--password", "short", "--workspace", "Initech"]
    )
    assert weak.exit_code != 0 and "at least 10" in weak.output


def test_cli_schedule_list(app, redis) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "schedule", "--sync", "--list"])
    assert result.exit_code == 0, result.output
    assert "schedule-push-fanout" in result.output and "*/2 * * * *" in result.output
    assert "registered" in result.output


def test_migrations_match_the_models(app) -> None:
    """`flask db upgrade` built the schema the tests run on; no model change lacks a revision."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
