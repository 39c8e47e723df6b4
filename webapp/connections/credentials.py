"""OAuth grants: store them encrypted, hand plugins an authenticated session, refresh safely.

Refresh happens under a Redis lock per grant and re-reads the row inside the lock, so two workers
that see an expiring token at once make one refresh; the second uses the first one's result
instead of replaying a refresh token that the platform has already rotated away.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import select

from jobs.queues import redis_connection
from platforms.base import Platform
from platforms.errors import ReconnectRequired, TransientError
from webapp.common.errors import NotFound
from webapp.connections import platform_calls
from webapp.connections.lifecycle import flag_reconnect_needed
from webapp.extensions import db, platform_registry
from webapp.models import Connection, Credential
from webapp.models.types import utcnow

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30
LOCK_TIMEOUT = 60
# OAuth errors after which only a person signing in again helps.
PERMANENT_OAUTH_ERRORS = {
    "invalid_grant",
    "interaction_required",
    "consent_required",
    "invalid_client",
    "unauthorized_client",
}


def _platform(key: str) -> Platform:
    platform = platform_registry().get(key)
    if platform is None:
        raise NotFound(f"The {key} platform plugin is not installed.")
    return platform


def token_dict(credential: Credential) -> dict[str, Any]:
    return {
        "access_token": credential.access_token,
        "refresh_token": credential.refresh_token,
        "token_type": "Bearer",
        "expires_at": int(credential.expires_at.timestamp()) if credential.expires_at else None,
    }


def apply_token(credential: Credential, token: dict[str, Any]) -> None:
    """Copy a token response onto the credential (a missing refresh token keeps the old one)."""
    credential.access_token = token["access_token"]
    if token.get("refresh_token"):
        credential.refresh_token = token["refresh_token"]
    if token.get("expires_at"):
        credential.expires_at = datetime.fromtimestamp(int(token["expires_at"]), UTC)
    elif token.get("expires_in"):
        credential.expires_at = utcnow() + timedelta(seconds=int(token["expires_in"]))
    if token.get("scope"):
        scope = token["scope"]
        credential.scope = (" ".join(scope) if isinstance(scope, list) else str(scope))[:500]
    credential.refreshed_at = utcnow()


def create_pending(
    platform_key: str, workspace_id: int, user_id: int, token: dict[str, Any]
) -> Credential:
    credential = Credential(
        workspace_id=workspace_id,
        platform_key=platform_key,
        status=Credential.PENDING,
        created_by_id=user_id,
    )
    apply_token(credential, token)
    db.session.add(credential)
    db.session.commit()
    return credential


def _expiring(credential: Credential, leeway: int) -> bool:
    return credential.expires_at is None or credential.expires_at <= utcnow() + timedelta(
        seconds=leeway
    )


def _lock(credential_id: int):  # noqa: ANN202
    return redis_connection(current_app.config["REDIS_URL"]).lock(
        f"sourceloop:lock:credential:{credential_id}",
        timeout=LOCK_TIMEOUT,
        blocking_timeout=LOCK_TIMEOUT,
    )


def fresh_token(credential_id: int, *, force: bool = False) -> dict[str, Any]:
    """The credential's token, refreshed first when it expires soon (or when ``force``)."""
    db.session.commit()  # start a new transaction so that we read what others committed
    credential = db.session.get(Credential, credential_id)
    if credential is None or not credential.refresh_token:
        raise ReconnectRequired("The connection has no stored grant; reconnect it.")
    platform = _platform(credential.platform_key)
    leeway = platform.oauth_spec().refresh_leeway
    if not force and not _expiring(credential, leeway):
        return _ended(token_dict(credential))
    stale_access_token = credential.access_token
    with _lock(credential_id):
        db.session.commit()
        db.session.refresh(credential)
        if credential.access_token != stale_access_token or (
            not force and not _expiring(credential, leeway)
        ):
            return _ended(token_dict(credential))  # another process refreshed while we waited
        _refresh(platform, credential_id, credential.refresh_token)
        credential = db.session.get(Credential, credential_id)
        return _ended(token_dict(credential))


def _ended(token: dict[str, Any]) -> dict[str, Any]:
    """Hand the token back with no transaction open: the caller's next step is a platform call."""
    db.session.commit()
    return token


def _refresh(platform: Platform, credential_id: int, refresh_token: str) -> None:
    """Trade the refresh token at the platform's token endpoint (under the caller's lock) and
    store the result. No transaction is open while the endpoint answers."""
    # Authlib (and the JOSE stack under it) costs a tenth of a second to import; only a refresh
    # needs it, so a push or pull on a live token never loads it.
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.requests_client import OAuth2Session

    spec = platform.oauth_spec()
    client = OAuth2Session(
        client_id=spec.client_id, client_secret=spec.client_secret, scope=" ".join(spec.scopes)
    )
    db.session.commit()
    platform_calls.check(f"{platform.key} token refresh")
    try:
        token = client.refresh_token(
            spec.token_url, refresh_token=refresh_token, timeout=HTTP_TIMEOUT
        )
    except OAuthError as exc:
        if exc.error in PERMANENT_OAUTH_ERRORS:
            revoke(
                credential_id,
                f"{platform.display_name} refused the stored grant "
                f"({exc.error}). Sign in again to reconnect.",
            )
            raise ReconnectRequired(
                f"{platform.display_name} refused the stored grant ({exc.error})", code=exc.error
            ) from None
        raise TransientError(f"token refresh failed: {exc.error}", code=exc.error) from None
    except requests.RequestException as exc:
        raise TransientError(f"token endpoint unreachable: {type(exc).__name__}") from None
    credential = db.session.get(Credential, credential_id)
    apply_token(credential, token)
    db.session.commit()
    log.info("refreshed grant %s for %s", credential_id, platform.key)


def mark_reconnect_needed(
    connection_id: int, reason: str, *, credential_id: int | None = None
) -> None:
    """A job was refused by the platform: the connection needs a person to sign in again.

    ``credential_id`` is the grant the job used. If the connection has moved to another grant
    since (someone reconnected while the job ran), the refusal was about the old one: ignored.
    """
    db.session.commit()  # read what others committed, not this transaction's snapshot
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        return
    db.session.refresh(connection)
    if credential_id is not None and connection.credential_id != credential_id:
        return
    if connection.credential_id is not None:
        revoke(connection.credential_id, reason)
        return
    flag_reconnect_needed(connection, reason)
    db.session.commit()


def revoke(credential_id: int, reason: str) -> None:
    """The grant is dead: every connection using it needs a reconnect. Nothing else is lost."""
    db.session.commit()  # a reconnect may have moved connections to a new grant meanwhile
    credential = db.session.get(Credential, credential_id)
    if credential is None:
        return
    credential.status = Credential.REVOKED
    still_using = db.session.scalars(
        select(Connection).where(Connection.credential_id == credential_id)
    ).all()
    for connection in still_using:
        db.session.refresh(connection)
        flag_reconnect_needed(connection, reason)
    db.session.commit()


class CredentialSession(requests.Session):
    """The session plugins call a platform with: every request carries ``Authorization: Bearer``
    with the grant's access token, refreshed first through ``fresh_token`` (locked, stored) when
    it expires within the platform's leeway; every request has a timeout unless the caller gives
    one; none may leave inside a transaction.

    A plain ``requests.Session`` (what the plugin interface promises): the few lines an OAuth
    client library's session would add are here, so a job on a live token imports no OAuth
    library."""

    def __init__(self, credential_id: int, platform: Platform, token: dict[str, Any]) -> None:
        super().__init__()
        self.credential_id = credential_id
        self.leeway = platform.oauth_spec().refresh_leeway
        self.token = token
        self.default_timeout = HTTP_TIMEOUT
        self.auth = self._sign  # requests calls it as each request is prepared

    def token_expired(self) -> bool:
        """The token ends within the leeway (a token without an end never does)."""
        expires_at = self.token.get("expires_at")
        return bool(expires_at) and int(expires_at) - self.leeway < time.time()

    def ensure_active_token(self) -> bool:
        if self.token_expired():
            self.token = fresh_token(self.credential_id)
        return True

    def force_refresh(self) -> None:
        self.token = fresh_token(self.credential_id, force=True)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)

    def _sign(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Refresh when due, then sign with the access token (a caller's own ``auth`` replaces
        this, as with any requests session)."""
        self.ensure_active_token()
        request.headers["Authorization"] = f"Bearer {self.token['access_token']}"
        return request

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Every request to the platform passes here: none may leave inside a transaction."""
        platform_calls.check(f"{request.method} {urlsplit(request.url or '').path}")
        return super().send(request, **kwargs)


# The grant the current job (or request) last built a session for, so that a refusal can be
# pinned on that grant and not on one a person attached while the job ran.
_last_used: ContextVar[int | None] = ContextVar("sourceloop_credential_in_use", default=None)


def last_used_credential() -> int | None:
    return _last_used.get()


def forget_last_used() -> None:
    _last_used.set(None)


def session_for_credential(credential_id: int) -> CredentialSession:
    """The grant's authenticated session; returns with no transaction open (the caller's next
    step is a platform call)."""
    _last_used.set(credential_id)
    credential = db.session.get(Credential, credential_id)
    if credential is None:
        raise ReconnectRequired("The connection has no stored grant; reconnect it.")
    platform = _platform(credential.platform_key)
    token = fresh_token(credential_id)
    return CredentialSession(credential_id, platform, token)


def session_for_connection(connection_id: int) -> CredentialSession:
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise NotFound("No such connection.")
    if connection.credential_id is None:
        raise ReconnectRequired("This connection was disconnected; connect it again.")
    return session_for_credential(connection.credential_id)


def discard_unused(workspace_id: int, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete pending grants nobody picked an account with (their tokens go with them)."""
    stale = db.session.scalars(
        select(Credential).where(
            Credential.workspace_id == workspace_id,
            Credential.status == Credential.PENDING,
            Credential.created_at < utcnow() - older_than,
        )
    ).all()
    for credential in stale:
        db.session.delete(credential)
    db.session.commit()
    return len(stale)
