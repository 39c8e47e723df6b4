"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import INSTANCE_DIR, Settings, load_settings
from platforms.base import Platform
from platforms.registry import load_registry
from webapp import models  # noqa: F401  (registers every table on the metadata)
from webapp.cli import register_cli
from webapp.errors import register_error_handlers
from webapp.extensions import csrf, db, limiter, login_manager, migrate
from webapp.logging_setup import configure_logging
from webapp.models import User
from webapp.security import register_security
from webapp.views import register_blueprints


def create_app(
    settings: Settings | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    extra_platforms: Iterable[type[Platform]] = (),
) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.update(settings.flask_config())
    if overrides:
        app.config.update(overrides)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(exist_ok=True)

    configure_logging(app.config["LOG_LEVEL"])
    _init_extensions(app)
    app.extensions["platforms"] = load_registry(
        app.config["PLATFORM_SETTINGS"], extra=extra_platforms
    )

    register_security(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_cli(app)
    logging.getLogger(__name__).debug("app created (env=%s)", settings.env)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):  # noqa: ANN202
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user and user.is_active else None


def _migrations_dir():  # noqa: ANN202
    return Path(__file__).resolve().parent.parent / "migrations"


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """SQLite ignores ON DELETE CASCADE unless asked (PostgreSQL always honours it), and serialises
    writers; these settings make it a fair development and single-host database."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # WAL lets readers run beside the one writer, and NORMAL syncs at checkpoints rather than
        # on every commit (still durable against a crashed process): /collect commits per hit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
