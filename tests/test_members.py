from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.extensions import db
from webapp.models import AuditEvent, Membership, User


def _invite(client, ws: int, email: str, role: str = "member"):
    return client.post(
        f"/w/{ws}/setup/members/invite",
        data={
            "email": email,
            "role": role,
            "csrf_token": csrf_token(client, f"/w/{ws}/setup/members/"),
        },
    )


def test_invite_link_is_shown_once_and_works_once(login_as, world, app) -> None:
    admin = login_as("admin")
    page = _invite(admin, world.workspace_id, "newbie@example.com").get_data(as_text=True)
    link = re.search(r'value="(http[^"]+/invite/[^"]+)"', page).group(1)
    path = urlsplit(link).path
    assert link not in admin.get(f"/w/{world.workspace_id}/setup/members/").get_data(as_text=True)

    newcomer = app.test_client()
    form = newcomer.get(path)
    assert form.status_code == 200 and "Join Acme" in form.get_data(as_text=True)
    weak = newcomer.post(path, data={"password": "short", "csrf_token": csrf_token(newcomer, path)})
    assert weak.status_code == 400 and "at least 10" in weak.get_data(as_text=True)
    joined = newcomer.post(
        path,
        data={
            "name": "New Bie",
            "password": "a-Strong-passw0rd",
            "csrf_token": csrf_token(newcomer, path),
        },
    )
    assert joined.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "newbie@example.com"))
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.role == "member" and membership.workspace_id == world.workspace_id
    assert app.test_client().get(path).status_code == 404  # used up
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"member.invited", "member.joined"} <= actions


def test_admin_cannot_invite_an_owner_or_demote_one(login_as, world) -> None:
    admin = login_as("admin")
    response = _invite(admin, world.workspace_id, "boss@example.com", role="owner")
    assert response.status_code == 400  # not a valid choice for an admin
    owner_mid = world.memberships["owner"]
    response = admin.post(
        f"/w/{world.workspace_id}/setup/members/{owner_mid}/role",
        data={"role": "member", "csrf_token": csrf_token(admin, "/")},
    )
    assert response.status_code == 403
    assert db.session.get(Membership, owner_mid).role == "owner"


def test_last_owner_cannot_be_removed_or_demoted(login_as, world) -> None:
    owner = login_as("owner")
    owner_mid = world.memberships["owner"]
    db.session.get(Membership, world.memberships["admin"]).role = "member"
    db.session.commit()
    # An owner cannot act on themselves through the page; use the service rules directly.
    from webapp.services import members
    from webapp.services.errors import Conflict

    actor = db.session.get(Membership, owner_mid)
    for call in (
        lambda: members.change_role(world.workspace_id, actor, owner_mid, "admin"),
        lambda: members.remove_member(world.workspace_id, actor, owner_mid),
    ):
        try:
            call()
        except Conflict as exc:
            assert "Owner" in exc.message
        else:
            raise AssertionError("last owner was changed")
    assert owner.get(f"/w/{world.workspace_id}/").status_code == 200


def test_members_cannot_reach_another_workspaces_member_by_id(login_as, world) -> None:
    admin = login_as("admin")
    other_mid = db.session.scalar(
        select(Membership.id).where(Membership.workspace_id == world.other_workspace_id)
    )
    response = admin.post(
        f"/w/{world.workspace_id}/setup/members/{other_mid}/remove",
        data={"csrf_token": csrf_token(admin, "/")},
    )
    assert response.status_code == 404
    assert db.session.get(Membership, other_mid) is not None


def test_workspace_switcher_lists_every_workspace(login_as, world) -> None:
    db.session.add(
        Membership(
            workspace_id=world.other_workspace_id, user_id=world.users["member"], role="member"
        )
    )
    db.session.commit()
    page = login_as("member").get(f"/w/{world.workspace_id}/").get_data(as_text=True)
    assert "Acme" in page and "Globex" in page
    assert f'href="/w/{world.other_workspace_id}/"' in page


def test_owner_deletes_workspace_only_with_its_name(login_as, world) -> None:
    from webapp.models import Workspace

    owner = login_as("owner")
    url = f"/w/{world.workspace_id}/setup/workspace/delete"
    wrong = owner.post(url, data={"confirm_name": "acme", "csrf_token": csrf_token(owner, "/")})
    assert wrong.status_code == 400 and db.session.get(Workspace, world.workspace_id)
    right = owner.post(url, data={"confirm_name": "Acme", "csrf_token": csrf_token(owner, "/")})
    assert right.status_code == 303
    db.session.expire_all()
    assert db.session.get(Workspace, world.workspace_id) is None
    assert not db.session.scalars(
        select(Membership).where(Membership.workspace_id == world.workspace_id)
    ).all()


def test_member_sees_why_connect_is_unavailable(login_as, world) -> None:
    page = login_as("member").get(f"/w/{world.workspace_id}/setup/platforms")
    html = page.get_data(as_text=True)
    assert "Fake Ads" in html and "disabled" in html
    assert "Only Admins and Owners can connect" in html
