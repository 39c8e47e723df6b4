"""Microsoft identity platform (Entra ID) vocabulary: AADSTS errors, scopes, redirect URIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Response, jsonify

ADS_SCOPES = (
    "https://ads.microsoft.com/msads.manage",
    "https://si.ads.microsoft.com/msads.manage",
)
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")

SCOPE_DESCRIPTIONS = {
    "https://ads.microsoft.com/msads.manage": "Manage your Microsoft Advertising accounts",
    "https://si.ads.microsoft.com/msads.manage": "Manage your Microsoft Advertising sandbox accounts",
    "offline_access": "Maintain access to data you have given it access to",
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
}

# AADSTS code -> (OAuth error, description head)
AADSTS: dict[int, tuple[str, str]] = {
    50011: (
        "invalid_request",
        "The redirect URI specified in the request does not match the redirect URIs "
        "configured for the application.",
    ),
    50034: ("invalid_request", "The user account does not exist in the directory."),
    50173: (
        "invalid_grant",
        "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
    ),
    54005: (
        "invalid_grant",
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
        "or use an existing refresh token.",
    ),
    70000: (
        "invalid_grant",
        "The request was denied because one or more scopes requested are unauthorized or "
        "expired. The user must first sign in and grant the client application access to the "
        "requested scope.",
    ),
    70003: ("unsupported_grant_type", "The app requested an unsupported grant type."),
    70008: (
        "invalid_grant",
        "The provided authorization code or refresh token has expired due to inactivity. "
        "Send a new interactive authorization request for this user and resource.",
    ),
    70011: (
        "invalid_scope",
        "The provided value for the input parameter 'scope' is not valid.",
    ),
    700016: (
        "unauthorized_client",
        "Application with identifier was not found in the directory.",
    ),
    700082: (
        "invalid_grant",
        "The refresh token has expired due to inactivity. The token was issued on an earlier "
        "date and was inactive for 90 days.",
    ),
    7000215: ("invalid_client", "Invalid client secret provided."),
    501481: (
        "invalid_grant",
        "The Code_Verifier does not match the code_challenge supplied in the authorization "
        "request.",
    ),
    900144: ("invalid_request", "The request body must contain the following parameter."),
    50033: ("temporarily_unavailable", "The service is temporarily unavailable."),
    90024: ("server_error", "An internal error occurred."),
}


def error_body(code: int, now: datetime, extra: str = "") -> dict[str, Any]:
    """The JSON Entra returns on token errors, trace and correlation ids included."""
    error, head = AADSTS[code]
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    detail = f" {extra}" if extra else ""
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {head}{detail} Trace ID: {trace_id} Correlation ID: "
            f"{correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def error_response(code: int, now: datetime, extra: str = "") -> Response:
    body = error_body(code, now, extra)
    status = 401 if body["error"] == "invalid_client" else 400
    if body["error"] in ("temporarily_unavailable", "server_error"):
        status = 503 if body["error"] == "temporarily_unavailable" else 500
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect_uri_allowed(candidate: str, registered: tuple[str, ...]) -> bool:
    """Exact match, except that the port of a loopback URI is ignored (as Entra does)."""
    if candidate in registered:
        return True
    cand = urlsplit(candidate)
    if cand.hostname not in ("localhost", "127.0.0.1") or cand.scheme != "http":
        return False
    for uri in registered:
        reg = urlsplit(uri)
        if (
            reg.scheme == cand.scheme
            and reg.hostname == cand.hostname
            and reg.path == cand.path
            and reg.query == cand.query
        ):
            return True
    return False


def ads_scope_in(scopes: list[str]) -> bool:
    return any(s in ADS_SCOPES for s in scopes)


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in ADS_SCOPES and s not in OIDC_SCOPES]
