"""Revocable sessions (issue 15, defect 4): a saved cookie dies with sign-out, a password reset,
removal or demotion; the client address comes only from trusted proxies; sign-in starts afresh."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token, login, make_app
from webapp.extensions import db
from webapp.models import Membership


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, cookie: str, **environ: str) -> FlaskClient:
    thief = app.test_client()
    if environ:
        thief.environ_base.update(environ)
    thief.set_cookie("session", cookie)
    return thief


def _signed_in(client: FlaskClient, ws: int) -> bool:
    response = client.get(f"/w/{ws}/")
    return response.status_code == 200


def test_a_saved_cookie_is_dead_after_sign_out(app, login_as, world) -> None:
    member = login_as("member")
    saved = _cookie(member)
    assert _signed_in(_replay(app, saved), world.workspace_id)
    response = member.post("/logout", data={"csrf_token": csrf_token(member, "/")})
    assert response.status_code == 302
    replayed = _replay(app, saved)
    response = replayed.get(f"/w/{world.workspace_id}/")
    assert response.status_code == 302 and "/login" in response.location


def test_sign_out_ends_the_other_devices_too(app, login_as, world) -> None:
    laptop, phone = login_as("member"), login_as("member")
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/")})
    assert not _signed_in(phone, world.workspace_id)
    login(phone, "member@example.com")  # signing in again works
    assert _signed_in(phone, world.workspace_id)


def test_a_password_reset_ends_existing_sessions(app, login_as, world) -> None:
    from webapp.policy import Role
    from webapp.services import accounts

    owner = login_as("owner")
    accounts.bootstrap_user(
        "owner@example.com", "N3w-password-for-owner", "Acme", Role.OWNER, reset_password=True
    )
    assert not _signed_in(owner, world.workspace_id)


def test_removal_and_demotion_end_the_member_sessions(app, login_as, world) -> None:
    from webapp.services import members

    member, admin = login_as("member"), login_as("admin")
    actor = db.session.get(Membership, world.memberships["owner"])
    members.change_role(world.workspace_id, actor, world.memberships["admin"], "member")
    assert not _signed_in(admin, world.workspace_id)
    members.remove_member(world.workspace_id, actor, world.memberships["member"])
    response = member.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_a_promotion_keeps_the_session(app, login_as, world) -> None:
    from webapp.services import members

    member = login_as("member")
    actor = db.session.get(Membership, world.memberships["owner"])
    members.change_role(world.workspace_id, actor, world.memberships["member"], "admin")
    assert _signed_in(member, world.workspace_id)


def test_a_forged_forwarded_for_does_not_carry_a_stolen_cookie(app, world) -> None:
    victim = app.test_client()
    victim.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    login(victim, "member@example.com")
    assert _signed_in(victim, world.workspace_id)
    thief = _replay(app, _cookie(victim), REMOTE_ADDR="198.51.100.66")
    thief.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    assert not _signed_in(thief, world.workspace_id)


@pytest.fixture
def proxied_app(_migrated: str, redis_url: str):
    from tests.conftest import _empty_tables

    app = make_app(_migrated, redis_url, TRUSTED_PROXY_COUNT=1)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()


def test_behind_one_trusted_proxy_only_its_hop_is_believed(proxied_app) -> None:
    from tests.conftest import make_world

    world = make_world()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    victim = proxied_app.test_client()
    victim.environ_base.update(proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    login(victim, "member@example.com")
    assert _signed_in(victim, world.workspace_id)
    # The thief forges the victim's address; the proxy appends the thief's real one.
    thief = _replay(
        proxied_app, _cookie(victim), **proxy, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.66"
    )
    assert not _signed_in(thief, world.workspace_id)
    same = _replay(proxied_app, _cookie(victim), **proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert _signed_in(same, world.workspace_id)


def test_sign_in_starts_a_fresh_session(app, world) -> None:
    client = app.test_client()
    token = csrf_token(client, "/login")
    with client.session_transaction() as session:
        session["planted"] = "by-someone-else"
    client.post(
        "/login", data={"email": "member@example.com", "password": PASSWORD, "csrf_token": token}
    )
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].endswith(":1")
