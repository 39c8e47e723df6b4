"""The pixel: ``GET /t.js`` (the script) and ``POST /collect`` (what it reports).

/collect answers 204 as soon as the hit is stored. Refusals are 4xx with a JSON reason and are
counted on the workspace (Setup → Tracking shows them); bots get a silent 204 and are counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from webapp.intake import click_ids, collect, tracking
from webapp.intake.channels import host_of
from webapp.intake.conversions import loads_strict
from webapp.push import realtime_settings
from webapp.web_extensions import csrf, limiter

log = logging.getLogger(__name__)

bp = Blueprint("pixel", __name__)
csrf.exempt(bp)
limiter.exempt(bp)  # no per-IP limit: whole offices share one address
# Every page view of every site comes here, so the app skips for it what it never uses:
# Flask-Limiter's per-request check (the blueprint is exempt anyway; webapp.factory) and the
# signed-in session on /collect (webapp.accounts.sessions.CookieSessions).
UNLIMITED_BLUEPRINT = bp.name
SESSIONLESS_PATHS = frozenset({"/collect"})

PIXEL_CACHE_SECONDS = 3600


CLICK_PARAMS_MARKER = "/*CLICK_PARAMS*/[]"
TAGS_CACHE_SECONDS = 300


def _compact(source: str) -> str:
    """The served pixel without its opening documentation comment, whole-line ``//`` comments and
    indentation: the same code, in fewer bytes on every page of every site."""
    if source.startswith("/*"):
        source = "/* SourceLoop pixel */" + source[source.index("*/") + 2 :]
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"


def _script_body() -> bytes:
    """t.js with the capture list of the installed plugins' click-id parameters, built once per
    app (the registry does not change while the app runs)."""
    cached = current_app.extensions.get("pixel_script")
    if cached is None:
        source = (Path(current_app.static_folder) / "t.js").read_text(encoding="utf-8")
        names = json.dumps(list(click_ids.catalog().names))
        cached = current_app.extensions["pixel_script"] = _compact(
            source.replace(CLICK_PARAMS_MARKER, names)
        ).encode("utf-8")
    return cached


@bp.get("/t.js")
def script():  # noqa: ANN201
    body = _script_body()
    response = Response(body, mimetype="text/javascript")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = PIXEL_CACHE_SECONDS
    response = response.make_conditional(request)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/t/tags.js")
def browser_tags():  # noqa: ANN201
    """The platform browser tags (capability ``realtime_events``) of this site's connections
    that opted in, handed to the pixel with ``sourceloop.tags([...])``: each plugin's own
    function, the events it reports and its public settings (never a secret). Sites whose
    connections did not opt in get no platform code at all. Cached for a few minutes."""
    key = request.args.get("k", "")
    site = tracking.pixel_site(key) if 0 < len(key) <= 40 else None
    if site is None:
        response = Response(b"/* unknown or missing pixel key (?k=) */\n", 404)
        response.mimetype = "text/javascript"
    else:
        entries = []
        for tag in realtime_settings.browser_tags(site.workspace_id):
            entries.append(
                f"{{tag: {json.dumps(tag['tag'])}, events: {json.dumps(tag['events'])}, "
                f"config: {json.dumps(tag['config'])},\nrun: {tag['script']}}}"
            )
        body = "window.sourceloop && window.sourceloop.tags && window.sourceloop.tags([\n"
        body += ",\n".join(entries) + "\n]);\n"
        response = Response(_compact(body).encode("utf-8"), mimetype="text/javascript")
        response.cache_control.public = True
        response.cache_control.max_age = TAGS_CACHE_SECONDS
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


_CORS = (
    ("Access-Control-Allow-Methods", "POST"),
    ("Access-Control-Allow-Headers", "Content-Type"),
    ("Access-Control-Max-Age", "86400"),
)
_NOT_STORED = (("Vary", "Origin"), ("Cache-Control", "no-store"))


def _cors_headers(origin: str | None) -> list[tuple[str, str]]:
    if origin:
        return [("Access-Control-Allow-Origin", origin), *_CORS, *_NOT_STORED]
    return list(_NOT_STORED)


def _cors(response: Response, origin: str | None) -> Response:
    response.headers.extend(_cors_headers(origin))
    return response


def _no_content(origin: str | None) -> Response:
    """The 204 of an accepted (or silently dropped) hit, its headers given at once."""
    return Response(status=204, headers=_cors_headers(origin))


def _refuse(status: int, message: str, origin: str | None = None) -> Response:
    response = jsonify(error={"status": status, "message": message})
    response.status_code = status
    return _cors(response, origin)


@bp.route("/collect", methods=["POST", "OPTIONS"])
def collect_hit():  # noqa: ANN201
    key = request.args.get("k", "")
    site = tracking.pixel_site(key) if 0 < len(key) <= 40 else None
    if site is None:
        return _refuse(403 if key else 400, "unknown or missing pixel key (?k=)")
    origin = request.headers.get("Origin")
    origin_host = host_of(origin) if origin and origin != "null" else ""
    if origin_host and not site.allows(origin_host):
        tracking.count_rejection(site.workspace_id, "foreign_origin")
        return _refuse(403, f"{origin_host} is not an allowed domain for this pixel")
    allowed_origin = origin if origin_host else None
    if request.method == "OPTIONS":
        return _no_content(allowed_origin)

    if (request.content_length or 0) > collect.MAX_BODY:
        tracking.count_rejection(site.workspace_id, "oversized")
        return _refuse(413, f"payloads are limited to {collect.MAX_BODY} bytes", allowed_origin)
    body = request.stream.read(collect.MAX_BODY + 1)
    if len(body) > collect.MAX_BODY:
        tracking.count_rejection(site.workspace_id, "oversized")
        return _refuse(413, f"payloads are limited to {collect.MAX_BODY} bytes", allowed_origin)
    if collect.is_bot(request.headers.get("User-Agent", "")):
        tracking.count_rejection(site.workspace_id, "bot")
        return _no_content(allowed_origin)
    try:
        hit = collect.parse_hit(loads_strict(body), site)
        if not origin_host and not site.allows(host_of(hit.url)):
            raise collect.Rejected("foreign_origin", "the page is not on an allowed domain", 403)
    except collect.Rejected as exc:
        tracking.count_rejection(site.workspace_id, exc.reason)
        return _refuse(exc.status, exc.message, allowed_origin)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
        tracking.count_rejection(site.workspace_id, "malformed")
        return _refuse(400, "the payload is not valid JSON", allowed_origin)
    saved = collect.submit(current_app._get_current_object(), site, hit)  # type: ignore[attr-defined]
    # After the commit, never failing the hit: a new event (not a replayed one) nudges the
    # real-time job of the connections that send it.
    realtime_settings.after_save(site.workspace_id, saved)
    return _no_content(allowed_origin)
