"""``flask db ...``: Flask-Migrate's commands, with Migrate bound to the app when they run.

The only module that imports Alembic (through Flask-Migrate), so no other command pays for it."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import Migrate
from flask_migrate.cli import db as flask_migrate_db

from webapp import models  # noqa: F401  (autogenerate compares the migrations with every table)
from webapp.extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def bind_migrate(app: Flask) -> None:
    """What ``migrations/env.py`` and Flask-Migrate's functions (``upgrade()``) read."""
    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)


@with_appcontext
def _bound(directory: str | None, x_arg: tuple[str, ...]) -> None:
    bind_migrate(current_app._get_current_object())  # type: ignore[attr-defined]
    assert flask_migrate_db.callback is not None
    click.get_current_context().invoke(flask_migrate_db.callback, directory=directory, x_arg=x_arg)


db_cli = click.Group(
    "db",
    commands=flask_migrate_db.commands,
    params=flask_migrate_db.params,
    callback=_bound,
    help=flask_migrate_db.help,
)
