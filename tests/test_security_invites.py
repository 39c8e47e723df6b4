"""Invites are bound to their email (issue 15, defect 2): another signed-in user holding the link
gets a clear refusal and nothing changes; the invited person can still use it once."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import func, select

from tests.conftest import csrf_token, login
from webapp.extensions import db
from webapp.models import Invite, Membership, User


def _owner_invite(client, ws: int, email: str, role: str = "owner") -> str:
    page = client.post(
        f"/w/{ws}/setup/members/invite",
        data={
            "email": email,
            "role": role,
            "csrf_token": csrf_token(client, f"/w/{ws}/setup/members/"),
        },
    ).get_data(as_text=True)
    return urlsplit(re.search(r'value="(http[^"]+/invite/[^"]+)"', page).group(1)).path


def _memberships() -> int:
    return db.session.scalar(select(func.count()).select_from(Membership))


def test_another_signed_in_user_cannot_take_an_owner_invite(login_as, world) -> None:
    owner = login_as("owner")
    path = _owner_invite(owner, world.workspace_id, "newowner@example.com")
    before = _memberships()

    intruder = login_as("other_admin")  # signed in, not a member of Acme
    page = intruder.get(path)
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "newowner@example.com" in text and "other_admin@example.com" in text
    assert "Sign out" in text
    taken = intruder.post(path, data={"csrf_token": csrf_token(intruder, "/login")})
    assert taken.status_code == 403
    assert _memberships() == before
    intruder_id = world.users["other_admin"]
    assert (
        db.session.scalar(
            select(Membership).where(
                Membership.user_id == intruder_id, Membership.workspace_id == world.workspace_id
            )
        )
        is None
    )
    assert intruder.get(f"/w/{world.workspace_id}/").status_code == 404
    invite = db.session.scalar(select(Invite).where(Invite.email == "newowner@example.com"))
    assert invite.is_pending and invite.accepted_by_id is None


def test_the_invited_email_signed_in_can_accept_once(login_as, world, app) -> None:
    owner = login_as("owner")
    path = _owner_invite(owner, world.workspace_id, "Other_Admin@Example.com", role="admin")
    invited = app.test_client()
    login(invited, "other_admin@example.com")
    assert invited.get(path).status_code == 200
    joined = invited.post(path, data={"csrf_token": csrf_token(invited, path)})
    assert joined.status_code == 302
    membership = db.session.scalar(
        select(Membership).where(
            Membership.user_id == world.users["other_admin"],
            Membership.workspace_id == world.workspace_id,
        )
    )
    assert membership.role == "admin"
    assert invited.get(path).status_code == 404  # single use


def test_service_refuses_a_mismatched_user(world) -> None:
    import pytest

    from webapp.services import members
    from webapp.services.errors import Forbidden

    actor = db.session.get(Membership, world.memberships["owner"])
    _, token = members.create_invite(world.workspace_id, actor, "someone@example.com", "member")
    stranger = db.session.get(User, world.users["other_admin"])
    with pytest.raises(Forbidden, match="someone@example.com"):
        members.accept_invite(token, stranger)
