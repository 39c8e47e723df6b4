"""Sign in, sign out, accept an invite."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from redis.exceptions import RedisError

from webapp.forms import AcceptInviteForm, ConfirmForm, LoginForm
from webapp.models import User
from webapp.services import accounts, login_throttle, members
from webapp.services.errors import ServiceError
from webapp.web_extensions import limiter

bp = Blueprint("auth", __name__)

GENERIC_LOGIN_ERROR = "Incorrect email or password."


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{-(-seconds // 60)} minutes"


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: an open redirect would make phishing links look like ours."""
    if not target or any(ord(c) < 32 or c in "\x7f\\" for c in target):
        return None  # CR/LF would split the Location header; a backslash reads as "/" in browsers
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _start_session(user: User) -> None:
    """A fresh session at sign-in: nothing a visitor's cookie held before survives it."""
    session.clear()
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])  # per client address, whatever the email
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email, address = form.email.data, request.remote_addr or "-"
        try:
            wait = login_throttle.wait_seconds(email, address)
        except RedisError:
            abort(503, "Sign-in is unavailable for a moment (its attempt counter is down).")
        if wait:
            form.password.errors.append(
                f"Too many failed sign-ins. Try again in {_in_words(wait)}."
            )
            page = render_template("auth/login.html", form=form)
            return page, 429, {"Retry-After": str(wait)}
        user = accounts.authenticate(email, form.password.data)
        if user is not None:
            login_throttle.record_success(email, address)
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
        login_throttle.record_failure(email, address)
        form.password.errors.append(GENERIC_LOGIN_ERROR)
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():  # noqa: ANN201
    accounts.sign_out(current_user.id)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def accept_invite(token: str):  # noqa: ANN201
    invite = members.find_invite(token)  # 404 page when invalid
    user = current_user if current_user.is_authenticated else None
    if user is not None and not members.invite_is_for(invite, user):
        # Someone else's link: refuse before any form, so nothing can change.
        return render_template(
            "auth/accept_invite.html", invite=invite, form=ConfirmForm(), user=user, wrong=True
        ), 403
    form = AcceptInviteForm() if user is None else ConfirmForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                if user is None:
                    joined = members.accept_invite(
                        token, None, password=form.password.data, name=form.name.data or ""
                    )
                else:
                    joined = members.accept_invite(token, user)
            except ServiceError as exc:
                if user is None:
                    form.password.errors.append(exc.message)
                else:
                    flash(exc.message, "error")
                status = exc.status_code
            else:
                if user is None:
                    _start_session(joined)
                flash(f"Welcome to {invite.workspace.name}.", "success")
                return redirect(url_for("dashboard.index", ws_id=invite.workspace_id))
        else:
            status = 400
    return render_template(
        "auth/accept_invite.html", invite=invite, form=form, user=user, wrong=False
    ), status
