"""Users and workspaces: creation, sign-in checks and the operator's bootstrap."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash

from webapp.extensions import db
from webapp.models import Membership, User, Workspace
from webapp.models.types import utcnow
from webapp.policy import Role
from webapp.services import audit, tracking
from webapp.services.errors import Conflict, ServiceError

MIN_PASSWORD_LENGTH = 10

# Compared against when the email is unknown, so a miss costs the same time as a wrong password.
# A constant made once by ``generate_password_hash`` (hashing at import cost every process ~0.1 s);
# tests/test_startup.py checks it still uses the method and cost new passwords get.
DUMMY_HASH = (
    "scrypt:32768:8:1$FMbNW9mj5i7oyavU$5a9b48406714dc0c97af06cb408f4e569ab6ac69cbce8638476cb6b5"
    "139b2be008e962d4630624fd1c13ba489b1ebf881cfed1d8d37cab2bc987760b4d398022"
)


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(f"Invalid email address: {exc}") from exc


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if password.isdigit() or password.isalpha() and password.lower() == password:
        raise ServiceError("Password is too simple: mix letters with digits or symbols.")


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None, without revealing which part was wrong."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        check_password_hash(DUMMY_HASH, password)
        return None
    if not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def revoke_sessions(user_id: int) -> None:
    """Every session cookie of this user stops working on its next request (in the caller's
    transaction: the caller commits)."""
    db.session.execute(
        update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
    )
    user = db.session.get(User, user_id)
    if user is not None:
        db.session.refresh(user, ["session_version"])


def sign_out(user_id: int) -> None:
    """Sign-out ends the session everywhere: a copied cookie is worthless afterwards."""
    revoke_sessions(user_id)
    db.session.commit()


def create_user(email: str, password: str, name: str = "") -> User:
    email = normalise_email(email)
    check_password_strength(password)
    if find_user_by_email(email):
        raise Conflict(f"A user with email {email} already exists.")
    user = User(email=email, name=name.strip())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def get_or_create_workspace(name: str) -> tuple[Workspace, bool]:
    name = name.strip()
    if not name:
        raise ServiceError("Workspace name is required.")
    workspace = db.session.scalar(select(Workspace).where(Workspace.name == name))
    if workspace:
        return workspace, False
    workspace = Workspace(name=name)
    db.session.add(workspace)
    db.session.flush()
    tracking.provision(workspace.id)
    return workspace, True


def bootstrap_user(
    email: str,
    password: str | None,
    workspace_name: str,
    role: Role,
    *,
    reset_password: bool = False,
) -> tuple[User, bool]:
    """Operator CLI: create a user (or give an existing one a role) in a workspace.

    A workspace that does not exist yet is created only for an Owner: a workspace whose only
    member is an Admin or a Member could never be managed. An existing user's password changes
    only when ``reset_password`` is set. Returns the user and whether the password was set.
    """
    email = normalise_email(email)
    name = workspace_name.strip()
    if not name:
        raise ServiceError("Workspace name is required.")
    exists = db.session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None
    if not exists and role is not Role.OWNER:
        raise ServiceError(
            f"There is no workspace named {name!r}. A new workspace starts with its Owner: "
            "use --role owner, or name an existing workspace."
        )
    user = find_user_by_email(email)
    password_set = False
    if user is None:
        if not password:
            raise ServiceError("A new user needs a password (--password).")
        user = create_user(email, password)
        password_set = True
    elif reset_password:
        if not password:
            raise ServiceError("--reset-password needs the new password (--password).")
        check_password_strength(password)
        user.set_password(password)
        revoke_sessions(user.id)  # a password reset signs out whoever knew the old one
        password_set = True
    workspace, created = get_or_create_workspace(workspace_name)
    membership = db.session.scalar(
        select(Membership).where(
            Membership.workspace_id == workspace.id, Membership.user_id == user.id
        )
    )
    if membership is None:
        db.session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=role.value))
    else:
        membership.role = role.value
    if created:
        audit.record(
            "workspace.created",
            workspace_id=workspace.id,
            actor_id=None,
            target=workspace.name,
            via="cli",
        )
    audit.record(
        "member.set_by_operator",
        workspace_id=workspace.id,
        actor_id=None,
        target=user.email,
        role=role.value,
    )
    if password_set and reset_password:
        audit.record(
            "member.password_reset_by_operator",
            workspace_id=workspace.id,
            actor_id=None,
            target=user.email,
        )
    db.session.commit()
    return user, password_set
