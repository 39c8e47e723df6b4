"""Sign-in throttling that an attacker cannot turn against the account's owner.

Two counters of failed sign-ins, both in Redis (shared by every web process, in every
environment):

* per (email, client address), strict: after ``STRICT_FAILURES`` failures within
  ``STRICT_WINDOW`` that address must wait for the window to pass. This stops guessing from one
  place without touching anyone else.
* per email, loose: past ``LOOSE_FAILURES`` failures from anywhere within ``LOOSE_WINDOW``, each
  further attempt from an address that has not signed in to this account before must wait a
  delay that doubles with every failure (up to ``MAX_DELAY``). This slows a botnet spread over
  many addresses. Addresses the owner signed in from (``KNOWN_TTL``) skip this delay, so a correct
  password from the usual place works while others hammer the account.

The per-address request limit of the whole login form (``LOGIN_RATE_LIMIT``, Flask-Limiter) stays
on top. Emails are stored hashed.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import timedelta

from flask import current_app
from redis import Redis

from jobs.queues import redis_connection

STRICT_FAILURES = 5
STRICT_WINDOW = timedelta(minutes=15)
LOOSE_FAILURES = 20
LOOSE_WINDOW = timedelta(hours=1)
MAX_DELAY = timedelta(minutes=15)
KNOWN_TTL = timedelta(days=30)


def _redis() -> Redis:
    return redis_connection(current_app.config["REDIS_URL"])


def _keys(email: str, address: str) -> tuple[str, str, str, str]:
    prefix = f"{current_app.config.get('RATELIMIT_KEY_PREFIX') or 'sourceloop'}:login:"
    who = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    where = hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:16]
    return (
        f"{prefix}fail:{who}:{where}",  # strict counter
        f"{prefix}fail:{who}",  # loose counter
        f"{prefix}last:{who}",  # time of the last failure (for the growing delay)
        f"{prefix}known:{who}",  # addresses that signed in successfully
    )


def wait_seconds(email: str, address: str, now: float | None = None) -> int:
    """How long this address must wait before trying this email again (0: go ahead)."""
    strict, loose, last, known = _keys(email, address)
    where = strict.rsplit(":", 1)[1]
    conn = _redis()
    pipe = conn.pipeline(transaction=False)
    pipe.get(strict)
    pipe.ttl(strict)
    pipe.sismember(known, where)
    pipe.get(loose)
    pipe.get(last)
    strict_count, strict_ttl, is_known, loose_count, last_failure = pipe.execute()
    if int(strict_count or 0) >= STRICT_FAILURES:
        return max(int(strict_ttl or 0), 1)
    failures = int(loose_count or 0)
    if is_known or failures < LOOSE_FAILURES:
        return 0
    delay = min(2 ** min(failures - LOOSE_FAILURES, 30), MAX_DELAY.total_seconds())
    ready_at = float(last_failure or 0) + delay
    now = time.time() if now is None else now
    return math.ceil(ready_at - now) if ready_at > now else 0


def record_failure(email: str, address: str, now: float | None = None) -> None:
    strict, loose, last, _ = _keys(email, address)
    pipe = _redis().pipeline(transaction=True)
    pipe.incr(strict)
    pipe.expire(strict, STRICT_WINDOW)
    pipe.incr(loose)
    pipe.expire(loose, LOOSE_WINDOW)
    pipe.set(last, repr(time.time() if now is None else now), ex=LOOSE_WINDOW)
    pipe.execute()


def record_success(email: str, address: str) -> None:
    strict, _, _, known = _keys(email, address)
    where = strict.rsplit(":", 1)[1]
    pipe = _redis().pipeline(transaction=True)
    pipe.delete(strict)
    pipe.sadd(known, where)
    pipe.expire(known, KNOWN_TTL)
    pipe.execute()
