from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.policy import Role
from webapp.services import accounts
from webapp.services.errors import ServiceError

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--password",
    default=None,
    help="The new user's password (prompted when missing). Ignored for an existing user "
    "unless --reset-password is given.",
)
@click.option(
    "--workspace",
    "workspace_name",
    required=True,
    help="Created when missing, and then only with --role owner.",
)
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.OWNER.value,
    show_default=True,
)
@click.option(
    "--reset-password",
    is_flag=True,
    help="The user exists: replace their password with --password.",
)
def create_user(
    email: str, password: str | None, workspace_name: str, role: str, reset_password: bool
) -> None:
    """Create a user with ROLE in WORKSPACE, or give an existing user that role."""
    try:
        existing = accounts.find_user_by_email(accounts.normalise_email(email)) is not None
        if password is None and (reset_password or not existing):
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user, password_set = accounts.bootstrap_user(
            email, password, workspace_name, Role(role), reset_password=reset_password
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{user.email} is {role} of workspace {workspace_name!r}")
    if existing and not password_set:
        click.echo("Their password is unchanged (pass --reset-password to replace it).")
    elif existing:
        click.echo("Their password was replaced.")
