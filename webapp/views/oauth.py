"""The OAuth redirect URI: one fixed URL per platform, shared by every workspace.

Every way this can go wrong (cancel, denied consent, stale or forged state, expired code,
unreachable token endpoint) lands back on Setup → Ad Platforms with a clear message.
"""

from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp import policy
from webapp.extensions import platform_registry
from webapp.policy import Action
from webapp.services import credentials, oauth
from webapp.services.members import membership_of

log = logging.getLogger(__name__)

bp = Blueprint("oauth", __name__)

_USER_ERRORS = {
    "access_denied": "You cancelled the sign-in or declined the permissions, so nothing was "
    "connected. Click Connect to try again.",
    "consent_required": "The permissions were not granted. Click Connect and accept them.",
    "interaction_required": "The platform needs you to sign in again. Click Connect.",
    "login_required": "You are not signed in on the platform. Click Connect to sign in.",
}


@bp.get("/setup/platforms/<key>/callback")
@login_required
def callback(key: str):  # noqa: ANN201
    platform = platform_registry().get(key)
    if platform is None:
        abort(404)
    pending = oauth.take_pending()
    state = request.args.get("state", "")
    if pending is None or pending.platform_key != key or pending.user_id != current_user.id:
        flash(
            "That sign-in link is stale or was not started here. Click Connect to start again.",
            "error",
        )
        return redirect(url_for("home.index"))
    back = url_for("platforms.index", ws_id=pending.workspace_id)
    if not state or state != pending.state:
        log.warning("oauth state mismatch for %s (user %s)", key, current_user.id)
        flash(
            "The sign-in could not be verified (state mismatch). Click Connect to start again.",
            "error",
        )
        return redirect(back)
    membership = membership_of(pending.workspace_id, current_user.id)
    if membership is None:
        abort(404)
    if not policy.can(membership.role, Action.MANAGE_PLATFORMS):
        abort(403, policy.reason(Action.MANAGE_PLATFORMS))
    error = request.args.get("error")
    if error:
        flash(
            _USER_ERRORS.get(
                error,
                f"{platform.display_name} did not complete the sign-in "
                f"({error[:60]}). Click Connect to try again.",
            ),
            "error",
        )
        return redirect(back)
    code = request.args.get("code")
    if not code:
        flash("The platform sent no authorization code. Click Connect to try again.", "error")
        return redirect(back)
    try:
        client = oauth.oauth_client(platform)
        token = client.fetch_token(
            platform.oauth_spec().token_url,
            code=code,
            code_verifier=pending.code_verifier,
            timeout=credentials.HTTP_TIMEOUT,
        )
    except OAuthError as exc:
        log.warning("token exchange for %s failed: %s", key, exc.error)
        flash(
            f"{platform.display_name} did not accept the sign-in ({exc.error}); the code may "
            "have expired. Click Connect to try again.",
            "error",
        )
        return redirect(back)
    except requests.RequestException as exc:
        log.warning("token endpoint of %s unreachable: %s", key, type(exc).__name__)
        flash(f"{platform.display_name} could not be reached. Try again in a minute.", "error")
        return redirect(back)
    credential = credentials.create_pending(key, pending.workspace_id, current_user.id, token)
    args = {"ws_id": pending.workspace_id, "key": key, "grant": credential.id}
    if pending.reconnect_connection_id is not None:
        args["reconnect"] = pending.reconnect_connection_id
    return redirect(url_for("platforms.accounts", **args))
