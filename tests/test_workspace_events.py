"""A workspace has its built-in events from the moment it exists (issue 12, item 12)."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from tests.conftest import make_app
from webapp.extensions import db
from webapp.models import ConversionEvent, TrackingSettings
from webapp.models.intake import ConversionEvent as Event
from webapp.services import accounts


def test_new_workspace_has_built_in_events_before_tracking_is_opened(app) -> None:
    workspace, created = accounts.get_or_create_workspace("Fresh Co")
    db.session.commit()
    assert created
    names = set(
        db.session.scalars(
            select(ConversionEvent.name).where(ConversionEvent.workspace_id == workspace.id)
        )
    )
    assert names == set(Event.BUILT_INS)
    assert db.session.get(TrackingSettings, workspace.id) is not None


def test_cli_created_workspace_lists_events_on_configure(app) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "new-owner@example.com",
            "--password",
            "Op3rator-password",
            "--workspace",
            "Brand New",
        ]
    )
    assert result.exit_code == 0, result.output
    workspace, _ = accounts.get_or_create_workspace("Brand New")
    from webapp.services import push_config

    assert set(Event.BUILT_INS) <= set(push_config.events_for(workspace.id))


def test_migration_gives_existing_workspaces_their_events(tmp_path: Path, redis_url) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'm.db'}", redis_url)
    with app.app_context():
        upgrade(revision="7c1d2e3f4a5b")
        db.session.execute(
            text("INSERT INTO workspaces (name, created_at) VALUES ('Old', '2026-01-01 00:00:00')")
        )
        db.session.commit()
        upgrade()
        ws = db.session.execute(text("SELECT id FROM workspaces WHERE name='Old'")).scalar_one()
        names = set(
            db.session.scalars(
                select(ConversionEvent.name).where(ConversionEvent.workspace_id == ws)
            )
        )
        assert names == set(Event.BUILT_INS)
        settings = db.session.get(TrackingSettings, ws)
        assert settings is not None and settings.public_key.startswith("pk_")
        assert settings.created_at.tzinfo is not None
        downgrade(revision="7c1d2e3f4a5b")  # reversible
        db.session.remove()
