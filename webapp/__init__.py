"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import INSTANCE_DIR, ConfigError, Settings, load_settings
from platforms.base import Platform
from platforms.registry import load_registry
from webapp import (
    models,  # noqa: F401  (registers every table on the metadata)
    sqlite,  # SQLite's connection settings and BEGIN mode, and write requests
)
from webapp.cli import register_cli
from webapp.errors import register_error_handlers
from webapp.extensions import csrf, db, limiter, login_manager, migrate
from webapp.inputs import BoundedIntConverter, refuse_nul_characters
from webapp.logging_setup import configure_logging
from webapp.security import register_security
from webapp.sessions import client_fingerprint, load_session_user
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
    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    _init_extensions(app)
    app.extensions["platforms"] = load_registry(
        app.config["PLATFORM_SETTINGS"],
        extra=extra_platforms,
        disabled=app.config["DISABLED_PLATFORMS"],
        environ=settings.environ,
    )
    _check_platforms(app, production=settings.is_production)

    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_nul_characters)
    register_security(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_cli(app)
    logging.getLogger(__name__).debug("app created (env=%s)", settings.env)
    return app


def _check_platforms(app: Flask, *, production: bool) -> None:
    """Production refuses to start while an enabled plugin is not ready for real traffic."""
    registry = app.extensions["platforms"]
    unknown = sorted(set(app.config["DISABLED_PLATFORMS"]) - set(registry.disabled))
    if unknown:
        raise ConfigError(
            "SOURCELOOP_DISABLED_PLATFORMS names unknown platform(s): " + ", ".join(unknown)
        )
    if not production:
        return
    problems = [
        f"{platform.key}: {problem}"
        for platform in registry
        for problem in platform.production_problems()
    ]
    if problems:
        raise ConfigError(
            "Production refuses to start: "
            + "; ".join(problems)
            + " (or switch the platform off with SOURCELOOP_DISABLED_PLATFORMS=<key>)"
        )


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
    # Flask-Login's own fingerprint reads the client's X-Forwarded-For; ours reads the address
    # ProxyFix derived from trusted hops only.
    login_manager._session_identifier_generator = client_fingerprint
    login_manager.user_loader(load_session_user)


def _writes_take_the_lock() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        g.sqlite_writing = sqlite.set_writing(True)


def _release_write_mode(exc: BaseException | None) -> None:
    token = g.pop("sqlite_writing", None)
    if token is not None:
        sqlite.reset_writing(token)


def _migrations_dir():  # noqa: ANN202
    return Path(__file__).resolve().parent.parent / "migrations"
