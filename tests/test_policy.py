from __future__ import annotations

import pytest

from webapp import policy
from webapp.policy import Action, Role


@pytest.mark.parametrize("action", list(Action))
def test_owner_can_do_everything(action: Action) -> None:
    assert policy.can(Role.OWNER, action)


def test_admin_everything_but_delete_workspace() -> None:
    assert not policy.can(Role.ADMIN, Action.DELETE_WORKSPACE)
    assert all(policy.can(Role.ADMIN, a) for a in Action if a is not Action.DELETE_WORKSPACE)


def test_member_only_reads() -> None:
    assert [a for a in Action if policy.can(Role.MEMBER, a)] == [Action.VIEW]
    assert not policy.can(None, Action.VIEW)


def test_only_admins_and_owners_manage_platforms() -> None:
    assert policy.can("owner", Action.MANAGE_PLATFORMS)
    assert policy.can("admin", Action.MANAGE_PLATFORMS)
    assert not policy.can("member", Action.MANAGE_PLATFORMS)


def test_admins_cannot_manage_owners() -> None:
    assert not policy.can_manage_member(Role.ADMIN, Role.OWNER)
    assert policy.can_manage_member(Role.ADMIN, Role.ADMIN)
    assert not policy.can_change_role(Role.ADMIN, Role.MEMBER, Role.OWNER)
    assert policy.can_change_role(Role.OWNER, Role.MEMBER, Role.OWNER)
    assert not policy.can_manage_member(Role.MEMBER, Role.MEMBER)
