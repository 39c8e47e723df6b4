"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from flask import Flask, g, request

from config import INSTANCE_DIR, Settings, load_settings
from platforms.base import Platform
from platforms.registry import load_registry
from webapp import (
    models,  # noqa: F401  (registers every table on the metadata)
    sqlite,  # SQLite's connection settings and BEGIN mode, and write requests
)
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
    # Registered first, before any hook touches the database: a request that changes data
    # begins its transactions with SQLite's write lock (webapp/sqlite.py says why).
    app.before_request(_writes_take_the_lock)
    app.teardown_request(_release_write_mode)
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


def _writes_take_the_lock() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        g.sqlite_writing = sqlite.set_writing(True)


def _release_write_mode(exc: BaseException | None) -> None:
    token = g.pop("sqlite_writing", None)
    if token is not None:
        sqlite.reset_writing(token)


def _migrations_dir():  # noqa: ANN202
    return Path(__file__).resolve().parent.parent / "migrations"
