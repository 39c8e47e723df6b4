"""Error pages: every failure is a clear 4xx page (or JSON for API clients), never a raw 500."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db
from webapp.services.errors import ServiceError

log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def wants_json() -> bool:
    return (
        request.path.startswith(("/api/", "/webhooks/"))
        or request.path in ("/healthz", "/collect")
        or request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, message: str):  # noqa: ANN201
    title = _TITLES.get(status, "Error")
    if wants_json():
        return jsonify(error={"status": status, "title": title, "message": message}), status
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # noqa: ANN202
        return error_response(
            400,
            "The form expired or was not sent from this site (missing CSRF token). "
            "Go back, reload the page and try again.",
        )

    @app.errorhandler(ServiceError)
    def _service(exc: ServiceError):  # noqa: ANN202
        return error_response(exc.status_code, exc.message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # noqa: ANN202
        status = exc.code or 500
        message = exc.description or _TITLES.get(status, "Error")
        if status == 429:
            message = "Too many attempts. Wait a minute and try again."
        return error_response(status, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()  # the error page itself queries (banners); start clean
        return error_response(500, "An unexpected error occurred; it has been logged.")
