"""Every authorization rule in one place: who may do what inside a workspace.

Views and services ask ``can(role, action)`` (or the member-management helpers below) and never
compare role names themselves, so a rule changes here and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Action(StrEnum):
    VIEW = "view"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_PLATFORMS = "manage_platforms"  # connect, configure, disconnect ad platforms
    MANAGE_TRACKING = "manage_tracking"
    MANAGE_API_KEYS = "manage_api_keys"
    EDIT_WORKSPACE = "edit_workspace"
    RUN_JOBS = "run_jobs"  # push now, sync now, retry failed
    DELETE_WORKSPACE = "delete_workspace"
    MANAGE_PRIVACY = "manage_privacy"  # erase or export a person's data


_GRANTS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.ADMIN: frozenset(Action) - {Action.DELETE_WORKSPACE},
    Role.MEMBER: frozenset({Action.VIEW}),
}

# Why an action is refused, in words a person understands.
_REASONS: dict[Action, str] = {
    Action.MANAGE_PLATFORMS: "Only Admins and Owners can connect, configure or disconnect ad "
    "platforms.",
    Action.MANAGE_MEMBERS: "Only Admins and Owners can invite or manage members.",
    Action.DELETE_WORKSPACE: "Only Owners can delete the workspace.",
    Action.MANAGE_PRIVACY: "Only Admins and Owners can erase or export a person's data.",
}


def can(role: Role | str | None, action: Action) -> bool:
    if role is None:
        return False
    return action in _GRANTS.get(Role(role), frozenset())


def reason(action: Action) -> str:
    return _REASONS.get(action, "Your role does not allow this.")


def assignable_roles(actor: Role | str) -> list[Role]:
    """Roles ``actor`` may give to someone (by invite or role change)."""
    actor = Role(actor)
    if actor is Role.OWNER:
        return [Role.OWNER, Role.ADMIN, Role.MEMBER]
    if actor is Role.ADMIN:
        return [Role.ADMIN, Role.MEMBER]
    return []


def can_manage_member(actor: Role | str, target: Role | str) -> bool:
    """Whether ``actor`` may change the role of, or remove, a member who holds ``target``."""
    actor, target = Role(actor), Role(target)
    if not can(actor, Action.MANAGE_MEMBERS):
        return False
    return actor is Role.OWNER or target is not Role.OWNER


def can_change_role(actor: Role | str, target: Role | str, new: Role | str) -> bool:
    return can_manage_member(actor, target) and Role(new) in assignable_roles(actor)
