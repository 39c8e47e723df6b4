"""Authorization codes, access tokens and rotating refresh tokens.

Pure functions over the world, called by the token endpoint and by the control API's
browserless consent. They return either a token response dict or an AADSTS code, so
the HTTP layer alone decides how an error looks on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any

from .aad import ads_scope_in
from .entities import User
from .state import AccessToken, AuthCode, RefreshToken, World

CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


class GrantError(Exception):
    """An AADSTS failure of a grant; ``extra`` is appended to the description."""

    def __init__(self, code: int, extra: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def issue_code(
    world: World,
    user: User,
    client_id: str,
    redirect_uri: str,
    scopes: list[str],
    challenge: str | None,
    challenge_method: str | None,
) -> str:
    code = "M.C5_BAY.2." + secrets.token_urlsafe(32)
    with world.lock:
        expires = world.now() + timedelta(seconds=world.config.auth_code_ttl)
        world.codes[code] = AuthCode(
            code,
            client_id,
            redirect_uri,
            scopes,
            user.id,
            challenge,
            challenge_method or None,
            expires,
        )
    return code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if (method or "plain") == "S256":
        return hmac.compare_digest(_b64(hashlib.sha256(verifier.encode()).digest()), challenge)
    return hmac.compare_digest(verifier, challenge)


def _id_token(world: World, user: User, client_id: str) -> str:
    """An HS256 JWT signed with the client secret; shaped like a personal-account token."""
    now = int(world.now().timestamp())
    header = {"typ": "JWT", "alg": "HS256"}
    claims = {
        "ver": "2.0",
        "iss": f"https://login.microsoftonline.com/{CONSUMER_TENANT}/v2.0",
        "sub": hashlib.sha256(f"{user.id}:{client_id}".encode()).hexdigest()[:43],
        "aud": client_id,
        "exp": now + world.config.access_token_ttl,
        "iat": now,
        "nbf": now,
        "name": f"{user.first_name} {user.last_name}",
        "preferred_username": user.email,
        "oid": f"00000000-0000-0000-0000-0000{user.id}",
        "tid": CONSUMER_TENANT,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    secret = world.config.client_secret.encode()
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _token_response(
    world: World, user_id: str, client_id: str, scopes: list[str]
) -> dict[str, Any]:
    ttl = world.config.access_token_ttl
    now = world.now()
    access = "EwB" + secrets.token_urlsafe(48)
    world.access_tokens[access] = AccessToken(
        access, user_id, client_id, scopes, now + timedelta(seconds=ttl)
    )
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(
            s for s in scopes if s not in ("offline_access", "openid", "profile", "email")
        ),
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": access,
    }
    if "offline_access" in scopes:
        refresh = "M.C5_BAY.0.U.-" + secrets.token_urlsafe(64)
        world.refresh_tokens[refresh] = RefreshToken(refresh, user_id, client_id, scopes, now)
        body["refresh_token"] = refresh
    if "openid" in scopes:
        body["id_token"] = _id_token(world, world.users[user_id], client_id)
    return body


def redeem_code(
    world: World, code: str, client_id: str, redirect_uri: str, verifier: str | None
) -> dict[str, Any]:
    with world.lock:
        grant = world.codes.get(code)
        if grant is None or grant.client_id != client_id:
            raise GrantError(70000, "The provided authorization code is invalid.")
        if grant.redeemed:
            raise GrantError(54005)
        if grant.expires_at <= world.now():
            raise GrantError(70008)
        if redirect_uri != grant.redirect_uri:
            raise GrantError(50011, f"Expected '{grant.redirect_uri}'.")
        if grant.challenge and not (
            verifier and pkce_matches(verifier, grant.challenge, grant.challenge_method)
        ):
            raise GrantError(501481)
        grant.redeemed = True
        return _token_response(world, grant.user_id, client_id, grant.scopes)


def refresh(world: World, token: str, client_id: str, scope: str | None) -> dict[str, Any]:
    with world.lock:
        stored = world.refresh_tokens.get(token)
        if stored is None or stored.client_id != client_id:
            raise GrantError(70000, "The refresh token is malformed or not valid.")
        if stored.revoked or stored.rotated:
            raise GrantError(50173)
        idle = timedelta(days=world.config.refresh_token_idle_days)
        if stored.last_used + idle <= world.now():
            raise GrantError(700082)
        scopes = stored.scopes
        if scope:
            requested = scope.split()
            if any(s not in stored.scopes for s in requested if s != "offline_access"):
                raise GrantError(70000)
            if not ads_scope_in(requested):
                raise GrantError(70011, "Request the msads.manage scope.")
            scopes = [s for s in stored.scopes if s in requested or s == "offline_access"]
        stored.last_used = world.now()
        if world.config.strict_refresh_rotation:
            stored.rotated = True
        return _token_response(world, stored.user_id, client_id, scopes)


def revoke_user(world: World, user_id: str) -> int:
    """Revoke every refresh token of a user (like "revoke all sessions"); returns the count."""
    with world.lock:
        count = 0
        for stored in world.refresh_tokens.values():
            if stored.user_id == user_id and not stored.revoked:
                stored.revoked = True
                count += 1
        return count
