"""/collect's intake of one pixel hit: parsing and validating it (plain code, no ORM), and
handing it to the process's write-behind writer, which records batches of hits
(``webapp.intake.visits``: the visitor, their session, its touchpoint, every click id); pixel
events become conversions at once.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask
from sqlalchemy import bindparam, update

from webapp.extensions import db
from webapp.intake import click_ids as click_catalog
from webapp.intake import conversions, identity, visits
from webapp.intake.channels import host_of
from webapp.intake.tracking import PixelSite
from webapp.intake.visits import lock_order
from webapp.models import TrackingSettings
from webapp.models.types import utcnow
from webapp.privacy import consent
from webapp.sqlite import writing

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024
EXIT_FLUSH_SECONDS = 15.0  # gunicorn.conf.py's graceful_timeout is 20
INSTALL_STATUS_EVERY = 60.0  # seconds between "last hit" writes per workspace and process
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id")
PAYLOAD_KEYS = frozenset({"v", "t", "u", "r", "c", "m", "e", "id", "p", "ts", "cs"})
EVENT_KEYS = frozenset({"value", "currency", "email", "phone"})
_BOTS = re.compile(
    r"bot|crawl|spider|slurp|headless|phantom|puppeteer|playwright|selenium|lighthouse|"
    r"pingdom|uptime|monitor|preview|scan|curl/|wget/|python-|java/|go-http|okhttp|libwww|httpx",
    re.IGNORECASE,
)
_SAFE = re.compile(r"^[A-Za-z0-9._~-]{1,255}$")


class Rejected(Exception):
    """A payload /collect refuses; ``reason`` is a rejection counter name."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason, self.message, self.status = reason, message, status


def is_bot(user_agent: str) -> bool:
    if len(user_agent) > 512:  # remembered below only when short, to bound the memory it holds
        return bool(_BOTS.search(user_agent))
    return not user_agent or _bot_agent(user_agent)


@functools.lru_cache(maxsize=2048)
def _bot_agent(user_agent: str) -> bool:
    """A site's visitors send a few hundred distinct User-Agents; the pattern runs once each."""
    return bool(_BOTS.search(user_agent))


@dataclass
class Hit:
    visitor_uid: str
    kind: str  # pageview | event | consent (the visitor's consent changed on the page)
    url: str
    referrer: str = ""
    click_ids: dict[str, str] = field(default_factory=dict)
    utm: dict[str, str] = field(default_factory=dict)
    event: conversions.ConversionInput | None = None
    consent: consent.Consent = consent.DEFAULT


def _text(payload: dict, key: str, max_len: int, default: str | None = None) -> str:
    value = payload.get(key, default)
    if not isinstance(value, str) or len(value) > max_len:
        raise Rejected("malformed", f"{key} must be a string of at most {max_len} characters")
    return value


def _str_map(payload: dict, key: str, allowed: tuple[str, ...]) -> dict[str, str]:
    value = payload.get(key) or {}
    if not isinstance(value, dict) or not set(value) <= set(allowed):
        raise Rejected("malformed", f"{key} must be an object with keys among {', '.join(allowed)}")
    out = {}
    for name, item in value.items():
        if not isinstance(item, str) or len(item) > 255:
            raise Rejected("malformed", f"{key}.{name} must be a string of at most 255 characters")
        if item:
            out[name] = item
    return out


def _click_ids(payload: dict, catalog: click_catalog.ClickIdCatalog) -> dict[str, str]:
    """The declared click ids of ``c``. A parameter no installed plugin declares is ignored, not
    refused: a browser may run a cached pixel from before a plugin was removed, and its page view
    still counts."""
    value = payload.get("c") or {}
    if not isinstance(value, dict):
        raise Rejected("malformed", "c must be an object of click ids")
    out = {}
    for name, item in value.items():
        if not isinstance(item, str) or len(item) > 255:
            raise Rejected(
                "malformed", f"c.{str(name)[:16]} must be a string of at most 255 characters"
            )
        if not item or name not in catalog.params:
            continue
        if not _SAFE.match(item) or not catalog.accepts(name, item):
            raise Rejected("malformed", f"c.{name} is not a well-formed {name} click id")
        out[name] = item
    return out


def without_params(url: str, names: Iterable[str]) -> str:
    """``url`` without the query parameters ``names`` (the click ids of a visitor who has not
    consented)."""
    parts = urlsplit(url)
    drop = set(names)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_hit(
    payload: Any, site: PixelSite, catalog: click_catalog.ClickIdCatalog | None = None
) -> Hit:
    """``catalog``: the app's click-id catalog (default: the current app's)."""
    if not isinstance(payload, dict):
        raise Rejected("malformed", "the payload must be a JSON object")
    unknown = set(payload) - PAYLOAD_KEYS
    if unknown:
        raise Rejected("malformed", f"unknown field {sorted(unknown)[0][:40]!r}")
    uid = _text(payload, "v", 64)
    if not conversions.VISITOR_UID.match(uid):
        raise Rejected("malformed", "v must be a visitor id")
    kind = payload.get("t")
    if kind not in ("pageview", "event", "consent"):
        raise Rejected("malformed", "t must be pageview, event or consent")
    url = _text(payload, "u", 2048)
    if not url.startswith(("http://", "https://")) or not host_of(url):
        raise Rejected("malformed", "u must be the page's absolute http(s) URL")
    hit = Hit(uid, kind, url, _text(payload, "r", 2048, ""))
    catalog = catalog or click_catalog.catalog()
    hit.click_ids = _click_ids(payload, catalog)
    given = consent.parse_pixel(payload.get("cs"))
    if given is None:
        raise Rejected("malformed", "cs must be {a: granted|denied|unknown, s: pixel|tcf|default}")
    hit.consent = given
    if site.require_consent and given.state != consent.GRANTED:
        # The pixel holds click ids back until consent; an old cached pixel may not, so the
        # server drops them too, from the page address as well.
        hit.click_ids = {}
        hit.url = without_params(hit.url, catalog.names)
    hit.utm = _str_map(payload, "m", UTM_KEYS)
    ts = payload.get("ts")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int | float)):
        raise Rejected("malformed", "ts must be a number")
    if kind == "event":
        hit.event = _parse_event(payload, site, uid, given)
    return hit


def _parse_event(
    payload: dict, site: PixelSite, uid: str, given: consent.Consent
) -> conversions.ConversionInput:
    name = _text(payload, "e", 64)
    if name not in site.events:
        raise Rejected("malformed", f"unknown event {name[:64]!r}")
    event_id = _text(payload, "id", 64)
    if not conversions.VISITOR_UID.match(event_id):
        raise Rejected("malformed", "id must be 8-64 letters, digits, _ or -")
    props = payload.get("p") or {}
    if not isinstance(props, dict) or not set(props) <= EVENT_KEYS:
        raise Rejected("malformed", "p must be an object with value, currency, email, phone")
    value, problem = conversions.parse_value(props.get("value"))
    currency, currency_problem = conversions.parse_currency(props.get("currency"))
    if problem or currency_problem or (value is not None and currency is None):
        raise Rejected("malformed", "p.value must be a decimal with an ISO 4217 p.currency")
    plain = {}
    for key in ("email", "phone"):
        raw = props.get(key)
        if raw is None or raw == "":
            continue
        if not isinstance(raw, str) or len(raw) > 254:
            raise Rejected("malformed", f"p.{key} must be a string")
        plain[key] = raw
    # An unusable address is dropped, not refused: forms vary.
    digests, _unusable = identity.hash_identity(
        email=plain.get("email"), phone=plain.get("phone"), region=site.phone_region
    )
    return conversions.ConversionInput(
        event=name,
        occurred_at=utcnow(),
        external_id=f"px:{event_id}",
        value=value,
        currency=currency,
        visitor_uid=uid,
        email_sha256=digests.email,
        phone_sha256=digests.phone,
        identity_digests=digests.by_rules,
        consent_state=given.state,
        consent_source=given.source,
    )


# --- recording -----------------------------------------------------------------------------

settings_t = TrackingSettings.__table__

_status_marks: dict[str, float] = {}
_status_lock = threading.Lock()


def _install_status_due(public_key: str) -> bool:
    """Keyed by pixel key, so a new key (or a recreated workspace) reports its first hit at once."""
    now = time.monotonic()
    with _status_lock:
        if _status_marks.get(public_key, 0.0) > now:
            return False
        _status_marks[public_key] = now + INSTALL_STATUS_EVERY
        return True


_install_status = (
    update(settings_t)
    .where(settings_t.c.workspace_id == bindparam("ws"))
    .values(last_hit_at=bindparam("now"), last_hit_domain=bindparam("domain"))
)


def record(site: PixelSite, hit: Hit, now: datetime | None = None) -> list[conversions.Arrival]:
    """Write one hit now, in its own transaction (pixel events, a full writer queue, tests);
    → its event's ``Arrival`` once committed (none for a page view)."""
    now = now or utcnow()
    saved: list[conversions.Arrival] = []
    with writing(), db.engine.begin() as conn:
        visits.write(conn, [(site, hit, now)])
        if hit.event is not None:
            results = conversions.insert(conn, site.workspace_id, [hit.event], "pixel")
            saved = conversions.arrivals([hit.event], results)
    _mark_install_status([(site, hit, now)])
    return saved


def _mark_install_status(hits: list) -> None:
    """The workspace's "last hit" mark, in its own short transaction after the hits are
    committed: written inside a batch it was a lock held while the batch locked visitors, which
    deadlocked against another worker's batch."""
    due, seen = {}, set()
    for site, hit, at in hits:
        if site.workspace_id in seen:
            continue
        seen.add(site.workspace_id)
        if _install_status_due(site.public_key):
            due[site.workspace_id] = {
                "ws": site.workspace_id,
                "now": at,
                "domain": host_of(hit.url)[:255],
            }
    if not due:
        return
    with db.engine.begin() as conn:
        for ws in sorted(due):
            conn.execute(_install_status, due[ws])


class HitWriter:
    """Write-behind for page views: /collect hands the hit over and answers 204; one thread per
    worker process writes what has queued in one transaction (every ``interval`` seconds, at
    most ``max_batch`` hits). Hits are never dropped silently: when the queue is full the request
    writes its own hit. A crash can lose at most the last ``interval`` of page views; pixel events
    (conversions) are always written before the response.

    The queue is short on purpose (``max_queue``): a process that exits (a deploy, gunicorn's
    ``max_requests`` recycling) writes what is queued before it goes (``flush`` at exit, within
    ``EXIT_FLUSH_SECONDS``, under gunicorn's graceful timeout). A queue of 20,000 took longer
    than that on PostgreSQL under load, and the rest was lost; when the writer is behind, the
    requests write their own hits instead, which slows intake to what the database takes.

    Created lazily per process (gunicorn forks after loading the app)."""

    def __init__(
        self, app: Flask, interval: float = 0.05, max_batch: int = 500, max_queue: int = 2_000
    ) -> None:
        self.app = app
        self.interval = interval
        self.max_batch = max_batch
        self.queue: queue.Queue = queue.Queue(max_queue)
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="collect-writer", daemon=True)
        self.thread.start()
        atexit.register(self.flush, EXIT_FLUSH_SECONDS)

    def submit(self, site: PixelSite, hit: Hit) -> None:
        if not self.offer(site, hit):
            record(site, hit)

    def offer(self, site: PixelSite, hit: Hit) -> bool:
        """Queue ``hit``; False when the queue is full (the caller writes it)."""
        try:
            self.queue.put_nowait((site, hit, utcnow()))
        except queue.Full:
            return False
        return True

    def flush(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            if self.queue.qsize() < self.max_batch:
                # Let a batch gather; behind (a burst), write at once and catch up.
                time.sleep(self.interval)
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.app.app_context():
                    self._write(batch)
            except Exception:
                log.exception("collect writer: batch of %d failed", len(batch))
            finally:
                for _ in batch:
                    self.queue.task_done()

    def _write(self, batch: list) -> None:
        batch = sorted(batch, key=lock_order)
        try:
            with writing(), db.engine.begin() as conn:
                visits.write(conn, batch)
        except Exception:  # one hit the database refuses must not cost the others
            log.warning(
                "collect writer: batch failed, writing its %d hits one by one",
                len(batch),
                exc_info=True,
            )
            for item in batch:
                try:
                    with writing(), db.engine.begin() as conn:
                        visits.write(conn, [item])
                except Exception:
                    log.exception("collect writer: hit of visitor %s lost", item[1].visitor_uid)
        _mark_install_status(batch)


_writers: dict[int, HitWriter] = {}
_writers_lock = threading.Lock()


def submit(app: Flask, site: PixelSite, hit: Hit) -> list[conversions.Arrival]:
    """Record ``hit``: page views through the process's writer when write-behind is on (the
    default outside tests; ``COLLECT_WRITE_BEHIND`` overrides), pixel events at once; → the
    event's ``Arrival`` (whether it was new), for the real-time nudge."""
    if hit.event is not None or not enqueue(app, site, hit):
        return record(site, hit)
    return []


def enqueue(app: Flask, site: PixelSite, hit: Hit) -> bool:
    """Hand a page view to the process's writer; False when write-behind is off or the writer's
    queue is full (the caller writes the hit itself)."""
    if not app.config.get("COLLECT_WRITE_BEHIND", not app.testing):
        return False
    key = id(app)
    writer = _writers.get(key)
    if writer is None or writer.pid != os.getpid():
        with _writers_lock:
            writer = _writers.get(key)
            if writer is None or writer.pid != os.getpid():
                writer = _writers[key] = HitWriter(app)
    return writer.offer(site, hit)
