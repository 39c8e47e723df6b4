"""POST /collect's common case in a few dozen microseconds: a page view of a known pixel key,
handed to the process's write-behind writer, answered 204.

Every page view of every site comes here, and Flask's request machinery (request context, the
app's before/after/teardown hooks, the response object and its header copies) cost about twice
the work of the hit itself. This WSGI layer, in front of the app, answers only the case it can
answer exactly as ``pixel.collect_hit`` would, with the same headers (the security headers,
no-store, CORS for the page's origin); everything else goes to the Flask view unchanged, the
request body replayed: preflights, unknown or uncached keys, refusals (which the view counts),
bots, pixel events, NUL characters in the query, and a writer that cannot take the hit (write-
behind off, or its queue full). Nothing is counted or stored here before that decision.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from sqlalchemy.orm import configure_mappers
from werkzeug.wsgi import get_content_length, get_input_stream

from webapp.extensions import db, platform_registry
from webapp.intake import click_ids, collect, tracking, visits
from webapp.intake.channels import host_of
from webapp.intake.conversions import loads_strict
from webapp.security import DEFAULT_HEADERS, HSTS
from webapp.views.intake import pixel

log = logging.getLogger(__name__)

PATH = "/collect"
# What Flask's Response(status=204) carries, then what webapp.security adds to every response.
_FLASK_DEFAULTS = (("Content-Type", "text/html; charset=utf-8"),)


class _Replay(io.RawIOBase):
    """The body read so far, then the rest of the original input: what the Flask view reads."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head, self.rest = io.BytesIO(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.head.readinto(buffer)
        if n:
            return n
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class CollectLane:
    def __init__(self, app: Flask, inner: Callable) -> None:
        self.app, self.inner = app, inner

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)
        length = get_content_length(environ)
        if length is not None and length > collect.MAX_BODY:
            return self.inner(environ, start_response)  # refused (and counted) by the view
        original = environ["wsgi.input"]
        stream = get_input_stream(environ, max_content_length=self.app.config["MAX_CONTENT_LENGTH"])
        body = stream.read(collect.MAX_BODY + 1)
        try:
            headers = self._accept(environ, body)
        except Exception:  # the view answers it as it always did
            log.debug("collect lane: left to the view", exc_info=True)
            headers = None
        if headers is None:
            environ["wsgi.input"] = _Replay(body, original)
            return self.inner(environ, start_response)
        start_response("204 NO CONTENT", headers)
        return []

    def _accept(self, environ: dict, body: bytes) -> list[tuple[str, str]] | None:
        """The response headers of an accepted page view, after handing it to the writer; None
        when the view must answer."""
        query = environ.get("QUERY_STRING", "")
        if "\x00" in query or "%00" in query:
            return None  # refused by webapp.inputs.refuse_nul_characters
        key = next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == "k"), "")
        site = tracking.cached_site(key) if 0 < len(key) <= 40 else None
        if site is None or len(body) > collect.MAX_BODY:
            return None
        origin = environ.get("HTTP_ORIGIN")
        origin_host = host_of(origin) if origin and origin != "null" else ""
        if origin_host and not site.allows(origin_host):
            return None
        if collect.is_bot(environ.get("HTTP_USER_AGENT", "")):
            return None
        catalog = click_ids.catalog(platform_registry(self.app))
        hit = collect.parse_hit(loads_strict(body), site, catalog)
        if hit.event is not None or (not origin_host and not site.allows(host_of(hit.url))):
            return None
        headers = [
            *pixel._cors_headers(origin if origin_host else None),
            *_FLASK_DEFAULTS,
            *DEFAULT_HEADERS,
            *((HSTS,) if self.app.config["SESSION_COOKIE_SECURE"] else ()),
        ]
        return headers if collect.enqueue(self.app, site, hit) else None


def warm(app: Flask) -> None:
    """What every web worker would do on its first hits, done once before they fork (gunicorn's
    master, ``preload_app``; ``gunicorn.conf.py``): configuring the ORM's mappers (the pixel
    key's lookup is the first ORM query), loading the platform plugins and their click-id
    catalog, building the writer's statements. gunicorn replaces a worker every
    ``max_requests``: without this each new one spent about 150 ms on it. No connection is
    opened (a forked worker must not share one)."""
    with app.app_context():
        configure_mappers()
        click_ids.catalog(platform_registry(app))
        visits.prepare(db.engine.dialect)
