"""The Microsoft identity platform's authorize and token endpoints, as a browser sees them.

The pages are deliberately plain server-rendered HTML: a browser test picks a user by
its e-mail and clicks "Accept" or "Cancel", exactly the words it would meet at Microsoft.
No session cookie is used; the OAuth parameters travel in hidden fields.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, g, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from platforms.emulator_kit.connection import drop_connection

from .aad import (
    SCOPE_DESCRIPTIONS,
    error_body,
    error_response,
    redirect_uri_allowed,
    unknown_scopes,
)
from .guard import get_world
from .tokens import GrantError, issue_code, redeem_code, refresh

bp = Blueprint("identity", __name__)
TENANTS = "<any(common, consumers, organizations):tenant>"
OAUTH_PARAMS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "response_mode",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "nonce",
)


def _params(source: Any) -> dict[str, str]:
    return {k: source.get(k, "") for k in OAUTH_PARAMS if source.get(k)}


def _back_to_client(params: dict[str, str], values: dict[str, str]) -> BaseResponse:
    """Return to the client's redirect URI the way ``response_mode`` asks for."""
    if params.get("state"):
        values = {**values, "state": params["state"]}
    uri = params["redirect_uri"]
    mode = params.get("response_mode", "query")
    if mode == "form_post":
        return Response(render_template("form_post.html", action=uri, values=values))
    parts = urlsplit(uri)
    if mode == "fragment":
        return redirect(urlunsplit(parts._replace(fragment=urlencode(values))), code=302)
    query = "&".join(filter(None, [parts.query, urlencode(values)]))
    return redirect(urlunsplit(parts._replace(query=query)), code=302)


def _error_page(code: int, status: int = 400) -> tuple[str, int]:
    body = error_body(code, get_world().now())
    return render_template("error.html", error=body), status


def _validate(params: dict[str, str]) -> BaseResponse | tuple[str, int] | None:
    """Problems with client or redirect URI show a page; the rest go back to the client."""
    config = get_world().config
    if params.get("client_id") != config.client_id:
        return _error_page(700016)
    if not params.get("redirect_uri") or not redirect_uri_allowed(
        params["redirect_uri"], config.redirect_uris
    ):
        return _error_page(50011)
    if params.get("response_type") != "code":
        return _back_to_client(params, {"error": "unsupported_response_type",
                                        "error_description": "AADSTS70005: response_type is not supported."})  # fmt: skip
    scopes = params.get("scope", "").split()
    if not scopes or unknown_scopes(scopes):
        description = f"AADSTS70011: The provided value for the input parameter 'scope' is not valid. {' '.join(unknown_scopes(scopes))}"
        return _back_to_client(
            params, {"error": "invalid_scope", "error_description": description.strip()}
        )
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "", "S256", "plain"):
        return _back_to_client(params, {"error": "invalid_request",
                                        "error_description": "AADSTS501491: Invalid code_challenge_method."})  # fmt: skip
    if params.get("prompt") == "none":
        return _back_to_client(params, {"error": "login_required",
                                        "error_description": "AADSTS50058: A silent sign-in request was sent but no user is signed in."})  # fmt: skip
    return None


@bp.get(f"/{TENANTS}/oauth2/v2.0/authorize")
def authorize(tenant: str) -> Any:
    """Step 1: pick an account (the emulator has no passwords)."""
    params = _params(request.args)
    problem = _validate(params)
    if problem is not None:
        return problem
    world = get_world()
    users = sorted(world.users.values(), key=lambda u: u.email)
    return render_template("authorize.html", params=params, users=users, tenant=tenant)


@bp.post(f"/{TENANTS}/oauth2/v2.0/authorize")
def pick_user(tenant: str) -> Any:
    """Step 2: the consent screen for the picked user."""
    params = _params(request.form)
    problem = _validate(params)
    if problem is not None:
        return problem
    user = get_world().user_by_key(request.form.get("user", ""))
    if user is None:
        return _error_page(50034)
    scopes = [(s, SCOPE_DESCRIPTIONS.get(s, s)) for s in params["scope"].split()]
    return render_template("consent.html", params=params, user=user, scopes=scopes, tenant=tenant)


@bp.post(f"/{TENANTS}/oauth2/v2.0/consent")
def consent(tenant: str) -> Any:
    """Step 3: Accept issues a code; Cancel returns ``access_denied`` with the state."""
    params = _params(request.form)
    problem = _validate(params)
    if problem is not None:
        return problem
    world = get_world()
    user = world.user_by_key(request.form.get("user", ""))
    if request.form.get("decision") != "accept" or user is None:
        return _back_to_client(params, {
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
        })  # fmt: skip
    code = issue_code(world, user, params["client_id"], params["redirect_uri"],
                      params["scope"].split(), params.get("code_challenge"),
                      params.get("code_challenge_method"))  # fmt: skip
    return _back_to_client(params, {"code": code})


def _client_credentials() -> tuple[str, str]:
    """Entra accepts the secret in the body or as HTTP Basic for confidential clients."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            return unquote_plus(client_id), unquote_plus(secret)
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


@bp.post(f"/{TENANTS}/oauth2/v2.0/token")
def token(tenant: str) -> Any:
    world = get_world()
    g.operation = "Token"
    fault = world.take_fault("Token")
    if fault is not None:
        if fault.kind == "drop":
            drop_connection()
        if fault.kind == "slow":
            time.sleep(fault.delay_seconds)
        else:
            return error_response(50033 if fault.kind == "throttle" else 90024, world.now())
    form = request.form
    grant_type = form.get("grant_type", "")
    client_id, secret = _client_credentials()
    now = world.now()
    if not client_id:
        return error_response(900144, now, "'client_id'")
    if client_id != world.config.client_id:
        return error_response(700016, now)
    if secret != world.config.client_secret:
        return error_response(7000215, now)
    try:
        if grant_type == "authorization_code":
            if not form.get("code"):
                return error_response(900144, now, "'code'")
            body = redeem_code(world, form["code"], client_id, form.get("redirect_uri", ""),
                               form.get("code_verifier"))  # fmt: skip
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                return error_response(900144, now, "'refresh_token'")
            body = refresh(world, form["refresh_token"], client_id, form.get("scope"))
        else:
            return error_response(70003, now)
    except GrantError as err:
        return error_response(err.code, now, err.extra)
    response = Response(json.dumps(body), status=200, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
