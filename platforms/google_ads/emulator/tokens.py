"""Authorization codes, access tokens and refresh tokens, as Google hands them out.

Pure functions over the world, used by the token endpoint and by the control API's
browserless consent. Failures raise ``OAuthError`` with Google's ``error`` and
``error_description``; the HTTP layer alone decides how that looks on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from .entities import User
from .state import AccessToken, AuthCode, Grant, RefreshToken, World

EXPIRED_OR_REVOKED = "Token has been expired or revoked."


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _grant(world: World, user_id: str, client_id: str) -> Grant:
    key = (user_id, client_id)
    if key not in world.grants or world.grants[key].revoked:
        world.grants[key] = Grant(user_id, client_id)
    return world.grants[key]


def issue_code(
    world: World,
    user: User,
    client_id: str,
    redirect_uri: str,
    scopes: list[str],
    *,
    offline: bool,
    prompt_consent: bool,
    include_granted_scopes: bool = False,
    challenge: str | None = None,
    challenge_method: str | None = None,
) -> tuple[str, list[str]]:
    """Record the consent and mint a one-time code; returns (code, scopes the code carries)."""
    with world.lock:
        grant = _grant(world, user.id, client_id)
        granted = list(dict.fromkeys(scopes))
        if include_granted_scopes:
            granted += [s for s in sorted(grant.scopes) if s not in granted]
        grant.scopes.update(granted)
        code = "4/0A" + secrets.token_urlsafe(60)
        expires = world.now() + timedelta(seconds=world.config.auth_code_ttl)
        method = (challenge_method or "plain") if challenge else None
        world.codes[code] = AuthCode(code, client_id, redirect_uri, granted, user.id, offline,
                                     prompt_consent, challenge, method, expires)  # fmt: skip
        return code, granted


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if method == "S256":
        return hmac.compare_digest(_b64url(hashlib.sha256(verifier.encode()).digest()), challenge)
    return hmac.compare_digest(verifier, challenge)


def _access_token(world: World, user_id: str, client_id: str, scopes: list[str]) -> str:
    token = "ya29.a0" + secrets.token_urlsafe(120)
    ttl = world.config.access_token_ttl
    world.access_tokens[token] = AccessToken(
        token, user_id, client_id, list(scopes), world.now() + timedelta(seconds=ttl)
    )
    return token


def _refresh_token(world: World, user_id: str, client_id: str, scopes: list[str]) -> str:
    """Google keeps at most ``max_refresh_tokens`` live tokens per user and client: issuing
    one more silently invalidates the oldest."""
    live = sorted(
        (t for t in world.refresh_tokens.values()
         if t.user_id == user_id and t.client_id == client_id and not t.revoked),
        key=lambda t: t.issued_at,
    )  # fmt: skip
    while len(live) >= world.config.max_refresh_tokens:
        live.pop(0).revoked = True
    token = "1//0" + secrets.token_urlsafe(96)
    now = world.now()
    world.refresh_tokens[token] = RefreshToken(token, user_id, client_id, list(scopes), now, now)
    return token


def _body(world: World, access: str, scopes: list[str]) -> dict[str, Any]:
    return {
        "access_token": access,
        "expires_in": world.config.access_token_ttl,
        "scope": " ".join(scopes),
        "token_type": "Bearer",
    }


def redeem_code(
    world: World, code: str, client_id: str, redirect_uri: str, verifier: str | None
) -> dict[str, Any]:
    with world.lock:
        grant = world.codes.get(code)
        if grant is None or grant.client_id != client_id:
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if grant.redeemed or grant.expires_at <= world.now():
            raise OAuthError("invalid_grant", "Bad Request")
        if redirect_uri != grant.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        if grant.challenge:
            if not verifier:
                raise OAuthError("invalid_grant", "Missing code verifier.")
            if not pkce_matches(verifier, grant.challenge, grant.challenge_method):
                raise OAuthError("invalid_grant", "Invalid code verifier.")
        elif verifier:
            raise OAuthError("invalid_grant", "Invalid code verifier.")
        user_grant = world.grants.get((grant.user_id, client_id))
        if user_grant is None or user_grant.revoked:
            raise OAuthError("invalid_grant", "Bad Request")
        grant.redeemed = True
        access = _access_token(world, grant.user_id, client_id, grant.scopes)
        body = _body(world, access, grant.scopes)
        if grant.offline:
            # A refresh token only on the first exchange for this user and client, or when
            # the user was asked to consent again (prompt=consent).
            has_live = any(
                t.user_id == grant.user_id and t.client_id == client_id and not t.revoked
                for t in world.refresh_tokens.values()
            )
            if grant.force_refresh_token or not has_live:
                body["refresh_token"] = _refresh_token(world, grant.user_id, client_id,
                                                       grant.scopes)  # fmt: skip
        return body


def refresh(world: World, token: str, client_id: str, scope: str | None) -> dict[str, Any]:
    with world.lock:
        stored = world.refresh_tokens.get(token)
        if world.fail_refresh > 0 and stored is not None:
            world.fail_refresh -= 1
            raise OAuthError("invalid_grant", EXPIRED_OR_REVOKED)
        if stored is None or stored.client_id != client_id:
            raise OAuthError("invalid_grant", "Bad Request")
        now = world.now()
        idle = timedelta(days=world.config.refresh_token_idle_days)
        ttl_days = world.config.refresh_token_ttl_days
        expired = stored.last_used + idle <= now or (
            ttl_days and stored.issued_at + timedelta(days=ttl_days) <= now
        )
        grant = world.grants.get((stored.user_id, client_id))
        if stored.revoked or expired or grant is None or grant.revoked:
            raise OAuthError("invalid_grant", EXPIRED_OR_REVOKED)
        scopes = stored.scopes
        if scope:
            requested = scope.split()
            if any(s not in stored.scopes for s in requested):
                raise OAuthError("invalid_scope", "Some requested scopes were invalid. "
                                 f"{{invalid={sorted(set(requested) - set(stored.scopes))}}}")  # fmt: skip
            scopes = [s for s in stored.scopes if s in requested]
        stored.last_used = now
        access = _access_token(world, stored.user_id, client_id, scopes)
        return _body(world, access, scopes)


def revoke_token(world: World, token: str) -> bool:
    """Google's /revoke: an access or refresh token revokes the whole grant (every token of
    that user and client). False if the token is unknown or already dead."""
    with world.lock:
        found: AccessToken | RefreshToken | None = world.refresh_tokens.get(
            token
        ) or world.access_tokens.get(token)
        if found is None or found.revoked:
            return False
        if isinstance(found, AccessToken) and found.expires_at <= world.now():
            return False
        revoke_grant(world, found.user_id, found.client_id)
        return True


def revoke_grant(world: World, user_id: str, client_id: str | None = None) -> int:
    """Remove the app's access (as the user does under "Third-party apps"); returns how many
    refresh tokens died."""
    with world.lock:
        for key, grant in world.grants.items():
            if key[0] == user_id and (client_id is None or key[1] == client_id):
                grant.revoked = True
        count = 0
        for stored in world.refresh_tokens.values():
            if stored.user_id == user_id and (client_id is None or stored.client_id == client_id):
                count += 0 if stored.revoked else 1
                stored.revoked = True
        for access in world.access_tokens.values():
            if access.user_id == user_id and (client_id is None or access.client_id == client_id):
                access.revoked = True
        return count
