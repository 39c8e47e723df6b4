"""The conversion API: ``POST /api/v1/conversions`` (one or a batch), ``GET`` by external_id, and
``GET`` a page of conversions with their delivery state per connection (``delivery``: the offline
push; ``realtime``: the real-time event path, ``webapp.push.realtime_status``, the same states the
conversion page shows).

Authenticated with a workspace API key (``Authorization: Bearer sl_live_...``); the key decides
the workspace, nothing in the body can. A batch is validated row by row; the valid rows are
inserted in one transaction and every bad row is reported by its index.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request

from webapp.connections.lifecycle import connection_in_workspace
from webapp.extensions import db
from webapp.inputs import db_int
from webapp.intake import conversions, tracking
from webapp.models import Conversion
from webapp.push import realtime_settings, realtime_status
from webapp.push import states as push_states
from webapp.views.api_auth import require_workspace
from webapp.web_extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(require_workspace)
csrf.exempt(bp)

MAX_BODY = 2 * 1024 * 1024


def _invalid(errors: list[dict], status: int = 422):  # noqa: ANN202
    return jsonify(error={"status": status, "message": "invalid request", "errors": errors}), status


@bp.post("/conversions")
def create_conversions():  # noqa: ANN201
    workspace_id = g.api_workspace_id
    if (request.content_length or 0) > MAX_BODY:
        abort(413, f"Requests are limited to {MAX_BODY // 1024 // 1024} MB.")
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        abort(413, f"Requests are limited to {MAX_BODY // 1024 // 1024} MB.")
    try:
        payload = conversions.loads_strict(body)
    except (ValueError, RecursionError):
        return _invalid([{"field": "", "message": "the body is not valid JSON"}], 400)
    batch = isinstance(payload, dict) and "conversions" in payload
    if batch:
        extra = set(payload) - {"conversions"}
        rows = payload["conversions"]
        if extra or not isinstance(rows, list):
            return _invalid([{"field": "conversions", "message": "must be a list (and alone)"}])
        if not rows or len(rows) > conversions.MAX_BATCH:
            return _invalid(
                [
                    {
                        "field": "conversions",
                        "message": f"must hold 1 to {conversions.MAX_BATCH} rows",
                    }
                ]
            )
    elif isinstance(payload, dict):
        rows = [payload]
    else:
        return _invalid(
            [{"field": "", "message": "send a conversion object or {conversions: [...]}"}]
        )

    events = tracking.event_names(workspace_id)
    region = tracking.settings_for(workspace_id).default_phone_region
    parsed, errors = [], {}
    for index, raw in enumerate(rows):
        row, problems = conversions.parse_row(raw, events, region=region)
        if problems:
            errors[index] = [p.as_json() for p in problems]
        else:
            parsed.append((index, row))
    if not batch and errors:
        return _invalid(errors[0])

    results = conversions.save(workspace_id, [row for _, row in parsed], "api")
    realtime_settings.after_save(
        workspace_id, conversions.arrivals([row for _, row in parsed], results)
    )
    if not batch:
        cid, created = results[0]
        conversion = db.session.get(Conversion, cid)
        body = {
            "status": "created" if created else "existing",
            "conversion": conversions.as_json(conversion),
        }
        return jsonify(body), 201 if created else 200
    report = [
        {
            "index": index,
            "status": "created" if created else "existing",
            "id": cid,
            "external_id": row.external_id,
        }
        for (index, row), (cid, created) in zip(parsed, results, strict=True)
    ]
    report.extend({"index": i, "status": "invalid", "errors": e} for i, e in errors.items())
    report.sort(key=lambda r: r["index"])
    return jsonify(
        created=sum(1 for _, c in results if c),
        existing=sum(1 for _, c in results if not c),
        invalid=len(errors),
        results=report,
    ), 200


@bp.get("/conversions")
def get_conversions():  # noqa: ANN201
    """By ``external_id``: that conversion with its delivery. Otherwise a page of conversions,
    newest first, filtered by ``connection``, ``state``, ``reason`` and ``since``/``until``,
    each with its delivery per connection (state model: ``webapp.push.states``); ``cursor``
    (from ``next_cursor``) continues after the previous page."""
    if "external_id" in request.args:
        return _by_external_id(request.args.get("external_id", ""))
    unknown = set(request.args) - LIST_PARAMS
    if unknown:
        return _bad(f"unknown parameter(s): {', '.join(sorted(unknown))[:200]}")
    limit_raw = request.args.get("limit", str(push_states.PAGE_SIZE))
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= push_states.MAX_LIMIT:
        return _bad(f"limit must be a whole number from 1 to {push_states.MAX_LIMIT}", "limit")
    connection_id = None
    raw_connection = request.args.get("connection", "")
    if raw_connection:
        connection_id = request.args.get("connection", type=db_int)
        if connection_id is None or not connection_in_workspace(g.api_workspace_id, connection_id):
            return _bad("connection must be the id of one of this workspace's connections",
                        "connection")  # fmt: skip
    try:
        filters = push_states.parse_filters(
            state=request.args.get("state"),
            reason=request.args.get("reason"),
            since=request.args.get("since"),
            until=request.args.get("until"),
        )
        found, next_cursor = push_states.conversions_page(
            g.api_workspace_id,
            filters,
            connection_id=connection_id,
            cursor=request.args.get("cursor"),
            limit=int(limit_raw),
        )
    except push_states.BadQuery as exc:
        return _bad(str(exc))
    realtime = realtime_status.for_conversions([conversion for conversion, _ in found])
    return jsonify(
        conversions=[
            {
                **conversions.as_json(conversion),
                "delivery": [row.as_json() for row in rows],
                "realtime": [state.as_json() for state in realtime[conversion.id]],
            }
            for conversion, rows in found
        ],
        next_cursor=next_cursor,
    )


LIST_PARAMS = {"connection", "state", "reason", "since", "until", "limit", "cursor"}


def _bad(message: str, field: str = ""):  # noqa: ANN202
    return _invalid([{"field": field, "message": message}], 400)


def _by_external_id(external_id: str):  # noqa: ANN202
    if not external_id or len(external_id) > 255:
        return _invalid([{"field": "external_id", "message": "is required"}], 400)
    conversion = conversions.by_external_id(g.api_workspace_id, external_id)
    if conversion is None:
        abort(404, "No conversion with that external_id in this workspace.")
    data = conversions.as_json(conversion, with_delivery=True)
    data["realtime"] = [state.as_json() for state in realtime_status.for_conversion(conversion)]
    return jsonify(conversion=data)
