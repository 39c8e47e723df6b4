"""Google's OAuth 2.0 web-server flow: authorize (with account chooser and consent pages),
token, revoke. Both the current paths and the legacy ones the Google Ads client library still
defaults to are served.

No session cookie: the OAuth parameters travel in hidden fields. With ``auto_consent`` set
(environment or control API) the authorize endpoint answers at once, as a signed-in user who
already said yes (or no) would see it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, g, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from platforms.emulator_kit.connection import drop_connection

from .guard import get_world
from .state import ADWORDS_SCOPE, DATAMANAGER_SCOPE, World
from .tokens import OAuthError, issue_code, redeem_code, refresh, revoke_token

bp = Blueprint("oauth", __name__)

SCOPES = {
    ADWORDS_SCOPE: "See, edit, create and delete your Google Ads accounts and data.",
    DATAMANAGER_SCOPE: "See, edit, create and delete your data in Google's advertising "
    "products through the Data Manager API.",
    "openid": "Associate you with your personal info on Google.",
    "email": "See your primary Google Account email address.",
    "profile": "See your personal info, including any personal info you've made publicly "
    "available.",
    "https://www.googleapis.com/auth/userinfo.email": "See your primary Google Account email "
    "address.",
    "https://www.googleapis.com/auth/userinfo.profile": "See your personal info.",
}
OAUTH_PARAMS = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "access_type", "prompt",
    "include_granted_scopes", "login_hint", "code_challenge", "code_challenge_method",
)  # fmt: skip


def _params(source: Any) -> dict[str, str]:
    return {k: source.get(k, "") for k in OAUTH_PARAMS if source.get(k)}


def _error_page(error: str, description: str, status: int = 400) -> tuple[str, int]:
    return render_template(
        "error.html", error=error, description=description, status=status
    ), status


def _back_to_client(params: dict[str, str], values: dict[str, str]) -> BaseResponse:
    """Google answers on the redirect URI's query: state first, then code or error."""
    ordered = {**({"state": params["state"]} if params.get("state") else {}), **values}
    parts = urlsplit(params["redirect_uri"])
    query = "&".join(filter(None, [parts.query, urlencode(ordered)]))
    return redirect(urlunsplit(parts._replace(query=query)), code=302)


def _validate(world: World, params: dict[str, str]) -> tuple[str, int] | BaseResponse | None:
    """Client and redirect problems, and malformed requests, show Google's error page."""
    if not params.get("client_id"):
        return _error_page("invalid_request", "Missing required parameter: client_id")
    if params["client_id"] != world.config.client_id:
        return _error_page("invalid_client", "The OAuth client was not found.", 401)
    if not params.get("redirect_uri"):
        return _error_page("invalid_request", "Missing required parameter: redirect_uri")
    if params["redirect_uri"] not in world.redirect_uris:
        return _error_page(
            "redirect_uri_mismatch",
            "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 "
            f"policy. redirect_uri={params['redirect_uri']}",
        )
    if not params.get("response_type"):
        return _error_page("invalid_request", "Required parameter is missing: response_type")
    if params["response_type"] != "code":
        return _error_page("unsupported_response_type",
                           f"Invalid response_type: {params['response_type']}")  # fmt: skip
    scopes = params.get("scope", "").split()
    if not scopes:
        return _error_page("invalid_request", "Missing required parameter: scope")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        return _error_page("invalid_scope", f"Some requested scopes were invalid. {{invalid={unknown}}}")  # fmt: skip
    if params.get("access_type", "online") not in ("online", "offline"):
        return _error_page("invalid_request", f"Invalid access_type: {params['access_type']}")
    prompts = params.get("prompt", "").split()
    if any(p not in ("none", "consent", "select_account") for p in prompts) or (
        "none" in prompts and len(prompts) > 1
    ):
        return _error_page("invalid_request", f"Invalid prompt: {params.get('prompt')}")
    method = params.get("code_challenge_method")
    if method and not params.get("code_challenge"):
        return _error_page("invalid_request", "Missing code_challenge.")
    if method and method not in ("S256", "plain"):
        return _error_page("invalid_request", f"Invalid code_challenge_method: {method}")
    return None


def _approve(world: World, params: dict[str, str], user_key: str,
             scopes: list[str] | None = None) -> BaseResponse:  # fmt: skip
    user = world.user_by_key(user_key)
    if user is None:
        return _back_to_client(params, {"error": "access_denied"})
    requested = params["scope"].split()
    chosen = [s for s in requested if scopes is None or s in scopes]
    if not chosen:  # every box unticked: Google treats it as a refusal
        return _back_to_client(params, {"error": "access_denied"})
    code, granted = issue_code(
        world, user, params["client_id"], params["redirect_uri"], chosen,
        offline=params.get("access_type") == "offline",
        prompt_consent="consent" in params.get("prompt", "").split(),
        include_granted_scopes=params.get("include_granted_scopes") == "true",
        challenge=params.get("code_challenge"),
        challenge_method=params.get("code_challenge_method"),
    )  # fmt: skip
    return _back_to_client(params, {"code": code, "scope": " ".join(granted), "authuser": "0",
                                    "prompt": "consent"})  # fmt: skip


@bp.get("/o/oauth2/v2/auth")
@bp.get("/o/oauth2/auth")
def authorize() -> Any:
    world = get_world()
    params = _params(request.args)
    problem = _validate(world, params)
    if problem is not None:
        return problem
    auto = world.auto_consent
    if "none" in params.get("prompt", "").split():
        # No browser session here: only a configured auto-consent user is "signed in".
        user = world.user_by_key(auto) if auto and auto != "deny" else None
        if user is None:
            return _back_to_client(params, {"error": "login_required"})
        grant = world.grants.get((user.id, params["client_id"]))
        if grant is None or grant.revoked or not set(params["scope"].split()) <= grant.scopes:
            return _back_to_client(params, {"error": "consent_required"})
        return _approve(world, params, user.id)
    if auto == "deny":
        return _back_to_client(params, {"error": "access_denied"})
    if auto:
        return _approve(world, params, auto)
    users = sorted(world.users.values(), key=lambda u: u.email)
    return render_template("choose_account.html", params=params, users=users)


@bp.post("/o/oauth2/v2/auth/account")
def choose_account() -> Any:
    world = get_world()
    params = _params(request.form)
    problem = _validate(world, params)
    if problem is not None:
        return problem
    user = world.user_by_key(request.form.get("user", ""))
    if user is None:
        return _error_page("invalid_request", "Unknown account.")
    scopes = [(s, SCOPES[s]) for s in params["scope"].split()]
    return render_template("consent.html", params=params, user=user, scopes=scopes)


@bp.post("/o/oauth2/v2/auth/consent")
def consent() -> Any:
    """Continue issues a code for the ticked scopes; Cancel answers ``error=access_denied``."""
    world = get_world()
    params = _params(request.form)
    problem = _validate(world, params)
    if problem is not None:
        return problem
    if request.form.get("decision") != "allow":
        return _back_to_client(params, {"error": "access_denied"})
    return _approve(world, params, request.form.get("user", ""), request.form.getlist("granted"))


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body, indent=2), status=status,
                        mimetype="application/json")  # fmt: skip
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    return response


def _client_credentials() -> tuple[str, str]:
    """Google takes the client secret in the body or as HTTP Basic."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


def _id_token(world: World, user_id: str, client_id: str) -> str:
    """An HS256 JWT signed with the client secret (Google signs RS256; nothing verifies it)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    user = world.users[user_id]
    now = int(world.now().timestamp())
    claims = {"iss": "https://accounts.google.com", "azp": client_id, "aud": client_id,
              "sub": hashlib.sha256(user.id.encode()).hexdigest()[:21], "email": user.email,
              "email_verified": True, "name": user.name, "iat": now,
              "exp": now + world.config.access_token_ttl}  # fmt: skip
    signing = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(world.config.client_secret.encode(), signing.encode(), hashlib.sha256)
    return f"{signing}.{b64(signature.digest())}"


def _token_fault(world: World) -> Response | None:
    fault = world.take_fault("Token")
    if fault is None:
        return None
    if fault.kind == "drop":
        drop_connection()
    if fault.kind == "slow":
        time.sleep(fault.delay_seconds)
        return None
    if fault.kind == "bare":
        return Response(b"", status=fault.status or 503)
    if fault.kind == "invalid_grant":
        return _json({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, 400)  # fmt: skip
    if fault.kind == "unavailable":
        return _json({"error": "temporarily_unavailable", "error_description": "Service unavailable."}, 503)  # fmt: skip
    return _json({"error": "internal_failure", "error_description": "Internal error."}, 500)


@bp.post("/token")
@bp.post("/o/oauth2/token")
def token() -> Any:
    world = get_world()
    g.operation = "Token"
    faulted = _token_fault(world)
    if faulted is not None:
        return faulted
    form = request.form
    grant_type = form.get("grant_type", "")
    client_id, secret = _client_credentials()
    if not grant_type:
        return _json({"error": "unsupported_grant_type", "error_description": "Invalid grant_type: "}, 400)  # fmt: skip
    if not client_id:
        return _json({"error": "invalid_request", "error_description": "Could not determine client ID from request."}, 400)  # fmt: skip
    if client_id != world.config.client_id:
        return _json({"error": "invalid_client", "error_description": "The OAuth client was not found."}, 401)  # fmt: skip
    if not hmac.compare_digest(secret, world.config.client_secret):
        return _json({"error": "invalid_client", "error_description": "Unauthorized"}, 401)
    try:
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri"):
                if not form.get(name):
                    raise OAuthError("invalid_request", f"Missing required parameter: {name}")
            body = redeem_code(world, form["code"], client_id, form["redirect_uri"],
                               form.get("code_verifier") or None)  # fmt: skip
            with world.lock:
                user_id = next(c.user_id for c in world.codes.values() if c.code == form["code"])
            if "openid" in body["scope"].split():
                body["id_token"] = _id_token(world, user_id, client_id)
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
            body = refresh(world, form["refresh_token"], client_id, form.get("scope"))
        else:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    except OAuthError as err:
        return _json(err.body(), err.status)
    return _json(body)


@bp.route("/revoke", methods=["GET", "POST"])
@bp.route("/o/oauth2/revoke", methods=["GET", "POST"])
def revoke() -> Any:
    world = get_world()
    g.operation = "Revoke"
    value = request.values.get("token", "")
    if not value:
        return _json({"error": "invalid_request", "error_description": "Missing required parameter: token"}, 400)  # fmt: skip
    if not revoke_token(world, value):
        return _json({"error": "invalid_token", "error_description": "Token expired or revoked"}, 400)  # fmt: skip
    return _json({})
