"""Server-side revocable sessions on top of Flask's signed cookie.

The cookie names the user *and* their session version (``User.get_id``); every request loads the
user and compares the version, so bumping it (sign-out, password change, removal from a
workspace, a demotion) ends every session of that user at once, on every device. Without this a
copied cookie stayed valid for its whole 12-hour lifetime after sign-out.
"""

from __future__ import annotations

from hashlib import sha512

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from webapp.extensions import db
from webapp.models import User


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the user only while the cookie's version is current."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 10:
        return None  # includes cookies from before session versions existed
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def client_fingerprint() -> str:
    """Flask-Login's "strong" session protection compares this per request: the client address
    (``request.remote_addr``, which ProxyFix sets from trusted hops only) and the User-Agent."""
    agent = request.headers.get("User-Agent", "")
    base = f"{request.remote_addr}|{agent}"
    return sha512(base.encode("utf-8", "replace")).hexdigest()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except on the paths given, which never use one (the
    pixel's ``/collect``, called by every page view of every site, cross-site, so a SameSite=Lax
    cookie never even arrives): no cookie parsing or signature check there, and Flask hands the
    request a ``NullSession`` that refuses writes, so no Set-Cookie can leave either."""

    def __init__(self, sessionless_paths: frozenset[str]) -> None:
        self.sessionless_paths = sessionless_paths

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path in self.sessionless_paths:
            return None
        return super().open_session(app, request)
