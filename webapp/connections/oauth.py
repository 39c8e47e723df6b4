"""The host's half of the OAuth dance, driven by a plugin's ``OAuthSpec``.

One Authlib flow for every platform: authorization code with ``state`` and PKCE S256. The
verifier and state live in the signed session cookie only until the callback (they are useless
without the client secret, which never leaves the server); tokens never go into the cookie.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass

from authlib.integrations.requests_client import OAuth2Session
from flask import current_app, session, url_for

from platforms.base import Platform

SESSION_KEY = "oauth_pending"
PENDING_MAX_AGE = 15 * 60


@dataclass(frozen=True)
class PendingAuthorization:
    state: str
    code_verifier: str
    platform_key: str
    workspace_id: int
    user_id: int
    started_at: float
    reconnect_connection_id: int | None = None


def callback_url(platform_key: str) -> str:
    """The exact redirect URI registered with the platform (no workspace id: it is one URL)."""
    return current_app.config["PUBLIC_URL"] + url_for("oauth.callback", key=platform_key)


def oauth_client(platform: Platform, **kwargs: object) -> OAuth2Session:
    spec = platform.oauth_spec()
    return OAuth2Session(
        client_id=spec.client_id,
        client_secret=spec.client_secret,
        scope=" ".join(spec.scopes),
        redirect_uri=callback_url(platform.key),
        code_challenge_method=spec.code_challenge_method,
        token_endpoint=spec.token_url,
        **kwargs,
    )


def begin(
    platform: Platform,
    *,
    workspace_id: int,
    user_id: int,
    reconnect_connection_id: int | None = None,
) -> str:
    """Remember the pending authorization and return the platform's authorize URL."""
    spec = platform.oauth_spec()
    verifier = secrets.token_urlsafe(64)
    client = oauth_client(platform)
    url, state = client.create_authorization_url(
        spec.authorize_url, code_verifier=verifier, **dict(spec.authorize_params)
    )
    pending = PendingAuthorization(
        state=state,
        code_verifier=verifier,
        platform_key=platform.key,
        workspace_id=workspace_id,
        user_id=user_id,
        started_at=time.time(),
        reconnect_connection_id=reconnect_connection_id,
    )
    session[SESSION_KEY] = asdict(pending)
    return url


def take_pending() -> PendingAuthorization | None:
    """Pop the pending authorization (one use only); None when missing or stale."""
    raw = session.pop(SESSION_KEY, None)
    if not raw:
        return None
    try:
        pending = PendingAuthorization(**raw)
    except TypeError:
        return None
    if time.time() - pending.started_at > PENDING_MAX_AGE:
        return None
    return pending
