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
            "owner",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ops@example.com"))
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.role == "owner"
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


def _create(app, *args: str):
    return app.test_cli_runner().invoke(args=["users", "create", *args])


def test_cli_refuses_to_make_a_new_workspace_without_an_owner(app) -> None:
    for role in ("admin", "member"):
        result = _create(
            app,
            "m@example.com",
            "--password",
            "Op3rator-password",
            "--workspace",
            "Nope",
            "--role",
            role,
        )
        assert result.exit_code != 0
        assert "no workspace named 'Nope'" in result.output and "--role owner" in result.output
    assert db.session.scalar(select(Workspace).where(Workspace.name == "Nope")) is None
    assert db.session.scalar(select(User).where(User.email == "m@example.com")) is None
    ok = _create(app, "o@example.com", "--password", "Op3rator-password", "--workspace", "Nope")
    assert ok.exit_code == 0, ok.output
    member = _create(
        app,
        "m@example.com",
        "--password",
        "Op3rator-password",
        "--workspace",
        "Nope",
        "--role",
        "member",
    )
    assert member.exit_code == 0, member.output


def test_cli_changes_an_existing_password_only_with_the_flag(app) -> None:
    from webapp.services import accounts

    assert (
        _create(app, "p@example.com", "--password", "First-password1", "--workspace", "W").exit_code
        == 0
    )
    again = _create(app, "p@example.com", "--password", "Second-password2", "--workspace", "W")
    assert again.exit_code == 0 and "password is unchanged" in again.output
    assert accounts.authenticate("p@example.com", "First-password1") is not None
    assert accounts.authenticate("p@example.com", "Second-password2") is None
    reset = _create(
        app,
        "p@example.com",
        "--password",
        "Second-password2",
        "--workspace",
        "W",
        "--reset-password",
    )
    assert reset.exit_code == 0 and "was replaced" in reset.output
    assert accounts.authenticate("p@example.com", "Second-password2") is not None
    bad = _create(app, "not-an-email", "--password", "x", "--workspace", "W")
    assert bad.exit_code != 0 and "Traceback" not in bad.output
