"""The part of the ``/_emulator/`` control API every emulator has: the endpoint list, reset,
faults (list and clear; arming is the emulator's own, its kinds are its platform's), the calls
received and expiring access tokens. JSON in, JSON out, no authentication (loopback only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from .world import WorldBase

PREFIX = "/_emulator"


def bad(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def fault_request_error(
    body: dict[str, Any], operations: Sequence[str], kinds: Sequence[str]
) -> str | None:
    """What is wrong with a request to arm a fault, as far as every emulator checks it."""
    operation, kind = body.get("operation", "*"), body.get("kind")
    if operation not in operations:
        return f"unknown operation; use one of {list(operations)}"
    if kind not in kinds:
        return f"unknown kind; use one of {list(kinds)}"
    status = body.get("status")
    if kind == "bare" and not (
        status in (401, 403) or (isinstance(status, int) and 500 <= status < 600)
    ):
        return "kind bare needs status 401, 403 or 5xx"
    return None


def add_common_routes(
    bp: Blueprint,
    get_world: Callable[[], WorldBase[Any, Any]],
    fault_kinds: Sequence[str],
    operations: Sequence[str],
) -> None:
    """Register the shared routes on an emulator's control blueprint (prefix ``/_emulator``)."""

    def index() -> Any:
        rules = sorted(
            f"{','.join(sorted(r.methods - {'HEAD', 'OPTIONS'}))} {r.rule}"  # type: ignore[operator]
            for r in current_app.url_map.iter_rules()
            if r.rule.startswith(PREFIX)
        )
        return jsonify({"endpoints": rules, "fault_kinds": fault_kinds, "operations": operations})

    def reset() -> Any:
        get_world().reset()
        return jsonify({"reset": True})

    def list_faults() -> Any:
        world = get_world()
        with world.lock:
            return jsonify({"faults": [vars(f) for f in world.faults]})

    def clear_faults() -> Any:
        world = get_world()
        with world.lock:
            world.faults.clear()
        return jsonify({"faults": []})

    def calls() -> Any:
        world = get_world()
        with world.lock:
            return jsonify({"calls": list(world.calls)})

    def expire() -> Any:
        world = get_world()
        key = json_body().get("user")
        user = world.user_by_key(key) if key else None
        if key and user is None:
            return bad("unknown user", 404)
        expired = world.expire_access_tokens(user.id if user else None)
        return jsonify({"expired_access_tokens": expired})

    bp.add_url_rule("/", "index", index, methods=["GET"])
    bp.add_url_rule("/reset", "reset", reset, methods=["POST"])
    bp.add_url_rule("/faults", "list_faults", list_faults, methods=["GET"])
    bp.add_url_rule("/faults", "clear_faults", clear_faults, methods=["DELETE"])
    bp.add_url_rule("/calls", "calls", calls, methods=["GET"])
    bp.add_url_rule("/tokens/expire", "expire", expire, methods=["POST"])


def with_query(url: str, *queries: str) -> str:
    """``url`` with each non-empty query string appended after its own, joined by ``&``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, *queries]))))
