"""The web application (gunicorn ``wsgi:app``): the shared app plus views, forms, sign-in,
security headers and error pages."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings
from platforms.base import Platform
from webapp import (
    models,  # noqa: F401  (registers every table on the metadata)
    sqlite,
)
from webapp.accounts.sessions import CookieSessions, client_fingerprint, load_session_user
from webapp.core import create_base_app
from webapp.errors import register_error_handlers
from webapp.inputs import BoundedIntConverter, refuse_nul_characters
from webapp.security import register_security
from webapp.views import register_blueprints
from webapp.views.intake import collect_lane
from webapp.views.intake.pixel import SESSIONLESS_PATHS, UNLIMITED_BLUEPRINT
from webapp.web_extensions import csrf, limiter, login_manager


def create_app(
    settings: Settings | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    extra_platforms: Iterable[type[Platform]] = (),
) -> Flask:
    app = create_base_app(settings, overrides=overrides, extra_platforms=extra_platforms)
    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.session_interface = CookieSessions(SESSIONLESS_PATHS)
    _init_web_extensions(app)
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_nul_characters)
    register_security(app)
    register_error_handlers(app)
    register_blueprints(app)
    # Outermost: POST /collect's common case skips the request machinery (collect_lane says why).
    app.wsgi_app = collect_lane.CollectLane(app, app.wsgi_app)  # type: ignore[method-assign]
    # Run by gunicorn.conf.py in the master, once, before it forks the workers (preload_app).
    app.extensions["before_fork"] = [functools.partial(collect_lane.warm, app)]
    return app


def _init_web_extensions(app: Flask) -> None:
    # Registered first, before any hook touches the database: a request that changes data
    # begins its transactions with SQLite's write lock (webapp/sqlite.py says why).
    app.before_request(_writes_take_the_lock)
    app.teardown_request(_release_write_mode)
    csrf.init_app(app)
    limiter.init_app(app)
    _skip_limits_for(app, UNLIMITED_BLUEPRINT)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    # Flask-Login's own fingerprint reads the client's X-Forwarded-For; ours reads the address
    # ProxyFix derived from trusted hops only.
    login_manager._session_identifier_generator = client_fingerprint
    login_manager.user_loader(load_session_user)


def _skip_limits_for(app: Flask, blueprint: str) -> None:
    """Flask-Limiter checks every request, exempt or not, and an exempt request still costs it
    a resolution of the app's limits and exemptions. The pixel's blueprint is exempt from every
    limit, and its /collect is the busiest endpoint by far, so its requests skip the check."""
    hooks = app.before_request_funcs[None]
    at = hooks.index(limiter._check_request_limit)  # ValueError if Flask-Limiter changes its hook
    check = hooks[at]

    def _check_limits() -> None:
        if request.blueprint != blueprint:
            check()

    hooks[at] = _check_limits


def _writes_take_the_lock() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        g.sqlite_writing = sqlite.set_writing(True)


def _release_write_mode(exc: BaseException | None) -> None:
    token = g.pop("sqlite_writing", None)
    if token is not None:
        sqlite.reset_writing(token)
