"""``GET /healthz``: database and Redis status as JSON, for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from jobs.queues import redis_connection
from webapp.extensions import db
from webapp.web_extensions import limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():  # noqa: ANN201
    checks: dict[str, dict[str, str]] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"status": "ok"}
    except SQLAlchemyError as exc:  # report, don't raise: this endpoint says what is broken
        checks["database"] = {"status": "error", "error": type(exc).__name__}
    finally:
        db.session.rollback()
    try:
        redis_connection(current_app.config["REDIS_URL"]).ping()
        checks["redis"] = {"status": "ok"}
    except RedisError as exc:
        checks["redis"] = {"status": "error", "error": type(exc).__name__}
    healthy = all(check["status"] == "ok" for check in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503
