"""The app every process shares: settings, logging, the database, the platform registry and the
operator commands. No views, forms, sign-in or templates: the worker and the ``flask`` command
start from this alone (``.flaskenv`` points ``flask`` here); ``webapp.factory.create_app`` adds
the web parts for gunicorn.

Production refuses to start here already (settings and platform readiness), so a worker or a
release command fails as fast as a web dyno."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from flask import Flask

from config import INSTANCE_DIR, ConfigError, Settings, load_settings
from platforms.registry import load_registry
from webapp import sqlite  # noqa: F401  (SQLite's connection settings and BEGIN mode)
from webapp.cli import register_cli
from webapp.extensions import db
from webapp.logging_setup import configure_logging

if TYPE_CHECKING:
    from platforms.base import Platform


def create_base_app(
    settings: Settings | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    extra_platforms: Iterable[type[Platform]] = (),
) -> Flask:
    settings = settings or load_settings()
    app = Flask("webapp", instance_path=str(INSTANCE_DIR))
    app.config.update(settings.flask_config())
    if overrides:
        app.config.update(overrides)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(exist_ok=True)

    configure_logging(app.config["LOG_LEVEL"])
    db.init_app(app)
    # Plugins are imported on first use, except where start-up must check them: production
    # (a plugin that is not ready stops the process) and a list of switched-off platforms.
    check_now = settings.is_production or bool(app.config["DISABLED_PLATFORMS"])
    app.extensions["platforms"] = load_registry(
        app.config["PLATFORM_SETTINGS"],
        extra=extra_platforms,
        disabled=app.config["DISABLED_PLATFORMS"],
        environ=settings.environ,
        deferred=not check_now,
    )
    if check_now:
        _check_platforms(app, production=settings.is_production)
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
