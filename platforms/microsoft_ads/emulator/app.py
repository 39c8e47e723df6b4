"""Application factory: one Flask app serving every Microsoft host the plugin talks to."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from platforms.emulator_kit.connection import answer_dropped_connections

from . import campaign, control, conversions, customer, identity, reporting, uet
from .config import EmulatorConfig
from .faults import ApiError, ad_api_error, tracking_id
from .state import World

API_PREFIXES = ("/CustomerManagement/", "/CampaignManagement/", "/Reporting/")


def create_app(
    config: EmulatorConfig | Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Flask:
    """Build the emulator; ``config`` overrides the ``EMULATOR_*`` environment by field name."""
    if not isinstance(config, EmulatorConfig):
        config = EmulatorConfig.from_env().with_overrides(config)
    app = Flask(__name__)
    world = World(config) if clock is None else World(config, clock=clock)
    app.extensions["msads_emulator"] = world
    for module in (identity, customer, campaign, conversions, reporting, uet, control):
        app.register_blueprint(module.bp)
    _register_hooks(app, world)
    answer_dropped_connections(app)
    return app


def _register_hooks(app: Flask, world: World) -> None:
    @app.before_request
    def assign_tracking_id() -> None:
        g.tracking_id = str(uuid.uuid4())

    @app.after_request
    def add_tracking_header(response: Response) -> Response:
        response.headers["TrackingId"] = tracking_id()
        operation = getattr(g, "operation", None)
        if operation:
            world.record_call(operation, response.status_code)
        return response

    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Any:
        if err.body is None:  # a bare status, as a gateway or load balancer answers
            return Response(b"", status=err.status)
        return jsonify(err.body), err.status

    @app.errorhandler(Exception)
    def internal(err: Exception) -> Any:
        if isinstance(err, HTTPException):
            return err
        app.logger.exception("unhandled emulator error")
        if request.path.startswith(API_PREFIXES):
            body = {
                "TrackingId": tracking_id(),
                "Type": "AdApiFaultDetail",
                "Errors": [ad_api_error(0)],
            }
            return jsonify(body), 500
        return jsonify({"error": "server_error", "error_description": str(err)}), 500
