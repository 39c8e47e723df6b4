"""Application factory: one Flask app serving every Google host the plugin talks to
(accounts.google.com / oauth2.googleapis.com, googleads.googleapis.com,
datamanager.googleapis.com), each under Google's own paths."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from platforms.emulator_kit.connection import answer_dropped_connections

from . import ads_api, control, datamanager, oauth
from .config import EmulatorConfig
from .rpc import ApiError, new_request_id, status_error
from .state import World

API_PREFIXES = ("/v26/", "/v1/")


def create_app(
    config: EmulatorConfig | Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Flask:
    """Build the emulator; ``config`` overrides the ``GOOGLE_EMULATOR_*`` environment by name;
    ``clock`` (a callable returning an aware UTC datetime) lets tests move time."""
    if not isinstance(config, EmulatorConfig):
        config = EmulatorConfig.from_env().with_overrides(config)
    app = Flask(__name__)
    world = World(config) if clock is None else World(config, clock=clock)
    app.extensions["google_emulator"] = world
    for module in _blueprints():
        app.register_blueprint(module)
    _register_hooks(app, world)
    answer_dropped_connections(app)
    return app


def _blueprints() -> list[Any]:
    return [oauth.bp, ads_api.bp, datamanager.bp, control.bp]


def _register_hooks(app: Flask, world: World) -> None:
    @app.before_request
    def assign_request_id() -> None:
        g.request_id = new_request_id()

    @app.after_request
    def record(response: Response) -> Response:
        operation = getattr(g, "operation", None)
        if operation:
            world.record_call(operation, response.status_code,
                              {"path": request.path, "query": request.query_string.decode(errors="replace"),
                               "request_id": g.request_id})  # fmt: skip
        if request.path.startswith(API_PREFIXES):
            response.headers["request-id"] = g.request_id
        return response

    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Any:
        if err.body is None:  # a bare status, as a proxy or load balancer answers
            return Response(b"", status=err.status)
        if getattr(g, "stream", False):  # searchStream answers errors inside the JSON array
            return jsonify([err.body]), err.status
        return jsonify(err.body), err.status

    @app.errorhandler(Exception)
    def internal(err: Exception) -> Any:
        if isinstance(err, HTTPException):
            if request.path.startswith(API_PREFIXES):
                status = {404: "NOT_FOUND", 405: "UNIMPLEMENTED"}.get(
                    err.code or 0, "INVALID_ARGUMENT"
                )
                wrapped = status_error(status, err.description or "Not found.")
                return jsonify(wrapped.body), wrapped.status
            return err
        app.logger.exception("unhandled emulator error")
        wrapped = status_error("INTERNAL", "Internal error encountered.")
        return jsonify(wrapped.body), wrapped.status
