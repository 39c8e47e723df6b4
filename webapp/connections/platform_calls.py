"""No database transaction is open while a job waits on an ad platform.

A platform call can take up to its read timeout (90 s for an upload). A transaction left
open across it keeps the connection "idle in transaction", holding its locks: a release
migration's ``ALTER TABLE`` queues behind it, and every query behind that. So jobs work in three
steps (claim and commit, call, record and commit), and this module is the check that they do:
every HTTP request a platform session sends (and every token refresh) passes ``check`` first.

``PLATFORM_CALL_GUARD`` decides what a breach does: ``raise`` (tests: the job fails, naming the
call), ``log`` (production: an error line, the call still goes out) or ``off``. Only code running
inside a job is checked (``jobs.runtime`` enters ``job_scope``); a web request's own transaction
ends with the request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context

from webapp.extensions import db

log = logging.getLogger(__name__)

_in_job: ContextVar[bool] = ContextVar("sourceloop_in_job", default=False)


class TransactionOpenDuringPlatformCall(RuntimeError):
    """A job called a platform while its database session had a transaction open."""


@contextmanager
def job_scope() -> Iterator[None]:
    token = _in_job.set(True)
    try:
        yield
    finally:
        _in_job.reset(token)


def check(what: str) -> None:
    """Call right before any request to a platform; ``what`` names it (never a secret)."""
    if not _in_job.get() or not has_app_context():
        return
    mode = current_app.config.get("PLATFORM_CALL_GUARD", "log")
    if mode == "off" or not db.session().in_transaction():
        return
    message = (
        f"a database transaction is open while calling the platform ({what}): "
        "commit before the call and record after it"
    )
    if mode == "raise":
        raise TransactionOpenDuringPlatformCall(message)
    log.error(message)


class GuardedSession(requests.Session):
    """A plain session (no OAuth) for platform calls that carry their own credentials, e.g. a
    real-time event path's token: every request passes ``check`` like the OAuth sessions'."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        check(f"{request.method} {urlsplit(request.url or '').path}")
        return super().send(request, **kwargs)
